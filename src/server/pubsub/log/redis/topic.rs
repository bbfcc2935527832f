//! One topic's log in Redis: the seam's operations, each one round trip.
//!
//! What it owns: turning each operation of the [event log](super::super) into Redis commands —
//! an append into one call of [`append.lua`](append.lua), a read into one `MULTI`/`EXEC` of two
//! commands so both answers describe the same instant — and stream entries back into frames.
//! Not the connection, the reader or the lease ([`super`]).
//!
//! Past 300 lines as one concept: each of the seam's operations as Redis commands, one after
//! another, so the round trips of an append, a read and a subscription can be compared; the
//! connection, the reader and the lease are apart.

use super::shared_read::SharedRead;
use super::{lease, Channel, Keys, Redis, Watched, APPEND};
use crate::model::{EventId, EventKind, Quote, TopicName};
use crate::server::pubsub::log::{
    Append, Bounds, Frame, Live, LogError, Membership, HISTORY_CAPACITY, SUBSCRIBER_BUFFER,
};
use crate::server::sse;
use bytes::Bytes;
use redis::streams::{StreamId, StreamRangeReply};
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;

/// One topic's log in Redis.
pub struct RedisLog {
    /// The instance's one multiplexed connection: every topic's commands share it, pipelined,
    /// so 2 000 topics cost one socket, not 2 000.
    redis: Arc<Redis>,
    /// This topic's three keys (`events`, `members`, `head`); shared with the reader, which
    /// reads the `events` key whenever the doorbell names it.
    keys: Arc<Keys>,
    /// The local broadcast the reader feeds: fan-out stays in this process, and Redis sends
    /// each event to each instance once, however many streams are open here.
    channel: Arc<Channel>,
    /// Snapshot reads, shared by the subscribers that arrive together.
    snapshots: SharedRead<(Vec<Quote>, EventId)>,
}

impl RedisLog {
    /// The log of `topic` in `redis`, registered with the instance's reader.
    pub fn new(redis: Arc<Redis>, topic: &TopicName) -> RedisLog {
        // One key prefix per topic, readable in `redis-cli` (`KEYS tickerplex:*`): operators
        // look at these when a stream misbehaves.
        let keys = Arc::new(Keys {
            events: format!("tickerplex:{topic}:events"),
            members: format!("tickerplex:{topic}:members"),
            head: format!("tickerplex:{topic}:head"),
        });
        let channel = Arc::new(Channel {
            live: broadcast::channel(SUBSCRIBER_BUFFER).0,
            delivered: Mutex::new(EventId { epoch: 0, seq: 0 }),
        });
        // Registered with the reader before anyone can subscribe: a subscriber never waits on
        // a topic the reader does not yet watch.
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
            snapshots: SharedRead::new(),
        }
    }

    /// One script call for the whole batch: see [`append.lua`](append.lua).
    pub async fn append(&self, batch: Vec<Append>) -> Result<EventId, LogError> {
        let heads = append_many(vec![(self, batch)]).await?;
        // One topic in, one head out: the script returns a head per topic it was given.
        heads
            .into_iter()
            .next()
            .ok_or_else(|| corrupt("the append returned no head".to_owned()))
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
        // Another epoch (Redis lost its data, or a drill restarted it) or an id past the head: the
        // range cannot be trusted to be the client's gap, and `None` makes the caller reset.
        if head.epoch != after.epoch || after.seq > head.seq {
            return Ok(None);
        }
        // Ids are contiguous, so the count proves completeness: trimmed entries would make it
        // short.
        if range.ids.len() as u64 != head.seq - after.seq {
            return Ok(None);
        }
        // One corrupt entry fails the whole replay: a resume with a hole in it would be the loss
        // the contiguous ids exist to rule out.
        let frames = range.ids.iter().map(frame).collect::<Result<Vec<_>, _>>()?;
        Ok(Some(frames.into_iter().map(|frame| frame.bytes).collect()))
    }

    /// A receiver on this instance's broadcast for the topic (fed by the reader, not by Redis
    /// directly): subscribing costs no command.
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
                    // Only the oldest entry: its id is the start of what a resume can replay, and
                    // reading one entry costs the same whatever the stream's length.
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

    /// The members and the head, in one transaction, in symbol order like the memory backend;
    /// one read for all the subscribers that arrive together (see [`SharedRead`]).
    pub async fn snapshot(&self) -> Result<(Vec<Quote>, EventId), LogError> {
        self.snapshots
            .read(async || self.read_snapshot().await)
            .await
    }

    /// The read behind [`RedisLog::snapshot`]: `GET` the head and `HVALS` the members inside
    /// `MULTI`, so no append can fall between them and the snapshot's id names exactly the
    /// members it lists — the resume that follows neither skips nor repeats an event.
    async fn read_snapshot(&self) -> Result<(Vec<Quote>, EventId), LogError> {
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
        // A hash has no order; the page's rows (and the tests comparing backends) need one.
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
                    // Deleted, not trimmed: its entries carry the old epoch's ids, which no resume
                    // in the new epoch can use, and keeping them would only make `read_after`
                    // compare and refuse them.
                    .del(&self.keys.events)
                    .query_async::<()>(conn)
                    .await
            })
            .await
    }

    /// An ending (the drain, a cut) or the beat, to this instance's streams of the topic only:
    /// it goes on the local broadcast, never through Redis — another instance's streams are
    /// that instance's business.
    pub fn signal(&self, signal: Live) {
        // No receiver is fine: nobody here watches the topic now.
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
        // An estimate from the delivered id, not an `XLEN`: `/api/stats` is polled by every open
        // page, and a round trip per poll per topic would cost Redis more than the page is worth.
        let kept = (delivered.seq as usize).min(HISTORY_CAPACITY);
        (self.channel.live.receiver_count(), delivered, kept)
    }
}

/// Topics appended to by one script call at most. A script runs alone on Redis's one thread,
/// so this bounds how long the reader's next read and the lease's renewal can wait behind one:
/// in the publish-heavy benchmark row a call carried ~22 topics' ticks and took 159 µs
/// (`INFO commandstats`, BENCHMARKS.md "Where a connection's bytes go"), so a hundred take
/// under a millisecond. What it saves: the per-call overhead, which at one call per topic was
/// most of Redis's time per event (32.8 → 14.3 µs, with the doorbell).
const TOPICS_PER_CALL: usize = 100;

/// Appends each topic's batch — topics of one Redis, the lease holder's — in as few script
/// calls as [`TOPICS_PER_CALL`] allows (one for a tick of the market's eight topics), and
/// returns each topic's new head, in order.
///
/// All or nothing per call: a failed call wrote none of its topics (the script is atomic), but
/// calls before it did. The caller treats any error as "outcome unknown" for every topic
/// (the feed reads its topics back), which covers both.
pub async fn append_many(batches: Vec<(&RedisLog, Vec<Append>)>) -> Result<Vec<EventId>, LogError> {
    let mut heads = Vec::with_capacity(batches.len());
    let mut batches = batches.into_iter().peekable();
    while let Some((first, _)) = batches.peek() {
        // Every topic of a call shares the first one's connection: the feed passes topics of this
        // instance's one link, the lease holder's (a script cannot span two Redis servers).
        let redis = first.redis.clone();
        let mut call = APPEND.prepare_invoke();
        call.key(lease::LEASE_KEY)
            .key(super::DOORBELL_KEY)
            .arg(&redis.token)
            // The epoch if Redis has lost a topic's head: now, in milliseconds, so it is later
            // than every epoch before it and every old id is recognisably stale.
            .arg(chrono::Utc::now().timestamp_millis())
            .arg(HISTORY_CAPACITY);
        for (log, batch) in batches.by_ref().take(TOPICS_PER_CALL) {
            call.key(&log.keys.head)
                .key(&log.keys.events)
                .key(&log.keys.members)
                .arg(batch.len());
            // Five arguments per event, flat: the script walks ARGV in fives. A table per event
            // would need a JSON or msgpack decode inside Lua, on Redis's one thread.
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
        }
        let called: Vec<String> = redis
            .run(async |conn| call.invoke_async(conn).await)
            .await?;
        for head in called {
            heads.push(parse_head(&head)?);
        }
    }
    Ok(heads)
}

/// A head or entry id, which are our event ids.
fn parse_head(id: &str) -> Result<EventId, LogError> {
    EventId::parse(id).map_err(|e| corrupt(e.to_string()))
}

/// One stream entry as the frame every subscriber is sent.
pub(super) fn frame(entry: &StreamId) -> Result<Frame, LogError> {
    let id = parse_head(&entry.id)?;
    let kind = entry
        .get::<String>("event")
        .as_deref()
        .and_then(EventKind::parse)
        .ok_or_else(|| corrupt(format!("entry {} has no known event kind", entry.id)))?;
    let data: String = entry
        .get("data")
        .ok_or_else(|| corrupt(format!("entry {} has no data", entry.id)))?;
    // Framed here, on each instance, from the entry's two fields: Redis keeps the event as data an
    // operator can read with `XRANGE`, and the SSE framing stays this binary's to choose.
    Ok(Frame::new(
        id,
        sse::Event::new(kind, &data).id(&entry.id).to_bytes(),
    ))
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
