//! The SSE topics over real TLS + HTTP/2, read with a spec-following parser (`eventsource-stream`).
//!
//! The market is stepped by hand ([`TestServer::step`]), so "k events were missed" is exact and
//! no test waits on a clock, except the keep-alive test, whose interval is configured short.

mod common;

use common::{TestServer, EPOCH};
use eventsource_stream::{Event, EventStream, Eventsource};
use futures_util::{Stream, StreamExt};
use reqwest::Client;
use std::pin::Pin;
use std::time::Duration;
use tickerplex::model::{
    EventId, Hello, Quote, Reset, ResetReason, Shutdown, Snapshot, Start, Sync, TopicName,
};
use tickerplex::server::connection;
use tickerplex::server::routes::StreamConfig;
use tickerplex::server::topics::HISTORY_CAPACITY;

type Events = Pin<Box<dyn Stream<Item = Event> + Send>>;

/// Guards every read: a stream that stops delivering fails the test instead of hanging it.
const READ_GUARD: Duration = Duration::from_secs(10);

/// Opens `topic`'s event stream on `client`, as an EventSource would.
async fn open(
    server: &TestServer,
    client: &Client,
    topic: &str,
    last_event_id: Option<&str>,
) -> Events {
    let mut request = client
        .get(server.url(&format!("/api/topics/{topic}/events")))
        .header("accept", "text/event-stream");
    if let Some(id) = last_event_id {
        request = request.header("last-event-id", id);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200);
    let events: EventStream<_> = response.bytes_stream().eventsource();
    Box::pin(events.map(|event| event.expect("a well-formed event stream")))
}

async fn next(events: &mut Events) -> Event {
    tokio::time::timeout(READ_GUARD, events.next())
        .await
        .expect("an event arrived")
        .expect("the stream is still open")
}

/// Reads `hello`, the snapshot's `add`s and `sync`: returns the quotes and the sync id.
async fn read_snapshot(events: &mut Events) -> (Vec<Quote>, EventId) {
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
async fn read_until_end(events: &mut Events) -> Vec<Event> {
    let mut rest = Vec::new();
    loop {
        match tokio::time::timeout(READ_GUARD, events.next()).await {
            Ok(Some(event)) => rest.push(event),
            Ok(None) => return rest,
            Err(_) => panic!("the stream did not end"),
        }
    }
}

fn seq(event: &Event) -> u64 {
    EventId::parse(&event.id).unwrap().seq
}

/// A fresh subscriber to the watchlist gets `hello`, ten `add`s, `sync` at the topic's current
/// id, and then live events numbered from the next id on.
#[tokio::test]
async fn a_fresh_subscriber_gets_the_ten_stock_snapshot_then_live_updates() {
    let server = TestServer::start();
    let client = server.client().build().unwrap();
    let mut events = open(&server, &client, "watchlist", None).await;

    let (quotes, synced_at) = read_snapshot(&mut events).await;
    assert_eq!(quotes.len(), 10);
    assert_eq!(synced_at, server.current_id(&TopicName::Watchlist));

    server.step_until_published(&TopicName::Watchlist, 3);
    for expected in synced_at.seq + 1..=synced_at.seq + 3 {
        let event = next(&mut events).await;
        assert!(
            ["update", "add", "remove"].contains(&event.event.as_str()),
            "{}",
            event.event
        );
        assert_eq!(seq(&event), expected);
    }
}

/// `hello` reports this stream's connection and protocol and the streams that connection carries.
#[tokio::test]
async fn hello_names_the_connection_and_counts_its_streams() {
    let server = TestServer::start();
    let client = server.client().build().unwrap();
    let mut first = open(&server, &client, "movers", None).await;
    let mut second = open(&server, &client, "indices", None).await;

    let a: Hello = serde_json::from_str(&next(&mut first).await.data).unwrap();
    let b: Hello = serde_json::from_str(&next(&mut second).await.data).unwrap();
    assert_eq!(
        a.connection, b.connection,
        "one HTTP/2 connection carries both"
    );
    assert_eq!(a.protocol.as_str(), "h2");
    assert_eq!((a.streams_on_connection, b.streams_on_connection), (1, 2));
}

/// Reconnecting with the Last-Event-ID of k events ago replays exactly those k, contiguous and in
/// order, and live events continue after them: nothing lost, nothing repeated.
#[tokio::test]
async fn resume_after_k_missed_events_gets_exactly_those_k() {
    let server = TestServer::start();
    let client = server.client().build().unwrap();
    let topic = TopicName::Watchlist;
    let mut events = open(&server, &client, "watchlist", None).await;
    let (_, last_seen) = read_snapshot(&mut events).await;
    drop(events); // the tab goes away

    let k = 25;
    let now = server.step_until_published(&topic, k);
    let missed = now.seq - last_seen.seq;
    assert!(missed >= k);

    let mut resumed = open(&server, &client, "watchlist", Some(&last_seen.to_string())).await;
    let hello: Hello = serde_json::from_str(&next(&mut resumed).await.data).unwrap();
    assert_eq!(
        hello.start,
        Start::Resumed {
            replayed: missed as usize
        },
        "hello says how many missed events follow"
    );
    for expected in last_seen.seq + 1..=now.seq {
        let event = next(&mut resumed).await;
        assert_eq!(seq(&event), expected, "replayed in order with no gap");
    }
    server.step_until_published(&topic, 1);
    assert_eq!(
        seq(&next(&mut resumed).await),
        now.seq + 1,
        "live continues right after the replay"
    );
}

/// The drop-streams drill ends an open stream with no goodbye (as a lost connection would);
/// reconnecting with the last id seen replays exactly the events published meanwhile.
#[tokio::test]
async fn a_dropped_stream_resumes_from_its_last_event_id() {
    let server = TestServer::start();
    let client = server.client().build().unwrap();
    let topic = TopicName::Watchlist;
    let mut events = open(&server, &client, "watchlist", None).await;
    let (_, synced_at) = read_snapshot(&mut events).await;
    server.step_until_published(&topic, 2);
    let mut last_seen = synced_at;
    for _ in 0..2 {
        last_seen = EventId::parse(&next(&mut events).await.id).unwrap();
    }

    // Whatever was in flight is delivered, then the stream ends with no shutdown event.
    assert_eq!(server.drill(&client, "drop-streams").await.0, 200);
    for event in read_until_end(&mut events).await {
        assert_ne!(event.event, "shutdown");
        last_seen = EventId::parse(&event.id).unwrap();
    }

    let now = server.step_until_published(&topic, 3);
    let mut resumed = open(&server, &client, "watchlist", Some(&last_seen.to_string())).await;
    let hello: Hello = serde_json::from_str(&next(&mut resumed).await.data).unwrap();
    let missed = (now.seq - last_seen.seq) as usize;
    assert_eq!(hello.start, Start::Resumed { replayed: missed });
    for expected in last_seen.seq + 1..=now.seq {
        assert_eq!(seq(&next(&mut resumed).await), expected);
    }
}

/// The restart drill (a new epoch, as after a server restart) leaves a reconnecting client's id
/// from another run: it gets `reset` and a fresh snapshot at the current id, never a silent gap.
#[tokio::test]
async fn after_a_restart_a_reconnect_is_reset() {
    let server = TestServer::start();
    let client = server.client().build().unwrap();
    let topic = TopicName::Watchlist;
    let mut events = open(&server, &client, "watchlist", None).await;
    let (_, synced_at) = read_snapshot(&mut events).await;

    assert_eq!(server.drill(&client, "restart").await.0, 200);
    read_until_end(&mut events).await;
    let now = server.step_until_published(&topic, 1);

    let mut again = open(&server, &client, "watchlist", Some(&synced_at.to_string())).await;
    let hello: Hello = serde_json::from_str(&next(&mut again).await.data).unwrap();
    let expected = Start::Reset {
        reason: ResetReason::OtherEpoch,
    };
    assert_eq!(hello.start, expected);
    assert_eq!(next(&mut again).await.event, "reset");
    loop {
        let event = next(&mut again).await;
        if event.event == "sync" {
            assert_eq!(EventId::parse(&event.id).unwrap(), now);
            break;
        }
        assert_eq!(event.event, "add");
    }
}

/// With drills off (the default), a drill is refused with a message that says how to enable
/// it, and open streams are untouched.
#[tokio::test]
async fn drills_are_off_unless_enabled() {
    let server = TestServer::start_without_drills();
    let client = server.client().build().unwrap();
    let mut events = open(&server, &client, "movers", None).await;
    let (status, message) = server.drill(&client, "drop-streams").await;
    assert_eq!(status, 404);
    assert!(message.contains("TICKERPLEX_DRILLS=1"), "{message}");
    read_snapshot(&mut events).await;
    server.step_until_published(&TopicName::Movers, 1);
    assert_ne!(next(&mut events).await.event, "", "still live");
}

/// Ids from another epoch, older than the history, from the future, or not ids at all get an
/// explicit `reset` and a fresh snapshot.
#[tokio::test]
async fn unresumable_ids_get_reset_and_a_fresh_snapshot() {
    let server = TestServer::start();
    let client = server.client().build().unwrap();
    let topic = TopicName::Watchlist;
    server.step_until_published(&topic, HISTORY_CAPACITY as u64 + 10);
    let current = server.current_id(&topic);

    let cases = [
        (format!("{}-1", EPOCH + 1), ResetReason::OtherEpoch),
        (format!("{EPOCH}-1"), ResetReason::TooOld),
        (
            format!("{EPOCH}-{}", current.seq + 1000),
            ResetReason::FromTheFuture,
        ),
        ("not-an-id".to_owned(), ResetReason::Malformed),
    ];
    for (id, reason) in cases {
        let mut events = open(&server, &client, "watchlist", Some(&id)).await;
        assert_eq!(next(&mut events).await.event, "hello");
        let reset = next(&mut events).await;
        assert_eq!(reset.event, "reset", "{id}");
        assert_eq!(
            serde_json::from_str::<Reset>(&reset.data).unwrap().reason,
            reason,
            "{id}"
        );
        let mut adds = 0;
        loop {
            let event = next(&mut events).await;
            if event.event == "sync" {
                assert_eq!(EventId::parse(&event.id).unwrap(), current, "{id}");
                break;
            }
            assert_eq!(event.event, "add", "{id}");
            adds += 1;
        }
        assert_eq!(adds, 10, "{id}");
    }
}

/// `Accept: application/json` gets the snapshot; an Accept that allows neither gets 406; an
/// unknown topic gets 404.
#[tokio::test]
async fn accept_negotiation_and_unknown_topics() {
    let server = TestServer::start();
    let client = server.client().build().unwrap();
    let url = server.url("/api/topics/sector/energy/events");

    let json = client
        .get(&url)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(json.status(), 200);
    let snapshot: Snapshot = json.json().await.unwrap();
    assert_eq!(snapshot.members.len(), 8);
    assert_eq!(
        snapshot.id,
        server.current_id(&TopicName::Sector("energy".into()))
    );

    let html = client
        .get(&url)
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(html.status(), 406);
    assert!(!html.text().await.unwrap().is_empty(), "406 says why");

    let unknown = client
        .get(server.url("/api/topics/nope/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    let unknown_sector = client
        .get(server.url("/api/topics/sector/mining/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown_sector.status(), 404);

    let listed: Vec<TopicName> = client
        .get(server.url("/api/topics"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        listed.contains(&TopicName::Watchlist)
            && listed.contains(&TopicName::Sector("energy".into()))
    );
    assert_eq!(listed.len(), 8);
}

/// Event streams are `text/event-stream`, uncached, unbuffered, and never compressed even
/// when the client asks for br or gzip.
#[tokio::test]
async fn stream_headers_are_right_and_never_compressed() {
    let server = TestServer::start();
    let client = server.client().build().unwrap();
    let response = client
        .get(server.url("/api/topics/movers/events"))
        .header("accept", "text/event-stream")
        .header("accept-encoding", "br, gzip")
        .send()
        .await
        .unwrap();
    let headers = response.headers();
    assert_eq!(headers["content-type"], "text/event-stream");
    assert_eq!(headers["cache-control"], "no-cache");
    assert_eq!(headers["x-accel-buffering"], "no");
    assert!(headers.get("content-encoding").is_none());
    // The first bytes set `retry`.
    let mut body = response.bytes_stream();
    let first = tokio::time::timeout(READ_GUARD, body.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(first.starts_with(b"retry: "), "{first:?}");
}

/// An idle topic still sends bytes: a keep-alive comment every configured interval.
#[tokio::test]
async fn an_idle_stream_gets_keep_alive_comments() {
    let server = TestServer::start_with(StreamConfig {
        keep_alive: Duration::from_millis(100),
        ..StreamConfig::default()
    });
    let client = server.client().build().unwrap();
    let response = client
        .get(server.url("/api/topics/indices/events"))
        .send()
        .await
        .unwrap();
    let mut body = response.bytes_stream();
    let mut seen = Vec::new();
    // The market is never stepped, so after the snapshot only keep-alives can arrive.
    while !String::from_utf8_lossy(&seen).contains(": keep-alive\n\n") {
        let chunk = tokio::time::timeout(READ_GUARD, body.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        seen.extend_from_slice(&chunk);
    }
}

/// After 100 streams open and their clients drop, the registry shows no stream and no connection.
#[tokio::test]
async fn dropped_clients_leave_nothing_behind() {
    let server = TestServer::start();
    let observer = server.client().build().unwrap();
    let mut clients = Vec::new();
    let mut streams = Vec::new();
    for _ in 0..10 {
        let client = server.client().build().unwrap();
        for _ in 0..10 {
            let mut events = open(&server, &client, "watchlist", None).await;
            assert_eq!(next(&mut events).await.event, "hello");
            streams.push(events);
        }
        clients.push(client);
    }
    let open_streams: usize = server
        .stats(&observer)
        .await
        .connections
        .iter()
        .map(|c| c.streams)
        .sum();
    assert_eq!(open_streams, 100);

    drop(streams);
    drop(clients);

    // Wait on the state itself, with a deadline: the server learns of each drop asynchronously.
    let deadline = tokio::time::Instant::now() + READ_GUARD;
    loop {
        let stats = server.stats(&observer).await;
        let streams: usize = stats.connections.iter().map(|c| c.streams).sum();
        let subscribers: usize = stats.topics.iter().map(|t| t.subscribers).sum();
        if streams == 0 && subscribers == 0 && stats.connections.len() == 1 {
            break; // only the observer's own connection remains
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "left behind: {stats:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await; // poll interval, not synchronisation
    }
}

/// On shutdown every stream receives `shutdown` with a `retry` (jittered), ends, and the server
/// returns within the drain timeout even though streams were open.
#[tokio::test]
async fn shutdown_tells_every_stream_and_exits_in_time() {
    let server = TestServer::start();
    let client = server.client().build().unwrap();
    let mut all = Vec::new();
    for topic in ["watchlist", "movers", "sector/finance"] {
        let mut events = open(&server, &client, topic, None).await;
        read_snapshot(&mut events).await;
        all.push(events);
    }

    server.draining.cancel();

    for mut events in all {
        let event = next(&mut events).await;
        assert_eq!(event.event, "shutdown");
        let retry = event.retry.expect("shutdown carries retry");
        let shutdown: Shutdown = serde_json::from_str(&event.data).unwrap();
        assert_eq!(retry, Duration::from_millis(shutdown.retry_ms));
        assert!(retry >= StreamConfig::default().retry);
        assert!(
            tokio::time::timeout(READ_GUARD, events.next())
                .await
                .unwrap()
                .is_none(),
            "the stream ends"
        );
    }
    tokio::time::timeout(connection::DRAIN_TIMEOUT, server.task)
        .await
        .expect("serve returned within the drain timeout")
        .unwrap();
}
