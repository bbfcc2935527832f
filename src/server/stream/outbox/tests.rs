//! The outbox's timing and endings, under paused time where it waits.
//!
//! `start_paused` makes tokio's clock jump straight to the next timer when every task is idle,
//! so a test of a 15-second heartbeat runs in microseconds and is exact to the millisecond —
//! no sleeps, no flakiness on a loaded machine.

use super::*;
use crate::model::{Quote, TopicName};
use crate::server::pubsub::topics::{Subscription, Topic, SUBSCRIBER_BUFFER};

/// An outbox on `subscription`, with nothing in the prelude, not draining.
fn outbox(subscription: Subscription, keep_alive: Duration) -> Outbox {
    outbox_with(VecDeque::new(), subscription, keep_alive, false)
}

/// An outbox with this prelude, draining or not, on a registry of its own. The registry is
/// only there because an outbox owns a stream guard; nothing here reads it.
fn outbox_with(
    prelude: VecDeque<Bytes>,
    mut subscription: Subscription,
    keep_alive: Duration,
    draining: bool,
) -> Outbox {
    let config = StreamConfig {
        keep_alive,
        retry: Duration::from_secs(1),
    };
    // A guard on a registry of its own: the outbox owns one in production (it uncounts the stream
    // when the body drops), and a test must build it the same way to test the real type.
    let guard = std::sync::Arc::new(crate::server::transport::registry::Registry::default())
        .open_stream(crate::model::ConnectionId::FIRST)
        .0;
    subscription.prelude = prelude.into();
    let label = crate::server::metrics::TopicLabel::of(&crate::model::TopicName::Watchlist);
    Outbox::new(subscription, &config, draining, (guard, label))
}

/// Heartbeats are for idle streams: a stream that carried an event within the last
/// interval gets none, and an idle one gets one per interval — on the process's one beat.
#[tokio::test(start_paused = true)]
async fn heartbeats_go_only_to_idle_streams() {
    // An empty topic: after subscribing, nothing arrives unless this test publishes it.
    let topic = std::sync::Arc::new(Topic::new(TopicName::Movers, 1));
    let start = tokio::time::Instant::now();
    // The beat the server runs, on this one topic: every 7.5 s from now.
    let beating = topic.clone();
    tokio::spawn(crate::server::stream::beat::run(
        Duration::from_secs(15),
        move |live| beating.signal(live),
        std::future::pending(),
    ));
    let mut outbox = outbox(
        topic.subscribe(None).await.unwrap(),
        Duration::from_secs(15),
    );

    // Events at 10 s and 20 s, the outbox polled all along as a live stream is: no heartbeat
    // in between.
    let publish_at = |secs: u64, price: f64| {
        let topic = &topic;
        async move {
            tokio::time::sleep_until(start + Duration::from_secs(secs)).await;
            let members = vec![Quote::fixture("AAA", price)];
            topic.set_members(members, |_| String::new()).await.unwrap();
        }
    };
    // `join!` polls the outbox while the publisher sleeps, exactly as hyper polls a body: the
    // beat comes at 7.5 s and 15 s, and the outbox must stay quiet.
    let (next, ()) = tokio::join!(outbox.next(), publish_at(10, 2.0));
    assert!(String::from_utf8_lossy(&next.unwrap()).starts_with("event: add"));
    // The second event, ten seconds after the first, with one beat (15 s) in between: still no
    // heartbeat, since one takes two quiet beats in a row.
    let (next, ()) = tokio::join!(outbox.next(), publish_at(20, 3.0));
    assert!(String::from_utf8_lossy(&next.unwrap()).starts_with("event: update"));

    // Silent since 20 s: a heartbeat at the second quiet beat, 30 s — never more than one
    // interval (15 s) after the last event, so a page's watchdog at 1.5–2 intervals never
    // mistakes a quiet topic for a dead one.
    // The heartbeat as the beat frames it: its shape is checked once here, and then the outbox
    // must send these very bytes.
    let heartbeat = crate::server::stream::beat::heartbeat(Duration::from_secs(15));
    assert_eq!(
        String::from_utf8_lossy(&heartbeat),
        "event: heartbeat\ndata: {\"interval_ms\":15000}\n\n",
        "named, JSON data, and no id: it must not move the browser's Last-Event-ID"
    );
    let next = outbox.next().await.unwrap();
    assert_eq!(next, heartbeat);
    assert_eq!(start.elapsed(), Duration::from_secs(30));

    // Idle: one heartbeat per interval.
    assert_eq!(outbox.next().await.unwrap(), heartbeat);
    assert_eq!(start.elapsed(), Duration::from_secs(45));
}

/// The signals that ride the live channel: `Shutdown` gets a goodbye with a jittered retry
/// and ends the stream; `Cut` ends it with no goodbye; a stream opened while the server
/// drains says goodbye after its prelude.
#[tokio::test]
async fn signals_end_the_stream() {
    // Three streams on one topic, each ended a different way.
    let topic = Topic::new(TopicName::Movers, 1);
    let mut shut = outbox(
        topic.subscribe(None).await.unwrap(),
        Duration::from_secs(15),
    );
    // Signalled before the first poll: the signal waits in the receiver like any event, so a stream
    // that is busy when the drain begins still hears it.
    topic.signal(Live::Shutdown);

    // The goodbye carries its own `retry:` (the jitter), then the `shutdown` event.
    let goodbye = String::from_utf8(shut.next().await.unwrap().to_vec()).unwrap();
    assert!(goodbye.starts_with("retry: "), "{goodbye}");
    assert!(goodbye.contains("event: shutdown\n"), "{goodbye}");
    assert!(shut.next().await.is_none(), "nothing after the goodbye");

    // A second stream on the same topic, cut instead: what an edge restart or a network failure
    // looks like to the browser.
    let mut interrupted = outbox(
        topic.subscribe(None).await.unwrap(),
        Duration::from_secs(15),
    );
    topic.signal(Live::Cut);
    assert!(
        interrupted.next().await.is_none(),
        "cut off with no goodbye"
    );

    // Opened after the broadcast: the prelude still goes out first (the browser learns its
    // connection and its resume point), then the goodbye, then nothing.
    let hello = Bytes::from_static(b"event: hello\ndata: {}\n\n");
    let mut late = outbox_with(
        VecDeque::from([hello.clone()]),
        topic.subscribe(None).await.unwrap(),
        Duration::from_secs(15),
        true,
    );
    assert_eq!(late.next().await.unwrap(), hello);
    assert!(String::from_utf8_lossy(&late.next().await.unwrap()).contains("event: shutdown"));
    assert!(late.next().await.is_none());
}

/// The log going away (Redis unreachable) ends a stream with a jittered `retry:` within
/// [retry, 3 × retry] and a comment saying why — no event, since nothing happened to the topic.
#[tokio::test]
async fn losing_the_log_ends_the_stream_with_a_retry_and_the_reason() {
    let topic = Topic::new(TopicName::Movers, 1);
    let mut lost = outbox(
        topic.subscribe(None).await.unwrap(),
        Duration::from_secs(15),
    );
    topic.signal(Live::Unavailable);
    let last = String::from_utf8(lost.next().await.unwrap().to_vec()).unwrap();
    // The `retry:` is read back as a number, as a browser reads it: a malformed one would be
    // ignored by the browser and the reconnect would fall back to its default.
    let retry_ms: u64 = last
        .strip_prefix("retry: ")
        .and_then(|rest| rest.split('\n').next())
        .and_then(|ms| ms.parse().ok())
        .unwrap_or_else(|| panic!("starts with a retry: {last}"));
    // The helper's `retry:` is one second.
    assert!((1000..=3000).contains(&retry_ms), "{retry_ms}");
    assert!(last.contains("\n: the event log is unavailable"), "{last}");
    // A comment, not an event: a widget that counted events would otherwise count an outage as news
    // from the topic.
    assert!(!last.contains("event:"), "{last}");
    assert!(lost.next().await.is_none(), "nothing after it");
}

/// A slow subscriber's stream says why and ends (so the browser resumes from its
/// Last-Event-ID) instead of buffering without bound or skipping events silently.
#[tokio::test]
async fn a_slow_subscriber_is_told_why_and_its_stream_ends() {
    let topic = Topic::new(TopicName::Movers, 1);
    // Subscribed, then never read while more events than the buffer holds are published: the
    // receiver has lagged before the outbox polls it even once.
    let subscription = topic.subscribe(None).await.unwrap();
    for i in 0..SUBSCRIBER_BUFFER + 10 {
        let members = vec![Quote::fixture("AAA", 2.0 + i as f64)];
        topic.set_members(members, |_| String::new()).await.unwrap();
    }
    // An hour's keep-alive: no heartbeat can be what comes out first.
    let mut outbox = outbox(subscription, Duration::from_secs(3600));
    let last_words = outbox.next().await.expect("a closing comment");
    assert!(
        String::from_utf8_lossy(&last_words).starts_with(": fell "),
        "{last_words:?}"
    );
    assert!(outbox.next().await.is_none(), "the stream ends");
}

/// Live events the prelude already covers are skipped: a subscriber that joined the channel
/// before reading the log (as every subscription does) never sends an event twice.
#[tokio::test]
async fn live_copies_of_prelude_events_are_skipped() {
    let topic = Topic::new(TopicName::Movers, 1);
    let mut subscription = topic.subscribe(None).await.unwrap();
    for price in [2.0, 3.0, 4.0] {
        let members = vec![Quote::fixture("AAA", price)];
        topic.set_members(members, |_| String::new()).await.unwrap();
    }
    // As if the log read had already returned the first two of these three events.
    subscription.after.seq += 2;
    let third = subscription.after.seq + 1;
    let mut outbox = outbox(subscription, Duration::from_secs(3600));
    let next = String::from_utf8(outbox.next().await.unwrap().to_vec()).unwrap();
    // The first chunk out is the third event: the two the prelude covered were skipped, not sent
    // again, and the one after them was not skipped with them.
    assert!(next.contains(&format!("id: 1-{third}\n")), "{next}");
}

/// A stream carries one epoch: when its topic restarts under it (the restart drill renumbers
/// the topics, then drops the streams, and a tick can fall in between), an event of the new
/// epoch is never sent on it — the stream ends, and the reconnect gets a reset.
#[tokio::test]
async fn an_event_of_a_new_epoch_ends_the_stream() {
    let topic = Topic::new(TopicName::Movers, 1);
    let subscription = topic.subscribe(None).await.unwrap();
    let mut outbox = outbox(subscription, Duration::from_secs(3600));
    // The restart drill's first half: the topic renumbers, and a tick falls before the streams are
    // cut.
    topic.restart(2).await.unwrap();
    let members = vec![Quote::fixture("AAA", 2.0)];
    topic.set_members(members, |_| String::new()).await.unwrap();
    assert!(
        outbox.next().await.is_none(),
        "the stream ends, sending nothing of epoch 2"
    );
}
