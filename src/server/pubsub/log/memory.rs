//! The in-memory event log: one topic's members, numbered history and live channel in this
//! process. The default — no set-up, nothing to run — and what `scripts/dev` uses.
//!
//! What it owns: the topic's state behind one lock, so an append (number, frame, record,
//! broadcast, apply the membership change) and a read (snapshot with its id, or the events after
//! an id) each see the topic at one instant. Not what the events mean (the topic decides), nor
//! resume policy (the topic's `subscribe`).
//!
//! The lock is a `std::sync::Mutex`, as in mini-redis's `db.rs`: it is held for microseconds and
//! never across an `.await`, which is what a Tokio mutex would be for (and a Tokio mutex costs an
//! allocation-free but still slower acquire on every one of thousands of appends a second).
//! The `async` on the log's methods is the seam's, for the networked backends; here every call
//! completes on its first poll.

use super::history::{Frame, History};
use super::{Append, Bounds, Live, Membership, SUBSCRIBER_BUFFER};
use crate::model::{EventId, Quote, Symbol};
use crate::server::sse;
use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};
use tokio::sync::broadcast;

/// One topic's log, in this process.
pub struct MemoryLog {
    /// A std mutex, not tokio's: nothing awaits while it is held (an append and a subscribe are a
    /// few hundred nanoseconds of memory work), and a std lock is cheaper to take.
    state: Mutex<State>,
    /// Every subscriber's receiver hangs off this sender. Sending never blocks: a receiver
    /// that falls [`SUBSCRIBER_BUFFER`] behind is told so (`Lagged`) on its next receive.
    live: broadcast::Sender<Live>,
}

/// Everything a topic's log holds, behind one lock: an append changes the members, the id and
/// the history together, and a subscriber reads all three together, so a snapshot's id always
/// names exactly its members and the first live event after it is the next id.
struct State {
    /// The run these ids belong to (the server's start time, unless a drill started a new one).
    epoch: u64,
    /// Sequence number of the last event appended (0 before the first).
    seq: u64,
    /// The topic's members now: what a new subscriber's snapshot lists.
    /// A `BTreeMap` so a snapshot lists members in symbol order, the same on every run and the
    /// order the widgets show them in.
    members: BTreeMap<Symbol, Quote>,
    /// The last events, for resume (bounded: see `HISTORY_CAPACITY`).
    history: History,
}

impl State {
    /// The id of the last event appended: a snapshot's id, and where a resume starts.
    fn current_id(&self) -> EventId {
        EventId {
            epoch: self.epoch,
            seq: self.seq,
        }
    }
}

impl MemoryLog {
    /// An empty log numbering from `epoch`-1. The broadcast channel is made here, once: its
    /// capacity is every subscriber's buffer (`SUBSCRIBER_BUFFER`).
    pub fn new(epoch: u64) -> MemoryLog {
        MemoryLog {
            state: Mutex::new(State {
                epoch,
                seq: 0,
                members: BTreeMap::new(),
                history: History::default(),
            }),
            live: broadcast::channel(SUBSCRIBER_BUFFER).0,
        }
    }

    /// The state, locked. A `std` mutex: it is never held across an `.await` (appends and
    /// reads are a few map operations), and a tokio mutex would cost a future per subscriber.
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock would be a bug in this file; the data (numbers and
        // quotes) stays consistent event by event, so keep serving rather than poison every
        // stream of the topic.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Numbers, frames, records and broadcasts each event, and applies its membership change,
    /// all under one lock: a reader sees all of the batch or none of it.
    pub fn append(&self, batch: Vec<Append>) -> EventId {
        let mut state = self.lock();
        // Each event of the batch in turn: number, frame, apply, record, send — while the lock
        // is held, a subscriber can neither subscribe nor read between two of these steps.
        for append in batch {
            state.seq += 1;
            let id = state.current_id();
            // Framed here, once, under the lock: the id is only final now, and the bytes are what
            // the history keeps and every subscriber shares.
            let bytes = sse::Event::new(append.kind, &append.data)
                .id(&id.to_string())
                .to_bytes();
            let frame = Frame::new(id, bytes);
            // The membership change is applied in the same critical section as the event is
            // numbered: a snapshot taken after this lock is released includes both.
            match append.membership {
                Membership::Upsert(quote) => {
                    state.members.insert(quote.symbol.clone(), quote);
                }
                Membership::Remove(symbol) => {
                    state.members.remove(&symbol);
                }
                Membership::Unchanged => {}
            }
            state.history.push(frame.clone());
            // An error only means nobody is subscribed right now; the history still has it.
            let _ = self.live.send(Live::Event(frame));
        }
        state.current_id()
    }

    /// A receiver that sees everything sent from now on. No lock: `broadcast::Sender::subscribe`
    /// is its own synchronisation, and the topic layer tolerates the overlap with a later read.
    pub fn subscribe(&self) -> broadcast::Receiver<Live> {
        self.live.subscribe()
    }

    /// The epoch and the replayable range, read under the lock so the three numbers agree.
    pub fn bounds(&self) -> Bounds {
        let state = self.lock();
        Bounds {
            epoch: state.epoch,
            first_seq: state.history.first_seq(state.seq),
            last_seq: state.seq,
        }
    }

    /// The frames after `after`, or `None` when this log cannot produce all of them. Checked
    /// again here, under the lock, because the history may have moved on since `bounds`.
    pub fn read_after(&self, after: EventId) -> Option<Vec<bytes::Bytes>> {
        let state = self.lock();
        if after.epoch != state.epoch || after.seq > state.seq {
            return None;
        }
        state.history.after(after.seq, state.seq)
    }

    /// The members and the id they are current at, under one lock: an append can never land
    /// between reading the one and the other.
    pub fn snapshot(&self) -> (Vec<Quote>, EventId) {
        let state = self.lock();
        (
            state.members.values().cloned().collect(),
            state.current_id(),
        )
    }

    /// A new epoch: numbering restarts and the history is dropped, since its ids belong to the
    /// old epoch and can never be asked for again. The members stay — the market did not move.
    pub fn restart(&self, epoch: u64) {
        let mut state = self.lock();
        state.epoch = epoch;
        state.seq = 0;
        state.history.clear();
    }

    /// An ending (the drain, a cut) or the beat, to every stream of this topic open now.
    pub fn signal(&self, signal: Live) {
        // No receivers is fine: there is nobody to tell.
        let _ = self.live.send(signal);
    }

    /// The receivers on the live channel, the current id and the history's length.
    ///
    /// Subscribers are the channel's live receivers: one per open stream of this topic (plus,
    /// for a moment, one whose stream is still being set up).
    pub fn local_stats(&self) -> (usize, EventId, usize) {
        let state = self.lock();
        (
            self.live.receiver_count(),
            state.current_id(),
            state.history.len(),
        )
    }
}
