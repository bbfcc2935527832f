//! Reading event streams in tests: open a topic as an `EventSource` would, and parse it with a
//! spec-following parser from the registry (`eventsource-stream`), so the tests do not grade our
//! encoder with our own reading of the spec.

use super::TestServer;
use eventsource_stream::{Event, EventStream, Eventsource};
use futures_util::{Stream, StreamExt};
use reqwest::Client;
use std::pin::Pin;
use std::time::Duration;
use tickerplex::model::{EventId, Quote, Sync};

pub type Events = Pin<Box<dyn Stream<Item = Event> + Send>>;

/// Guards every read: a stream that stops delivering fails the test instead of hanging it.
pub const READ_GUARD: Duration = Duration::from_secs(10);

/// Opens `topic`'s event stream on `client`, as an EventSource would.
pub async fn open(
    server: &TestServer,
    client: &Client,
    topic: &str,
    last_event_id: Option<&str>,
) -> Events {
    open_url(
        client,
        &server.url(&format!("/api/topics/{topic}/events")),
        last_event_id,
    )
    .await
}

/// Opens the event stream at `url` on `client`, as an EventSource would.
pub async fn open_url(client: &Client, url: &str, last_event_id: Option<&str>) -> Events {
    let events = request_stream(client, url, last_event_id).await;
    Box::pin(events.map(|event| event.expect("a well-formed event stream")))
}

/// Asks for the event stream at `url` as an EventSource does (with `Last-Event-ID` when given),
/// checks the 200, and hands back the parsed events, errors included.
async fn request_stream(
    client: &Client,
    url: &str,
    last_event_id: Option<&str>,
) -> impl Stream<Item = Result<Event, eventsource_stream::EventStreamError<reqwest::Error>>> {
    let mut request = client.get(url).header("accept", "text/event-stream");
    if let Some(id) = last_event_id {
        request = request.header("last-event-id", id);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200);
    let events: EventStream<_> = response.bytes_stream().eventsource();
    events
}

/// As [`open_url`], for streams that a proxy may cut: a reset stream (h2 `RST_STREAM`, what an
/// edge sends when its upstream goes or its timeout fires) simply ends, as it does for an
/// EventSource, which reconnects either way.
pub async fn open_url_cuttable(client: &Client, url: &str, last_event_id: Option<&str>) -> Events {
    let events = request_stream(client, url, last_event_id).await;
    Box::pin(
        events
            .take_while(|event| std::future::ready(event.is_ok()))
            .map(Result::unwrap),
    )
}

pub async fn next(events: &mut Events) -> Event {
    tokio::time::timeout(READ_GUARD, events.next())
        .await
        .expect("an event arrived")
        .expect("the stream is still open")
}

/// Reads `hello`, the snapshot's `add`s and `sync`: returns the quotes and the sync id.
pub async fn read_snapshot(events: &mut Events) -> (Vec<Quote>, EventId) {
    let hello = next(events).await;
    assert_eq!(hello.event, "hello");
    let mut quotes = Vec::new();
    loop {
        let event = next(events).await;
        match event.event.as_str() {
            "add" => quotes.push(serde_json::from_str(&event.data).unwrap()),
            "sync" => {
                let sync: Sync = serde_json::from_str(&event.data).unwrap();
                assert_eq!(sync.members, quotes.len());
                return (quotes, EventId::parse(&event.id).unwrap());
            }
            other => panic!("unexpected {other} in the snapshot"),
        }
    }
}

/// Reads the events still in flight until the server ends the stream.
pub async fn read_until_end(events: &mut Events) -> Vec<Event> {
    let mut rest = Vec::new();
    loop {
        match tokio::time::timeout(READ_GUARD, events.next()).await {
            Ok(Some(event)) => rest.push(event),
            Ok(None) => return rest,
            Err(_) => panic!("the stream did not end"),
        }
    }
}

pub fn seq(event: &Event) -> u64 {
    EventId::parse(&event.id).unwrap().seq
}
