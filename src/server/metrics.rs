//! Prometheus metrics, on a listener of their own for operators (`TICKERPLEX_METRICS_ADDR`).
//!
//! What it owns: the numbers an operator of a push service lives on. Two kinds:
//! - **counted where they happen** ([`metrics()`]): events published per topic, events and
//!   bytes delivered, stream starts by how they started (fresh, replayed, reset and why),
//!   slow-consumer cuts, keep-alives, orders by outcome, and the fan-out latency histogram;
//! - **read at scrape time** from the state the server already keeps (connections by
//!   protocol, open streams, subscribers per topic, the event log's health), so there is no
//!   second count to drift from the first. Those, the names, the help texts and the listener
//!   are the [exporter](crate::server::observe::exporter)'s.
//!
//! Labels never grow with clients: no connection, session or stream ids. A topic label is the
//! catalogue's name, with every bench shard as `bench` and every session's portfolio as
//! `portfolio`. Each instance labels itself `server="<TICKERPLEX_INSTANCE>"` — not `instance`,
//! which Prometheus sets itself to the scrape target's address.
//!
//! Why `prometheus-client` (the Prometheus project's own Rust client) and not `metrics` +
//! `metrics-exporter-prometheus`: typed metrics with typed label sets, no global recorder to
//! install, three small dependencies, and its text encoder writes into a `String` — serving it
//! is one axum route here. The exporter brings its own HTTP listener and, with its default
//! features, a second TLS crypto provider (aws-lc-rs) that makes rustls panic at start.
//!
//! Why a listener of its own, plain HTTP, on loopback by default: the numbers are for the
//! operator's Prometheus, not for the public origin (where `/metrics` is a 404), and a scrape
//! should not need the site's certificate.

use crate::model::{ResetReason, Start, TopicName};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use std::sync::LazyLock;
use std::time::Duration;

/// One in this many events handed to a connection has its fan-out latency observed: enough
/// for the quantiles, without a contended histogram update per event per stream.
pub const LATENCY_SAMPLE: u64 = 8;

/// `topic="watchlist"`: the label on the per-topic series. Built with [`TopicLabel::of`] only,
/// which folds every bench topic into one value, so a client cannot grow the series count.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TopicLabel {
    /// The topic's path form (`sector/energy`), or `bench` for every bench topic.
    pub topic: String,
}

impl TopicLabel {
    /// The label of `topic`: bounded whatever the clients do (see the module doc).
    pub fn of(topic: &TopicName) -> TopicLabel {
        let topic = match topic {
            TopicName::Bench(_) => "bench".to_owned(),
            other => other.to_string(),
        };
        TopicLabel { topic }
    }
}

/// How a stream started: what `tickerplex_stream_starts` counts, so an operator sees resumes
/// (healthy reconnects) apart from resets (history too short, or a new epoch).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StartLabels {
    /// `fresh` (no `Last-Event-ID`), `replayed` or `reset`.
    pub start: &'static str,
    /// Why a reset: `other_epoch`, `too_old`, `from_the_future`, `malformed`; else `none`.
    pub reason: &'static str,
}

/// An order's outcome: what `tickerplex_orders` counts.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabel {
    /// `filled`, `repeated` (a retried key, answered with its first fill), `rejected` (the
    /// rules said no: a 4xx) or `failed` (the ledger could not answer: a 503).
    pub outcome: &'static str,
}

/// The counters and the histogram, shared by the whole process.
pub struct Metrics {
    /// Events appended by this instance, per topic: with several instances, the feed's leader
    /// publishes and the others count 0, which is how a dashboard of the cluster sees who leads.
    pub events_published: Family<TopicLabel, Counter>,
    /// Live events handed to connections (a replay's are not counted): divided by
    /// `events_published`, the fan-out.
    pub events_delivered: Counter,
    /// The SSE bytes behind `events_delivered` (`id:`/`event:`/`data:` lines included), before
    /// HTTP/2 and TLS add their framing: the stream's own share of the egress.
    pub bytes_delivered: Counter,
    /// Every stream's start, by how it began: a rising `reset` count says clients come back after
    /// the history stopped covering their gap (a `retry:` too long, or a history too short).
    pub stream_starts: Family<StartLabels, Counter>,
    /// Streams cut because their queue fell behind the live channel: they resume by
    /// `Last-Event-ID`, so a non-zero rate is a cost, not a loss.
    pub slow_consumer_disconnects: Counter,
    /// Heartbeats sent on quiet streams (`stream::beat`): with idle streams, about streams ÷ the
    /// keep-alive interval per second.
    pub keepalives: Counter,
    /// Orders by outcome (`OutcomeLabel`): `failed` is the ledger's unavailability seen from the
    /// users' side.
    pub orders: Family<OutcomeLabel, Counter>,
    /// Publication to hand-off, one in [`LATENCY_SAMPLE`] events per stream: the latency a
    /// client sees, minus the network.
    pub fanout_seconds: Family<TopicLabel, Histogram, fn() -> Histogram>,
}

/// Fan-out latency buckets: 50 µs to about 3 s, doubling.
///
/// Sixteen buckets are enough to tell 100 µs from 100 ms from a second, which is what an alert
/// asks; more would multiply the series per topic without telling more.
fn fanout_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.000_05, 2.0, 16))
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| Metrics {
    events_published: Family::default(),
    events_delivered: Counter::default(),
    bytes_delivered: Counter::default(),
    stream_starts: Family::default(),
    slow_consumer_disconnects: Counter::default(),
    keepalives: Counter::default(),
    orders: Family::default(),
    fanout_seconds: Family::new_with_constructor(fanout_histogram),
});

/// The process's counters. Process-wide like the `tracing` subscriber: every part of the
/// server counts into it without carrying a handle through each signature.
pub fn metrics() -> &'static Metrics {
    &METRICS
}

impl Metrics {
    /// Counts a stream's start (and, after a `Last-Event-ID`, how the resume went).
    pub fn stream_started(&self, start: &Start) {
        let labels = match start {
            Start::Fresh => StartLabels {
                start: "fresh",
                reason: "none",
            },
            Start::Resumed { .. } => StartLabels {
                start: "replayed",
                reason: "none",
            },
            Start::Reset { reason } => StartLabels {
                start: "reset",
                reason: match reason {
                    ResetReason::Malformed => "malformed",
                    ResetReason::OtherEpoch => "other_epoch",
                    ResetReason::TooOld => "too_old",
                    ResetReason::FromTheFuture => "from_the_future",
                },
            },
        };
        self.stream_starts.get_or_create(&labels).inc();
    }

    /// Observes one event's time from publication to being handed to its connection.
    pub fn fanout(&self, topic: &TopicLabel, elapsed: Duration) {
        self.fanout_seconds
            .get_or_create(topic)
            .observe(elapsed.as_secs_f64());
    }
}
