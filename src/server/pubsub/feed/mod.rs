//! The feed: drives the market and tells each topic who its members are now.
//!
//! One task owns the [`Market`] and, on every tick, computes each topic's members by its rule:
//!
//! | topic | members |
//! |---|---|
//! | `watchlist` | ten symbols; with a small chance per tick one rotates out and another in |
//! | `sector/<slug>` | the listed companies of that sector |
//! | `movers` | the five biggest gainers by % change since the open |
//! | `indices` | the synthetic indices (all shares, and one per sector) |
//!
//! [`MembersChange`] turns each difference into `add` / `remove` / `update` events, and the
//! whole tick is appended at once ([`append_all`]: one round trip to Redis). Because one task
//! does all of this, the market needs no lock, and each topic's events come out in one order.
//!
//! The difference is taken against what this feed last published to the topic, kept here, not
//! against the members read back from the log: with Redis that read was a round trip per topic
//! per tick (eight of them, one after another, before the append). The log is read again
//! only when the kept copy may be wrong: before the first publish, after an append that failed
//! (its outcome is unknown), and on taking the lease over from another instance.
//!
//! Past 300 lines as one concept: what a tick publishes to each topic and when the kept members
//! are trusted, which must be read in one place to see why no event is lost or repeated across a
//! failed append or a takeover; a third of it is that reasoning, in comments.

//!
//! One tick, in time order: the market moves (about half the prices, by their volatility); the
//! watchlist drops what was delisted and refills; by chance it rotates one member; then every
//! topic is told its members, and each topic publishes only what differs. With 45 companies the
//! whole tick is microseconds, so one task keeps up with any tick rate a human can watch.
//!
//! Rejected: a task per topic. Topics share the market (the movers are computed from all
//! prices), so they would need a lock around it or copies of it, and the events of one tick
//! would interleave across topics in no particular order.

use crate::model::{Quote, Symbol, TopicName};
use crate::server::pubsub::log::redis::{FeedLease, Redis, RedisLog};
use crate::server::pubsub::log::{EventLog, LogError};
use crate::server::pubsub::market::{Market, SECTORS};
use crate::server::pubsub::topics::{append_all, MembersChange, Topic, Topics};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Watchlist size: the article's "initial response contains ten stocks".
pub const WATCHLIST_SIZE: usize = 10;
/// How many top gainers the `movers` topic holds.
pub const MOVERS_SIZE: usize = 5;
/// Chance per tick that the watchlist swaps one symbol: on average every 60 ticks (~20 s).
const WATCHLIST_ROTATION_PER_TICK: f64 = 1.0 / 60.0;

/// The one publisher of the market topics: it owns the market (no lock, no sharing) and the
/// watchlist's membership, and knows the topics to tell.
pub struct Feed {
    /// Owned, not shared: the feed is the only thing that moves prices, so the market needs no
    /// lock, and a tick is computed and published by one task in order.
    market: Market,
    /// The watchlist's symbols, oldest first: a rotation drops the front and appends a newcomer.
    watchlist: Vec<Symbol>,
    /// Where each tick's changes are appended (and the movers' and indices' derived events).
    topics: Arc<Topics>,
    /// Each topic's members as this feed last published them — what the log holds, as long as
    /// only this feed writes it. A topic missing here is read from the log before its next
    /// change; [`Feed::forget_published`] empties it whenever that may not hold.
    published: BTreeMap<TopicName, Vec<Quote>>,
    /// With a shared log, the lease that makes this instance the cluster's one publisher (see
    /// [`takeover`]); `None` with the in-memory log, where this feed is the only one.
    lease: Option<FeedLease>,
    /// Whether this feed publishes now: always without a lease; while it holds it with one.
    publishing: bool,
    /// Redis restarted and this feed could not yet start the new epochs it owes (see
    /// [`takeover`]); it publishes nothing until it has.
    owes_new_epoch: bool,
}

impl Feed {
    /// Opens the market with `seed` and picks the watchlist. Nothing is published yet: that is
    /// [`Feed::publish`]'s job, which is `async` (the log may be networked) while this is not,
    /// so a server can be built outside a runtime.
    pub fn new(seed: u64, topics: Arc<Topics>, now: DateTime<Utc>) -> Feed {
        let mut market = Market::open(seed, now);
        let mut watchlist = Vec::with_capacity(WATCHLIST_SIZE);
        while watchlist.len() < WATCHLIST_SIZE {
            // Forty companies are listed at the open (a test checks it), so ten places always
            // fill; were it ever fewer, the watchlist would simply start shorter.
            let Some(symbol) = market.pick_listed(&watchlist) else {
                break;
            };
            watchlist.push(symbol);
        }
        Feed {
            market,
            watchlist,
            topics,
            published: BTreeMap::new(),
            lease: None,
            publishing: true,
            owes_new_epoch: false,
        }
    }

    /// The same feed, publishing only while it holds `lease` (a cluster on a shared log).
    pub fn with_lease(self, lease: FeedLease) -> Feed {
        Feed {
            lease: Some(lease),
            publishing: false,
            ..self
        }
    }

    /// The first publish, before the first client connects: every topic's first members. With
    /// a lease, only if this instance takes it (another instance may already publish).
    pub async fn open(&mut self, now: DateTime<Utc>) {
        match self.lease {
            None => self.publish(now).await,
            Some(_) => self.renew_lease(now).await,
        }
    }

    /// One tick of the market, and the resulting events on every topic.
    ///
    /// A tick in which nothing moved publishes nothing: every topic's members are a function of
    /// the listed prices and the watchlist, so with neither changed there is no difference to
    /// send — and reading every topic's members to find that out would be wasted work.
    pub async fn step(&mut self, now: DateTime<Utc>) {
        // Another instance moves the market; this one's is idle until it takes over.
        if !self.publishing {
            return;
        }
        let changes = self.market.tick(now);
        self.refill_watchlist();
        let rotated = self.market.chance(WATCHLIST_ROTATION_PER_TICK);
        if rotated {
            self.rotate_watchlist();
        }
        if !changes.is_empty() || rotated {
            self.publish(now).await;
        }
    }

    /// Delisted symbols leave the watchlist; listed ones take their places.
    fn refill_watchlist(&mut self) {
        // Order is kept for those who stay: the oldest member is still the next to rotate out.
        let market = &self.market;
        self.watchlist.retain(|symbol| market.is_listed(symbol));
        while self.watchlist.len() < WATCHLIST_SIZE {
            match self.market.pick_listed(&self.watchlist) {
                Some(symbol) => self.watchlist.push(symbol),
                None => break,
            }
        }
    }

    /// Swaps the watchlist's oldest member for another listed company (the rotation that
    /// otherwise happens by chance), publishing at once.
    pub async fn rotate_watchlist_now(&mut self, now: DateTime<Utc>) {
        if !self.publishing {
            return;
        }
        self.rotate_watchlist();
        self.publish(now).await;
    }

    fn rotate_watchlist(&mut self) {
        if let Some(incoming) = self.market.pick_listed(&self.watchlist) {
            self.watchlist.remove(0);
            self.watchlist.push(incoming);
        }
    }

    /// Tells every topic its members now. Called once when the market opens (so the first page
    /// already has data) and after every tick.
    ///
    /// When the log fails, the tick stops there: the next tick diffs against what the log
    /// holds (read back), so whatever this one did not publish goes out then, not lost.
    pub async fn publish(&mut self, now: DateTime<Utc>) {
        let published = publish_tick(
            &self.market,
            &self.watchlist,
            &self.topics,
            &mut self.published,
            now,
        )
        .await;
        match published {
            Ok(()) => {}
            // Another instance took the lease (this one paused past its expiry): stop at once;
            // the append was refused whole, so nothing of this tick went out.
            Err(LogError::LeaseLost) => {
                tracing::warn!("lost the feed lease; another instance publishes now");
                self.publishing = false;
                self.published.clear();
            }
            // The log is unreachable: the tick ends here (the log's own health line says when
            // it went and came back). The append may or may not have been applied, so every
            // topic is read back before its next change: whatever this tick did not publish
            // goes out then.
            Err(error @ LogError::Unavailable(_)) => {
                tracing::debug!(%error, "could not publish this tick; the next one catches up");
                self.published.clear();
            }
        }
    }

    /// Forgets what this feed published: every topic is read back from the log before its
    /// next change. For when another instance may have written the log since (a takeover).
    fn forget_published(&mut self) {
        self.published.clear();
    }
}

/// One tick's publish: each topic's members by its rule, the change from what `published`
/// keeps for it (or, when it keeps none, from the log's), and every topic's events in one
/// append — one round trip to Redis for the whole tick. On success `published` keeps what the
/// log now holds; on failure it keeps nothing of the topics it was publishing.
///
/// A function of its own, not a method: it borrows the market and the watchlist while it
/// changes `published`.
async fn publish_tick(
    market: &Market,
    watchlist: &[Symbol],
    topics: &Topics,
    published: &mut BTreeMap<TopicName, Vec<Quote>>,
    now: DateTime<Utc>,
) -> Result<(), LogError> {
    // The reason a member left, as the `remove` event tells the reader: the topic's own reason
    // ("left the top five"), unless the company was delisted, which is the more useful thing to
    // know and is true whatever the topic.
    let why = |topic: &'static str| {
        move |symbol: &Symbol| {
            if market.is_listed(symbol) {
                topic.to_owned()
            } else {
                "delisted".to_owned()
            }
        }
    };
    let mut changes: Vec<(&Topic, MembersChange)> = Vec::new();
    for topic in topics.iter() {
        let (members, reason) = match topic.name() {
            TopicName::Watchlist => (
                watchlist.iter().filter_map(|s| market.quote(s)).collect(),
                why("rotated out of the watchlist"),
            ),
            TopicName::Movers => (top_movers(market), why("left the top five")),
            TopicName::Indices => (market.indices(now), why("index retired")),
            TopicName::Sector(slug) => (market.sector(slug), why("left the sector")),
            // Published by its own clock (`server::demo::bench`), not the market's.
            TopicName::Bench(_) => continue,
            // Never in the catalogue: each session's portfolio is published by its fills
            // (`server::trading::portfolio`), the ops numbers by their sampler (`server::observe::ops`).
            TopicName::Portfolio | TopicName::Ops => continue,
        };
        // Taken out, not read: it is put back (as the new members) only once the append has
        // succeeded, so after an append that failed, or whose outcome is unknown, the topic is
        // missing here and the next tick diffs against the log itself rather than a guess.
        let current = match published.remove(topic.name()) {
            Some(current) => current,
            None => topic.snapshot().await?.members,
        };
        changes.push((topic, MembersChange::between(current, members, reason)));
    }
    let mut afters = Vec::with_capacity(changes.len());
    let mut batches = Vec::with_capacity(changes.len());
    for (topic, change) in changes {
        afters.push((topic.name().clone(), change.after));
        batches.push((topic, change.batch));
    }
    // Every topic's batch of this tick in as few round trips as the backend allows: with Redis, one
    // script call for all eight market topics.
    append_all(batches).await?;
    published.extend(afters);
    Ok(())
}

/// The biggest gainers by % change, ties broken by symbol so the ranking is deterministic.
fn top_movers(market: &Market) -> Vec<Quote> {
    // Forty quotes sorted each tick: microseconds. A heap or a maintained ranking would save
    // nothing a reader could measure and cost the clarity of one sort.
    let mut quotes: Vec<Quote> = market.quotes().collect();
    // `total_cmp`: prices are never NaN, but a sort must not depend on that to be total.
    quotes.sort_by(|a, b| {
        b.change_pct
            .total_cmp(&a.change_pct)
            .then_with(|| a.symbol.cmp(&b.symbol))
    });
    quotes.truncate(MOVERS_SIZE);
    quotes
}

/// The topic catalogue this feed publishes to.
///
/// In this process's memory, numbering from `epoch`.
pub fn topics(epoch: u64) -> Topics {
    Topics::new(epoch, &SECTORS)
}

/// In Redis, shared with every instance on the same Redis (the epoch is Redis's).
pub fn shared_topics(redis: &Arc<Redis>) -> Topics {
    Topics::with_logs(&SECTORS, |name| {
        EventLog::Redis(RedisLog::new(redis.clone(), name))
    })
}

mod takeover;
mod task;

pub use task::{run, Command};
#[cfg(test)]
mod tests;
