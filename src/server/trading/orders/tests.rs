//! The order rules, against a real market (the feed's opening members) and a real ledger
//! (SQLite in memory): each check's refusal, and exactly-once filling.

use super::*;
use crate::server::pubsub::feed::{self, Feed};
use crate::server::trading::ledger::{Ledger, DEFAULT_SESSION_IDLE};
use std::sync::Arc;

/// The market open (every listed company has a quote), an empty ledger, and one session.
async fn market() -> (Arc<Topics>, Portfolios, SessionId) {
    let topics = Arc::new(feed::topics(1));
    // One published tick: the sector topics then hold the opening quotes, which is what an order is
    // priced from (`place` reads the symbol's topic, never the market itself).
    Feed::new(9, topics.clone(), Utc::now())
        .publish(Utc::now())
        .await;
    // SQLite in memory: the real backend and its real transaction, without a file to clean up.
    let ledger = Ledger::open(":memory:".as_ref(), DEFAULT_SESSION_IDLE).unwrap();
    // A session as the dashboard hands one out: an id in a cookie, no row yet.
    let session = crate::server::trading::ledger::Account::new_session().session;
    (topics.clone(), Portfolios::new(ledger, topics), session)
}

/// A listed company's current quote, read from its sector topic.
async fn listed(topics: &Topics) -> crate::model::Quote {
    let energy = topics.get(&TopicName::Sector("energy".into())).unwrap();
    energy.snapshot().await.unwrap().members[0].clone()
}

/// A valid order fills at the symbol's current price and is the session's first fill.
#[tokio::test]
async fn a_valid_order_fills_at_the_current_price() {
    let (topics, portfolios, session) = market().await;
    let quote = listed(&topics).await;
    let order = (quote.symbol.as_str(), Side::Buy, "3");
    let fill = place(&topics, &portfolios, Some(session), Some("k1"), order)
        .await
        .unwrap();
    assert_eq!(
        (fill.price, fill.quantity, fill.seq, fill.repeated),
        (quote.price, 3, 1, false)
    );
    // Within half a cent: the total is computed in cents and shown in dollars, so it may differ
    // from the float product in the last place, never by a cent.
    assert!((fill.total - quote.price * 3.0).abs() < 0.005);
}

/// Each kind of bad input is refused with its own message and status.
#[tokio::test]
async fn bad_orders_are_refused_with_a_reason() {
    let (topics, portfolios, session) = market().await;
    let listed = listed(&topics).await.symbol.to_string();
    let listed = listed.as_str();
    let refused = |symbol, side, quantity| {
        let session = Some(session.clone());
        let (topics, portfolios) = (&topics, &portfolios);
        async move {
            let order = place(
                topics,
                portfolios,
                session,
                Some("key"),
                (symbol, side, quantity),
            );
            order.await.unwrap_err()
        }
    };
    // Well-formed and unlisted: the market's answer, not the parser's.
    assert_eq!(
        refused("ZZZZ", Side::Buy, "1").await,
        OrderError::UnknownSymbol(Symbol::parse("ZZZZ").unwrap())
    );
    // Lower case is not a symbol at all: the parser's answer, naming the first bad character.
    assert_eq!(
        refused("acme", Side::Buy, "1").await,
        OrderError::BadSymbol(SymbolError::BadCharacter('a'))
    );
    // The quantity's two edges: below the range, and one past its cap.
    assert_eq!(
        refused(listed, Side::Sell, "0").await,
        OrderError::QuantityOutOfRange(0)
    );
    assert_eq!(
        refused(listed, Side::Sell, "10001").await,
        OrderError::QuantityOutOfRange(10_001)
    );
    // A fraction is not a smaller quantity but no quantity: its own message.
    assert_eq!(
        refused(listed, Side::Sell, "2.5").await,
        OrderError::MalformedQuantity("2.5".into())
    );
    // `-1` is malformed as a whole number of shares; only its status matters to the client.
    let negative = refused(listed, Side::Buy, "-1").await;
    assert_eq!(negative.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // Nothing held yet: a sale is refused by the ledger, which says what is held.
    let unheld = refused(listed, Side::Sell, "1").await;
    let held_none = matches!(
        unheld,
        OrderError::Ledger(LedgerError::NotEnoughShares { held: 0, .. })
    );
    assert!(held_none, "{unheld:?}");
    assert_eq!(unheld.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

/// Who and which come first: no session is 401, no usable key is 400, whatever the order. A
/// well-formed id the ledger has no row for is a session that has not ordered yet: it fills.
#[tokio::test]
async fn no_session_is_401_and_no_key_is_400() {
    let (topics, portfolios, session) = market().await;
    // An order that would be refused for its symbol: the session is checked first, so the answer is
    // 401, not 422.
    let order = ("ZZZZ", Side::Buy, "1");
    let anonymous = place(&topics, &portfolios, None, Some("k"), order)
        .await
        .unwrap_err();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let quote = listed(&topics).await;
    // A well-formed id the ledger has never seen: sessions are lazy, so this is a visitor placing a
    // first order, not an intruder.
    let unrecorded = SessionId::parse(&"0".repeat(32));
    let first = place(
        &topics,
        &portfolios,
        unrecorded,
        Some("k"),
        (quote.symbol.as_str(), Side::Buy, "1"),
    );
    assert!(
        first.await.is_ok(),
        "a session's first order writes its row"
    );
    let too_long = "k".repeat(MAX_KEY_BYTES + 1);
    // Missing, empty, with a character that is not visible ASCII, and one byte too long.
    for key in [None, Some(""), Some("with space"), Some(too_long.as_str())] {
        let error = place(&topics, &portfolios, Some(session.clone()), key, order)
            .await
            .unwrap_err();
        assert_eq!(error.status(), StatusCode::BAD_REQUEST, "{key:?}: {error}");
    }
}

/// The same key twice is one fill, answered twice; the same key for another order is refused.
#[tokio::test]
async fn a_repeated_key_returns_the_first_fill() {
    let (topics, portfolios, session) = market().await;
    let symbol = listed(&topics).await.symbol.to_string();
    let order = (symbol.as_str(), Side::Buy, "2");
    let first = place(
        &topics,
        &portfolios,
        Some(session.clone()),
        Some("once"),
        order,
    )
    .await
    .unwrap();
    let again = place(
        &topics,
        &portfolios,
        Some(session.clone()),
        Some("once"),
        order,
    )
    .await
    .unwrap();
    // The retry is answered from the ledger (`repeated`) with the first fill's own seq, price
    // and time: read back, not priced again.
    assert!(again.repeated && !first.repeated);
    assert_eq!(
        (again.seq, again.price, again.time),
        (first.seq, first.price, first.time)
    );
    // Not only the answers agree: the ledger itself holds one fill, so the retry did not buy twice
    // and merely answer once.
    let fills = portfolios.ledger().fills_after(&session, 0).await.unwrap();
    assert_eq!(fills.len(), 1, "one fill in the ledger");
    // The same key for another order (three shares, not two): a client bug. Refused, never filled
    // and never answered with the first fill, which would hide the bug.
    let other = (symbol.as_str(), Side::Buy, "3");
    let reused = place(&topics, &portfolios, Some(session), Some("once"), other)
        .await
        .unwrap_err();
    assert!(
        matches!(reused, OrderError::Ledger(LedgerError::KeyReused(_))),
        "{reused:?}"
    );
    // 422, not 409: the request is understood and refused for what it says, and a retry of it will
    // be refused the same way.
    assert_eq!(reused.status(), StatusCode::UNPROCESSABLE_ENTITY);
}
