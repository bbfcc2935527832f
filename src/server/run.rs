//! The one assembly: a [`Server`] built from a [`Config`], served on the listeners it is given.
//!
//! What it owns: the order in which the parts are made and started — TLS identity, epoch,
//! topics (plus the `bench` topic when asked), the feed and its command channel, the registry,
//! the shutdown, the router — and which tasks run beside the accept loops. The binary and the
//! integration tests both go through [`Server::build`] and [`Server::serve`], so what the tests
//! run is what ships: the feed task, the bench publisher, the HTTP/1.1-only listener and the
//! drills included. (A second assembly in the tests' helper would drift: a copy without the
//! feed task, say, answers the rotate-watchlist drill with 503.)
//!
//! One file past 300 lines on purpose: the assembly is one sequence, and reading it in one
//! place is the point. Binding the listeners, with errors that name the variable to change,
//! is at the end.
//!
//! Not here: what any part does. `main.rs` reads the environment and handles signals; this file
//! only wires.
//!
//! The shape follows mini-redis's `server::run(listener, shutdown)`: listeners are bound by the
//! caller (a test binds port 0 and learns the address first), and the drain is a handle the
//! caller holds ([`Server::shutdown`]), so a test can begin it without a signal.
//!
//! The start, in order (each step can fail only before anything is served):
//! 1. `build`: certificate (generated on first run) → rustls config with ALPN; epoch from the
//!    clock; topics and, in bench mode, the `bench` topic; the market and its feed; the state.
//! 2. `bind`: the HTTPS address, and the HTTP/1.1-only one when configured. (Separate from
//!    `build` so a test can bind port 0 itself.)
//! 3. `serve`: the first members published, the feed, keep-alive beat and bench tasks started,
//!    the accept loops run until the drain begins and ends.

use crate::server::config::{Config, ConfigError, TlsSource, METRICS_ADDR_VAR, REDIS_URL_VAR};
use crate::server::demo::bench;
use crate::server::demo::drills::Drills;
use crate::server::observe::{exporter, ops};
use crate::server::pubsub::feed::{self, Feed};
use crate::server::pubsub::instance::Instance;
use crate::server::pubsub::log::redis::{ConnectError, FeedLease, Redis};
use crate::server::pubsub::topics::{Live, Topics};
use crate::server::stream::beat;
use crate::server::trading::ledger::{Ledger, LedgerError};
use crate::server::trading::portfolio::{self, Portfolios};
use crate::server::transport::registry::Registry;
use crate::server::transport::shutdown::Shutdown;
use crate::server::transport::{certs, connection, tls};
use crate::server::web::routes::{self, Pages};
use crate::server::web::state::AppState;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// Commands queued for the feed before it takes them. Commands are rare (a drill, a test's
/// step) and each waits for its answer, so a handful is plenty; a full queue makes the asker
/// wait, never drops a command.
const FEED_COMMANDS: usize = 8;

/// Why the server could not start. Each variant names what the operator must fix; `main` prints it
/// as one line instead of a panic trace.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    /// A variable with a value the server cannot use (the message names it).
    Config(#[from] ConfigError),
    #[error(transparent)]
    /// The certificate or key could not be read, made or used.
    Certs(#[from] certs::CertError),
    #[error("cannot listen on {addr}: {source} (is another tickerplex already running? set {var} to use another address)")]
    /// A listener's address is taken or not allowed.
    Bind {
        addr: SocketAddr,
        /// The variable that moves this listener (`LEPTOS_SITE_ADDR`, `TICKERPLEX_HTTP1_PORT`,
        /// `TICKERPLEX_METRICS_ADDR`).
        var: &'static str,
        source: std::io::Error,
    },
    #[error("cannot install the SIGINT/SIGTERM handlers, so the server could never drain: {0}")]
    /// The drain needs the signals: a server that could not hear SIGTERM would be killed mid-stream
    /// by every deploy, so it refuses to start instead.
    Signals(std::io::Error),
    #[error(transparent)]
    /// `TICKERPLEX_REDIS_URL` does not parse (an unreachable Redis is waited for, not an error).
    Redis(#[from] ConnectError),
    #[error("{0} (set TICKERPLEX_LEDGER to a writable file)")]
    /// The ledger cannot be opened: a file that is not writable, a Postgres that refuses us.
    Ledger(#[from] LedgerError),
}

/// A server, built and not yet serving.
pub struct Server {
    /// What the router's handlers share (see [`AppState`]).
    state: AppState,
    /// The HTTPS configuration (certificate, ALPN `h2` then `http/1.1`).
    tls: Arc<rustls::ServerConfig>,
    /// The leaf certificate served, for the start-up log line.
    cert: PathBuf,
    /// Where [`Server::bind`] listens.
    https_addr: SocketAddr,
    /// The HTTP/1.1-only listener (`TICKERPLEX_HTTP1_PORT`), for the starvation demo; `None` unless
    /// asked for.
    http1_addr: Option<SocketAddr>,
    /// The operators' Prometheus listener, plain HTTP on loopback by default, apart from the public
    /// port so that scraping needs no certificate and the public never sees it.
    metrics_addr: Option<SocketAddr>,
    /// The feed, moved into its task by `serve`; `tick` is its clock (`None`: only when told).
    feed: Feed,
    tick: Option<Duration>,
    /// The feed's mailbox: received by the feed task, sent to by the drills and tests.
    commands: mpsc::Receiver<feed::Command>,
    /// A sender kept by the server itself, for tests that move the market by hand
    /// ([`Server::feed`]); the drills hold their own clone in the state.
    feed_handle: mpsc::Sender<feed::Command>,
    /// `TICKERPLEX_BENCH_RATE`: when set, the `bench` topic and its publisher exist.
    bench_rate: Option<f64>,
    /// `TICKERPLEX_BENCH_TOPICS`: how many bench topics share the ticks.
    bench_topics: u16,
    /// The shared log, when the market topics live in Redis: its reader starts with `serve`.
    redis: Option<Arc<Redis>>,
    /// The app's pages, for the router `serve` builds.
    pages: Pages,
}

impl Server {
    /// Builds every part from `config`. Nothing is listening and no task of ours runs yet; with
    /// `TICKERPLEX_REDIS_URL` the connection to Redis is made here — a malformed URL fails the
    /// start with one line, a Redis that is loading or away is waited for (with backoff, and a
    /// line every few seconds naming the variable), never a reason to exit.
    ///
    /// `pages` is the Leptos app the router serves (`tickerplex::app::pages()`): handed in, so
    /// that no server module imports the app that imports the server's functions.
    pub async fn build(config: Config, pages: Pages) -> Result<Server, StartupError> {
        // The certificate first: it is the step most likely to fail on a new machine (a path
        // typed wrong, a key that does not match), and failing before anything else is built
        // keeps the error the only line on the screen.
        let files = match &config.tls {
            TlsSource::Configured(files) => files.clone(),
            TlsSource::Dev { dir } => certs::ensure_dev_certs(dir)?,
        };
        let tls = tls::server_config(certs::load(&files)?)?;

        // The epoch tells this run's event ids from the last run's: the start time in
        // milliseconds, so it grows from run to run and a stale id is recognisably stale.
        let now = chrono::Utc::now();
        let epoch = now.timestamp_millis() as u64;
        // The market topics: in Redis when configured (the epoch is then Redis's, kept across
        // restarts), in this process's memory otherwise.
        let (redis, mut topics) = match &config.redis_url {
            None => (None, feed::topics(epoch)),
            Some(url) => {
                let redis = Redis::connect(url, REDIS_URL_VAR, &config.instance).await?;
                tracing::info!(addr = redis.addr(), instance = %config.instance, "market topics are in Redis, shared by every instance on it");
                let topics = feed::shared_topics(&redis);
                (Some(redis), topics)
            }
        };
        if let Some(rate) = config.bench_rate {
            let shards = config.bench_topics;
            tracing::warn!(
                rate,
                shards,
                "bench mode: {rate} ticks a second over {shards} bench topic(s)"
            );
            for topic in bench::topics(epoch, redis.as_ref(), shards) {
                topics.add(topic);
            }
        }
        let topics = Arc::new(topics);
        // Postgres when a URL is given (several machines), the SQLite file otherwise (one
        // machine, nothing to run beside the binary).
        let ledger = match &config.database_url {
            Some(url) => Ledger::connect(url, config.session_idle).await?,
            None => Ledger::open(&config.ledger, config.session_idle)?,
        };
        tracing::info!(backend = ledger.backend(), at = %ledger.location(), "ledger open");
        // The market opens now; `serve` publishes its first members.
        let mut feed = Feed::new(config.seed, topics.clone(), now);
        // On a shared log every instance has a feed, and the lease picks the one that moves
        // the market; the others stand by to take over.
        if let Some(redis) = &redis {
            feed = feed.with_lease(FeedLease::new(redis.clone()));
        }
        tracing::info!(
            seed = config.seed,
            epoch,
            "market open (TICKERPLEX_SEED replays it)"
        );
        // Bounded, like every channel here: a flood of drills cannot queue without limit.
        let (feed_handle, commands) = mpsc::channel(FEED_COMMANDS);

        if config.drills {
            tracing::warn!(
                "fault drills are on (POST /api/drills/...): any client can drop every stream"
            );
        }
        // Everything handlers share, built once; each handler extracts only its part (`FromRef`).
        let state = AppState {
            leptos: config.leptos.clone(),
            // The drain tells every stream through the topics' own channels (`Live::Shutdown`): the
            // streams already wait there, so the drain costs them no second thing to wait on.
            shutdown: Shutdown::new({
                let topics = topics.clone();
                move || topics.signal(Live::Shutdown)
            }),
            // The portfolios price positions from the sector topics, so they share the catalogue.
            portfolios: Arc::new(Portfolios::new(ledger, topics.clone())),
            ops: Default::default(),
            topics,
            registry: Arc::new(Registry::default()),
            streams: config.streams,
            limits: Arc::new(config.limits.clone()),
            embed_origins: Arc::new(config.embed_origins.clone()),
            // Decided once from where the certificate came from (a dev CA's gets a short max-age),
            // not per response.
            strict_transport_security: config.tls.strict_transport_security(),
            instance: Instance {
                name: Arc::from(config.instance.as_str()),
                redis: redis.clone(),
            },
            // Built even when drills are off: the routes answer 404 with how to turn them on, which
            // needs the flag at hand.
            drills: Drills {
                enabled: config.drills,
                feed: Some(feed_handle.clone()),
                stopped: Default::default(),
                cluster: config.cluster_control.clone().map(Arc::new),
            },
        };
        let https_addr = config.leptos.site_addr;
        Ok(Server {
            state,
            pages,
            tls,
            cert: files.cert,
            https_addr,
            // The HTTP/1.1 listener shares the HTTPS address's IP: a demo of starvation on another
            // interface would be a different origin and prove nothing.
            http1_addr: config
                .http1_port
                .map(|port| SocketAddr::new(https_addr.ip(), port)),
            metrics_addr: config.metrics_addr,
            feed,
            tick: config.tick,
            commands,
            feed_handle,
            bench_rate: config.bench_rate,
            bench_topics: config.bench_topics,
            redis,
        })
    }

    /// Binds the configured addresses (`LEPTOS_SITE_ADDR`; `TICKERPLEX_HTTP1_PORT` and
    /// `TICKERPLEX_METRICS_ADDR` when set), in that order: the first one taken fails the start
    /// with its address, so the one line printed is the one to fix.
    pub async fn bind(&self) -> Result<Listeners, StartupError> {
        Ok(Listeners {
            https: bind(self.https_addr, "LEPTOS_SITE_ADDR").await?,
            http1: bind_optional(self.http1_addr, "TICKERPLEX_HTTP1_PORT").await?,
            metrics: bind_optional(self.metrics_addr, METRICS_ADDR_VAR).await?,
        })
    }

    /// The drain's handle: [`Shutdown::begin`] on it stops this server.
    ///
    /// Taken before `serve` consumes the server: `main` hands it to the signal handler, a test
    /// keeps it to begin the drain whenever the test decides.
    pub fn shutdown(&self) -> Shutdown {
        self.state.shutdown.clone()
    }

    /// The topics, for tests that read ids and members without a client.
    pub fn topics(&self) -> Arc<Topics> {
        self.state.topics.clone()
    }

    /// The feed's mailbox, for tests that move the market by hand ([`feed::Command::Step`]).
    pub fn feed(&self) -> mpsc::Sender<feed::Command> {
        self.feed_handle.clone()
    }

    /// Serves until the drain begins and finishes: starts the feed (and the bench publisher),
    /// then accepts on every listener.
    pub async fn serve(self, listeners: Listeners) {
        let Server {
            state,
            tls,
            cert,
            mut feed,
            tick,
            commands,
            bench_rate,
            bench_topics,
            redis,
            ..
        } = self;
        let shutdown = state.shutdown.clone();
        // The shared log's reader first: every entry any instance appends reaches our streams.
        if let Some(redis) = &redis {
            let shutdown = shutdown.clone();
            redis.start_reader(async move { shutdown.begun().await });
        }
        // Every topic's first members before the first client: the first page has data, and
        // real ids. (In a cluster, only the instance holding the feed lease publishes.)
        feed.open(chrono::Utc::now()).await;
        // The tasks beside the accept loops, each ending with the drain: the one feed (the market
        // has one owner), the portfolios' valuation and wake-ups, the one keep-alive beat for
        // every stream, and the `/ops` sampler.
        tokio::spawn(feed::run(feed, tick, commands, shutdown.clone()));
        tokio::spawn(portfolio::run(state.portfolios.clone(), shutdown.clone()));
        let keep_alive = state.streams.keep_alive;
        beat::start(state.topics.clone(), keep_alive, shutdown.clone());
        tokio::spawn(ops::run(
            state.observed(),
            state.ops.clone(),
            shutdown.clone(),
        ));
        // Only with `TICKERPLEX_BENCH_RATE`: the benchmark's publisher must not run, or cost a
        // timer, on a server nobody is measuring.
        if let Some(rate) = bench_rate {
            let topics = state.topics.clone();
            tokio::spawn(bench::run(topics, rate, bench_topics, shutdown.clone()));
        }

        connection::log_listening(&listeners.https, listeners.http1.as_ref(), &cert);
        if let Some(listener) = listeners.metrics {
            tokio::spawn(exporter::serve(
                listener,
                state.observed(),
                shutdown.clone(),
            ));
        }
        // One router and one registry for both listeners: a request on the HTTP/1.1 port is the
        // same app, and its connection ids continue the same numbering.
        let registry = state.registry.clone();
        let app = routes::router(state, self.pages);
        let https = connection::serve(
            listeners.https,
            tls.clone(),
            app.clone(),
            registry.clone(),
            shutdown.clone(),
        );
        match listeners.http1 {
            // Joined, not raced: each listener finishes its own drain, so neither's connections are
            // cut short because the other finished first.
            None => https.await,
            Some(listener) => {
                let http1 =
                    connection::serve(listener, tls::http1_only(&tls), app, registry, shutdown);
                tokio::join!(https, http1);
            }
        }
        tracing::info!("stopped");
    }
}

/// The sockets a server accepts on. Bound by the caller, so the caller chooses the ports (a
/// test uses port 0) and knows them before the first request.
pub struct Listeners {
    /// The app over HTTPS, offering HTTP/2 then HTTP/1.1 by ALPN.
    pub https: TcpListener,
    /// The same app offering only HTTP/1.1: the six-connection starvation demo.
    pub http1: Option<TcpListener>,
    /// Plain HTTP, `GET /metrics` only, for the operators' Prometheus (`server::metrics`).
    pub metrics: Option<TcpListener>,
}

/// Binds one address, turning the OS error into one that names the address, the likely cause
/// (another tickerplex still running is the usual one in development) and `var`, the setting
/// that moves this listener: two instances on one host collide on the metrics port first, and
/// a hint naming the HTTPS address there sent people to the wrong variable.
async fn bind(addr: SocketAddr, var: &'static str) -> Result<TcpListener, StartupError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| StartupError::Bind { addr, var, source })
}

/// Binds `addr` if one is configured.
async fn bind_optional(
    addr: Option<SocketAddr>,
    var: &'static str,
) -> Result<Option<TcpListener>, StartupError> {
    match addr {
        Some(addr) => bind(addr, var).await.map(Some),
        None => Ok(None),
    }
}
