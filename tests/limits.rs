//! Caps on open event streams, per client and in all: a client at its cap is refused the SSE
//! way (200, a `refused` event naming the cap, a jittered `retry:`, end — any other status makes
//! an EventSource give up for good), and nobody else notices. "A client" is the peer address, or
//! the `X-Forwarded-For` address when the peer is a trusted proxy — never the header alone.

mod common;

use common::events::{next, Events};
use common::TestServer;
use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use std::net::IpAddr;
use tickerplex::model::Refused;
use tickerplex::server::limits::Limits;

const LOCALHOST: &str = "127.0.0.1";

/// Opens a stream for `client` (as a trusted proxy would name it) and reads its first event.
async fn first_event(
    server: &TestServer,
    client: &str,
) -> (u16, eventsource_stream::Event, Option<Events>) {
    let http = server.client().build().unwrap();
    let response = http
        .get(server.url("/api/topics/movers/events"))
        .header("accept", "text/event-stream")
        .header("x-forwarded-for", client)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut events: Events = Box::pin(response.bytes_stream().eventsource().map(|e| e.unwrap()));
    let first = next(&mut events).await;
    (status, first, Some(events))
}

fn refusal(event: &eventsource_stream::Event) -> Refused {
    assert_eq!(event.event, "refused");
    let refused: Refused = serde_json::from_str(&event.data).unwrap();
    assert!((5_000..=15_000).contains(&refused.retry_ms), "{refused:?}");
    assert_eq!(
        event.retry.map(|r| r.as_millis() as u64),
        Some(refused.retry_ms)
    );
    refused
}

/// Behind a trusted proxy: client A's fourth stream is refused (cap 3) while client B still
/// gets its streams; and the server's own cap (5) refuses the next stream of anyone.
#[tokio::test]
async fn a_client_at_its_cap_is_refused_the_sse_way_and_others_are_not() {
    let server = TestServer::start_with_limits(Limits {
        per_client: 3,
        total: 5,
        trusted_proxies: vec![LOCALHOST.parse::<IpAddr>().unwrap()],
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..3 {
        let (status, first, events) = first_event(&server, "10.0.0.1").await;
        assert_eq!((status, first.event.as_str()), (200, "hello"));
        held.push(events);
    }
    let (status, first, events) = first_event(&server, "10.0.0.1").await;
    assert_eq!(
        status, 200,
        "the SSE way: EventSource gives up on anything else"
    );
    assert!(refusal(&first)
        .reason
        .contains("this client already holds 3 streams"));
    assert!(
        events.unwrap().next().await.is_none(),
        "and the stream ends"
    );

    // Another client behind the same proxy is not affected, up to the server's own cap.
    for _ in 0..2 {
        let (_, first, events) = first_event(&server, "10.0.0.2").await;
        assert_eq!(first.event, "hello");
        held.push(events);
    }
    let (_, first, _) = first_event(&server, "10.0.0.3").await;
    assert!(refusal(&first)
        .reason
        .contains("this server already holds 5 streams"));
}

/// From a peer that is not a trusted proxy, `X-Forwarded-For` names nobody: three streams
/// claiming three different clients all count against the peer, and the fourth is refused.
#[tokio::test]
async fn forwarded_for_from_an_untrusted_peer_changes_nothing() {
    let server = TestServer::start_with_limits(Limits {
        per_client: 3,
        ..Limits::default()
    })
    .await;
    let mut held = Vec::new();
    for claimed in ["10.0.0.1", "10.0.0.2", "10.0.0.3"] {
        let (_, first, events) = first_event(&server, claimed).await;
        assert_eq!(first.event, "hello");
        held.push(events);
    }
    let (_, first, _) = first_event(&server, "10.0.0.4").await;
    assert!(refusal(&first)
        .reason
        .contains("this client already holds 3 streams"));
    // A JSON snapshot is not a stream: never counted, never refused.
    let http = server.client().build().unwrap();
    let json = http
        .get(server.url("/api/topics/movers/events"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(json.status(), 200);
}
