//! A real tickerplex server for integration tests, started through the library's one entry
//! point (`Server::build` + `Server::serve`, exactly as `main.rs` does): TLS with a fresh dev CA,
//! HTTP/2 by ALPN on 127.0.0.1 port 0, the HTTP/1.1-only listener on another port 0, the feed
//! task, the drills. Only the clock differs: the market moves when the test says
//! ([`TestServer::step`]), so "k events were missed" is exact.
//!
//! Servers run on ONE process-wide multi-thread runtime, as the binary has one, while each test
//! drives its clients from its own `#[tokio::test]` runtime — client and server do not share a
//! scheduler, as over a real network.

#![allow(dead_code)] // each test file uses a different part of the harness

pub mod cluster;
pub mod edge;
pub mod events;
pub mod follow;
pub mod portfolio;
pub mod postgres;

use leptos::config::LeptosOptions;
use reqwest::{Certificate, Client, ClientBuilder, Response};
use std::net::SocketAddr;
use std::sync::{Arc, LazyLock};
use tickerplex::model::{EventId, Stats, TopicName};
use tickerplex::server::config::{Config, TlsSource};
use tickerplex::server::pubsub::feed::Command;
use tickerplex::server::pubsub::topics::Topics;
use tickerplex::server::run::{Listeners, Server};
use tickerplex::server::stream::StreamConfig;
use tickerplex::server::transport::certs::DevPki;
use tickerplex::server::transport::shutdown::Shutdown;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

const SEED: u64 = 42;

static SERVER_RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("the test server runtime starts")
});

pub struct TestServer {
    pub addr: SocketAddr,
    /// The HTTP/1.1-only listener (the starvation demo's port).
    pub http1_addr: SocketAddr,
    /// The operators' metrics listener (plain HTTP, `GET /metrics`).
    pub metrics_addr: SocketAddr,
    pub ca_pem: String,
    pub topics: Arc<Topics>,
    feed: mpsc::Sender<Command>,
    /// The drain, exactly as the binary's signal handler begins it.
    pub shutdown: Shutdown,
    pub task: JoinHandle<()>,
    _certs: tempfile::TempDir,
}

impl TestServer {
    /// The server as most tests want it: drills on, the market on the test's clock.
    pub async fn start() -> TestServer {
        TestServer::builder().start().await
    }

    /// A server configured step by step: `TestServer::builder().bench(200.0).start().await`.
    pub fn builder() -> Builder {
        let mut config = Config::new(LeptosOptions::builder().output_name("tickerplex").build());
        config.seed = SEED;
        config.tick = None;
        config.drills = true;
        // A ledger of its own that dies with the test (a test of durability names a file).
        config.ledger = ":memory:".into();
        Builder { config }
    }

    /// Starts the server `config` describes, with a fresh dev CA of its own.
    async fn start_configured(mut config: Config) -> TestServer {
        let certs = tempfile::tempdir().unwrap();
        let pki = DevPki::generate().unwrap();
        let files = pki.write_to(certs.path()).unwrap();
        config.tls = TlsSource::Configured(files);
        // Built on the server's runtime: with a shared log, the connection it makes lives there.
        let server = SERVER_RUNTIME
            .spawn(Server::build(config, tickerplex::app::pages()))
            .await
            .unwrap()
            .unwrap();

        let bind = || {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.set_nonblocking(true).unwrap();
            listener
        };
        let (https, http1, metrics) = (bind(), bind(), bind());
        let addr = https.local_addr().unwrap();
        let http1_addr = http1.local_addr().unwrap();
        let metrics_addr = metrics.local_addr().unwrap();
        let (topics, feed, shutdown) = (server.topics(), server.feed(), server.shutdown());
        let task = SERVER_RUNTIME.spawn(async move {
            let listeners = Listeners {
                https: tokio::net::TcpListener::from_std(https).unwrap(),
                http1: Some(tokio::net::TcpListener::from_std(http1).unwrap()),
                metrics: Some(tokio::net::TcpListener::from_std(metrics).unwrap()),
            };
            server.serve(listeners).await
        });

        let server = TestServer {
            addr,
            http1_addr,
            metrics_addr,
            ca_pem: pki.ca_pem,
            topics,
            feed,
            shutdown,
            task,
            _certs: certs,
        };
        // The feed answers only once `serve` has published the first members and started it:
        // from here on the server is as a browser would first find it.
        server.step(0).await;
        server
    }

    /// A client that trusts this server's dev CA and resolves `localhost` to it.
    pub fn client(&self) -> ClientBuilder {
        Client::builder()
            .add_root_certificate(Certificate::from_pem(self.ca_pem.as_bytes()).unwrap())
            .resolve("localhost", self.addr)
            .https_only(true)
    }

    /// The URL of `path` on the HTTP/1.1-only listener.
    pub fn http1_url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.http1_addr.port())
    }

    pub fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.addr.port())
    }

    /// Advances the market `ticks` ticks through the feed task, returning once their events are
    /// published.
    pub async fn step(&self, ticks: usize) {
        let (done, stepped) = oneshot::channel();
        self.feed
            .send(Command::Step { ticks, done })
            .await
            .expect("the feed task runs while the server does");
        stepped.await.expect("the feed answers every step");
    }

    /// The id of the last event `topic` published.
    pub fn current_id(&self, topic: &TopicName) -> EventId {
        self.topics.get(topic).unwrap().stats().current_id
    }

    /// Steps the market until `topic` has published at least `events` more events.
    pub async fn step_until_published(&self, topic: &TopicName, events: u64) -> EventId {
        let target = self.current_id(topic).seq + events;
        for _ in 0..10_000 {
            if self.current_id(topic).seq >= target {
                return self.current_id(topic);
            }
            self.step(1).await;
        }
        panic!("{topic} did not publish {events} events in 10 000 ticks");
    }

    /// Runs a fault drill (`POST /api/drills/{name}`), returning the status and message.
    pub async fn drill(&self, client: &Client, name: &str) -> (u16, String) {
        let response = client
            .post(self.url(&format!("/api/drills/{name}")))
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    pub async fn stats(&self, client: &Client) -> Stats {
        get_json(client, &self.url("/api/stats")).await
    }
}

/// `GET url` asking for JSON, and the answer read as `T` (any failure fails the test).
pub async fn get_json<T: serde::de::DeserializeOwned>(client: &Client, url: &str) -> T {
    let response = client
        .get(url)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "GET {url}: {}",
        response.status()
    );
    response.json().await.unwrap()
}

pub fn connection_id(response: &Response) -> u64 {
    response
        .headers()
        .get("x-connection-id")
        .expect("every response names its connection")
        .to_str()
        .unwrap()
        .parse()
        .expect("the connection id is a number")
}

/// How a [`TestServer`] differs from the default one; each method names one difference.
pub struct Builder {
    config: Config,
}

impl Builder {
    /// With these stream timings (heartbeat, retry, buffers).
    pub fn streams(mut self, streams: StreamConfig) -> Builder {
        self.config.streams = streams;
        self
    }

    /// As a production server runs: the fault drills off.
    pub fn without_drills(mut self) -> Builder {
        self.config.drills = false;
        self
    }

    /// With these caps on open streams (and trusted proxies).
    pub fn limits(mut self, limits: tickerplex::server::transport::limits::Limits) -> Builder {
        self.config.limits = limits;
        self
    }

    /// With the market on its own clock, one tick every `tick`, as the binary runs it.
    pub fn ticking(mut self, tick: std::time::Duration) -> Builder {
        self.config.tick = Some(tick);
        self
    }

    /// Serving static files from `site_root` (a test's own, made in a temporary directory).
    pub fn site(mut self, site_root: &std::path::Path) -> Builder {
        self.config.leptos = LeptosOptions::builder()
            .output_name("tickerplex")
            .site_root(site_root.to_string_lossy().into_owned())
            .build();
        self
    }

    /// With the embed pages framable only by `origins` (`TICKERPLEX_EMBED_ORIGINS`).
    pub fn embed_origins(mut self, origins: &str) -> Builder {
        self.config.embed_origins =
            tickerplex::server::web::embed::EmbedOrigins::parse(origins).unwrap();
        self
    }

    /// With its ledger in `store` (a SQLite file or a Postgres), which outlives the server.
    pub fn store(mut self, store: &postgres::Store) -> Builder {
        store.configure(&mut self.config);
        self
    }

    /// With the `bench` topic ticking `rate` times a second.
    pub fn bench(mut self, rate: f64) -> Builder {
        self.config.bench_rate = Some(rate);
        self
    }

    pub async fn start(self) -> TestServer {
        TestServer::start_configured(self.config).await
    }
}
