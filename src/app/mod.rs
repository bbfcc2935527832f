//! The Leptos application: the HTML shell, the `App` root and the dashboard page — UI only.
//!
//! Server functions live beside the widgets that call them (`crate::widgets`), not here, so
//! this file reads as the page's layout.
//!
//! Rendered on the server only. `shell` renders the whole document; in the browser only the
//! islands inside it hydrate (`crate::widgets::islands`), each from the props the server
//! serialised beside it — so nothing in this file is compiled into the wasm's live code.
//!
//! The dashboard: the connection this page arrived on (with a warning when it is HTTP/1.1), the
//! server's count of streams and connections, a ping, the order ticket, and the widgets —
//! chosen by the URL (`?widgets=…&count=…`, see [`crate::widgets`]).

mod embed;
mod live_reload;
mod security;

use crate::widgets::{
    dashboard_snapshots, faults_setup, page_origin, which_connection, FaultsPanel, OpsPanel,
    OrderTicket, PageConnection, PageContext, Ping, Portfolio, StreamsStrip, WidgetGrid,
};
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, MetaTags, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    hooks::use_query_map,
    path, SsrMode,
};
use live_reload::LiveReload;
use security::ContentSecurityPolicy;

/// The whole HTML document. Only the server calls this; the browser hydrates the islands in it.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                <ContentSecurityPolicy options=options.clone() />
                // The bundle's CSS under its content-hashed name (`server::web::caching`), read from
                // the hash file cargo-leptos writes beside the server binary.
                <HashedStylesheet options=options.clone() id="leptos" />
                <LiveReload options=options.clone() />
                // `islands`: the loader hydrates each `<leptos-island>` alone (`widgets::islands`).
                <HydrationScripts options islands=true />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// The app as the server's router serves it ([`crate::server::web::routes::Pages`]): `main.rs`
/// hands this to `Server::build`, so the server never imports the app.
///
/// The route list is discovered once per process: `generate_route_list` renders the app in a
/// special mode to find its routes — process-wide set-up that is not safe to run while other
/// pages render (the integration tests, which build a server per test, hung about one run in
/// eight until it ran once). The routes are a property of the compiled app anyway.
#[cfg(feature = "ssr")]
pub fn pages() -> crate::server::web::routes::Pages {
    use std::sync::LazyLock;
    static ROUTES: LazyLock<Vec<leptos_axum::AxumRouteListing>> =
        LazyLock::new(|| leptos_axum::generate_route_list(App));
    crate::server::web::routes::Pages {
        routes: ROUTES.clone(),
        shell: |options| shell(options).into_any(),
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();

    view! {
        <Title text="tickerplex — live server push, one connection" />
        <Router>
            <Routes fallback=|| view! { <p class="not-found">"Page not found."</p> }>
                // `Async`: the server waits for the page's resources and sends complete HTML, so
                // the page reads the same with JavaScript off (no fallback left to swap in).
                <Route path=path!("/") view=Dashboard ssr=SsrMode::Async />
                // One widget for an iframe on another site (`embed.rs`, public/embed.js).
                // This instance's numbers, live (`widgets::ops`, `server::observe::ops`).
                <Route path=path!("/ops") view=OpsPage />
                // Every pitfall of live push, replayed (`widgets::faults`, `server::demo::faults`).
                <Route path=path!("/faults") view=FaultsPage ssr=SsrMode::Async />
                <Route path=path!("/embed/:topic") view=embed::EmbedPage ssr=SsrMode::Async />
                <Route path=path!("/embed/sector/:slug") view=embed::EmbedPage ssr=SsrMode::Async />
            </Routes>
        </Router>
    }
}

#[component]
fn Dashboard() -> impl IntoView {
    // Resolved on the server while rendering, serialised into the page, reused when hydrating.
    let page_connection = Resource::new(|| (), |()| which_connection());
    let origin = Resource::new(|| (), |()| page_origin());
    let query = use_query_map();
    let widgets = Resource::new(
        move || query.with(|q| (q.get("widgets"), q.get("count"))),
        |(widgets, count)| dashboard_snapshots(widgets, count),
    );

    // Rendered on the server only: the page is static HTML around its islands (the strip, the
    // ping, the ticket, the portfolio, each widget), which `PageContext` holds together.
    // `data-hydrated` turns "true" once every island has hydrated (`widgets::islands`): tests
    // wait for it instead of guessing how long hydration takes.
    view! {
        <main class="dashboard" data-hydrated="false">
            <header class="masthead">
                <h1>"tickerplex"</h1>
                <p class="tagline">"Live stock widgets — every stream on one HTTP/2 connection."</p>
                <nav class="links">
                    <a href="/ops">"Ops: this server's numbers, live"</a>
                    " · "
                    <a href="/faults">"Faults: every pitfall, replayed"</a>
                </nav>
            </header>
            <Suspense fallback=|| view! { <p class="wire">"Looking up this page's connection…"</p> }>
                {move || {
                    page_connection
                        .get()
                        .map(|info| match info {
                            Ok(info) => view! { <PageConnection info /> }.into_any(),
                            Err(error) => {
                                view! {
                                    <p class="wire error">
                                        "Could not read this page's connection: " {error.to_string()}
                                    </p>
                                }
                                    .into_any()
                            }
                        })
                }}
            </Suspense>
            <PageContext>
            <StreamsStrip />
            <Ping />
            <OrderTicket />
            // The session's own portfolio, on the default dashboard (a URL that picks widgets
            // shows just those, so the stream counts the tests and readers make stay exact).
            {move || {
                query.with(|q| q.get("widgets").is_none() && q.get("count").is_none())
                    .then(|| view! { <Portfolio /> })
            }}
            <Suspense fallback=|| view! { <p class="wire">"Loading widgets…"</p> }>
                {move || {
                    widgets
                        .get()
                        .map(|snapshots| match snapshots {
                            Ok(snapshots) => {
                                let embed_origin = origin.get().and_then(Result::ok);
                                view! { <WidgetGrid snapshots embed_origin /> }.into_any()
                            }
                            Err(error) => {
                                view! { <p class="wire error">{error.to_string()}</p> }.into_any()
                            }
                        })
                }}
            </Suspense>
            </PageContext>
        </main>
    }
}

/// `/ops`: the ops panel, on a page of its own.
#[component]
fn OpsPage() -> impl IntoView {
    view! {
        <Title text="tickerplex — ops" />
        <main class="dashboard" data-hydrated="false">
            <header class="masthead">
                <h1>"tickerplex ops"</h1>
                <p class="tagline">
                    "This instance's numbers, once a second, on an event stream of their own. "
                    <a href="/">"Back to the dashboard"</a>
                </p>
            </header>
            <OpsPanel />
        </main>
    }
}

/// `/faults`: the fault panel, each pitfall the wrong way beside the right way.
#[component]
fn FaultsPage() -> impl IntoView {
    let setup = Resource::new(|| (), |()| faults_setup());
    view! {
        <Title text="tickerplex — faults" />
        <main class="dashboard" data-hydrated="false">
            <header class="masthead">
                <h1>"tickerplex faults"</h1>
                <p class="tagline">
                    "Every pitfall of live push, replayed against live widgets: the wrong way beside the right way. "
                    <a href="/">"Back to the dashboard"</a>
                </p>
            </header>
            <Suspense fallback=|| view! { <p class="wire">"Loading the panel…"</p> }>
                {move || {
                    setup
                        .get()
                        .map(|setup| match setup {
                            Ok(setup) => view! { <FaultsPanel setup /> }.into_any(),
                            Err(error) => {
                                view! { <p class="wire error">{error.to_string()}</p> }.into_any()
                            }
                        })
                }}
            </Suspense>
        </main>
    }
}
