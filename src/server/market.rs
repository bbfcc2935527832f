//! The simulated exchange: fictional companies whose prices take a random walk.
//!
//! A [`Market`] is plain data plus a seeded random number generator, with no clock and no task
//! of its own. The caller ([`super::feed`]) decides when a tick happens and what time it is,
//! which makes a run reproducible (`TICKERPLEX_SEED`) and lets tests step it by hand.
//!
//! Each [`Market::tick`]:
//! - moves about half of the listed prices by a random step scaled by the company's volatility;
//! - now and then delists one company and lists one from the waiting bench, so topic membership
//!   changes by itself (that is where `remove` and `add` events come from).
//!
//! Not here: who subscribes to what. Topics read the market's quotes after each tick.

use crate::model::{Quote, Symbol};
use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;

/// The sectors, as URL slugs (`sector/<slug>`).
pub const SECTORS: [&str; 5] = ["energy", "technology", "finance", "health", "consumer"];

/// Chance per tick that one company is delisted and another listed: on average every 40 ticks,
/// about every 15 s at the default rate — often enough to watch it happen.
const CHURN_PER_TICK: f64 = 1.0 / 40.0;

/// The companies, nine per sector: eight listed at the open, one waiting to list.
const COMPANIES: [(&str, &str, usize, f64, f64); 45] = [
    // (symbol, name, sector index, opening price, volatility per tick)
    ("HELIO", "Helio Power", 0, 84.20, 0.004),
    ("PETRA", "Petra Fuels", 0, 61.75, 0.003),
    ("GRIDX", "Gridworks", 0, 33.10, 0.005),
    ("TIDAL", "Tidal Turbines", 0, 18.40, 0.008),
    ("COALS", "Coalsack Mining", 0, 12.95, 0.006),
    ("VOLTA", "Volta Storage", 0, 142.00, 0.007),
    ("FLARE", "Flare Gas", 0, 27.30, 0.005),
    ("ATOMK", "Atomik Energy", 0, 98.60, 0.004),
    ("WINDR", "Windrose", 0, 22.15, 0.006),
    ("QBIT", "Qubit Labs", 1, 212.40, 0.009),
    ("NIMBU", "Nimbus Cloud", 1, 156.80, 0.006),
    ("SILIC", "Silicate Semis", 1, 88.25, 0.007),
    ("PIXEL", "Pixelforge", 1, 45.60, 0.008),
    ("CODEX", "Codex Systems", 1, 301.10, 0.005),
    ("BYTE", "Bytewise", 1, 19.85, 0.010),
    ("LUMEN", "Lumen Optics", 1, 67.40, 0.006),
    ("ROBO", "Robotix", 1, 121.30, 0.008),
    ("MESH", "Meshnet", 1, 38.90, 0.007),
    ("LEDGR", "Ledger & Co", 2, 74.50, 0.003),
    ("VAULT", "Vaultline Bank", 2, 52.20, 0.003),
    ("MINT", "Mint Payments", 2, 133.70, 0.006),
    ("BOND", "Bondwell", 2, 41.05, 0.002),
    ("CRED", "Credence Insurance", 2, 66.80, 0.003),
    ("ASSET", "Assetry", 2, 210.00, 0.004),
    ("LOAN", "Loanstar", 2, 15.60, 0.007),
    ("EQUIT", "Equitas", 2, 92.35, 0.004),
    ("TALLY", "Tally Trust", 2, 28.45, 0.005),
    ("CURA", "Cura Pharma", 3, 118.90, 0.005),
    ("GENO", "Genomix", 3, 64.30, 0.009),
    ("VITA", "Vitalis", 3, 39.75, 0.004),
    ("MEDIX", "Medix Devices", 3, 152.60, 0.004),
    ("SERUM", "Serum Bio", 3, 23.10, 0.011),
    ("CLINI", "Clinica", 3, 57.40, 0.003),
    ("NEURO", "Neurona", 3, 81.20, 0.008),
    ("DOSE", "Dosewell", 3, 31.65, 0.006),
    ("ORTHO", "Orthos", 3, 47.90, 0.004),
    ("GROCR", "Grocera", 4, 35.80, 0.003),
    ("BREW", "Brewhouse", 4, 48.15, 0.004),
    ("THRED", "Threadline Apparel", 4, 26.40, 0.006),
    ("HOMEY", "Homey Goods", 4, 72.90, 0.004),
    ("SNACK", "Snackwell", 4, 19.30, 0.005),
    ("RIDE", "Ride Motors", 4, 88.70, 0.007),
    ("PLAY", "Playtime Toys", 4, 14.25, 0.008),
    ("DINE", "Dine Out", 4, 42.60, 0.005),
    ("GLOW", "Glow Cosmetics", 4, 55.35, 0.005),
];

/// Companies per sector listed at the open; the rest wait on the bench.
const LISTED_PER_SECTOR: usize = 8;

/// One company, listed or waiting.
#[derive(Clone, Debug)]
struct Listing {
    symbol: Symbol,
    name: &'static str,
    sector: &'static str,
    open: f64,
    price: f64,
    volatility: f64,
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

/// What one tick changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    Moved(Symbol),
    Listed(Symbol),
    Delisted(Symbol),
}

pub struct Market {
    rng: StdRng,
    listed: BTreeMap<Symbol, Listing>,
    bench: Vec<Listing>,
}

impl Market {
    /// Opens the market. The same seed gives the same run, tick for tick.
    pub fn open(seed: u64, now: DateTime<Utc>) -> Market {
        let mut listed = BTreeMap::new();
        let mut bench = Vec::new();
        let mut per_sector = [0usize; SECTORS.len()];
        for (symbol, name, sector, open, volatility) in COMPANIES {
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
        for listing in self.listed.values_mut() {
            if self.rng.random_bool(0.5) {
                let step = self.rng.random_range(-1.0..=1.0) * listing.volatility;
                let price = round_cents((listing.price * (1.0 + step)).max(0.01));
                if price != listing.price {
                    listing.price = price;
                    listing.time = now;
                    changes.push(Change::Moved(listing.symbol.clone()));
                }
            }
        }
        if self.rng.random_bool(CHURN_PER_TICK) {
            changes.extend(self.churn(now));
        }
        changes
    }

    /// Delists a random company and lists a random one from the bench, which opens at its
    /// listing price (so its change starts at zero).
    fn churn(&mut self, now: DateTime<Utc>) -> Vec<Change> {
        let out = self.rng.random_range(0..self.listed.len());
        let symbol = self
            .listed
            .keys()
            .nth(out)
            .cloned()
            .expect("index within the listed count");
        let mut delisted = self
            .listed
            .remove(&symbol)
            .expect("the symbol was just looked up");

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

    pub fn quote(&self, symbol: &Symbol) -> Option<Quote> {
        self.listed.get(symbol).map(Listing::quote)
    }

    /// Every listed company, in symbol order.
    pub fn quotes(&self) -> impl Iterator<Item = Quote> + '_ {
        self.listed.values().map(Listing::quote)
    }

    pub fn is_listed(&self, symbol: &Symbol) -> bool {
        self.listed.contains_key(symbol)
    }

    /// The listed members of one sector.
    pub fn sector(&self, slug: &str) -> Vec<Quote> {
        self.quotes().filter(|quote| quote.sector == slug).collect()
    }

    /// Synthetic indices: per sector, and for the whole market, the mean of price/open, as
    /// points from 1000 at the open.
    pub fn indices(&self, now: DateTime<Utc>) -> Vec<Quote> {
        let index = |symbol: &str, name: String, sector: &str, members: Vec<&Listing>| {
            let ratio =
                members.iter().map(|l| l.price / l.open).sum::<f64>() / members.len().max(1) as f64;
            let price = round_cents(1000.0 * ratio);
            let change = round_cents(price - 1000.0);
            Quote {
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
    pub fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p)
    }
}

fn round_cents(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(seed: u64, ticks: usize) -> Vec<Vec<Change>> {
        let now = DateTime::UNIX_EPOCH;
        let mut market = Market::open(seed, now);
        (0..ticks).map(|_| market.tick(now)).collect()
    }

    /// The same seed gives the same run; another seed another run.
    #[test]
    fn a_seeded_market_is_deterministic() {
        assert_eq!(run(7, 200), run(7, 200));
        assert_ne!(run(7, 200), run(8, 200));
    }

    /// Forty companies are listed at the open, eight per sector.
    #[test]
    fn forty_companies_open_in_five_sectors() {
        let market = Market::open(1, DateTime::UNIX_EPOCH);
        assert_eq!(market.quotes().count(), 40);
        for sector in SECTORS {
            assert_eq!(market.sector(sector).len(), 8, "{sector}");
        }
    }

    /// Churn delists one company and lists another in the same tick, keeping forty listed.
    #[test]
    fn churn_delists_one_and_lists_another() {
        let now = DateTime::UNIX_EPOCH;
        let mut market = Market::open(3, now);
        let churned = (0..2000)
            .map(|_| market.tick(now))
            .find(|changes| changes.iter().any(|c| matches!(c, Change::Delisted(_))))
            .expect("2000 ticks see a delisting");
        let delisted: Vec<_> = churned
            .iter()
            .filter(|c| matches!(c, Change::Delisted(_)))
            .collect();
        let listed: Vec<_> = churned
            .iter()
            .filter(|c| matches!(c, Change::Listed(_)))
            .collect();
        assert_eq!((delisted.len(), listed.len()), (1, 1));
        assert_eq!(market.quotes().count(), 40);
    }
}
