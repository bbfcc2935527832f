//! Buy/Sell: validate an order at the edge, then fill it at the current price.
//!
//! Parse, don't validate: the raw form fields become a [`Symbol`] and a quantity in
//! [`QUANTITIES`] here, or an [`OrderError`] whose message the UI shows as it is. Nothing is
//! recorded before every check has passed, so a rejected order leaves no partial state.
//! The price comes from the sector topics, which hold every listed company's latest quote.
//!
//! What it owns: the rules of an order (which symbols, which quantities) and the price it fills
//! at. Not how the order arrives (a Leptos server function, `widgets::order_ticket`, which also
//! picks the HTTP status) and not a ledger: a fill is returned and not recorded, so there is no
//! portfolio yet and a retried order fills again (a later step adds the ledger and idempotency
//! keys).
//!
//! Why the quantity arrives as a string: it is what the form field holds. Parsing it here, with
//! a reason for each way it can be wrong, gives the user a sentence ("quantity 2.5 is not a
//! whole number") instead of a deserialisation error from the server-function layer.

//!
//! What the order ticket shows for each refusal, straight from [`OrderError`]'s messages:
//! `ZZZZ` → "no listed company has the symbol ZZZZ"; `acme` → "symbol: …lowercase…";
//! quantity `2.5` → "quantity \"2.5\" is not a whole number"; `0` → "quantity 0 is outside 1 to
//! 10 000".

use super::log::LogError;
use super::topics::Topics;
use crate::model::{Fill, Side, Symbol, SymbolError, TopicName};
use chrono::Utc;
use std::ops::RangeInclusive;

/// Allowed order sizes: at least one share, and a cap that keeps a typo (an extra zero or
/// three) from becoming an absurd order. The number is the demo's; a real venue sets its own.
pub const QUANTITIES: RangeInclusive<u32> = 1..=10_000;

/// Why an order was refused. Every variant but `Unavailable` is the client's to fix (422); the
/// message is shown to the user as it is, so each one says what was wrong in plain words.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum OrderError {
    #[error("symbol: {0}")]
    BadSymbol(#[from] SymbolError),
    #[error("no listed company has the symbol {0}")]
    UnknownSymbol(Symbol),
    #[error("quantity {0:?} is not a whole number")]
    MalformedQuantity(String),
    #[error("quantity {0} is outside 1 to 10 000")]
    QuantityOutOfRange(u64),
    /// Not the client's fault: the price could not be read.
    #[error("{0}")]
    Unavailable(String),
}

/// The price lives in the topics' event log; a log that cannot answer makes the order
/// temporarily impossible, not wrong.
impl From<LogError> for OrderError {
    fn from(error: LogError) -> OrderError {
        OrderError::Unavailable(error.to_string())
    }
}

/// Checks the order and fills it at the current price.
pub async fn place(
    topics: &Topics,
    symbol: &str,
    side: Side,
    quantity: &str,
) -> Result<Fill, OrderError> {
    // Parse both fields before looking anything up: a malformed order costs no log read, and
    // the user hears about the first thing wrong in the order they typed it.
    let symbol = Symbol::parse(symbol.trim())?;
    let quantity = parse_quantity(quantity)?;
    // The sector topics together list every listed company exactly once, so the first topic
    // that has the symbol has its one current quote. (The watchlist, movers and indices are
    // views of the same companies, or not companies at all.)
    let mut quote = None;
    for topic in topics
        .iter()
        .filter(|t| matches!(t.name(), TopicName::Sector(_)))
    {
        quote = topic.member(&symbol).await?;
        if quote.is_some() {
            break;
        }
    }
    let quote = quote.ok_or(OrderError::UnknownSymbol(symbol))?;
    // Filled at the last published price, whole: the demo's market always has the liquidity.
    // The total is rounded to cents like the prices, so what the ticket shows adds up.
    Ok(Fill {
        symbol: quote.symbol,
        side,
        quantity,
        price: quote.price,
        total: (quote.price * f64::from(quantity) * 100.0).round() / 100.0,
        time: Utc::now(),
    })
}

/// A whole number of shares within [`QUANTITIES`]. Parsed as `u64` first so "99999999999" is
/// "outside 1 to 10 000" (true, and useful) rather than "not a whole number" (false); only a
/// number beyond `u64` is malformed. The echo is cut to 32 characters: the message is shown
/// back to the user, and a megabyte of input does not deserve a megabyte of error.
fn parse_quantity(input: &str) -> Result<u32, OrderError> {
    let input = input.trim();
    let n: u64 = input
        .parse()
        .map_err(|_| OrderError::MalformedQuantity(input.chars().take(32).collect()))?;
    u32::try_from(n)
        .ok()
        .filter(|n| QUANTITIES.contains(n))
        .ok_or(OrderError::QuantityOutOfRange(n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::feed::{self, Feed};
    use std::sync::Arc;

    /// In-memory topics with the market's opening members published: every listed company has
    /// a quote an order can fill at.
    async fn market() -> Arc<Topics> {
        let topics = Arc::new(feed::topics(1));
        Feed::new(9, topics.clone(), Utc::now())
            .publish(Utc::now())
            .await;
        topics
    }

    /// A valid order fills at the symbol's current price.
    #[tokio::test]
    async fn a_valid_order_fills_at_the_current_price() {
        let topics = market().await;
        let energy = topics
            .get(&TopicName::Sector("energy".into()))
            .unwrap()
            .snapshot()
            .await
            .unwrap();
        // Any listed company will do; the fill must echo its current quote.
        let quote = &energy.members[0];
        let fill = place(&topics, quote.symbol.as_str(), Side::Buy, "3")
            .await
            .unwrap();
        assert_eq!((fill.price, fill.quantity), (quote.price, 3));
        assert!((fill.total - quote.price * 3.0).abs() < 0.01);
    }

    /// Each kind of bad input is refused with its own message.
    #[tokio::test]
    async fn bad_orders_are_refused_with_a_reason() {
        let topics = market().await;
        let listed = topics
            .get(&TopicName::Watchlist)
            .unwrap()
            .snapshot()
            .await
            .unwrap()
            .members[0]
            .symbol
            .to_string();
        assert_eq!(
            place(&topics, "ZZZZ", Side::Buy, "1").await,
            Err(OrderError::UnknownSymbol(Symbol::parse("ZZZZ").unwrap()))
        );
        assert_eq!(
            place(&topics, "acme", Side::Buy, "1").await,
            Err(OrderError::BadSymbol(SymbolError::BadCharacter('a')))
        );
        assert_eq!(
            place(&topics, &listed, Side::Sell, "0").await,
            Err(OrderError::QuantityOutOfRange(0))
        );
        assert_eq!(
            place(&topics, &listed, Side::Sell, "10001").await,
            Err(OrderError::QuantityOutOfRange(10_001))
        );
        assert_eq!(
            place(&topics, &listed, Side::Sell, "2.5").await,
            Err(OrderError::MalformedQuantity("2.5".into()))
        );
        assert!(place(&topics, &listed, Side::Sell, "10000").await.is_ok());
    }
}
