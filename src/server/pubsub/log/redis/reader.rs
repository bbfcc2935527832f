//! The reader: one task per instance that turns every topic's new Redis entries into live
//! events on the in-process channels the streams already wait on.
//!
//! What it owns: one connection of its own (a blocking `XREAD` holds its connection until
//! something arrives, so it cannot share the multiplexed one every other command uses), the
//! position reached in each topic's stream, and what open streams are told when Redis goes
//! away. Fan-out stays local: however many browsers watch a topic, Redis sees one reader per
//! instance.
//!
//! Why positions and not `$`: `XREAD … $` means "what arrives after this call", and the gap
//! between two calls would lose entries. Each call instead asks for what follows the last entry
//! it delivered. A subscriber that joined meanwhile may get an event both in its snapshot read
//! and from here; its stream drops the copy (ids are compared, see `topics::subscribe`).
//!
//! Why a doorbell: an `XREAD` costs Redis time for every key it names, whether or not anything
//! arrived there. Blocking on every topic's stream cost ~1 ms of Redis's one thread per call at
//! 2,000 topics — 59 % of its time in the publish-heavy benchmark row (`INFO commandstats`,
//! `5k streams on 2k topics, W=240 h2, 50k/s`). So the reader blocks on one stream, the
//! doorbell, where every append also leaves the name of the topic it went to, and then reads
//! only those topics, from their positions. The doorbell is only a hint of *where* to read:
//! the positions still decide *what*, so a ring that is lost (trimmed while the reader was
//! behind, or never made by an older publisher during a rolling deploy) delays entries, never
//! loses them: every topic is read in full after a reconnect, after a doorbell read that came
//! back full (the reader may have fallen behind its trimming), and at least once every
//! [`FULL_READ_EVERY`] however busy the doorbell is — at 2,000 topics, a millisecond of Redis
//! a second.

use super::topic::frame;
use super::{Channel, Redis, Watched};
use crate::server::pubsub::log::Live;
use redis::streams::{StreamReadOptions, StreamReadReply};
use redis::AsyncConnectionConfig;
use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// How long one `XREAD` of the doorbell blocks when nothing is published. The loop comes round
/// this often even on an idle market, which is how it notices a silently dead connection.
const BLOCK: Duration = Duration::from_secs(1);
/// The longest the reader goes without reading every topic: the most an entry appended without
/// a ring (an older publisher, mid rolling deploy) waits to be delivered.
const FULL_READ_EVERY: Duration = Duration::from_secs(1);
/// Entries taken per topic per read: a reader that fell behind catches up in large steps.
const COUNT: usize = 512;
/// Doorbell entries taken per read: fewer than it keeps (trimmed to about
/// [`HISTORY_CAPACITY`](crate::server::pubsub::log::HISTORY_CAPACITY)), so a read that came back
/// full is how the reader tells it may have missed rings.
const DOORBELL_COUNT: usize = 1024;
/// The wait before reconnecting after a failure. A sleep, because there is nothing to wait on:
/// Redis is gone, and only trying again tells when it is back.
const RECONNECT_DELAY: Duration = Duration::from_millis(500);

/// Reads until `stop` completes.
pub(super) async fn run(redis: Arc<Redis>, stop: impl Future<Output = ()>) {
    // Copied once: every topic is made before the reader starts (the catalogue is fixed at start),
    // so the list cannot change under it, and the lock is not taken again.
    let watched: Vec<Watched> = redis
        .watched
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .clone();
    // No topic on Redis (a server built without the market): nothing to read, no connection made.
    if watched.is_empty() {
        return;
    }
    // Where each topic's delivery has reached. "0-0" until the first read below: a topic whose
    // head cannot be read yet replays its kept entries once, which every stream skips (they
    // are at or before its start) — wasteful for a moment, never wrong.
    let mut positions = vec!["0-0".to_owned(); watched.len()];
    tokio::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => return,
            () = read_until_failure(&redis, &watched, &mut positions) => {}
        }
        // Redis went away: every open stream of these topics ends with a reason and a `retry:`
        // (their browsers come back by themselves, and get an answer the SSE way until Redis
        // does), since their live events would otherwise simply stop without a word.
        for topic in &watched {
            let _ = topic.channel.live.send(Live::Unavailable);
        }
        tokio::select! {
            () = &mut stop => return,
            () = tokio::time::sleep(RECONNECT_DELAY) => {}
        }
    }
}

/// Connects, positions the topics that have none yet, and reads until an error.
async fn read_until_failure(redis: &Redis, watched: &[Watched], positions: &mut [String]) {
    // Longer than the block, so the timeout only fires on a connection that is really dead.
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(super::CONNECT_TIMEOUT))
        .set_response_timeout(Some(BLOCK + super::COMMAND_TIMEOUT));
    let mut conn = match redis
        .client
        .get_multiplexed_async_connection_with_config(&config)
        .await
    {
        Ok(conn) => conn,
        Err(error) => {
            redis.record::<()>(&Err(error));
            return;
        }
    };
    // First connection: start at each topic's head, so the reader delivers from now on.
    if positions.iter().all(|p| p == "0-0") {
        let heads: Vec<&str> = watched.iter().map(|w| w.keys.head.as_str()).collect();
        let found: redis::RedisResult<Vec<Option<String>>> =
            redis::cmd("MGET").arg(&heads).query_async(&mut conn).await;
        redis.record(&found);
        let Ok(found) = found else { return };
        for (position, head) in positions.iter_mut().zip(found) {
            if let Some(head) = head {
                *position = head;
            }
        }
    }
    let keys: Vec<&str> = watched.iter().map(|w| w.keys.events.as_str()).collect();
    // Key → index, since a reply names its streams by key: a scan of `keys` per stream would be
    // quadratic in the topics (the publish-heavy benchmark runs thousands).
    let index_of: HashMap<&str, usize> = keys.iter().enumerate().map(|(i, k)| (*k, i)).collect();
    // The doorbell from its last entry now: what was appended before is in the full read below.
    let last_ring: redis::RedisResult<redis::streams::StreamRangeReply> =
        redis::AsyncCommands::xrevrange_count(&mut conn, super::DOORBELL_KEY, "+", "-", 1).await;
    redis.record(&last_ring);
    let Ok(last_ring) = last_ring else { return };
    let mut doorbell = last_ring
        .ids
        .first()
        .map_or_else(|| "0-0".to_owned(), |entry| entry.id.clone());
    let mut read_every_topic = true;
    let mut last_full_read = Instant::now();
    loop {
        if read_every_topic {
            last_full_read = Instant::now();
            let all: Vec<usize> = (0..watched.len()).collect();
            if read_topics(redis, &mut conn, watched, &index_of, positions, &all)
                .await
                .is_err()
            {
                return;
            }
        }
        let options = StreamReadOptions::default()
            .block(BLOCK.as_millis() as usize)
            .count(DOORBELL_COUNT);
        let rings: redis::RedisResult<Option<StreamReadReply>> =
            redis::AsyncCommands::xread_options(
                &mut conn,
                &[super::DOORBELL_KEY],
                &[&doorbell],
                &options,
            )
            .await;
        redis.record(&rings);
        let Ok(rings) = rings else { return };
        let rings: Vec<redis::streams::StreamId> = rings
            .and_then(|reply| reply.keys.into_iter().next())
            .map(|stream| stream.ids)
            .unwrap_or_default();
        // Nothing rang for a whole block, so much rang that rings may have been trimmed unread,
        // or it is time: read every topic (see the module doc).
        read_every_topic = rings.is_empty()
            || rings.len() >= DOORBELL_COUNT
            || last_full_read.elapsed() >= FULL_READ_EVERY;
        // Moved past these rings even when every topic is read next: the full read covers whatever
        // they announced.
        if let Some(last) = rings.last() {
            doorbell = last.id.clone();
        }
        if read_every_topic {
            continue;
        }
        // The topics that rang, each once (a ring lists the streams of one append call).
        let mut rang = BTreeSet::new();
        for ring in &rings {
            let keys: Option<String> = ring.get("events");
            for key in keys.as_deref().unwrap_or_default().split(' ') {
                if let Some(&index) = index_of.get(key) {
                    rang.insert(index);
                }
            }
        }
        let rang: Vec<usize> = rang.into_iter().collect();
        if read_topics(redis, &mut conn, watched, &index_of, positions, &rang)
            .await
            .is_err()
        {
            return;
        }
    }
}

/// Reads the new entries of the topics `which` (indices into `watched`) after their positions,
/// without blocking, delivers them and moves the positions on. A topic with more than `COUNT`
/// new entries is read again until it has none. An error is already recorded (the health line)
/// when it is returned: the caller only reconnects.
async fn read_topics(
    redis: &Redis,
    conn: &mut redis::aio::MultiplexedConnection,
    watched: &[Watched],
    index_of: &HashMap<&str, usize>,
    positions: &mut [String],
    which: &[usize],
) -> redis::RedisResult<()> {
    let mut which: Vec<usize> = which.to_vec();
    // No `BLOCK` here: the reader only comes because a ring or the clock said there may be
    // something, and a topic with nothing new must not hold up the others.
    let options = StreamReadOptions::default().count(COUNT);
    while !which.is_empty() {
        let keys: Vec<&str> = which
            .iter()
            .map(|&i| watched[i].keys.events.as_str())
            .collect();
        let from: Vec<&str> = which.iter().map(|&i| positions[i].as_str()).collect();
        let reply: redis::RedisResult<Option<StreamReadReply>> =
            redis::AsyncCommands::xread_options(conn, &keys, &from, &options).await;
        redis.record(&reply);
        let reply = reply?;
        let mut again = Vec::new();
        for stream in reply.map(|r| r.keys).unwrap_or_default() {
            let Some(&index) = index_of.get(stream.key.as_str()) else {
                continue;
            };
            // A full page may not be all: read that topic again from its new position, alone,
            // before going back to the doorbell.
            if stream.ids.len() >= COUNT {
                again.push(index);
            }
            for entry in &stream.ids {
                positions[index] = entry.id.clone();
                deliver(&watched[index].channel, entry);
            }
        }
        which = again;
    }
    Ok(())
}

/// Hands one entry to the topic's subscribers on this instance.
fn deliver(channel: &Channel, entry: &redis::streams::StreamId) {
    // An entry this code cannot read was logged by `frame`; skipping it here means subscribers
    // miss it live, and the next resume (which reads the same entry) tells them.
    let Ok(frame) = frame(entry) else { return };
    *channel
        .delivered
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner()) = frame.id;
    // An error only means no stream of this topic is open here.
    let _ = channel.live.send(Live::Event(frame));
}
