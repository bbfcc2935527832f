//! Widgets on other sites: who may read our public streams, and who may frame our embed pages.
//!
//! Two ways to put a tickerplex widget on someone else's page (docs/embed.md):
//! - the snippet: `/embed.js` (public/embed.js) puts each widget in an iframe of ours,
//!   `/embed/<topic>` — a page of one widget, framable by the sites in `TICKERPLEX_EMBED_ORIGINS`;
//! - a plain cross-origin `EventSource` on a public topic's events URL.
//!
//! What this module owns: the CORS policy of the public topics (any origin, never with
//! credentials) and the `frame-ancestors` of the embed pages. Not the pages themselves
//! (`app::embed`), nor the rest of their Content-Security-Policy (`app::security`).

use axum::http::{header, HeaderName, Method};
use std::time::Duration;
use tower_http::cors::{AllowOrigin, CorsLayer};

/// The header an `EventSource` adds when it reconnects; allowed in a preflight so a
/// cross-origin stream can resume like a same-origin one.
const LAST_EVENT_ID: HeaderName = HeaderName::from_static("last-event-id");

/// CORS for the public market topics: readable from any origin — `Access-Control-Allow-Origin:
/// *` — and never with credentials. A wildcard answer is one a browser refuses to a request
/// that carries cookies (`new EventSource(url, { withCredentials: true })`), so nothing private
/// could ever be read this way, and nothing here reads cookies anyway.
pub fn public_topics_cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::any())
        .allow_methods([Method::GET])
        .allow_headers([header::ACCEPT, header::CACHE_CONTROL, LAST_EVENT_ID])
        // A preflight (only a reconnect with `Last-Event-ID` needs one) is good for an hour.
        .max_age(Duration::from_secs(3600))
}

/// Who may frame the embed pages (`TICKERPLEX_EMBED_ORIGINS`): any site, or these origins only.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum EmbedOrigins {
    /// Any site (the default): the widgets are public data.
    #[default]
    Any,
    /// Only these origins, e.g. `https://news.example`.
    Only(Vec<String>),
}

impl EmbedOrigins {
    /// Parses the variable's value: empty or `*` for any; else comma-separated origins, each
    /// `https://` or `http://` and a host (and port), nothing after. `Err` names the bad one.
    pub fn parse(value: &str) -> Result<EmbedOrigins, String> {
        let value = value.trim();
        if value.is_empty() || value == "*" {
            return Ok(EmbedOrigins::Any);
        }
        value
            .split(',')
            .map(|origin| {
                let origin = origin.trim();
                let host = origin
                    // `http://` too: an embedding page on a developer's `http://127.0.0.1:8080` is
                    // the first place someone tries the widget.
                    .strip_prefix("https://")
                    .or_else(|| origin.strip_prefix("http://"));
                match host {
                    Some(host)
                        if !host.is_empty()
                            && host.bytes().all(|b| {
                                // Letters, digits, dots and hyphens for a host name; `:` for a
                                // port; brackets for an IPv6 literal. Anything else (a path, a
                                // space, a quote) could break out of the CSP header.
                                b.is_ascii_alphanumeric()
                                    || matches!(b, b'.' | b'-' | b':' | b'[' | b']')
                            }) =>
                    {
                        Ok(origin.to_owned())
                    }
                    _ => Err(format!(
                        "{origin:?} is not an origin (https://host or https://host:port)"
                    )),
                }
            })
            .collect::<Result<_, _>>()
            .map(EmbedOrigins::Only)
    }

    /// The `frame-ancestors` sources for an embed page.
    pub fn frame_ancestors(&self) -> String {
        match self {
            // `*` alone does not match every scheme in every browser; name both.
            EmbedOrigins::Any => "https: http:".to_owned(),
            EmbedOrigins::Only(origins) => origins.join(" "),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `TICKERPLEX_EMBED_ORIGINS` reads as any origin (unset, empty or `*`) or a list of exact
    /// origins that becomes `frame-ancestors`; anything that is not an origin is refused, since a
    /// typo here would otherwise silently forbid (or allow) every embedding page.
    #[test]
    fn embed_origins_parse_or_say_what_is_wrong() {
        // Unset (empty) and `*` both mean any site: the default is an embed that works anywhere.
        assert_eq!(EmbedOrigins::parse(""), Ok(EmbedOrigins::Any));
        assert_eq!(EmbedOrigins::parse("*"), Ok(EmbedOrigins::Any));
        // Space after the comma forgiven; the CSP list is space-separated, in the given order.
        let two = EmbedOrigins::parse("https://a.example, http://127.0.0.1:8080").unwrap();
        assert_eq!(
            two.frame_ancestors(),
            "https://a.example http://127.0.0.1:8080"
        );
        // A bare host, a scheme alone, a path, a script URL, a space: none is an origin.
        for bad in [
            "a.example",
            "https://",
            "https://a.example/path",
            "javascript:x",
            "https://a b",
        ] {
            assert!(EmbedOrigins::parse(bad).is_err(), "{bad}");
        }
    }
}
