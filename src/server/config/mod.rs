//! Configuration, read once from the environment at start.
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `LEPTOS_SITE_ADDR` and the other `LEPTOS_*` | set by cargo-leptos from `[package.metadata.leptos]` | see `Cargo.toml` |
//! | `TICKERPLEX_TLS_CERT`, `TICKERPLEX_TLS_KEY` | PEM certificate chain and key to serve (both or neither) | dev certificates |
//! | `TICKERPLEX_CERTS_DIR` | where dev certificates are kept / generated | `certs` |
//! | `TICKERPLEX_TICK_MS` | milliseconds between market ticks | `300` |
//! | `TICKERPLEX_SEED` | seed of the market's random walk (same seed, same run) | random |
//! | `TICKERPLEX_KEEPALIVE_SECS` | the longest a stream stays silent: a `heartbeat` event after this many seconds without anything else | `15` |
//! | `TICKERPLEX_RETRY_MS` | the `retry:` sent to browsers (reconnect delay) | `2000` |
//! | `TICKERPLEX_HTTP1_PORT` | also serve the app on this port, offering only HTTP/1.1 (the starvation demo) | off |
//! | `TICKERPLEX_DRILLS` | `1` enables the fault drills (`POST /api/drills/...`, see `server::demo::drills`) | `0` |
//! | `TICKERPLEX_CLUSTER_CONTROL` | the control pipe of `scripts/cluster` (which sets it): the fault panel's cluster card | unset |
//! | `TICKERPLEX_BENCH_RATE` | adds the `bench` topic, ticking this many times a second (`0`: idle), for the load generator (see `server::demo::bench`) | off |
//! | `TICKERPLEX_BENCH_TOPICS` | spreads those ticks round-robin over this many topics (`bench`, `bench-1`, …) | `1` |
//! | `TICKERPLEX_REDIS_URL` | keep the market topics in Redis Streams, shared by every instance (`redis://127.0.0.1:6379/0`; see `server::pubsub::log::redis`) | off: this process's memory |
//! | `TICKERPLEX_MAX_STREAMS_PER_CLIENT`, `TICKERPLEX_MAX_STREAMS` | open event streams one client, and the whole server, may hold (see `server::transport::limits`) | `1024`, `250000` |
//! | `TICKERPLEX_TRUSTED_PROXIES` | comma-separated addresses whose `X-Forwarded-For` names the client (the edge) | none |
//! | `TICKERPLEX_EMBED_ORIGINS` | comma-separated origins allowed to frame the embed pages (`/embed/<topic>`); `*` or empty: any (see `server::web::embed`) | any |
//! | `TICKERPLEX_INSTANCE` | this instance's name, in `hello`, the `x-instance` header and `/api/stats` | host name and process id |
//! | `TICKERPLEX_LEDGER` | the SQLite file of sessions and fills (created on first run; share it between instances on one machine; see `server::trading::ledger`) | `data/tickerplex.db` |
//! | `TICKERPLEX_DATABASE_URL` | keep the ledger in Postgres instead, shared by instances on any number of machines (`postgres://user:password@host:5432/db`; `sslmode` honoured; see `server::trading::ledger::postgres`) | off: the SQLite file |
//! | `TICKERPLEX_METRICS_ADDR` | where Prometheus scrapes `GET /metrics` (plain HTTP; see `server::metrics`); `off` for none | `127.0.0.1:9464` |
//! | `TICKERPLEX_SESSION_IDLE_SECS` | a session unused this long is deleted with its portfolio | `86400` (a day) |
//! | `RUST_LOG` | log filter | `tickerplex=info` |
//!
//! For example, a slow, reproducible market with the HTTP/1.1 demo port, under `cargo leptos`:
//!
//! ```text
//! TICKERPLEX_TICK_MS=1000 TICKERPLEX_SEED=42 TICKERPLEX_HTTP1_PORT=3002 cargo leptos watch
//! ```
//!
//! One file past 300 lines on purpose: it is the one list of every setting, each read, checked
//! and explained in the same place, so an operator's question ("what does this variable do, and
//! what if I get it wrong?") has one answer. The reading helpers are [`read`].

//!
//! What it owns: the names of the variables, their defaults, their bounds, and an error that
//! names the variable when a value is wrong. Not what the values do — each consumer documents
//! that (`StreamConfig`, the feed, the drills).
//!
//! Why read once, at start, into a plain struct: the rest of the server then cannot depend on
//! the environment (tests build a `Config` by hand), and a typo in a variable fails the start
//! with one line instead of surfacing at the first request that needs it. Why hand-written and
//! not `envy` or `config`: a dozen variables, each with a range and a message of its own; a crate
//! would save twenty lines and lose the messages.

use crate::server::observe::exporter;
use crate::server::stream::StreamConfig;
use crate::server::trading::ledger::{DATABASE_URL_VAR, DEFAULT_SESSION_IDLE};
use crate::server::transport::certs::TlsFiles;
use crate::server::transport::limits::Limits;
use crate::server::web::embed::EmbedOrigins;
use leptos::config::LeptosOptions;
use read::{
    addresses, default_instance_name, instance_name, non_empty, number, optional_number, rate,
    socket_address,
};
use std::path::PathBuf;
use std::time::Duration;

/// The variables whose names appear in error messages, so the message and the lookup cannot
/// drift apart.
pub const TLS_CERT_VAR: &str = "TICKERPLEX_TLS_CERT";
pub const TLS_KEY_VAR: &str = "TICKERPLEX_TLS_KEY";
pub const CERTS_DIR_VAR: &str = "TICKERPLEX_CERTS_DIR";
pub const REDIS_URL_VAR: &str = "TICKERPLEX_REDIS_URL";
pub const INSTANCE_VAR: &str = "TICKERPLEX_INSTANCE";
pub const TRUSTED_PROXIES_VAR: &str = "TICKERPLEX_TRUSTED_PROXIES";
pub const EMBED_ORIGINS_VAR: &str = "TICKERPLEX_EMBED_ORIGINS";
pub const METRICS_ADDR_VAR: &str = "TICKERPLEX_METRICS_ADDR";
/// Relative to the working directory, which is the repository root under `cargo leptos`.
const DEFAULT_CERTS_DIR: &str = "certs";
/// About three ticks a second: lively enough to watch, slow enough to read the numbers.
const DEFAULT_TICK: Duration = Duration::from_millis(300);

/// Where the TLS certificate comes from.
#[derive(Debug, Clone)]
pub enum TlsSource {
    /// Files the operator named; never generated, never overwritten.
    Configured(TlsFiles),
    /// A folder of dev certificates, generated at first start if empty.
    Dev { dir: PathBuf },
}

impl TlsSource {
    /// `Strict-Transport-Security` for this certificate: a year with one of your own; an hour
    /// with the dev certificate, whose host is `localhost` — a browser that trusts the dev CA
    /// would otherwise force https on every other `http://localhost` server of yours for a
    /// year. Never `includeSubDomains`: the dashboard speaks for its own host only.
    pub fn strict_transport_security(&self) -> axum::http::HeaderValue {
        axum::http::HeaderValue::from_static(match self {
            TlsSource::Dev { .. } => "max-age=3600",
            TlsSource::Configured(_) => "max-age=31536000",
        })
    }
}

/// Everything the operator can choose. Built by [`Config::from_env`] in the binary; tests start
/// from [`Config::new`] and change the fields they care about.
#[derive(Debug)]
pub struct Config {
    /// Site root, bundle name and address, as cargo-leptos passes them (`LEPTOS_*`).
    pub leptos: LeptosOptions,
    /// The certificate: the operator's files, or generated dev certificates.
    pub tls: TlsSource,
    /// Time between market ticks; `None` moves the market only when told (`feed::Command::Step`),
    /// which is how the integration tests count events exactly. Not reachable from the
    /// environment: a server whose market never moves is only useful to a test.
    pub tick: Option<Duration>,
    /// Seed of the market's random walk: the same seed replays the same market.
    pub seed: u64,
    /// `retry:` and the keep-alive interval of every stream.
    pub streams: StreamConfig,
    /// A second listener on the same host that negotiates only HTTP/1.1.
    pub http1_port: Option<u16>,
    /// Whether `POST /api/drills/...` works. Off by default: anyone could cut every stream.
    pub drills: bool,
    /// `TICKERPLEX_CLUSTER_CONTROL`: the control pipe of the `scripts/cluster` this instance
    /// runs in (the fault panel's cluster card); set by that script only.
    pub cluster_control: Option<PathBuf>,
    /// Ticks per second on the `bench` topic, which exists only when this is set.
    pub bench_rate: Option<f64>,
    /// How many bench topics share those ticks (the publish-heavy benchmark uses thousands).
    pub bench_topics: u16,
    /// Where the market topics' log lives: this process (`None`), or the Redis at this URL,
    /// shared with every other instance given the same URL.
    pub redis_url: Option<String>,
    /// This instance's name, so a reader sees which instance serves each stream.
    pub instance: String,
    /// The caps on open streams, and the proxies trusted to name the client.
    pub limits: Limits,
    /// Who may frame the embed pages.
    pub embed_origins: EmbedOrigins,
    /// The ledger's SQLite file (`:memory:`: one that dies with the process, as in the tests).
    pub ledger: PathBuf,
    /// The Postgres that keeps the ledger instead of that file, if any.
    pub database_url: Option<String>,
    /// How long an unused session lives.
    pub session_idle: Duration,
    /// The operators' metrics listener, if any.
    pub metrics_addr: Option<std::net::SocketAddr>,
}

/// A variable with a value the server cannot use. Each message names the variable and what
/// would be accepted, since the operator reads it in a terminal with no other context.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "Leptos configuration: {0} (run through `cargo leptos`, or set the LEPTOS_* variables)"
    )]
    /// The `LEPTOS_*` variables cargo-leptos sets are missing or unreadable: the binary was started
    /// by hand without them.
    Leptos(String),
    #[error("{set} is set but {missing} is not: set both to serve your own certificate, or neither to use dev certificates")]
    /// One of the certificate and key is set without the other.
    HalfTls {
        set: &'static str,
        missing: &'static str,
    },
    #[error("{var}: {value:?} is not an IP address (a comma-separated list of them, e.g. 127.0.0.1,::1)")]
    /// An entry of an address list is not an IP address (`value` is that entry alone).
    Address { var: &'static str, value: String },
    #[error("{var}: {reason}")]
    /// A value of a shape of its own (an origin list, a listener address) that does not parse;
    /// `reason` says what was expected.
    Invalid { var: &'static str, reason: String },
    #[error("TICKERPLEX_INSTANCE={0:?} is not a name of 1 to 64 letters, digits, '.', '_' or '-'")]
    /// `TICKERPLEX_INSTANCE` holds a character a header, a log line or a Redis key would trip on.
    Instance(String),
    #[error("{var}={value:?} is not a number from 0 to {max} (ticks per second)")]
    /// A rate that is not a number in its range (`NaN` and infinities included).
    Rate {
        var: &'static str,
        value: String,
        max: f64,
    },
    #[error("{var}={value:?} is not a whole number from {min} to {max}")]
    /// A whole number that does not parse or falls outside `min..=max`; never clamped.
    Number {
        var: &'static str,
        value: String,
        min: u64,
        max: u64,
    },
}

impl Config {
    /// The defaults of every setting (the table above), with these Leptos options.
    pub fn new(leptos: LeptosOptions) -> Config {
        Config {
            leptos,
            tls: TlsSource::Dev {
                dir: DEFAULT_CERTS_DIR.into(),
            },
            tick: Some(DEFAULT_TICK),
            // Random by default: every run of the demo shows a different market; a test or a bug
            // report pins it (`TICKERPLEX_SEED`).
            seed: rand::random(),
            streams: StreamConfig::default(),
            http1_port: None,
            drills: false,
            cluster_control: None,
            bench_rate: None,
            bench_topics: 1,
            redis_url: None,
            instance: default_instance_name(),
            limits: Limits::default(),
            embed_origins: EmbedOrigins::Any,
            // Relative to the working directory, which `scripts/dev` and cargo-leptos set to the
            // repository: the file sits beside the code it belongs to, ignored by git.
            ledger: "data/tickerplex.db".into(),
            database_url: None,
            session_idle: DEFAULT_SESSION_IDLE,
            metrics_addr: exporter::DEFAULT_ADDR.parse().ok(),
        }
    }

    /// Reads the process environment.
    ///
    /// The bounds, and why each: a tick from 10 ms (faster is unreadable, and only a load test
    /// wants more — that is what the bench topic is for) to a minute; a keep-alive from 1 s to an
    /// hour (beyond, every proxy has given up on the stream); a `retry:` from 100 ms (a tighter
    /// loop would hammer a server that is down) to ten minutes.
    pub fn from_env() -> Result<Self, ConfigError> {
        // `None`: no `Cargo.toml` is read at run time — cargo-leptos passes every setting as a
        // `LEPTOS_*` variable, and a deployed binary has no source tree beside it.
        let leptos = leptos::config::get_configuration(None)
            .map_err(|e| ConfigError::Leptos(e.to_string()))?
            .leptos_options;
        // `Config::new` is the one place the defaults live; every variable overrides one field.
        let defaults = Config::new(leptos);
        let tls = tls_source(
            std::env::var_os(TLS_CERT_VAR).map(PathBuf::from),
            std::env::var_os(TLS_KEY_VAR).map(PathBuf::from),
            std::env::var_os(CERTS_DIR_VAR).map(PathBuf::from),
        )?;
        Ok(Self {
            tls,
            tick: Some(Duration::from_millis(number(
                "TICKERPLEX_TICK_MS",
                DEFAULT_TICK.as_millis() as u64,
                10,
                60_000,
            )?)),
            // A fresh random seed unless one is given; the start-up log prints it, so any run
            // can be replayed afterwards.
            seed: number("TICKERPLEX_SEED", defaults.seed, 0, u64::MAX)?,
            streams: StreamConfig {
                keep_alive: Duration::from_secs(number(
                    "TICKERPLEX_KEEPALIVE_SECS",
                    defaults.streams.keep_alive.as_secs(),
                    1,
                    3600,
                )?),
                retry: Duration::from_millis(number(
                    "TICKERPLEX_RETRY_MS",
                    defaults.streams.retry.as_millis() as u64,
                    100,
                    600_000,
                )?),
            },
            // From 1: with port 0 (any free port) the operator would not know where the
            // HTTP/1.1 demo listens; a test that wants any free port binds its own listeners.
            http1_port: optional_number("TICKERPLEX_HTTP1_PORT", 1, 65_535)?.map(|p| p as u16),
            // `0` or `1` only: "yes", "true" and friends are refused rather than guessed at.
            drills: number("TICKERPLEX_DRILLS", 0, 0, 1)? == 1,
            cluster_control: std::env::var_os("TICKERPLEX_CLUSTER_CONTROL")
                .filter(|path| !path.is_empty())
                .map(PathBuf::from),
            // A million ticks a second is far beyond what one core publishes; it only guards
            // against a typo that would make the publisher spin.
            bench_rate: rate("TICKERPLEX_BENCH_RATE", 1_000_000.0)?,
            // Up to 65 535 topics: the publish-heavy benchmark row uses 2 000; the cap keeps a
            // topic's number inside the `u16` its name carries.
            bench_topics: number("TICKERPLEX_BENCH_TOPICS", 1, 1, u16::MAX as u64)? as u16,
            redis_url: non_empty(REDIS_URL_VAR),
            limits: Limits {
                // Up to ten million, like the total: a cap is the operator's to raise, and a value
                // past the process's file descriptors would only mean that the kernel refuses
                // first.
                per_client: number(
                    "TICKERPLEX_MAX_STREAMS_PER_CLIENT",
                    defaults.limits.per_client as u64,
                    1,
                    10_000_000,
                )? as usize,
                total: number(
                    "TICKERPLEX_MAX_STREAMS",
                    defaults.limits.total as u64,
                    1,
                    10_000_000,
                )? as usize,
                trusted_proxies: addresses(TRUSTED_PROXIES_VAR)?,
            },
            embed_origins: EmbedOrigins::parse(
                &std::env::var(EMBED_ORIGINS_VAR).unwrap_or_default(),
            )
            .map_err(|reason| ConfigError::Invalid {
                var: EMBED_ORIGINS_VAR,
                reason,
            })?,
            ledger: non_empty("TICKERPLEX_LEDGER").map_or(defaults.ledger.clone(), PathBuf::from),
            database_url: non_empty(DATABASE_URL_VAR),
            // From ten seconds (a test of the sweep) to a year; the default day keeps a demo
            // account through a working day and forgets it by the next.
            session_idle: Duration::from_secs(number(
                "TICKERPLEX_SESSION_IDLE_SECS",
                DEFAULT_SESSION_IDLE.as_secs(),
                10,
                365 * 24 * 3600,
            )?),
            metrics_addr: socket_address(METRICS_ADDR_VAR, defaults.metrics_addr)?,
            instance: match non_empty(INSTANCE_VAR) {
                Some(name) => instance_name(name)?,
                None => defaults.instance.clone(),
            },
            // Whatever no variable sets (the Leptos options, the cluster-only settings) keeps its
            // default, so a field added to `Config` needs no second place to be listed.
            ..defaults
        })
    }
}

/// Decides the certificate source from the three optional variables.
///
/// A pure function of the three values (the environment is read by the caller), so the rules
/// are tested without touching the process environment, which tests running in parallel share.
fn tls_source(
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
    dev_dir: Option<PathBuf>,
) -> Result<TlsSource, ConfigError> {
    match (cert, key) {
        (Some(cert), Some(key)) => Ok(TlsSource::Configured(TlsFiles { cert, key })),
        (Some(_), None) => Err(ConfigError::HalfTls {
            set: TLS_CERT_VAR,
            missing: TLS_KEY_VAR,
        }),
        (None, Some(_)) => Err(ConfigError::HalfTls {
            set: TLS_KEY_VAR,
            missing: TLS_CERT_VAR,
        }),
        (None, None) => Ok(TlsSource::Dev {
            dir: dev_dir.unwrap_or_else(|| DEFAULT_CERTS_DIR.into()),
        }),
    }
}

mod read;
#[cfg(test)]
mod tests;
