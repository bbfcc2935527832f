//! Bounded input, over real TLS and HTTP/2: every value a client puts in a URL or a header is
//! checked against a stated bound, and out of range gets a 4xx with the reason — never a 5xx,
//! a clamp nobody asked for, or a huge answer — server functions included (400 for a body
//! they cannot decode). The one exception is `Last-Event-ID`, whose answer to anything
//! unreadable is the protocol's own: a `reset` and a fresh snapshot.

use crate::common;

use common::TestServer;
use tickerplex::server::stream::MAX_EVENT_ID_BYTES;
use tickerplex::server::web::dashboard::MAX_WIDGETS;

/// The dashboard's `?widgets=` and `?count=`: a good URL renders; each bad one is 400 with a
/// sentence naming the parameter, and the page stays small (no thousand widgets, no echo of a
/// megabyte of input).
#[tokio::test]
async fn the_dashboard_url_is_bounded() {
    let server = TestServer::start().await;
    let client = server.client().build().unwrap();

    let good = client
        .get(server.url(&format!("/?widgets=watchlist&count={MAX_WIDGETS}")))
        .send()
        .await
        .unwrap();
    assert_eq!(good.status(), 200);
    assert_eq!(good.version(), reqwest::Version::HTTP_2);
    let html = good.text().await.unwrap();
    assert_eq!(
        html.matches("data-topic=\"watchlist\"").count(),
        MAX_WIDGETS,
        "as many widgets as asked for"
    );

    let long_list = "watchlist,".repeat(1_000);
    let cases = [
        (format!("/?count={}", MAX_WIDGETS + 1), "count"),
        ("/?count=0".to_owned(), "count"),
        ("/?count=lots".to_owned(), "count"),
        ("/?count=99999999999999999999999".to_owned(), "count"),
        (
            "/?widgets=sector/atlantis".to_owned(),
            "no topic sector/atlantis",
        ),
        ("/?widgets=watchlist,%3Cscript%3E".to_owned(), "widgets"),
        (format!("/?widgets={long_list}"), "longer than"),
    ];
    for (path, reason) in cases {
        let response = client.get(server.url(&path)).send().await.unwrap();
        assert_eq!(response.status(), 400, "{path}");
        let body = response.text().await.unwrap();
        assert!(body.contains(reason), "{path}: {reason:?} not in the page");
        assert!(
            body.len() < 64 * 1024,
            "{path}: a {}-byte answer",
            body.len()
        );
        assert!(!body.contains("<script>"), "{path}: input echoed unescaped");
    }
}

/// `Last-Event-ID` (header or `?last_event_id=`) that the server cannot resume from — wrong
/// shape, an overflowing epoch, 8 KB long, not ASCII, a 5,000-digit query value, a query serde
/// cannot read — opens the stream anyway: 200, `hello` saying `reset`, the `reset` event and a
/// fresh snapshot. A 4xx would silence an `EventSource` for good (it never retries one).
#[tokio::test]
async fn an_unreadable_last_event_id_opens_the_stream_with_a_reset() {
    let server = TestServer::start().await;
    let client = server.client().build().unwrap();
    let url = server.url("/api/topics/watchlist/events");

    let eight_kb = format!("1-{}", "7".repeat(8 * 1024));
    let just_too_long = format!("1-{}", "0".repeat(MAX_EVENT_ID_BYTES));
    let headers: Vec<reqwest::header::HeaderValue> = [
        "not-an-id",
        "1-2-3",
        "-1",
        "99999999999999999999999-1",
        just_too_long.as_str(),
        eight_kb.as_str(),
    ]
    .into_iter()
    .map(|id| id.parse().unwrap())
    .chain([reqwest::header::HeaderValue::from_bytes(b"1-\xff\xfe").unwrap()])
    .collect();
    for id in headers {
        let response = client
            .get(&url)
            .header("accept", "text/event-stream")
            .header("last-event-id", id.clone())
            .send()
            .await
            .unwrap();
        expect_reset(response, &format!("header {:?}", id.as_bytes().get(..24))).await;
    }

    let five_thousand_digits = "9".repeat(5_000);
    for query in [
        "last_event_id=garbage".to_owned(),
        format!("last_event_id={five_thousand_digits}"),
        format!("last_event_id=1-{five_thousand_digits}"),
        "last_event_id=1-1&last_event_id=1-2".to_owned(),
        "last_event_id=%FF%FE".to_owned(),
    ] {
        let response = client
            .get(format!("{url}?{query}"))
            .header("accept", "text/event-stream")
            .send()
            .await
            .unwrap();
        expect_reset(
            response,
            &format!("query {:?}", &query[..query.len().min(40)]),
        )
        .await;
    }

    // An empty id is "no id" (as the SSE spec has it): a fresh stream, no reset.
    let mut events = common::events::open_url(&client, &url, Some("")).await;
    let hello = common::events::next(&mut events).await;
    assert!(hello.data.contains(r#""kind":"fresh""#), "{}", hello.data);
}

/// Reads one answer as an `EventSource` would: 200, `hello` with a `malformed` reset, the
/// `reset` event, then a snapshot ending in `sync` with a real id.
async fn expect_reset(response: reqwest::Response, case: &str) {
    use common::events::next;
    use eventsource_stream::Eventsource;
    use futures_util::StreamExt;
    assert_eq!(response.status(), 200, "{case}");
    let mut events: common::events::Events = Box::pin(
        response
            .bytes_stream()
            .eventsource()
            .map(|event| event.expect("a well-formed event")),
    );
    let hello = next(&mut events).await;
    assert_eq!(hello.event, "hello", "{case}");
    assert!(
        hello
            .data
            .contains(r#""start":{"kind":"reset","reason":"malformed"}"#),
        "{case}: {}",
        hello.data
    );
    assert_eq!(next(&mut events).await.event, "reset", "{case}");
    loop {
        let event = next(&mut events).await;
        match event.event.as_str() {
            "add" => continue,
            "sync" => {
                tickerplex::model::EventId::parse(&event.id).expect("sync carries an id");
                return;
            }
            other => panic!("{case}: unexpected {other} in the snapshot"),
        }
    }
}

/// Topic names in the path: malformed, over-long and unknown sector slugs are 404 naming the
/// name (cut short), never a 5xx.
#[tokio::test]
async fn topic_names_in_the_path_are_bounded() {
    let server = TestServer::start().await;
    let client = server.client().build().unwrap();
    let long_slug = "a".repeat(10_000);
    for path in [
        "/api/topics/nope/events".to_owned(),
        "/api/topics/sector/NOPE/events".to_owned(),
        "/api/topics/sector/atlantis/events".to_owned(),
        format!("/api/topics/sector/{long_slug}/events"),
    ] {
        let response = client
            .get(server.url(&path))
            .header("accept", "text/event-stream")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{path}");
        let body = response.text().await.unwrap();
        assert!(body.len() < 1024, "{path}: a {}-byte answer", body.len());
    }
}

// Bad input to the server functions: a body a function cannot decode is the client's mistake,
// answered 400 with the reason — never server_fn's 500. The sweep enumerates the functions from
// server_fn's own registry (what the router serves), not from a list kept by hand.

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
        functions
            .iter()
            .any(|(path, _)| *path == "/api/place_order"),
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
    for body in [
        "{not json",
        r#"{"symbol":"HELIO","side":"Buy","quantity":"1"}"#,
    ] {
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
