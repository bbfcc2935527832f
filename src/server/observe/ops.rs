//! The ops stream: this instance's numbers once a second, on its own SSE topic.
//!
//! What it owns: the sampler — one task per instance that reads the same state `/api/stats`
//! and the metrics read, turns the last second into an [`OpsSample`], and sends it to every
//! `/ops` page open on this instance. The page is its own demo: the numbers arrive the way a
//! widget's prices do, as an `update` on an `EventSource`, with the same `hello`, keep-alive
//! and drain (the stream goes through the market's outbox).
//!
//! A sample is a newer value that replaces the last one, not history: it has no id and is
//! never replayed (`Live::Mark`); a page that reconnects gets the next second's sample.
//!
//! Per instance: a sample describes the instance that measured it. In a cluster (the shared log
//! on Redis) every instance also posts its sample on a board in Redis and forwards the others'
//! (`log::redis::ops_board`), so the page — from whichever instance an edge picked — shows every
//! instance, each in its own table.

use crate::model::{EventId, EventKind, OpsSample, Start, GONE_AFTER_MS};
use crate::server::metrics::metrics;
use crate::server::observe::exporter::Observed;
use crate::server::pubsub::log::redis::Redis;
use crate::server::pubsub::topics::{Live, Subscription};
use crate::server::sse::{self, json};
use crate::server::transport::shutdown::Shutdown;
use std::time::{Duration, Instant};
use tokio::sync::broadcast;

/// How often a sample is taken.
pub const EVERY: Duration = Duration::from_secs(1);

/// The samples' channel: every open `/ops` stream holds a receiver.
#[derive(Clone)]
pub struct Ops {
    /// Samples go out as `Live::Mark`s: id-less, never replayed — a page that reconnects wants
    /// the next second's numbers, not the ones it missed.
    sender: broadcast::Sender<Live>,
}

impl Default for Ops {
    fn default() -> Ops {
        Ops {
            // A page a few samples behind is simply cut and comes back: 16 is plenty.
            sender: broadcast::channel(16).0,
        }
    }
}

impl Ops {
    /// A subscription with nothing before the live samples: the next one arrives within a
    /// second.
    pub fn subscribe(&self) -> Subscription {
        Subscription {
            prelude: Vec::new(),
            live: self.sender.subscribe(),
            start: Start::Fresh,
            after: EventId { epoch: 0, seq: 0 },
        }
    }
}

/// Samples this instance every [`EVERY`] until the drain, and forwards the drain and the
/// drills' signals to the open `/ops` streams.
pub async fn run(state: Observed, ops: Ops, shutdown: Shutdown) {
    let mut signals = state.topics.signals();
    let mut tick = tokio::time::interval(EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last = Counts::now(&state);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let board = state.instance.redis.clone();
                // Nobody watching here, and no cluster to post to: nothing to measure for.
                if ops.sender.receiver_count() == 0 && board.is_none() {
                    last = Counts::now(&state);
                    continue;
                }
                let now = Counts::now(&state);
                let mine = sample(&state, &last, &now);
                last = now;
                let samples = match board {
                    Some(redis) => cluster(&redis, mine).await,
                    None => vec![mine],
                };
                for sample in samples {
                    let bytes = sse::Event::new(EventKind::Update, &json(&sample)).to_bytes();
                    let _ = ops.sender.send(Live::Mark(bytes));
                }
            }
            signal = signals.recv() => match signal {
                Ok(Live::Event(_)) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Ok(signal) => { let _ = ops.sender.send(signal); }
                Err(broadcast::error::RecvError::Closed) => return,
            },
            _ = shutdown.begun() => {
                let _ = ops.sender.send(Live::Shutdown);
                return;
            }
        }
    }
}

/// Posts this instance's sample on the cluster's board (the shared log's Redis) and returns it
/// with every other instance's fresh one; forgets the instances that went away. With Redis out
/// of reach, this instance's sample alone.
async fn cluster(redis: &Redis, mine: OpsSample) -> Vec<OpsSample> {
    let Ok(board) = redis.ops_board(&mine.instance, &json(&mine)).await else {
        return vec![mine];
    };
    // An instance that stopped posting (killed, frozen, partitioned) drops off the chart after
    // `GONE_AFTER_MS`, and its field is deleted so the board does not grow with every restart.
    let mut gone = Vec::new();
    let mut samples = Vec::with_capacity(board.len());
    for (name, sample) in board {
        match serde_json::from_str::<OpsSample>(&sample) {
            Ok(sample) if sample.instance == mine.instance => {}
            Ok(sample) if mine.time_ms - sample.time_ms < GONE_AFTER_MS => samples.push(sample),
            _ => gone.push(name),
        }
    }
    if !gone.is_empty() {
        let _ = redis.ops_board_forget(&gone).await;
    }
    samples.push(mine);
    samples
}

/// The running totals a rate is the difference of.
struct Counts {
    /// When they were read: a rate divides by the real interval, not by [`EVERY`], because a
    /// busy runtime can tick late.
    at: Instant,
    /// Events appended to this instance's logs so far.
    published: u64,
    /// Events handed to streams so far (the process counter the exporter also shows).
    delivered: u64,
}

impl Counts {
    /// The totals now.
    fn now(state: &Observed) -> Counts {
        // Every topic's latest sequence number, summed: what this process's logs published
        // (a new epoch starts a topic at 0 again, which the rate below treats as no events).
        let published = state.topics.iter().map(|t| t.stats().current_id.seq).sum();
        Counts {
            at: Instant::now(),
            published,
            delivered: metrics().events_delivered.get(),
        }
    }
}

/// One second of this instance, as the `/ops` page charts it: connections by protocol, streams
/// and how many share a connection, events in and out per second.
fn sample(state: &Observed, last: &Counts, now: &Counts) -> OpsSample {
    let stats = state.stats();
    // Streams per connection among the connections that carry any: a page's connection holds
    // its streams, while the connections of `curl /api/stats` or a scrape hold none and would
    // only dilute the figure the page exists to show (≈ the widget count over HTTP/2).
    let (streams, carrying) = stats.streams_on_connections();
    // `saturating_sub`: a drill's new epoch starts a topic's sequence at 0 again, which must
    // read as no events, not as a wrapped-around billion. `max(0.001)`: two samples in the
    // same millisecond (a test's paused clock) must not divide by zero.
    let per_sec = |before: u64, after: u64| {
        after.saturating_sub(before) as f64
            / now.at.duration_since(last.at).as_secs_f64().max(0.001)
    };
    let h2 = stats
        .connections
        .iter()
        .filter(|c| c.protocol.as_str() == "h2")
        .count();
    OpsSample {
        instance: stats.instance,
        time_ms: chrono::Utc::now().timestamp_millis(),
        connections_h2: h2,
        connections_http1: stats.connections.len() - h2,
        streams,
        // No connection carrying streams is 0, not NaN: the chart's line drops to the axis instead
        // of vanishing, and JSON has no NaN to send.
        streams_per_connection: if carrying == 0 {
            0.0
        } else {
            streams as f64 / carrying as f64
        },
        published_per_sec: per_sec(last.published, now.published),
        delivered_per_sec: per_sec(last.delivered, now.delivered),
    }
}
