//! Everything that only exists on the server (`feature = "ssr"`).
//!
//! The pieces, in the order a request meets them:
//! - [`config`]: what the operator chose (address, certificate files) read from the environment.
//! - [`certs`]: the TLS identity — a configured certificate, or a generated local dev CA + leaf.
//! - [`tls`]: the rustls `ServerConfig`, where ALPN offers `h2` before `http/1.1`.
//! - [`connection`]: the accept loop; gives every TCP connection a [`crate::model::ConnectionId`]
//!   and hands each request the connection it arrived on.
//! - [`coalesce`]: the connection's writes wait one scheduler pass, so a tick fanned out to many
//!   streams leaves in one TLS write.
//! - [`routes`]: the axum `Router` — Leptos pages, server functions, event streams, static files.
//! - [`market`]: the simulated exchange (random walk, listings, delistings).
//! - [`feed`]: the task that ticks the market and sets each topic's members.
//! - [`topics`]: numbered events, bounded history, fan-out; resume without gaps or duplicates.
//! - [`sse`]: the SSE wire format, framed once per event.
//! - [`stream`]: `GET /api/topics/{topic}/events` — negotiation, resume, keep-alive, drain.
//! - [`registry`]: live connections and their streams, for `GET /api/stats`.
//! - [`orders`]: Buy/Sell validation and fills.
//! - [`drills`]: fault drills (drop every stream, forget history, rotate the watchlist) for tests
//!   and demos, off unless configured.
//! - [`bench`]: the `bench` topic's fixed-rate, time-stamped ticks, for the load generator; off
//!   unless configured.
//! - [`shutdown`]: the Ctrl-C / SIGTERM signal the accept loop drains on.
//! - [`telemetry`]: structured `tracing` logs.
//!
//! Nothing here is compiled into the wasm module.

pub mod bench;
pub mod certs;
pub mod coalesce;
pub mod config;
pub mod connection;
pub mod drills;
pub mod feed;
pub mod market;
pub mod orders;
pub mod registry;
pub mod routes;
pub mod shutdown;
pub mod sse;
pub mod stream;
pub mod telemetry;
pub mod tls;
pub mod topics;

use std::net::SocketAddr;

/// Why the server could not start. Each variant names what the operator must fix; `main` prints it
/// as one line instead of a panic trace.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error(transparent)]
    Certs(#[from] certs::CertError),
    #[error("cannot listen on {addr}: {source} (is another tickerplex already running? set LEPTOS_SITE_ADDR to use another address)")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}
