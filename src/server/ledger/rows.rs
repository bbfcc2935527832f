//! The ledger's rows: the migrations, and each statement that reads a session or a fill.
//!
//! Plain functions of a `Connection`, so the ledger's methods (and the one transaction of an
//! order) compose them; none of them opens a transaction of its own.

use super::{Account, LedgerError, SessionId, StoredFill};
use crate::model::{Side, Symbol};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use std::time::Duration;

/// The migrations, in order; `PRAGMA user_version` counts those applied.
const MIGRATIONS: &[&str] = &[include_str!("migrations/0001_ledger.sql")];

/// Applies the migrations not yet applied, each in its own transaction.
pub(super) fn migrate(db: &mut Connection) -> rusqlite::Result<()> {
    let applied: usize = db.pragma_query_value(None, "user_version", |r| r.get(0))?;
    for (version, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
        let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", version + 1)?;
        tx.commit()?;
    }
    Ok(())
}

/// The session's account (see [`super::Ledger::account`]): its row's, touched when last seen
/// over a minute ago (so a busy session costs a write a minute, not one per request); an idle
/// row is deleted with its fills; no row is the unrecorded account, and no write at all.
pub(super) fn live_account(
    db: &Connection,
    session: &SessionId,
    idle: Duration,
) -> Result<Account, LedgerError> {
    let row: Option<(i64, i64)> = db
        .query_row(
            "SELECT number, seen_ms FROM sessions WHERE id = ?1",
            [session.as_str()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let now = now_ms();
    match row {
        None => Ok(Account::unrecorded(session.clone())),
        Some((_, seen)) if now - seen >= idle.as_millis() as i64 => {
            // Expired: what the sweep would delete. The fills go with it (ON DELETE CASCADE).
            db.execute("DELETE FROM sessions WHERE id = ?1", [session.as_str()])?;
            Ok(Account::unrecorded(session.clone()))
        }
        Some((number, seen)) => {
            if now - seen > 60_000 {
                db.execute(
                    "UPDATE sessions SET seen_ms = ?1 WHERE id = ?2",
                    params![now, session.as_str()],
                )?;
            }
            Ok(Account {
                session: session.clone(),
                number: number as u64,
            })
        }
    }
}

/// Inside an order's transaction: the session's row, written now if this is its first order
/// (numbered as it was before it had one, [`Account::unrecorded`]). A row past its idle time
/// is replaced, its fills deleted: the order opens the account again, empty.
pub(super) fn record_session(
    db: &Connection,
    session: &SessionId,
    idle: Duration,
) -> Result<Account, LedgerError> {
    let account = live_account(db, session, idle)?;
    db.execute(
        "INSERT INTO sessions (id, number, seen_ms) VALUES (?1, ?2, ?3)
         ON CONFLICT (id) DO NOTHING",
        params![session.as_str(), account.number as i64, now_ms()],
    )?;
    Ok(account)
}

/// Inserts a fill the transaction `db` has checked.
pub(super) fn insert_fill(
    db: &Connection,
    session: &SessionId,
    key: &str,
    fill: &StoredFill,
) -> Result<(), LedgerError> {
    db.execute(
        "INSERT INTO fills (session, seq, idempotency_key, symbol, side, quantity, price_cents, time_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            session.as_str(),
            fill.seq as i64,
            key,
            fill.symbol.as_str(),
            side_name(fill.side),
            fill.quantity,
            fill.price_cents,
            fill.time_ms
        ],
    )?;
    Ok(())
}

/// Fills of every session after the ledger-wide position `after` (a thousand at most).
pub(super) fn fills_since(
    db: &Connection,
    after: i64,
) -> Result<Vec<(i64, SessionId, u64)>, LedgerError> {
    let mut statement = db.prepare_cached(
        "SELECT id, session, seq FROM fills WHERE id > ?1 ORDER BY id LIMIT 1000",
    )?;
    let rows = statement.query_map([after], |row| {
        Ok((
            row.get(0)?,
            SessionId(row.get(1)?),
            row.get::<_, i64>(2)? as u64,
        ))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(super) fn fills_after(
    db: &Connection,
    session: &SessionId,
    seq: u64,
) -> Result<Vec<StoredFill>, LedgerError> {
    let mut statement = db.prepare_cached(
        "SELECT seq, symbol, side, quantity, price_cents, time_ms FROM fills
         WHERE session = ?1 AND seq > ?2 ORDER BY seq",
    )?;
    let rows = statement.query_map(params![session.as_str(), seq as i64], read_fill)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(super) fn fill_by_key(
    db: &Connection,
    session: &SessionId,
    key: &str,
) -> Result<Option<StoredFill>, LedgerError> {
    Ok(db
        .query_row(
            "SELECT seq, symbol, side, quantity, price_cents, time_ms FROM fills
             WHERE session = ?1 AND idempotency_key = ?2",
            params![session.as_str(), key],
            read_fill,
        )
        .optional()?)
}

/// One `fills` row. The `CHECK`s of the schema and the parse here agree, so a row that fails
/// either was not written by this code, and is reported rather than guessed at.
pub(super) fn read_fill(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoredFill> {
    let corrupt = |what: String| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, what.into())
    };
    let symbol: String = row.get(1)?;
    let side: String = row.get(2)?;
    Ok(StoredFill {
        seq: row.get::<_, i64>(0)? as u64,
        symbol: Symbol::parse(&symbol).map_err(|e| corrupt(e.to_string()))?,
        side: match side.as_str() {
            "buy" => Side::Buy,
            "sell" => Side::Sell,
            other => return Err(corrupt(format!("side {other:?}"))),
        },
        quantity: row.get(3)?,
        price_cents: row.get(4)?,
        time_ms: row.get(5)?,
    })
}

fn side_name(side: Side) -> &'static str {
    match side {
        Side::Buy => "buy",
        Side::Sell => "sell",
    }
}

pub(super) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
