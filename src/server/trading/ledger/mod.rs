//! The ledger: sessions and their fills, each order filled exactly once, in SQLite (embedded,
//! the default) or Postgres (`TICKERPLEX_DATABASE_URL`, for instances on several machines).
//!
//! What it owns: the durable record — who the sessions are, every fill each one made — and the
//! three rules an order must pass in ONE transaction: the session has its row (the first
//! order writes it: sessions are lazy, see [`SessionId`]), its `Idempotency-Key` is new (or
//! names this very order, which then answers with its first fill), and the account can afford
//! it. Nothing is half-written: the checks and the insert commit together or not at all.
//!
//! One seam, two backends: [`Ledger`] is the interface everything else uses, and each method
//! hands the work to [`sqlite`] or [`postgres`]. What an order decides and when a session
//! counts as idle are written once, in [`rules`]; each backend only reads and writes rows. What the backends must each guarantee:
//! - **orders on one account are serialised**: SQLite's `BEGIN IMMEDIATE` takes the file's
//!   write lock; Postgres takes a row lock on the account (`SELECT … FOR UPDATE`). Two orders
//!   with different keys on one account — two tabs, two instances — run one after the other,
//!   never both on the same balance (no lost update, no overdraft);
//! - **a key fills once**: `UNIQUE (session, idempotency_key)` in both schemas, so even a
//!   check that raced would meet the constraint, not write a second fill;
//! - **fills are numbered per account** (`seq` 1, 2, 3 …, under that lock), and a stream reads
//!   "what is new" by that number, never by a ledger-wide counter: Postgres sequence values
//!   commit out of order, so a reader going by `id > last` could skip a fill.
//!
//! How an instance learns of fills another instance made: [`Ledger::watch`] — SQLite polls its
//! rowid (its writes are serialised, so rowids commit in order); Postgres uses LISTEN/NOTIFY as
//! a wake-up only, and the woken stream reads the account's fills by number, so a missed or
//! doubled notification loses nothing (NOTIFY is not replayed to a listener that reconnects:
//! it then says [`Wake::Everything`]).
//!
//! The portfolio is not stored: it is the fold of the fills ([`book`]), so it can always be
//! rebuilt, and the ledger can never disagree with it.
//!
//! Not here: the price (the order takes the market's, `server::trading::orders`), the cookie
//! (`server::trading::session`), or the stream (`server::trading::portfolio`).
//!
//! Which one when: SQLite for one machine — no server to run, an order costs one fsync, and
//! instances on one host share the file safely (its locks work across processes). Postgres
//! once instances run on several machines: SQLite on a network file system is not safe, and
//! this ledger does not pretend it is. (docs/operations.md has the numbers.)

mod account;
pub mod book;
mod postgres;
mod rules;
mod sqlite;

pub use account::{account_number, Account, SessionId};
pub use book::{Book, Change, Holding, StoredFill};

use crate::model::{dollars, Side, Symbol};
use rules::now_ms;
#[cfg(test)]
use rules::{decide, Decision};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// How long a session may go unused before it and its fills are swept away, unless
/// `TICKERPLEX_SESSION_IDLE_SECS` says otherwise: a demo account is forgotten after a day.
pub const DEFAULT_SESSION_IDLE: Duration = Duration::from_secs(24 * 60 * 60);

/// The variable that puts the ledger in Postgres (`postgres://user:password@host:port/db`).
pub const DATABASE_URL_VAR: &str = "TICKERPLEX_DATABASE_URL";

/// What an order asks for (already parsed: `server::trading::orders`).
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
    /// Not the client's fault: the file or the database could not be read or written (or did
    /// not answer in time). An order answers 503 with `Retry-After`: retried with the same
    /// key, it fills once whether or not this attempt committed.
    #[error("the ledger is unavailable: {0}")]
    Storage(String),
    /// The ledger cannot be used as configured (a malformed URL, a wrong password, no such
    /// database): found at start, which then fails with this line.
    #[error("{0}")]
    Config(String),
}

/// What wakes an instance's portfolios ([`Ledger::watch`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Wake {
    /// `session` has fills this instance may not have published yet.
    Session(SessionId),
    /// Any session may: the watch could not see for a while (it reconnected).
    Everything,
}

/// The ledger: one of the two backends, and the idle time of its sessions. Cloning shares it.
#[derive(Clone)]
pub struct Ledger {
    backend: Backend,
    idle: Duration,
    /// Whether the last operation reached the backend (the `tickerplex_ledger_healthy` gauge).
    healthy: Arc<AtomicBool>,
}

#[derive(Clone)]
enum Backend {
    Sqlite(sqlite::Sqlite),
    Postgres(Arc<postgres::Postgres>),
}

impl Ledger {
    /// The embedded ledger: opens (or creates) the SQLite file at `path` and brings its schema
    /// up to date. `:memory:` is a ledger that lives as long as the process (the tests').
    pub fn open(path: &Path, idle: Duration) -> Result<Ledger, LedgerError> {
        Ok(Ledger::with(
            Backend::Sqlite(sqlite::Sqlite::open(path)?),
            idle,
        ))
    }

    /// The networked ledger: connects to the Postgres at `url` and migrates its schema,
    /// waiting for as long as Postgres is away (like the shared log's Redis). A URL that does
    /// not parse fails at once, naming [`DATABASE_URL_VAR`] and never echoing the URL.
    pub async fn connect(url: &str, idle: Duration) -> Result<Ledger, LedgerError> {
        let postgres = postgres::Postgres::connect(url, DATABASE_URL_VAR).await?;
        Ok(Ledger::with(Backend::Postgres(Arc::new(postgres)), idle))
    }

    fn with(backend: Backend, idle: Duration) -> Ledger {
        Ledger {
            backend,
            idle,
            healthy: Arc::new(AtomicBool::new(true)),
        }
    }

    /// How long an unused session lives (the cookie's `Max-Age`).
    pub fn idle(&self) -> Duration {
        self.idle
    }

    /// `sqlite` or `postgres` (the metrics' label).
    pub fn backend(&self) -> &'static str {
        match &self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// Where the ledger is, for the start-up line: the file, or `host:port/database` (never the
    /// password).
    pub fn location(&self) -> String {
        match &self.backend {
            Backend::Sqlite(db) => db.path().display().to_string(),
            Backend::Postgres(db) => db.location().to_owned(),
        }
    }

    /// Whether the last operation on the ledger reached it.
    pub fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    /// Notes the outcome of an operation in the health flag (and says so when it changes).
    fn noted<T>(&self, result: Result<T, LedgerError>) -> Result<T, LedgerError> {
        // Only `Storage` is an outage: a refusal (no cash, a reused key) is the ledger answering,
        // which is exactly what "healthy" means.
        let ok = !matches!(result, Err(LedgerError::Storage(_)));
        // Logged on the change only: a Postgres away for a minute under a busy order ticket is two
        // lines in the log, not one per order.
        if self.healthy.swap(ok, Ordering::Relaxed) != ok {
            match &result {
                Err(error) => {
                    tracing::warn!(ledger = %self.location(), %error, "the ledger is unavailable")
                }
                Ok(_) => tracing::info!(ledger = %self.location(), "the ledger answers again"),
            }
        }
        result
    }

    /// `session`'s account: the row's, touched if last seen over a minute ago; or, with no
    /// row, the empty account of a session that has not ordered yet — answered without a write
    /// (see [`SessionId`]). A row idle past the idle time is swept here, fills and all, as the
    /// sweep would have: the session starts again empty, rather than showing fills from a
    /// session that had expired.
    pub async fn account(&self, session: &SessionId) -> Result<Account, LedgerError> {
        let result = match &self.backend {
            Backend::Sqlite(db) => db.account(session, self.idle).await,
            Backend::Postgres(db) => db.account(session, self.idle).await,
        };
        self.noted(result)
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
        let result = match &self.backend {
            Backend::Sqlite(db) => db.record(session, key, order, price_cents, self.idle).await,
            Backend::Postgres(db) => db.record(session, key, order, price_cents, self.idle).await,
        };
        self.noted(result)
    }

    /// The session's fills after `seq`, in order (all of them after 0).
    pub async fn fills_after(
        &self,
        session: &SessionId,
        seq: u64,
    ) -> Result<Vec<StoredFill>, LedgerError> {
        let result = match &self.backend {
            Backend::Sqlite(db) => db.fills_after(session, seq).await,
            Backend::Postgres(db) => db.fills_after(session, seq).await,
        };
        self.noted(result)
    }

    /// How many sessions have a row: those that placed an order and have not expired since.
    pub async fn recorded_sessions(&self) -> Result<usize, LedgerError> {
        let result = match &self.backend {
            Backend::Sqlite(db) => db.recorded_sessions().await,
            Backend::Postgres(db) => db.recorded_sessions().await,
        };
        self.noted(result)
    }

    /// Marks `sessions` as seen now: sessions something still shows, though nobody ordered or
    /// loaded a page for a while (the portfolio task touches every session whose portfolio
    /// stream is open on its instance, before each sweep). Only rows are touched — a session
    /// that never ordered has none to sweep. How many rows were touched.
    pub async fn touch(&self, sessions: &[SessionId]) -> Result<usize, LedgerError> {
        if sessions.is_empty() {
            return Ok(0);
        }
        let result = match &self.backend {
            Backend::Sqlite(db) => db.touch(sessions.to_vec()).await,
            Backend::Postgres(db) => db.touch(sessions).await,
        };
        self.noted(result)
    }

    /// Deletes the sessions idle for longer than the idle time, with their fills; how many.
    pub async fn sweep(&self) -> Result<usize, LedgerError> {
        let cutoff = now_ms() - self.idle.as_millis() as i64;
        let result = match &self.backend {
            Backend::Sqlite(db) => db.sweep(cutoff).await,
            Backend::Postgres(db) => db.sweep(cutoff).await,
        };
        self.noted(result)
    }

    /// Starts watching for fills, whichever instance records them (module doc): the receiver
    /// hears of each session with new fills, and [`Wake::Everything`] when the watch was
    /// blind for a while. The watch stops when the receiver is dropped.
    pub fn watch(&self) -> mpsc::Receiver<Wake> {
        let (wakes, receiver) = mpsc::channel(WAKES);
        match &self.backend {
            Backend::Sqlite(db) => tokio::spawn(db.clone().watch(wakes)),
            Backend::Postgres(db) => tokio::spawn(db.clone().watch(wakes)),
        };
        receiver
    }
}

/// How many wake-ups may wait for the portfolios' task (bounded like every channel here; a
/// full channel makes the watch wait, never drop one).
const WAKES: usize = 256;

#[cfg(test)]
mod tests;
