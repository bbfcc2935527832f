//! Resume and reset over real TLS + HTTP/2: a reconnecting client gets exactly the events it
//! missed, or an explicit `reset` and a fresh snapshot when its `Last-Event-ID` cannot be resumed.
//!
//! The market is stepped by hand ([`TestServer::step`]), so "k events were missed" is exact.

use crate::common;

use common::events::*;
use common::TestServer;
use tickerplex::model::{EventId, Hello, Reset, ResetReason, Start, TopicName};
use tickerplex::server::pubsub::topics::HISTORY_CAPACITY;

/// Reconnecting with the Last-Event-ID of k events ago replays exactly those k, contiguous and in
/// order, and live events continue after them: nothing lost, nothing repeated.
#[tokio::test]
async fn resume_after_k_missed_events_gets_exactly_those_k() {
    let server = TestServer::start().await;
    let client = server.client().build().unwrap();
    let topic = TopicName::Watchlist;
    let mut events = open(&server, &client, "watchlist", None).await;
    let (_, last_seen) = read_snapshot(&mut events).await;
    drop(events); // the tab goes away

    let k = 25;
    let now = server.step_until_published(&topic, k).await;
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
    server.step_until_published(&topic, 1).await;
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
    let server = TestServer::start().await;
    let client = server.client().build().unwrap();
    let topic = TopicName::Watchlist;
    let mut events = open(&server, &client, "watchlist", None).await;
    let (_, synced_at) = read_snapshot(&mut events).await;
    server.step_until_published(&topic, 2).await;
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

    let now = server.step_until_published(&topic, 3).await;
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
    let server = TestServer::start().await;
    let client = server.client().build().unwrap();
    let topic = TopicName::Watchlist;
    let mut events = open(&server, &client, "watchlist", None).await;
    let (_, synced_at) = read_snapshot(&mut events).await;

    assert_eq!(server.drill(&client, "restart").await.0, 200);
    read_until_end(&mut events).await;
    let now = server.step_until_published(&topic, 1).await;

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

/// Ids from another epoch, older than the history, from the future, or not ids at all get an
/// explicit `reset` and a fresh snapshot.
#[tokio::test]
async fn unresumable_ids_get_reset_and_a_fresh_snapshot() {
    let server = TestServer::start().await;
    let client = server.client().build().unwrap();
    let topic = TopicName::Watchlist;
    server
        .step_until_published(&topic, HISTORY_CAPACITY as u64 + 10)
        .await;
    let current = server.current_id(&topic);
    // This run's epoch, as the server chose it at start (its start time).
    let epoch = current.epoch;

    let cases = [
        (format!("{}-1", epoch + 1), ResetReason::OtherEpoch),
        (format!("{epoch}-1"), ResetReason::TooOld),
        (
            format!("{epoch}-{}", current.seq + 1000),
            ResetReason::FromTheFuture,
        ),
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

/// With drills off (the default), a drill is refused with a message that says how to enable
/// it, and open streams are untouched. The fault panel's streams and triggers are off with them.
#[tokio::test]
async fn drills_are_off_unless_enabled() {
    let server = TestServer::builder().without_drills().start().await;
    let client = server.client().build().unwrap();
    let mut events = open(&server, &client, "movers", None).await;
    let (status, message) = server.drill(&client, "drop-streams").await;
    assert_eq!(status, 404);
    assert!(message.contains("TICKERPLEX_DRILLS=1"), "{message}");
    for fault in [
        client.get(server.url("/api/faults/buffered/wrong/watchlist/events")),
        client.post(server.url("/api/faults/gateway/trigger")),
    ] {
        let refused = fault.send().await.unwrap();
        assert_eq!(refused.status(), 404);
        let message = refused.text().await.unwrap();
        assert!(message.contains("TICKERPLEX_DRILLS=1"), "{message}");
    }
    read_snapshot(&mut events).await;
    server.step_until_published(&TopicName::Movers, 1).await;
    assert_ne!(next(&mut events).await.event, "", "still live");
}

/// "Stop reconnecting", the SSE way: after the `stop-streams` drill every event-stream request
/// is answered `204 No Content` (which makes an EventSource give up for
/// good), while a JSON snapshot of the same URL is still served; `resume-streams` undoes it.
#[tokio::test]
async fn a_stopped_server_answers_event_stream_requests_with_204() {
    let server = TestServer::start().await;
    let client = server.client().build().unwrap();
    assert_eq!(server.drill(&client, "stop-streams").await.0, 200);

    let url = server.url("/api/topics/movers/events");
    let ask = |accept: &'static str| client.get(&url).header("accept", accept).send();
    let stopped = ask("text/event-stream").await.unwrap();
    assert_eq!(stopped.status(), 204);
    assert!(stopped.bytes().await.unwrap().is_empty());
    assert_eq!(ask("application/json").await.unwrap().status(), 200);

    assert_eq!(server.drill(&client, "resume-streams").await.0, 200);
    let resumed = ask("text/event-stream").await.unwrap();
    assert_eq!(resumed.status(), 200);
}
