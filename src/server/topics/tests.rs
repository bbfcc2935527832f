//! The resume rules, without HTTP: what a subscriber receives for each kind of `Last-Event-ID`.

use super::*;
use eventsource_stream::Eventsource;
use futures_util::StreamExt;

const EPOCH: u64 = 77;

fn reason(_: &Symbol) -> String {
    "test".into()
}

/// Parses frames with a spec-following parser, as a browser would see them.
fn events(frames: &[Bytes]) -> Vec<eventsource_stream::Event> {
    let bytes: Vec<Result<Bytes, std::convert::Infallible>> =
        frames.iter().cloned().map(Ok).collect();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(
        futures_util::stream::iter(bytes)
            .eventsource()
            .map(Result::unwrap)
            .collect(),
    )
}

fn seqs(frames: &[Bytes]) -> Vec<u64> {
    events(frames)
        .iter()
        .map(|e| EventId::parse(&e.id).unwrap().seq)
        .collect()
}

/// A topic with two members that has published `updates` price moves after listing them.
fn topic_with_history(updates: usize) -> Topic {
    let topic = Topic::new(TopicName::Watchlist, EPOCH);
    topic.set_members(
        vec![Quote::fixture("AAA", 10.0), Quote::fixture("BBB", 20.0)],
        reason,
    );
    for i in 0..updates {
        topic.set_members(
            vec![
                Quote::fixture("AAA", 11.0 + i as f64),
                Quote::fixture("BBB", 20.0),
            ],
            reason,
        );
    }
    topic
}

/// A fresh subscriber gets one `add` per member, then `sync` carrying the topic's current id.
#[test]
fn a_fresh_subscriber_gets_the_snapshot_then_the_current_id() {
    let topic = topic_with_history(3);
    let subscription = topic.subscribe(None);
    let got = events(&subscription.prelude);
    let kinds: Vec<&str> = got.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(kinds, ["add", "add", "sync"]);
    assert_eq!(got.last().unwrap().id, format!("{EPOCH}-5"));
    assert_eq!(subscription.start, Start::Fresh);
}

/// Resuming after event k replays exactly k+1..=current, in order.
#[test]
fn resume_replays_exactly_the_missed_events() {
    let topic = topic_with_history(6); // events 1..=8
    let subscription = topic.subscribe(Some(&format!("{EPOCH}-3")));
    assert_eq!(seqs(&subscription.prelude), vec![4, 5, 6, 7, 8]);
    assert_eq!(subscription.start, Start::Resumed { replayed: 5 });
}

/// Events published after subscribing arrive live, continuing the sequence with no gap.
#[test]
fn events_after_the_subscription_arrive_live_without_a_gap() {
    let topic = topic_with_history(2); // events 1..=4
    let mut subscription = topic.subscribe(Some(&format!("{EPOCH}-2")));
    topic.set_members(
        vec![Quote::fixture("AAA", 99.0), Quote::fixture("BBB", 20.0)],
        reason,
    ); // event 5
    let replayed = seqs(&subscription.prelude);
    let live = subscription
        .live
        .try_recv()
        .ok()
        .and_then(Live::event)
        .expect("published after subscribing: in the receiver");
    assert_eq!(replayed, vec![3, 4]);
    assert_eq!(live.seq, 5);
}

/// Ids from another epoch, older than the history, from the future or malformed get `reset`
/// and a fresh snapshot — never a partial replay.
#[test]
fn unresumable_ids_get_reset_and_a_snapshot() {
    let topic = topic_with_history(HISTORY_CAPACITY + 10);
    let cases = [
        (format!("{}-3", EPOCH + 1), ResetReason::OtherEpoch),
        (format!("{EPOCH}-1"), ResetReason::TooOld),
        (format!("{EPOCH}-999999"), ResetReason::FromTheFuture),
        ("garbage\u{0}".to_owned(), ResetReason::Malformed),
    ];
    for (id, expected) in cases {
        let subscription = topic.subscribe(Some(&id));
        assert_eq!(
            subscription.start,
            Start::Reset { reason: expected },
            "{id}"
        );
        let got = events(&subscription.prelude);
        assert_eq!(got[0].event, "reset", "{id}");
        assert_eq!(got.iter().filter(|e| e.event == "add").count(), 2, "{id}");
        assert_eq!(got.last().unwrap().event, "sync", "{id}");
    }
}

/// The history is bounded: it never holds more than its capacity.
#[test]
fn the_history_is_bounded() {
    let topic = topic_with_history(HISTORY_CAPACITY * 2);
    assert_eq!(topic.stats().history, HISTORY_CAPACITY);
}

/// A membership change publishes `remove` (with the reason) and `add`.
#[test]
fn a_membership_change_publishes_remove_and_add() {
    let topic = topic_with_history(0);
    let before = topic.stats().current_id;
    topic.set_members(
        vec![Quote::fixture("AAA", 10.0), Quote::fixture("CCC", 5.0)],
        |_| "rotated out".into(),
    );
    let subscription = topic.subscribe(Some(&before.to_string()));
    let got = events(&subscription.prelude);
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].event, "remove");
    assert!(got[0].data.contains(r#""symbol":"BBB""#) && got[0].data.contains("rotated out"));
    assert_eq!(got[1].event, "add");
    assert!(got[1].data.contains(r#""symbol":"CCC""#));
}

/// Fan-out shares bytes: every subscriber receives the very same buffer, framed once per event.
#[test]
fn every_subscriber_gets_the_same_framed_bytes() {
    let topic = topic_with_history(0);
    let mut a = topic.subscribe(None);
    let mut b = topic.subscribe(None);
    topic.set_members(
        vec![Quote::fixture("AAA", 12.0), Quote::fixture("BBB", 20.0)],
        reason,
    );
    let event = |live: Live| live.event().expect("an event");
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
#[test]
fn a_subscriber_too_far_behind_is_detected() {
    let topic = topic_with_history(0);
    let mut slow = topic.subscribe(None);
    for i in 0..SUBSCRIBER_BUFFER + 5 {
        topic.set_members(
            vec![
                Quote::fixture("AAA", 100.0 + i as f64),
                Quote::fixture("BBB", 20.0),
            ],
            reason,
        );
    }
    assert!(matches!(
        slow.live.try_recv(),
        Err(broadcast::error::TryRecvError::Lagged(missed)) if missed > 0
    ));
}
