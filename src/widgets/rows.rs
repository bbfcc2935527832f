//! A widget's rows, and what each stream event does to them.
//!
//! Fine-grained on purpose: the membership (which symbols, in which order) is one signal that
//! changes only on `add`, `remove` and `reset`; each member's [`Line`] is a signal of its own.
//! An `update` — by far the most common event — therefore re-renders one row, not the table.
//! With 24 widgets ticking three times a second that is the difference between an idle page and
//! a busy main thread.
//!
//! No DOM here: the server builds the first rows from a snapshot, the browser applies events,
//! and the unit tests below check the rules natively.

// `Update as PriceUpdate`: the prelude's `Update` is the signal trait used below.
use crate::model::{Quote, Symbol, Update as PriceUpdate};
use leptos::prelude::*;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

/// How many recent prices a row's sparkline shows.
pub const SPARK_POINTS: usize = 40;

/// One member: its latest quote and its recent prices, oldest first.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    pub quote: Quote,
    pub recent: VecDeque<f64>,
    /// How many updates this line has had (the view replays its flash on each).
    pub updates: u64,
}

impl Line {
    fn new(quote: Quote) -> Line {
        let recent = VecDeque::from([quote.price]);
        Line {
            quote,
            recent,
            updates: 0,
        }
    }

    /// A price move: the new numbers, and one more point on the sparkline (at most
    /// [`SPARK_POINTS`], the newest kept).
    fn apply(&mut self, update: &PriceUpdate) {
        self.quote.price = update.price;
        self.quote.change = update.change;
        self.quote.change_pct = update.change_pct;
        self.quote.time = update.time;
        if self.recent.len() == SPARK_POINTS {
            self.recent.pop_front();
        }
        self.recent.push_back(update.price);
        self.updates += 1;
    }
}

/// A widget's members: their order, and a signal per line. Cloning shares the same rows.
#[derive(Clone, Default)]
pub struct Rows {
    order: ArcRwSignal<Vec<Symbol>>,
    lines: Arc<Mutex<HashMap<Symbol, ArcRwSignal<Line>>>>,
}

impl Rows {
    pub fn new(quotes: Vec<Quote>) -> Rows {
        let rows = Rows::default();
        for quote in quotes {
            rows.add(quote);
        }
        rows
    }

    fn lines(&self) -> std::sync::MutexGuard<'_, HashMap<Symbol, ArcRwSignal<Line>>> {
        self.lines.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The members' symbols in order (tracked: a view reading this re-renders on add/remove).
    pub fn symbols(&self) -> Vec<Symbol> {
        self.order.get()
    }

    /// One member's line, to render its row.
    pub fn line(&self, symbol: &Symbol) -> Option<ArcRwSignal<Line>> {
        self.lines().get(symbol).cloned()
    }

    /// `add`: a new member (or, if already present, a fresh start for it).
    pub fn add(&self, quote: Quote) {
        let symbol = quote.symbol.clone();
        let existing = self.lines().get(&symbol).cloned();
        match existing {
            Some(line) => line.set(Line::new(quote)),
            None => {
                // The line exists before the order names it, so a view never meets a symbol
                // without its line.
                self.lines()
                    .insert(symbol.clone(), ArcRwSignal::new(Line::new(quote)));
                self.order.update(|order| {
                    if let Err(at) = order.binary_search(&symbol) {
                        order.insert(at, symbol);
                    }
                });
            }
        }
    }

    /// `update`: a member's price moved. An update for a symbol we do not hold is ignored;
    /// with gap-free ids that cannot happen, and a reset would repair it if it did.
    pub fn update(&self, update: &PriceUpdate) {
        let line = self.lines().get(&update.symbol).cloned();
        if let Some(line) = line {
            line.update(|line| line.apply(update));
        }
    }

    /// `remove`: a member left.
    pub fn remove(&self, symbol: &Symbol) {
        self.order.update(|order| order.retain(|s| s != symbol));
        self.lines().remove(symbol);
    }

    /// `reset`: forget everything; the snapshot's `add`s that follow rebuild the rows.
    pub fn clear(&self) {
        self.order.set(Vec::new());
        self.lines().clear();
    }
}

/// The `points` of an SVG polyline drawing `prices` in a `width` × `height` box, the lowest
/// price at the bottom, the highest at the top (a flat line sits in the middle).
pub fn sparkline(prices: &VecDeque<f64>, width: f64, height: f64) -> String {
    let (low, high) = prices
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &p| {
            (lo.min(p), hi.max(p))
        });
    let span = high - low;
    let step = width / (SPARK_POINTS - 1) as f64;
    // Right-aligned: the newest price is always at the right edge.
    let start = width - step * (prices.len().saturating_sub(1)) as f64;
    prices
        .iter()
        .enumerate()
        .map(|(i, &price)| {
            let y = if span > 0.0 {
                height - (price - low) / span * height
            } else {
                height / 2.0
            };
            format!("{:.1},{:.1}", start + step * i as f64, y)
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;

    fn update(symbol: &str, price: f64) -> PriceUpdate {
        PriceUpdate {
            symbol: Symbol::parse(symbol).unwrap(),
            price,
            change: price - 10.0,
            change_pct: (price - 10.0) * 10.0,
            time: DateTime::UNIX_EPOCH,
        }
    }

    fn symbols(rows: &Rows) -> Vec<String> {
        rows.symbols().iter().map(Symbol::to_string).collect()
    }

    fn line(rows: &Rows, symbol: &str) -> Line {
        rows.line(&Symbol::parse(symbol).unwrap()).unwrap().get()
    }

    /// Rows stay in symbol order whatever order the adds arrive in, and a remove takes one out.
    #[test]
    fn adds_keep_symbol_order_and_removes_take_one_out() {
        let rows = Rows::new(vec![Quote::fixture("CCC", 1.0), Quote::fixture("AAA", 1.0)]);
        rows.add(Quote::fixture("BBB", 1.0));
        assert_eq!(symbols(&rows), ["AAA", "BBB", "CCC"]);
        rows.remove(&Symbol::parse("BBB").unwrap());
        assert_eq!(symbols(&rows), ["AAA", "CCC"]);
        assert!(rows.line(&Symbol::parse("BBB").unwrap()).is_none());
    }

    /// An update moves the price and extends the sparkline, which never holds more than
    /// SPARK_POINTS prices and keeps the newest; the membership is untouched.
    #[test]
    fn updates_move_the_price_and_the_sparkline_is_bounded() {
        let rows = Rows::new(vec![Quote::fixture("AAA", 10.0)]);
        for i in 0..(SPARK_POINTS * 2) {
            rows.update(&update("AAA", 11.0 + i as f64));
        }
        let line = line(&rows, "AAA");
        let newest = 11.0 + (SPARK_POINTS * 2 - 1) as f64;
        assert_eq!(line.quote.price, newest);
        assert_eq!(line.recent.len(), SPARK_POINTS);
        assert_eq!(line.recent.back(), Some(&newest));
        assert_eq!(line.updates, (SPARK_POINTS * 2) as u64);
        assert_eq!(symbols(&rows), ["AAA"]);
    }

    /// A reset clears the rows; the snapshot's adds rebuild them from nothing.
    #[test]
    fn a_reset_clears_and_adds_rebuild() {
        let rows = Rows::new(vec![
            Quote::fixture("AAA", 10.0),
            Quote::fixture("BBB", 5.0),
        ]);
        rows.update(&update("AAA", 12.0));
        rows.clear();
        assert!(symbols(&rows).is_empty());
        rows.add(Quote::fixture("AAA", 13.0));
        assert_eq!(symbols(&rows), ["AAA"]);
        assert_eq!(line(&rows, "AAA").recent, VecDeque::from([13.0]));
    }

    /// The sparkline spans the box: the lowest price at the bottom, the highest at the top, the
    /// newest at the right edge.
    #[test]
    fn the_sparkline_spans_its_box() {
        let points = sparkline(&VecDeque::from([2.0, 1.0, 3.0]), 78.0, 20.0);
        let coords: Vec<(f64, f64)> = points
            .split(' ')
            .map(|p| {
                let (x, y) = p.split_once(',').unwrap();
                (x.parse().unwrap(), y.parse().unwrap())
            })
            .collect();
        assert_eq!(coords.len(), 3);
        assert_eq!(coords[1].1, 20.0, "lowest at the bottom");
        assert_eq!(
            coords[2],
            (78.0, 0.0),
            "newest and highest at the top right"
        );
        assert_eq!(sparkline(&VecDeque::from([5.0]), 78.0, 20.0), "78.0,10.0");
    }
}
