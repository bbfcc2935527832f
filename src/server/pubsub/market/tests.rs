//! The market's rules: determinism, the opening line-up, churn.
//!
//! The market has no clock and no task, so these tests call `tick` in a loop: two thousand
//! ticks of a simulated market take a millisecond, and every run of the test is the same run.

use super::*;

/// The changes of `ticks` ticks of a market opened with `seed`: a run's fingerprint.
fn run(seed: u64, ticks: usize) -> Vec<Vec<Change>> {
    let now = DateTime::UNIX_EPOCH;
    let mut market = Market::open(seed, now);
    (0..ticks).map(|_| market.tick(now)).collect()
}

/// The same seed gives the same run; another seed another run.
#[test]
fn a_seeded_market_is_deterministic() {
    // Equal runs prove replay; unequal runs prove the seed is actually used.
    assert_eq!(run(7, 200), run(7, 200));
    assert_ne!(run(7, 200), run(8, 200));
}

/// Forty companies are listed at the open, eight per sector.
#[test]
fn forty_companies_open_in_five_sectors() {
    let market = Market::open(1, DateTime::UNIX_EPOCH);
    assert_eq!(market.quotes().count(), 40);
    // Eight in every sector, not forty in total somehow: each sector topic shows a full table.
    for sector in SECTORS {
        assert_eq!(market.sector(sector).len(), 8, "{sector}");
    }
}

/// Churn delists one company and lists another in the same tick, keeping forty listed.
#[test]
fn churn_delists_one_and_lists_another() {
    let now = DateTime::UNIX_EPOCH;
    let mut market = Market::open(3, now);
    // The first tick that delists anything: churn is random, so the test waits for it rather than
    // guessing which tick it falls on (the seed makes it the same tick every run).
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
    // One out and one in, in the same tick: a sector never shrinks, so the page's rows never jump
    // between two events.
    assert_eq!((delisted.len(), listed.len()), (1, 1));
    assert_eq!(market.quotes().count(), 40);
}
