//! How a change to a portfolio becomes the bytes of one SSE event.

use crate::model::{dollars, EventKind, Position, Symbol};
use crate::server::sse::{self, json};
use crate::server::trading::ledger::{Book, Change, Holding};
use bytes::Bytes;

/// The SSE event for `change` in `book`, valued at `price`; with the id `<account>-<seq>`
/// when it comes from a fill, without one for a snapshot line or a price move.
pub(super) fn event(book: &Book, change: &Change, price: f64, account: Option<u64>) -> Bytes {
    let (kind, data) = match change {
        Change::Opened(symbol) => (EventKind::Add, position(book, symbol, price)),
        Change::Changed(symbol) => (EventKind::Update, position(book, symbol, price)),
        Change::Closed(symbol) => (EventKind::Remove, json(&book.closed(symbol))),
    };
    let id = account.map(|number| format!("{number}-{}", book.seq));
    let event = sse::Event::new(kind, &data);
    match &id {
        Some(id) => event.id(id).to_bytes(),
        None => event.to_bytes(),
    }
}

/// The price a position is shown at before the market's price is known: what it cost.
pub(super) fn average(holding: &Holding) -> f64 {
    (dollars(holding.cost_cents) / f64::from(holding.quantity) * 100.0).round() / 100.0
}

fn position(book: &Book, symbol: &Symbol, price: f64) -> String {
    let position: Option<Position> = book.position(symbol, price);
    json(&position)
}
