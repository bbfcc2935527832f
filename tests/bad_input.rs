//! Bad input to the server functions, over real TLS and HTTP/2: a body a function cannot
//! decode is the client's mistake, answered 400 with the reason — never server_fn's 500.
//!
//! The sweep enumerates the functions from server_fn's own registry (what the router serves),
//! not from a list kept by hand: a function added tomorrow is swept tomorrow.

mod common;

use common::TestServer;

/// Bodies no server function can decode, under every content type a client might claim (and
/// none): bytes that are not UTF-8 cannot be a form, a JSON document or a query string.
const UNDECODABLE: &[u8] = b"\xff\xfe\xfd not text";
const CONTENT_TYPES: [Option<&str>; 5] = [
    Some("application/x-www-form-urlencoded"),
    Some("application/json"),
    Some("text/plain"),
    Some("application/octet-stream"),
    None,
];

/// Every registered server function answers 400 with a short reason to a body it cannot
/// decode, whatever its content type; none answers 500.
#[tokio::test]
async fn every_server_function_answers_400_to_a_body_it_cannot_decode() {
    let server = TestServer::start().await;
    let client = server.client().build().unwrap();
    let functions: Vec<_> = leptos::server_fn::axum::server_fn_paths().collect();
    assert!(
        functions.iter().any(|(path, _)| *path == "/api/place_order"),
        "the registry holds the app's functions: {functions:?}"
    );
    for (path, method) in &functions {
        for content_type in CONTENT_TYPES {
            let mut request = client
                .request(method.clone(), server.url(path))
                .body(UNDECODABLE);
            if let Some(content_type) = content_type {
                request = request.header("content-type", content_type);
            }
            let response = request.send().await.unwrap();
            let status = response.status();
            let reason = response.text().await.unwrap();
            assert_eq!(status, 400, "{method} {path} as {content_type:?}: {reason}");
            assert!(
                !reason.trim().is_empty() && reason.len() < 1024,
                "{path}: a reason, and a short one: {reason:?}"
            );
        }
    }
}

/// The case from the field: JSON (not even valid JSON) sent to the form-encoded order
/// function. 400, and the reason names what is missing; the order ticket's own encoding still
/// fills (the layer changes nothing that decodes).
#[tokio::test]
async fn a_json_body_to_the_order_function_is_400_naming_the_missing_field() {
    let server = TestServer::start().await;
    let cookie = common::portfolio::visit(&server).await;
    let browser = common::portfolio::browser(&server, &cookie);
    for body in ["{not json", r#"{"symbol":"HELIO","side":"Buy","quantity":"1"}"#] {
        let response = browser
            .post(server.url("/api/place_order"))
            .header("content-type", "application/json")
            .header("idempotency-key", "json-1")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{body}");
        let reason = response.text().await.unwrap();
        assert!(reason.contains("symbol"), "{body}: {reason}");
    }
    let symbol = common::portfolio::listed(&server, &browser).await;
    let filled = common::portfolio::order(&server, &browser, "form-1", (&symbol, "Buy", 1)).await;
    assert_eq!(filled.status(), 200);
}
