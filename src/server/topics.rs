//! Topics: numbered events, a bounded history, and fan-out to subscribers.
//!
//! A [`Topic`] holds its current members and turns every change of membership or price into an
//! SSE event: `add`, `remove` or `update`. Each event is numbered (`<epoch>-<seq>`), serialised to
//! JSON and framed as SSE bytes ONCE, then
//! - appended to the topic's bounded history (the last [`HISTORY_CAPACITY`] events), and
//! - sent to every live subscriber through a `tokio::sync::broadcast` channel, which hands each
//!   receiver a clone of the same [`Frame`] — a reference-count increment, never a serialisation.
//!
//! Resume without gaps or duplicates (the race Mercure had): a subscriber must see every event
//! after its `Last-Event-ID` exactly once, even events published while its replay is prepared.
//! [`Topic::subscribe`] therefore takes the topic's lock, joins the broadcast channel AND reads
//! the history under it, and publishing happens under the same lock. Every event is then either
//! in the history read (published before) or in the receiver (published after), never both and
//! never neither. The lock is a `std::sync::Mutex`, as in mini-redis's `db.rs`: it is held for
//! microseconds and never across an `.await`, which is what a Tokio mutex would be for.
//!
//! Not here: deciding what the members are (that is [`super::feed`]), or HTTP (that is
//! [`super::stream`]).

use super::sse::{self, json};
use crate::model::{
    EventId, EventKind, Quote, Removal, Reset, ResetReason, Snapshot, Start, Symbol, Sync,
    TopicName, TopicStats, Update,
};
use bytes::Bytes;
use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use tokio::sync::broadcast;

/// Events kept per topic for `Last-Event-ID` resume. At the default rate (about 3 ticks a second,
/// a handful of events each) that is a few minutes — long enough to cover a reconnect, a laptop
/// lid closed briefly, a server deploy. A client further behind gets `reset` and a fresh snapshot.
pub const HISTORY_CAPACITY: usize = 2048;

/// Frames a subscriber may have queued before it counts as too slow. A browser on a live
/// connection drains in microseconds; a subscriber 1024 events behind is stuck (a stalled TCP
/// window, a frozen tab). It is then disconnected, and its EventSource reconnects with its
/// `Last-Event-ID` — resuming from history if it can, resetting if it cannot. That bounds the
/// server's memory per subscriber without ever skipping an event silently.
pub const SUBSCRIBER_BUFFER: usize = 1024;

/// One event, framed once, shared by every subscriber.
#[derive(Clone, Debug)]
pub struct Frame {
    pub seq: u64,
    pub bytes: Bytes,
}

/// What the live channel carries: the topic's events, and the two signals that end every stream
/// open at the time they are sent. Signals ride the same channel as events so that a stream
/// waits on ONE thing between events — the cheapest wake-up there is, which matters when a tick
/// reaches 200 000 streams (a separate cancellation future per stream cost ~10% of the CPU).
#[derive(Clone, Debug)]
pub enum Live {
    Event(Frame),
    /// The server is draining: say `shutdown` and end.
    Shutdown,
    /// The drop-streams [drill](super::drills): end with no goodbye, like a lost connection.
    Interrupt,
}

impl Live {
    /// The event, if this is one.
    pub fn event(self) -> Option<Frame> {
        match self {
            Live::Event(frame) => Some(frame),
            Live::Shutdown | Live::Interrupt => None,
        }
    }
}

/// What a new subscriber gets: bytes to send first, then the live channel.
pub struct Subscription {
    /// The snapshot (fresh or after a reset), or the missed events (resume).
    pub prelude: Vec<Bytes>,
    pub live: broadcast::Receiver<Live>,
    /// How the subscription started, for logs and the `hello` event.
    pub start: Start,
}

struct State {
    /// The run these ids belong to (the server's start time, unless a drill started a new one).
    epoch: u64,
    /// Sequence number of the last event published (0 before the first).
    seq: u64,
    members: BTreeMap<Symbol, Quote>,
    history: VecDeque<Frame>,
}

pub struct Topic {
    name: TopicName,
    state: Mutex<State>,
    live: broadcast::Sender<Live>,
}

impl Topic {
    pub fn new(name: TopicName, epoch: u64) -> Topic {
        Topic {
            name,
            state: Mutex::new(State {
                epoch,
                seq: 0,
                members: BTreeMap::new(),
                history: VecDeque::with_capacity(HISTORY_CAPACITY),
            }),
            live: broadcast::channel(SUBSCRIBER_BUFFER).0,
        }
    }

    pub fn name(&self) -> &TopicName {
        &self.name
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding this lock would be a bug in this file; the data (numbers and
        // quotes) stays consistent event by event, so keep serving rather than poison every stream.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Replaces the members with `members`, publishing the difference: `remove` for members that
    /// left (with `reason(symbol)`), `add` for newcomers, `update` for members whose price moved.
    pub fn set_members(&self, members: Vec<Quote>, reason: impl Fn(&Symbol) -> String) {
        let mut state = self.lock();
        let next: BTreeMap<Symbol, Quote> =
            members.into_iter().map(|q| (q.symbol.clone(), q)).collect();

        let gone: Vec<Symbol> = state
            .members
            .keys()
            .filter(|s| !next.contains_key(*s))
            .cloned()
            .collect();
        for symbol in gone {
            state.members.remove(&symbol);
            let reason = reason(&symbol);
            self.publish(&mut state, EventKind::Remove, &Removal { symbol, reason });
        }
        for (symbol, quote) in next {
            match state.members.get(&symbol) {
                None => {
                    self.publish(&mut state, EventKind::Add, &quote);
                    state.members.insert(symbol, quote);
                }
                Some(old) if old.price != quote.price => {
                    let update = Update {
                        symbol: symbol.clone(),
                        price: quote.price,
                        change: quote.change,
                        change_pct: quote.change_pct,
                        time: quote.time,
                    };
                    self.publish(&mut state, EventKind::Update, &update);
                    state.members.insert(symbol, quote);
                }
                Some(_) => {}
            }
        }
    }

    /// Publishes one event that is not about membership (the [bench](super::bench) ticks).
    pub fn publish_event(&self, kind: EventKind, payload: &impl serde::Serialize) {
        let mut state = self.lock();
        self.publish(&mut state, kind, payload);
    }

    /// Numbers, frames, records and broadcasts one event. Called with the lock held.
    fn publish(&self, state: &mut State, kind: EventKind, payload: &impl serde::Serialize) {
        state.seq += 1;
        let id = self.current_id(state).to_string();
        let data = json(payload);
        let frame = Frame {
            seq: state.seq,
            bytes: sse::Event::new(kind, &data).id(&id).to_bytes(),
        };
        if state.history.len() == HISTORY_CAPACITY {
            state.history.pop_front();
        }
        state.history.push_back(frame.clone());
        // An error only means nobody is subscribed right now; the history still has the event.
        let _ = self.live.send(Live::Event(frame));
    }

    /// Subscribes, resuming after `last_event_id` when the history allows (see the module doc).
    pub fn subscribe(&self, last_event_id: Option<&str>) -> Subscription {
        let state = self.lock();
        let live = self.live.subscribe();
        let (prelude, start) = match last_event_id.map(|id| self.resume_point(&state, id)) {
            None => (self.snapshot_frames(&state, None), Start::Fresh),
            Some(Ok(after)) => {
                let missed: Vec<Bytes> = state
                    .history
                    .iter()
                    .filter(|frame| frame.seq > after)
                    .map(|frame| frame.bytes.clone())
                    .collect();
                let replayed = missed.len();
                (missed, Start::Resumed { replayed })
            }
            Some(Err(reason)) => (
                self.snapshot_frames(&state, Some(reason)),
                Start::Reset { reason },
            ),
        };
        Subscription {
            prelude,
            live,
            start,
        }
    }

    /// The sequence number to replay after, or why that is impossible.
    fn resume_point(&self, state: &State, last_event_id: &str) -> Result<u64, ResetReason> {
        let id = EventId::parse(last_event_id).map_err(|_| ResetReason::Malformed)?;
        if id.epoch != state.epoch {
            return Err(ResetReason::OtherEpoch);
        }
        if id.seq > state.seq {
            return Err(ResetReason::FromTheFuture);
        }
        // The history holds seq `oldest..=state.seq`; the client needs `id.seq + 1` onwards.
        let oldest = state
            .history
            .front()
            .map_or(state.seq + 1, |frame| frame.seq);
        if id.seq + 1 < oldest {
            return Err(ResetReason::TooOld);
        }
        Ok(id.seq)
    }

    /// `[reset]`, one `add` per member (no id: they are the state, not events of the log), then
    /// `sync` carrying the current id, so the client's Last-Event-ID is exactly where live
    /// events continue.
    fn snapshot_frames(&self, state: &State, reset: Option<ResetReason>) -> Vec<Bytes> {
        let mut frames = Vec::with_capacity(state.members.len() + 2);
        if let Some(reason) = reset {
            frames.push(sse::Event::new(EventKind::Reset, &json(&Reset { reason })).to_bytes());
        }
        for quote in state.members.values() {
            frames.push(sse::Event::new(EventKind::Add, &json(quote)).to_bytes());
        }
        let id = self.current_id(state).to_string();
        let sync = json(&Sync {
            members: state.members.len(),
        });
        frames.push(sse::Event::new(EventKind::Sync, &sync).id(&id).to_bytes());
        frames
    }

    fn current_id(&self, state: &State) -> EventId {
        EventId {
            epoch: state.epoch,
            seq: state.seq,
        }
    }

    /// Starts a new epoch, as a restarted server would: numbering from 0, no history, the
    /// members kept. Every id handed out before is now from another run, so a client resuming
    /// from one gets `reset` (the restart [drill](super::drills)).
    pub fn restart(&self, epoch: u64) {
        let mut state = self.lock();
        state.epoch = epoch;
        state.seq = 0;
        state.history.clear();
    }

    /// Sends `signal` (shutdown or interrupt) to every stream subscribed now.
    pub fn signal(&self, signal: Live) {
        let _ = self.live.send(signal);
    }

    /// The members and current id, for `Accept: application/json`.
    pub fn snapshot(&self) -> Snapshot {
        let state = self.lock();
        Snapshot {
            topic: self.name.clone(),
            id: self.current_id(&state),
            members: state.members.values().cloned().collect(),
        }
    }

    /// The current quote of one member, if it is one.
    pub fn member(&self, symbol: &Symbol) -> Option<Quote> {
        self.lock().members.get(symbol).cloned()
    }

    pub fn stats(&self) -> TopicStats {
        let state = self.lock();
        TopicStats {
            topic: self.name.clone(),
            subscribers: self.live.receiver_count(),
            current_id: self.current_id(&state),
            history: state.history.len(),
        }
    }
}

/// Every topic of the running server.
pub struct Topics {
    topics: BTreeMap<TopicName, Topic>,
}

impl Topics {
    /// The catalogue: watchlist, movers, indices and one topic per sector.
    pub fn new(epoch: u64, sectors: &[&str]) -> Topics {
        let names = [TopicName::Watchlist, TopicName::Movers, TopicName::Indices]
            .into_iter()
            .chain(sectors.iter().map(|s| TopicName::Sector((*s).to_owned())));
        Topics {
            topics: names
                .map(|name| (name.clone(), Topic::new(name, epoch)))
                .collect(),
        }
    }

    /// Adds a topic the catalogue does not have (the [bench](super::bench) topic).
    pub fn add(&mut self, topic: Topic) {
        self.topics.insert(topic.name().clone(), topic);
    }

    pub fn get(&self, name: &TopicName) -> Option<&Topic> {
        self.topics.get(name)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Topic> {
        self.topics.values()
    }

    /// Sends `signal` to every stream of every topic.
    pub fn signal(&self, signal: Live) {
        for topic in self.iter() {
            topic.signal(signal.clone());
        }
    }
}

#[cfg(test)]
mod tests;
