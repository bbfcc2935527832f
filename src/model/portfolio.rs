//! The portfolio's words: what its private stream (`GET /api/portfolio/events`) carries.
//!
//! The same protocol as a market topic (see `stream`), with the portfolio's payloads:
//!
//! | `event:` | `id:` | `data:` | when |
//! |---|---|---|---|
//! | `hello` | — | [`crate::model::Hello`] (topic `portfolio`) | first |
//! | `add` | live: yes; snapshot: — | [`Position`] | a position opens (a buy of a symbol not held) |
//! | `update` | fills: yes; prices: — | [`Position`] | a fill changes it, or its price moves |
//! | `remove` | yes | [`Closed`] | a sell closes it |
//! | `sync` | the portfolio's current id | [`crate::model::Sync`] with `cash` | the snapshot is complete |
//! | `reset`, `shutdown`, `refused` | — | as on a market topic | |
//!
//! Ids are `<account>-<fill>`: the account's number, then how many fills its ledger holds. Only
//! events that come from a fill carry one, because only fills are history: a resume replays
//! exactly the fills after the client's id (the ledger keeps them all, so a resume never
//! resets for age, even across a restart). A price move is an `update` without an id — a
//! newer value of the same position, which the next one supersedes; replaying old prices would
//! only show numbers that are no longer true.

use super::{EventId, Symbol};
use serde::{Deserialize, Serialize};

/// The cash a new demo account starts with, in cents (100 000.00).
pub const STARTING_CASH_CENTS: i64 = 10_000_000;

/// One position, valued at the latest price the server has seen.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Position {
    pub symbol: Symbol,
    pub quantity: u32,
    /// What the shares held cost (the average cost times the quantity).
    pub cost: f64,
    /// The latest price, and the quantity at that price.
    pub price: f64,
    pub value: f64,
    /// `value - cost`: unrealised profit or loss.
    pub pnl: f64,
    /// The account's cash after the fill this event comes from (or now, for a price move).
    pub cash: f64,
}

/// `remove`: a position closed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Closed {
    pub symbol: Symbol,
    /// Human-readable: "sold".
    pub reason: String,
    /// The account's cash after the sale.
    pub cash: f64,
}

/// `Accept: application/json` on the portfolio's events URL: the portfolio now.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PortfolioSnapshot {
    /// The id a stream opened now would start after.
    pub id: EventId,
    pub cash: f64,
    pub positions: Vec<Position>,
}

/// Cents to the dollars the wire carries (the ledger counts cents, so sums are exact).
pub fn dollars(cents: i64) -> f64 {
    cents as f64 / 100.0
}
