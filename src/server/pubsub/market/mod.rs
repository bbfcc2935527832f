//! The simulated exchange: fictional companies whose prices take a random walk.
//!
//! A [`Market`] is plain data plus a seeded random number generator, with no clock and no task
//! of its own. The caller ([`crate::server::pubsub::feed`]) decides when a tick happens and what time it is,
//! which makes a run reproducible (`TICKERPLEX_SEED`) and lets tests step it by hand.
//!
//! Each [`Market::tick`]:
//! - moves about half of the listed prices by a random step scaled by the company's volatility;
//! - now and then delists one company and lists one from the waiting bench, so topic membership
//!   changes by itself (that is where `remove` and `add` events come from).
//!
//! Not here: who subscribes to what. Topics read the market's quotes after each tick.
//!
//! Why a random walk and not a replay of recorded prices: a recording ends, needs a licence,
//! and cannot list or delist on demand; a seeded walk runs forever, is the same run for the
//! same seed, and exercises every event kind the widgets must handle. Prices are rounded to
//! cents at every step, as an exchange quotes them, so an `update` means a visible change.
//!
//! Past 300 lines as one concept: the market's state and its one rule of motion (open, tick, churn,
//! the indices computed from the same listings), a third of it comments on why each draw is made
//! as it is; splitting the indices off would separate them from the prices they are made of.

//!
//! The walk, per tick and per listed company: with probability ½ the price moves by a factor
//! `1 + u·v`, where `u` is uniform in [−1, 1] and `v` is the company's volatility; it is rounded
//! to cents and floored at one cent. Multiplicative steps keep a $15 stock and a $300 stock
//! moving by similar percentages, which is what makes the movers' ranking interesting.

mod companies;
mod takeover;

pub use companies::SECTORS;

use crate::model::{Quote, Symbol};
use chrono::{DateTime, Utc};
use companies::{COMPANIES, LISTED_PER_SECTOR};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;

/// Chance per tick that one company is delisted and another listed: on average every 40 ticks,
/// about every 15 s at the default rate — often enough to watch it happen.
const CHURN_PER_TICK: f64 = 1.0 / 40.0;

/// One company, listed or waiting.
#[derive(Clone, Debug)]
struct Listing {
    /// The ticker, validated once when the company list is read (`Symbol::parse`).
    symbol: Symbol,
    /// The company's name, from the compiled-in list (`companies::COMPANIES`): borrowed for
    /// the process's life, so a listing holds no string of its own until a quote is made.
    name: &'static str,
    /// Which sector topic shows it.
    sector: &'static str,
    /// The reference for `change`: the price at the open, or at listing for a newcomer.
    open: f64,
    /// The last traded price, rounded to the cent at every move (as quotes show it).
    price: f64,
    /// Largest relative move per tick (see `companies::COMPANIES`).
    volatility: f64,
    /// When the price last moved: the quote's timestamp.
    time: DateTime<Utc>,
}

impl Listing {
    fn quote(&self) -> Quote {
        let change = round_cents(self.price - self.open);
        Quote {
            symbol: self.symbol.clone(),
            name: self.name.to_owned(),
            sector: self.sector.to_owned(),
            price: self.price,
            open: self.open,
            change,
            change_pct: round_cents(change / self.open * 100.0),
            time: self.time,
        }
    }
}

/// What one tick changed. The feed uses it to skip publishing a tick that changed nothing; what
/// each topic publishes is the difference against the log, not this list (see `topics`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// The price moved by at least a cent.
    Moved(Symbol),
    /// A company from the waiting bench is now listed (it opens at its current price).
    Listed(Symbol),
    /// A listed company left the exchange and waits on the bench.
    Delisted(Symbol),
}

/// The exchange: who is listed, at what price, and the seeded generator every random choice
/// comes from.
pub struct Market {
    /// `StdRng` seeded from `TICKERPLEX_SEED`: every random choice — which prices move, by how
    /// much, who is delisted — comes from here, in a fixed order, so a seed replays a run.
    /// Rejected: `thread_rng`, which cannot be replayed, and a faster non-crypto generator,
    /// which would save nanoseconds on a few dozen draws per tick.
    rng: StdRng,
    /// Listed companies by symbol. A `BTreeMap`, so iteration (and so the order of random
    /// draws, and of the events they cause) is the same on every run.
    listed: BTreeMap<Symbol, Listing>,
    /// Companies waiting to list; a delisted one joins them, so churn can go on forever.
    bench: Vec<Listing>,
}

impl Market {
    /// Opens the market. The same seed gives the same run, tick for tick.
    pub fn open(seed: u64, now: DateTime<Utc>) -> Market {
        let mut listed = BTreeMap::new();
        let mut bench = Vec::new();
        // The table lists each sector's companies in order: the first eight of each are listed,
        // the ninth waits. Counting per sector keeps that rule independent of the table's order.
        let mut per_sector = [0usize; SECTORS.len()];
        for (symbol, name, sector, open, volatility) in COMPANIES {
            // The table is a constant of this crate: `forty_companies_open_in_five_sectors`
            // parses every symbol, so this cannot fail at run time without failing that test.
            let listing = Listing {
                symbol: Symbol::parse(symbol).expect("the company table holds valid symbols"),
                name,
                sector: SECTORS[sector],
                open,
                price: open,
                volatility,
                time: now,
            };
            per_sector[sector] += 1;
            if per_sector[sector] <= LISTED_PER_SECTOR {
                listed.insert(listing.symbol.clone(), listing);
            } else {
                bench.push(listing);
            }
        }
        Market {
            rng: StdRng::seed_from_u64(seed),
            listed,
            bench,
        }
    }

    /// Advances the market by one tick at time `now` and says what changed.
    pub fn tick(&mut self, now: DateTime<Utc>) -> Vec<Change> {
        let mut changes = Vec::new();
        // Symbol order (a `BTreeMap`), so the sequence of random draws is the same on every run.
        for listing in self.listed.values_mut() {
            // Half the companies move each tick: enough life on every widget without every row
            // flashing at once, which would make the updates impossible to follow by eye.
            if self.rng.random_bool(0.5) {
                let step = self.rng.random_range(-1.0..=1.0) * listing.volatility;
                let price = round_cents((listing.price * (1.0 + step)).max(0.01));
                // A step that rounds to the same cent is no change: no event for it, so every
                // `update` a widget receives shows a different price.
                if price != listing.price {
                    listing.price = price;
                    listing.time = now;
                    changes.push(Change::Moved(listing.symbol.clone()));
                }
            }
        }
        // Churn is drawn after the prices, always, so adding or removing companies from the
        // table does not shift the random sequence of the walk before it within a tick.
        if self.rng.random_bool(CHURN_PER_TICK) {
            changes.extend(self.churn(now));
        }
        changes
    }

    /// Delists a random company and lists a random one from the bench, which opens at its
    /// listing price (so its change starts at zero).
    fn churn(&mut self, now: DateTime<Utc>) -> Vec<Change> {
        // Both sides are never empty (a churn moves one company each way, so the counts stay
        // 40 and 5), but an empty side is simply no churn rather than a panic.
        if self.listed.is_empty() || self.bench.is_empty() {
            return Vec::new();
        }
        let out = self.rng.random_range(0..self.listed.len());
        let Some(symbol) = self.listed.keys().nth(out).cloned() else {
            return Vec::new();
        };
        let Some(mut delisted) = self.listed.remove(&symbol) else {
            return Vec::new();
        };

        // `swap_remove`: the bench's order does not matter, and the random draw already decided
        // which one leaves it.
        let incoming = self.rng.random_range(0..self.bench.len());
        let mut listing = self.bench.swap_remove(incoming);
        listing.open = listing.price;
        listing.time = now;
        let listed = listing.symbol.clone();
        self.listed.insert(listed.clone(), listing);

        delisted.time = now;
        self.bench.push(delisted);
        vec![Change::Delisted(symbol), Change::Listed(listed)]
    }

    /// The current quote of a listed company; `None` once it is delisted (the watchlist then
    /// drops it at its next refill).
    pub fn quote(&self, symbol: &Symbol) -> Option<Quote> {
        self.listed.get(symbol).map(Listing::quote)
    }

    /// Every listed company, in symbol order.
    pub fn quotes(&self) -> impl Iterator<Item = Quote> + '_ {
        self.listed.values().map(Listing::quote)
    }

    /// Whether `symbol` trades now: decides between "delisted" and a topic's own reason when a
    /// member leaves.
    pub fn is_listed(&self, symbol: &Symbol) -> bool {
        self.listed.contains_key(symbol)
    }

    /// The listed members of one sector.
    ///
    /// A scan of forty companies per sector per tick rather than an index by sector: the index
    /// would have to follow every listing and delisting, for no time anyone could measure.
    pub fn sector(&self, slug: &str) -> Vec<Quote> {
        self.quotes().filter(|quote| quote.sector == slug).collect()
    }

    /// Synthetic indices: per sector, and for the whole market, the mean of price/open, as
    /// points from 1000 at the open. Equal-weighted (every company counts the same) because
    /// the demo has no share counts; a real index would weight by market capitalisation.
    pub fn indices(&self, now: DateTime<Utc>) -> Vec<Quote> {
        let index = |symbol: &str, name: String, sector: &str, members: Vec<&Listing>| {
            let ratio =
                members.iter().map(|l| l.price / l.open).sum::<f64>() / members.len().max(1) as f64;
            let price = round_cents(1000.0 * ratio);
            let change = round_cents(price - 1000.0);
            Quote {
                // `IDX-` and three capitals from a sector slug: the shape `Symbol` accepts, and
                // `the_watchlist_holds_ten_and_the_movers_five` builds every index at start.
                symbol: Symbol::parse(symbol).expect("index symbols are valid"),
                name,
                sector: sector.to_owned(),
                price,
                open: 1000.0,
                change,
                change_pct: round_cents(change / 10.0),
                time: now,
            }
        };
        let mut indices = vec![index(
            "IDX-ALL",
            "All shares".into(),
            "all",
            self.listed.values().collect(),
        )];
        for sector in SECTORS {
            let symbol = format!("IDX-{}", &sector[..3].to_ascii_uppercase());
            let members = self
                .listed
                .values()
                .filter(|l| l.sector == sector)
                .collect();
            indices.push(index(
                &symbol,
                format!("{} index", capitalise(sector)),
                sector,
                members,
            ));
        }
        indices
    }

    /// A random listed symbol that is not in `exclude` (for the watchlist's rotation).
    ///
    /// From the market's own generator, so even the watchlist's line-up replays with the seed.
    pub fn pick_listed(&mut self, exclude: &[Symbol]) -> Option<Symbol> {
        let candidates: Vec<&Symbol> = self
            .listed
            .keys()
            .filter(|s| !exclude.contains(s))
            .collect();
        if candidates.is_empty() {
            return None;
        }
        let at = self.rng.random_range(0..candidates.len());
        Some(candidates[at].clone())
    }

    /// True with probability `p`, from the market's seeded generator.
    /// (The feed's rotation uses it, so its dice come from the same seeded sequence.)
    pub fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p)
    }
}

/// Rounds to cents, as quotes are published. `f64` and not a decimal type: the market is a
/// simulation and the values only ever reach a display, never a ledger.
fn round_cents(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

/// `energy` → `Energy`, for an index's display name. ASCII only: sector slugs are ASCII by the
/// shape `TopicName::parse` accepts.
fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
