//! [`History`]: a topic's most recent events, bounded, for `Last-Event-ID` resume.
//!
//! What it owns: which events are still replayable, and answering "everything after id X" or
//! "X is too old". Not what an id means across runs (the epoch check is the topic's) or where
//! the history lives (the in-memory log keeps one of these; the Redis log keeps its stream).
//!
//! A `VecDeque` of framed events, oldest first: appending at the back and dropping at the front
//! are O(1), and a resume copies `Bytes` handles (reference counts), never event bodies.
//! Rejected: an index by sequence number (a `BTreeMap`) — sequence numbers are contiguous, so
//! "after seq k" is a position computed from the front's seq, with no index to keep.

//!
//! A worked example: the history holds seq 5..=9 (events 1..=4 were dropped). A client with id
//! `<epoch>-6` gets 7, 8, 9; one with `<epoch>-4` gets 5..=9 (it has 4, so nothing is missing);
//! one with `<epoch>-3` cannot be served — event 4 is gone — and gets `reset`.

use crate::model::EventId;
use bytes::Bytes;
use std::collections::VecDeque;

/// Events kept per topic for `Last-Event-ID` resume. Memory: a frame is ~150 bytes of SSE plus
/// its handle, so 2048 of them are ~400 KiB per topic, ~4 MiB for the whole catalogue — cheap
/// next to what a reset costs every widget that needs one (a snapshot, and a visible flash).
/// At the default rate (about 3 ticks a second,
/// a handful of events each) that is a few minutes — long enough to cover a reconnect, a laptop
/// lid closed briefly, a server deploy. A client further behind gets `reset` and a fresh snapshot.
pub const HISTORY_CAPACITY: usize = 2048;

/// One event, framed once as SSE bytes, shared by the history and every subscriber.
#[derive(Clone, Debug)]
pub struct Frame {
    /// The id the bytes carry in their `id:` line, kept beside them so that a resume finds its
    /// place by comparing ids, never by parsing bytes.
    pub id: EventId,
    /// The whole SSE frame (`id:`, `event:`, `data:` and the blank line): `Bytes`, so that the
    /// history and every subscriber share one allocation and a send is a reference count.
    pub bytes: Bytes,
    /// When this process framed it (appended it, or read it from a shared log): the start of
    /// the fan-out latency the metrics observe (`server::metrics`).
    pub published: std::time::Instant,
}

impl Frame {
    /// A frame published now.
    pub fn new(id: EventId, bytes: Bytes) -> Frame {
        Frame {
            id,
            bytes,
            published: std::time::Instant::now(),
        }
    }
}

/// The last [`HISTORY_CAPACITY`] events of one topic, in order, with contiguous ids.
#[derive(Debug)]
pub struct History {
    /// A ring: appends push at the back and drop the front past the capacity, and a resume finds
    /// its first frame by arithmetic on the ids (they are contiguous), not by a search.
    frames: VecDeque<Frame>,
}

impl Default for History {
    fn default() -> Self {
        History {
            frames: VecDeque::with_capacity(HISTORY_CAPACITY),
        }
    }
}

impl History {
    /// Appends `frame`, dropping the oldest event once the history is full.
    ///
    /// The caller guarantees contiguity (each frame's seq is one more than the last): `after`
    /// relies on it to find a position without searching.
    pub fn push(&mut self, frame: Frame) {
        // Drop before push: the deque never grows past its initial allocation, so a topic's
        // history costs the same memory after a minute as after a month.
        if self.frames.len() == HISTORY_CAPACITY {
            self.frames.pop_front();
        }
        self.frames.push_back(frame);
    }

    /// The sequence number of the oldest replayable event: the oldest kept, or — with nothing
    /// kept — `last_seq + 1`, the first event not yet published.
    pub fn first_seq(&self, last_seq: u64) -> u64 {
        self.frames
            .front()
            .map_or(last_seq + 1, |frame| frame.id.seq)
    }

    /// Every event after `seq` (exclusive), or `None` if some of them are no longer kept.
    ///
    /// `last_seq` is the topic's latest sequence number: with an empty history, only a client
    /// that has seen exactly that much is covered.
    pub fn after(&self, seq: u64, last_seq: u64) -> Option<Vec<Bytes>> {
        let oldest = self.first_seq(last_seq);
        // The client needs `seq + 1` onwards; the history starts at `oldest`.
        if seq + 1 < oldest {
            return None;
        }
        // Contiguous ids: the event with `seq + 1` sits at this position.
        // Handles are cloned, not bytes: a replay of 2048 events costs 2048 reference-count
        // increments and one `Vec`.
        let skip = (seq + 1 - oldest) as usize;
        Some(
            self.frames
                .iter()
                .skip(skip)
                .map(|f| f.bytes.clone())
                .collect(),
        )
    }

    /// How many events are kept.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// Whether no event is kept (a new epoch).
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// Forgets every event (a new epoch starts numbering from 0).
    pub fn clear(&mut self) {
        self.frames.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A history holding `seqs`, each frame's bytes its own id, so a test can read back which
    /// events it got.
    fn history(seqs: std::ops::RangeInclusive<u64>) -> History {
        let mut history = History::default();
        for seq in seqs {
            let id = EventId { epoch: 1, seq };
            history.push(Frame::new(id, Bytes::from(id.to_string())));
        }
        history
    }

    /// "After k" is exactly k+1..=last; the newest id gets nothing; an id before the oldest kept
    /// event's predecessor is not covered.
    #[test]
    fn after_returns_exactly_the_later_events_or_none() {
        // Events 5 to 9 kept, as if 1 to 4 had been dropped from the front.
        let history = history(5..=9);
        let text = |v: Vec<Bytes>| {
            v.iter()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(text(history.after(6, 9).unwrap()), ["1-7", "1-8", "1-9"]);
        assert_eq!(
            text(history.after(4, 9).unwrap()).len(),
            5,
            "4 is the oldest's predecessor"
        );
        // Up to date is covered (an empty replay), which is not the same as not covered (`None`).
        assert!(history.after(9, 9).unwrap().is_empty());
        assert!(history.after(3, 9).is_none(), "event 4 is gone");
    }

    /// The history never holds more than its capacity, and drops the oldest first.
    #[test]
    fn the_history_is_bounded_and_drops_the_oldest() {
        // Ten more than fit: the first ten are gone, the eleventh is the oldest kept.
        let history = history(1..=(HISTORY_CAPACITY as u64 + 10));
        assert_eq!(history.len(), HISTORY_CAPACITY);
        // The oldest kept is 11: the ring dropped exactly the ten oldest, in order, and kept no
        // gap.
        assert_eq!(history.first_seq(HISTORY_CAPACITY as u64 + 10), 11);
    }

    /// An empty history (a new epoch) covers only a client that has seen everything.
    #[test]
    fn an_empty_history_covers_only_the_latest_id() {
        // Nothing kept. With the topic at 0, a client at 0 is up to date (an empty replay); with
        // the topic at 3, the same client missed three events nobody kept: not covered.
        let history = History::default();
        assert!(history.after(0, 0).unwrap().is_empty());
        // `None` makes the caller reset: three events are owed and nobody kept them.
        assert!(history.after(0, 3).is_none());
    }
}
