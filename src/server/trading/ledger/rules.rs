//! The rules both backends share, written once: what an order does given what its transaction
//! read ([`decide`]), when a session row has expired ([`Freshness`]), and how a stored fill
//! is read back ([`parse_fill`]). Pure: no I/O, so each backend only reads and writes rows, and
//! the rules are unit-tested without a database (`super::tests`).

use super::{Book, LedgerError, Order, StoredFill};
use crate::model::{Side, Symbol};
use std::time::Duration;

/// What an order does, decided inside its transaction (both backends): `by_key` is the fill
/// already recorded under its key, if any; `fills` are the account's fills so far.
pub(super) enum Decision {
    /// The key was used for this very order: answer with its first fill.
    Replay(StoredFill),
    /// A new fill, the account's next (insert it, then commit).
    Insert(StoredFill),
}

/// The one decision an order takes, the same on both backends: a replay of the fill its key
/// already made, a refusal (the key reused for another order, not enough cash or shares), or
/// the account's next fill. Pure — the caller's transaction reads what it needs and writes
/// what this returns — so the rules are tested without a database (`super::tests`).
pub(super) fn decide(
    key: &str,
    order: &Order,
    price_cents: i64,
    by_key: Option<StoredFill>,
    fills: &[StoredFill],
) -> Result<Decision, LedgerError> {
    if let Some(first) = by_key {
        // The same order again (a retry after a lost answer): answer with the first fill, so
        // a retry is never a second purchase. A different order under a used key is a client
        // bug, and saying so beats silently filling or silently replaying.
        let same = first.symbol == order.symbol
            && first.side == order.side
            && first.quantity == order.quantity;
        return if same {
            Ok(Decision::Replay(first))
        } else {
            Err(LedgerError::KeyReused(key.to_owned()))
        };
    }
    // The account as it stands: the fold of its fills (see `book`). A demo account has tens
    // of fills; an account with millions would keep a running total instead.
    let book = Book::fold(fills);
    book.check(order, price_cents)?;
    Ok(Decision::Insert(StoredFill {
        seq: book.seq + 1,
        symbol: order.symbol.clone(),
        side: order.side,
        quantity: order.quantity,
        price_cents,
        time_ms: now_ms(),
    }))
}

/// A session row's age, judged the same way by both backends.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Freshness {
    /// Seen within the last minute: nothing to write.
    Fresh,
    /// Seen over a minute ago: touch it (a busy session costs a write a minute, not one per
    /// request).
    Stale,
    /// Idle past the idle time: what the sweep deletes, fills and all.
    Expired,
}

impl Freshness {
    /// How a row last seen at `seen_ms` stands now, for a backend that keeps rows `idle` long.
    /// The minute is a write budget, not a rule of the demo: touching a row on every request
    /// would make every page load an fsync.
    pub(super) fn of(seen_ms: i64, idle: Duration) -> Freshness {
        let age = now_ms() - seen_ms;
        if age >= idle.as_millis() as i64 {
            Freshness::Expired
        } else if age > 60_000 {
            Freshness::Stale
        } else {
            Freshness::Fresh
        }
    }
}

/// One fill read back from either schema. The schemas' `CHECK`s and this parse agree, so a row
/// that fails either was not written by this code, and is reported rather than guessed at.
pub(super) fn parse_fill(
    seq: i64,
    symbol: &str,
    side: &str,
    quantity: i64,
    price_cents: i64,
    time_ms: i64,
) -> Result<StoredFill, String> {
    Ok(StoredFill {
        seq: seq as u64,
        symbol: Symbol::parse(symbol).map_err(|e| e.to_string())?,
        side: match side {
            "buy" => Side::Buy,
            "sell" => Side::Sell,
            other => return Err(format!("side {other:?}")),
        },
        quantity: u32::try_from(quantity).map_err(|_| format!("quantity {quantity}"))?,
        price_cents,
        time_ms,
    })
}

/// A side as both schemas store it: a word, not a number, so a row reads the same in `psql`,
/// `sqlite3` and a log line.
pub(super) fn side_name(side: Side) -> &'static str {
    match side {
        Side::Buy => "buy",
        Side::Sell => "sell",
    }
}

/// Wall-clock milliseconds, as rows store time: the process's monotonic clock means nothing
/// to another instance, or to this one after a restart.
pub(super) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
