//! Buy and Sell: the one part of the demo where a click changes state that must survive.
//!
//! What it owns: an order's validation and fill at the market's price ([`orders`]); the session
//! cookie ([`session`]); the ledger of sessions and fills ([`ledger`]: SQLite embedded, Postgres
//! past one machine); and each session's private portfolio stream ([`portfolio`]).
//!
//! It may import [`crate::server::pubsub`] (prices come from the topics), the transport's
//! drain and backoff, the SSE framing and the metrics. It knows no router: `web` mounts it.

pub mod ledger;
pub mod orders;
pub mod portfolio;
pub mod session;
