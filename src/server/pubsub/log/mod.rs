//! The event-log seam: where a topic's events, members and history are kept, behind one type.
//!
//! What it owns: the contract every backend keeps — append a batch of events atomically with
//! their membership changes, read the events after an id (exclusive), subscribe to what is
//! appended from now on, tell the bounds of what is kept, and read the members together with
//! the id they are current at. What it does not own: what the events mean, or how a resume is
//! decided from these answers — that is [`crate::server::pubsub::topics`], above the seam, the same for every
//! backend.
//!
//! Backends, chosen per topic:
//! - [`memory`]: this process's memory (the default; no set-up).
//! - [`redis`]: Redis Streams, for several instances sharing one log (`TICKERPLEX_REDIS_URL`).
//!
//! Each backend is one variant here and one module beside `memory.rs`, with no change above
//! the seam.
//!
//! Why an enum and not a `dyn EventLog` trait object: the set of backends is closed and known
//! at compile time, an enum's `async fn`s need no boxing of every returned future (a trait
//! object's would, on the hot path of every append), and `match` makes each backend's handling
//! of each operation visible in one place. Why the methods are `async` and fallible although
//! memory never waits or fails: a networked backend does both, and callers must already be
//! written to turn a failure into a clear answer (a 503, an SSE goodbye), not a panic.
//!
//! Subscribing is the one synchronous, infallible operation: every backend fans out through an
//! in-process `broadcast` channel (Redis through one reader task per instance, never one
//! connection per browser stream), so joining it is local.

//! What each backend must guarantee, so the rules above the seam hold:
//! 1. **Numbering**: ids of one topic are `<epoch>-1`, `<epoch>-2`, … with no gap and no reuse
//!    within an epoch; an append returns only after its ids are final.
//! 2. **Atomic batches**: a reader sees all of an append or none of it, with the membership
//!    changes applied together with their events.
//! 3. **Exact reads**: `read_after(id)` returns every event after `id` or `None`, never a subset.
//! 4. **Live after subscribe**: every event appended after `subscribe` returns reaches that
//!    receiver, unless it lags (and then it is told, never silently skipped).
//! 5. **Snapshot with its id**: the members returned are exactly those after the event whose id
//!    comes with them.
//!
//! The memory backend gets all five from one mutex; a networked one from a transaction and a
//! reader task.

mod history;
pub mod memory;
pub mod redis;

pub use history::{Frame, History, HISTORY_CAPACITY};

use crate::model::{EventId, EventKind, Quote, Symbol};
use bytes::Bytes;
use memory::MemoryLog;
use redis::RedisLog;
use tokio::sync::broadcast;

/// Frames a subscriber may have queued before it counts as too slow. A browser on a live
/// connection drains in microseconds; a subscriber 1024 events behind is stuck (a stalled TCP
/// window, a frozen tab). It is then disconnected, and its EventSource reconnects with its
/// `Last-Event-ID` — resuming from history if it can, resetting if it cannot. That bounds the
/// server's memory per subscriber without ever skipping an event silently.
pub const SUBSCRIBER_BUFFER: usize = 1024;

/// What the live channel carries: events (with an id, or without one) and the reasons a stream
/// ends, plus the keep-alive beat. The log does not know who sends an ending: the drain, the
/// reader that lost Redis, or the demo's drills — each says only what the stream must do.
///
/// Endings and the beat ride the same channel as events so that a stream waits on ONE thing
/// between events — the cheapest wake-up there is, which matters when a tick reaches 200 000
/// streams: a separate cancellation future per stream cost ~10 % of the CPU, because every
/// event then also drops and re-registers a waiter on the second source's shared list.
#[derive(Clone, Debug)]
pub enum Live {
    /// An event of the topic, with its id: the only kind of message a resume can replay.
    Event(Frame),
    /// The server is draining: say `shutdown` and end.
    Shutdown,
    /// End with no goodbye, exactly as a lost connection ends (an edge restarting, a network
    /// failing); the browser reconnects with its `Last-Event-ID`.
    Cut,
    /// The backend went away (Redis unreachable): say so with a `retry:` and end, so the
    /// browser comes back by itself once the instance can serve it again.
    Unavailable,
    /// An event with no id, sent as it is: a newer value that supersedes the last one and is
    /// never replayed (a portfolio position's price move, `server::trading::portfolio`; an event
    /// of a kind this build's pages do not know). The market topics never send one.
    Mark(Bytes),
    /// The keep-alive beat, every half interval, carrying the `heartbeat` event framed once for
    /// the whole process: a stream that sent nothing since the last one sends it. Ends nothing.
    /// Not an event of the topic (no id, never kept): it rides here only for the one wake-up
    /// source above.
    Beat(Bytes),
}

impl Live {
    /// The event, if this is one.
    pub fn event(self) -> Option<Frame> {
        match self {
            Live::Event(frame) => Some(frame),
            Live::Shutdown | Live::Cut | Live::Unavailable | Live::Mark(_) | Live::Beat(_) => None,
        }
    }
}

/// One event to append: its kind, its JSON payload, and what it does to the topic's members.
/// The membership change travels with the event so a backend can write both in one atomic step
/// (one lock here; one MULTI/EXEC in Redis) — a crash can never leave one without the other.
#[derive(Debug)]
pub struct Append {
    /// The `event:` name it will be framed with.
    pub kind: EventKind,
    /// The JSON payload, already serialised: a backend frames it, never re-serialises it.
    pub data: String,
    /// What it does to the members a new subscriber's snapshot lists.
    pub membership: Membership,
}

/// What an appended event does to the topic's members (the snapshot new subscribers get).
#[derive(Debug)]
pub enum Membership {
    /// The quote joins or replaces its symbol's entry (`add`, `update`).
    Upsert(Quote),
    /// The symbol leaves (`remove`).
    Remove(Symbol),
    /// Not about membership (the bench ticks).
    Unchanged,
}

/// What a topic's log keeps: this epoch, and the sequence numbers from `first_seq` (the oldest
/// replayable event; `last_seq + 1` when none is kept) to `last_seq` (the latest, 0 if none).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Bounds {
    /// The run the sequence numbers belong to: an id of another epoch cannot be compared with these
    /// and resets (`OtherEpoch`).
    pub epoch: u64,
    /// The oldest event still kept: a client whose last id is `first_seq - 1` or later
    /// resumes without a reset.
    pub first_seq: u64,
    /// The newest sequence number: an id past it is from the future (`FromTheFuture`).
    pub last_seq: u64,
}

/// Why the log could not answer. Only networked backends fail; callers answer the client
/// clearly (an SSE goodbye with a `retry:`, a 503) and never panic.
#[derive(Clone, Debug, thiserror::Error)]
pub enum LogError {
    /// The backend could not be reached or refused the operation; the text says which and is
    /// safe to show a client (no addresses, no credentials).
    #[error("the event log is unavailable: {0}")]
    Unavailable(String),
    /// An append was refused because this instance no longer holds the feed lease (another
    /// instance publishes now; see [`redis::FeedLease`]).
    #[error("this instance no longer holds the feed lease")]
    LeaseLost,
}

/// One topic's event log. See the module documentation for the contract.
pub enum EventLog {
    /// This process's memory: the default, and all `scripts/dev` needs.
    Memory(MemoryLog),
    /// Redis Streams, shared by every instance on the same Redis.
    Redis(RedisLog),
}

impl EventLog {
    /// An in-memory log starting at `epoch`.
    ///
    /// Each method below is a `match` with one arm per backend. Adding a backend adds an arm
    /// to each, and the compiler lists every method that is missing one.
    pub fn memory(epoch: u64) -> EventLog {
        EventLog::Memory(MemoryLog::new(epoch))
    }

    /// Appends `batch` atomically, in order, numbering each event; returns the last id.
    ///
    /// Takes the batch by value: a backend may move the payloads into its own frames or its
    /// wire format without copying them again.
    pub async fn append(&self, batch: Vec<Append>) -> Result<EventId, LogError> {
        match self {
            EventLog::Memory(log) => Ok(log.append(batch)),
            EventLog::Redis(log) => log.append(batch).await,
        }
    }

    /// Appends each log's batch, and returns each log's new head, in order: the logs of Redis
    /// together, in as few script calls as it allows (one round trip for a market tick's eight
    /// topics), the memory logs one lock each. On an error, some batches may have been appended
    /// and some not: the caller reads back what it needs to know.
    pub async fn append_many(
        batches: Vec<(&EventLog, Vec<Append>)>,
    ) -> Result<Vec<EventId>, LogError> {
        let mut heads = Vec::with_capacity(batches.len());
        // Consecutive Redis logs are gathered, and sent before the next memory log, so the
        // heads come back in the order the batches came in.
        let mut shared: Vec<(&self::redis::RedisLog, Vec<Append>)> = Vec::new();
        for (log, batch) in batches {
            match log {
                EventLog::Redis(log) => shared.push((log, batch)),
                EventLog::Memory(log) => {
                    heads.extend(self::redis::append_many(std::mem::take(&mut shared)).await?);
                    heads.push(log.append(batch));
                }
            }
        }
        heads.extend(self::redis::append_many(shared).await?);
        Ok(heads)
    }

    /// Every event after `after` (exclusive), as framed bytes; `None` when the log no longer
    /// holds all of them (trimmed), or `after` is not of this epoch or is beyond the last id.
    pub async fn read_after(&self, after: EventId) -> Result<Option<Vec<Bytes>>, LogError> {
        match self {
            EventLog::Memory(log) => Ok(log.read_after(after)),
            EventLog::Redis(log) => log.read_after(after).await,
        }
    }

    /// A receiver of everything appended (and every signal sent) from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Live> {
        match self {
            EventLog::Memory(log) => log.subscribe(),
            EventLog::Redis(log) => log.subscribe(),
        }
    }

    /// The epoch and the range of sequence numbers kept.
    pub async fn bounds(&self) -> Result<Bounds, LogError> {
        match self {
            EventLog::Memory(log) => Ok(log.bounds()),
            EventLog::Redis(log) => log.bounds().await,
        }
    }

    /// The members and the id they are current at, read together: a subscriber that takes this
    /// snapshot and then skips live events up to that id neither misses nor repeats one.
    pub async fn snapshot(&self) -> Result<(Vec<Quote>, EventId), LogError> {
        match self {
            EventLog::Memory(log) => Ok(log.snapshot()),
            EventLog::Redis(log) => log.snapshot().await,
        }
    }

    /// Starts a new epoch with an empty history, the members kept (the restart drill).
    pub async fn restart(&self, epoch: u64) -> Result<(), LogError> {
        match self {
            EventLog::Memory(log) => {
                log.restart(epoch);
                Ok(())
            }
            EventLog::Redis(log) => log.restart(epoch).await,
        }
    }

    /// Sends `signal` to every subscriber of this instance.
    pub fn signal(&self, signal: Live) {
        match self {
            EventLog::Memory(log) => log.signal(signal),
            EventLog::Redis(log) => log.signal(signal),
        }
    }

    /// What this instance sees now, without asking the backend (for `/api/stats`): the number
    /// of live subscribers, the current id and the number of events kept.
    pub fn local_stats(&self) -> (usize, EventId, usize) {
        match self {
            EventLog::Memory(log) => log.local_stats(),
            EventLog::Redis(log) => log.local_stats(),
        }
    }
}
