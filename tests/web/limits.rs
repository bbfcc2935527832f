//! Caps on open event streams, per client and in all: a client at its cap is refused the SSE
//! way (200, a `refused` event naming the cap, a jittered `retry:`, end — any other status makes
//! an EventSource give up for good), and nobody else notices. "A client" is the peer address, or
//! the `X-Forwarded-For` address when the peer is a trusted proxy — never the header alone.

use crate::common;

use leptos::server_fn::ServerFn;
use tickerplex::widgets::PlaceOrder;

use common::events::{next, Events};
use common::TestServer;
use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use std::net::IpAddr;
use tickerplex::model::Refused;
use tickerplex::server::transport::limits::Limits;

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
    let server = TestServer::builder()
        .limits(Limits {
            per_client: 3,
            total: 5,
            trusted_proxies: vec![LOCALHOST.parse::<IpAddr>().unwrap()],
        })
        .start()
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

    // A client that is not an EventSource (its `Accept` does not name text/event-stream, as
    // curl's `*/*` does not) can act on a status: it gets 503 and `Retry-After` instead.
    let http = server.client().build().unwrap();
    let response = http
        .get(server.url("/api/topics/movers/events"))
        .header("accept", "*/*")
        .header("x-forwarded-for", "10.0.0.1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "5");
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("this server already holds 5 streams"));

    // And the server stays healthy for others: the held streams still receive.
    server
        .step_until_published(&tickerplex::model::TopicName::Movers, 1)
        .await;
    let events = held[0].as_mut().unwrap();
    let live = next(events).await;
    assert!(!live.event.is_empty(), "a held stream is still live");
}

/// From a peer that is not a trusted proxy, `X-Forwarded-For` names nobody: three streams
/// claiming three different clients all count against the peer, and the fourth is refused.
#[tokio::test]
async fn forwarded_for_from_an_untrusted_peer_changes_nothing() {
    let server = TestServer::builder()
        .limits(Limits {
            per_client: 3,
            ..Limits::default()
        })
        .start()
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

/// Oversized input is refused with a status that says so, and the server goes on serving: a
/// 64 KiB header (the bound is 16 KiB) over HTTP/2 and over HTTP/1.1 gets 431, a 64 KiB
/// body to a server function gets 413.
#[tokio::test]
async fn oversized_headers_and_bodies_are_refused_with_their_status() {
    let server = TestServer::start().await;
    let huge = "x".repeat(64 * 1024);
    let h2 = server.client().build().unwrap();
    let h1 = server.client().http1_only().build().unwrap();
    for (client, url) in [
        (&h2, server.url("/api/topics")),
        (&h1, server.http1_url("/api/topics")),
    ] {
        let status = client
            .get(&url)
            .header("x-padding", &huge)
            .send()
            .await
            .map(|r| r.status().as_u16());
        // HTTP/2 answers 431; HTTP/1.1 answers 431 and closes, which a client may see as the
        // connection ending before it reads the answer. Never a 2xx, never a hang.
        assert!(matches!(status, Ok(431) | Err(_)), "{url}: {status:?}");
    }
    let order = h2
        .post(server.url(PlaceOrder::PATH))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("symbol=ATOMK&quantity=1&side=Buy&padding={huge}"))
        .send()
        .await
        .unwrap();
    assert_eq!(order.status(), 413);
    // And everyone else is still served.
    let after = h2.get(server.url("/api/topics")).send().await.unwrap();
    assert_eq!(after.status(), 200);
}
