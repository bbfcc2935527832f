//! The Redis Streams backend: every instance given the same `TICKERPLEX_REDIS_URL` shares one
//! log per topic, so a browser that reconnects to another instance resumes exactly, and a
//! restarted instance (or all of them) keeps the epoch and the history.
//!
//! What it owns: the keys, the one round trip per operation, and how Redis errors become
//! [`LogError`]s. Three keys per topic, named after the topic's path (`sector/energy`):
//!
//! | key | type | holds |
//! |---|---|---|
//! | `tickerplex:<topic>:events` | stream | the events; entry id = our event id, trimmed to about [`HISTORY_CAPACITY`] |
//! | `tickerplex:<topic>:members` | hash | symbol → quote JSON: the snapshot a new subscriber gets |
//! | `tickerplex:<topic>:head` | string | `<epoch>-<seq>` of the last event: the epoch lives here |
//!
//! One appended batch is one `EVALSHA` of [`append.lua`](append.lua) (events, members and head
//! in one atomic step). A read is one `MULTI`/`EXEC` of two commands (head and range, or head
//! and members), so the two answers describe the same instant.
//!
//! Not here: fan-out. A browser stream never touches Redis after it has subscribed: one
//! [`reader`] task per instance reads every topic's new entries with one blocking `XREAD` and
//! feeds the same in-process `broadcast` channel the memory backend uses. Nor who may publish:
//! that is the [`lease`].
//!
//! Why the `redis` crate: it is the project's own Rust client, async on tokio, with Lua scripts,
//! stream replies and a connection manager that reconnects by itself.

mod lease;
mod reader;

pub use lease::{FeedLease, LeaseState, LEASE_TTL, RENEW_EVERY};

use super::SUBSCRIBER_BUFFER;
use super::{Append, Bounds, Frame, Live, LogError, Membership, HISTORY_CAPACITY};
use crate::model::{EventId, EventKind, Quote, TopicName};
use crate::server::sse;
use bytes::Bytes;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::streams::{StreamId, StreamRangeReply};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;
use tokio::sync::broadcast;

/// How long one command may take before the instance calls Redis unreachable. Redis answers in
/// well under a millisecond on a LAN; a second means it is gone or stuck.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(1);

static APPEND: LazyLock<redis::Script> =
    LazyLock::new(|| redis::Script::new(include_str!("append.lua")));

/// Why the server could not start on Redis: names the variable and the address tried (never the
/// whole URL, which may carry a password).
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("{var} is not a Redis URL ({source}); expected e.g. redis://127.0.0.1:6379/0")]
    Url {
        var: &'static str,
        source: redis::RedisError,
    },
    #[error("cannot reach Redis at {addr} ({var}): {source} — start redis-server there, or unset {var} to keep the log in memory")]
    Unreachable {
        var: &'static str,
        addr: String,
        source: redis::RedisError,
    },
}

/// One instance's link to Redis, shared by all its topics: the multiplexed connection every
/// operation uses, the health the operators see, and the topics the reader feeds.
pub struct Redis {
    client: redis::Client,
    conn: ConnectionManager,
    /// `host:port`, for log lines and `/api/stats`.
    addr: String,
    /// This instance's lease token: its name and a random part, so a restarted instance with the
    /// same name is still a different holder.
    token: String,
    healthy: AtomicBool,
    /// The topics the reader task feeds: registered as each topic's log is made.
    watched: Mutex<Vec<Watched>>,
}

/// What the reader needs of one topic: where to read and whom to tell.
#[derive(Clone)]
struct Watched {
    keys: Arc<Keys>,
    channel: Arc<Channel>,
}

/// The three keys of one topic (see the module doc).
struct Keys {
    events: String,
    members: String,
    head: String,
}

/// A topic's local end: the live channel its streams subscribe to, and the last id the reader
/// delivered (for `/api/stats`, without a round trip).
struct Channel {
    live: broadcast::Sender<Live>,
    delivered: Mutex<EventId>,
}

impl Redis {
    /// Connects to `url` and proves it with a `PING`, so a wrong URL fails the start with one
    /// line instead of every request failing later.
    pub async fn connect(
        url: &str,
        var: &'static str,
        instance: &str,
    ) -> Result<Arc<Redis>, ConnectError> {
        let client =
            redis::Client::open(url).map_err(|source| ConnectError::Url { var, source })?;
        let addr = client.get_connection_info().addr().to_string();
        let unreachable = |source| ConnectError::Unreachable {
            var,
            addr: addr.clone(),
            source,
        };
        // Few retries: a request waiting on a dead Redis should hear "unavailable" in about a
        // second, not after the manager's default minute of backoff. The manager reconnects
        // again on the next command anyway.
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(COMMAND_TIMEOUT))
            .set_response_timeout(Some(COMMAND_TIMEOUT))
            .set_number_of_retries(1);
        let mut conn = ConnectionManager::new_with_config(client.clone(), config)
            .await
            .map_err(unreachable)?;
        redis::cmd("PING")
            .query_async::<String>(&mut conn)
            .await
            .map_err(unreachable)?;
        Ok(Arc::new(Redis {
            client,
            conn,
            addr,
            token: format!("{instance}/{:016x}", rand::random::<u64>()),
            healthy: AtomicBool::new(true),
            watched: Mutex::new(Vec::new()),
        }))
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

    fn record<T>(&self, result: &redis::RedisResult<T>) {
        let ok = match result {
            Ok(_) => true,
            // A script's own refusal (the lease) is an answer, not an outage.
            Err(error) => {
                !(error.is_io_error()
                    || error.is_timeout()
                    || error.is_connection_dropped()
                    || error.is_connection_refusal())
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

/// One topic's log in Redis.
pub struct RedisLog {
    redis: Arc<Redis>,
    keys: Arc<Keys>,
    channel: Arc<Channel>,
}

impl RedisLog {
    /// The log of `topic` in `redis`, registered with the instance's reader.
    pub fn new(redis: Arc<Redis>, topic: &TopicName) -> RedisLog {
        let keys = Arc::new(Keys {
            events: format!("tickerplex:{topic}:events"),
            members: format!("tickerplex:{topic}:members"),
            head: format!("tickerplex:{topic}:head"),
        });
        let channel = Arc::new(Channel {
            live: broadcast::channel(SUBSCRIBER_BUFFER).0,
            delivered: Mutex::new(EventId { epoch: 0, seq: 0 }),
        });
        redis
            .watched
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(Watched {
                keys: keys.clone(),
                channel: channel.clone(),
            });
        RedisLog {
            redis,
            keys,
            channel,
        }
    }

    /// One script call for the whole batch: see [`append.lua`](append.lua).
    pub async fn append(&self, batch: Vec<Append>) -> Result<EventId, LogError> {
        let mut call = APPEND.prepare_invoke();
        call.key(&self.keys.head)
            .key(&self.keys.events)
            .key(&self.keys.members)
            .key(lease::LEASE_KEY)
            .arg(&self.redis.token)
            // The epoch if Redis has lost this topic's head: now, in milliseconds, so it is later
            // than every epoch before it and every old id is recognisably stale.
            .arg(chrono::Utc::now().timestamp_millis())
            .arg(HISTORY_CAPACITY);
        for append in batch {
            let (op, symbol, quote) = match append.membership {
                Membership::Upsert(quote) => {
                    ("upsert", quote.symbol.to_string(), sse::json(&quote))
                }
                Membership::Remove(symbol) => ("remove", symbol.to_string(), String::new()),
                Membership::Unchanged => ("none", String::new(), String::new()),
            };
            call.arg(append.kind.as_str())
                .arg(append.data)
                .arg(op)
                .arg(symbol)
                .arg(quote);
        }
        let head: String = self
            .redis
            .run(async |conn| call.invoke_async(conn).await)
            .await?;
        parse_head(&head)
    }

    /// The head and the entries after `after`, in one transaction; `None` unless they are
    /// exactly the events `after.seq + 1 ..= head.seq` of `after`'s epoch.
    pub async fn read_after(&self, after: EventId) -> Result<Option<Vec<Bytes>>, LogError> {
        let (head, range): (Option<String>, StreamRangeReply) = self
            .redis
            .run(async |conn| {
                redis::pipe()
                    .atomic()
                    .get(&self.keys.head)
                    // `(` makes the start exclusive (Redis 6.2+): the events after `after`.
                    .xrange(&self.keys.events, format!("({after}"), "+")
                    .query_async(conn)
                    .await
            })
            .await?;
        let head = parse_head_or_empty(head)?;
        if head.epoch != after.epoch || after.seq > head.seq {
            return Ok(None);
        }
        // Ids are contiguous, so the count proves completeness: trimmed entries would make it
        // short.
        if range.ids.len() as u64 != head.seq - after.seq {
            return Ok(None);
        }
        let frames = range.ids.iter().map(frame).collect::<Result<Vec<_>, _>>()?;
        Ok(Some(frames.into_iter().map(|frame| frame.bytes).collect()))
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Live> {
        self.channel.live.subscribe()
    }

    /// The head and the oldest kept entry, in one transaction.
    pub async fn bounds(&self) -> Result<Bounds, LogError> {
        let (head, first): (Option<String>, StreamRangeReply) = self
            .redis
            .run(async |conn| {
                redis::pipe()
                    .atomic()
                    .get(&self.keys.head)
                    .xrange_count(&self.keys.events, "-", "+", 1)
                    .query_async(conn)
                    .await
            })
            .await?;
        let head = parse_head_or_empty(head)?;
        let first = match first.ids.first() {
            Some(entry) => Some(parse_head(&entry.id)?),
            None => None,
        };
        Ok(Bounds {
            epoch: head.epoch,
            // Nothing kept of this epoch: the next event is the first replayable one.
            first_seq: first
                .filter(|first| first.epoch == head.epoch)
                .map_or(head.seq + 1, |first| first.seq),
            last_seq: head.seq,
        })
    }

    /// The members and the head, in one transaction, in symbol order like the memory backend.
    pub async fn snapshot(&self) -> Result<(Vec<Quote>, EventId), LogError> {
        let (head, members): (Option<String>, Vec<String>) = self
            .redis
            .run(async |conn| {
                redis::pipe()
                    .atomic()
                    .get(&self.keys.head)
                    .hvals(&self.keys.members)
                    .query_async(conn)
                    .await
            })
            .await?;
        let head = parse_head_or_empty(head)?;
        let mut quotes = members
            .iter()
            .map(|json| {
                serde_json::from_str::<Quote>(json)
                    .map_err(|e| corrupt(format!("a member is not a quote: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        quotes.sort_by(|a, b| a.symbol.cmp(&b.symbol));
        Ok((quotes, head))
    }

    /// A new epoch: the head moves to `<epoch>-0` and the stream is dropped, in one
    /// transaction; the members stay.
    pub async fn restart(&self, epoch: u64) -> Result<(), LogError> {
        self.redis
            .run(async |conn| {
                redis::pipe()
                    .atomic()
                    .set(&self.keys.head, format!("{epoch}-0"))
                    .del(&self.keys.events)
                    .query_async::<()>(conn)
                    .await
            })
            .await
    }

    pub fn signal(&self, signal: Live) {
        let _ = self.channel.live.send(signal);
    }

    /// Subscribers here, the last id the reader delivered, and the history as far as this
    /// instance can tell without asking (Redis keeps at least this many).
    pub fn local_stats(&self) -> (usize, EventId, usize) {
        let delivered = *self
            .channel
            .delivered
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let kept = (delivered.seq as usize).min(HISTORY_CAPACITY);
        (self.channel.live.receiver_count(), delivered, kept)
    }
}

/// A head or entry id, which are our event ids.
fn parse_head(id: &str) -> Result<EventId, LogError> {
    EventId::parse(id).map_err(|e| corrupt(e.to_string()))
}

/// One stream entry as the frame every subscriber is sent.
fn frame(entry: &StreamId) -> Result<Frame, LogError> {
    let id = parse_head(&entry.id)?;
    let kind = entry
        .get::<String>("event")
        .as_deref()
        .and_then(EventKind::parse)
        .ok_or_else(|| corrupt(format!("entry {} has no known event kind", entry.id)))?;
    let data: String = entry
        .get("data")
        .ok_or_else(|| corrupt(format!("entry {} has no data", entry.id)))?;
    Ok(Frame {
        id,
        bytes: sse::Event::new(kind, &data).id(&entry.id).to_bytes(),
    })
}

/// The head, or `0-0` when there is none: Redis is new (or was flushed) and the publisher has
/// not written yet. `0-0` is before every id an epoch hands out, so a subscriber that starts
/// there takes every live event that follows, and a client resuming from an older epoch gets
/// its `reset`.
fn parse_head_or_empty(head: Option<String>) -> Result<EventId, LogError> {
    match head {
        Some(head) => parse_head(&head),
        None => Ok(EventId { epoch: 0, seq: 0 }),
    }
}

/// Redis holds something this code did not write. Logged in full; the client hears only that
/// the log is unavailable.
fn corrupt(detail: String) -> LogError {
    tracing::error!(%detail, "unexpected data in Redis");
    LogError::Unavailable("the event log holds unexpected data".to_owned())
}
