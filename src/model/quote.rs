//! Listed companies and their prices.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A ticker symbol: 1 to 8 characters, uppercase ASCII letters, digits or `-`, starting with a
/// letter (`ACME`, `IDX-TECH`). Parsed once at the edge, so everything inside can trust it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Symbol(String);

/// Why a string is not a [`Symbol`]. (`Display` is written by hand: `thiserror` is a server-only
/// dependency and this module is compiled into the wasm too.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SymbolError {
    Empty,
    TooLong,
    BadCharacter(char),
}

impl fmt::Display for SymbolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SymbolError::Empty => f.write_str("a symbol cannot be empty"),
            SymbolError::TooLong => f.write_str("a symbol has at most 8 characters"),
            SymbolError::BadCharacter(c) => write!(
                f,
                "a symbol is uppercase letters, digits and '-', starting with a letter; {c:?} is not allowed"
            ),
        }
    }
}

impl std::error::Error for SymbolError {}

impl Symbol {
    pub const MAX_LEN: usize = 8;

    pub fn parse(input: &str) -> Result<Symbol, SymbolError> {
        let first = input.chars().next().ok_or(SymbolError::Empty)?;
        if input.len() > Self::MAX_LEN {
            return Err(SymbolError::TooLong);
        }
        if !first.is_ascii_uppercase() {
            return Err(SymbolError::BadCharacter(first));
        }
        if let Some(bad) = input
            .chars()
            .find(|c| !(c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '-'))
        {
            return Err(SymbolError::BadCharacter(bad));
        }
        Ok(Symbol(input.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Symbol {
    type Error = SymbolError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Symbol::parse(&value)
    }
}

impl From<Symbol> for String {
    fn from(symbol: Symbol) -> String {
        symbol.0
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Everything a widget shows about one listed company (or one index): the payload of `add`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Quote {
    pub symbol: Symbol,
    pub name: String,
    pub sector: String,
    /// Last price, in the market's currency, rounded to cents.
    pub price: f64,
    /// Price at the open (server start, or listing): what `change` is measured against.
    pub open: f64,
    /// `price - open`.
    pub change: f64,
    /// `change / open * 100`, rounded to two decimals.
    pub change_pct: f64,
    /// When the price last moved (RFC 3339, UTC).
    pub time: DateTime<Utc>,
}

/// One fixture for every unit test that needs a quote: `symbol` opened at 10.00, now at `price`.
#[cfg(test)]
impl Quote {
    pub(crate) fn fixture(symbol: &str, price: f64) -> Quote {
        Quote {
            symbol: Symbol::parse(symbol).expect("a fixture symbol is valid"),
            name: format!("{symbol} Inc"),
            sector: "energy".into(),
            price,
            open: 10.0,
            change: price - 10.0,
            change_pct: (price - 10.0) * 10.0,
            time: DateTime::UNIX_EPOCH,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Symbols are parsed at the edge: lowercase, empty and overlong input is refused.
    #[test]
    fn a_lowercase_symbol_is_rejected() {
        assert_eq!(Symbol::parse("acme"), Err(SymbolError::BadCharacter('a')));
        assert_eq!(Symbol::parse(""), Err(SymbolError::Empty));
        assert_eq!(Symbol::parse("ABCDEFGHI"), Err(SymbolError::TooLong));
        assert_eq!(Symbol::parse("IDX-TECH").unwrap().as_str(), "IDX-TECH");
    }
}
