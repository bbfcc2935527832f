//! Following one stream across reconnects, as the multi-process tests (the shared log, the
//! edge) do: read how it started, then check that live ids follow one another.

use super::events::{next, Events, READ_GUARD};
use eventsource_stream::Event;
use futures_util::StreamExt;
use tickerplex::model::{EventId, Hello, Start};

/// The id an event carries.
pub fn id(event: &Event) -> EventId {
    EventId::parse(&event.id).unwrap()
}

/// `hello`, then for a fresh or reset start the snapshot up to `sync`: the hello, and the id the
/// live events continue from (`None` after a resume: they continue from the client's own id).
pub async fn read_start(events: &mut Events) -> (Hello, Option<EventId>) {
    let hello = next(events).await;
    assert_eq!(hello.event, "hello");
    let hello: Hello = serde_json::from_str(&hello.data).unwrap();
    if matches!(hello.start, Start::Resumed { .. }) {
        return (hello, None);
    }
    loop {
        let event = next(events).await;
        match event.event.as_str() {
            "reset" | "add" => continue,
            "sync" => return (hello, Some(id(&event))),
            other => panic!("unexpected {other} before sync"),
        }
    }
}

/// The next `count` events, each checked to follow the one before (`after` first): same epoch,
/// sequence one more, never a `reset`. Heartbeats (no id of their own) are not counted.
pub async fn read_contiguous(events: &mut Events, after: EventId, count: usize) -> Vec<Event> {
    let mut read = Vec::with_capacity(count);
    let mut last = after;
    while read.len() < count {
        let event = next(events).await;
        if event.event == "heartbeat" {
            continue;
        }
        assert_ne!(event.event, "reset", "no reset on a live stream");
        let got = id(&event);
        assert_eq!(
            (got.epoch, got.seq),
            (last.epoch, last.seq + 1),
            "no gap, no repeat"
        );
        last = got;
        read.push(event);
    }
    read
}

/// Reads until the stream ends or breaks (a proxy's reset ends it too); panics if it is still
/// going after the guard. Returns the kinds of the events read meanwhile.
pub async fn read_until_cut(events: &mut Events) -> Vec<String> {
    let mut kinds = Vec::new();
    loop {
        match tokio::time::timeout(READ_GUARD, events.next()).await {
            Ok(Some(event)) => kinds.push(event.event),
            Ok(None) => return kinds,
            Err(_) => panic!("the stream was not cut"),
        }
    }
}
