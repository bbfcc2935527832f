//! A real tickerplex server for integration tests: TLS with a fresh dev CA, HTTP/2 by ALPN, on
//! 127.0.0.1 port 0, with a market the test steps by hand (no clock: `step` is one tick).
//!
//! Servers run on ONE process-wide multi-thread runtime, as the binary has one, while each test
//! drives its clients from its own `#[tokio::test]` runtime — client and server do not share a
//! scheduler, as over a real network.

#![allow(dead_code)] // each test file uses a different part of the harness

use chrono::{DateTime, Utc};
use leptos::config::LeptosOptions;
use reqwest::{Certificate, Client, ClientBuilder, Response};
use std::net::SocketAddr;
use std::sync::{Arc, LazyLock, Mutex};
use tickerplex::model::{EventId, Stats, TopicName};
use tickerplex::server::certs::{load, DevPki};
use tickerplex::server::drills::Drills;
use tickerplex::server::feed::{self, Feed};
use tickerplex::server::registry::Registry;
use tickerplex::server::routes::{self, AppState, StreamConfig};
use tickerplex::server::topics::Topics;
use tickerplex::server::{connection, tls};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub const EPOCH: u64 = 1_700_000_000_000;
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
    pub ca_pem: String,
    pub topics: Arc<Topics>,
    feed: Mutex<Feed>,
    /// Cancelled to start the drain, exactly as the binary's signal handler does.
    pub draining: CancellationToken,
    pub task: JoinHandle<()>,
    _certs: tempfile::TempDir,
}

impl TestServer {
    pub fn start() -> TestServer {
        TestServer::start_with(StreamConfig::default())
    }

    pub fn start_with(streams: StreamConfig) -> TestServer {
        TestServer::start_configured(streams, true)
    }

    /// As a production server runs: the fault drills off.
    pub fn start_without_drills() -> TestServer {
        TestServer::start_configured(StreamConfig::default(), false)
    }

    fn start_configured(streams: StreamConfig, drills: bool) -> TestServer {
        let certs = tempfile::tempdir().unwrap();
        let pki = DevPki::generate().unwrap();
        let files = pki.write_to(certs.path()).unwrap();
        let tls = tls::server_config(load(&files).unwrap()).unwrap();

        let topics = Arc::new(feed::topics(EPOCH));
        let feed = Feed::new(SEED, topics.clone(), DateTime::UNIX_EPOCH);
        let registry = Arc::new(Registry::default());
        let draining = CancellationToken::new();
        let state = AppState {
            leptos: LeptosOptions::builder().output_name("tickerplex").build(),
            topics: topics.clone(),
            registry: registry.clone(),
            streams,
            shutdown: draining.clone(),
            drills: Drills {
                enabled: drills,
                ..Drills::default()
            },
        };

        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = draining.clone();
        let task = SERVER_RUNTIME.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            connection::serve(
                listener,
                tls,
                routes::router(state),
                registry,
                stop.cancelled_owned(),
            )
            .await
        });

        TestServer {
            addr,
            ca_pem: pki.ca_pem,
            topics,
            feed: Mutex::new(feed),
            draining,
            task,
            _certs: certs,
        }
    }

    /// A client that trusts this server's dev CA and resolves `localhost` to it.
    pub fn client(&self) -> ClientBuilder {
        Client::builder()
            .add_root_certificate(Certificate::from_pem(self.ca_pem.as_bytes()).unwrap())
            .resolve("localhost", self.addr)
            .https_only(true)
    }

    pub fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.addr.port())
    }

    /// Advances the market `ticks` ticks, publishing their events.
    pub fn step(&self, ticks: usize) {
        let mut feed = self.feed.lock().unwrap();
        for _ in 0..ticks {
            feed.step(Utc::now());
        }
    }

    /// The id of the last event `topic` published.
    pub fn current_id(&self, topic: &TopicName) -> EventId {
        self.topics.get(topic).unwrap().stats().current_id
    }

    /// Steps the market until `topic` has published at least `events` more events.
    pub fn step_until_published(&self, topic: &TopicName, events: u64) -> EventId {
        let target = self.current_id(topic).seq + events;
        for _ in 0..10_000 {
            if self.current_id(topic).seq >= target {
                return self.current_id(topic);
            }
            self.step(1);
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
        client
            .get(self.url("/api/stats"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
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
