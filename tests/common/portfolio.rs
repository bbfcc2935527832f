//! The portfolio's client side for tests: a session from the dashboard, a browser that sends
//! its cookie, orders as any client sends them, and the stream's snapshot read back.

use super::events::{next, Events};
use super::TestServer;
use reqwest::header::{HeaderMap, HeaderValue, COOKIE, SET_COOKIE};
use reqwest::Client;
use tickerplex::model::{EventId, Hello, Position, Sync};

pub const PORTFOLIO: &str = "/api/portfolio/events";

/// Visits the dashboard and returns the session cookie it set (`name=value`).
pub async fn visit(server: &TestServer) -> String {
    let client = server.client().build().unwrap();
    let response = client.get(server.url("/")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let cookie = response.headers()[SET_COOKIE].to_str().unwrap();
    cookie.split(';').next().unwrap().to_owned()
}

/// A client that sends `cookie` with every request, as the session's browser does.
pub fn browser(server: &TestServer, cookie: &str) -> Client {
    let headers = HeaderMap::from_iter([(COOKIE, HeaderValue::from_str(cookie).unwrap())]);
    server.client().default_headers(headers).build().unwrap()
}

/// A listed company (the first member of the energy sector).
pub async fn listed(server: &TestServer, client: &Client) -> String {
    let url = server.url("/api/topics/sector/energy/events");
    let snapshot: serde_json::Value = client
        .get(url)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    snapshot["members"][0]["symbol"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// `POST /api/place_order`, as any client would send it.
pub async fn order(
    server: &TestServer,
    client: &Client,
    key: &str,
    (symbol, side, quantity): (&str, &str, u32),
) -> reqwest::Response {
    let form = format!("symbol={symbol}&side={side}&quantity={quantity}");
    client
        .post(server.url("/api/place_order"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("idempotency-key", key)
        .body(form)
        .send()
        .await
        .unwrap()
}

/// `hello`, then the snapshot: the hello, the positions, and the `sync` (cash, id).
pub async fn read_portfolio(events: &mut Events) -> (Hello, Vec<Position>, Sync, EventId) {
    let hello = next(events).await;
    assert_eq!(hello.event, "hello");
    let hello: Hello = serde_json::from_str(&hello.data).unwrap();
    let mut positions = Vec::new();
    loop {
        let event = next(events).await;
        match event.event.as_str() {
            "reset" => continue,
            "add" => positions.push(serde_json::from_str(&event.data).unwrap()),
            "sync" => {
                let id = EventId::parse(&event.id).unwrap();
                return (
                    hello,
                    positions,
                    serde_json::from_str(&event.data).unwrap(),
                    id,
                );
            }
            other => panic!("unexpected {other} in the snapshot"),
        }
    }
}

/// The next fill after `after`: the next event whose id is a later fill than `after`, skipping
/// price moves. (A price move has no `id:` line, but a parser that follows the spec reports
/// the stream's last event id on it — `after`'s, or an earlier one's — so the id alone cannot
/// tell them apart; its number can.)
pub async fn next_fill(events: &mut Events, after: EventId) -> eventsource_stream::Event {
    loop {
        let event = next(events).await;
        match EventId::parse(&event.id) {
            Ok(id) if id.epoch == after.epoch && id.seq > after.seq => return event,
            _ => assert_eq!(
                event.event, "update",
                "only price moves repeat an id: {event:?}"
            ),
        }
    }
}
