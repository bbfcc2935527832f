//! The embed page, `/embed/<topic>`: one widget, for an iframe on someone else's site.
//!
//! Rendered on the server, the widget an island as on the dashboard, with the widget's own `EventSource`
//! and the same resume rules; compact, no order ticket, no cookies. It tells the page framing it
//! how tall it is (`postMessage`), so `/embed.js` can size the iframe to its content. Who may
//! frame it is `TICKERPLEX_EMBED_ORIGINS` (`server::web::embed`); the dashboard may never be framed.
//!
//! The footer makes the multiplexing visible on the host page too: every embed of ours on one
//! page shares one HTTP/2 connection — the host page's, since browsers partition connections
//! by the top-level site.

use crate::widgets::{dashboard_snapshots, which_connection, WidgetIsland};
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

/// Posts the document's height to the framing page on load and on every resize. Plain script:
/// it must work before (and without) the wasm. The message names itself (`tickerplex`), and
/// the loader accepts it only from our origin and from the frame it made.
const REPORT_HEIGHT: &str = r#"(function () {
  function post() {
    parent.postMessage({ tickerplex: "height", height: document.documentElement.scrollHeight }, "*");
  }
  new ResizeObserver(post).observe(document.documentElement);
  post();
})();"#;

#[component]
pub fn EmbedPage() -> impl IntoView {
    let params = use_params_map();
    // `/embed/watchlist` or `/embed/sector/energy`.
    let topic = move || {
        params.with(|p| match (p.get("topic"), p.get("slug")) {
            (_, Some(slug)) => format!("sector/{slug}"),
            (Some(topic), None) => topic,
            (None, None) => String::new(),
        })
    };
    // Resolved while the server renders and sent with the page: the browser calls nothing.
    let snapshot = Resource::new(topic, |topic| {
        dashboard_snapshots(Some(topic), Some("1".to_owned()))
    });
    let connection = Resource::new(|| (), |()| which_connection());
    // `?theme=light` from the snippet's `data-theme`; anything else is the default, dark.
    let query = use_query_map();
    let theme = move || match query.with(|q| q.get("theme")).as_deref() {
        Some("light") => "light",
        _ => "dark",
    };

    view! {
        // `data-hydrated` turns "true" once the widget's island has hydrated (`widgets::islands`).
        <main class="embed" data-theme=theme data-hydrated="false">
            <Suspense fallback=|| view! { <p class="wire">"Loading…"</p> }>
                {move || {
                    snapshot
                        .get()
                        .map(|found| match found.map(|mut snapshots| snapshots.pop()) {
                            Ok(Some(snapshot)) => {
                                view! { <WidgetIsland snapshot embed=None closable=false /> }.into_any()
                            }
                            Ok(None) => view! { <EmbedError reason="no such widget".to_owned() /> }.into_any(),
                            Err(error) => view! { <EmbedError reason=error.to_string() /> }.into_any(),
                        })
                }}
            </Suspense>
            <Suspense fallback=|| ()>
                {move || {
                    connection
                        .get()
                        .and_then(Result::ok)
                        .map(|info| {
                            view! {
                                <p class="embed-footer" data-testid="embed-footer">
                                    "live · " {info.protocol.as_str()} " · connection " {info.id.get()}
                                    " · "
                                    <a href="/" target="_blank" rel="noopener">"tickerplex"</a>
                                </p>
                            }
                        })
                }}
            </Suspense>
            <script nonce=use_nonce()>{REPORT_HEIGHT}</script>
        </main>
    }
}

/// What an iframe shows for a snippet naming no widget of ours: the reason, and nothing else.
#[component]
fn EmbedError(reason: String) -> impl IntoView {
    view! {
        <p class="wire error" data-testid="embed-error">
            "This tickerplex widget cannot be shown: " {reason}
        </p>
    }
}
