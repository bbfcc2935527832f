//! The real server, over real TLS, spoken to by a real HTTP/2 client.
//!
//! Each test starts the accept loop and router the binary runs ([`common::TestServer`]). The
//! client (reqwest over rustls) trusts exactly the test's generated CA — no "accept invalid
//! certificates" switch — and negotiates the protocol by ALPN, as a browser does.

use crate::common;

use common::{connection_id, TestServer};
use reqwest::{Client, Version};
use tickerplex::server::transport::shutdown;

/// A client that can speak HTTP/2 gets HTTP/2 (ALPN offers h2 first), and the page is rendered on
/// the server: the heading is in the HTML before any script runs.
#[tokio::test]
async fn the_page_is_served_over_http2_with_its_heading_rendered() {
    let server = TestServer::start().await;
    let client = server.client().build().unwrap();

    let response = client.get(server.url("/")).send().await.unwrap();
    assert_eq!(response.version(), Version::HTTP_2);
    assert_eq!(response.status(), 200);
    connection_id(&response);
    let html = response.text().await.unwrap();
    assert!(html.contains("<h1>tickerplex</h1>"), "{html}");
    assert!(
        html.contains(r#"data-testid="page-protocol">h2<"#),
        "the page shows its protocol: {html}"
    );
}

/// Requests on one HTTP/2 client share one connection and so one id; another client gets another.
#[tokio::test]
async fn requests_on_one_client_share_a_connection_and_another_client_gets_its_own() {
    let server = TestServer::start().await;
    let first = server.client().build().unwrap();
    let second = server.client().build().unwrap();

    let a = first.get(server.url("/")).send().await.unwrap();
    let b = first.get(server.url("/")).send().await.unwrap();
    let c = second.get(server.url("/")).send().await.unwrap();

    assert_eq!(connection_id(&a), connection_id(&b));
    assert_ne!(connection_id(&a), connection_id(&c));
}

/// A client limited to HTTP/1.1 still gets served, over HTTP/1.1, and the page says so.
#[tokio::test]
async fn an_http1_only_client_is_served_over_http1() {
    let server = TestServer::start().await;
    let client = server.client().http1_only().build().unwrap();

    let response = client.get(server.url("/")).send().await.unwrap();
    assert_eq!(response.version(), Version::HTTP_11);
    let html = response.text().await.unwrap();
    assert!(
        html.contains(r#"data-testid="page-protocol">http/1.1<"#),
        "{html}"
    );
}

/// A client that does not trust the dev CA is refused during the TLS handshake.
#[tokio::test]
async fn a_client_that_does_not_trust_the_dev_ca_is_refused() {
    let server = TestServer::start().await;
    let stranger = Client::builder()
        .resolve("localhost", server.addr)
        .tls_built_in_root_certs(false)
        .build()
        .unwrap();

    let error = stranger.get(server.url("/")).send().await.unwrap_err();
    assert!(error.is_connect(), "{error:?}");
}

/// On shutdown the accept loop stops and returns, even with an HTTP/2 connection still open.
#[tokio::test]
async fn shutdown_returns_with_a_connection_still_open() {
    let server = TestServer::start().await;
    let client = server.client().build().unwrap();
    let response = client.get(server.url("/")).send().await.unwrap();
    assert_eq!(response.version(), Version::HTTP_2);

    server.shutdown.begin();
    // The bound is a failure guard, not synchronisation: `serve` must return on its own.
    tokio::time::timeout(shutdown::DRAIN_TIMEOUT * 2, server.task)
        .await
        .expect("serve returned within the drain timeout")
        .unwrap();
    // `client` (and its pooled connection) is still alive here: the server did not wait for it.
    drop(client);
}

/// A page is a streamed body, and an HTTP/2 client holds a server to a budget of empty and
/// tiny DATA frames per connection (the h2 crate, under reqwest: 100 empty frames, then
/// `GOAWAY ENHANCE_YOUR_CALM`). Two hundred page loads on one connection all succeed: the
/// server sends no empty frames (`server::web::empty_chunks`).
#[tokio::test]
async fn two_hundred_pages_on_one_connection_are_all_answered() {
    let server = TestServer::start().await;
    let client = server.client().build().unwrap();
    let mut connections = std::collections::BTreeSet::new();
    for _ in 0..200 {
        let response = client
            .get(server.url("/?widgets=watchlist"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.version(), Version::HTTP_2);
        connections.insert(connection_id(&response));
        let page = response
            .text()
            .await
            .expect("the whole page, on the same connection");
        assert!(page.contains("</html>"));
    }
    assert_eq!(connections.len(), 1, "one connection carried them all");
}
