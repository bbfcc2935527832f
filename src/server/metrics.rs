//! Prometheus metrics, on a listener of their own for operators (`TICKERPLEX_METRICS_ADDR`).
//!
//! What it owns: the numbers an operator of a push service lives on, their names and help
//! texts, and the `GET /metrics` page in Prometheus's text format. Two kinds:
//! - **counted where they happen** ([`metrics()`]): events published per topic, events and
//!   bytes delivered, stream starts by how they started (fresh, replayed, reset and why),
//!   slow-consumer cuts, keep-alives, orders by outcome, and the fan-out latency histogram;
//! - **read at scrape time** from the state the server already keeps (connections by
//!   protocol, open streams, subscribers per topic, the event log's health), so there is no
//!   second count to drift from the first.
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

use super::shutdown::Shutdown;
use super::state::AppState;
use crate::model::{ResetReason, Start, TopicName};
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use prometheus_client::encoding::{prometheus_text, EncodeLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::LazyLock;
use std::time::Duration;

/// The default address: loopback, the port node_exporter's neighbours use (9464 is the one the
/// OpenTelemetry Prometheus exporter took).
pub const DEFAULT_ADDR: &str = "127.0.0.1:9464";

/// One in this many events handed to a connection has its fan-out latency observed: enough
/// for the quantiles, without a contended histogram update per event per stream.
pub const LATENCY_SAMPLE: u64 = 8;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TopicLabel {
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

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StartLabels {
    /// `fresh` (no `Last-Event-ID`), `replayed` or `reset`.
    pub start: &'static str,
    /// Why a reset: `other_epoch`, `too_old`, `from_the_future`, `malformed`; else `none`.
    pub reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabel {
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProtocolLabel {
    protocol: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BackendLabel {
    backend: String,
}

/// The counters and the histogram, shared by the whole process.
pub struct Metrics {
    pub events_published: Family<TopicLabel, Counter>,
    pub events_delivered: Counter,
    pub bytes_delivered: Counter,
    pub stream_starts: Family<StartLabels, Counter>,
    pub slow_consumer_disconnects: Counter,
    pub keepalives: Counter,
    pub orders: Family<OutcomeLabel, Counter>,
    pub fanout_seconds: Family<TopicLabel, Histogram, fn() -> Histogram>,
}

/// Fan-out latency buckets: 50 µs to about 3 s, doubling.
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

/// Serves `GET /metrics` (and nothing else) on `listener`, plain HTTP, until the drain begins.
pub async fn serve(listener: tokio::net::TcpListener, state: AppState, shutdown: Shutdown) {
    let router = Router::new()
        .route("/metrics", get(scrape))
        .with_state(state);
    let stopped = async move { shutdown.begun().await };
    if let Err(error) = axum::serve(listener, router)
        .with_graceful_shutdown(stopped)
        .await
    {
        tracing::warn!(%error, "the metrics listener stopped");
    }
}

/// `GET /metrics`: the counters, plus the gauges read from the state now.
async fn scrape(State(state): State<AppState>) -> impl IntoResponse {
    let stats = state.stats();
    let server = ("server".into(), state.instance.name.to_string().into());
    let mut registry = Registry::with_labels([server].into_iter());

    let connections = Family::<ProtocolLabel, Gauge>::default();
    for protocol in ["h2", "http/1.1"] {
        let open = stats
            .connections
            .iter()
            .filter(|c| c.protocol.as_str() == protocol);
        connections
            .get_or_create(&ProtocolLabel { protocol })
            .set(open.count() as i64);
    }
    let streams = Gauge::<i64>::default();
    streams.set(stats.connections.iter().map(|c| c.streams as i64).sum());
    let subscribers = Family::<TopicLabel, Gauge>::default();
    for topic in &stats.topics {
        let label = TopicLabel::of(&topic.topic);
        subscribers
            .get_or_create(&label)
            .inc_by(topic.subscribers as i64);
    }
    let healthy = Family::<BackendLabel, Gauge>::default();
    let backend = BackendLabel {
        backend: stats.log.backend.clone(),
    };
    healthy
        .get_or_create(&backend)
        .set(i64::from(stats.log.healthy));

    let m = metrics();
    registry.register(
        "tickerplex_connections_open",
        "TCP connections open, by the HTTP version ALPN chose",
        connections,
    );
    registry.register("tickerplex_streams_open", "Event streams open", streams);
    registry.register(
        "tickerplex_topic_subscribers",
        "Streams subscribed to each topic",
        subscribers,
    );
    registry.register(
        "tickerplex_log_healthy",
        "Whether the event log answered its last operation (1) or not (0)",
        healthy,
    );
    registry.register(
        "tickerplex_events_published",
        "Events this instance appended to each topic's log",
        m.events_published.clone(),
    );
    registry.register(
        "tickerplex_events_delivered",
        "Live events handed to streams' connections",
        m.events_delivered.clone(),
    );
    registry.register(
        "tickerplex_stream_bytes",
        "Bytes of event-stream bodies handed to connections",
        m.bytes_delivered.clone(),
    );
    registry.register(
        "tickerplex_stream_starts",
        "Streams opened, by how they started: fresh, replayed (a resume) or reset, and why",
        m.stream_starts.clone(),
    );
    registry.register(
        "tickerplex_slow_consumer_disconnects",
        "Streams cut because they fell too far behind",
        m.slow_consumer_disconnects.clone(),
    );
    registry.register(
        "tickerplex_keepalives_sent",
        "Keep-alive comments sent on quiet streams",
        m.keepalives.clone(),
    );
    registry.register(
        "tickerplex_orders",
        "Orders, by outcome: filled, repeated (a retried Idempotency-Key), rejected, failed",
        m.orders.clone(),
    );
    registry.register(
        "tickerplex_fanout_latency_seconds",
        "Time from an event's publication to its being handed to a stream's connection (sampled)",
        m.fanout_seconds.clone(),
    );

    let mut text = String::new();
    // Writing into a String cannot fail.
    let _ = prometheus_text::encode(&mut text, &registry);
    (
        [(header::CONTENT_TYPE, prometheus_text::CONTENT_TYPE)],
        text,
    )
}
