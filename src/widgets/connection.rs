//! The page's own wire: which connection the document came on, and a button that asks again.
//!
//! Over HTTP/2 both answers name the same connection as every widget's stream — the "one
//! connection" claim, made checkable from the page itself. Over HTTP/1.1 a warning says what is
//! about to go wrong.

use crate::model::{ConnectionInfo, Protocol};
use leptos::prelude::*;

/// The connection the calling request arrived on, as the server's accept loop labelled it.
///
/// Called during SSR it describes the connection that fetched the document; called from the
/// browser it describes the connection the call itself travelled on — over HTTP/2, the same one.
#[server]
pub async fn which_connection() -> Result<ConnectionInfo, ServerFnError> {
    crate::server::web::functions::which_connection().await
}

/// The page's origin as the browser asked for it (`https://` and the request's authority: the
/// `:authority` of an HTTP/2 request, the `Host` of an HTTP/1.1 one), for the embed snippets.
#[server]
pub async fn page_origin() -> Result<String, ServerFnError> {
    crate::server::web::functions::page_origin().await
}

/// One line: the connection the document arrived on. Over HTTP/1.1 (the listener that
/// `TICKERPLEX_HTTP1_PORT` opens) a warning says what is about to go wrong.
#[component]
pub fn PageConnection(info: ConnectionInfo) -> impl IntoView {
    let http1 = (info.protocol == Protocol::Http1).then(|| {
        view! {
            <p class="wire warn" data-testid="http1-warning" role="note">
                <strong>"HTTP/1.1: "</strong>
                "a browser opens at most 6 connections to this host, and each live stream keeps one "
                "busy. Widgets beyond the sixth wait in "
                <em>"connecting"</em>
                ", and so does every later request — try Buy. Open the HTTP/2 port to compare, or add "
                <code>"?share=tabs"</code>
                " to share one stream per topic across tabs."
            </p>
        }
    });
    view! {
        {http1}
        <p class="wire" data-testid="page-connection">
            "This page arrived on connection "
            <strong data-testid="page-connection-id">{info.id.get()}</strong>
            " over "
            <strong data-testid="page-protocol">{info.protocol.as_str()}</strong>
            "."
        </p>
    }
}

/// A button that asks the server which connection the request came in on, and how long it took.
///
/// Before hydration it is inert HTML; afterwards each click is a server-function call. Over
/// HTTP/2 the answer names the same connection as the page itself.
#[island]
pub fn Ping() -> impl IntoView {
    super::islands::ready();
    let ping = Action::new(|_: &()| async move {
        let started = now_ms();
        let result = which_connection().await;
        (result, now_ms() - started)
    });

    view! {
        <section class="ping">
            <button data-testid="ping" on:click=move |_| { ping.dispatch(()); }>
                "Ask the server which connection this is"
            </button>
            <output data-testid="ping-result">
                {move || {
                    ping.value()
                        .get()
                        .map(|(result, elapsed)| match result {
                            Ok(info) => {
                                format!(
                                    "Answered in {elapsed:.0} ms on connection {} over {}.",
                                    info.id.get(),
                                    info.protocol,
                                )
                            }
                            Err(error) => format!("The call failed: {error}"),
                        })
                }}
            </output>
        </section>
    }
}

/// Milliseconds from a monotonic clock: `performance.now()` in the browser. The server never
/// dispatches the action, so it has no clock to read.
pub(crate) fn now_ms() -> f64 {
    #[cfg(feature = "hydrate")]
    {
        web_sys::window()
            .and_then(|window| window.performance())
            .map(|performance| performance.now())
            .unwrap_or_default()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        0.0
    }
}
