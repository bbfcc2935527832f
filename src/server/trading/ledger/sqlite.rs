//! The embedded backend: the ledger in one SQLite file, through `rusqlite`.
//!
//! Why SQLite through `rusqlite` (with SQLite compiled in, `bundled`): a file created on first
//! run, no server to start (what `scripts/dev` promises), real transactions, WAL so readers never
//! wait for the writer. `rusqlite` is synchronous and small; `sqlx` would bring its async
//! runtime glue and macros for a handful of statements, minutes on a 2-core cold build. The
//! calls run on tokio's blocking pool ([`Sqlite::run`]), so a slow disk stalls no stream.
//!
//! One connection behind a mutex: every statement is short, and the writes are serialised by
//! SQLite's lock anyway. `BEGIN IMMEDIATE` takes that lock at the start of an order, so two
//! orders on one account — from two tabs, or two instances sharing the file — run one after
//! the other. Instances on one machine share one file safely (SQLite's locks work across
//! processes); on several machines, use Postgres (`super::postgres`).
//!
//! One file past 300 lines because it is one concept: the backend's half of the ledger seam —
//! its schema, its one transaction per order and its reads — kept whole so that it reads
//! side by side with `super::postgres`, statement for statement.

use super::rules::{decide, now_ms, parse_fill, side_name, Decision, Freshness};
use super::{Account, LedgerError, Order, Recorded, SessionId, StoredFill, Wake};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

/// The migrations, in order; `PRAGMA user_version` counts those applied.
///
/// `user_version` rather than a table of versions (as Postgres has): it is SQLite's own counter in
/// the file's header, read without a query plan, and written in the same transaction as the
/// migration it counts.
const MIGRATIONS: &[&str] = &[include_str!("migrations/sqlite/0001_ledger.sql")];

/// How often [`Sqlite::watch`] looks for fills another process recorded in the file: one
/// indexed query per instance (not per stream) twenty times a second, so another instance's
/// fill reaches a stream here within the 100 ms a Postgres NOTIFY is held to.
pub const POLL: Duration = Duration::from_millis(50);

/// Every SQLite failure is `Storage`: the caller answers 503 with `Retry-After`, and the order's
/// retry under the same key fills once. There is no finer reading worth having — a locked file
/// past the busy timeout, a full disk and a corrupt page all mean "not now", never "no".
impl From<rusqlite::Error> for LedgerError {
    fn from(error: rusqlite::Error) -> LedgerError {
        LedgerError::Storage(error.to_string())
    }
}

/// The SQLite backend: one file, one connection.
#[derive(Clone)]
pub(super) struct Sqlite {
    /// A `std` mutex, not tokio's: it is only ever taken on the blocking pool ([`Sqlite::run`]),
    /// never across an `.await`, and one connection serialises the statements anyway.
    db: Arc<Mutex<Connection>>,
    /// Where the file is, for the log line at start and the tests that reopen it.
    path: Arc<PathBuf>,
}

impl Sqlite {
    /// Opens (or creates) the file and brings its schema up to date. Every failure names the
    /// path: the one thing an operator can change about it.
    pub(super) fn open(path: &Path) -> Result<Sqlite, LedgerError> {
        let fail = |error: &dyn std::fmt::Display| {
            LedgerError::Storage(format!(
                "cannot open the ledger {}: {error}",
                path.display()
            ))
        };
        // The default file (`data/tickerplex.db`) lives in a folder a fresh clone does not have:
        // made here, so `scripts/dev` needs no set-up step for it.
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| fail(&e))?;
        }
        let mut db = Connection::open(path).map_err(|e| fail(&e))?;
        // WAL: readers (the streams' polls) never wait for a writer. `synchronous = FULL`: an
        // acknowledged fill is on disk even if the machine loses power right after; an order
        // costs one fsync, which a ticket click can afford. The busy timeout lets another
        // instance's order finish instead of failing this one at once.
        db.pragma_update(None, "journal_mode", "WAL")
            .map_err(|e| fail(&e))?;
        db.pragma_update(None, "synchronous", "FULL")
            .map_err(|e| fail(&e))?;
        // Off by default in SQLite, per connection: without it the `ON DELETE CASCADE` that takes
        // an expired session's fills with it would silently do nothing.
        db.pragma_update(None, "foreign_keys", "ON")
            .map_err(|e| fail(&e))?;
        db.busy_timeout(Duration::from_secs(5))
            .map_err(|e| fail(&e))?;
        // Before the connection is shared: no statement of this binary ever runs on a schema older
        // than the one it was written for.
        migrate(&mut db).map_err(|e| fail(&e))?;
        Ok(Sqlite {
            db: Arc::new(Mutex::new(db)),
            path: Arc::new(path.to_owned()),
        })
    }

    /// The ledger's file.
    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `work` with the connection on tokio's blocking pool.
    ///
    /// rusqlite is synchronous, and an order's fsync takes milliseconds: run on a runtime
    /// worker, it would stall every stream that worker drives for as long. The blocking pool is
    /// where tokio wants such work; the lock makes the calls take turns.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Connection) -> Result<T, LedgerError> + Send + 'static,
    ) -> Result<T, LedgerError> {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || {
            // A panic while holding the lock poisons it; the connection itself is still sound
            // (SQLite rolled back whatever was open), so the next call carries on.
            let mut db = db.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            work(&mut db)
        })
        .await
        // A `JoinError`: the work panicked (a bug) or the runtime is shutting down. Either way the
        // order was not acknowledged, so the client's retry under its key is safe.
        .map_err(|error| LedgerError::Storage(error.to_string()))?
    }

    /// The session's account; see `Ledger::account`. A read, unless the row is stale or expired.
    pub(super) async fn account(
        &self,
        session: &SessionId,
        idle: Duration,
    ) -> Result<Account, LedgerError> {
        let session = session.clone();
        self.run(move |db| live_account(db, &session, idle)).await
    }

    /// An order, in ONE `BEGIN IMMEDIATE` transaction: the session's row, the key looked up,
    /// the fills folded and the decision taken (`super::rules::decide`), the fill inserted. The
    /// write lock is held from the first statement, so two orders on one account — two tabs, two
    /// instances on one file — cannot both read the same cash and both spend it.
    pub(super) async fn record(
        &self,
        session: &SessionId,
        key: &str,
        order: Order,
        price_cents: i64,
        idle: Duration,
    ) -> Result<Recorded, LedgerError> {
        let (session, key) = (session.clone(), key.to_owned());
        self.run(move |db| {
            // `IMMEDIATE`, not SQLite's default `DEFERRED`: a deferred transaction takes the write
            // lock at its first write, after the reads, and two orders could then both read the
            // same cash; worse, the second would fail with `SQLITE_BUSY` at its upgrade, which no
            // busy timeout waits out.
            let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
            // The session's first order writes its row (lazy sessions: `SessionId`).
            record_session(&tx, &session, idle)?;
            let by_key = fill_by_key(&tx, &session, &key)?;
            let fills = fills_after(&tx, &session, 0)?;
            match decide(&key, &order, price_cents, by_key, &fills)? {
                // A retried key writes nothing: the transaction is dropped uncommitted, which rolls
                // it back (a stale session's touch with it; the next read touches it again).
                Decision::Replay(fill) => Ok(Recorded {
                    fill,
                    repeated: true,
                }),
                Decision::Insert(fill) => {
                    insert_fill(&tx, &session, &key, &fill)?;
                    tx.commit()?;
                    Ok(Recorded {
                        fill,
                        repeated: false,
                    })
                }
            }
        })
        .await
    }

    /// `Ledger::fills_after`, by the `(session, seq)` index.
    pub(super) async fn fills_after(
        &self,
        session: &SessionId,
        seq: u64,
    ) -> Result<Vec<StoredFill>, LedgerError> {
        let session = session.clone();
        self.run(move |db| fills_after(db, &session, seq)).await
    }

    /// `Ledger::recorded_sessions`: one `count(*)`.
    pub(super) async fn recorded_sessions(&self) -> Result<usize, LedgerError> {
        self.run(|db| Ok(db.query_row("SELECT count(*) FROM sessions", [], |r| r.get(0))?))
            .await
    }

    /// `Ledger::touch`: one transaction for all of them, a statement each (prepared once).
    pub(super) async fn touch(&self, sessions: Vec<SessionId>) -> Result<usize, LedgerError> {
        self.run(move |db| {
            let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut touched = 0;
            {
                let mut update =
                    tx.prepare_cached("UPDATE sessions SET seen_ms = ?1 WHERE id = ?2")?;
                let now = now_ms();
                for session in &sessions {
                    touched += update.execute(params![now, session.as_str()])?;
                }
            }
            tx.commit()?;
            Ok(touched)
        })
        .await
    }

    /// `Ledger::sweep` at `cutoff_ms`; the fills go with their rows (`ON DELETE CASCADE`).
    pub(super) async fn sweep(&self, cutoff_ms: i64) -> Result<usize, LedgerError> {
        self.run(move |db| Ok(db.execute("DELETE FROM sessions WHERE seen_ms <= ?1", [cutoff_ms])?))
            .await
    }

    /// Polls the file every [`POLL`] for fills past the last rowid seen, and wakes their
    /// sessions: one indexed query per instance, not per stream. Rowids commit in order here
    /// (every write holds the file's lock), so "after the last seen" misses nothing.
    pub(super) async fn watch(self, wakes: mpsc::Sender<Wake>) {
        let latest = self
            .run(|db| Ok(db.query_row("SELECT coalesce(max(id), 0) FROM fills", [], |r| r.get(0))?))
            .await;
        // From the newest fill now: what was recorded before this instance started is read by
        // each stream's own replay, not announced again as new.
        // A file that cannot be read now starts the watch from 0: the first successful poll then
        // wakes every session with fills, which costs one read each and misses nothing.
        let mut position: i64 = latest.unwrap_or(0);
        let mut poll = tokio::time::interval(POLL);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = poll.tick() => {}
                _ = wakes.closed() => return,
            }
            let after = position;
            let found = self.run(move |db| fills_since(db, after)).await;
            let fills = match found {
                Ok(fills) => fills,
                // A failed poll keeps its position: the next tick asks again from the same rowid,
                // so a locked or briefly unreadable file delays wake-ups by a poll and loses none.
                Err(error) => {
                    tracing::warn!(%error, "cannot poll the ledger");
                    continue;
                }
            };
            // One wake per session, however many fills it had since the last poll: the portfolio
            // reads all of them past its last id anyway.
            let mut sessions = BTreeSet::new();
            for (at, session) in fills {
                position = at;
                sessions.insert(session);
            }
            for session in sessions {
                if wakes.send(Wake::Session(SessionId(session))).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// Applies the migrations not yet applied, each in its own transaction.
fn migrate(db: &mut Connection) -> rusqlite::Result<()> {
    let applied: usize = db.pragma_query_value(None, "user_version", |r| r.get(0))?;
    for (version, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
        // Each migration with its version bump in one transaction: a crash between the two cannot
        // leave a migration applied and uncounted (it would run twice and fail on its `CREATE`).
        let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", version + 1)?;
        tx.commit()?;
    }
    Ok(())
}

/// The session's account (see `Ledger::account`): its row's, touched when stale; an expired
/// row is deleted with its fills; no row is the unrecorded account, and no write at all.
fn live_account(
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
    let Some((number, seen)) = row else {
        return Ok(Account::unrecorded(session.clone()));
    };
    match Freshness::of(seen, idle) {
        Freshness::Expired => {
            // The fills go with it (ON DELETE CASCADE).
            db.execute("DELETE FROM sessions WHERE id = ?1", [session.as_str()])?;
            return Ok(Account::unrecorded(session.clone()));
        }
        // Touched only when stale (`Freshness`), not on every read: each page load and stream
        // opening would otherwise be a write and an fsync.
        Freshness::Stale => {
            db.execute(
                "UPDATE sessions SET seen_ms = ?1 WHERE id = ?2",
                params![now_ms(), session.as_str()],
            )?;
        }
        Freshness::Fresh => {}
    }
    Ok(Account {
        session: session.clone(),
        number: number as u64,
    })
}

/// Inside an order's transaction: the session's row, written now if this is its first order
/// (numbered as it was before it had one, [`Account::unrecorded`]). A row past its idle time
/// is replaced, its fills deleted: the order opens the account again, empty.
fn record_session(db: &Connection, session: &SessionId, idle: Duration) -> Result<(), LedgerError> {
    let account = live_account(db, session, idle)?;
    // `DO NOTHING`: a session that has a row keeps its number and `seen_ms` (just touched by
    // `live_account` if stale); only a session without one is written.
    db.execute(
        "INSERT INTO sessions (id, number, seen_ms) VALUES (?1, ?2, ?3)
         ON CONFLICT (id) DO NOTHING",
        params![session.as_str(), account.number as i64, now_ms()],
    )?;
    Ok(())
}

/// The decided fill, under its key: the `UNIQUE (session, idempotency_key)` index makes a
/// second insert of one key fail, a guard under the decision's own check.
fn insert_fill(
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

/// Fills of every session after the file-wide rowid `after` (a thousand at most), as
/// `(rowid, session)`.
fn fills_since(db: &Connection, after: i64) -> Result<Vec<(i64, String)>, LedgerError> {
    let mut statement =
        // A thousand at most: a watch that fell far behind (another instance replayed a backlog)
        // catches up over a few polls instead of reading the whole table in one lock.
        db.prepare_cached("SELECT id, session FROM fills WHERE id > ?1 ORDER BY id LIMIT 1000")?;
    let rows = statement.query_map([after], |row| Ok((row.get(0)?, row.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The session's fills after `seq`, by the `(session, seq)` index: a resume reads only what it
/// missed.
fn fills_after(
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

/// The fill an `Idempotency-Key` already made, if any: a retried order is answered with it.
fn fill_by_key(
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

/// One `fills` row (see `super::parse_fill`).
fn read_fill(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoredFill> {
    let (symbol, side): (String, String) = (row.get(1)?, row.get(2)?);
    parse_fill(
        row.get(0)?,
        &symbol,
        &side,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
    )
    .map_err(|what| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, what.into())
    })
}
