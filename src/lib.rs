//! tickerplex — a stock-ticker dashboard that teaches live server push on the web.
//!
//! A Leptos page, rendered on the server, shows independent widgets — each an island that
//! hydrates in the browser on its own (`widgets::islands`).
//! One axum origin serves everything over HTTPS (rustls) with HTTP/2, so the browser carries the
//! page, its assets and every widget's stream on ONE TCP connection — and the app shows that it
//! does.
//!
//! This crate is compiled twice (the leptos start-axum shape): with feature `ssr` into the server
//! binary, and with feature `hydrate` into the wasm module the browser loads. The load generator
//! that benchmarks it is the workspace's other crate, `bench/load`.
//!
//! # The map
//!
//! This is the one map of the crate; `ARCHITECTURE.md` (in `../shared`) tells the same story.
//! One event's journey, file by file, each room entered once:
//!
//! ```text
//! server::market   simulated exchange: random walk, listings, delistings (rand + chrono)
//!      │ server::feed ticks it, decides each topic's members, and tells the topics
//!      ▼
//! server::topics   the difference becomes add / remove / update events; subscribing turns a
//!      │           Last-Event-ID into a snapshot, an exact replay or a reset
//!      ▼
//! server::log      THE SEAM: where events, members and history live — this process's memory,
//!      │           or Redis Streams shared by every instance (log::redis, whose one reader
//!      │           task per instance feeds the same local broadcast) — numbered
//!      │           <epoch>-<seq>, framed ONCE as SSE bytes (server::sse), broadcast
//!      ▼
//! server::stream   GET /api/topics/{topic}/events: request (Accept, Last-Event-ID) →
//!      │           outbox (hello, prelude, live bytes, heartbeats, goodbye)
//!      ▼
//! server::connection   TLS + ALPN h2, one ConnectionId per TCP connection (server::registry);
//!      │               a tick for many streams leaves in one TLS write (server::coalesce)
//!      ▼
//! browser          one island per widget (widgets::islands), hydrated from the snapshot in
//!                  its props; one EventSource per widget (widgets::subscription) → its Sink → one signal
//!                  per row (widgets::rows); or, with ?share=tabs, one EventSource per topic in
//!                  a leader tab, relayed to the others (subscription::shared); a stream silent
//!                  past 1.5–2 heartbeats is reopened from its last id (subscription::watchdog)
//! ```
//!
//! An order runs the other way, and comes back as a private event:
//!
//! ```text
//! widgets::order_ticket   POST /api/place_order + Idempotency-Key (widgets::order_client)
//!      ▼                  (CSRF-checked in server::routes)
//! server::orders          who (server::session: the cookie) → which (the key) → what → price
//!      ▼
//! server::ledger          ONE transaction (ledger::sqlite, or ledger::postgres past one
//!      │                  machine): the session's row (written by its first order: a visit
//!      │                  writes nothing), locked; key new, affordable → fill numbered per
//!      │                  account (the account is the fold of its fills: ledger::book)
//!      ▼
//! server::portfolio       the session's channel: the fill as add / update / remove, ids
//!      │                  <account>-<fill>; prices as id-less updates; other instances hear
//!      │                  of it from Ledger::watch (SQLite polled, Postgres NOTIFY)
//!      ▼
//! server::stream          GET /api/portfolio/events (stream::private: 401 without a session),
//!      │                  then the same outbox as any topic
//!      ▼
//! widgets::portfolio      cash and positions
//! ```
//!
//! Both sides:
//! - [`model`]: the types on the wire — connection ids and protocols, [`model::Quote`],
//!   [`model::TopicName`], [`model::EventKind`] and [`model::EventId`], each event's payload —
//!   one serde definition shared by server and browser.
//! - [`app`]: the HTML `shell`, the `App` root and the pages: layout only, rendered on the
//!   server only.
//! - [`widgets`]: the islands ([`widgets::islands`]: which parts hydrate, what they share, when
//!   the page counts as hydrated); one self-contained widget per topic — server-rendered rows
//!   ([`widgets::rows`]), then its own `EventSource` in the browser (`widgets::subscription`);
//!   its wire X-ray (`widgets::wire_status`); the page's connection line and ping
//!   (`widgets::connection`), the order ticket (+ `widgets::order_client`, its
//!   `Idempotency-Key`), the portfolio, the ops panel, the fault panel (`widgets::faults`,
//!   whose catalogue is [`model::Fault`]) and the streams strip, each with the server function
//!   or stream it uses.
//!
//! Server only (`ssr`), under `server`, from the entry point inwards:
//! - `server::run`: THE assembly — `Server::build(config)`, `bind`, `serve(listeners)`; used by
//!   `main.rs` and by the integration tests alike.
//! - `server::config`: configuration from the environment. `server::certs`: the certificate
//!   (configured, or a generated dev CA + leaf). `server::tls`: rustls, ALPN `h2` then
//!   `http/1.1`.
//! - `server::functions`: the bodies of the widgets' server functions — the UI's one door
//!   into the server.
//! - `server::state`: `AppState` and the sub-states handlers extract. `server::routes`: the
//!   router, and nothing else; its layers of their own: `server::bad_input` (a server
//!   function's undecodable arguments are 400, not server_fn's 500), `server::empty_chunks`
//!   (no empty DATA frames), `server::caching` (Cache-Control), `server::embed` (CORS for the
//!   public topics). `server::dashboard`: which widgets a dashboard URL asks for.
//!   `server::instance`: this instance's name and its log's health.
//!   `server::limits`: the caps on open streams and who counts as one client.
//! - `server::connection`: the accept loop; `server::coalesce`: batched writes;
//!   `server::stall`: dead and trickle readers cut; `server::registry`: connections and their
//!   streams (`GET /api/stats`).
//! - `server::shutdown`: the drain — signal, goodbye to every stream, deadline.
//! - `server::market`, `server::feed`: the simulated exchange and the one task that ticks it
//!   (`feed::takeover`: in a cluster, only while it holds the feed lease).
//! - `server::topics` (+ `topics::subscribe`), `server::log` (+ `log::memory`, `log::history`,
//!   `log::redis` with its `reader` and `lease`): events, resume rules, and where they are kept.
//! - `server::sse`: the wire format. `server::stream` (+ `request`, `negotiate`, `outbox`): the
//!   event-stream handler.
//! - `server::metrics`: the counters; `server::exporter`: Prometheus's `GET /metrics` on a
//!   listener of its own. `server::ops`: the `/ops` page's samples, once a second on their
//!   own stream.
//! - `server::orders`: Buy/Sell validation and fills. `server::ledger` (+ `ledger::book`,
//!   `ledger::account`, and its two backends `ledger::sqlite` and `ledger::postgres`): the
//!   ledger of sessions and fills. `server::backoff`: waiting for Redis or Postgres at start.
//!   `server::session`: the cookie. `server::portfolio`:
//!   each session's private stream. `server::drills`: fault drills, off unless
//!   configured; `server::cluster_control`: the fault panel's cluster card, passing freeze /
//!   kill / restart to `scripts/cluster`. `server::faults` (+ `faults::mechanisms`): the fault panel's streams, each
//!   through a real compressor, buffer, idle timeout or gateway; off with the drills.
//!   `server::bench`: the `bench` topic for the load generator, off unless configured.
//!   `server::telemetry`: `tracing` logs.
//!
//! Browser only (`hydrate`): `hydrate()`, the wasm entry point.
//!
//! # Who imports whom
//!
//! Every arrow points one way; no module imports a module that imports it back:
//!
//! ```text
//! main ─► server::run ─► routes ─► app ─► widgets ─► server::functions ─► state ─► topics ─► log ─► sse
//!              │            └────► stream ─► (topics, registry, shutdown, instance) └─► model
//!              └─► feed ─► market, topics, log   shutdown ─► topics   instance ─► log
//! orders ─► (ledger, portfolio, topics)   portfolio ─► (ledger, topics, log)   session ─► ledger
//! routes ─► faults ─► (stream, drills, state)   widgets::faults ─► widgets, model::Fault
//! widgets::subscription ─► widgets::{rows, wire_status}   (never the other way)
//! ```

// The widget's view type is deep (a table of rows of cells, each reactive); the optimised wasm
// build (`cargo leptos build --release`) needs more than the default 128 to compute its layout.
#![recursion_limit = "256"]

pub mod app;
pub mod model;
pub mod widgets;

#[cfg(feature = "ssr")]
pub mod server;

/// The browser's entry point: leptos's island loader calls this once the wasm has loaded, then
/// hydrates each `<leptos-island>` in the page from its own export (`widgets::islands`). The
/// rest of the page stays the server's HTML.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
    widgets::islands::when_none();
}
