//! The ledger's pure parts: the fold, and session ids and their numbers. What the ledger
//! promises on a database — limits, keys, concurrency, expiry, durability — is tested on both
//! backends, one body each, in `tests/trading/ledger.rs`.

use super::*;

const STARTING: i64 = crate::model::STARTING_CASH_CENTS;

/// The fold: buys add shares, cost and spend cash; a partial sale keeps the average cost; the
/// last sale closes the position. Each step's `Change` is the event the portfolio sends.
#[test]
fn the_book_is_the_fold_of_the_fills() {
    let fill = |seq, side, quantity, price_cents| StoredFill {
        seq,
        symbol: Symbol::parse("HELIO").unwrap(),
        side,
        quantity,
        price_cents,
        time_ms: 0,
    };
    let fills = [
        // Two buys at different prices, so the average cost is something to keep; a partial sale at
        // a profit; a last sale at a loss that closes the position.
        fill(1, Side::Buy, 10, 100_00),
        fill(2, Side::Buy, 10, 200_00),
        fill(3, Side::Sell, 5, 300_00),
        fill(4, Side::Sell, 15, 50_00),
    ];
    let mut book = Book::default();
    let helio = Symbol::parse("HELIO").unwrap();
    // Applied one at a time, as the portfolio stream applies them: each step's `Change` is the
    // event a browser receives for that fill.
    let changes: Vec<_> = fills.iter().map(|f| book.apply(f)).collect();
    assert_eq!(
        changes,
        [
            Change::Opened(helio.clone()),
            Change::Changed(helio.clone()),
            Change::Changed(helio.clone()),
            Change::Closed(helio.clone()),
        ]
    );
    // 100 000.00 − 1 000 − 2 000 + 1 500 + 750.
    assert_eq!(
        book.cash_cents,
        STARTING - 1_000_00 - 2_000_00 + 1_500_00 + 750_00
    );
    // Closed means gone from the map, not a holding of 0: the portfolio's `remove` depends on it.
    assert!(book.positions.is_empty());
    // After fill 3: 15 shares, three quarters of the 3 000.00 they cost.
    // Folded from the start, as a resume folds the fills a client had already seen.
    let after_three = Book::fold(&fills[..3]);
    assert_eq!(
        after_three.positions[&helio],
        Holding {
            quantity: 15,
            cost_cents: 2_250_00
        }
    );
    // The book remembers how far it got: the seq a resume continues from.
    assert_eq!((after_three.seq, Book::fold(&fills).seq), (3, 4));
}

/// Two different ids get different numbers (their portfolio ids cannot be mistaken for each
/// other's), every number fits JavaScript's integers and none is 0 (an empty log's epoch).
#[test]
fn account_numbers_are_stable_and_fit_javascript() {
    // Two fixed ids, so a failure names the same pair on every run.
    let a = SessionId::parse(&"a".repeat(32)).unwrap();
    let b = SessionId::parse(&"b".repeat(32)).unwrap();
    assert_ne!(account_number(&a), account_number(&b));
    // Derived, not drawn: the same id gives the same number, which is what lets every instance
    // number a session's ids without asking the ledger.
    assert_eq!(account_number(&a), account_number(&a.clone()));
    // Random sessions: without the 53-bit mask nearly every one of them would be past 2^53, and
    // without the `max(1)` one in 2^53 would be 0.
    for _ in 0..1_000 {
        let n = Account::new_session().number;
        assert!(n > 0 && n < 1 << 53, "{n}");
    }
}

/// A session id is 32 lowercase hex digits, and nothing else reaches the database.
#[test]
fn session_ids_have_one_shape() {
    for bad in [
        // Empty, upper case, one short, not hex, one long: each a different way past the parser.
        "",
        &"A".repeat(32),
        &"a".repeat(31),
        &"g".repeat(32),
        &"a".repeat(33),
    ] {
        assert_eq!(SessionId::parse(bad), None, "{bad:?}");
    }
    let id = SessionId::random();
    assert_eq!(SessionId::parse(id.as_str()), Some(id));
}

/// The order rules both backends share: a repeated key with the same order replays its fill,
/// with another order is refused; a new key is the account's next fill, if affordable.
#[test]
fn one_decision_for_both_backends() {
    let buy = |quantity| Order {
        symbol: Symbol::parse("HELIO").unwrap(),
        side: Side::Buy,
        quantity,
    };
    let first = match decide("k", &buy(2), 10_00, None, &[]) {
        Ok(Decision::Insert(fill)) => fill,
        _ => panic!("a new key on an empty account is its first fill"),
    };
    assert_eq!(
        (first.seq, first.quantity, first.price_cents),
        (1, 2, 10_00)
    );
    // A retry at another price (99.00): the replay is the first fill as recorded, not re-priced.
    let replay = decide(
        "k",
        &buy(2),
        99_00,
        Some(first.clone()),
        std::slice::from_ref(&first),
    );
    assert!(matches!(replay, Ok(Decision::Replay(fill)) if fill == first));
    // The same key for a different order (3 shares, not 2): a client bug, refused, never filled.
    let reused = decide(
        "k",
        &buy(3),
        10_00,
        Some(first.clone()),
        std::slice::from_ref(&first),
    );
    assert!(matches!(reused, Err(LedgerError::KeyReused(_))));
    // A new key on an account with one fill: the next seq, so the portfolio's ids stay contiguous.
    let next = decide("k2", &buy(1), 10_00, None, std::slice::from_ref(&first));
    assert!(matches!(next, Ok(Decision::Insert(fill)) if fill.seq == 2));
    // A million shares at 10.00 is ten million, a hundred times the starting cash: the rules refuse
    // it before anything is written.
    let too_much = decide("k3", &buy(1_000_000), 10_00, None, &[first]);
    assert!(matches!(too_much, Err(LedgerError::NotEnoughCash { .. })));
}
