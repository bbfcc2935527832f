//! Benchmark mode: the `bench` topic (or topics), ticking at a fixed, open-loop rate.
//!
//! Off unless `TICKERPLEX_BENCH_RATE` is set (ticks per second; `0` holds streams with no
//! events). The load generator (`src/bin/load/`) subscribes thousands of streams to it and measures
//! how long each tick takes from here to there. Two rules make that measurement honest:
//!
//! - **The send time travels in the event.** Each tick carries `sent_ns`, read from
//!   `CLOCK_MONOTONIC`, which every process on the machine shares; the generator subtracts it
//!   from its own reading of the same clock when the event arrives. No clock sync is involved.
//! - **Open loop, stamped with the schedule.** Tick `n` is due at `start + n / rate`, whatever
//!   happened before, and carries that due time, not the moment it was actually sent. A server
//!   that falls behind therefore shows its lateness in every later tick's latency, instead of
//!   quietly publishing fewer ticks (the "coordinated omission" that makes closed-loop
//!   benchmarks look better than the system is).
//!
//! The ticks go through the same [`Topic`] as the market's events:
//! numbered, framed once, kept in history, broadcast. Only their content is synthetic.

use crate::model::{EventKind, TopicName};
use crate::server::pubsub::log::redis::{Redis, RedisLog};
use crate::server::pubsub::log::{EventLog, LogError};
use crate::server::pubsub::topics::{append_all, event_batch, Topic, Topics};
use crate::server::transport::shutdown::Shutdown;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// The payload of a bench `update`: the fields of a real [`Update`](crate::model::Update), so
/// the bytes on the wire are the size of a real one, plus the tick number and its due time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tick {
    /// 0, 1, 2… per run: a receiver that sees 7 then 9 lost 8. Counted by the tick, not by the
    /// event id, so the same count works for Nchan, whose ids are its own.
    pub n: u64,
    /// When the tick was due, in `CLOCK_MONOTONIC` nanoseconds (see [`monotonic_ns`]).
    pub sent_ns: u64,
    /// The rest is a quote's shape, so a tick weighs on the wire what a real `update` does: a
    /// benchmark of ticks with tiny payloads would flatter every server.
    pub symbol: String,
    pub price: f64,
    pub change: f64,
    pub change_pct: f64,
    /// Fixed: formatting a timestamp per tick would be the publisher's cost, not the fan-out's.
    pub time: String,
}

impl Tick {
    /// Tick `n`, due at `sent_ns`. The price walks a little so the payload is not constant.
    pub fn new(n: u64, sent_ns: u64) -> Tick {
        let change = ((n % 200) as f64 - 100.0) / 100.0;
        Tick {
            n,
            sent_ns,
            symbol: "BENCH".to_owned(),
            price: 100.0 + change,
            change,
            change_pct: change,
            time: "2026-01-01T00:00:00Z".to_owned(),
        }
    }
}

/// Nanoseconds on `CLOCK_MONOTONIC`: the clock every process on this machine reads alike, which
/// `std::time::Instant` uses too but does not expose as a number.
///
/// Through `rustix` (already in the graph for other reasons) rather than `libc` plus `unsafe`:
/// one safe call.
pub fn monotonic_ns() -> u64 {
    let now = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    now.tv_sec as u64 * 1_000_000_000 + now.tv_nsec as u64
}

/// The bench topics, empty (their events are ticks, they have no members), in the market
/// topics' log: `bench`, and with `count` above 1 the shards `bench-1` … `bench-<count - 1>`.
pub fn topics(epoch: u64, redis: Option<&Arc<Redis>>, count: u16) -> Vec<Topic> {
    (0..count.max(1))
        .map(|shard| {
            let name = TopicName::Bench(shard);
            match redis {
                None => Topic::new(name, epoch),
                // Beside the market topics in the shared log, so the benchmark measures that
                // backend: one script call per batch of ticks, fanned out by the instance's reader.
                Some(redis) => {
                    let log = EventLog::Redis(RedisLog::new(redis.clone(), &name));
                    Topic::with_log(name, log)
                }
            }
        })
        .collect()
}

/// The open-loop schedule: tick `n` is due at `start + n / rate`, whatever happened before.
/// The server's publisher below and the load generator's publisher for Nchan both follow it, so
/// the two peers get the same ticks with the same stamps.
pub struct Schedule {
    /// Ticks per second.
    rate: f64,
    /// The schedule's zero, on tokio's clock (what `sleep_until` waits on)...
    start: Instant,
    /// ...and the same moment on `CLOCK_MONOTONIC` (what the stamps are in). Two readings of
    /// one instant taken back to back: the stamps are off by that gap, nanoseconds, the same
    /// for every tick.
    start_ns: u64,
    /// The number of the next tick to publish.
    next: u64,
}

impl Schedule {
    /// Starts now, at `rate` ticks per second (more than 0).
    pub fn new(rate: f64) -> Schedule {
        Schedule {
            rate,
            start: Instant::now(),
            start_ns: monotonic_ns(),
            next: 0,
        }
    }

    /// When tick `n` is due, after the start. Computed from `n` each time rather than by adding
    /// an interval to the last due time, so rounding never accumulates into drift.
    fn due(&self, n: u64) -> Duration {
        Duration::from_nanos((n as f64 * 1e9 / self.rate).round() as u64)
    }

    /// Waits until the next tick is due, then returns every tick due by now, each stamped with
    /// its own due time. Timers fire at millisecond granularity, so above 1000/s one wake-up
    /// returns several. Cancel-safe: nothing changes until the wait is over.
    pub async fn due_ticks(&mut self) -> Vec<Tick> {
        // Sleep to the next due time, then take every tick whose time has come: if the task was
        // late (a busy core), the ticks it missed go out now, stamped with their own due times,
        // so the lateness shows up as latency in the report instead of disappearing.
        tokio::time::sleep_until(self.start + self.due(self.next)).await;
        let elapsed = self.start.elapsed();
        let mut ticks = Vec::new();
        while self.due(self.next) <= elapsed {
            let sent_ns = self.start_ns + self.due(self.next).as_nanos() as u64;
            ticks.push(Tick::new(self.next, sent_ns));
            self.next += 1;
        }
        ticks
    }
}

/// Publishes tick after tick on the bench topics at `rate` per second until `shutdown`: tick `n`
/// on shard `n % shards`, so each shard gets every `shards`-th tick, still in order (the load
/// generator subscribes its streams the same way round and expects exactly those).
pub async fn run(topics: Arc<Topics>, rate: f64, shards: u16, shutdown: Shutdown) {
    // The topics exist exactly when a rate is configured (`Server::build` adds them); without
    // them there is nothing to publish to.
    let shards: Vec<&Topic> = (0..shards.max(1))
        .map_while(|shard| topics.get(&TopicName::Bench(shard)))
        .collect();
    if shards.is_empty() || rate <= 0.0 {
        return; // idle: streams are held, nothing is sent but keep-alives
    }
    let mut schedule = Schedule::new(rate);
    loop {
        let ticks = tokio::select! {
            ticks = schedule.due_ticks() => ticks,
            () = shutdown.begun() => return,
        };
        // All ticks due now, one batch per shard, and every shard's batch in one append: one
        // lock per shard in memory, one round trip for up to a hundred shards to Redis,
        // however far behind.
        let mut batches: Vec<Vec<Tick>> = vec![Vec::new(); shards.len()];
        for tick in ticks {
            batches[(tick.n % shards.len() as u64) as usize].push(tick);
        }
        let lost: usize = batches.iter().map(Vec::len).sum();
        let appends = shards
            .iter()
            .zip(&batches)
            .map(|(topic, batch)| (*topic, event_batch(EventKind::Update, batch)))
            .collect();
        match append_all(appends).await {
            Ok(()) => {}
            // In a cluster the instance holding the feed lease publishes the ticks; the
            // others' appends are refused, and their streams get the ticks from the log.
            Err(LogError::LeaseLost) => {}
            Err(error) => tracing::warn!(%error, lost, "bench ticks not published"),
        }
    }
}

#[cfg(test)]
mod tests;
