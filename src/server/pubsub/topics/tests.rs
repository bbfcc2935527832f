//! The resume rules, without HTTP: what a subscriber receives for each kind of `Last-Event-ID`.
//!
//! Every assertion reads the frames back through `eventsource-stream`, a parser from the
//! registry that follows the spec, so a test passes only if a browser would see the same thing —
//! not merely if our bytes match our own idea of them. The log is the in-memory one; the rules
//! under test are above the seam and hold for every backend.

use super::*;
use crate::model::{EventId, ResetReason, Start};
use bytes::Bytes;
use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use tokio::sync::broadcast;

/// Any fixed epoch: these tests never start a second one, except to forge ids from it.
const EPOCH: u64 = 77;

/// The removal reason these tests do not look at.
fn reason(_: &Symbol) -> String {
    "test".into()
}

/// Parses frames with a spec-following parser, as a browser would see them.
async fn events(frames: &[Bytes]) -> Vec<eventsource_stream::Event> {
    let bytes: Vec<Result<Bytes, std::convert::Infallible>> =
        frames.iter().cloned().map(Ok).collect();
    futures_util::stream::iter(bytes)
        .eventsource()
        .map(Result::unwrap)
        .collect()
        .await
}

/// The sequence numbers of `frames`, in the order a browser would see them.
async fn seqs(frames: &[Bytes]) -> Vec<u64> {
    // Parsed back from the frames' `id:` lines: the ids a browser would store as its last one.
    events(frames)
        .await
        .iter()
        .map(|e| EventId::parse(&e.id).unwrap().seq)
        .collect()
}

/// Publishes `members` on `topic` (the in-memory log never fails).
async fn set(topic: &Topic, members: Vec<Quote>) {
    topic.set_members(members, reason).await.unwrap();
}

/// A topic with two members that has published `updates` price moves after listing them.
async fn topic_with_history(updates: usize) -> Topic {
    // Two members listed: events 1 and 2 (two `add`s), then one `update` per price move, so a topic
    // with `updates` moves has published `updates + 2` events.
    let topic = Topic::new(TopicName::Watchlist, EPOCH);
    set(
        &topic,
        vec![Quote::fixture("AAA", 10.0), Quote::fixture("BBB", 20.0)],
    )
    .await;
    for i in 0..updates {
        let moved = Quote::fixture("AAA", 11.0 + i as f64);
        set(&topic, vec![moved, Quote::fixture("BBB", 20.0)]).await;
    }
    topic
}

/// Subscribes (the in-memory log never fails).
async fn subscribe(topic: &Topic, last_event_id: Option<&str>) -> Subscription {
    topic.subscribe(last_event_id).await.unwrap()
}

/// A fresh subscriber gets one `add` per member, then `sync` carrying the topic's current id.
#[tokio::test]
async fn a_fresh_subscriber_gets_the_snapshot_then_the_current_id() {
    let topic = topic_with_history(3).await;
    let subscription = subscribe(&topic, None).await;
    let got = events(&subscription.prelude).await;
    let kinds: Vec<&str> = got.iter().map(|e| e.event.as_str()).collect();
    // Two members, so two `add`s, and no id on them: they are state, not events of the log.
    assert_eq!(kinds, ["add", "add", "sync"]);
    // Two adds and three updates were published: `sync` names event 5, where live ones resume.
    assert_eq!(got.last().unwrap().id, format!("{EPOCH}-5"));
    assert_eq!(subscription.start, Start::Fresh);
}

/// Resuming after event k replays exactly k+1..=current, in order.
#[tokio::test]
async fn resume_replays_exactly_the_missed_events() {
    let topic = topic_with_history(6).await; // events 1..=8
    let subscription = subscribe(&topic, Some(&format!("{EPOCH}-3"))).await;
    // Not 3 (the client has it) and nothing beyond 8 (not yet published): exactly the gap.
    assert_eq!(seqs(&subscription.prelude).await, vec![4, 5, 6, 7, 8]);
    assert_eq!(subscription.start, Start::Resumed { replayed: 5 });
}

/// Events published after subscribing arrive live, continuing the sequence with no gap.
#[tokio::test]
async fn events_after_the_subscription_arrive_live_without_a_gap() {
    // Events 1 to 4, then a resume from event 2: the prelude replays 3 and 4, and the live
    // channel takes over at 5, the hand-over this test watches.
    let topic = topic_with_history(2).await;
    let mut subscription = subscribe(&topic, Some(&format!("{EPOCH}-2"))).await;
    set(
        &topic,
        vec![Quote::fixture("AAA", 99.0), Quote::fixture("BBB", 20.0)],
    )
    .await; // event 5

    // Event 5 was appended after the subscription joined the channel: it must be in the
    // receiver, and the replay must stop at 4 — the hand-over point with no hole and no overlap.
    let replayed = seqs(&subscription.prelude).await;
    // `try_recv`, not `recv`: the event must already be in the receiver, with nothing to wait for.
    // A test that waited could pass on an event sent later.
    let live = subscription
        .live
        .try_recv()
        .ok()
        .and_then(Live::event)
        .expect("published after subscribing: in the receiver");
    assert_eq!(replayed, vec![3, 4]);
    assert_eq!(live.id.seq, 5);
}

/// Ids from another epoch, older than the history, from the future or malformed get `reset`
/// and a fresh snapshot — never a partial replay.
#[tokio::test]
async fn unresumable_ids_get_reset_and_a_snapshot() {
    // More events than the history keeps, so the oldest ids have really been dropped.
    let topic = topic_with_history(HISTORY_CAPACITY + 10).await;
    // One id per reason; the NUL in the malformed one is what browsers do to ids they dislike.
    let cases = [
        (format!("{}-3", EPOCH + 1), ResetReason::OtherEpoch),
        (format!("{EPOCH}-1"), ResetReason::TooOld),
        (format!("{EPOCH}-999999"), ResetReason::FromTheFuture),
        ("garbage\u{0}".to_owned(), ResetReason::Malformed),
    ];
    for (id, expected) in cases {
        let subscription = subscribe(&topic, Some(&id)).await;
        assert_eq!(
            subscription.start,
            Start::Reset { reason: expected },
            "{id}"
        );
        // `reset` first, so the widget clears its rows before the snapshot rebuilds them.
        let got = events(&subscription.prelude).await;
        assert_eq!(got[0].event, "reset", "{id}");
        // A whole snapshot after the reset, never a partial replay of whatever history is left.
        assert_eq!(got.iter().filter(|e| e.event == "add").count(), 2, "{id}");
        assert_eq!(got.last().unwrap().event, "sync", "{id}");
    }
}

/// The history is bounded: it never holds more than its capacity.
#[tokio::test]
async fn the_history_is_bounded() {
    // Twice the capacity published: memory per topic stays bounded however long it runs.
    let topic = topic_with_history(HISTORY_CAPACITY * 2).await;
    assert_eq!(topic.stats().history, HISTORY_CAPACITY);
}

/// A membership change publishes `remove` (with the reason) and `add`.
#[tokio::test]
async fn a_membership_change_publishes_remove_and_add() {
    let topic = topic_with_history(0).await;
    let before = topic.stats().current_id;
    topic
        .set_members(
            vec![Quote::fixture("AAA", 10.0), Quote::fixture("CCC", 5.0)],
            |_| "rotated out".into(),
        )
        .await
        .unwrap();
    // Resuming from just before the change shows exactly what the change published: BBB left
    // (with the reason the feed gave), CCC joined, and AAA — unchanged — produced nothing.
    let subscription = subscribe(&topic, Some(&before.to_string())).await;
    let got = events(&subscription.prelude).await;
    // Two events, not three: the unchanged AAA must not publish an `update` it does not have.
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].event, "remove");
    assert!(got[0].data.contains(r#""symbol":"BBB""#) && got[0].data.contains("rotated out"));
    assert_eq!(got[1].event, "add");
    assert!(got[1].data.contains(r#""symbol":"CCC""#));
}

/// Fan-out shares bytes: every subscriber receives the very same buffer, framed once per event.
#[tokio::test]
async fn every_subscriber_gets_the_same_framed_bytes() {
    // Two subscribers of one topic, one event published after both joined.
    let topic = topic_with_history(0).await;
    let mut a = subscribe(&topic, None).await;
    let mut b = subscribe(&topic, None).await;
    set(
        &topic,
        vec![Quote::fixture("AAA", 12.0), Quote::fixture("BBB", 20.0)],
    )
    .await;
    // The same pointer, not merely equal bytes: the event was framed once and each receiver
    // got a reference-counted handle to it. This is what keeps fan-out cheap at 200k streams.
    let event = |live: Live| live.event().expect("an event");
    // Both receivers already hold the event: it was sent once, into the channel they share.
    let (from_a, from_b) = (
        event(a.live.try_recv().unwrap()),
        event(b.live.try_recv().unwrap()),
    );
    assert_eq!(
        from_a.bytes.as_ptr(),
        from_b.bytes.as_ptr(),
        "one allocation, shared"
    );
}

/// A subscriber that falls more than SUBSCRIBER_BUFFER events behind is told so by the channel
/// (it is never handed a silently shortened stream); the stream then closes so it resumes.
#[tokio::test]
async fn a_subscriber_too_far_behind_is_detected() {
    let topic = topic_with_history(0).await;
    // Never reads while SUBSCRIBER_BUFFER + 5 events are published: its oldest events are
    // overwritten in the channel, and its next receive must say so rather than skip them.
    let mut slow = subscribe(&topic, None).await;
    for i in 0..SUBSCRIBER_BUFFER + 5 {
        let moved = Quote::fixture("AAA", 100.0 + i as f64);
        set(&topic, vec![moved, Quote::fixture("BBB", 20.0)]).await;
    }
    assert!(matches!(
        slow.live.try_recv(),
        Err(broadcast::error::TryRecvError::Lagged(missed)) if missed > 0
    ));
}
