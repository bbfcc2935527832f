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

/// An order filled at the market's current price.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fill {
    pub symbol: Symbol,
    pub side: Side,
    pub quantity: u32,
    pub price: f64,
    pub total: f64,
    pub time: DateTime<Utc>,
}
