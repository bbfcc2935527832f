//! Everything that only exists on the server (`feature = "ssr"`), in the order an event travels.
//!
//! Each folder is one stage of the journey, and imports only the stages below it in this list —
//! never one above, so a folder can be read knowing only what comes before it:
//!
//! | folder | owns | may import |
//! |---|---|---|
//! | [`metrics`], [`sse`] | the process's counters; the SSE wire format | nothing of the server |
//! | [`transport`] | TLS, certificates, the accept loop, coalesced writes, dead readers, limits, the registry of connections, the drain | the two files above |
//! | [`pubsub`] | the market, the feed, the topics and their event log (memory, Redis) | transport |
//! | [`trading`] | orders, sessions, the ledger (SQLite, Postgres), each portfolio's stream | pubsub, transport |
//! | [`observe`] | Prometheus's exporter, the `/ops` samples, logs | trading, pubsub, transport |
//! | [`stream`] | the event-stream handlers: request, negotiation, the outbox, the beat, errors | observe and below |
//! | [`demo`] | the drills, the fault panel, the cluster card, the benchmark topic | stream and below |
//! | [`web`] | the router, the state it shares, the server functions' bodies, dashboards, embeds | demo and below |
//! | [`config`], [`run`] | configuration from the environment; THE assembly | everything |
//!
//! The Leptos app sits above `web` and beside it: the widgets call `web::functions` (their one
//! door in), and `run` is handed the app's pages by `main.rs` ([`web::routes::Pages`]), so no
//! server module imports the app.
//!
//! Nothing here is compiled into the wasm module.

pub mod config;
pub mod demo;
pub mod metrics;
pub mod observe;
pub mod pubsub;
pub mod run;
pub mod sse;
pub mod stream;
pub mod trading;
pub mod transport;
pub mod web;
