//! A widget's rows, and what each stream event does to them.
//!
//! Plain data with no DOM and no signals: the server renders the first rows from a snapshot,
//! the browser applies `add` / `update` / `remove` / `reset` to them, and the unit tests below
//! check those rules natively.

use crate::model::{Quote, Symbol, Update};
use std::collections::VecDeque;

/// How many recent prices a row's sparkline shows.
pub const SPARK_POINTS: usize = 40;

/// One member: its latest quote and its recent prices, oldest first.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    pub quote: Quote,
    pub recent: VecDeque<f64>,
}

impl Line {
    fn new(quote: Quote) -> Line {
        let recent = VecDeque::from([quote.price]);
        Line { quote, recent }
    }
}

/// A widget's members, in symbol order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rows(Vec<Line>);

impl Rows {
    pub fn new(quotes: Vec<Quote>) -> Rows {
        let mut rows = Rows::default();
        for quote in quotes {
            rows.add(quote);
        }
        rows
    }

    pub fn lines(&self) -> &[Line] {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `add`: a new member (or, if already present, a fresh start for it).
    pub fn add(&mut self, quote: Quote) {
        match self
            .0
            .binary_search_by(|line| line.quote.symbol.cmp(&quote.symbol))
        {
            Ok(at) => self.0[at] = Line::new(quote),
            Err(at) => self.0.insert(at, Line::new(quote)),
        }
    }

    /// `update`: a member's price moved. An update for a symbol we do not hold is ignored;
    /// with gap-free ids that cannot happen, and a reset would repair it if it did.
    pub fn update(&mut self, update: &Update) {
        let Some(line) = self.0.iter_mut().find(|l| l.quote.symbol == update.symbol) else {
            return;
        };
        line.quote.price = update.price;
        line.quote.change = update.change;
        line.quote.change_pct = update.change_pct;
        line.quote.time = update.time;
        if line.recent.len() == SPARK_POINTS {
            line.recent.pop_front();
        }
        line.recent.push_back(update.price);
    }

    /// `remove`: a member left.
    pub fn remove(&mut self, symbol: &Symbol) {
        self.0.retain(|line| &line.quote.symbol != symbol);
    }

    /// `reset`: forget everything; the snapshot's `add`s that follow rebuild the rows.
    pub fn clear(&mut self) {
        self.0.clear();
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

    fn quote(symbol: &str, price: f64) -> Quote {
        Quote {
            symbol: Symbol::parse(symbol).unwrap(),
            name: format!("{symbol} Inc"),
            sector: "energy".into(),
            price,
            open: price,
            change: 0.0,
            change_pct: 0.0,
            time: DateTime::UNIX_EPOCH,
        }
    }

    fn update(symbol: &str, price: f64) -> Update {
        Update {
            symbol: Symbol::parse(symbol).unwrap(),
            price,
            change: price - 10.0,
            change_pct: (price - 10.0) * 10.0,
            time: DateTime::UNIX_EPOCH,
        }
    }

    fn symbols(rows: &Rows) -> Vec<String> {
        rows.lines()
            .iter()
            .map(|l| l.quote.symbol.to_string())
            .collect()
    }

    /// Rows stay in symbol order whatever order the adds arrive in, and a remove takes one out.
    #[test]
    fn adds_keep_symbol_order_and_removes_take_one_out() {
        let mut rows = Rows::new(vec![quote("CCC", 1.0), quote("AAA", 1.0)]);
        rows.add(quote("BBB", 1.0));
        assert_eq!(symbols(&rows), ["AAA", "BBB", "CCC"]);
        rows.remove(&Symbol::parse("BBB").unwrap());
        assert_eq!(symbols(&rows), ["AAA", "CCC"]);
    }

    /// An update moves the price and extends the sparkline, which never holds more than
    /// SPARK_POINTS prices and keeps the newest.
    #[test]
    fn updates_move_the_price_and_the_sparkline_is_bounded() {
        let mut rows = Rows::new(vec![quote("AAA", 10.0)]);
        for i in 0..(SPARK_POINTS * 2) {
            rows.update(&update("AAA", 11.0 + i as f64));
        }
        let line = &rows.lines()[0];
        let newest = 11.0 + (SPARK_POINTS * 2 - 1) as f64;
        assert_eq!(line.quote.price, newest);
        assert_eq!(line.recent.len(), SPARK_POINTS);
        assert_eq!(line.recent.back(), Some(&newest));
    }

    /// A reset clears the rows; the snapshot's adds rebuild them from nothing.
    #[test]
    fn a_reset_clears_and_adds_rebuild() {
        let mut rows = Rows::new(vec![quote("AAA", 10.0), quote("BBB", 5.0)]);
        rows.update(&update("AAA", 12.0));
        rows.clear();
        assert!(rows.is_empty());
        rows.add(quote("AAA", 13.0));
        assert_eq!(symbols(&rows), ["AAA"]);
        assert_eq!(rows.lines()[0].recent, VecDeque::from([13.0]));
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
