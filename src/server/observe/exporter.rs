//! The metrics listener: `GET /metrics` in Prometheus's text format, on its own address
//! (`TICKERPLEX_METRICS_ADDR`), and the gauges read from the state at each scrape.
//!
//! Apart from [`crate::server::metrics`] (the counters, which everything below counts into) so that
//! the modules counting do not depend on the ones this reads: topics count into `metrics`,
//! and this reads the topics.

use crate::model::Stats;
use crate::server::metrics::{metrics, TopicLabel};
use crate::server::pubsub::instance::Instance;
use crate::server::pubsub::topics::Topics;
use crate::server::trading::ledger::Ledger;
use crate::server::transport::registry::Registry as Connections;
use crate::server::transport::shutdown::Shutdown;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use prometheus_client::encoding::{prometheus_text, EncodeLabelSet};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::Arc;

/// The default address: loopback, the port node_exporter's neighbours use (9464 is the one the
/// OpenTelemetry Prometheus exporter took).
pub const DEFAULT_ADDR: &str = "127.0.0.1:9464";

/// `backend="memory"|"redis"` (the log) or `"sqlite"|"postgres"` (the ledger): one gauge per
/// part, labelled by which implementation answers, so a dashboard built for one backend still
/// reads the other's instance (a `_redis_healthy` name would not exist on a SQLite box).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BackendLabel {
    /// Owned because it is read from the running part (`Ledger::backend`, the log's kind) when the
    /// gauge is encoded; the values are the four names above.
    backend: String,
}

/// `protocol="h2"|"http/1.1"`: what ALPN chose. The one number that shows whether browsers
/// really share one connection: with HTTP/2 it stays at one per tab while the streams grow.
/// `&'static str` because the only values are ALPN's two, known at compile time.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProtocolLabel {
    protocol: &'static str,
}

/// What the gauges are read from: the parts of the state that count things. (Not the whole
/// `AppState`: this module is below it, so the state can hand this out without an import
/// circle.)
#[derive(Clone)]
pub struct Observed {
    /// Open connections and their streams: `tickerplex_connections_open`, `_streams_open`.
    pub registry: Arc<Connections>,
    /// Subscribers per topic: `tickerplex_topic_subscribers`.
    pub topics: Arc<Topics>,
    /// The `server` label on every series, and the log's health.
    pub instance: Instance,
    /// The ledger's health: an order path that fails shows here before any order does.
    pub ledger: Ledger,
}

impl Observed {
    /// Live connections and topics, as `GET /api/stats` answers: this instance's own view
    /// (never a networked backend's), so it answers even when the log is down.
    pub fn stats(&self) -> Stats {
        Stats {
            instance: self.instance.name.to_string(),
            log: self.instance.log_status(),
            connections: self.registry.connections(),
            topics: self.topics.iter().map(|topic| topic.stats()).collect(),
        }
    }
}

/// Serves `GET /metrics` (and nothing else) on `listener`, plain HTTP, until the drain begins.
pub async fn serve(listener: tokio::net::TcpListener, state: Observed, shutdown: Shutdown) {
    let addr = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    tracing::info!("metrics for Prometheus at http://{addr}/metrics");
    // Plain HTTP on a listener of its own, not a route on the HTTPS app: Prometheus scrapes
    // without TLS set-up on loopback or a private network, the public origin never exposes
    // the numbers, and a scrape never counts as one of the app's connections.
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
async fn scrape(State(state): State<Observed>) -> impl IntoResponse {
    let stats = state.stats();
    // A registry per scrape: the gauges are read from the state now, so building them fresh
    // costs microseconds a scrape and no gauge can go stale between scrapes (a topic gone,
    // a connection closed). The counters live in `metrics()` and are only registered here.
    // Every series carries `server=<instance>`, so one Prometheus tells the cluster apart.
    let server = ("server".into(), state.instance.name.to_string().into());
    let mut registry = Registry::with_labels([server].into_iter());

    let connections = Family::<ProtocolLabel, Gauge>::default();
    // Both protocols always: a series that is 0 reads differently from one that is absent
    // (an alert on `http/1.1 > 0` must see the zero).
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
    // Per topic, `inc_by` rather than `set`: two topics may share a label (every bench topic
    // is labelled `bench`, so thousands of them stay one series), and their counts add up.
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
    let ledger = Family::<BackendLabel, Gauge>::default();
    let backend = BackendLabel {
        backend: state.ledger.backend().to_owned(),
    };
    ledger
        .get_or_create(&backend)
        .set(i64::from(state.ledger.is_healthy()));

    let m = metrics();
    // One row per metric: its name, its help text, its value. A macro rather than an array:
    // the values are of different types, and `Registry::register` takes each as its own.
    macro_rules! register {
        ($($name:literal: $help:literal => $metric:expr,)*) => {
            $(registry.register($name, $help, $metric);)*
        };
    }
    register! {
        "tickerplex_connections_open": "TCP connections open, by the HTTP version ALPN chose"
            => connections,
        "tickerplex_streams_open": "Event streams open"
            => streams,
        "tickerplex_topic_subscribers": "Streams subscribed to each topic"
            => subscribers,
        "tickerplex_log_healthy": "Whether the event log answered its last operation (1) or not (0)"
            => healthy,
        "tickerplex_ledger_healthy": "Whether the ledger (sqlite or postgres) answered its last operation (1) or not (0)"
            => ledger,
        "tickerplex_events_published": "Events this instance appended to each topic's log"
            => m.events_published.clone(),
        "tickerplex_events_delivered": "Live events handed to streams' connections"
            => m.events_delivered.clone(),
        "tickerplex_stream_bytes": "Bytes of event-stream bodies handed to connections"
            => m.bytes_delivered.clone(),
        "tickerplex_stream_starts": "Streams opened, by how they started: fresh, replayed (a resume) or reset, and why"
            => m.stream_starts.clone(),
        "tickerplex_slow_consumer_disconnects": "Streams cut because they fell too far behind"
            => m.slow_consumer_disconnects.clone(),
        "tickerplex_keepalives_sent": "Keep-alive heartbeat events sent on quiet streams"
            => m.keepalives.clone(),
        "tickerplex_orders": "Orders, by outcome: filled, repeated (a retried Idempotency-Key), rejected, failed"
            => m.orders.clone(),
        "tickerplex_fanout_latency_seconds": "Time from an event's publication to its being handed to a stream's connection (sampled)"
            => m.fanout_seconds.clone(),
    }

    let mut text = String::new();
    // Writing into a String cannot fail.
    let _ = prometheus_text::encode(&mut text, &registry);
    (
        [(header::CONTENT_TYPE, prometheus_text::CONTENT_TYPE)],
        text,
    )
}
