//! The ledger: sessions and their fills, kept in SQLite, each order filled exactly once.
//!
//! What it owns: the durable record — who the sessions are, every fill each one made — and the
//! three rules an order must pass in ONE transaction: the session has its row (the first
//! order writes it: sessions are lazy, see [`SessionId`]), its `Idempotency-Key` is new (or names this very order, which then answers with its first fill), and the account
//! can afford it. Nothing is half-written: the checks and the insert commit together or not at
//! all, and `BEGIN IMMEDIATE` takes SQLite's write lock first, so two orders on one account —
//! from two tabs, or two instances sharing the file — run one after the other, never both on
//! the same balance (no lost update).
//!
//! The portfolio is not stored: it is the fold of the fills ([`book`]), so it can always be
//! rebuilt, and the ledger can never disagree with it.
//!
//! Not here: the price (the order takes the market's, `server::orders`), the cookie
//! (`server::session`), or the stream (`server::portfolio`).
//!
//! Why SQLite through `rusqlite` (with SQLite compiled in, `bundled`): a file created on first
//! run, no server to start (what `scripts/dev` promises), real transactions, WAL so readers never
//! wait for the writer. `rusqlite` is synchronous and small; `sqlx` would bring its async
//! runtime glue and macros for a handful of statements, minutes on a 2-core cold build. The
//! calls run on tokio's blocking pool ([`Ledger::run`]), so a slow disk stalls no stream.
//!
//! Why not Redis for the cluster: the instances `scripts/cluster` starts share one machine,
//! and SQLite's file locking makes one file a correct shared ledger for them — every instance
//! sees every session and every fill, and `BEGIN IMMEDIATE` serialises orders across processes.
//! Instances on several machines need a networked store (Redis with a script per order, or
//! Postgres); SQLite on a network file system is not safe, and this ledger does not pretend it is.

mod account;
pub mod book;
mod rows;

pub use account::{account_number, Account, SessionId};
pub use book::{Book, Change, Holding, StoredFill};

use crate::model::{dollars, Side, Symbol};
use rows::{
    fill_by_key, fills_after, fills_since, insert_fill, live_account, migrate, now_ms,
    record_session,
};
use rusqlite::{Connection, TransactionBehavior};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a session may go unused before it and its fills are swept away, unless
/// `TICKERPLEX_SESSION_IDLE_SECS` says otherwise: a demo account is forgotten after a day.
pub const DEFAULT_SESSION_IDLE: Duration = Duration::from_secs(24 * 60 * 60);

/// What an order asks for (already parsed: `server::orders`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Order {
    pub symbol: Symbol,
    pub side: Side,
    pub quantity: u32,
}

/// The fill an order got: new, or the first one again (its key was seen before).
#[derive(Clone, Debug, PartialEq)]
pub struct Recorded {
    pub fill: StoredFill,
    pub repeated: bool,
}

/// Why the ledger refused or could not answer. The messages are shown to the user as they are.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum LedgerError {
    #[error("no session: load the dashboard to start one")]
    NoSession,
    #[error("not enough cash: the order costs {:.2} and the account has {:.2}", dollars(*.cost_cents), dollars(*.cash_cents))]
    NotEnoughCash { cost_cents: i64, cash_cents: i64 },
    #[error("cannot sell {wanted} {symbol}: the account holds {held}")]
    NotEnoughShares {
        symbol: Symbol,
        wanted: u32,
        held: u32,
    },
    #[error("Idempotency-Key {0:?} was already used for a different order; use a new key for a new order")]
    KeyReused(String),
    /// Not the client's fault: the file could not be read or written.
    #[error("the ledger is unavailable: {0}")]
    Storage(String),
}

impl From<rusqlite::Error> for LedgerError {
    fn from(error: rusqlite::Error) -> LedgerError {
        LedgerError::Storage(error.to_string())
    }
}

/// The ledger: one SQLite connection, used from tokio's blocking pool.
///
/// One connection behind a mutex: every statement is short, and the writes are serialised by
/// SQLite's lock anyway. Cloning shares it.
#[derive(Clone)]
pub struct Ledger {
    db: Arc<Mutex<Connection>>,
    idle: Duration,
    path: Arc<PathBuf>,
}

impl Ledger {
    /// Opens (or creates) the ledger at `path` and brings its schema up to date. `:memory:` is
    /// a ledger that lives as long as the process (the integration tests' default).
    pub fn open(path: &Path, idle: Duration) -> Result<Ledger, LedgerError> {
        let fail = |error: &dyn std::fmt::Display| {
            LedgerError::Storage(format!(
                "cannot open the ledger {}: {error}",
                path.display()
            ))
        };
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
        db.pragma_update(None, "foreign_keys", "ON")
            .map_err(|e| fail(&e))?;
        db.busy_timeout(Duration::from_secs(5))
            .map_err(|e| fail(&e))?;
        migrate(&mut db).map_err(|e| fail(&e))?;
        Ok(Ledger {
            db: Arc::new(Mutex::new(db)),
            idle,
            path: Arc::new(path.to_owned()),
        })
    }

    /// How long an unused session lives (the cookie's `Max-Age`).
    pub fn idle(&self) -> Duration {
        self.idle
    }

    /// Where the ledger is (for the start-up log line).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `work` with the connection on tokio's blocking pool.
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
        .map_err(|error| LedgerError::Storage(error.to_string()))?
    }

    /// `session`'s account: the row's, touched if last seen over a minute ago; or, with no
    /// row, the empty account of a session that has not ordered yet — answered without a write
    /// (see [`SessionId`]). A row idle past the idle time is swept here, fills and all, as the
    /// sweep would have: the session starts again empty, rather than showing fills from a
    /// session that had expired.
    pub async fn account(&self, session: &SessionId) -> Result<Account, LedgerError> {
        let (session, idle) = (session.clone(), self.idle);
        self.run(move |db| live_account(db, &session, idle)).await
    }

    /// Records `order` at `price_cents` for `session` under `key`, exactly once (see the module
    /// doc): the fill, or the first fill again, or why not.
    pub async fn record(
        &self,
        session: &SessionId,
        key: &str,
        order: Order,
        price_cents: i64,
    ) -> Result<Recorded, LedgerError> {
        let (session, key, idle) = (session.clone(), key.to_owned(), self.idle);
        self.run(move |db| {
            let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
            // The session's first order writes its row (lazy sessions: `SessionId`).
            record_session(&tx, &session, idle)?;
            if let Some(first) = fill_by_key(&tx, &session, &key)? {
                let same = first.symbol == order.symbol
                    && first.side == order.side
                    && first.quantity == order.quantity;
                return if same {
                    Ok(Recorded {
                        fill: first,
                        repeated: true,
                    })
                } else {
                    Err(LedgerError::KeyReused(key))
                };
            }
            // The account as it stands: the fold of its fills (see `book`). A demo account
            // has tens of fills; an account with millions would keep a running total instead.
            let book = Book::fold(&fills_after(&tx, &session, 0)?);
            book.check(&order, price_cents)?;
            let fill = StoredFill {
                seq: book.seq + 1,
                symbol: order.symbol,
                side: order.side,
                quantity: order.quantity,
                price_cents,
                time_ms: now_ms(),
            };
            insert_fill(&tx, &session, &key, &fill)?;
            tx.commit()?;
            Ok(Recorded {
                fill,
                repeated: false,
            })
        })
        .await
    }

    /// The session's fills after `seq`, in order (all of them after 0).
    pub async fn fills_after(
        &self,
        session: &SessionId,
        seq: u64,
    ) -> Result<Vec<StoredFill>, LedgerError> {
        let session = session.clone();
        self.run(move |db| fills_after(db, &session, seq)).await
    }

    /// Fills of every session recorded after the ledger-wide position `after`, as
    /// `(position, session, seq)`: how an instance learns of fills another instance made.
    pub async fn fills_since(&self, after: i64) -> Result<Vec<(i64, SessionId, u64)>, LedgerError> {
        self.run(move |db| fills_since(db, after)).await
    }

    /// The ledger-wide position of the latest fill (0 when there is none).
    pub async fn latest_position(&self) -> Result<i64, LedgerError> {
        self.run(|db| Ok(db.query_row("SELECT coalesce(max(id), 0) FROM fills", [], |r| r.get(0))?))
            .await
    }

    /// How many sessions have a row: those that placed an order and have not expired since.
    pub async fn recorded_sessions(&self) -> Result<usize, LedgerError> {
        self.run(|db| Ok(db.query_row("SELECT count(*) FROM sessions", [], |r| r.get(0))?))
            .await
    }

    /// Deletes the sessions idle for longer than the idle time, with their fills; how many.
    pub async fn sweep(&self) -> Result<usize, LedgerError> {
        let idle = self.idle;
        self.run(move |db| {
            let cutoff = now_ms() - idle.as_millis() as i64;
            Ok(db.execute("DELETE FROM sessions WHERE seen_ms <= ?1", [cutoff])?)
        })
        .await
    }
}

#[cfg(test)]
mod tests;
