//! Bounded input, over real TLS and HTTP/2: every value a client puts in a URL or a header is
//! checked against a stated bound, and out of range gets a 4xx with the reason — never a 5xx,
//! a clamp nobody asked for, or a huge answer.

mod common;

use common::TestServer;
use tickerplex::server::dashboard::MAX_WIDGETS;
use tickerplex::server::stream::MAX_EVENT_ID_BYTES;

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

/// `Last-Event-ID` (header or `?last_event_id=`): one of ours resumes; anything else — wrong
/// shape, too long, not ASCII — is 400 with the reason, before any subscription is made.
#[tokio::test]
async fn last_event_id_is_bounded_in_length_and_shape() {
    let server = TestServer::start().await;
    let client = server.client().build().unwrap();
    let url = server.url("/api/topics/watchlist/events");

    let too_long = format!("1-{}", "0".repeat(MAX_EVENT_ID_BYTES));
    let bad = [
        "not-an-id",
        "1-2-3",
        "-1",
        "1-",
        "99999999999999999999999-1",
        too_long.as_str(),
    ];
    for id in bad {
        let response = client
            .get(&url)
            .header("accept", "text/event-stream")
            .header("last-event-id", id)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{id}");
        let reason = response.text().await.unwrap();
        assert!(reason.contains("Last-Event-ID"), "{id}: {reason}");
    }
    // The same through the query string (an EventSource's first request cannot set headers).
    let response = client
        .get(format!("{url}?last_event_id=garbage"))
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);

    // Not ASCII at all.
    let response = client
        .get(&url)
        .header("accept", "text/event-stream")
        .header(
            "last-event-id",
            reqwest::header::HeaderValue::from_bytes(b"1-\xff").unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);

    // An empty id is "no id" (as the SSE spec has it): a fresh stream.
    let response = client
        .get(&url)
        .header("accept", "text/event-stream")
        .header("last-event-id", "")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
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
