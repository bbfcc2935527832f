//! The axum `Router`: one origin for the page, its server functions and its static files.
//!
//! `router` is a plain function (axum's examples call it `app()`), so tests can build the exact
//! router the binary serves and run it on a listener of their own.

use crate::app::{shell, App};
use axum::Router;
use leptos::config::LeptosOptions;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_http::trace::TraceLayer;

/// Builds the router.
///
/// - the Leptos routes, rendered on the server (SSR) and hydrated by the wasm module;
/// - the Leptos server functions (`/api/...`), registered by `leptos_routes`;
/// - everything else from cargo-leptos's `site-root` (the wasm, JS and CSS bundle under `/pkg`,
///   the files from `public/`), or the app's 404 page.
pub fn router(options: LeptosOptions) -> Router {
    let routes = generate_route_list(App);
    Router::new()
        .leptos_routes(&options, routes, {
            let options = options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler(shell))
        .layer(TraceLayer::new_for_http())
        .with_state(options)
}
