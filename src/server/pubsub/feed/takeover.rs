//! The feed in a cluster: taking the lease, carrying on another instance's market, and
//! starting new epochs when Redis restarted.
//!
//! What it owns: what a renewal of the [`FeedLease`](crate::server::pubsub::log::redis::FeedLease)
//! means for this feed. Only one instance publishes; the others keep their markets idle and
//! try for the lease every second, so when the publisher dies the next one publishes within
//! two lease periods, continuing the same epoch's numbering from Redis's head (the append
//! script numbers from it), from the prices clients last saw.

use super::Feed;
use crate::model::TopicName;
use crate::server::pubsub::log::redis::LeaseState;
use chrono::{DateTime, Utc};

impl Feed {
    /// Renews (or tries for) the lease, and acts on what it found.
    pub(super) async fn renew_lease(&mut self, now: DateTime<Utc>) {
        let Some(lease) = &self.lease else { return };
        match lease.renew().await {
            Ok(LeaseState::Elsewhere) => {
                if self.publishing {
                    tracing::warn!(
                        "another instance holds the feed lease; this one stops publishing"
                    );
                }
                self.publishing = false;
            }
            // Still ours, nothing owed: the common case, once a second.
            Ok(LeaseState::Held) if self.publishing && !self.owes_new_epoch => {}
            // Newly ours (the publisher died or paused past the lease), or ours with an epoch
            // still owed from an earlier attempt that failed half-way.
            Ok(LeaseState::Held) => self.take_over(now).await,
            Ok(LeaseState::HeldAfterRedisRestart) => {
                // See `log::redis::lease` for why a restarted Redis means a new epoch.
                tracing::warn!(
                    "Redis restarted: every topic starts a new epoch, so no id is handed out twice"
                );
                self.owes_new_epoch = true;
                self.take_over(now).await;
            }
            // Redis unreachable: the appends fail too, so there is nothing else to do. The next
            // renewal tells whether this instance still holds the lease.
            Err(error) => tracing::warn!(%error, "could not renew the feed lease"),
        }
    }

    /// Becomes the publisher: new epochs first if owed, then the published prices and
    /// watchlist adopted, then a publish.
    async fn take_over(&mut self, now: DateTime<Utc>) {
        if self.owes_new_epoch {
            // The clock, in milliseconds: later than every earlier epoch (those were clocks
            // too), so every id a browser holds from before reads as stale and gets its reset.
            let epoch = now.timestamp_millis() as u64;
            for topic in self.topics.iter() {
                if let Err(error) = topic.restart(epoch).await {
                    tracing::warn!(topic = %topic.name(), %error, "could not start the new epoch; trying again at the next renewal");
                    self.publishing = false;
                    return;
                }
            }
            self.owes_new_epoch = false;
        }
        // Another instance (or a restarted Redis) wrote the log since this one last did.
        self.forget_published();
        self.adopt_published().await;
        tracing::info!("this instance holds the feed lease: it moves the market");
        self.publishing = true;
        self.publish(now).await;
    }

    /// The market carries on from what clients last saw: every sector topic's prices, and the
    /// watchlist's members. A topic that cannot be read is skipped (its members then follow
    /// this market's own prices, each change published as usual).
    async fn adopt_published(&mut self) {
        for topic in self.topics.iter() {
            let Ok(snapshot) = topic.snapshot().await else {
                continue;
            };
            match topic.name() {
                // The sectors between them list every listed company, so their prices are the
                // whole market; movers and indices are computed from it, and follow.
                TopicName::Sector(_) => self.market.adopt(&snapshot.members),
                // The watchlist is a choice, not a price: keep the one clients see (minus any
                // company this market does not list), or every takeover would reshuffle it.
                TopicName::Watchlist if !snapshot.members.is_empty() => {
                    self.watchlist = snapshot
                        .members
                        .iter()
                        .map(|quote| quote.symbol.clone())
                        .filter(|symbol| self.market.is_listed(symbol))
                        .collect();
                }
                _ => {}
            }
        }
    }
}
