//! The outbox: what is still to be sent on one open stream, and in what order.
//!
//! What it owns: the stream's prelude (`hello` and the snapshot or replay, already framed), its
//! receiver on the topic's live channel, the keep-alive timer, and how the stream ends —
//! client gone, too slow, shutdown, or a drill. It turns those into the next chunk of body
//! bytes, one `await` at a time; hyper pulls them as fast as the connection drains.
//!
//! Not here: deciding what the prelude is (the topic's log does, [`super::super::topics`]) or
//! the HTTP response around it ([`super`]).
//!
//! Why a hand-written `next()` and not axum's `Sse` + `KeepAlive`: `KeepAlive` wraps the stream
//! in a timer that is reset on every event — for a topic ticking three times a second at 200k
//! streams that is 600k timer moves a second. Here an event only zeroes a counter (see
//! [`Outbox::next`]), and the prelude leaves as one body chunk instead of one per event.

use crate::model::{EventId, EventKind, Shutdown};
use crate::server::registry::StreamGuard;
use crate::server::sse;
use crate::server::topics::Live;
use bytes::Bytes;
use rand::Rng;
use std::collections::VecDeque;
use std::time::Duration;
use tokio::sync::broadcast::{self, error::RecvError};

/// Timings of every event stream (`TICKERPLEX_RETRY_MS`, `TICKERPLEX_KEEPALIVE_SECS`).
#[derive(Clone, Copy, Debug)]
pub struct StreamConfig {
    /// Sent as `retry:` at the start of each stream: the browser's reconnect delay. Two seconds:
    /// short enough that a dropped stream is back before a reader notices, long enough that a
    /// server which is down is not hammered (the shutdown goodbye spreads it further).
    pub retry: Duration,
    /// A comment is sent after this long without anything else, so proxies and NATs that close
    /// idle connections see traffic. Common proxy idle timeouts are 30–60 s; 15 s stays well
    /// inside them, and a busy stream never pays for one.
    pub keep_alive: Duration,
}

impl Default for StreamConfig {
    fn default() -> Self {
        StreamConfig {
            retry: Duration::from_secs(2),
            keep_alive: Duration::from_secs(15),
        }
    }
}

/// What is still to be sent on one stream.
pub struct Outbox {
    /// Bytes owed before anything live: `hello` + snapshot or replay (one chunk), and the
    /// goodbye when the stream opened during a drain.
    prelude: VecDeque<Bytes>,
    /// This stream's receiver on its topic's channel: events, and the signals that end it.
    /// Bounded (see `SUBSCRIBER_BUFFER`): a receiver that falls that far behind gets `Lagged`.
    live: broadcast::Receiver<Live>,
    /// The prelude covers events up to here; live copies of them are skipped (the subscription
    /// joined the channel before reading the log, so the two may overlap).
    after: EventId,
    /// Ticks every half keep-alive interval; see [`Outbox::next`]. One timer per stream, set
    /// once: rejected, a timer reset on every event (what axum's `KeepAlive` does).
    keep_alive: tokio::time::Interval,
    /// Keep-alive ticks since the last thing sent.
    quiet_ticks: u8,
    /// The configured `retry:`, the base of the goodbye's jitter.
    retry: Duration,
    /// Set once the last bytes are queued (goodbye or slow-consumer note): `next` then ends.
    done: bool,
    /// Unregisters the stream when the body is dropped, for whatever reason: the registry's
    /// counts cannot drift, because no code path has to remember to decrement them.
    _guard: StreamGuard,
}

impl Outbox {
    pub fn new(
        prelude: VecDeque<Bytes>,
        live: broadcast::Receiver<Live>,
        after: EventId,
        config: &StreamConfig,
        draining: bool,
        guard: StreamGuard,
    ) -> Outbox {
        let half = config.keep_alive / 2;
        let mut keep_alive = tokio::time::interval_at(tokio::time::Instant::now() + half, half);
        keep_alive.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut outbox = Outbox {
            prelude,
            live,
            after,
            keep_alive,
            quiet_ticks: 0,
            retry: config.retry,
            done: false,
            _guard: guard,
        };
        if draining {
            let goodbye = outbox.goodbye();
            outbox.prelude.push_back(goodbye);
        }
        outbox
    }

    /// The next chunk of the body, or `None` when the stream is over. hyper calls it again as
    /// soon as the previous chunk is queued on the connection, so between events it waits.
    pub async fn next(&mut self) -> Option<Bytes> {
        if let Some(bytes) = self.prelude.pop_front() {
            return Some(bytes);
        }
        if self.done {
            return None;
        }
        loop {
            tokio::select! {
                // Events before the timer: when both are ready, the event is the more useful byte,
                // and it makes the keep-alive unnecessary anyway.
                biased;
                received = self.live.recv() => return match received {
                    // Already in the prelude: skip it and wait on.
                    Ok(Live::Event(frame)) if frame.id <= self.after => continue,
                    Ok(Live::Event(frame)) => {
                        self.quiet_ticks = 0;
                        Some(frame.bytes)
                    }
                    Ok(Live::Shutdown) => Some(self.goodbye()),
                    // The drop-streams drill: end with no goodbye, exactly like a lost connection.
                    Ok(Live::Interrupt) => None,
                    Err(RecvError::Lagged(missed)) => {
                        // Too slow: close, so the browser reconnects with its Last-Event-ID.
                        self.done = true;
                        tracing::warn!(missed, "slow subscriber cut off; it will resume from its last event id");
                        Some(sse::comment(&format!("fell {missed} events behind; closing so you resume")))
                    }
                    // The topic is gone (the server is stopping): nothing more will come.
                    Err(RecvError::Closed) => None,
                },
                // A comment after a full interval without anything sent: the timer ticks every
                // half interval, and the second quiet tick in a row sends it. An event only
                // zeroes a counter, which is cheaper than moving a timer for every event.
                _ = self.keep_alive.tick() => {
                    self.quiet_ticks += 1;
                    if self.quiet_ticks == 2 {
                        self.quiet_ticks = 0;
                        return Some(sse::comment("keep-alive"));
                    }
                }
            }
        }
    }

    /// The `shutdown` event, with a `retry` spread over [retry, 3 × retry] so a restart is not a
    /// stampede; the stream ends after it.
    fn goodbye(&mut self) -> Bytes {
        self.done = true;
        let base = self.retry.as_millis() as u64;
        let retry_ms = rand::rng().random_range(base..=base * 3);
        let data = sse::json(&Shutdown { retry_ms });
        sse::Event::new(EventKind::Shutdown, &data)
            .retry(Duration::from_millis(retry_ms))
            .to_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Quote, TopicName};
    use crate::server::topics::{Subscription, Topic, SUBSCRIBER_BUFFER};

    /// An outbox on `subscription`, with nothing in the prelude, not draining.
    fn outbox(subscription: Subscription, keep_alive: Duration) -> Outbox {
        outbox_with(VecDeque::new(), subscription, keep_alive, false)
    }

    /// An outbox with this prelude, draining or not, on a registry of its own.
    fn outbox_with(
        prelude: VecDeque<Bytes>,
        subscription: Subscription,
        keep_alive: Duration,
        draining: bool,
    ) -> Outbox {
        let config = StreamConfig {
            keep_alive,
            retry: Duration::from_secs(1),
        };
        let guard = std::sync::Arc::new(crate::server::registry::Registry::default())
            .open_stream(crate::model::ConnectionId::FIRST)
            .0;
        Outbox::new(
            prelude,
            subscription.live,
            subscription.after,
            &config,
            draining,
            guard,
        )
    }

    /// Keep-alive comments are for idle streams: a stream that carried an event within the last
    /// interval gets none, and an idle one gets one per interval.
    #[tokio::test(start_paused = true)]
    async fn keep_alives_go_only_to_idle_streams() {
        let topic = Topic::new(TopicName::Movers, 1);
        let start = tokio::time::Instant::now();
        let mut outbox = outbox(
            topic.subscribe(None).await.unwrap(),
            Duration::from_secs(15),
        );

        // Events at 10 s and 20 s, the outbox polled all along as a live stream is: no comment
        // in between.
        let publish_at = |secs: u64, price: f64| {
            let topic = &topic;
            async move {
                tokio::time::sleep_until(start + Duration::from_secs(secs)).await;
                let members = vec![Quote::fixture("AAA", price)];
                topic.set_members(members, |_| String::new()).await.unwrap();
            }
        };
        let (next, ()) = tokio::join!(outbox.next(), publish_at(10, 2.0));
        assert!(String::from_utf8_lossy(&next.unwrap()).starts_with("event: add"));
        let (next, ()) = tokio::join!(outbox.next(), publish_at(20, 3.0));
        assert!(String::from_utf8_lossy(&next.unwrap()).starts_with("event: update"));

        // Silent since 20 s: a comment at the second quiet half-interval tick, 30 s — never
        // more than one interval (15 s) after the last event.
        let next = outbox.next().await.unwrap();
        assert_eq!(next, sse::comment("keep-alive"));
        assert_eq!(start.elapsed(), Duration::from_secs(30));

        // Idle: one comment per interval.
        assert_eq!(outbox.next().await.unwrap(), sse::comment("keep-alive"));
        assert_eq!(start.elapsed(), Duration::from_secs(45));
    }

    /// The signals that ride the live channel: `Shutdown` gets a goodbye with a jittered retry
    /// and ends the stream; `Interrupt` ends it with no goodbye; a stream opened while the server
    /// drains says goodbye after its prelude.
    #[tokio::test]
    async fn signals_end_the_stream() {
        let topic = Topic::new(TopicName::Movers, 1);
        let mut shut = outbox(
            topic.subscribe(None).await.unwrap(),
            Duration::from_secs(15),
        );
        topic.signal(Live::Shutdown);

        let goodbye = String::from_utf8(shut.next().await.unwrap().to_vec()).unwrap();
        assert!(goodbye.starts_with("retry: "), "{goodbye}");
        assert!(goodbye.contains("event: shutdown\n"), "{goodbye}");
        assert!(shut.next().await.is_none(), "nothing after the goodbye");

        let mut interrupted = outbox(
            topic.subscribe(None).await.unwrap(),
            Duration::from_secs(15),
        );
        topic.signal(Live::Interrupt);
        assert!(
            interrupted.next().await.is_none(),
            "cut off with no goodbye"
        );

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

    /// A slow subscriber's stream says why and ends (so the browser resumes from its
    /// Last-Event-ID) instead of buffering without bound or skipping events silently.
    #[tokio::test]
    async fn a_slow_subscriber_is_told_why_and_its_stream_ends() {
        let topic = Topic::new(TopicName::Movers, 1);
        let subscription = topic.subscribe(None).await.unwrap();
        for i in 0..SUBSCRIBER_BUFFER + 10 {
            let members = vec![Quote::fixture("AAA", 2.0 + i as f64)];
            topic.set_members(members, |_| String::new()).await.unwrap();
        }
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
        assert!(next.contains(&format!("id: 1-{third}\n")), "{next}");
    }
}
