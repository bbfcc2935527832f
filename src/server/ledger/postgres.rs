//! The networked backend: the ledger in Postgres, shared by instances on any number of
//! machines (`TICKERPLEX_DATABASE_URL=postgres://user:password@host:port/database`).
//!
//! Why `tokio-postgres` (with `deadpool-postgres` for the pool): it is async on tokio, has no
//! macros and needs no database at build time, and its graph is small (about 19 s of compile
//! time added to a debug build, docs/ledger.md says how it was measured). `sqlx` checks its queries against a live database or an offline cache
//! at build time, and its `sqlite` feature would link a second `libsqlite3-sys` beside
//! rusqlite's, which Cargo refuses; diesel-async brings diesel's query builder for a dozen
//! plain statements. TLS goes through the rustls already in the build (`tokio-postgres-rustls`).
//!
//! The guarantees SQLite's `BEGIN IMMEDIATE` gave for free, kept here by hand:
//! - **one order at a time per account**: a row lock on the account (`SELECT … FOR UPDATE` in
//!   READ COMMITTED), taken before the cash check. Chosen over SERIALIZABLE with retries: an
//!   order's transaction is short and touches one account, so waiting on the lock is the whole
//!   cost, and no client ever sees a serialization failure. Orders on different accounts never
//!   wait for each other.
//! - **a key fills once**: `UNIQUE (session, idempotency_key)`. Under the lock the key check
//!   cannot race; should it ever (the constraint is the guarantee, not the check), the insert
//!   fails, the transaction is retried once, and the retry answers with the fill that won.
//! - **no ledger-wide cursor**: fills are keyed `(session, seq)`, numbered under the lock.
//!
//! Every statement is bounded twice: `statement_timeout` and `lock_timeout` on the server (a
//! runaway query, a lock held by a stuck transaction), and [`OPERATION_TIMEOUT`] here (a server
//! that stopped answering at all). Either is answered like an outage: `Storage`, so the order
//! gets 503 with `Retry-After`, and its retry under the same key fills once.
//!
//! LISTEN runs on a connection of its own, outside the pool ([`Postgres::watch`]): a pooled
//! connection would be recycled, and its notifications lost with it.

use super::{
    decide, now_ms, parse_fill, side_name, Account, Decision, Freshness, LedgerError, Order,
    Recorded, SessionId, StoredFill, Wake,
};
use crate::server::backoff::{until_reachable, Backend, RETRY_FIRST, RETRY_MAX};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_postgres::error::SqlState;
use tokio_postgres::{AsyncMessage, Config, Row};
use tokio_postgres_rustls::MakeRustlsConnect;

/// The migrations, in order; the `ledger_migrations` table records those applied.
const MIGRATIONS: &[&str] = &[include_str!("migrations/postgres/0001_ledger.sql")];

/// The advisory lock two instances migrating at once take in turn (any constant: "tickr").
const MIGRATION_LOCK: i64 = 0x7469_636b_72;

/// The NOTIFY channel an order's transaction wakes the other instances on (payload: the session).
const CHANNEL: &str = "tickerplex_fills";

/// The server's own bounds on one statement, and on waiting for a lock (another order on the
/// same account holds its row for milliseconds; seconds means it is stuck).
const STATEMENT_TIMEOUT_MS: u32 = 3_000;
const LOCK_TIMEOUT_MS: u32 = 2_000;

/// The client's bound on one whole operation, a transaction with its commit: past it the
/// server is taken to be away, whatever it is doing.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a new connection may take (TCP, TLS, authentication).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// How many instances one Postgres is sized for: each takes at most its share of the
/// connections `max_connections` leaves to ordinary users, pool and LISTEN connection together.
const INSTANCES_PER_SERVER: usize = 8;

pub(super) struct Postgres {
    pool: Pool,
    /// For the LISTEN connection, made outside the pool.
    config: Config,
    tls: MakeRustlsConnect,
    /// `host:port/database`, for log lines: never the password.
    location: String,
}

/// Why an operation failed, before it is told to the caller as a [`LedgerError`].
enum Failure {
    /// Said in the ledger's own terms: a refusal (cash, shares, a reused key) or a timeout.
    Ledger(LedgerError),
    Db(tokio_postgres::Error),
    Pool(deadpool_postgres::PoolError),
    Corrupt(String),
}

impl From<LedgerError> for Failure {
    fn from(error: LedgerError) -> Failure {
        Failure::Ledger(error)
    }
}

impl From<tokio_postgres::Error> for Failure {
    fn from(error: tokio_postgres::Error) -> Failure {
        Failure::Db(error)
    }
}

impl From<deadpool_postgres::PoolError> for Failure {
    fn from(error: deadpool_postgres::PoolError) -> Failure {
        Failure::Pool(error)
    }
}

impl Failure {
    /// What the caller hears. The detail (which may name tables, never data) goes to the log
    /// line the ledger writes when its health changes; clients read only "unavailable".
    fn into_ledger(self) -> LedgerError {
        match self {
            Failure::Ledger(error) => error,
            Failure::Db(error) => LedgerError::Storage(describe(&error)),
            Failure::Pool(error) => {
                LedgerError::Storage(format!("no connection to Postgres: {error}"))
            }
            Failure::Corrupt(what) => {
                LedgerError::Storage(format!("a fill row is corrupt: {what}"))
            }
        }
    }

    fn is_unique_violation(&self) -> bool {
        matches!(self, Failure::Db(error) if error.code() == Some(&SqlState::UNIQUE_VIOLATION))
    }
}

/// A Postgres error in one line: the kind, and the server's message or the cause.
fn describe(error: &tokio_postgres::Error) -> String {
    match (error.as_db_error(), std::error::Error::source(error)) {
        (Some(db), _) => format!("Postgres: {} ({})", db.message(), db.code().code()),
        (None, Some(cause)) => format!("Postgres: {error}: {cause}"),
        (None, None) => format!("Postgres: {error}"),
    }
}

/// Errors no wait will fix: wrong password or user, no such database, TLS the server does not
/// offer (`sslmode=require`). The start-up fails at once with them instead of waiting.
fn is_fatal(error: &tokio_postgres::Error) -> bool {
    let fatal_codes = [
        SqlState::INVALID_PASSWORD,
        SqlState::INVALID_AUTHORIZATION_SPECIFICATION,
        SqlState::INVALID_CATALOG_NAME,
        SqlState::INSUFFICIENT_PRIVILEGE,
    ];
    match error.code() {
        Some(code) => fatal_codes.contains(code),
        None => error
            .to_string()
            .starts_with("error performing TLS handshake"),
    }
}

impl Postgres {
    /// Parses `url`, then waits until Postgres answers and the schema is migrated (see
    /// [`until_reachable`]), then sizes the pool against the server's `max_connections`.
    pub(super) async fn connect(url: &str, var: &str) -> Result<Postgres, LedgerError> {
        // The parse error names what is wrong (an option, a port), never the URL itself: it
        // may hold the password.
        let mut config: Config = url.parse().map_err(|error: tokio_postgres::Error| {
            let cause = std::error::Error::source(&error).map(|c| c.to_string());
            LedgerError::Config(format!(
                "{var} is not a Postgres URL ({}); expected e.g. postgres://tickerplex:secret@127.0.0.1:5432/tickerplex",
                cause.unwrap_or_else(|| error.to_string())
            ))
        })?;
        let location = location(&config);
        let options = format!(
            "{} -c statement_timeout={STATEMENT_TIMEOUT_MS} -c lock_timeout={LOCK_TIMEOUT_MS}",
            config.get_options().unwrap_or_default()
        );
        config.options(options.trim_start());
        if config.get_application_name().is_none() {
            config.application_name("tickerplex");
        }
        config.connect_timeout(CONNECT_TIMEOUT);
        config.keepalives_idle(Duration::from_secs(10));
        let tls = tls_connector()?;

        let backend = Backend {
            name: "Postgres",
            addr: &location,
            var,
            hint: &format!("unset {var} to keep the ledger in a SQLite file"),
        };
        let prepared = until_reachable(backend, || async {
            match prepare(&config, &tls).await {
                Err(error) if is_fatal(&error) => Ok(Err(error)),
                Err(error) => Err(describe(&error)),
                Ok(limit) => Ok(Ok(limit)),
            }
        })
        .await;
        let (max_connections, reserved) = prepared.map_err(|error| {
            LedgerError::Config(format!(
                "cannot use the ledger at {location} ({var}): {}",
                describe(&error)
            ))
        })?;
        let size = pool_size(max_connections, reserved);
        let manager = Manager::from_config(
            config.clone(),
            tls.clone(),
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(size)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(OPERATION_TIMEOUT))
            .create_timeout(Some(CONNECT_TIMEOUT))
            .recycle_timeout(Some(CONNECT_TIMEOUT))
            .build()
            .map_err(|error| LedgerError::Storage(format!("cannot build the pool: {error}")))?;
        tracing::info!(%location, pool = size, max_connections, "ledger in Postgres");
        Ok(Postgres {
            pool,
            config,
            tls,
            location,
        })
    }

    pub(super) fn location(&self) -> &str {
        &self.location
    }

    /// A pooled connection.
    async fn client(&self) -> Result<deadpool_postgres::Client, Failure> {
        Ok(self.pool.get().await?)
    }

    /// Runs `work` (which takes its connection from [`Postgres::client`]) within
    /// [`OPERATION_TIMEOUT`].
    async fn bounded<T>(
        &self,
        work: impl std::future::Future<Output = Result<T, Failure>>,
    ) -> Result<T, Failure> {
        match tokio::time::timeout(OPERATION_TIMEOUT, work).await {
            Ok(result) => result,
            Err(_) => Err(Failure::Ledger(LedgerError::Storage(format!(
                "Postgres did not answer within {} s",
                OPERATION_TIMEOUT.as_secs()
            )))),
        }
    }

    pub(super) async fn account(
        &self,
        session: &SessionId,
        idle: Duration,
    ) -> Result<Account, LedgerError> {
        let id = session.as_str();
        self.bounded(async {
            let client = self.client().await?;
            let row = client
                .query_opt("SELECT number, seen_ms FROM sessions WHERE id = $1", &[&id])
                .await?;
            let Some(row) = row else {
                return Ok(Account::unrecorded(session.clone()));
            };
            let (number, seen): (i64, i64) = (row.get(0), row.get(1));
            match Freshness::of(seen, idle) {
                Freshness::Expired => {
                    // The fills go with it (ON DELETE CASCADE).
                    client
                        .execute("DELETE FROM sessions WHERE id = $1", &[&id])
                        .await?;
                    return Ok(Account::unrecorded(session.clone()));
                }
                Freshness::Stale => {
                    let sql = "UPDATE sessions SET seen_ms = $1 WHERE id = $2";
                    client.execute(sql, &[&now_ms(), &id]).await?;
                }
                Freshness::Fresh => {}
            }
            Ok(Account {
                session: session.clone(),
                number: number as u64,
            })
        })
        .await
        .map_err(Failure::into_ledger)
    }

    /// The order's one transaction (module doc): the account's row, locked; its key; its
    /// fills; the decision; the insert and the NOTIFY, committed together.
    pub(super) async fn record(
        &self,
        session: &SessionId,
        key: &str,
        order: Order,
        price_cents: i64,
        idle: Duration,
    ) -> Result<Recorded, LedgerError> {
        let mut result = self
            .record_once(session, key, &order, price_cents, idle)
            .await;
        if result.as_ref().is_err_and(Failure::is_unique_violation) {
            // Another transaction filled this key (or this seq) first: the retry sees its fill.
            result = self
                .record_once(session, key, &order, price_cents, idle)
                .await;
        }
        result.map_err(Failure::into_ledger)
    }

    async fn record_once(
        &self,
        session: &SessionId,
        key: &str,
        order: &Order,
        price_cents: i64,
        idle: Duration,
    ) -> Result<Recorded, Failure> {
        let id = session.as_str();
        let number = Account::unrecorded(session.clone()).number as i64;
        self.bounded(async {
            let mut client = self.client().await?;
            let tx = client.transaction().await?;
            // The session's first order writes its row (lazy sessions: `SessionId`); then every
            // order on this account waits here for the one before it to commit.
            tx.execute(
                "INSERT INTO sessions (id, number, seen_ms) VALUES ($1, $2, $3)
                 ON CONFLICT (id) DO NOTHING",
                &[&id, &number, &now_ms()],
            )
            .await?;
            let seen: i64 = tx
                .query_one("SELECT seen_ms FROM sessions WHERE id = $1 FOR UPDATE", &[&id])
                .await?
                .get(0);
            let freshness = Freshness::of(seen, idle);
            if freshness == Freshness::Expired {
                // Past its idle time: the order opens the account again, empty.
                tx.execute("DELETE FROM fills WHERE session = $1", &[&id]).await?;
            }
            if freshness != Freshness::Fresh {
                let sql = "UPDATE sessions SET seen_ms = $1 WHERE id = $2";
                tx.execute(sql, &[&now_ms(), &id]).await?;
            }
            let by_key = tx
                .query_opt(
                    "SELECT seq, symbol, side, quantity, price_cents, time_ms FROM fills
                     WHERE session = $1 AND idempotency_key = $2",
                    &[&id, &key],
                )
                .await?
                .map(|row| read_fill(&row))
                .transpose()?;
            let fills = read_fills(tx.query(FILLS_AFTER, &[&id, &0i64]).await?)?;
            let recorded = match decide(key, order, price_cents, by_key, &fills)? {
                Decision::Replay(fill) => Recorded {
                    fill,
                    repeated: true,
                },
                Decision::Insert(fill) => {
                    tx.execute(
                        "INSERT INTO fills (session, seq, idempotency_key, symbol, side, quantity, price_cents, time_ms)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                        &[
                            &id,
                            &(fill.seq as i64),
                            &key,
                            &fill.symbol.as_str(),
                            &side_name(fill.side),
                            &i64::from(fill.quantity),
                            &fill.price_cents,
                            &fill.time_ms,
                        ],
                    )
                    .await?;
                    // Delivered to the listeners only if (and when) this commits.
                    tx.execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &id]).await?;
                    Recorded {
                        fill,
                        repeated: false,
                    }
                }
            };
            tx.commit().await?;
            Ok(recorded)
        })
        .await
    }

    pub(super) async fn fills_after(
        &self,
        session: &SessionId,
        seq: u64,
    ) -> Result<Vec<StoredFill>, LedgerError> {
        let (id, seq) = (session.as_str(), seq as i64);
        self.bounded(async {
            read_fills(
                self.client()
                    .await?
                    .query(FILLS_AFTER, &[&id, &seq])
                    .await?,
            )
        })
        .await
        .map_err(Failure::into_ledger)
    }

    pub(super) async fn recorded_sessions(&self) -> Result<usize, LedgerError> {
        self.bounded(async {
            let client = self.client().await?;
            let count: i64 = client
                .query_one("SELECT count(*) FROM sessions", &[])
                .await?
                .get(0);
            Ok(count as usize)
        })
        .await
        .map_err(Failure::into_ledger)
    }

    pub(super) async fn sweep(&self, cutoff_ms: i64) -> Result<usize, LedgerError> {
        self.bounded(async {
            let client = self.client().await?;
            let sql = "DELETE FROM sessions WHERE seen_ms <= $1";
            Ok(client.execute(sql, &[&cutoff_ms]).await? as usize)
        })
        .await
        .map_err(Failure::into_ledger)
    }

    /// LISTENs on its own connection and wakes each notified session; after every (re)connect
    /// it says [`Wake::Everything`], since NOTIFY is not replayed: the portfolios then read each
    /// open account by its fill number, which misses nothing. Reconnects with backoff until
    /// the receiver is dropped.
    pub(super) async fn watch(self: Arc<Self>, wakes: mpsc::Sender<Wake>) {
        let mut wait = RETRY_FIRST;
        loop {
            let listened = tokio::select! {
                listened = self.listen(&wakes, &mut wait) => listened,
                _ = wakes.closed() => return,
            };
            if wakes.is_closed() {
                return;
            }
            if let Err(error) = listened {
                tracing::warn!(location = %self.location, %error, "not listening for fills; reconnecting");
            }
            tokio::time::sleep(wait).await; // nothing to wait on but time: only a try tells
            wait = (wait * 2).min(RETRY_MAX);
        }
    }

    /// One LISTEN connection, until it ends (`Err`) or nobody needs its wake-ups (`Ok`).
    async fn listen(&self, wakes: &mpsc::Sender<Wake>, wait: &mut Duration) -> Result<(), String> {
        let (client, mut connection) = self
            .config
            .connect(self.tls.clone())
            .await
            .map_err(|e| describe(&e))?;
        // The connection is driven by polling its messages: a task of its own forwards the
        // notifications (and the error that ends it) while `client` sends the LISTEN.
        let (notes, mut received) = mpsc::channel::<Result<String, String>>(super::WAKES);
        let driver = tokio::spawn(async move {
            loop {
                let message = std::future::poll_fn(|cx| connection.poll_message(cx)).await;
                let note = match message {
                    Some(Ok(AsyncMessage::Notification(note))) => Ok(note.payload().to_owned()),
                    Some(Ok(_)) => continue, // a notice: nothing to act on
                    Some(Err(error)) => Err(describe(&error)),
                    None => Err("the connection closed".to_owned()),
                };
                let ended = note.is_err();
                if notes.send(note).await.is_err() || ended {
                    return;
                }
            }
        });
        let listening = client.batch_execute(&format!("LISTEN {CHANNEL}")).await;
        let outcome = match listening {
            Err(error) => Err(describe(&error)),
            Ok(()) => {
                *wait = RETRY_FIRST;
                // Listening from here on; whatever committed before is read by this catch-up.
                if wakes.send(Wake::Everything).await.is_err() {
                    driver.abort();
                    return Ok(());
                }
                loop {
                    let Some(note) = received.recv().await else {
                        break Err("the listener stopped".to_owned());
                    };
                    let Some(session) = SessionId::parse(&note?) else {
                        continue; // not ours: the channel is public to the database's users
                    };
                    if wakes.send(Wake::Session(session)).await.is_err() {
                        break Ok(());
                    }
                }
            }
        };
        driver.abort();
        drop(client);
        outcome
    }
}

const FILLS_AFTER: &str = "SELECT seq, symbol, side, quantity, price_cents, time_ms FROM fills
     WHERE session = $1 AND seq > $2 ORDER BY seq";

fn read_fills(rows: Vec<Row>) -> Result<Vec<StoredFill>, Failure> {
    rows.iter().map(read_fill).collect()
}

/// One `fills` row (see `super::parse_fill`).
fn read_fill(row: &Row) -> Result<StoredFill, Failure> {
    let (symbol, side): (&str, &str) = (row.get(1), row.get(2));
    parse_fill(row.get(0), symbol, side, row.get(3), row.get(4), row.get(5))
        .map_err(Failure::Corrupt)
}

/// One try at start: a connection, the migrations, and the server's connection limits.
async fn prepare(
    config: &Config,
    tls: &MakeRustlsConnect,
) -> Result<(usize, usize), tokio_postgres::Error> {
    let (mut client, connection) = config.connect(tls.clone()).await?;
    let driver = tokio::spawn(connection);
    let result = async {
        migrate(&mut client).await?;
        let row = client
            .query_one(
                "SELECT current_setting('max_connections')::int,
                        current_setting('superuser_reserved_connections')::int",
                &[],
            )
            .await?;
        Ok((row.get::<_, i32>(0) as usize, row.get::<_, i32>(1) as usize))
    }
    .await;
    drop(client);
    driver.abort();
    result
}

/// Applies the migrations not yet applied, in one transaction under an advisory lock: two
/// instances starting at once take turns, and the second finds nothing left to do.
async fn migrate(client: &mut tokio_postgres::Client) -> Result<(), tokio_postgres::Error> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS ledger_migrations (
             version    integer     PRIMARY KEY,
             applied_at timestamptz NOT NULL DEFAULT now()
         )",
    )
    .await?;
    let applied: i64 = tx
        .query_one("SELECT count(*) FROM ledger_migrations", &[])
        .await?
        .get(0);
    for (version, sql) in MIGRATIONS.iter().enumerate().skip(applied as usize) {
        tx.batch_execute(sql).await?;
        let version = version as i32 + 1;
        tx.execute(
            "INSERT INTO ledger_migrations (version) VALUES ($1)",
            &[&version],
        )
        .await?;
        tracing::info!(version, "ledger schema migrated");
    }
    tx.commit().await
}

/// The pool's size: this instance's share of the server (see [`INSTANCES_PER_SERVER`]), one
/// connection of it kept for LISTEN, at least 2 and at most 16.
fn pool_size(max_connections: usize, reserved: usize) -> usize {
    (max_connections.saturating_sub(reserved) / INSTANCES_PER_SERVER)
        .saturating_sub(1)
        .clamp(2, 16)
}

/// `host:port/database`, from the parsed URL (so never its password).
fn location(config: &Config) -> String {
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(host)) => host.clone(),
        Some(tokio_postgres::config::Host::Unix(path)) => path.display().to_string(),
        None => "localhost".to_owned(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let database = config
        .get_dbname()
        .or(config.get_user())
        .unwrap_or("postgres");
    format!("{host}:{port}/{database}")
}

/// TLS for `sslmode=prefer` (the default) and `require`: the system's roots, plus the file
/// `PGSSLROOTCERT` names (libpq's variable) for a private CA. Stricter than libpq's `require`,
/// which encrypts without checking whom it talks to: here the server's certificate is always
/// verified, as libpq's `verify-full` does.
fn tls_connector() -> Result<MakeRustlsConnect, LedgerError> {
    use rustls::pki_types::{pem::PemObject, CertificateDer};
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert); // a system root rustls cannot parse is one fewer root, no more
    }
    if let Some(file) = std::env::var_os("PGSSLROOTCERT") {
        let bad = |error: &dyn std::fmt::Display| {
            LedgerError::Config(format!("PGSSLROOTCERT {}: {error}", file.to_string_lossy()))
        };
        for cert in CertificateDer::pem_file_iter(&file).map_err(|e| bad(&e))? {
            roots.add(cert.map_err(|e| bad(&e))?).map_err(|e| bad(&e))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("the ring provider supports the default TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}
