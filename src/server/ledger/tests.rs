//! The ledger on a real SQLite file: the fold, the limits, exactly-once keys, concurrent
//! orders, expiry, and durability across a reopen.

use super::*;
use std::collections::BTreeMap;

fn order(symbol: &str, side: Side, quantity: u32) -> Order {
    Order {
        symbol: Symbol::parse(symbol).unwrap(),
        side,
        quantity,
    }
}

/// A ledger in a fresh temporary directory (kept alive by the returned guard).
fn ledger(idle: Duration) -> (Ledger, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(&dir.path().join("data/ledger.db"), idle).unwrap();
    (ledger, dir)
}

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
        fill(1, Side::Buy, 10, 100_00),
        fill(2, Side::Buy, 10, 200_00),
        fill(3, Side::Sell, 5, 300_00),
        fill(4, Side::Sell, 15, 50_00),
    ];
    let mut book = Book::default();
    let helio = Symbol::parse("HELIO").unwrap();
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
    assert!(book.positions.is_empty());
    // After fill 3: 15 shares, three quarters of the 3 000.00 they cost.
    let after_three = Book::fold(&fills[..3]);
    assert_eq!(
        after_three.positions[&helio],
        Holding {
            quantity: 15,
            cost_cents: 2_250_00
        }
    );
    assert_eq!((after_three.seq, Book::fold(&fills).seq), (3, 4));
}

const STARTING: i64 = crate::model::STARTING_CASH_CENTS;

/// Orders the account cannot afford, or shares it does not hold, are refused with the numbers,
/// and leave the ledger as it was.
#[tokio::test]
async fn limits_refuse_and_write_nothing() {
    let (ledger, _dir) = ledger(DEFAULT_SESSION_IDLE);
    let session = Account::new_session().session;
    let too_much = ledger
        .record(&session, "a", order("HELIO", Side::Buy, 10_000), 100_00)
        .await;
    assert_eq!(
        too_much,
        Err(LedgerError::NotEnoughCash {
            cost_cents: 1_000_000_00,
            cash_cents: STARTING
        })
    );
    ledger
        .record(&session, "b", order("HELIO", Side::Buy, 3), 100_00)
        .await
        .unwrap();
    let oversold = ledger
        .record(&session, "c", order("HELIO", Side::Sell, 4), 100_00)
        .await;
    assert!(matches!(
        oversold,
        Err(LedgerError::NotEnoughShares {
            wanted: 4,
            held: 3,
            ..
        })
    ));
    // Only fill "b" was written; refused keys stay free for a corrected order.
    assert_eq!(ledger.fills_after(&session, 0).await.unwrap().len(), 1);
    let retried = ledger
        .record(&session, "a", order("HELIO", Side::Buy, 1), 100_00)
        .await
        .unwrap();
    assert_eq!((retried.fill.seq, retried.repeated), (2, false));
}

/// A key is one fill: the same order again answers with the first fill (its price, not
/// today's), another order under it is refused, and another session's same key is its own.
#[tokio::test]
async fn a_key_fills_once_per_session() {
    let (ledger, _dir) = ledger(DEFAULT_SESSION_IDLE);
    let alice = Account::new_session().session;
    let bob = Account::new_session().session;
    let buy = order("QBIT", Side::Buy, 2);
    let first = ledger
        .record(&alice, "k", buy.clone(), 50_00)
        .await
        .unwrap();
    let again = ledger
        .record(&alice, "k", buy.clone(), 99_00)
        .await
        .unwrap();
    assert!(!first.repeated && again.repeated);
    assert_eq!(again.fill, first.fill);
    let other = ledger
        .record(&alice, "k", order("QBIT", Side::Buy, 3), 50_00)
        .await;
    assert_eq!(other, Err(LedgerError::KeyReused("k".into())));
    let bobs = ledger.record(&bob, "k", buy, 60_00).await.unwrap();
    assert_eq!((bobs.fill.seq, bobs.fill.price_cents), (1, 60_00));
    assert_eq!(ledger.fills_after(&alice, 0).await.unwrap().len(), 1);
}

/// Concurrent orders on one account, from two connections to the same file (two instances):
/// each order sees the one before it, so cash never goes below zero and no fill is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_orders_lose_no_update() {
    let (first, dir) = ledger(DEFAULT_SESSION_IDLE);
    let second = Ledger::open(&dir.path().join("data/ledger.db"), DEFAULT_SESSION_IDLE).unwrap();
    let session = Account::new_session().session;
    // Each buy costs 10 000.00: ten fit in the starting cash, the rest must be refused.
    let orders = (0..16).map(|n| {
        let ledger = if n % 2 == 0 {
            first.clone()
        } else {
            second.clone()
        };
        let session = session.clone();
        tokio::spawn(async move {
            let buy = order("HELIO", Side::Buy, 100);
            ledger
                .record(&session, &format!("key-{n}"), buy, 100_00)
                .await
        })
    });
    let mut filled = 0;
    for outcome in futures_util::future::join_all(orders).await {
        match outcome.unwrap() {
            Ok(_) => filled += 1,
            Err(LedgerError::NotEnoughCash { .. }) => {}
            Err(other) => panic!("unexpected refusal: {other}"),
        }
    }
    let fills = second.fills_after(&session, 0).await.unwrap();
    let book = Book::fold(&fills);
    assert_eq!((filled, fills.len(), book.cash_cents), (10, 10, 0));
    let seqs: Vec<u64> = fills.iter().map(|f| f.seq).collect();
    assert_eq!(
        seqs,
        (1..=10).collect::<Vec<_>>(),
        "contiguous, no duplicates"
    );
}

/// Sessions are lazy: a new one is an empty account with no row, numbered the same before
/// and after its first order writes the row; an idle one expires and is swept with its fills;
/// the shape check refuses anything but 32 hex digits before the database is asked.
#[tokio::test]
async fn sessions_are_rows_from_their_first_order_and_expire() {
    let (ledger, dir) = ledger(DEFAULT_SESSION_IDLE);
    let fresh = Account::new_session();
    let before = ledger.account(&fresh.session).await.unwrap();
    assert_eq!(before, fresh, "an empty account, its number derived from its id");
    assert_eq!(ledger.recorded_sessions().await, Ok(0), "reading writes no row");
    let buy = order("HELIO", Side::Buy, 1);
    ledger
        .record(&fresh.session, "k", buy.clone(), 1_00)
        .await
        .unwrap();
    assert_eq!(ledger.recorded_sessions().await, Ok(1), "the first order writes it");
    assert_eq!(ledger.account(&fresh.session).await, Ok(before.clone()));
    for bad in [
        "",
        "A".repeat(32).as_str(),
        "a".repeat(31).as_str(),
        "g".repeat(32).as_str(),
    ] {
        assert_eq!(SessionId::parse(bad), None, "{bad:?}");
    }
    // The same file seen by an instance whose idle time is zero: every session is past it, so
    // its account is empty again and its row and fills are gone.
    let strict = Ledger::open(&dir.path().join("data/ledger.db"), Duration::ZERO).unwrap();
    assert_eq!(strict.account(&fresh.session).await, Ok(before));
    assert_eq!(ledger.fills_after(&fresh.session, 0).await.unwrap(), vec![]);
    assert_eq!(ledger.recorded_sessions().await, Ok(0));
    // The sweep removes what nobody touched.
    let other = Account::new_session().session;
    ledger.record(&other, "k", buy, 1_00).await.unwrap();
    assert_eq!(strict.sweep().await, Ok(1));
    assert_eq!(ledger.fills_after(&other, 0).await.unwrap(), vec![]);
}

/// Two different ids get different numbers (their portfolio ids cannot be mistaken for each
/// other's), every number fits JavaScript's integers and none is 0 (an empty log's epoch).
#[test]
fn account_numbers_are_stable_and_fit_javascript() {
    let a = SessionId::parse(&"a".repeat(32)).unwrap();
    let b = SessionId::parse(&"b".repeat(32)).unwrap();
    assert_ne!(account_number(&a), account_number(&b));
    assert_eq!(account_number(&a), account_number(&a.clone()));
    for _ in 0..1_000 {
        let n = Account::new_session().number;
        assert!(n > 0 && n < 1 << 53, "{n}");
    }
}

/// Fills survive closing and reopening the file: the ledger is the durable record.
#[tokio::test]
async fn fills_survive_a_reopen() {
    let (ledger, dir) = ledger(DEFAULT_SESSION_IDLE);
    let account = Account::new_session();
    for (key, side, quantity) in [("1", Side::Buy, 5), ("2", Side::Sell, 2)] {
        ledger
            .record(&account.session, key, order("HELIO", side, quantity), 10_00)
            .await
            .unwrap();
    }
    drop(ledger);
    let reopened = Ledger::open(&dir.path().join("data/ledger.db"), DEFAULT_SESSION_IDLE).unwrap();
    assert_eq!(reopened.account(&account.session).await, Ok(account.clone()));
    let book = Book::fold(&reopened.fills_after(&account.session, 0).await.unwrap());
    let helio = Symbol::parse("HELIO").unwrap();
    let expected = BTreeMap::from([(
        helio,
        Holding {
            quantity: 3,
            cost_cents: 30_00,
        },
    )]);
    assert_eq!((book.seq, book.positions), (2, expected));
}
