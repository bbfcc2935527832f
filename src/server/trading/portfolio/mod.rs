//! Portfolios: each session's private topic, published from its ledger.
//!
//! What it owns: one live channel per session that has a portfolio stream open on this
//! instance, the account each channel has published so far (a [`Book`]), and the two things
//! that feed the channels — new fills (made here, or by another instance on the same ledger)
//! and price moves. A stream subscribes here and gets a [`Subscription`] exactly like a market
//! topic's, so the rest of its path (the outbox, keep-alive, drain, slow-consumer cut) is the
//! market's, unchanged.
//!
//! The ids (`<account>-<fill>`, see `model::portfolio`) come from the ledger, so they survive
//! a restart and mean the same on every instance: a browser that reconnects after either gets
//! exactly the fills it missed — never a reset just because the server is new.
//!
//! Subscribing follows the topics' rule (join the channel first, then read): the channel's
//! book is brought up to date and the receiver made under one lock, so a fill is either in the
//! prelude or on the channel after it, never both and never neither.
//!
//! How fills reach the channels: the order's own instance tells its channel at once
//! ([`Portfolios::notify`]); every instance also watches the ledger for fills it did not make
//! ([`run`], `Ledger::watch`: SQLite is polled, Postgres notifies) — one watch per instance,
//! not per stream. Either way a woken channel reads its account's fills after the last it
//! published, by number, so a wake-up missed or doubled loses or repeats nothing. Price moves
//! go out as id-less `update`s (`Live::Mark`) at most every [`VALUATION`] per position.
//!
//! Past 300 lines as one concept: a session's channel — subscribe, catch up, revalue, forward —
//! whose steps share one lock and one book, and must be read together to see why nothing is
//! lost or repeated. The event framing is `frame`, the task `task`.

use crate::model::{
    dollars, EventId, EventKind, PortfolioSnapshot, Reset, ResetReason, Start, Symbol, Sync,
    TopicName,
};
use crate::server::pubsub::log::{Frame, Live, SUBSCRIBER_BUFFER};
use crate::server::pubsub::topics::{Subscription, Topics};
use crate::server::sse::{self, json};
use crate::server::trading::ledger::{
    Account, Book, Change, Ledger, LedgerError, SessionId, StoredFill,
};
use std::collections::HashMap;
use std::sync::{Arc, PoisonError};
use std::time::Duration;
use tokio::sync::{broadcast, Mutex};

mod frame;
mod task;
use frame::{average, event};
pub use task::run;

/// How often a position's price is revalued (conflated: a few updates a second at most).
pub const VALUATION: Duration = Duration::from_millis(500);

/// One session's live channel on this instance.
struct Channel {
    /// Whose: the session and the account number its ids carry.
    account: Account,
    /// The session's streams on this instance (two tabs, a reconnect overlapping the old
    /// stream) all hang off one sender, as a topic's do.
    sender: broadcast::Sender<Live>,
    /// The account as published on the channel: every fill up to `book.seq`.
    book: Book,
    /// The price each position was last valued at, so an unchanged price sends nothing.
    marked: HashMap<Symbol, f64>,
}

/// Every open portfolio channel on this instance, and where prices come from.
pub struct Portfolios {
    /// Where fills are recorded and read back: the one truth every channel catches up with.
    ledger: Ledger,
    /// Where prices come from (the sector topics), and the drain and drills' signals.
    pub(super) topics: Arc<Topics>,
    /// A tokio mutex: catching a channel up reads the ledger (an `.await`) while it is held,
    /// which is what keeps a subscriber from falling between the catch-up and the subscribe.
    channels: Mutex<HashMap<SessionId, Channel>>,
    /// The latest price of every listed company, refreshed each valuation. A std lock: held
    /// for a map clone or swap, never across an `.await`. A poisoned lock (a panic while held,
    /// which a clone or swap cannot cause short of running out of memory) is read through:
    /// the map is whole either way, and prices a valuation late are still prices.
    prices: std::sync::RwLock<HashMap<Symbol, f64>>,
}

impl Portfolios {
    /// No channel open yet: each is made by its session's first stream on this instance.
    pub fn new(ledger: Ledger, topics: Arc<Topics>) -> Portfolios {
        Portfolios {
            ledger,
            topics,
            channels: Mutex::default(),
            prices: Default::default(),
        }
    }

    /// The ledger behind the portfolios (orders record through it; the exporter reads its
    /// health).
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// Subscribes to `account`'s portfolio, resuming after `last_event_id` when it names a
    /// fill of this account (see the module doc).
    pub async fn subscribe(
        &self,
        account: &Account,
        last_event_id: Option<&str>,
    ) -> Result<Subscription, LedgerError> {
        let mut channels = self.channels.lock().await;
        let channel = match channels.entry(account.session.clone()) {
            std::collections::hash_map::Entry::Occupied(entry) => entry.into_mut(),
            // A session's first stream on this instance makes its channel, with an empty book that
            // the catch-up below fills from the ledger: a channel never starts from anything but
            // the fills.
            std::collections::hash_map::Entry::Vacant(entry) => entry.insert(Channel {
                account: account.clone(),
                sender: broadcast::channel(SUBSCRIBER_BUFFER).0,
                book: Book::default(),
                marked: HashMap::new(),
            }),
        };
        // Up to date with the ledger, then subscribed: both under the lock (module doc).
        self.catch_up(channel).await?;
        let live = channel.sender.subscribe();
        let now = channel.book.clone();
        let after = EventId {
            epoch: account.number,
            seq: now.seq,
        };
        // Released before the prices and the prelude: this lock serialises the catch-ups of every
        // session on the instance, so nothing that can wait on the log happens under it.
        drop(channels);

        // The first portfolio opened here finds no prices kept yet (they are only read while
        // one is open): read them now.
        let kept = self
            .prices
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let prices = if kept.is_empty() {
            self.refresh_prices().await
        } else {
            kept
        };
        let price =
            |symbol: &Symbol, fallback: f64| prices.get(symbol).copied().unwrap_or(fallback);
        // The same four outcomes as a market topic's resume (`topics::subscribe`), judged against
        // the account's own ids: its number as the epoch, its fill count as the newest seq.
        let resume = last_event_id.map(|id| match EventId::parse(id) {
            Err(_) => Err(ResetReason::Malformed),
            Ok(id) if id.epoch != account.number => Err(ResetReason::OtherEpoch),
            Ok(id) if id.seq > after.seq => Err(ResetReason::FromTheFuture),
            Ok(id) => Ok(id.seq),
        });
        let mut prelude = Vec::new();
        let start = match resume {
            Some(Ok(from)) => {
                // The fills after the client's id, replayed from the book it had then. Fills
                // after `after` are not in the prelude: they are on the channel. Every fill is
                // read, not only those after `from`: the book as the client had it must be folded
                // from the start to turn each missed fill into the right `add`, `update` or
                // `remove`.
                let fills = self.ledger.fills_after(&account.session, 0).await?;
                let (seen, missed) = fills.split_at((from as usize).min(fills.len()));
                let missed: Vec<_> = missed.iter().filter(|f| f.seq <= after.seq).collect();
                let mut book = Book::fold(seen);
                for fill in &missed {
                    let change = book.apply(fill);
                    let at = price(&fill.symbol, dollars(fill.price_cents));
                    prelude.push(event(&book, &change, at, Some(account.number)));
                }
                // Then every position at today's price: what moved while the client was away.
                for (symbol, holding) in &now.positions {
                    let update = Change::Changed(symbol.clone());
                    prelude.push(event(&now, &update, price(symbol, average(holding)), None));
                }
                Start::Resumed {
                    replayed: missed.len(),
                }
            }
            reset => {
                if let Some(Err(reason)) = reset {
                    prelude.push(
                        sse::Event::new(EventKind::Reset, &json(&Reset { reason })).to_bytes(),
                    );
                }
                for (symbol, holding) in &now.positions {
                    let opened = Change::Opened(symbol.clone());
                    prelude.push(event(&now, &opened, price(symbol, average(holding)), None));
                }
                let sync = Sync {
                    members: now.positions.len(),
                    cash: Some(dollars(now.cash_cents)),
                };
                let id = after.to_string();
                prelude.push(
                    sse::Event::new(EventKind::Sync, &json(&sync))
                        .id(&id)
                        .to_bytes(),
                );
                match reset {
                    Some(Err(reason)) => Start::Reset { reason },
                    _ => Start::Fresh,
                }
            }
        };
        Ok(Subscription {
            prelude,
            live,
            start,
            after,
        })
    }

    /// The portfolio now, at once (`Accept: application/json`).
    pub async fn snapshot(&self, account: &Account) -> Result<PortfolioSnapshot, LedgerError> {
        // Folded from the ledger, not read from an open channel: a JSON read must not need a
        // stream open on this instance, and the fold of a demo account is microseconds.
        let book = Book::fold(&self.ledger.fills_after(&account.session, 0).await?);
        let prices = self.refresh_prices().await;
        let positions = book
            .positions
            .iter()
            .filter_map(|(symbol, holding)| {
                let price = prices.get(symbol).copied().unwrap_or(average(holding));
                book.position(symbol, price)
            })
            .collect();
        Ok(PortfolioSnapshot {
            id: EventId {
                epoch: account.number,
                seq: book.seq,
            },
            cash: dollars(book.cash_cents),
            positions,
        })
    }

    /// A fill was recorded for `session`: publish it (and any before it not yet published) on
    /// its channel, if one is open here.
    pub async fn notify(&self, session: &SessionId) {
        let mut channels = self.channels.lock().await;
        if let Some(channel) = channels.get_mut(session) {
            if let Err(error) = self.catch_up(channel).await {
                tracing::warn!(%error, "portfolio not updated; the next wake-up retries");
            }
        }
    }

    /// Catches every open channel up with the ledger (its watch was blind for a while).
    pub async fn notify_all(&self) {
        let mut channels = self.channels.lock().await;
        for channel in channels.values_mut() {
            if let Err(error) = self.catch_up(channel).await {
                tracing::warn!(%error, "portfolio not updated; the next wake-up retries");
            }
        }
    }

    /// Publishes the fills after the channel's book, each as the event of what it changed.
    async fn catch_up(&self, channel: &mut Channel) -> Result<(), LedgerError> {
        let fills = self
            .ledger
            .fills_after(&channel.account.session, channel.book.seq)
            .await?;
        for fill in &fills {
            let change = channel.book.apply(fill);
            let price = self.price_of(fill);
            channel.marked.insert(fill.symbol.clone(), price);
            let bytes = event(&channel.book, &change, price, Some(channel.account.number));
            let id = EventId {
                epoch: channel.account.number,
                seq: fill.seq,
            };
            // No receiver is not an error: the channel is dropped at the next valuation.
            let _ = channel.sender.send(Live::Event(Frame::new(id, bytes)));
        }
        Ok(())
    }

    /// The position's price to show with a fill: the market's latest, or the fill's own while
    /// no price has been read yet (the first portfolio opened here, a topic unreadable).
    fn price_of(&self, fill: &StoredFill) -> f64 {
        let prices = self.prices.read().unwrap_or_else(PoisonError::into_inner);
        prices
            .get(&fill.symbol)
            .copied()
            .unwrap_or(dollars(fill.price_cents))
    }

    /// Reads every listed company's price, then sends each open portfolio an `update` for
    /// every position whose price moved; drops channels nobody listens to any more.
    pub(super) async fn revalue(&self) {
        // No portfolio open here: nothing to value, and no reason to read the log.
        if self.channels.lock().await.is_empty() {
            return;
        }
        let prices = self.refresh_prices().await;
        let mut channels = self.channels.lock().await;
        // A channel whose streams all ended is dropped here, not when the last stream goes: a
        // reload's new stream, a moment later, then finds the channel still caught up.
        channels.retain(|_, channel| channel.sender.receiver_count() > 0);
        for channel in channels.values_mut() {
            for symbol in channel.book.positions.keys() {
                let Some(&price) = prices.get(symbol) else {
                    continue;
                };
                // Conflated: only a price that moved since the last valuation sends anything, so a
                // quiet market costs an idle portfolio no bytes.
                if channel.marked.insert(symbol.clone(), price) != Some(price) {
                    let update = Change::Changed(symbol.clone());
                    let bytes = event(&channel.book, &update, price, None);
                    let _ = channel.sender.send(Live::Mark(bytes));
                }
            }
        }
    }

    /// Reads every listed company's price from the sector topics and keeps it for the next
    /// snapshot. A log that cannot answer leaves the last prices standing.
    async fn refresh_prices(&self) -> HashMap<Symbol, f64> {
        let mut prices = HashMap::new();
        for topic in self.topics.iter() {
            if let TopicName::Sector(_) = topic.name() {
                if let Ok(snapshot) = topic.snapshot().await {
                    prices.extend(snapshot.members.into_iter().map(|q| (q.symbol, q.price)));
                }
            }
        }
        // An empty read (every topic unreadable: Redis away) keeps the last prices: positions
        // valued a few seconds late beat positions valued at nothing.
        let mut kept = self.prices.write().unwrap_or_else(PoisonError::into_inner);
        if !prices.is_empty() {
            *kept = prices;
        }
        kept.clone()
    }

    /// Deletes the idle sessions with their fills, after marking as seen every session whose
    /// portfolio stream is open here: a tab that shows its portfolio is using its session, even
    /// if it has not ordered or loaded a page for longer than the idle time. Swept from under an
    /// open stream, the session's next order would open the account again at fill 1, and the
    /// stream, whose book is past fill 1, would never show it. Each instance touches its own
    /// streams' sessions more often than the idle time ([`run`]), so no instance sweeps a
    /// session that another one is showing.
    pub async fn sweep(&self) -> Result<usize, LedgerError> {
        let open: Vec<SessionId> = self
            .channels
            .lock()
            .await
            .iter()
            .filter(|(_, channel)| channel.sender.receiver_count() > 0)
            .map(|(session, _)| session.clone())
            .collect();
        self.ledger.touch(&open).await?;
        self.ledger.sweep().await
    }

    /// Forwards a signal (drain, drill) to every open portfolio stream.
    pub(super) async fn signal(&self, signal: Live) {
        for channel in self.channels.lock().await.values() {
            let _ = channel.sender.send(signal.clone());
        }
    }
}
