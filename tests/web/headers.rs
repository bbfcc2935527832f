//! Security headers, over real TLS and HTTP/2: every page carries a Content-Security-Policy
//! whose nonce is fresh per response and is the one on each of the page's inline scripts; every
//! answer (pages, streams, JSON, 404s) carries `nosniff`, a `Referrer-Policy` and HSTS.

use crate::common;

use common::TestServer;

/// The `nonce-…` the policy allows.
fn policy_nonce(policy: &str) -> String {
    let start = policy.find("'nonce-").expect("a nonce in the policy") + "'nonce-".len();
    let end = start + policy[start..].find('\'').unwrap();
    policy[start..end].to_owned()
}

/// The dashboard's policy is the strict one, with a nonce that every inline script of the page
/// carries, and a different nonce on the next response.
#[tokio::test]
async fn every_page_has_a_strict_policy_with_a_fresh_nonce() {
    let server = TestServer::start().await;
    let client = server.client().build().unwrap();
    let mut nonces = Vec::new();
    for path in ["/", "/?widgets=watchlist", "/no-such-page"] {
        let response = client.get(server.url(path)).send().await.unwrap();
        let policy = response.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        for directive in [
            "default-src 'self'",
            "script-src 'strict-dynamic' 'nonce-",
            "'wasm-unsafe-eval'",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        ] {
            assert!(
                policy.contains(directive),
                "{path}: {directive} in {policy}"
            );
        }
        let nonce = policy_nonce(&policy);
        let html = response.text().await.unwrap();
        let scripts = html.matches("<script").count();
        assert!(scripts > 0, "{path}: the page has inline scripts");
        assert_eq!(
            html.matches(&format!("nonce=\"{nonce}\"")).count(),
            scripts,
            "{path}: every script carries this response's nonce"
        );
        nonces.push(nonce);
    }
    nonces.sort();
    nonces.dedup();
    assert_eq!(nonces.len(), 3, "one nonce per response");
}

/// The headers that need no nonce are on every kind of answer, pages or not.
#[tokio::test]
async fn every_answer_has_nosniff_a_referrer_policy_and_hsts() {
    let server = TestServer::start().await;
    let client = server.client().build().unwrap();
    for (path, accept) in [
        ("/", "text/html"),
        ("/api/topics", "application/json"),
        ("/api/topics/watchlist/events", "application/json"),
        ("/api/topics/nope/events", "text/event-stream"),
        ("/favicon.svg", "*/*"),
    ] {
        let response = client
            .get(server.url(path))
            .header("accept", accept)
            .send()
            .await
            .unwrap();
        let headers = response.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(
            headers["referrer-policy"], "strict-origin-when-cross-origin",
            "{path}"
        );
        // A year: the test server has a certificate of its own (with the dev certificate, whose
        // host is `localhost`, it would be an hour: `TlsSource::strict_transport_security`).
        assert_eq!(
            headers["strict-transport-security"], "max-age=31536000",
            "{path}"
        );
    }
}
