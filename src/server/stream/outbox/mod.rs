//! The outbox: what is still to be sent on one open stream, and in what order.
//!
//! What it owns: the stream's prelude (`hello` and the snapshot or replay, already framed), its
//! receiver on the topic's live channel, when to send a heartbeat, and how the stream ends —
//! client gone, too slow, shutdown, or a drill. It turns those into the next chunk of body
//! bytes, one `await` at a time; hyper pulls them as fast as the connection drains.
//!
//! Not here: deciding what the prelude is (the topic's log does, [`crate::server::pubsub::topics`]) or
//! the HTTP response around it ([`super`]).
//!
//! Six ways a stream ends, and what the last bytes are:
//! - the client goes away: no last bytes (hyper drops the body; the guard unregisters it);
//! - it is too slow (`Lagged`): a comment saying how far behind it fell, then the end, so its
//!   `EventSource` reconnects and resumes from its last id;
//! - the server drains: `shutdown` with a jittered `retry:`;
//! - a cut ([`Live::Cut`], the drills'): nothing — as a failing network would end it;
//! - an event of a later epoch (the topic restarted under it): nothing, so the reconnect resets;
//! - the event log goes away (Redis unreachable): a comment saying so, with a jittered `retry:`.
//!
//! Why a hand-written `next()` and not axum's `Sse` + `KeepAlive`: `KeepAlive` wraps the stream
//! in a timer that is reset on every event — for a topic ticking three times a second at 200k
//! streams that is 600k timer moves a second. Here a stream has no timer at all: the process's
//! one [beat](super::beat) arrives on the live channel like any signal, an event only zeroes a
//! counter (see [`Outbox::next`]), and the prelude leaves as one body chunk instead of one per
//! event.

use crate::model::{EventId, EventKind, Shutdown};
use crate::server::metrics::{metrics, TopicLabel, LATENCY_SAMPLE};
use crate::server::pubsub::topics::{Live, Subscription};
use crate::server::sse;
use crate::server::transport::registry::StreamGuard;
use bytes::Bytes;
use rand::Rng;
use std::collections::VecDeque;
use std::time::Duration;
use tokio::sync::broadcast::{self, error::RecvError};

/// Live events a stream counts locally before adding them to the process's counters.
const FLUSH_EVERY: u64 = 64;

/// Timings of every event stream (`TICKERPLEX_RETRY_MS`, `TICKERPLEX_KEEPALIVE_SECS`).
#[derive(Clone, Copy, Debug)]
pub struct StreamConfig {
    /// Sent as `retry:` at the start of each stream: the browser's reconnect delay. Two seconds:
    /// short enough that a dropped stream is back before a reader notices, long enough that a
    /// server which is down is not hammered (the shutdown goodbye spreads it further).
    pub retry: Duration,
    /// A `heartbeat` event is sent after this long without anything else, so proxies and NATs
    /// that close idle connections see traffic, and the page can tell silence from a quiet
    /// topic. Common proxy idle timeouts are 30–60 s; 15 s stays well inside them, a busy
    /// stream never pays for one, and a page's watchdog (1.5–2× it) notices a frozen server
    /// in 23–30 s.
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
    /// [Beats](super::beat) (every half keep-alive interval) since the last thing sent; see
    /// [`Outbox::next`].
    quiet_beats: u8,
    /// The configured `retry:`, the base of the goodbye's jitter.
    retry: Duration,
    /// Set once the last bytes are queued (goodbye or slow-consumer note): `next` then ends.
    done: bool,
    /// The topic's metrics label, and what this stream delivered since it last added to the
    /// process's counters (flushed every [`FLUSH_EVERY`] events and when the stream ends: one
    /// contended add per batch rather than per event).
    topic: TopicLabel,
    /// Events handed on since the last flush to the process counters.
    unflushed_events: u64,
    /// Their bytes, flushed with them.
    unflushed_bytes: u64,
    /// Live events delivered: every [`LATENCY_SAMPLE`]th has its fan-out latency observed.
    delivered: u64,
    /// Unregisters the stream when the body is dropped, for whatever reason: the registry's
    /// counts cannot drift, because no code path has to remember to decrement them.
    _guard: StreamGuard,
}

impl Outbox {
    /// An outbox that sends the subscription's prelude first, then what its live channel
    /// carries after the prelude's last id; `draining` appends the goodbye to the prelude (the
    /// stream opened during a drain).
    pub fn new(
        subscription: Subscription,
        config: &StreamConfig,
        draining: bool,
        (guard, topic): (StreamGuard, TopicLabel),
    ) -> Outbox {
        let mut outbox = Outbox {
            prelude: subscription.prelude.into(),
            live: subscription.live,
            after: subscription.after,
            quiet_beats: 0,
            retry: config.retry,
            done: false,
            topic,
            unflushed_events: 0,
            unflushed_bytes: 0,
            delivered: 0,
            _guard: guard,
        };
        // After the prelude, not instead of it: a stream opened during the drain still shows its
        // snapshot, then says `shutdown` and ends, so the page has data while it waits to
        // reconnect.
        if draining {
            let goodbye = outbox.goodbye();
            outbox.prelude.push_back(goodbye);
        }
        outbox
    }

    /// The next chunk of the body, or `None` when the stream is over. hyper calls it again as
    /// soon as the previous chunk is queued on the connection, so between events it waits.
    pub async fn next(&mut self) -> Option<Bytes> {
        let bytes = self.next_chunk().await?;
        self.unflushed_bytes += bytes.len() as u64;
        Some(bytes)
    }

    /// What `next` returns, before it is counted.
    async fn next_chunk(&mut self) -> Option<Bytes> {
        if let Some(bytes) = self.prelude.pop_front() {
            // Sent once: the queue's buffer goes with its last chunk instead of staying
            // allocated for the stream's life (one small allocation in every idle stream).
            if self.prelude.is_empty() {
                self.prelude = VecDeque::new();
            }
            return Some(bytes);
        }
        if self.done {
            return None;
        }
        loop {
            return match self.live.recv().await {
                // Already in the prelude: skip it and wait on.
                Ok(Live::Event(frame)) if frame.id <= self.after => continue,
                // A later epoch: the topic restarted under this stream (the restart drill
                // renumbers every topic before it drops the streams, and a tick may fall in
                // between). A stream carries one epoch: it ends here, and the browser's
                // reconnect, with its id from the old epoch, gets a reset and a snapshot.
                // Epoch 0 is an empty log's (nothing published yet): the first event's
                // epoch becomes the stream's.
                Ok(Live::Event(frame))
                    if self.after.epoch != 0 && frame.id.epoch != self.after.epoch =>
                {
                    None
                }
                Ok(Live::Event(frame)) => {
                    self.after.epoch = frame.id.epoch;
                    self.quiet_beats = 0;
                    self.delivered(Some(frame.published));
                    Some(frame.bytes)
                }
                // No id, no history: sent as it is (and it is activity, like an event).
                Ok(Live::Mark(bytes)) => {
                    self.quiet_beats = 0;
                    self.delivered(None);
                    Some(bytes)
                }
                Ok(Live::Shutdown) => Some(self.goodbye()),
                Ok(Live::Unavailable) => Some(self.log_lost()),
                // End with no goodbye, exactly like a lost connection.
                Ok(Live::Cut) => None,
                Err(RecvError::Lagged(missed)) => {
                    // Too slow: close, so the browser reconnects with its Last-Event-ID.
                    self.done = true;
                    tracing::warn!(
                        missed,
                        "slow subscriber cut off; it will resume from its last event id"
                    );
                    metrics().slow_consumer_disconnects.inc();
                    Some(sse::comment(&format!(
                        "fell {missed} events behind; closing so you resume"
                    )))
                }
                // A heartbeat after a full interval without anything sent: the beat comes
                // every half interval, and the second quiet one in a row sends it. Silence
                // is then at most one interval (plus a beat's delay), and an event only
                // zeroes a counter. An event, not a comment: a proxy sees traffic either way,
                // but only an event reaches the page, whose watchdog reopens a stream that
                // stays silent past 1.5–2 intervals (a frozen server, a half-open connection).
                Ok(Live::Beat(heartbeat)) => {
                    self.quiet_beats += 1;
                    if self.quiet_beats < 2 {
                        continue;
                    }
                    self.quiet_beats = 0;
                    metrics().keepalives.inc();
                    Some(heartbeat)
                }
                // The topic is gone (the server is stopping): nothing more will come.
                Err(RecvError::Closed) => None,
            };
        }
    }

    /// Counts one live event handed on; observes its fan-out latency if it is the sampled one.
    fn delivered(&mut self, published: Option<std::time::Instant>) {
        self.delivered += 1;
        self.unflushed_events += 1;
        if let Some(published) = published.filter(|_| self.delivered % LATENCY_SAMPLE == 1) {
            metrics().fanout(&self.topic, published.elapsed());
        }
        if self.unflushed_events >= FLUSH_EVERY {
            self.flush();
        }
    }

    /// Adds what this stream delivered to the process's counters.
    fn flush(&mut self) {
        let m = metrics();
        m.events_delivered
            .inc_by(std::mem::take(&mut self.unflushed_events));
        m.bytes_delivered
            .inc_by(std::mem::take(&mut self.unflushed_bytes));
    }

    /// The end of a stream whose event log went away (Redis unreachable): a `retry:` with the
    /// goodbye's jitter and a comment saying why. No event: nothing happened to the topic, and
    /// the browser's reconnect is answered (the SSE way) whether or not the log is back.
    fn log_lost(&mut self) -> Bytes {
        self.done = true;
        let retry_ms = self.jittered_retry_ms();
        let why = sse::comment(&format!(
            "the event log is unavailable; reconnect in {retry_ms} ms"
        ));
        [format!("retry: {retry_ms}\n").as_bytes(), &why]
            .concat()
            .into()
    }

    /// The `shutdown` event, with a `retry` spread over [retry, 3 × retry] so a restart is not a
    /// stampede; the stream ends after it.
    ///
    /// Uniform jitter over a factor of three: with the default two seconds, a thousand browsers
    /// come back over four seconds instead of in the same millisecond, which a restarting
    /// server (or the instance an edge sends them to) can absorb. `rand::rng()` is the
    /// thread-local generator — no lock, and reproducibility does not matter here.
    fn goodbye(&mut self) -> Bytes {
        self.done = true;
        let retry_ms = self.jittered_retry_ms();
        let data = sse::json(&Shutdown { retry_ms });
        sse::Event::new(EventKind::Shutdown, &data)
            .retry(Duration::from_millis(retry_ms))
            .to_bytes()
    }

    /// A reconnect delay drawn uniformly from [retry, 3 × retry].
    fn jittered_retry_ms(&self) -> u64 {
        // Whole milliseconds; `base * 3` cannot overflow for any `retry:` config accepts.
        let base = self.retry.as_millis() as u64;
        rand::rng().random_range(base..=base * 3)
    }
}

impl Drop for Outbox {
    fn drop(&mut self) {
        self.flush();
    }
}

#[cfg(test)]
mod tests;
