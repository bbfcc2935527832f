//! Topics: what a widget subscribes to, and the protocol rules above the event log.
//!
//! What it owns: turning a change of membership or price into `add` / `remove` / `update`
//! events ([`Topic::set_members`]), and turning a `Last-Event-ID` into the right start for a
//! stream — a snapshot, an exact replay, or an explicit `reset` ([`Topic::subscribe`]). What it
//! does not own: where events are kept and how they fan out (the [event log](crate::server::pubsub::log), behind
//! its seam), who the members are (the [feed](crate::server::pubsub::feed)), or HTTP (the [stream](crate::server::stream)).
//!
//! Resume without gaps or duplicates (the race Mercure had): a subscriber must see every event
//! after its `Last-Event-ID` exactly once, even events appended while its replay is read.
//! [`Topic::subscribe`] therefore joins the live channel FIRST and reads the log SECOND. An event
//! appended in between is then in both the read and the receiver, never in neither; the stream
//! drops the receiver's copy because its id is not after [`Subscription::after`]. This works
//! whatever the backend — a lock in memory, a network round trip to Redis — which is why it is
//! done here, above the seam, and not inside one backend's lock.
//!
//! Past 300 lines as one concept: a topic above the log seam (its members, its appends, the
//! difference between two sets of members that becomes the batch), one type and the function that
//! feeds it; subscribing is apart (`subscribe`).

use crate::model::{EventKind, Quote, Removal, Snapshot, Symbol, TopicName, TopicStats, Update};
use crate::server::metrics::{metrics, TopicLabel};
use crate::server::pubsub::log::{Append, EventLog, LogError, Membership};
use crate::server::sse::json;
use std::collections::BTreeMap;

pub use crate::server::pubsub::log::{Frame, Live, HISTORY_CAPACITY, SUBSCRIBER_BUFFER};
pub use subscribe::Subscription;

mod subscribe;

/// One topic: its name and its event log.
///
/// No lock and no state of its own: everything that changes lives in the log, so a topic is
/// the same whether its log is this process's memory or a store shared by several processes.
pub struct Topic {
    /// The topic's name, as in its URL (`/api/topics/<name>/events`), its Redis keys and its metrics.
    name: TopicName,
    /// Where this topic's events, members and history live (chosen when the topic is made).
    log: EventLog,
}

impl Topic {
    /// A topic kept in this process's memory, numbering from `epoch`-1.
    pub fn new(name: TopicName, epoch: u64) -> Topic {
        Topic::with_log(name, EventLog::memory(epoch))
    }

    /// A topic kept in `log` (the backend is chosen per topic).
    pub fn with_log(name: TopicName, log: EventLog) -> Topic {
        Topic { name, log }
    }

    /// The topic's name: its key in the catalogue and the path in its events URL.
    pub fn name(&self) -> &TopicName {
        &self.name
    }

    /// Replaces the members with `members`, publishing the difference as one batch: `remove`
    /// for members that left (with `reason(symbol)`), `add` for newcomers, `update` for members
    /// whose price moved ([`MembersChange`]).
    ///
    /// The difference is taken against the members the log holds, read first: right whatever
    /// published last (another process, a failed append). The feed, which knows what it
    /// published, skips that read and appends every topic's change at once ([`append_all`]).
    pub async fn set_members(
        &self,
        members: Vec<Quote>,
        reason: impl Fn(&Symbol) -> String,
    ) -> Result<(), LogError> {
        // The id that comes with the members is not needed: the append numbers the events.
        let (current, _) = self.log.snapshot().await?;
        let change = MembersChange::between(current, members, reason);
        // One append for the whole batch: one lock here, one round trip to a networked log,
        // and a reader sees the topic before this change or after it, never half-way.
        if !change.batch.is_empty() {
            self.append(change.batch).await?;
        }
        Ok(())
    }

    /// Appends `batch` to the log as one step, and counts it (`tickerplex_events_published`).
    async fn append(&self, batch: Vec<Append>) -> Result<(), LogError> {
        let events = batch.len() as u64;
        self.log.append(batch).await?;
        let label = TopicLabel::of(&self.name);
        metrics()
            .events_published
            .get_or_create(&label)
            .inc_by(events);
        Ok(())
    }

    /// Starts a new epoch, as a restarted server would: numbering from 0, no history, the
    /// members kept. Every id handed out before is now from another run, so a client resuming
    /// from one gets `reset` (the restart [drill](crate::server::demo::drills)).
    pub async fn restart(&self, epoch: u64) -> Result<(), LogError> {
        self.log.restart(epoch).await
    }

    /// Sends `signal` (an ending, a mark or the beat) to every stream of this topic on this
    /// instance, now: never through a shared log, since another instance's streams are its own.
    pub fn signal(&self, signal: Live) {
        self.log.signal(signal);
    }

    /// The members and current id, for `Accept: application/json` and server-side rendering.
    pub async fn snapshot(&self) -> Result<Snapshot, LogError> {
        let (members, id) = self.log.snapshot().await?;
        Ok(Snapshot {
            topic: self.name.clone(),
            id,
            members,
        })
    }

    /// The current quote of one member, if it is one.
    ///
    /// Reads the whole snapshot to find one member: a topic has at most a few dozen, and an
    /// order is a human's click, not a hot path.
    pub async fn member(&self, symbol: &Symbol) -> Result<Option<Quote>, LogError> {
        let (members, _) = self.log.snapshot().await?;
        Ok(members.into_iter().find(|quote| &quote.symbol == symbol))
    }

    /// What this instance sees of the topic now (for `/api/stats`).
    pub fn stats(&self) -> TopicStats {
        let (subscribers, current_id, history) = self.log.local_stats();
        TopicStats {
            topic: self.name.clone(),
            subscribers,
            current_id,
            history,
        }
    }
}

/// The events that take a topic from one set of members to another, and the members after.
pub struct MembersChange {
    /// `remove` for members that left, then `add` for newcomers and `update` for members whose
    /// price moved, in symbol order; empty when nothing changed.
    pub batch: Vec<Append>,
    /// The members as the log holds them once `batch` is appended.
    pub after: Vec<Quote>,
}

impl MembersChange {
    /// From `current` (the members as the log holds them) to `members`, each member that left
    /// with `reason(symbol)`.
    ///
    /// Order within the batch: removals first, then additions and updates in symbol order. A
    /// client applying them one by one never shows more members than the topic allows (the
    /// movers' five), and two runs with one seed produce byte-identical batches.
    pub fn between(
        current: Vec<Quote>,
        members: Vec<Quote>,
        reason: impl Fn(&Symbol) -> String,
    ) -> MembersChange {
        let mut current: BTreeMap<Symbol, Quote> =
            current.into_iter().map(|q| (q.symbol.clone(), q)).collect();
        let next: BTreeMap<Symbol, Quote> =
            members.into_iter().map(|q| (q.symbol.clone(), q)).collect();

        // Removals: members now that are not in `next`.
        let mut batch = Vec::new();
        for symbol in current.keys().filter(|s| !next.contains_key(*s)) {
            let removal = Removal {
                symbol: symbol.clone(),
                reason: reason(symbol),
            };
            batch.push(Append {
                kind: EventKind::Remove,
                data: json(&removal),
                membership: Membership::Remove(symbol.clone()),
            });
        }
        // Additions and price moves. `remove` from `current` as we go: what is left over was
        // already handled above as a removal. `after` is what the log will hold.
        let mut after = Vec::with_capacity(next.len());
        for (symbol, quote) in next {
            let (kind, data) = match current.remove(&symbol) {
                None => (EventKind::Add, json(&quote)),
                // An `update` carries only what moves (price, change, time), not the name and
                // sector a widget already has: smaller frames for the most frequent event.
                Some(old) if old.price != quote.price => {
                    let update = Update {
                        symbol,
                        price: quote.price,
                        change: quote.change,
                        change_pct: quote.change_pct,
                        time: quote.time,
                    };
                    (EventKind::Update, json(&update))
                }
                // Unchanged price: no event, and the member keeps its recorded quote.
                Some(old) => {
                    after.push(old);
                    continue;
                }
            };
            after.push(quote.clone());
            batch.push(Append {
                kind,
                data,
                membership: Membership::Upsert(quote),
            });
        }
        MembersChange { batch, after }
    }
}

/// Events that are not about membership (the [bench](crate::server::demo::bench) ticks), one
/// per payload, as a batch to append.
pub fn event_batch<'a, T: serde::Serialize + 'a>(
    kind: EventKind,
    payloads: impl IntoIterator<Item = &'a T>,
) -> Vec<Append> {
    payloads
        .into_iter()
        .map(|payload| Append {
            kind,
            data: json(payload),
            membership: Membership::Unchanged,
        })
        .collect()
}

/// Appends each topic's batch as one step per backend where it can — one round trip to Redis
/// for many topics — and counts them (`tickerplex_events_published`). Empty batches are
/// skipped. On an error, some topics may have been appended to and some not.
pub async fn append_all(batches: Vec<(&Topic, Vec<Append>)>) -> Result<(), LogError> {
    let batches: Vec<(&Topic, Vec<Append>)> = batches
        .into_iter()
        // A quiet topic in a tick appends nothing: no script argument, no round trip, no id taken.
        .filter(|(_, batch)| !batch.is_empty())
        .collect();
    // Counted before the batches move into the log, and added only after it succeeded: a failed
    // append must not show as published events on the operators' dashboard.
    let counts: Vec<(&Topic, u64)> = batches
        .iter()
        .map(|(topic, batch)| (*topic, batch.len() as u64))
        .collect();
    EventLog::append_many(
        batches
            .into_iter()
            .map(|(topic, batch)| (&topic.log, batch))
            .collect(),
    )
    .await?;
    for (topic, events) in counts {
        metrics()
            .events_published
            .get_or_create(&TopicLabel::of(&topic.name))
            .inc_by(events);
    }
    Ok(())
}

/// Every topic of the running server.
pub struct Topics {
    /// Made once at start and never changed, so it needs no lock; a `BTreeMap` so `/api/topics`
    /// lists them in the same order on every instance.
    topics: BTreeMap<TopicName, Topic>,
    /// The signals alone (drain, drills), for streams that are on no topic's channel: each
    /// session's portfolio (`server::trading::portfolio` forwards them to its channels).
    signals: tokio::sync::broadcast::Sender<Live>,
}

impl Topics {
    /// The catalogue: watchlist, movers, indices and one topic per sector, each in memory.
    ///
    /// A `BTreeMap` by name, so `/api/topics`, `/api/stats` and the default dashboard list the
    /// topics in one stable order: watchlist, movers, indices, then the sectors alphabetically.
    pub fn new(epoch: u64, sectors: &[&str]) -> Topics {
        Topics::with_logs(sectors, |_| EventLog::memory(epoch))
    }

    /// The same catalogue, each topic's log made by `log` (the backend is chosen per topic).
    pub fn with_logs(sectors: &[&str], mut log: impl FnMut(&TopicName) -> EventLog) -> Topics {
        let names = [TopicName::Watchlist, TopicName::Movers, TopicName::Indices]
            .into_iter()
            .chain(sectors.iter().map(|s| TopicName::Sector((*s).to_owned())));
        Topics {
            topics: names
                .map(|name| {
                    let topic = Topic::with_log(name.clone(), log(&name));
                    (name, topic)
                })
                .collect(),
            signals: tokio::sync::broadcast::channel(16).0,
        }
    }

    /// Adds a topic the catalogue does not have (the [bench](crate::server::demo::bench) topic).
    pub fn add(&mut self, topic: Topic) {
        self.topics.insert(topic.name().clone(), topic);
    }

    pub fn get(&self, name: &TopicName) -> Option<&Topic> {
        self.topics.get(name)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Topic> {
        self.topics.values()
    }

    /// Sends `signal` to every stream of every topic, and to the listeners of [`Topics::signals`].
    ///
    /// Topic by topic: a stream is on exactly one topic, so every stream gets the signal once.
    pub fn signal(&self, signal: Live) {
        for topic in self.iter() {
            topic.signal(signal.clone());
        }
        // Nobody listening is fine: no portfolio has been opened yet.
        let _ = self.signals.send(signal);
    }

    /// A receiver of every signal [`Topics::signal`] sends, and nothing else.
    pub fn signals(&self) -> tokio::sync::broadcast::Receiver<Live> {
        self.signals.subscribe()
    }
}

#[cfg(test)]
mod tests;
