//! What the receivers saw: latency of every tick on every stream, and who missed what.
//!
//! The generator runs on one thread (see `main.rs`), so the recorder is a plain `RefCell` shared
//! by every stream task: no locks, no atomics, nothing that would make the client the slowest
//! part of the measurement.
//!
//! Only ticks *due* inside the measurement window are counted, so streams that joined at
//! different moments during the ramp-up are compared over the same ticks.

use hdrhistogram::Histogram;
use std::cell::RefCell;
use std::collections::HashMap;
use tokio::sync::Notify;

/// Latencies are kept in microseconds, up to a minute, to 3 significant figures.
const MAX_LATENCY_US: u64 = 60_000_000;

/// One stream's view of the window.
#[derive(Clone, Copy, Debug, Default)]
struct Tally {
    /// The stream got its response; only open streams can lose ticks.
    open: bool,
    first: Option<u64>,
    last: u64,
    received: u64,
    duplicates: u64,
}

/// Every receiver of one tick: how many, and the slowest.
#[derive(Clone, Copy, Debug, Default)]
struct Fanout {
    receivers: u32,
    slowest_us: u64,
}

pub struct Recorder {
    inner: RefCell<Inner>,
    /// Woken whenever a stream opens or fails, for [`Recorder::wait_for_streams`].
    progress: Notify,
}

struct Inner {
    /// `[start, end)` on the monotonic clock, in ns; ticks due in it are measured.
    window: Option<(u64, u64)>,
    opened: usize,
    failed_to_open: usize,
    /// Streams that ended or broke after opening.
    errors: usize,
    first_errors: Vec<String>,
    delivered_in_window: u64,
    latency: Histogram<u64>,
    ticks: HashMap<u64, Fanout>,
    streams: Vec<Tally>,
    /// Stream `i` follows topic `i % topics`, which gets ticks `n` with `n % topics` equal to it.
    topics: u64,
}

/// The receivers' half of a scenario's figures.
#[derive(Clone, Debug, Default)]
pub struct Received {
    pub streams_held: usize,
    pub failed_to_open: usize,
    pub stream_errors: usize,
    pub first_errors: Vec<String>,
    /// Events received during the window (by arrival time), per second.
    pub events_per_sec: f64,
    /// Ticks due in the window, as seen by at least one stream.
    pub ticks: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    /// For each tick, the latency of its slowest receiver: when the whole fan-out was done.
    pub slowest_receiver_p99_ms: f64,
    /// Ticks a stream should have had (due in the window, between the first and last tick any
    /// stream saw) but did not receive by the end of the grace period.
    pub lost: u64,
    pub duplicates: u64,
}

impl Recorder {
    /// For `streams` streams spread round-robin over `topics` topics.
    pub fn new(streams: usize, topics: usize) -> Recorder {
        Recorder {
            inner: RefCell::new(Inner {
                window: None,
                opened: 0,
                failed_to_open: 0,
                errors: 0,
                first_errors: Vec::new(),
                delivered_in_window: 0,
                latency: histogram(),
                ticks: HashMap::new(),
                streams: vec![Tally::default(); streams],
                topics: topics.max(1) as u64,
            }),
            progress: Notify::new(),
        }
    }

    pub fn opened(&self, stream: usize) {
        let mut inner = self.inner.borrow_mut();
        inner.opened += 1;
        inner.streams[stream].open = true;
        drop(inner);
        self.progress.notify_waiters();
    }

    pub fn failed_to_open(&self, error: String) {
        let mut inner = self.inner.borrow_mut();
        inner.failed_to_open += 1;
        inner.note(error);
        drop(inner);
        self.progress.notify_waiters();
    }

    /// A stream that was open ended or broke.
    pub fn error(&self, error: String) {
        let mut inner = self.inner.borrow_mut();
        inner.errors += 1;
        inner.note(error);
    }

    /// The publisher (Nchan's, ours) stopped with `error`: kept for the report.
    pub fn publisher_failed(&self, error: String) {
        self.inner.borrow_mut().note(error);
    }

    /// Waits until every stream has opened or failed to; returns how many opened.
    pub async fn wait_for_streams(&self, streams: usize) -> usize {
        loop {
            let notified = self.progress.notified();
            {
                let inner = self.inner.borrow();
                if inner.opened + inner.failed_to_open >= streams {
                    return inner.opened;
                }
            }
            notified.await;
        }
    }

    pub fn open_window(&self, start_ns: u64, end_ns: u64) {
        self.inner.borrow_mut().window = Some((start_ns, end_ns));
    }

    /// Tick `n`, due at `sent_ns`, arrived on `stream` at `now_ns`.
    pub fn record(&self, stream: usize, n: u64, sent_ns: u64, now_ns: u64) {
        let mut inner = self.inner.borrow_mut();
        let Some((start, end)) = inner.window else {
            return;
        };
        if (start..end).contains(&now_ns) {
            inner.delivered_in_window += 1;
        }
        if !(start..end).contains(&sent_ns) {
            return;
        }
        let latency_us = now_ns.saturating_sub(sent_ns) / 1000;
        inner.latency.saturating_record(latency_us.max(1));
        let fanout = inner.ticks.entry(n).or_default();
        fanout.receivers += 1;
        fanout.slowest_us = fanout.slowest_us.max(latency_us);
        let tally = &mut inner.streams[stream];
        match tally.first {
            Some(_) if n <= tally.last => tally.duplicates += 1,
            _ => {
                tally.first.get_or_insert(n);
                tally.last = n;
                tally.received += 1;
            }
        }
    }

    /// The figures, after the window and its grace period.
    pub fn received(&self, window_secs: f64) -> Received {
        let inner = self.inner.borrow();
        let first = inner.ticks.keys().min().copied();
        let last = inner.ticks.keys().max().copied();
        let expected = match (first, last) {
            (Some(first), Some(last)) => last - first + 1,
            _ => 0,
        };
        // Every open stream should have had every tick of its topic in [first, last].
        let topics = inner.topics;
        let lost = inner
            .streams
            .iter()
            .enumerate()
            .filter(|(_, tally)| tally.open)
            .map(|(i, tally)| {
                let due = match (first, last) {
                    (Some(first), Some(last)) => congruent(first, last, i as u64 % topics, topics),
                    _ => 0,
                };
                due.saturating_sub(tally.received)
            })
            .sum();
        let mut slowest = histogram();
        for fanout in inner.ticks.values() {
            slowest.saturating_record(fanout.slowest_us.max(1));
        }
        let ms = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1000.0;
        Received {
            streams_held: inner.opened,
            failed_to_open: inner.failed_to_open,
            stream_errors: inner.errors,
            first_errors: inner.first_errors.clone(),
            events_per_sec: inner.delivered_in_window as f64 / window_secs,
            ticks: expected,
            p50_ms: ms(&inner.latency, 0.5),
            p99_ms: ms(&inner.latency, 0.99),
            p999_ms: ms(&inner.latency, 0.999),
            max_ms: inner.latency.max() as f64 / 1000.0,
            slowest_receiver_p99_ms: ms(&slowest, 0.99),
            lost,
            duplicates: inner.streams.iter().map(|t| t.duplicates).sum(),
        }
    }
}

impl Inner {
    /// Keeps the first few error messages for the report; the count says how many there were.
    fn note(&mut self, error: String) {
        if self.first_errors.len() < 3 && !self.first_errors.contains(&error) {
            self.first_errors.push(error);
        }
    }
}

/// How many `n` in `[first, last]` have `n % modulus == residue`.
fn congruent(first: u64, last: u64, residue: u64, modulus: u64) -> u64 {
    // Those up to and including `x`: the n ≤ x with that residue.
    let up_to = |x: u64| match x.checked_sub(residue) {
        Some(above) => above / modulus + 1,
        None => 0,
    };
    up_to(last) - first.checked_sub(1).map_or(0, up_to)
}

fn histogram() -> Histogram<u64> {
    // Constant bounds (low 1 ≥ 1, high ≥ 2 × low, 3 significant figures ≤ 5): the only
    // conditions under which hdrhistogram refuses them, so this cannot fail.
    Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).expect("valid histogram bounds")
}

#[cfg(test)]
mod tests;
