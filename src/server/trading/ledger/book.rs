//! The book: an account as the fold of its fills.
//!
//! What it owns: the arithmetic of an account — cash and positions after each fill, what a fill
//! does to a position (opens, changes, closes it), and whether an order is affordable. Pure:
//! no I/O, so the ledger's transaction and the portfolio's stream fold the same fills the same
//! way, and the tests check it without a database.
//!
//! Money is counted in cents (`i64`): sums of cents are exact, sums of `f64` dollars are not,
//! and a ledger that drifts by a cent per thousand fills is wrong. Dollars appear only on the
//! wire (`model::dollars`).

use super::{LedgerError, Order};
use crate::model::{dollars, Closed, Position, Side, Symbol, STARTING_CASH_CENTS};
use std::collections::BTreeMap;

/// One fill as the ledger keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredFill {
    /// 1, 2, 3 … per session: with no gaps, so the portfolio stream's ids `<account>-<seq>`
    /// make a missed fill visible, exactly as a topic's `<epoch>-<seq>` do.
    pub seq: u64,
    /// What was traded.
    pub symbol: Symbol,
    /// Bought or sold.
    pub side: Side,
    /// Whole shares; `u32` because an order's bound (1 to 10 000, `orders`) is far inside it.
    pub quantity: u32,
    /// The market's price when the order was decided, in cents: what the account paid or got.
    pub price_cents: i64,
    /// Wall-clock milliseconds of the fill, shown in the portfolio's history.
    pub time_ms: i64,
}

impl StoredFill {
    /// What the fill moved: price times quantity.
    pub fn total_cents(&self) -> i64 {
        self.price_cents * i64::from(self.quantity)
    }
}

/// One position: how many shares, and what they cost in total.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Holding {
    /// Shares held (never 0: a position that reaches 0 is removed).
    pub quantity: u32,
    /// What they cost, in cents: the sum of the buys, less the share of it each sale took.
    pub cost_cents: i64,
}

/// What a fill did to its symbol's position: the portfolio stream's `add`, `update`, `remove`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// The first shares of a symbol: an `add`.
    Opened(Symbol),
    /// More or fewer shares, still some: an `update`.
    Changed(Symbol),
    /// The last shares sold: a `remove`.
    Closed(Symbol),
}

/// An account: cash, positions (symbol order, so a snapshot lists them the same way each time),
/// and how many fills made it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Book {
    /// Cash left, in cents: the starting cash, less the buys, plus the sales.
    pub cash_cents: i64,
    /// Every open position, by symbol.
    pub positions: BTreeMap<Symbol, Holding>,
    /// The last fill applied (0: none).
    pub seq: u64,
}

/// A new account: the starting cash, nothing held, no fills.
impl Default for Book {
    fn default() -> Book {
        Book {
            cash_cents: STARTING_CASH_CENTS,
            positions: BTreeMap::new(),
            seq: 0,
        }
    }
}

impl Book {
    /// The account after `fills`, applied in order from an empty one.
    pub fn fold(fills: &[StoredFill]) -> Book {
        let mut book = Book::default();
        for fill in fills {
            book.apply(fill);
        }
        book
    }

    /// Whether the account can fill `order` at `price_cents`: enough cash to buy, enough shares
    /// to sell. (No short selling and no margin: the demo's account is cash only.)
    pub fn check(&self, order: &Order, price_cents: i64) -> Result<(), LedgerError> {
        match order.side {
            Side::Buy => {
                let cost_cents = price_cents * i64::from(order.quantity);
                if cost_cents > self.cash_cents {
                    return Err(LedgerError::NotEnoughCash {
                        cost_cents,
                        cash_cents: self.cash_cents,
                    });
                }
            }
            Side::Sell => {
                let held = self.positions.get(&order.symbol).map_or(0, |h| h.quantity);
                if order.quantity > held {
                    return Err(LedgerError::NotEnoughShares {
                        symbol: order.symbol.clone(),
                        wanted: order.quantity,
                        held,
                    });
                }
            }
        }
        Ok(())
    }

    /// Applies one fill (the next in sequence) and says what it did to its position.
    ///
    /// A sale takes its share of the cost with it (average cost): selling half the shares
    /// leaves half the cost, so the profit or loss shown on what remains does not change.
    pub fn apply(&mut self, fill: &StoredFill) -> Change {
        self.seq = fill.seq;
        let total = fill.total_cents();
        let symbol = fill.symbol.clone();
        match fill.side {
            Side::Buy => {
                self.cash_cents -= total;
                let holding = self.positions.entry(symbol.clone()).or_default();
                let opened = holding.quantity == 0;
                holding.quantity += fill.quantity;
                holding.cost_cents += total;
                if opened {
                    Change::Opened(symbol)
                } else {
                    Change::Changed(symbol)
                }
            }
            Side::Sell => {
                self.cash_cents += total;
                let holding = self.positions.entry(symbol.clone()).or_default();
                // The ledger checked the quantity before recording the fill; `min` keeps a
                // hand-edited ledger from underflowing instead of trusting that.
                let sold = fill.quantity.min(holding.quantity);
                let left = holding.quantity - sold;
                if left == 0 {
                    self.positions.remove(&symbol);
                    return Change::Closed(symbol);
                }
                // i128: cost × quantity fits easily, and the division rounds down to a cent.
                holding.cost_cents = (i128::from(holding.cost_cents) * i128::from(left)
                    / i128::from(holding.quantity)) as i64;
                holding.quantity = left;
                Change::Changed(symbol)
            }
        }
    }

    /// `symbol`'s position valued at `price` (dollars), as the stream sends it.
    pub fn position(&self, symbol: &Symbol, price: f64) -> Option<Position> {
        let holding = self.positions.get(symbol)?;
        // The price to a whole cent first, then times the shares: the value is then exactly a
        // number of cents, as the cost is, and the profit shown is their exact difference.
        let value_cents = (price * 100.0).round() as i64 * i64::from(holding.quantity);
        Some(Position {
            symbol: symbol.clone(),
            quantity: holding.quantity,
            cost: dollars(holding.cost_cents),
            price,
            value: dollars(value_cents),
            pnl: dollars(value_cents - holding.cost_cents),
            cash: dollars(self.cash_cents),
        })
    }

    /// The `remove` payload for a position the last fill closed.
    pub fn closed(&self, symbol: &Symbol) -> Closed {
        Closed {
            symbol: symbol.clone(),
            reason: "sold".to_owned(),
            cash: dollars(self.cash_cents),
        }
    }
}
