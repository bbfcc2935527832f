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

use super::topic::frame;
use super::{Channel, Redis, Watched};
use crate::server::pubsub::log::Live;
use redis::streams::{StreamReadOptions, StreamReadReply};
use redis::AsyncConnectionConfig;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// How long one `XREAD` blocks when nothing is published. The loop comes round this often
/// even on an idle market, which is how it notices a silently dead connection.
const BLOCK: Duration = Duration::from_secs(5);
/// Entries taken per topic per read: a reader that fell behind catches up in large steps.
const COUNT: usize = 512;
/// The wait before reconnecting after a failure. A sleep, because there is nothing to wait on:
/// Redis is gone, and only trying again tells when it is back.
const RECONNECT_DELAY: Duration = Duration::from_millis(500);

/// Reads until `stop` completes.
pub(super) async fn run(redis: Arc<Redis>, stop: impl Future<Output = ()>) {
    let watched: Vec<Watched> = redis
        .watched
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .clone();
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
    let options = StreamReadOptions::default()
        .block(BLOCK.as_millis() as usize)
        .count(COUNT);
    loop {
        let reply: redis::RedisResult<Option<StreamReadReply>> =
            redis::AsyncCommands::xread_options(&mut conn, &keys, positions, &options).await;
        redis.record(&reply);
        let Ok(reply) = reply else { return };
        // `None`: the block ran out with nothing new.
        for stream in reply.map(|r| r.keys).unwrap_or_default() {
            let Some(&index) = index_of.get(stream.key.as_str()) else {
                continue;
            };
            for entry in &stream.ids {
                positions[index] = entry.id.clone();
                deliver(&watched[index].channel, entry);
            }
        }
    }
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
