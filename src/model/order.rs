//! Orders and fills: what the Buy/Sell server function takes and returns.

use super::Symbol;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Side {
    Buy,
    Sell,
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::Buy => "Bought",
            Side::Sell => "Sold",
        })
    }
}

/// An order filled at the market's current price, as recorded in the session's ledger.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fill {
    /// The fill's number in the session's ledger (1, 2, 3 …): the `<fill>` of the portfolio
    /// event it caused.
    pub seq: u64,
    /// True when this is the answer to a repeated `Idempotency-Key`: the order was filled by
    /// an earlier request, and this is that fill again — nothing new was bought or sold.
    pub repeated: bool,
    pub symbol: Symbol,
    pub side: Side,
    pub quantity: u32,
    pub price: f64,
    pub total: f64,
    pub time: DateTime<Utc>,
}
