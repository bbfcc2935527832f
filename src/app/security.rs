//! The page's Content-Security-Policy: a header with a fresh nonce on every HTML response.
//!
//! Why a header set while rendering, not a tower layer or a `<meta>` tag: the policy names the
//! nonce, and the nonce is made for this one response by leptos_axum (its `nonce` feature)
//! before the shell renders. `HydrationScripts` and the streamed resource scripts carry it
//! already; our one inline script of our own, the live-reload one, carries it by hand
//! (`live_reload`). A `<meta>` policy cannot say `frame-ancestors`, and arrives after the bytes
//! it should govern have started to parse.
//!
//! The policy, one directive at a time:
//! - `default-src 'self'`: styles, images, the wasm fetch — our origin only;
//! - `script-src 'strict-dynamic' 'nonce-…' 'wasm-unsafe-eval'`: only scripts carrying this
//!   response's nonce, and what they load (the wasm-bindgen JS); `wasm-unsafe-eval` lets them
//!   compile the wasm, and nothing else is eval'd;
//! - `connect-src 'self'` (plus the reload socket under `cargo leptos watch`): every
//!   `EventSource` and server function call goes to our origin, so an injected script could
//!   not send data anywhere else either;
//! - `object-src 'none'; base-uri 'none'`: no plugins, no `<base>` re-pointing relative URLs;
//! - `frame-ancestors 'none'`: no other site may frame the dashboard (clickjacking a Buy button);
//!   the embed pages (`/embed/…`) name the sites `TICKERPLEX_EMBED_ORIGINS` allows instead.
//!
//! The headers every response gets whatever its type (`nosniff`, `Referrer-Policy`, HSTS) are
//! set by the router (`server::web::routes`), since they need no nonce.

use leptos::prelude::*;

/// The policy for a response whose inline scripts carry `nonce`; `reload_port` is cargo-leptos's
/// live-reload socket, allowed only when the page is served under `cargo leptos watch`.
#[cfg(feature = "ssr")]
pub fn content_security_policy(
    nonce: &str,
    reload_port: Option<u32>,
    frame_ancestors: &str,
) -> String {
    let reload = reload_port
        .map(|port| format!(" ws://localhost:{port} ws://127.0.0.1:{port}"))
        .unwrap_or_default();
    format!(
        "default-src 'self'; script-src 'strict-dynamic' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         connect-src 'self'{reload}; object-src 'none'; base-uri 'none'; frame-ancestors {frame_ancestors}"
    )
}

/// Who may frame the page at `path`: the embed pages, the sites `TICKERPLEX_EMBED_ORIGINS`
/// allows; every other page, nobody.
#[cfg(feature = "ssr")]
fn frame_ancestors(path: &str) -> String {
    match crate::server::web::functions::embed_frame_ancestors() {
        Some(origins) if path.starts_with("/embed/") => origins,
        _ => "'none'".to_owned(),
    }
}

/// Sets the policy on the response being rendered. Renders nothing; on the browser side (no
/// nonce, no response) it does nothing at all.
#[component]
pub fn ContentSecurityPolicy(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let (Some(nonce), Some(response)) =
        (use_nonce(), use_context::<leptos_axum::ResponseOptions>())
    {
        let reload = super::live_reload::enabled()
            .then(|| options.reload_external_port.unwrap_or(options.reload_port));
        let path = use_context::<axum::http::request::Parts>()
            .map(|parts| parts.uri.path().to_owned())
            .unwrap_or_default();
        let policy = content_security_policy(&nonce, reload, &frame_ancestors(&path));
        // The nonce is URL-safe base64 and the rest is ours: always a valid header value.
        if let Ok(value) = axum::http::HeaderValue::from_str(&policy) {
            response.insert_header(axum::http::header::CONTENT_SECURITY_POLICY, value);
        }
    }
    #[cfg(not(feature = "ssr"))]
    let _ = options;
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;

    /// The policy is the issue's, word for word, and the reload socket appears only when asked.
    #[test]
    fn the_policy_names_the_nonce_and_nothing_else_external() {
        let policy = content_security_policy("abc", None, "'none'");
        assert_eq!(
            policy,
            "default-src 'self'; script-src 'strict-dynamic' 'nonce-abc' 'wasm-unsafe-eval'; \
             connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
        );
        assert!(content_security_policy("abc", Some(3001), "'none'")
            .contains("connect-src 'self' ws://localhost:3001 ws://127.0.0.1:3001;"));
    }
}
