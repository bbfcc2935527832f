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
//!
//! One file past 300 lines because it is one concept: the backend's half of the [`Ledger`]
//! seam, statement by statement beside SQLite's (`super::sqlite`), so the two can be read side by
//! side. What is not a statement is in its own file: the start and schema (`start`), the
//! wake-ups (`listen`), and which errors count as an outage (`failure`).
//!
//! [`Ledger`]: super::Ledger

mod failure;
mod listen;
mod start;

use super::rules::{decide, now_ms, parse_fill, side_name, Decision, Freshness};
use super::{Account, LedgerError, Order, Recorded, SessionId, StoredFill};
use crate::server::transport::backoff::{until_reachable, Backend};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use failure::{describe, Failure};
use start::{is_fatal, location, pool_size, prepare, tls_connector};
use std::time::Duration;
use tokio_postgres::{Config, Row};
use tokio_postgres_rustls::MakeRustlsConnect;

/// The NOTIFY channel an order's transaction wakes the other instances on (payload: the session).
///
/// Prefixed with the project's name: channels are database-wide, and a database shared with other
/// software must not wake us for its own notifications (nor we it).
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

/// The Postgres backend: a pool for the orders and reads, one connection apart for LISTEN.
pub(super) struct Postgres {
    /// deadpool's pool, sized at connect against the server's `max_connections` so that a few
    /// instances cannot exhaust it between them (a refused connection would be an outage).
    pool: Pool,
    /// For the LISTEN connection, made outside the pool.
    config: Config,
    /// rustls, the same TLS stack as the server's own: no OpenSSL to install or patch.
    tls: MakeRustlsConnect,
    /// `host:port/database`, for log lines: never the password.
    location: String,
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
        // Set per connection in the startup packet (`-c`), not with `SET` after connecting: a
        // pooled connection that was reset, or one deadpool made on its own, has them from its
        // first statement, and a database or role default cannot loosen them.
        let options = format!(
            "{} -c statement_timeout={STATEMENT_TIMEOUT_MS} -c lock_timeout={LOCK_TIMEOUT_MS}",
            config.get_options().unwrap_or_default()
        );
        config.options(options.trim_start());
        // Named in `pg_stat_activity`, so an operator looking at a busy database sees whose
        // connections these are; a name the URL gives wins.
        if config.get_application_name().is_none() {
            config.application_name("tickerplex");
        }
        config.connect_timeout(CONNECT_TIMEOUT);
        // TCP keep-alive probes after 10 s of silence instead of the system's two hours: a
        // Postgres machine that vanished is found by the kernel's probes (minutes, at Linux's
        // default interval and count) rather than hours later by the idle LISTEN connection.
        config.keepalives_idle(Duration::from_secs(10));
        let tls = tls_connector()?;

        let backend = Backend {
            name: "Postgres",
            addr: &location,
            var,
            hint: &format!("unset {var} to keep the ledger in a SQLite file"),
        };
        // `Ok(Err(_))` ends the wait with a failure: a wrong password or database is fatal now,
        // since waiting would only hide it; `Err(_)` is a retryable one and waits.
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
                // `Fast`: a connection is handed out again without a test query. A dead one fails
                // its next statement, which is answered as an outage and retried by the client;
                // `Verified` would add a round trip to every order to save that rare retry.
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(size)
            .runtime(Runtime::Tokio1)
            // Waiting for a free connection is bounded like the operation itself: a pool exhausted
            // by a stuck server answers 503 in seconds rather than queueing orders forever.
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
            // A read on a pooled connection, outside a transaction: the row lock is only for
            // orders, and reading a session that an order is changing sees the last committed
            // version.
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
        // Once, not in a loop: the second attempt runs after the winner committed, so it reads the
        // winner's fill under the key (a replay) or takes the next seq; a second violation would be
        // a bug, shown as an outage rather than retried forever.
        if result.as_ref().is_err_and(Failure::is_unique_violation) {
            // Another transaction filled this key (or this seq) first: the retry sees its fill.
            result = self
                .record_once(session, key, &order, price_cents, idle)
                .await;
        }
        result.map_err(Failure::into_ledger)
    }

    /// One attempt at [`Postgres::record`]'s transaction. A unique violation here is not an
    /// error to show: it means another transaction won the race for this key or seq, and
    /// the caller's second attempt reads its fill and answers with it.
    async fn record_once(
        &self,
        session: &SessionId,
        key: &str,
        order: &Order,
        price_cents: i64,
        idle: Duration,
    ) -> Result<Recorded, Failure> {
        let id = session.as_str();
        // The number a session's ids carry before it has a row (derived from its id), so writing
        // the row changes none of the ids its stream has already sent.
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
            // `FOR UPDATE` after the insert: the row exists now in every case, so there is
            // always a row to lock, and a second order on this account waits here until the
            // first commits.
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
            // Every fill of the account, folded by `decide` into cash and holdings: a demo account
            // has dozens, and a stored balance would be a second truth to keep in step with the
            // fills.
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
            // A replay commits too: nothing was inserted, but the session's touch (if it was stale)
            // is kept.
            tx.commit().await?;
            Ok(recorded)
        })
        .await
    }

    /// `Ledger::fills_after`, on a pooled connection, bounded like every operation here.
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

    /// `Ledger::recorded_sessions`, bounded like every operation here.
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

    /// `Ledger::touch`: one statement for all of them (`= ANY` of a text array).
    pub(super) async fn touch(&self, sessions: &[SessionId]) -> Result<usize, LedgerError> {
        let ids: Vec<&str> = sessions.iter().map(SessionId::as_str).collect();
        self.bounded(async {
            let client = self.client().await?;
            let sql = "UPDATE sessions SET seen_ms = $1 WHERE id = ANY($2)";
            Ok(client.execute(sql, &[&now_ms(), &ids]).await? as usize)
        })
        .await
        .map_err(Failure::into_ledger)
    }

    /// `Ledger::sweep` at `cutoff_ms`. Any instance may run it: a delete of rows already gone
    /// deletes nothing.
    pub(super) async fn sweep(&self, cutoff_ms: i64) -> Result<usize, LedgerError> {
        self.bounded(async {
            let client = self.client().await?;
            let sql = "DELETE FROM sessions WHERE seen_ms <= $1";
            Ok(client.execute(sql, &[&cutoff_ms]).await? as usize)
        })
        .await
        .map_err(Failure::into_ledger)
    }
}

const FILLS_AFTER: &str = "SELECT seq, symbol, side, quantity, price_cents, time_ms FROM fills
     WHERE session = $1 AND seq > $2 ORDER BY seq";

/// Rows of [`FILLS_AFTER`] as fills, in their order; the first unreadable row fails them all
/// (a ledger that holds a side it cannot read is a bug to see, not a row to skip).
fn read_fills(rows: Vec<Row>) -> Result<Vec<StoredFill>, Failure> {
    rows.iter().map(read_fill).collect()
}

/// One `fills` row (see `super::parse_fill`, shared with SQLite).
fn read_fill(row: &Row) -> Result<StoredFill, Failure> {
    let (symbol, side): (&str, &str) = (row.get(1), row.get(2));
    parse_fill(row.get(0), symbol, side, row.get(3), row.get(4), row.get(5))
        .map_err(Failure::Corrupt)
}
