//! The axum `Router`: one origin for the page, its server functions, the event streams and the
//! static files.
//!
//! `router` is a plain function (axum's examples call it `app()`), so tests can build the exact
//! router the binary serves and run it on a listener of their own.

use super::drills::{self, Drills};
use super::registry::Registry;
use super::stream;
use super::topics::Topics;
use crate::app::{shell, App};
use crate::model::{Stats, TopicName};
use axum::extract::{FromRef, State};
use axum::routing::get;
use axum::{Json, Router};
use leptos::config::LeptosOptions;
use leptos_axum::{generate_route_list, AxumRouteListing, LeptosRoutes};
use std::sync::{Arc, LazyLock};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tower_http::trace::TraceLayer;

/// Timings of every event stream.
#[derive(Clone, Copy, Debug)]
pub struct StreamConfig {
    /// Sent as `retry:` at the start of each stream: the browser's reconnect delay.
    pub retry: Duration,
    /// A comment is sent this often, so proxies do not close idle streams.
    pub keep_alive: Duration,
}

impl Default for StreamConfig {
    fn default() -> Self {
        StreamConfig {
            retry: Duration::from_secs(2),
            // Common proxy idle timeouts are 30–60 s; 15 s stays well inside them.
            keep_alive: Duration::from_secs(15),
        }
    }
}

/// Everything a handler may need, cloned (cheaply: `Arc`s) into each request.
#[derive(Clone)]
pub struct AppState {
    pub leptos: LeptosOptions,
    pub topics: Arc<Topics>,
    pub registry: Arc<Registry>,
    pub streams: StreamConfig,
    /// Cancelled when the server starts draining: every stream sends `shutdown` and ends.
    pub shutdown: CancellationToken,
    /// The fault drills, off unless configured.
    pub drills: Drills,
}

impl AppState {
    /// Live connections and topics: `GET /api/stats`, and the page's streams strip.
    pub fn stats(&self) -> Stats {
        Stats {
            connections: self.registry.connections(),
            topics: self.topics.iter().map(|topic| topic.stats()).collect(),
        }
    }
}

/// The state, from inside a Leptos server function (which `leptos_routes` runs with the router's
/// state in context).
pub fn state_from_context() -> Result<AppState, leptos::prelude::ServerFnError> {
    leptos::prelude::use_context::<AppState>().ok_or_else(|| {
        leptos::prelude::ServerFnError::new("the application state is missing from the context")
    })
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> LeptosOptions {
        state.leptos.clone()
    }
}

/// The Leptos routes of [`App`], discovered once per process.
///
/// `generate_route_list` renders the app in a special mode to find its routes — process-wide
/// set-up that is not safe to run while other pages are rendering (the integration tests,
/// which build a router per test, hung about one run in eight until it ran once). The routes
/// are a property of the compiled app, so computing them once is also simply correct.
static ROUTE_LIST: LazyLock<Vec<AxumRouteListing>> = LazyLock::new(|| generate_route_list(App));

/// Builds the router.
///
/// - `GET /api/topics`: the topic catalogue (JSON);
/// - `GET /api/topics/{topic}/events`: one topic as an SSE stream ([`stream`]);
/// - `GET /api/stats`: live connections and topics (JSON);
/// - `POST /api/drills/...`: the fault drills, when enabled ([`drills`]);
/// - the Leptos routes, rendered on the server (SSR) and hydrated by the wasm module;
/// - the Leptos server functions (`/api/...`), registered by `leptos_routes`;
/// - everything else from cargo-leptos's `site-root` (the wasm, JS and CSS bundle under `/pkg`,
///   the files from `public/`), or the app's 404 page.
///
/// Call it inside a tokio runtime: it also starts the task that, when `state.shutdown` fires,
/// tells every open stream to say goodbye ([`stream::goodbye_on_shutdown`]).
pub fn router(state: AppState) -> Router {
    tokio::spawn(stream::goodbye_on_shutdown(
        state.topics.clone(),
        state.shutdown.clone(),
    ));
    Router::new()
        .route("/api/topics", get(list_topics))
        .route("/api/topics/{topic}/events", get(stream::topic_events))
        .route(
            "/api/topics/sector/{slug}/events",
            get(stream::sector_events),
        )
        .route("/api/stats", get(stats))
        .merge(drills::routes())
        .leptos_routes(&state, ROUTE_LIST.clone(), {
            let options = state.leptos.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn list_topics(State(state): State<AppState>) -> Json<Vec<TopicName>> {
    Json(
        state
            .topics
            .iter()
            .map(|topic| topic.name().clone())
            .collect(),
    )
}

async fn stats(State(state): State<AppState>) -> Json<Stats> {
    Json(state.stats())
}
