//! The keep-alive beat: one timer for every stream of the process.
//!
//! A stream that sends nothing for a while needs a heartbeat now and then, so that proxies and
//! NATs which close idle connections see traffic ([`StreamConfig::keep_alive`]). A timer per
//! stream does that, and at 200 000 idle streams cost ~4 % of a core and ~150 bytes each:
//! 200 000 entries in tokio's timer wheel, each firing and re-arming twice per interval.
//!
//! Instead, ONE task ticks every half interval and sends [`Live::Beat`] — with the `heartbeat`
//! event, framed once ([`heartbeat`]) — through the signals
//! every stream already waits on ([`Topics::signal`]: each topic's live channel, and from there
//! the portfolios' and the ops streams'). An outbox counts the beats since it last sent
//! something, and the second quiet beat in a row sends the heartbeat — the same rule as the
//! per-stream timer had, so silence stays at most one interval (plus a beat's delay). A stream
//! waiting on its channel costs nothing between beats; a busy one reads a beat as one more
//! message, twice per interval.
//!
//! The price: every idle stream's heartbeat falls due on the same beat, so the writes come as one
//! burst per interval instead of spread over the streams' opening times — at a million idle
//! streams 1.1–1.4 s of one core (BENCHMARKS.md), during which live events queue behind them.
//!
//! [`StreamConfig::keep_alive`]: super::StreamConfig::keep_alive
//! [`Topics::signal`]: crate::server::pubsub::topics::Topics::signal

use crate::model::{EventKind, Heartbeat};
use crate::server::pubsub::log::Live;
use crate::server::pubsub::topics::Topics;
use crate::server::sse;
use crate::server::transport::shutdown::Shutdown;
use bytes::Bytes;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::{interval_at, Instant, MissedTickBehavior};

/// Starts the server's beat: to every stream of `topics`, until the drain begins.
pub fn start(topics: Arc<Topics>, keep_alive: Duration, shutdown: Shutdown) {
    let signal = move |live| topics.signal(live);
    tokio::spawn(run(
        keep_alive,
        signal,
        async move { shutdown.begun().await },
    ));
}

/// Sends `Live::Beat` through `signal` every half `keep_alive`, the first half an interval from
/// now, until `until` completes. The heartbeat it carries is framed here, once: every stream
/// sends the same bytes, so no stream holds or builds a copy of its own.
pub async fn run(keep_alive: Duration, signal: impl Fn(Live), until: impl Future<Output = ()>) {
    let frame = heartbeat(keep_alive);
    let half = keep_alive / 2;
    let mut beats = interval_at(Instant::now() + half, half);
    // Late (a busy runtime): the next beat comes a half interval after the late one, rather
    // than a burst of the beats that were missed.
    beats.set_missed_tick_behavior(MissedTickBehavior::Delay);
    tokio::pin!(until);
    loop {
        tokio::select! {
            _ = beats.tick() => signal(Live::Beat(frame.clone())),
            () = &mut until => return,
        }
    }
}

/// The `heartbeat` event for `interval`: named, JSON data, no id (it must not move the
/// browser's Last-Event-ID, and it is not part of the topic's history).
pub fn heartbeat(interval: Duration) -> Bytes {
    let data = sse::json(&Heartbeat {
        interval_ms: interval.as_millis() as u64,
    });
    sse::Event::new(EventKind::Heartbeat, &data).to_bytes()
}
