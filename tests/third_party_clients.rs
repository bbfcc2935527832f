//! Clients this project did not write, reading its streams through heartbeats: Python's httpx
//! (over HTTP/2) with httpx-sse, pinned in tests/clients/requirements.txt and installed by
//! `scripts/setup` into target/python. (The Rust `eventsource-stream` parser reads every
//! stream in the other tests.)

mod common;

use common::TestServer;
use std::process::Command;
use std::time::Duration;
use tickerplex::model::{EventId, Heartbeat, Hello};
use tickerplex::server::stream::StreamConfig;

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
    let server = TestServer::start_with(StreamConfig {
        keep_alive: Duration::from_millis(200),
        ..StreamConfig::default()
    })
    .await;
    let ca = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(ca.path(), &server.ca_pem).unwrap();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/httpx_sse_client.py");
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
    let field = |event: &serde_json::Value, name: &str| event[name].as_str().unwrap_or_default().to_owned();

    assert_eq!(field(&events[0], "event"), "hello");
    let hello: Hello = serde_json::from_str(&field(&events[0], "data")).unwrap();
    assert_eq!(hello.heartbeat_ms, Some(200));
    let sync = events.iter().position(|e| field(e, "event") == "sync").expect("a sync");
    let synced = field(&events[sync], "id");
    EventId::parse(&synced).expect("sync carries an id");
    let heartbeats: Vec<_> = events[sync + 1..].iter().filter(|e| field(e, "event") == "heartbeat").collect();
    assert_eq!(heartbeats.len(), 3, "{events:?}");
    for heartbeat in heartbeats {
        let data: Heartbeat = serde_json::from_str(&field(heartbeat, "data")).unwrap();
        assert_eq!(data.interval_ms, 200);
        assert_eq!(field(heartbeat, "id"), synced, "a heartbeat leaves the last event id alone");
    }
}
