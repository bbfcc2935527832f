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
    // The account's number is the id's epoch, not only the fill's seq: an id from another
    // session's account then resets the stream (`OtherEpoch`) instead of being matched by seq
    // against this account's fills.
    let id = account.map(|number| format!("{number}-{}", book.seq));
    let event = sse::Event::new(kind, &data);
    // Snapshot lines and price moves carry no id, so `Last-Event-ID` only ever names a fill: a
    // resume replays fills after it, never revaluations (which the next one replaces anyway).
    match &id {
        Some(id) => event.id(id).to_bytes(),
        None => event.to_bytes(),
    }
}

/// The price a position is shown at before the market's price is known: what it cost.
pub(super) fn average(holding: &Holding) -> f64 {
    // Rounded to the cent like every price the market publishes, so a position's first line and its
    // first revaluation show the same number of decimals.
    (dollars(holding.cost_cents) / f64::from(holding.quantity) * 100.0).round() / 100.0
}

fn position(book: &Book, symbol: &Symbol, price: f64) -> String {
    let position: Option<Position> = book.position(symbol, price);
    json(&position)
}
