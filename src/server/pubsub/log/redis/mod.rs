//! The Redis Streams backend: every instance given the same `TICKERPLEX_REDIS_URL` shares one
//! log per topic, so a browser that reconnects to another instance resumes exactly, and a
//! restarted instance (or all of them) keeps the epoch and the history.
//!
//! What it owns: the keys, the one round trip per operation, and how Redis errors become
//! [`LogError`]s. Three keys per topic, named after the topic's path (`sector/energy`):
//!
//! | key | type | holds |
//! |---|---|---|
//! | `tickerplex:<topic>:events` | stream | the events; entry id = our event id, trimmed to about [`HISTORY_CAPACITY`](crate::server::pubsub::log::HISTORY_CAPACITY) |
//! | `tickerplex:<topic>:members` | hash | symbol → quote JSON: the snapshot a new subscriber gets |
//! | `tickerplex:<topic>:head` | string | `<epoch>-<seq>` of the last event: the epoch lives here |
//!
//! And one key for all topics: `tickerplex:doorbell`, a stream with one entry per appended
//! batch naming the topic's events key, which the [`reader`] waits on.
//!
//! One append is one `EVALSHA` of [`append.lua`](append.lua), for one topic's batch or for a
//! whole tick's topics at once ([`append_many`]): events, members, heads and the doorbell ring
//! in one atomic step. A read is one `MULTI`/`EXEC` of two commands (head and range, or head
//! and members), so the two answers describe the same instant.
//!
//! Not here: fan-out. A browser stream never touches Redis after it has subscribed: one
//! [`reader`] task per instance waits on the doorbell, reads the new entries of the topics it
//! names, and feeds the same in-process `broadcast` channel the memory backend uses. Nor who may publish:
//! that is the [`lease`].
//!
//! Why the `redis` crate: it is the project's own Rust client, async on tokio, with Lua scripts,
//! stream replies and a connection manager that reconnects by itself.

mod lease;
mod ops_board;
mod reader;
mod shared_read;
mod topic;

pub use lease::{FeedLease, LeaseState, LEASE_TTL, RENEW_EVERY};
pub use topic::{append_many, RedisLog};

use super::{Live, LogError};
use crate::model::EventId;
use crate::server::transport::backoff::{until_reachable, Backend};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;
use tokio::sync::broadcast;

/// How long connecting may take before the instance calls Redis unreachable: on a LAN it takes
/// a millisecond, so a second means nobody is there.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// How long one command may wait for its answer. Longer than connecting: behind a burst of
/// commands (fifty thousand streams resuming at once) an answer may queue for a while on the
/// one multiplexed connection, and that is not Redis being gone.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(3);

/// The stream that names, per appended batch, the topic it went to: what the [`reader`] waits on.
const DOORBELL_KEY: &str = "tickerplex:doorbell";

/// The append script ([`append.lua`](append.lua)), loaded once per process; `EVALSHA` runs it.
static APPEND: LazyLock<redis::Script> =
    LazyLock::new(|| redis::Script::new(include_str!("append.lua")));

/// Why the server could not start on Redis: a URL that does not parse, named by its variable
/// (never echoed whole: it may carry a password). A Redis that is away is not an error: it is
/// waited for ([`Redis::connect`]).
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("{var} is not a Redis URL ({source}); expected e.g. redis://127.0.0.1:6379/0")]
    /// The URL did not parse; the variable is named, the URL itself is not.
    Url {
        var: &'static str,
        source: redis::RedisError,
    },
}

/// One instance's link to Redis, shared by all its topics: the multiplexed connection every
/// operation uses, the health the operators see, and the topics the reader feeds.
pub struct Redis {
    /// Kept to open the reader's own connection (`reader`): its `XREAD BLOCK` would stall every
    /// other command if it shared the multiplexed one.
    client: redis::Client,
    /// The multiplexed connection every append, snapshot and lease renewal pipelines on: one socket
    /// per instance however many topics, reconnected by the manager itself.
    conn: ConnectionManager,
    /// `host:port`, for log lines and `/api/stats`.
    addr: String,
    /// This instance's lease token: its name and a random part, so a restarted instance with the
    /// same name is still a different holder.
    token: String,
    /// Whether the last operation reached Redis, set by every operation (`run`): read by
    /// `/api/stats` and `tickerplex_log_healthy`, and a change is logged once, not per failure.
    healthy: AtomicBool,
    /// The topics the reader task feeds: registered as each topic's log is made.
    watched: Mutex<Vec<Watched>>,
}

/// What the reader needs of one topic: where to read and whom to tell.
#[derive(Clone)]
struct Watched {
    /// Where to read: the topic's keys, shared with its `RedisLog`.
    keys: Arc<Keys>,
    /// Whom to tell: the topic's local subscribers.
    channel: Arc<Channel>,
}

/// The three keys of one topic (see the module doc).
struct Keys {
    /// The stream (`XADD`) of framed events: the history every instance replays from.
    events: String,
    /// The hash of current members: the snapshot a new subscriber gets, written in the same script
    /// as the event so the two never disagree.
    members: String,
    /// The epoch and last sequence number, so that an append numbers its event without reading the
    /// stream.
    head: String,
}

/// A topic's local end: the live channel its streams subscribe to, and the last id the reader
/// delivered (for `/api/stats`, without a round trip).
struct Channel {
    /// The topic's subscribers on this instance; the reader sends every event it reads here.
    live: broadcast::Sender<Live>,
    /// A std mutex around 16 bytes, written by the reader once per batch: cheaper than the round
    /// trip to Redis it saves `/api/stats`.
    delivered: Mutex<EventId>,
}

impl Redis {
    /// Connects to `url` and proves it with a `PING`, waiting for as long as Redis is away.
    ///
    /// A URL that does not parse fails at once, with one line naming `var`: no wait will fix
    /// it. Anything else — connection refused, a Redis still replaying its append-only file
    /// (`LOADING`), one restarting — is waited for ([`until_reachable`]: backoff, and one log
    /// line every few seconds naming `var` and the address).
    pub async fn connect(
        url: &str,
        var: &'static str,
        instance: &str,
    ) -> Result<Arc<Redis>, ConnectError> {
        // `Client::open` only parses: nothing is dialled yet, so this is the one error that is the
        // operator's URL and not the network.
        let client =
            redis::Client::open(url).map_err(|source| ConnectError::Url { var, source })?;
        let addr = client.get_connection_info().addr().to_string();
        let backend = Backend {
            name: "Redis",
            addr: &addr,
            var,
            hint: &format!("unset {var} to keep the log in memory"),
        };
        let conn = until_reachable(backend, || Redis::connect_once(&client)).await;
        Ok(Arc::new(Redis {
            client,
            conn,
            addr,
            // The name for the operator reading `GET tickerplex:feed:lease`, the random part so
            // that an instance restarted under the same name cannot mistake the old holder's lease
            // for its own.
            token: format!("{instance}/{:016x}", rand::random::<u64>()),
            // True: the `PING` above was just answered.
            healthy: AtomicBool::new(true),
            watched: Mutex::new(Vec::new()),
        }))
    }

    /// One try: a connection manager, and a `PING` answered `PONG` (a Redis that is loading
    /// accepts the connection and answers `LOADING`, so the connection alone proves nothing).
    async fn connect_once(client: &redis::Client) -> redis::RedisResult<ConnectionManager> {
        // Few retries: a request waiting on a dead Redis should hear "unavailable" in about a
        // second, not after the manager's default minute of backoff. The manager reconnects
        // again on the next command anyway.
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(COMMAND_TIMEOUT))
            .set_number_of_retries(1);
        let mut conn = ConnectionManager::new_with_config(client.clone(), config).await?;
        redis::cmd("PING").query_async::<String>(&mut conn).await?;
        Ok(conn)
    }

    /// Where this instance's Redis is (`host:port`).
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Whether the last command (or the reader's last read) reached Redis.
    pub fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    /// Starts the one reader task that feeds every topic's live channel (see [`reader`]).
    pub fn start_reader(self: &Arc<Self>, stop: impl Future<Output = ()> + Send + 'static) {
        tokio::spawn(reader::run(self.clone(), stop));
    }

    /// Runs `query` on the shared connection, recording the outcome in the health flag and
    /// turning an error into the seam's [`LogError`].
    async fn run<T>(
        &self,
        query: impl AsyncFnOnce(&mut ConnectionManager) -> redis::RedisResult<T>,
    ) -> Result<T, LogError> {
        // A clone of the manager is a handle on the same multiplexed connection: cheap, and
        // each caller pipelines on it without a lock.
        let mut conn = self.conn.clone();
        let result = query(&mut conn).await;
        self.record(&result);
        result.map_err(log_error)
    }

    /// Sets the health flag from one outcome, and logs the change (only the change: a Redis away
    /// for a minute is two lines, not one per command).
    fn record<T>(&self, result: &redis::RedisResult<T>) {
        let ok = match result {
            Ok(_) => true,
            // A script's own refusal (the lease) is an answer, not an outage.
            // A Redis replaying its append-only file after a restart answers `LOADING` to
            // everything: as unable as one that is gone.
            Err(error) => {
                !(error.is_io_error()
                    || error.is_timeout()
                    || error.is_connection_dropped()
                    || error.is_connection_refusal()
                    || error.code() == Some("LOADING"))
            }
        };
        if self.healthy.swap(ok, Ordering::Relaxed) != ok {
            match result {
                Err(error) => tracing::warn!(addr = %self.addr, %error, "Redis is unreachable"),
                Ok(_) => tracing::info!(addr = %self.addr, "Redis is reachable again"),
            }
        }
    }
}

/// A Redis error as the seam's error: a lease refusal is its own case; anything else says only
/// that Redis could not answer (the full error goes to the log, not to clients).
fn log_error(error: redis::RedisError) -> LogError {
    if error.code() == Some("LEASE") {
        return LogError::LeaseLost;
    }
    tracing::debug!(%error, "Redis operation failed");
    LogError::Unavailable("Redis did not answer".to_owned())
}
