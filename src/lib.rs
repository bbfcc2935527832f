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
//! One event's journey, file by file, each room entered once (paths under `server::`):
//!
//! ```text
//! pubsub::market     simulated exchange: random walk, listings, delistings (rand + chrono)
//!      │             pubsub::feed ticks it, decides each topic's members, and tells the topics
//!      ▼
//! pubsub::topics     the difference becomes add / remove / update events; subscribing turns a
//!      │             Last-Event-ID into a snapshot, an exact replay or a reset
//!      ▼
//! pubsub::log        THE SEAM: where events, members and history live — this process's memory,
//!      │             or Redis Streams shared by every instance (log::redis, whose one reader
//!      │             task per instance feeds the same local broadcast) — numbered
//!      │             <epoch>-<seq>, framed ONCE as SSE bytes (server::sse), broadcast
//!      ▼
//! stream             GET /api/topics/{topic}/events: request (Accept, Last-Event-ID) →
//!      │             outbox (hello, prelude, live bytes, heartbeats, goodbye)
//!      ▼
//! transport::connection   TLS + ALPN h2, one ConnectionId per TCP connection
//!      │             (transport::registry); a tick for many streams leaves in one TLS write
//!      │             (transport::coalesce)
//!      ▼
//! browser            one island per widget (widgets::islands), hydrated from the snapshot in
//!                    its props; one EventSource per widget (widgets::subscription) → its Sink →
//!                    one signal per row (widgets::rows); or, with ?share=tabs, one EventSource
//!                    per topic in a leader tab, relayed to the others (subscription::shared); a
//!                    stream silent past 1.5–2 heartbeats is reopened from its last id
//!                    (subscription::watchdog)
//! ```
//!
//! An order runs the other way, and comes back as a private event:
//!
//! ```text
//! widgets::order_ticket   POST /api/place_order + Idempotency-Key (widgets::order_client)
//!      ▼                  (CSRF-checked in web::routes)
//! trading::orders         who (trading::session: the cookie) → which (the key) → what → price
//!      ▼
//! trading::ledger         ONE transaction (ledger::sqlite, or ledger::postgres past one
//!      │                  machine): the session's row (written by its first order: a visit
//!      │                  writes nothing), locked; key new, affordable → fill numbered per
//!      │                  account (the account is the fold of its fills: ledger::book)
//!      ▼
//! trading::portfolio      the session's channel: the fill as add / update / remove, ids
//!      │                  <account>-<fill>; prices as id-less updates; other instances hear
//!      │                  of it from Ledger::watch (SQLite polled, Postgres NOTIFY)
//!      ▼
//! stream                  GET /api/portfolio/events (stream::private: 401 without a session),
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
//! Server only (`ssr`), under `server`: one folder per stage of an event's journey, each
//! importing only the stages below it (the table, with what each folder may import, is the doc
//! of `server`):
//! - `server::run`: THE assembly — `Server::build(config, app::pages())`, `bind`,
//!   `serve(listeners)`; used by `main.rs` and by the integration tests alike.
//!   `server::config`: configuration from the environment.
//! - `server::web`: the router (`routes`, handed the app's `Pages`), the state handlers share
//!   (`state`, with its `Opening` sub-state), the widgets' one door in (`functions`), the
//!   router's own layers (`bad_input`, `empty_chunks`, `caching`, `embed`), which widgets a
//!   dashboard URL asks for (`dashboard`).
//! - `server::demo`: the fault drills (`drills`), the fault panel's streams (`faults` +
//!   `faults::mechanisms`), its cluster card (`cluster_control`), the load generator's `bench`
//!   topic (`bench`) — everything a production server would leave out.
//! - `server::stream`: the event-stream handlers (`request`, `negotiate`, `error`, `private`
//!   for the portfolio and ops streams), the `outbox` each stream drains, the keep-alive `beat`.
//! - `server::observe`: Prometheus's `exporter` on a listener of its own, the `/ops` samples
//!   (`ops`), `telemetry`.
//! - `server::trading`: Buy/Sell (`orders`), the cookie (`session`), the ledger (`ledger` +
//!   `book`, `account`, `rules`, and its backends `sqlite` and `postgres`), each session's
//!   private stream (`portfolio`).
//! - `server::pubsub`: the simulated exchange (`market`) and the one task that ticks it (`feed`,
//!   `feed::takeover` in a cluster), the topics (`topics` + `subscribe`: resume rules), the event
//!   log (`log` + `memory`, `history`, `redis` with its `reader` and `lease`), this instance's
//!   name and its log's health (`instance`).
//! - `server::transport`: certificates (`certs`), rustls with ALPN `h2` then `http/1.1` (`tls`),
//!   the accept loop (`connection`), batched writes (`coalesce`), dead and trickle readers
//!   (`stall`), the caps on streams (`limits`) and who holds them (`registry`, `GET /api/stats`),
//!   the drain (`shutdown`), waiting for Redis or Postgres (`backoff`).
//! - `server::sse`: the wire format; `server::metrics`: the counters every layer bumps.
//!
//! Browser only (`hydrate`): `hydrate()`, the wasm entry point.
//!
//! # Who imports whom
//!
//! Every arrow points one way; no module imports a module that imports it back:
//!
//! ```text
//! main ─► app::pages() ─► server::run ─► web ─► demo ─► stream ─► observe ─► trading ─► pubsub ─► transport ─► (sse, metrics) ─► model
//!  app ─► widgets ─► server::web::functions ─► (the folders below web)        widgets ─► model
//! widgets::subscription ─► widgets::{rows, wire_status}   (never the other way)
//! ```
//!
//! The router does not import the app: `main.rs` hands it the app's routes and shell
//! (`server::web::routes::Pages`), so the app may call the server's functions without a circle.

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
