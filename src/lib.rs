//! tickerplex — a stock-ticker dashboard that teaches live server push on the web.
//!
//! A Leptos page, rendered on the server and hydrated in the browser, shows independent widgets.
//! One axum origin serves everything over HTTPS (rustls) with HTTP/2, so the browser carries the
//! page, its assets and every widget's stream on ONE TCP connection — and the app shows that it
//! does.
//!
//! This crate is compiled twice (the leptos start-axum shape): with feature `ssr` into the server
//! binary, and with feature `hydrate` into the wasm module the browser loads.
//!
//! # The map
//!
//! One event's journey, file by file:
//!
//! ```text
//! server::market   simulated exchange: random walk, listings, delistings (rand + chrono)
//!      │ server::feed ticks it and sets each topic's members
//!      ▼
//! server::topics   add / remove / update, numbered <epoch>-<seq>, framed ONCE as SSE bytes
//!      │           (server::sse), kept in a bounded history, fanned out to subscribers
//!      ▼
//! server::stream   GET /api/topics/{topic}/events: Accept, Last-Event-ID, replay or reset,
//!      │           keep-alive, shutdown
//!      ▼
//! server::connection   TLS + ALPN h2, one ConnectionId per TCP connection (server::registry);
//!      │               a tick for many streams leaves in one TLS write (server::coalesce)
//!      ▼
//! browser          one EventSource per widget (widgets::subscription) → the widget's Sink →
//!                  one signal per row (widgets::rows); or, with ?share=tabs, one EventSource
//!                  per topic in a leader tab, relayed to the others (subscription::shared)
//! ```
//!
//! Both sides:
//! - [`model`]: the types on the wire — connection ids and protocols, [`model::Quote`],
//!   [`model::TopicName`], [`model::EventId`], each SSE event's payload — one serde definition
//!   shared by server and browser.
//! - [`app`]: the HTML `shell`, the `App` root and the dashboard page; server functions the page
//!   calls live beside the components that call them.
//! - [`widgets`]: one self-contained widget per topic — server-rendered rows
//!   ([`widgets::rows`]), then its own `EventSource` in the browser (`widgets::subscription`),
//!   or a relayed share of one (`?share=tabs`).
//!
//! Server only (`ssr`), under [`server`]:
//! - `server::config`: configuration from the environment.
//! - `server::certs`: the TLS certificate — configured, or a generated local dev CA + leaf.
//! - `server::tls`: rustls, and ALPN offering `h2` then `http/1.1`.
//! - `server::connection`: the accept loop; a [`model::ConnectionId`] per TCP connection, handed
//!   to every request and echoed in the `x-connection-id` response header; graceful drain.
//! - `server::coalesce`: the connection's writes wait one scheduler pass, so the events a tick
//!   fans out to many streams leave together.
//! - `server::routes`: the axum router (pages, server functions, topics, stats, static files).
//! - `server::market`, `server::feed`: the simulated exchange and the task that ticks it.
//! - `server::topics`: event numbering, bounded history, fan-out, gap-free resume.
//! - `server::sse`: the SSE wire format.
//! - `server::stream`: the event-stream handler.
//! - `server::registry`: live connections and their streams (`GET /api/stats`).
//! - `server::drills`: fault drills (drop every stream, restart the epoch, rotate the
//!   watchlist), off unless configured.
//! - `server::bench`: the `bench` topic's fixed-rate, time-stamped ticks, which the load
//!   generator (`src/bin/load/`, feature `bench`) measures; off unless configured.
//! - `server::shutdown`: Ctrl-C / SIGTERM.
//! - `server::telemetry`: `tracing` logs.
//!
//! Browser only (`hydrate`): `hydrate()`, the wasm entry point.
//!
//! `src/main.rs` only wires these together.

// The widget's view type is deep (a table of rows of cells, each reactive); the optimised wasm
// build (`cargo leptos build --release`) needs more than the default 128 to compute its layout.
#![recursion_limit = "256"]

pub mod app;
pub mod model;
pub mod widgets;

#[cfg(feature = "ssr")]
pub mod server;

/// The browser's entry point: the wasm module calls this once loaded, and Leptos attaches to the
/// server-rendered HTML instead of rendering it again.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
