//! The scenarios: how many streams, how many to a connection, which protocol, at what rate —
//! the rows of the report. `full` is the matrix `scripts/bench` runs, `smoke` the few hundred
//! streams the test command runs.

use crate::client::Protocol;
use crate::report::human;

/// Offered load of the "max" rate: more than two cores can deliver, so what arrives is the most
/// the server can push.
const MAX_OFFERED_PER_SEC: f64 = 1_000_000.0;

/// What a trickle reader's connection drains: half the server's minimum (16 KiB per 20 s is
/// about 820 B/s), so a server that judges by rate cuts it, and one that judges by progress
/// alone does not.
const TRICKLE_BYTES_PER_SEC: usize = 400;

/// Delivered events per second the publisher aims at (the tick rate is this over the streams).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Rate {
    Idle,
    PerSec(f64),
    Max,
}

impl Rate {
    /// Ticks published per second, for `streams` spread evenly over `topics`: each tick reaches
    /// the `streams / topics` streams of its topic.
    pub fn ticks_per_sec(self, streams: usize, topics: usize) -> f64 {
        let per_tick = streams as f64 / topics.max(1) as f64;
        match self {
            Rate::Idle => 0.0,
            Rate::PerSec(rate) => rate / per_tick,
            Rate::Max => MAX_OFFERED_PER_SEC / per_tick,
        }
    }
}

impl std::fmt::Display for Rate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rate::Idle => f.write_str("idle"),
            Rate::PerSec(rate) => write!(f, "{}/s", human(*rate)),
            Rate::Max => f.write_str("max"),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Scenario {
    pub streams: usize,
    pub per_connection: usize,
    pub protocol: Protocol,
    pub rate: Rate,
    /// Topics the streams are spread over, round-robin (stream `i` on topic `i % topics`); the
    /// ticks are spread the same way, so every topic gets its share.
    pub topics: usize,
    /// Extra HTTP/2 streams (240 to a connection) that open and then never read again, beside
    /// the measured ones: what dead readers cost the server and the streams that do read.
    pub stalled: usize,
    /// What each of the `stalled` streams' connections reads, in bytes a second: `None`, never
    /// anything again; `Some(n)`, a trickle — below the server's minimum drain rate.
    pub trickle: Option<usize>,
}

impl Scenario {
    /// Ticks published per second (each to one topic).
    pub fn ticks_per_sec(&self) -> f64 {
        self.rate.ticks_per_sec(self.streams, self.topics)
    }

    pub fn connections(&self) -> usize {
        match self.protocol {
            Protocol::H1 => self.streams,
            Protocol::H2 => self.streams.div_ceil(self.per_connection),
        }
    }
}

impl std::fmt::Display for Scenario {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} streams", human(self.streams as f64))?;
        if self.topics > 1 {
            write!(f, " on {} topics", human(self.topics as f64))?;
        }
        write!(
            f,
            ", W={} {}, {}",
            self.per_connection, self.protocol, self.rate
        )?;
        match (self.stalled, self.trickle) {
            (0, _) => {}
            (n, None) => write!(f, ", +{} not reading", human(n as f64))?,
            (n, Some(rate)) => write!(f, ", +{} reading {rate} B/s a connection", human(n as f64))?,
        }
        // Many topics: what is published differs from what is delivered; say both.
        match (self.topics > 1, self.rate) {
            (true, Rate::PerSec(_)) => {
                write!(f, " ({}/s published)", human(self.ticks_per_sec()))
            }
            _ => Ok(()),
        }
    }
}

fn h2(streams: usize, per_connection: usize, rate: Rate) -> Scenario {
    Scenario {
        streams,
        per_connection,
        protocol: Protocol::H2,
        rate,
        topics: 1,
        stalled: 0,
        trickle: None,
    }
}

fn h1(streams: usize, rate: Rate) -> Scenario {
    Scenario {
        streams,
        per_connection: 1,
        protocol: Protocol::H1,
        rate,
        topics: 1,
        stalled: 0,
        trickle: None,
    }
}

/// `streams` spread over `topics`, `rate` delivered per second: where the publishing side (and
/// the shared log behind it) does as much work as the fan-out.
fn many_topics(streams: usize, topics: usize, rate: Rate) -> Scenario {
    Scenario {
        topics,
        ..h2(streams, 240, rate)
    }
}

/// `pages` connections, each carrying one stream on each of `widgets` topics — what a
/// dashboard's tabs look like to the server (stream `i` is on topic `i % widgets`, and a
/// connection's streams are consecutive, so each connection has every topic once).
fn mixed_page(pages: usize, widgets: usize, rate: Rate) -> Scenario {
    Scenario {
        topics: widgets,
        ..h2(pages * widgets, widgets, rate)
    }
}

/// The full matrix: streams per connection, scale, and rates (see the README's Benchmarks).
pub fn full() -> Vec<Scenario> {
    use Rate::*;
    vec![
        // Streams per connection, at a fixed size and rate: the multiplexing gain.
        h1(5_000, PerSec(10_000.0)),
        h2(5_000, 1, PerSec(10_000.0)),
        h2(5_000, 20, PerSec(10_000.0)),
        h2(5_000, 100, PerSec(10_000.0)),
        h2(5_000, 240, PerSec(10_000.0)),
        // Rates, at 5k streams.
        h2(5_000, 240, Idle),
        h2(5_000, 240, PerSec(100_000.0)),
        h2(5_000, 240, Max),
        // Scale.
        h2(50_000, 240, Idle),
        h2(50_000, 240, PerSec(10_000.0)),
        h2(50_000, 240, PerSec(100_000.0)),
        h2(50_000, 240, Max),
        h2(200_000, 240, Idle),
        h2(200_000, 240, PerSec(100_000.0)),
        // Publish-heavy: 2k topics, 20k events/s published (10 a second each), each to 2.5
        // streams on average: 50k/s delivered.
        many_topics(5_000, 2_000, PerSec(50_000.0)),
        // Realistic shapes. Per-symbol widgets: 5k streams over 500 topics, ten streams each.
        many_topics(5_000, 500, PerSec(10_000.0)),
        // A browser's page: 8 widgets (8 topics) per connection, 2k connections.
        mixed_page(2_000, 8, PerSec(10_000.0)),
        // Dead readers: the 5k row above again, with 1 000 streams beside it that never read.
        Scenario {
            stalled: 1_000,
            ..h2(5_000, 240, PerSec(10_000.0))
        },
        // Trickle readers: the same, but the 1 000 read 400 B/s a connection — progress, at
        // half the server's minimum drain rate (16 KiB per 20 s).
        Scenario {
            stalled: 1_000,
            trickle: Some(TRICKLE_BYTES_PER_SEC),
            ..h2(5_000, 240, PerSec(10_000.0))
        },
    ]
}

/// One box's ceiling: a million idle streams at W=240 (4 167 connections), and 100k streams with
/// events flowing. Minutes to open and gigabytes on both sides, so only run when named
/// (`--only 1M`, `--only "100k streams"`).
pub fn scale() -> Vec<Scenario> {
    vec![
        h2(1_000_000, 240, Rate::Idle),
        h2(100_000, 240, Rate::PerSec(100_000.0)),
    ]
}

/// A few hundred streams for a few seconds: proves the harness works end to end (the README's
/// test command runs it).
pub fn smoke() -> Vec<Scenario> {
    vec![
        h2(300, 100, Rate::PerSec(3_000.0)),
        h1(20, Rate::PerSec(200.0)),
    ]
}
