//! The axum `Router`: one origin for the page, its server functions, the event streams and the
//! static files.
//!
//! What it owns: which URL goes to which handler, and the layers around them. It builds the
//! router and nothing else — it spawns no task and holds no state of its own, so building a
//! router in a test changes nothing else.
//!
//! `router` is a plain function (axum's examples call it `app()`), so a test can build the exact
//! router the binary serves.

use crate::model::{Stats, TopicName};
use crate::server::demo::cluster_control;
use crate::server::demo::drills;
use crate::server::demo::faults;
use crate::server::pubsub::instance::INSTANCE_HEADER;
use crate::server::pubsub::topics::Topics;
use crate::server::stream;
use crate::server::trading::session;
use crate::server::transport::shutdown;
use crate::server::web::bad_input;
use crate::server::web::caching;
use crate::server::web::embed;
use crate::server::web::empty_chunks;
use crate::server::web::state::AppState;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use leptos::config::LeptosOptions;
use leptos::prelude::AnyView;
use leptos_axum::{AxumRouteListing, LeptosRoutes};
use std::sync::Arc;
use tower_http::csrf::{
    CsrfLayer, ProtectionError, ProtectionErrorKind, ResponseForProtectionError,
};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

/// The largest request body accepted: 16 KiB, hundreds of times an order's form. axum's default
/// is 2 MiB, which a client could send to every server function for nothing.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// The Leptos app, as the router serves it: its routes, and the HTML shell around every page.
///
/// Handed in (by `main.rs` and the tests, from `tickerplex::app::pages()`) rather than imported:
/// the app's widgets call the server's functions, so a router that imported the app would make
/// the server and the app import each other. This way the arrows run one way — the app knows
/// the server's door ([`super::functions`]), and the server knows only this value.
#[derive(Clone)]
pub struct Pages {
    /// What `leptos_axum::generate_route_list` found in the app's router.
    pub routes: Vec<AxumRouteListing>,
    /// The document around a page: `<head>`, hydration scripts, `<body>`. Also the 404 page's.
    pub shell: fn(LeptosOptions) -> AnyView,
}

/// Builds the router.
///
/// - `GET /api/topics`: the topic catalogue (JSON); it and the events URLs below answer any
///   origin, never with credentials ([`embed`]);
/// - `GET /api/topics/{topic}/events`, `GET /api/topics/sector/{slug}/events`: one topic as an
///   SSE stream or a JSON snapshot ([`stream`]). Two routes only because a path segment cannot
///   match the `/` in `sector/energy`; one handler serves both;
/// - `GET /api/portfolio/events`: the session's own portfolio, as SSE or JSON (`stream`);
/// - `GET /api/ops/events`: this instance's numbers once a second, as SSE (`crate::server::observe::ops`);
/// - `GET /api/stats`: live connections and topics (JSON);
/// - `GET /readyz`: 200 while taking new streams, 503 once draining (for an edge's health check);
/// - `POST /api/drills/...`: the fault drills, when enabled ([`drills`]);
/// - `/api/faults/...`: the fault panel's streams and triggers, when drills are ([`faults`]);
/// - the Leptos routes, rendered on the server (SSR) and hydrated by the wasm module: the
///   dashboard `/` and the one-widget embed pages `/embed/<topic>`;
/// - the Leptos server functions (`/api/...`), registered by `leptos_routes`;
/// - everything else from cargo-leptos's `site-root` (the wasm, JS and CSS bundle under `/pkg`,
///   the files from `public/`), or the app's 404 page.
///
/// No compression layer, on purpose: a stream compressed by mistake delivers events only when
/// a buffer fills (the fault panel shows it: `faults`, `compressed/wrong`). The bundle is
/// compressed once, at build time (`--precompress`; see [`caching`]).
pub fn router(state: AppState, pages: Pages) -> Router {
    let shell = pages.shell;
    Router::new()
        .route(
            "/api/topics",
            get(list_topics).layer(embed::public_topics_cors()),
        )
        .route("/api/stats", get(stats))
        .route("/readyz", get(shutdown::readyz))
        // Always routed; each drill checks whether drills are on and says how to turn them on.
        .merge(drills::routes())
        // The fault panel's cluster card, in `scripts/cluster` only (`cluster_control`).
        .merge(cluster_control::routes())
        // The fault panel's streams, each through a real mechanism, when drills are on (`faults`).
        .merge(faults::routes(state.drills.enabled))
        // The pages (rendered with `shell` around them) and every `#[server]` function. The
        // state goes into the reactive context, where `state_from_context` finds it.
        .leptos_routes(&state, pages.routes, {
            let options = state.leptos.clone();
            move || shell(options.clone())
        })
        // A server function's arguments it cannot decode: 400 with the reason, not server_fn's
        // 500 for every error (`bad_input`).
        .layer(axum::middleware::from_fn(
            bad_input::undecodable_arguments_are_400,
        ))
        // A visit to the dashboard starts a session (or renews its cookie).
        .layer(axum::middleware::from_fn_with_state(
            state.portfolios.clone(),
            session::on_dashboard,
        ))
        // Anything else: a file from `site-root` (the wasm bundle, the CSS, `public/`), or the
        // app's own 404 page rendered by Leptos.
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        // The pages' streamed bodies without their empty chunks: an HTTP/2 client may close a
        // connection that carries too many empty DATA frames (`empty_chunks`).
        .layer(axum::middleware::from_fn(empty_chunks::skip_empty_chunks))
        // Request bodies: a server function's arguments (an order) are a few dozen bytes. A
        // declared length past the bound is answered 413 before the body is read (axum's own
        // `DefaultBodyLimit` would let the server function fail reading it: a 500).
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        // Cross-site request forgery: a state-changing request (anything but GET, HEAD,
        // OPTIONS) from another site is refused before it reaches a handler — see `csrf`.
        .layer(csrf())
        // One span per request (`RUST_LOG=tower_http=debug` shows them), the event streams'
        // excepted (below). Inside the router, so axum boxes the traced body: put around the
        // router instead, the body sits unboxed in every HTTP/2 stream's task and a stream
        // weighed ~200 B more (5k streams, W=240, 10k/s: three same-run repeats, 5ab36e4).
        .layer(TraceLayer::new_for_http())
        // The event streams join here, past the three layers above: each wraps a response's
        // body in one more box for the life of the response, and a stream's response lives as
        // long as the stream. Not one of them acts on a stream: its GET has no body to limit
        // and changes no state, and its own log line ("stream opened", with topic, connection
        // and start) is its record. What it saves: ~140 B of heap a stream (the wrappers'
        // line in BENCHMARKS.md, "Where each byte of a stream goes"); a million idle streams
        // held 2 084 B each against 2 206 with the layers (medians of three same-run pairs,
        // `tickerplex-load suite --peers tickerplex,tickerplex-baseline --only "1M streams"`).
        .merge(event_streams())
        // From here on, every route: the streams too. None of these wraps a body (a `from_fn`
        // middleware hands on the router's own `Body`, and a header layer only sets headers).
        // Hashed bundle files cached for a year, everything else revalidated (`caching`).
        .layer(axum::middleware::from_fn(caching::cache_control))
        // While the `stop-streams` drill is in force, event-stream requests get 204.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            drills::answer_stopped,
        ))
        // Every answer names the instance that gave it: behind an edge, which one that was.
        .layer(SetResponseHeaderLayer::overriding(
            INSTANCE_HEADER,
            state.instance.header_value(),
        ))
        // The headers every response gets, whatever its type. The pages' Content-Security-
        // Policy is not here: it names a nonce made for each page (`app::security`).
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("strict-origin-when-cross-origin"),
        ))
        // Every listener is TLS, so every answer may say "only ever over TLS" (see
        // `strict_transport_security` for how long).
        .layer(SetResponseHeaderLayer::if_not_present(
            header::STRICT_TRANSPORT_SECURITY,
            state.strict_transport_security.clone(),
        ))
        .with_state(state)
}

/// The event streams' routes: every topic, the session's portfolio, the ops numbers.
///
/// The public market topics are readable cross-origin (never with credentials: see `embed`);
/// the portfolio is not (no CORS layer: the cookie says whose, `session`); `/api/ops/events`
/// is this instance's numbers once a second, for the `/ops` page (`ops`). Two routes for the
/// topics only because a path segment cannot match the `/` in `sector/energy`; one handler
/// serves both.
fn event_streams() -> Router<AppState> {
    Router::new()
        .route("/api/topics/{topic}/events", get(stream::topic_events))
        .route(
            "/api/topics/sector/{slug}/events",
            get(stream::topic_events),
        )
        .layer(embed::public_topics_cors())
        .route(stream::PORTFOLIO_PATH, get(stream::portfolio_events))
        .route(stream::OPS_PATH, get(stream::ops_events))
}

/// The CSRF check, as OWASP now recommends it and Go 1.25 ships it: no tokens, the browser's
/// own Fetch Metadata. A POST passes when `Sec-Fetch-Site` is `same-origin` or `none` (typed
/// by the user); without that header, when its `Origin` names this host; with neither header it
/// is not from a browser (curl, the tests) and passes. Anything else — a form or `fetch` on
/// another site aimed at Buy/Sell or a drill — gets 403 and one line saying why.
///
/// Behind an edge this still holds: the browser's headers pass through unchanged, and both
/// configs in deploy/ pass `Host` and `Origin` as the browser sent them.
fn csrf() -> CsrfLayer<impl ResponseForProtectionError<axum::body::Body>> {
    CsrfLayer::new().with_rejection_response(|error: ProtectionError| {
        let why = match error.kind() {
            ProtectionErrorKind::CrossOriginRequest => "it came from another site (Sec-Fetch-Site)",
            _ => "its Origin is not this site",
        };
        let body = format!("403 Forbidden: cross-site request refused: {why}; state-changing requests must come from this site's own pages\n");
        (StatusCode::FORBIDDEN, body).into_response()
    })
}

/// `GET /api/topics`: the catalogue, as the path forms a client puts in an events URL. Asks
/// for the topics alone — the one sub-state it reads.
async fn list_topics(State(topics): State<Arc<Topics>>) -> Json<Vec<TopicName>> {
    Json(topics.iter().map(|topic| topic.name().clone()).collect())
}

/// `GET /api/stats`: the one handler that takes the whole state, because the stats are about
/// all of it (connections from the registry, subscribers and ids from the topics).
async fn stats(State(state): State<AppState>) -> Json<Stats> {
    Json(state.stats())
}
