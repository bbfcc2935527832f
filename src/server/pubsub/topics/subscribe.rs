//! Subscribing to a topic: the protocol's resume rules, above the event log's seam.
//!
//! What it owns: turning a `Last-Event-ID` (or none) into the start of a stream — a snapshot,
//! an exact replay, or an explicit `reset` — and the id up to which that start covers the log,
//! so the stream can drop the live copies of events it already sent (see the parent module's
//! doc for why subscribing joins the channel first and reads the log second).

use super::{Live, LogError, Topic};
use crate::model::{EventId, EventKind, Reset, ResetReason, Start, Sync};
use crate::server::sse::{self, json};
use bytes::Bytes;
use tokio::sync::broadcast;

/// What a new subscriber gets: bytes to send first, then the live channel.
///
/// Plain data, so the stream handler (which adds `hello` in front) and the unit tests (which
/// read the prelude with a real SSE parser) use it the same way.
pub struct Subscription {
    /// The snapshot (fresh or after a reset), or the missed events (resume).
    pub prelude: Vec<Bytes>,
    /// Subscribed before the prelude was read, so nothing published in between is missed; the
    /// copies that overlap the prelude are skipped by `after`.
    pub live: broadcast::Receiver<Live>,
    /// How the subscription started, for logs and the `hello` event.
    pub start: Start,
    /// The prelude covers everything up to this id: live events at or before it are copies and
    /// are skipped (see the module doc).
    pub after: EventId,
}

impl Topic {
    /// Subscribes, resuming after `last_event_id` when the log allows (see the module doc).
    ///
    /// The three outcomes, and what the client sees:
    /// - no id: a fresh snapshot (`add` per member, `sync` with the current id);
    /// - an id the log still covers: exactly the events after it, then live ones;
    /// - any other id: `reset` with the reason, then a fresh snapshot. Never a partial replay:
    ///   a client that silently missed events would show prices that are simply wrong.
    pub async fn subscribe(&self, last_event_id: Option<&str>) -> Result<Subscription, LogError> {
        // First the channel, then the log: see the module doc for why this order.
        let live = self.log.subscribe();
        // `None` here means "no reset": a fresh client, or a resume that worked (which returns
        // early, above the snapshot). Anything else is the reason the snapshot follows a reset.
        let reset = match last_event_id {
            None => None,
            Some(id) => match self.resume_point(id).await? {
                Err(reason) => Some(reason),
                Ok(after) => match self.log.read_after(after).await? {
                    Some(missed) => {
                        let replayed = missed.len();
                        return Ok(Subscription {
                            prelude: missed,
                            live,
                            start: Start::Resumed { replayed },
                            // Ids are contiguous: the replay ends `replayed` events after `after`.
                            after: EventId {
                                epoch: after.epoch,
                                seq: after.seq + replayed as u64,
                            },
                        });
                    }
                    // Trimmed between the bounds check and the read: too old after all.
                    None => Some(ResetReason::TooOld),
                },
            },
        };
        // A snapshot, fresh or after a reset: `after` is the id the members are current at, so
        // the live events that follow continue exactly from it.
        let (prelude, after) = self.snapshot_frames(reset).await?;
        let start = match reset {
            None => Start::Fresh,
            Some(reason) => Start::Reset { reason },
        };
        Ok(Subscription {
            prelude,
            live,
            start,
            after,
        })
    }

    /// The id to replay after, or why that is impossible.
    ///
    /// The outer `Result` is the log's (could it answer at all?); the inner one is the
    /// protocol's (can this id be resumed?). Kept apart so a network failure is never mistaken
    /// for a stale id, which would send every client a `reset` during a Redis hiccup.
    async fn resume_point(
        &self,
        last_event_id: &str,
    ) -> Result<Result<EventId, ResetReason>, LogError> {
        let Ok(id) = EventId::parse(last_event_id) else {
            return Ok(Err(ResetReason::Malformed));
        };
        let bounds = self.log.bounds().await?;
        Ok(if id.epoch != bounds.epoch {
            // Another run's id: its sequence numbers mean other events here.
            Err(ResetReason::OtherEpoch)
        } else if id.seq > bounds.last_seq {
            // Never handed out by this log: a forged id, or a log that lost its tail.
            Err(ResetReason::FromTheFuture)
        } else if id.seq + 1 < bounds.first_seq {
            // The client needs `id.seq + 1` onwards; the log starts later.
            Err(ResetReason::TooOld)
        } else {
            Ok(id)
        })
    }

    /// `[reset]`, one `add` per member (no id: they are the state, not events of the log), then
    /// `sync` carrying the id the members are current at, so the client's Last-Event-ID is
    /// exactly where live events continue.
    async fn snapshot_frames(
        &self,
        reset: Option<ResetReason>,
    ) -> Result<(Vec<Bytes>, EventId), LogError> {
        // Members and id in one read: the id is exactly the last event the members include.
        let (members, at) = self.log.snapshot().await?;
        let mut frames = Vec::with_capacity(members.len() + 2);
        // `reset` first, so the widget clears its rows before the `add`s rebuild them: the order in
        // which the browser applies them is the order they are sent.
        if let Some(reason) = reset {
            frames.push(sse::Event::new(EventKind::Reset, &json(&Reset { reason })).to_bytes());
        }
        // One `add` per member with no id: the snapshot is state, not events of the log, and only
        // the `sync` after it names the point a resume continues from.
        for quote in &members {
            frames.push(sse::Event::new(EventKind::Add, &json(quote)).to_bytes());
        }
        let sync = json(&Sync {
            members: members.len(),
            cash: None,
        });
        frames.push(
            sse::Event::new(EventKind::Sync, &sync)
                .id(&at.to_string())
                .to_bytes(),
        );
        Ok((frames, at))
    }
}
