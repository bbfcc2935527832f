//! The SSE topics over real TLS + HTTP/2, read with a spec-following parser (`eventsource-stream`):
//! the snapshot, `hello`, negotiation, headers, heartbeats, cleanup and shutdown. Resume and
//! reset are in `sse_resume.rs`.
//!
//! The market is stepped by hand ([`TestServer::step`]), so "k events were missed" is exact and
//! no test waits on a clock, except the heartbeat test, whose interval is configured short.
//!
//! Past 300 lines as one concept: what one stream of a topic says, field by field, from `hello`
//! to the goodbye.

use crate::common;

use common::events::*;
use common::TestServer;
use futures_util::StreamExt;
use std::process::Command;
use std::time::Duration;
use tickerplex::model::{EventId, Heartbeat, Hello, Shutdown, Snapshot, TopicName};
use tickerplex::server::stream::StreamConfig;

/// A fresh subscriber to the watchlist gets `hello`, ten `add`s, `sync` at the topic's current
/// id, and then live events numbered from the next id on.
#[tokio::test]
async fn a_fresh_subscriber_gets_the_ten_stock_snapshot_then_live_updates() {
    let server = TestServer::start().await;
    let client = server.client().build().unwrap();
    let mut events = open(&server, &client, "watchlist", None).await;

    let (quotes, synced_at) = read_snapshot(&mut events).await;
    assert_eq!(quotes.len(), 10);
    assert_eq!(synced_at, server.current_id(&TopicName::Watchlist));

    server.step_until_published(&TopicName::Watchlist, 3).await;
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
    let server = TestServer::start().await;
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

/// `Accept: application/json` gets the snapshot; an Accept that allows neither gets 406; an
/// unknown topic gets 404.
#[tokio::test]
async fn accept_negotiation_and_unknown_topics() {
    let server = TestServer::start().await;
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

    let listed: Vec<TopicName> = common::get_json(&client, &server.url("/api/topics")).await;
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
    let server = TestServer::start().await;
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
    // no-transform: a proxy that recompresses or buffers bodies must leave a stream alone.
    assert_eq!(headers["cache-control"], "no-cache, no-transform");
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

/// An idle topic still speaks: `hello` announces the heartbeat interval, and a `heartbeat`
/// event — named, JSON data, no id — follows once nothing else was sent for that long. Read
/// by a spec-following parser: the heartbeat leaves the stream's Last-Event-ID where the
/// snapshot's `sync` put it, so a reconnect after it resumes exactly there.
#[tokio::test]
async fn an_idle_stream_gets_heartbeats_that_do_not_move_its_id() {
    let server = TestServer::builder()
        .streams(StreamConfig {
            keep_alive: Duration::from_millis(100),
            ..StreamConfig::default()
        })
        .start()
        .await;
    let client = server.client().build().unwrap();
    let mut events = open(&server, &client, "indices", None).await;
    let hello: Hello = serde_json::from_str(&next(&mut events).await.data).unwrap();
    assert_eq!(hello.heartbeat_ms, Some(100));
    // The market is never stepped, so after the snapshot only heartbeats can arrive.
    let mut synced = None;
    let heartbeat = loop {
        let event = next(&mut events).await;
        match event.event.as_str() {
            "add" => {}
            "sync" => synced = Some(event.id.clone()),
            "heartbeat" => break event,
            other => panic!("unexpected {other} on an idle stream"),
        }
    };
    let data: Heartbeat = serde_json::from_str(&heartbeat.data).unwrap();
    assert_eq!(data.interval_ms, 100);
    assert_eq!(
        Some(heartbeat.id),
        synced,
        "a heartbeat carries no id of its own"
    );
    assert_eq!(
        next(&mut events).await.event,
        "heartbeat",
        "and they keep coming"
    );
}

/// After 100 streams open and their clients drop, the registry shows no stream and no connection.
#[tokio::test]
async fn dropped_clients_leave_nothing_behind() {
    let server = TestServer::start().await;
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
    let server = TestServer::start().await;
    let client = server.client().build().unwrap();
    let mut all = Vec::new();
    for topic in ["watchlist", "movers", "sector/finance"] {
        let mut events = open(&server, &client, topic, None).await;
        read_snapshot(&mut events).await;
        all.push(events);
    }

    server.shutdown.begin();

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
    tokio::time::timeout(
        tickerplex::server::transport::shutdown::DRAIN_TIMEOUT,
        server.task,
    )
    .await
    .expect("serve returned within the drain timeout")
    .unwrap();
}

// A client this project did not write: Python's httpx (over HTTP/2) with httpx-sse, pinned in
// tests/clients/requirements.txt and installed by `scripts/setup` (step 9) into target/python.

/// httpx-sse reads a quiet topic with heartbeats every 200 ms: `hello` announces the interval,
/// the snapshot ends in `sync` with an id, and the heartbeats that follow parse as events
/// (named, JSON data) that leave the last event id where `sync` put it — so a client that
/// reconnects after them resumes exactly there. Over HTTP/2, as a browser would read it.
#[tokio::test]
async fn httpx_sse_reads_a_stream_through_its_heartbeats() {
    let python = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/python/bin/python");
    assert!(
        python.exists(),
        "{} is missing: scripts/setup installs httpx and httpx-sse there (step 9)",
        python.display()
    );
    let server = TestServer::builder()
        .streams(StreamConfig {
            keep_alive: Duration::from_millis(200),
            ..StreamConfig::default()
        })
        .start()
        .await;
    let ca = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(ca.path(), &server.ca_pem).unwrap();
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/httpx_sse_client.py");
    let url = server.url("/api/topics/indices/events");
    // The client blocks on its own stream; off the runtime's thread, which serves it. (The
    // script gives up after 30 s by itself, so this never hangs.)
    let ca_path = ca.path().to_owned();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(&python)
            .arg(&script)
            .arg(&url)
            .arg(&ca_path)
            .arg("3")
            .output()
    })
    .await
    .unwrap()
    .expect("python runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let seen: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(seen["http_version"], "HTTP/2");
    let events = seen["events"].as_array().unwrap();
    let field =
        |event: &serde_json::Value, name: &str| event[name].as_str().unwrap_or_default().to_owned();

    assert_eq!(field(&events[0], "event"), "hello");
    let hello: Hello = serde_json::from_str(&field(&events[0], "data")).unwrap();
    assert_eq!(hello.heartbeat_ms, Some(200));
    let sync = events
        .iter()
        .position(|e| field(e, "event") == "sync")
        .expect("a sync");
    let synced = field(&events[sync], "id");
    EventId::parse(&synced).expect("sync carries an id");
    let heartbeats: Vec<_> = events[sync + 1..]
        .iter()
        .filter(|e| field(e, "event") == "heartbeat")
        .collect();
    assert_eq!(heartbeats.len(), 3, "{events:?}");
    for heartbeat in heartbeats {
        let data: Heartbeat = serde_json::from_str(&field(heartbeat, "data")).unwrap();
        assert_eq!(data.interval_ms, 200);
        assert_eq!(
            field(heartbeat, "id"),
            synced,
            "a heartbeat leaves the last event id alone"
        );
    }
}
