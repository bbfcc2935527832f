//! Buy/Sell: validate an order at the edge, then fill it at the current price, exactly once.
//!
//! Parse, don't validate: the raw form fields become a [`Symbol`] and a quantity in
//! [`QUANTITIES`] here, or an [`OrderError`] whose message the UI shows as it is. The checks run
//! in the order a client can fix them: who (the session: 401), which order (the
//! `Idempotency-Key`: 400), what (symbol and quantity: 422), then the ledger's own (cash,
//! shares, a key reused for another order: 422). Nothing is recorded before every check has
//! passed, and the ledger records the fill in one transaction, so a refused order leaves no
//! partial state. The price comes from the sector topics, which hold every listed company's
//! latest quote.
//!
//! What it owns: the rules of an order and the price it fills at. Not how it arrives (a Leptos
//! server function, `widgets::order_ticket`, which turns [`OrderError::status`] into the
//! response's), not the record (the [ledger](crate::server::trading::ledger)), not the portfolio stream it
//! changes (told by [`Portfolios::notify`]).
//!
//! Why the quantity arrives as a string: it is what the form field holds. Parsing it here, with
//! a reason for each way it can be wrong, gives the user a sentence ("quantity 2.5 is not a
//! whole number") instead of a deserialisation error from the server-function layer.
//!
//! What the order ticket shows for each refusal, straight from [`OrderError`]'s messages:
//! `ZZZZ` → "no listed company has the symbol ZZZZ"; `acme` → "symbol: …lowercase…";
//! quantity `2.5` → "quantity \"2.5\" is not a whole number"; `0` → "quantity 0 is outside 1 to
//! 10 000"; 50 000 of anything → "not enough cash: …".

use crate::model::{dollars, Fill, Side, Symbol, SymbolError, TopicName};
use crate::server::pubsub::log::LogError;
use crate::server::pubsub::topics::Topics;
use crate::server::trading::ledger::{LedgerError, Order, SessionId};
use crate::server::trading::portfolio::Portfolios;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use std::ops::RangeInclusive;

/// Allowed order sizes: at least one share, and a cap that keeps a typo (an extra zero or
/// three) from becoming an absurd order. The number is the demo's; a real venue sets its own.
pub const QUANTITIES: RangeInclusive<u32> = 1..=10_000;

/// The longest `Idempotency-Key` accepted (a UUID is 36 characters).
pub const MAX_KEY_BYTES: usize = 64;

/// Why an order was refused. Every variant but `Unavailable` (and the ledger's `Storage`) is
/// the client's to fix; the message is shown to the user as it is, so each one says what was
/// wrong in plain words. [`OrderError::status`] is the HTTP status for each.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum OrderError {
    #[error("symbol: {0}")]
    /// The symbol is not a symbol at all (empty, too long, a character a ticker never has).
    BadSymbol(#[from] SymbolError),
    #[error("no listed company has the symbol {0}")]
    /// A well-formed symbol no listed company has: unlisted since the page rendered, or typed.
    UnknownSymbol(Symbol),
    #[error("quantity {0:?} is not a whole number")]
    /// The quantity is not a whole number (a form's text field sends anything).
    MalformedQuantity(String),
    #[error("quantity {0} is outside 1 to 10 000")]
    /// Zero, or past [`QUANTITIES`]' cap (a typo's extra zeros), shown with the number sent.
    QuantityOutOfRange(u64),
    /// The request carries no usable `Idempotency-Key`.
    #[error("Idempotency-Key: {0}")]
    Key(String),
    /// The ledger refused the order (no session, cash, shares, a reused key) or could not
    /// record it.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// Not the client's fault: the price could not be read.
    #[error("{0}")]
    Unavailable(String),
}

/// The `Retry-After` of a 503: an outage of the ledger or the log is usually seconds long, and
/// a retried order costs one transaction.
pub const RETRY_AFTER_SECS: u64 = 2;

impl OrderError {
    /// The status the order endpoint answers with: 401 without a live session, 400 without a
    /// usable key (the request is malformed whatever the order), 422 for an order that cannot
    /// be filled as asked, 503 when the price or the ledger cannot be read (ours, temporary).
    pub fn status(&self) -> StatusCode {
        match self {
            OrderError::Ledger(LedgerError::NoSession) => StatusCode::UNAUTHORIZED,
            OrderError::Key(_) => StatusCode::BAD_REQUEST,
            OrderError::Ledger(LedgerError::Storage(_) | LedgerError::Config(_))
            | OrderError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }
}

/// The price lives in the topics' event log; a log that cannot answer makes the order
/// temporarily impossible, not wrong.
impl From<LogError> for OrderError {
    fn from(error: LogError) -> OrderError {
        OrderError::Unavailable(error.to_string())
    }
}

/// Checks the order and fills it at the current price, once per `key` (see the module doc for
/// the order of the checks).
pub async fn place(
    topics: &Topics,
    portfolios: &Portfolios,
    session: Option<SessionId>,
    key: Option<&str>,
    order: (&str, Side, &str),
) -> Result<Fill, OrderError> {
    let (symbol, side, quantity) = order;
    // Who first (401), then which order (400), then what (422): the order a client can fix
    // them in (module doc), so one answer names the first thing to change.
    let session = session.ok_or(OrderError::Ledger(LedgerError::NoSession))?;
    let key = parse_key(key)?;
    // Parse both fields before looking anything up: a malformed order costs no log read, and
    // the user hears about the first thing wrong in the order they typed it.
    let symbol = Symbol::parse(symbol.trim())?;
    let quantity = parse_quantity(quantity)?;
    // The price comes from the topic's log, not from the client: an order says what and how many,
    // never at what price, so a forged request cannot buy below the market.
    let quote = current_quote(topics, symbol).await?;
    // Filled at the last published price, whole: the demo's market always has the liquidity.
    let price_cents = (quote.price * 100.0).round() as i64;
    let order = Order {
        symbol: quote.symbol,
        side,
        quantity,
    };
    let recorded = portfolios
        .ledger()
        .record(&session, key, order, price_cents)
        .await?;
    if !recorded.repeated {
        // This instance's stream of the portfolio hears of it now; others at their next poll.
        portfolios.notify(&session).await;
    }
    let fill = recorded.fill;
    Ok(Fill {
        seq: fill.seq,
        repeated: recorded.repeated,
        total: dollars(fill.total_cents()),
        price: dollars(fill.price_cents),
        symbol: fill.symbol,
        side: fill.side,
        quantity: fill.quantity,
        // Out of range only for a time past the year 262 000; a row that held one would be corrupt,
        // and showing now beats failing an order that did fill.
        time: DateTime::from_timestamp_millis(fill.time_ms).unwrap_or_else(Utc::now),
    })
}

/// The quote of a listed company. The sector topics together list every listed company
/// exactly once, so the first topic that has the symbol has its one current quote. (The
/// watchlist, movers and indices are views of the same companies, or not companies at all.)
async fn current_quote(topics: &Topics, symbol: Symbol) -> Result<crate::model::Quote, OrderError> {
    for topic in topics
        .iter()
        .filter(|t| matches!(t.name(), TopicName::Sector(_)))
    {
        if let Some(quote) = topic.member(&symbol).await? {
            return Ok(quote);
        }
    }
    Err(OrderError::UnknownSymbol(symbol))
}

/// An `Idempotency-Key`: 1 to [`MAX_KEY_BYTES`] visible ASCII characters, chosen by the client,
/// new for each new order and the same for each retry of one.
fn parse_key(key: Option<&str>) -> Result<&str, OrderError> {
    let key = key.ok_or_else(|| {
        OrderError::Key(
            "missing: send a new random key with each order, the same one when retrying it".into(),
        )
    })?;
    if key.is_empty() || key.len() > MAX_KEY_BYTES || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(OrderError::Key(format!(
            "expected 1 to {MAX_KEY_BYTES} visible ASCII characters (a UUID will do)"
        )));
    }
    Ok(key)
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
mod tests;
