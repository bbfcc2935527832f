//! The ledger's promises, each tested on both backends — the embedded SQLite file and a real
//! Postgres the test starts itself (`common::postgres`) — with one test body per promise:
//! - through the library: the limits, a key filling once, concurrent orders on one account
//!   from two handles (two instances) losing no update, lazy sessions and their expiry,
//!   durability across a reopen, and the watch that tells one instance of another's fills;
//! - through the server over real TLS and HTTP/2: an order whose answer was lost fills once
//!   when retried, a restart keeps the portfolio and resumes its stream without a reset, the
//!   instances of a cluster share one ledger, one key sent to two instances at once fills
//!   once, and two keys at once never overdraw the account;
//! - Postgres only: instances migrating at once, a Postgres that is down at start, goes away
//!   under orders (killed mid-commit) and comes back, and the start-up errors no wait fixes.
//!
//! One file past 300 lines because it is one concept: the ledger's promises, each written once
//! and run on both backends by `on_both_backends!` — split by backend, the two halves would
//! drift, which is the failure this file exists to catch.

use crate::common;

use common::cluster::{free_port, Instance, Pki, RedisServer};
use common::events::{next, open_url};
use common::portfolio::*;
use common::postgres::{on_both_backends, PgServer, Store};
use common::TestServer;
use reqwest::header::{HeaderMap, HeaderValue, COOKIE, SET_COOKIE};
use reqwest::Client;
use std::collections::BTreeMap;
use std::time::Duration;
use tickerplex::model::{EventId, Fill, Hello, PortfolioSnapshot, Side, Start, Symbol};
use tickerplex::server::trading::ledger::{
    Account, Book, Holding, LedgerError, Order, StoredFill, Wake, DEFAULT_SESSION_IDLE,
};

on_both_backends!(
    limits_refuse_and_write_nothing,
    a_key_fills_once_per_session,
    concurrent_orders_lose_no_update,
    sessions_are_rows_from_their_first_order_and_expire,
    an_open_portfolio_keeps_its_session,
    fills_survive_a_reopen,
    one_instance_hears_of_another_instances_fills,
    an_order_whose_answer_was_lost_fills_once_when_retried,
    the_portfolio_survives_a_restart,
    the_cluster_shares_one_ledger,
    one_key_sent_to_two_instances_at_once_fills_once,
    two_keys_at_once_never_overdraw_the_account,
);

const STARTING: i64 = tickerplex::model::STARTING_CASH_CENTS;

fn order_of(symbol: &str, side: Side, quantity: u32) -> Order {
    Order {
        symbol: Symbol::parse(symbol).unwrap(),
        side,
        quantity,
    }
}

/// Orders the account cannot afford, or shares it does not hold, are refused with the numbers,
/// and leave the ledger as it was.
async fn limits_refuse_and_write_nothing(store: Store) {
    let ledger = store.open(DEFAULT_SESSION_IDLE).await;
    let session = Account::new_session().session;
    let too_much = ledger
        .record(&session, "a", order_of("HELIO", Side::Buy, 10_000), 100_00)
        .await;
    assert_eq!(
        too_much,
        Err(LedgerError::NotEnoughCash {
            cost_cents: 1_000_000_00,
            cash_cents: STARTING
        })
    );
    ledger
        .record(&session, "b", order_of("HELIO", Side::Buy, 3), 100_00)
        .await
        .unwrap();
    let oversold = ledger
        .record(&session, "c", order_of("HELIO", Side::Sell, 4), 100_00)
        .await;
    assert!(
        matches!(
            oversold,
            Err(LedgerError::NotEnoughShares {
                wanted: 4,
                held: 3,
                ..
            })
        ),
        "{oversold:?}"
    );
    // Only fill "b" was written; refused keys stay free for a corrected order.
    assert_eq!(ledger.fills_after(&session, 0).await.unwrap().len(), 1);
    let retried = ledger
        .record(&session, "a", order_of("HELIO", Side::Buy, 1), 100_00)
        .await
        .unwrap();
    assert_eq!((retried.fill.seq, retried.repeated), (2, false));
}

/// A key is one fill: the same order again answers with the first fill (its price, not
/// today's), another order under it is refused, and another session's same key is its own.
async fn a_key_fills_once_per_session(store: Store) {
    let ledger = store.open(DEFAULT_SESSION_IDLE).await;
    let alice = Account::new_session().session;
    let bob = Account::new_session().session;
    let buy = order_of("QBIT", Side::Buy, 2);
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
        .record(&alice, "k", order_of("QBIT", Side::Buy, 3), 50_00)
        .await;
    assert_eq!(other, Err(LedgerError::KeyReused("k".into())));
    let bobs = ledger.record(&bob, "k", buy, 60_00).await.unwrap();
    assert_eq!((bobs.fill.seq, bobs.fill.price_cents), (1, 60_00));
    assert_eq!(ledger.fills_after(&alice, 0).await.unwrap().len(), 1);
}

/// Concurrent orders on one account, from two handles on the same store (two instances): each
/// order sees the one before it, so cash never goes below zero and no fill is lost.
async fn concurrent_orders_lose_no_update(store: Store) {
    let first = store.open(DEFAULT_SESSION_IDLE).await;
    let second = store.open(DEFAULT_SESSION_IDLE).await;
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
            let buy = order_of("HELIO", Side::Buy, 100);
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
/// and after its first order writes the row; an idle one expires and is swept with its fills.
async fn sessions_are_rows_from_their_first_order_and_expire(store: Store) {
    let ledger = store.open(DEFAULT_SESSION_IDLE).await;
    let fresh = Account::new_session();
    let before = ledger.account(&fresh.session).await.unwrap();
    assert_eq!(
        before, fresh,
        "an empty account, its number derived from its id"
    );
    assert_eq!(
        ledger.recorded_sessions().await,
        Ok(0),
        "reading writes no row"
    );
    let buy = order_of("HELIO", Side::Buy, 1);
    ledger
        .record(&fresh.session, "k", buy.clone(), 1_00)
        .await
        .unwrap();
    assert_eq!(
        ledger.recorded_sessions().await,
        Ok(1),
        "the first order writes it"
    );
    assert_eq!(ledger.account(&fresh.session).await, Ok(before.clone()));
    // The same store seen by an instance whose idle time is zero: every session is past it,
    // so its account is empty again and its row and fills are gone.
    let strict = store.open(Duration::ZERO).await;
    assert_eq!(strict.account(&fresh.session).await, Ok(before));
    assert_eq!(ledger.fills_after(&fresh.session, 0).await.unwrap(), vec![]);
    assert_eq!(ledger.recorded_sessions().await, Ok(0));
    // An order on an expired session opens it again, empty: its first fill is 1 again.
    let other = Account::new_session().session;
    ledger.record(&other, "k", buy.clone(), 1_00).await.unwrap();
    let reopened = strict
        .record(&other, "k2", buy.clone(), 1_00)
        .await
        .unwrap();
    assert_eq!(reopened.fill.seq, 1);
    // The sweep removes what nobody touched.
    assert_eq!(strict.sweep().await, Ok(1));
    assert_eq!(ledger.fills_after(&other, 0).await.unwrap(), vec![]);
}

/// A session whose portfolio stream is open is in use, however long nobody orders: the sweep
/// leaves it and its fills alone, so the stream's next fill is numbered after the ones it has
/// shown, and reaches it. Without the touch before the sweep (mutation checked: the row swept)
/// the next order opens the account again at fill 1, which the open stream — its book already
/// at fill 1 — never shows.
async fn an_open_portfolio_keeps_its_session(store: Store) {
    use tickerplex::server::pubsub::log::Live;
    use tickerplex::server::trading::portfolio::Portfolios;
    let idle = Duration::from_secs(1);
    let ledger = store.open(idle).await;
    let topics = std::sync::Arc::new(tickerplex::server::pubsub::feed::topics(1));
    let portfolios = Portfolios::new(ledger.clone(), topics);
    let account = Account::new_session();
    let buy = order_of("HELIO", Side::Buy, 1);
    ledger
        .record(&account.session, "k1", buy.clone(), 1_00)
        .await
        .unwrap();
    let mut stream = portfolios.subscribe(&account, None).await.unwrap();
    assert_eq!(stream.after.seq, 1, "the open stream has shown fill 1");
    // The idle time passes with the stream open and nothing ordered. A wait on the wall clock,
    // because that is what the ledger's idle time is measured on (`seen_ms`): it is the
    // condition under test, not a synchronisation.
    tokio::time::sleep(idle + Duration::from_millis(100)).await;
    assert_eq!(portfolios.sweep().await, Ok(0), "nothing swept");
    let second = ledger
        .record(&account.session, "k2", buy, 1_00)
        .await
        .unwrap();
    assert_eq!(second.fill.seq, 2, "the account was kept, not opened again");
    portfolios.notify(&account.session).await;
    let live = stream.live.try_recv().ok().and_then(Live::event);
    let id = live.map(|frame| frame.id);
    assert_eq!(
        id,
        Some(EventId {
            epoch: account.number,
            seq: 2
        }),
        "the open stream shows the next fill"
    );
    // Closed, the same session is idle like any other: the next sweep takes it.
    drop(stream);
    tokio::time::sleep(idle + Duration::from_millis(100)).await;
    assert_eq!(
        portfolios.sweep().await,
        Ok(1),
        "swept once nobody shows it"
    );
}

/// Fills survive dropping the handle and opening another: the ledger is the durable record.
async fn fills_survive_a_reopen(store: Store) {
    let ledger = store.open(DEFAULT_SESSION_IDLE).await;
    let account = Account::new_session();
    for (key, side, quantity) in [("1", Side::Buy, 5), ("2", Side::Sell, 2)] {
        ledger
            .record(
                &account.session,
                key,
                order_of("HELIO", side, quantity),
                10_00,
            )
            .await
            .unwrap();
    }
    drop(ledger);
    let reopened = store.open(DEFAULT_SESSION_IDLE).await;
    assert_eq!(
        reopened.account(&account.session).await,
        Ok(account.clone())
    );
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

/// The watch of one handle hears of a fill recorded through another (SQLite: its poll;
/// Postgres: LISTEN/NOTIFY), naming the session; a fill's wake-up is never needed for
/// correctness (the reader goes by fill number), but without it another instance's stream
/// would never move.
async fn one_instance_hears_of_another_instances_fills(store: Store) {
    let watching = store.open(DEFAULT_SESSION_IDLE).await;
    let recording = store.open(DEFAULT_SESSION_IDLE).await;
    let mut wakes = watching.watch();
    if let Store::Postgres(_) = store {
        // Postgres says when it listens (and again after every reconnect): from then on no
        // notification is missed.
        assert_eq!(wakes.recv().await, Some(Wake::Everything));
    }
    let session = Account::new_session().session;
    let fill: StoredFill = recording
        .record(&session, "k", order_of("HELIO", Side::Buy, 1), 1_00)
        .await
        .unwrap()
        .fill;
    // SQLite's poll starts from the rowid it found at its first tick, which may come after
    // the insert above: then the fill is old news to it, and only a second one wakes it.
    let second = recording
        .record(&session, "k2", order_of("HELIO", Side::Buy, 1), 1_00)
        .await
        .unwrap();
    let woken = tokio::time::timeout(Duration::from_secs(10), wakes.recv())
        .await
        .expect("a wake-up within 10 s");
    assert_eq!(woken, Some(Wake::Session(session.clone())));
    let seen = watching.fills_after(&session, 0).await.unwrap();
    assert_eq!(
        seen.iter().map(|f| f.seq).collect::<Vec<_>>(),
        [fill.seq, second.fill.seq]
    );
}

/// A stand-in for an edge whose client connection dies at the worst moment: it forwards the
/// order to the server (real TLS, HTTP/2), waits for the whole answer — so the server has
/// filled it — and then drops the client's connection instead of answering.
async fn answer_losing_proxy(server: &TestServer) -> std::net::SocketAddr {
    use hyper_util::rt::TokioIo;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let upstream = server.client().build().unwrap();
    let url = server.url("/api/place_order");
    tokio::spawn(async move {
        loop {
            let (socket, _) = listener.accept().await.unwrap();
            let (upstream, url) = (upstream.clone(), url.clone());
            let forward = hyper::service::service_fn(
                move |request: hyper::Request<hyper::body::Incoming>| {
                    let (upstream, url) = (upstream.clone(), url.clone());
                    async move {
                        let (parts, body) = request.into_parts();
                        let body = axum::body::to_bytes(axum::body::Body::new(body), 1 << 16)
                            .await
                            .unwrap();
                        let answer = upstream
                            .post(url)
                            .headers(parts.headers)
                            .body(body)
                            .send()
                            .await
                            .unwrap();
                        let _ = answer.bytes().await.unwrap();
                        // The answer is never passed on: an error makes hyper close the connection.
                        Err::<hyper::Response<String>, _>("the answer is lost on the way back")
                    }
                },
            );
            let connection = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(socket), forward);
            tokio::spawn(connection);
        }
    });
    addr
}

/// Exactly once: the first answer is lost after the server filled the order; the retry with
/// the same key gets that fill back (marked a repeat) and the ledger holds one fill.
async fn an_order_whose_answer_was_lost_fills_once_when_retried(store: Store) {
    let server = TestServer::builder().store(&store).start().await;
    let cookie = visit(&server).await;
    let client = browser(&server, &cookie);
    let symbol = listed(&server, &client).await;
    let proxy = answer_losing_proxy(&server).await;
    let form = format!("symbol={symbol}&side=Buy&quantity=4");
    let lost = reqwest::Client::new()
        .post(format!("http://{proxy}/api/place_order"))
        .header("cookie", &cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("idempotency-key", "retry-me")
        .body(form)
        .send()
        .await;
    assert!(lost.is_err(), "the proxy must lose the answer: {lost:?}");

    let retried = order(&server, &client, "retry-me", (&symbol, "Buy", 4)).await;
    assert_eq!(
        retried
            .headers()
            .get("idempotent-replayed")
            .map(|v| v.to_str().unwrap()),
        Some("true")
    );
    let fill: Fill = retried.json().await.unwrap();
    assert_eq!((fill.seq, fill.repeated, fill.quantity), (1, true, 4));
    let snapshot: PortfolioSnapshot = common::get_json(&client, &server.url(PORTFOLIO)).await;
    assert_eq!(snapshot.id.seq, 1, "one fill in the ledger");
    assert_eq!(snapshot.positions[0].quantity, 4);
    // The same key for a different order is refused, not filled.
    let other = order(&server, &client, "retry-me", (&symbol, "Buy", 5)).await;
    assert_eq!(other.status(), 422);
}

/// A restart keeps the portfolio (the ledger is a file, or a database) and its ids: the stream
/// resumes from the old server's last id with nothing to replay and no reset.
async fn the_portfolio_survives_a_restart(store: Store) {
    let first = TestServer::builder().store(&store).start().await;
    let cookie = visit(&first).await;
    let client = browser(&first, &cookie);
    let symbol = listed(&first, &client).await;
    let placed = order(&first, &client, "before", (&symbol, "Buy", 6)).await;
    assert_eq!(placed.status(), 200);
    let before: PortfolioSnapshot = common::get_json(&client, &first.url(PORTFOLIO)).await;
    first.shutdown.begin();
    first.task.await.unwrap();

    let second = TestServer::builder().store(&store).start().await;
    let client = browser(&second, &cookie);
    let after: PortfolioSnapshot = common::get_json(&client, &second.url(PORTFOLIO)).await;
    let holdings = |s: &PortfolioSnapshot| {
        s.positions
            .iter()
            .map(|p| (p.symbol.clone(), p.quantity, p.cost))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        (after.id, after.cash, holdings(&after)),
        (before.id, before.cash, holdings(&before))
    );
    let url = second.url(PORTFOLIO);
    let mut events = open_url(&client, &url, Some(&before.id.to_string())).await;
    let hello: Hello = serde_json::from_str(&next(&mut events).await.data).unwrap();
    assert_eq!(hello.start, Start::Resumed { replayed: 0 });
}

/// Two instances (real processes) on one Redis and one ledger, and a session cookie from the
/// first: a client of each that sends it.
struct Pair {
    a: Instance,
    b: Instance,
    pki: Pki,
    cookie: String,
    _redis: RedisServer,
}

impl Pair {
    fn start(store: &Store) -> Pair {
        let redis = RedisServer::start();
        let pki = Pki::new();
        let (var, value) = store.env();
        let env = [(var, value.as_str())];
        let start = |name| Instance::start_with(name, &redis.url(), &pki, &env).unwrap();
        let (a, b) = (start("a"), start("b"));
        Pair {
            a,
            b,
            pki,
            cookie: String::new(),
            _redis: redis,
        }
    }

    /// Visits the dashboard on `a` for a session cookie.
    async fn visit(mut self) -> Pair {
        let dashboard = self
            .a
            .client(&self.pki)
            .get(self.a.url("/"))
            .send()
            .await
            .unwrap();
        let cookie = dashboard.headers()[SET_COOKIE].to_str().unwrap();
        self.cookie = cookie.split(';').next().unwrap().to_owned();
        self
    }

    fn browser(&self, instance: &Instance) -> Client {
        let headers =
            HeaderMap::from_iter([(COOKIE, HeaderValue::from_str(&self.cookie).unwrap())]);
        let ca = reqwest::Certificate::from_pem(self.pki.ca_pem.as_bytes()).unwrap();
        let client = Client::builder()
            .add_root_certificate(ca)
            .resolve("localhost", instance.addr);
        client.default_headers(headers).build().unwrap()
    }

    /// A listed company and its price now, from `a`.
    async fn listed(&self) -> (String, f64) {
        let url = self.a.url("/api/topics/sector/energy/events");
        let energy: serde_json::Value = common::get_json(&self.browser(&self.a), &url).await;
        let member = &energy["members"][0];
        (
            member["symbol"].as_str().unwrap().to_owned(),
            member["price"].as_f64().unwrap(),
        )
    }
}

/// `POST /api/place_order` on `instance`, as any client sends it.
async fn place(
    client: &Client,
    instance: &Instance,
    key: &str,
    (symbol, side, quantity): (&str, &str, u32),
) -> reqwest::Response {
    client
        .post(instance.url("/api/place_order"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("idempotency-key", key)
        .body(format!("symbol={symbol}&side={side}&quantity={quantity}"))
        .send()
        .await
        .unwrap()
}

/// One ledger for the cluster: a session started on one instance is known to the other, an
/// order on one reaches the portfolio stream on the other, and its key fills once across both.
async fn the_cluster_shares_one_ledger(store: Store) {
    let pair = Pair::start(&store).visit().await;
    let (on_a, on_b) = (pair.browser(&pair.a), pair.browser(&pair.b));
    let mut events = open_url(&on_a, &pair.a.url(PORTFOLIO), None).await;
    let (_, _, _, start) = read_portfolio(&mut events).await;
    let (symbol, _) = pair.listed().await;

    let first = place(&on_b, &pair.b, "across", (&symbol, "Buy", 2)).await;
    let first: Fill = first.json().await.unwrap();
    // Instance a did not take the order; it learns of the fill from the shared ledger.
    let event = next_fill(&mut events, start).await;
    let one = EventId {
        epoch: start.epoch,
        seq: 1,
    };
    assert_eq!((event.event.as_str(), event.id), ("add", one.to_string()));
    let again: Fill = place(&on_a, &pair.a, "across", (&symbol, "Buy", 2))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (first.seq, first.repeated, again.seq, again.repeated),
        (1, false, 1, true)
    );
    let url = pair.b.url(PORTFOLIO);
    let mut on_b_events = open_url(&on_b, &url, Some(&start.to_string())).await;
    let hello: Hello = serde_json::from_str(&next(&mut on_b_events).await.data).unwrap();
    assert_eq!(hello.start, Start::Resumed { replayed: 1 });
}

/// The same `Idempotency-Key` sent to instance a and instance b at the same moment, ten
/// times over (ten keys): each key fills once — both answers name the same fill, one of them
/// marked a repeat — and the ledger holds ten fills, numbered 1 to 10.
async fn one_key_sent_to_two_instances_at_once_fills_once(store: Store) {
    let pair = Pair::start(&store).visit().await;
    let (on_a, on_b) = (pair.browser(&pair.a), pair.browser(&pair.b));
    let mut seqs = Vec::new();
    for n in 0..10 {
        // Listed now: the market delists and lists companies as it runs.
        let (symbol, _) = pair.listed().await;
        let key = format!("twice-{n}");
        let (from_a, from_b) = futures_util::join!(
            place(&on_a, &pair.a, &key, (&symbol, "Buy", 1)),
            place(&on_b, &pair.b, &key, (&symbol, "Buy", 1)),
        );
        let statuses = (from_a.status().as_u16(), from_b.status().as_u16());
        let (a, b) = (from_a.text().await.unwrap(), from_b.text().await.unwrap());
        assert_eq!(statuses, (200, 200), "{key}: {a} / {b}");
        let (a, b): (Fill, Fill) = (
            serde_json::from_str(&a).unwrap(),
            serde_json::from_str(&b).unwrap(),
        );
        assert_eq!(a.seq, b.seq, "{key}: two fills");
        assert!(
            a.repeated != b.repeated,
            "{key}: exactly one is the first ({a:?}, {b:?})"
        );
        seqs.push(a.seq);
    }
    assert_eq!(seqs, (1..=10).collect::<Vec<_>>());
    let snapshot: PortfolioSnapshot = common::get_json(&on_b, &pair.b.url(PORTFOLIO)).await;
    let shares: u32 = snapshot.positions.iter().map(|p| p.quantity).sum();
    assert_eq!((snapshot.id.seq, shares), (10, 10));
}

/// Eight different keys on one account at the same moment, half through each instance, each
/// buying about 40 % of the starting cash: at most two can be afforded, the rest are refused
/// with 422, and the account never goes below zero.
async fn two_keys_at_once_never_overdraw_the_account(store: Store) {
    let pair = Pair::start(&store).visit().await;
    let (on_a, on_b) = (pair.browser(&pair.a), pair.browser(&pair.b));
    let (symbol, price) = pair.listed().await;
    let quantity = ((STARTING as f64 / 100.0) * 0.4 / price).ceil() as u32;
    let orders = (0..8).map(|n| {
        let (client, instance) = if n % 2 == 0 {
            (&on_a, &pair.a)
        } else {
            (&on_b, &pair.b)
        };
        let key = format!("both-{n}");
        let symbol = symbol.clone();
        async move {
            place(client, instance, &key, (&symbol, "Buy", quantity))
                .await
                .status()
        }
    });
    let statuses = futures_util::future::join_all(orders).await;
    let filled = statuses.iter().filter(|s| s.as_u16() == 200).count();
    assert!(
        statuses.iter().all(|s| [200, 422].contains(&s.as_u16())),
        "{statuses:?}"
    );
    let snapshot: PortfolioSnapshot = common::get_json(&on_a, &pair.a.url(PORTFOLIO)).await;
    assert!(snapshot.cash >= 0.0, "overdrawn: {snapshot:?}");
    assert!((1..=2).contains(&filled), "{filled} filled: {statuses:?}");
    assert_eq!(
        snapshot.id.seq, filled as u64,
        "every 200 is one fill, and only they are"
    );
}

/// Two instances migrating a fresh database at the same moment: the advisory lock makes them
/// take turns, both start, and the schema is migrated once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_migrating_at_once_take_turns() {
    let server = PgServer::start();
    let url = server.url();
    let (a, b) = futures_util::join!(
        tickerplex::server::trading::ledger::Ledger::connect(&url, DEFAULT_SESSION_IDLE),
        tickerplex::server::trading::ledger::Ledger::connect(&url, DEFAULT_SESSION_IDLE),
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(server.psql("SELECT count(*) FROM ledger_migrations"), "1");
    let session = Account::new_session().session;
    a.record(&session, "k", order_of("HELIO", Side::Buy, 1), 1_00)
        .await
        .unwrap();
    assert_eq!(b.fills_after(&session, 0).await.unwrap().len(), 1);
}

/// Postgres comes and goes under a cluster of two instances:
/// - down at start, it is waited for (one line naming the variable and the address), and the
///   instance serves once it is up;
/// - killed (`pg_ctl -m immediate`) with a portfolio stream open on b: an order answers 503
///   with `Retry-After` — never 500 — and the dashboard still renders;
/// - back (recovered from its WAL): the same order, retried under the same key, fills once,
///   and the stream on b — which stayed open — shows it as the next fill, no reset.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_comes_and_goes_under_the_cluster() {
    let mut postgres = PgServer::on(free_port());
    let redis = RedisServer::start();
    let pki = Pki::new();
    let env = [("TICKERPLEX_DATABASE_URL", postgres.url())];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let waited = Instance::start_after_line(
        "a",
        &redis.url(),
        &pki,
        &env,
        "waiting for Postgres",
        |line| {
            assert!(line.contains("TICKERPLEX_DATABASE_URL"), "{line}");
            assert!(
                line.contains(&format!("127.0.0.1:{}", postgres.port)),
                "{line}"
            );
            assert!(
                !line.contains(common::postgres::PASSWORD),
                "the password is logged: {line}"
            );
            postgres.restart();
        },
    );
    let a = waited.expect("the instance serves once Postgres is up");
    let b = Instance::start_with("b", &redis.url(), &pki, &env).unwrap();
    let mut pair = Pair {
        a,
        b,
        pki,
        cookie: String::new(),
        _redis: redis,
    }
    .visit()
    .await;
    let (on_a, on_b) = (pair.browser(&pair.a), pair.browser(&pair.b));
    let (symbol, _) = pair.listed().await;
    assert_eq!(
        place(&on_a, &pair.a, "before", (&symbol, "Buy", 1))
            .await
            .status(),
        200
    );
    let mut events = open_url(&on_b, &pair.b.url(PORTFOLIO), None).await;
    let (_, positions, _, start) = read_portfolio(&mut events).await;
    assert_eq!((positions.len(), start.seq), (1, 1));

    postgres.kill();
    let refused = place(&on_a, &pair.a, "during", (&symbol, "Buy", 1)).await;
    assert_eq!(refused.status(), 503);
    let retry_after = refused
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    assert!(
        retry_after.is_some_and(|s| s.parse::<u64>().is_ok()),
        "no Retry-After"
    );
    let text = refused.text().await.unwrap();
    assert!(text.contains("ledger is unavailable"), "{text}");
    let page = on_a.get(pair.a.url("/")).send().await.unwrap();
    assert_eq!(
        page.status(),
        200,
        "the dashboard renders without its ledger"
    );
    page.bytes().await.unwrap();

    postgres.restart();
    let filled = place(&on_a, &pair.a, "during", (&symbol, "Buy", 1)).await;
    assert_eq!(filled.status(), 200);
    let fill: Fill = filled.json().await.unwrap();
    assert_eq!((fill.seq, fill.repeated), (2, false));
    // On b, whose LISTEN connection died with the server and came back by itself.
    let event = next_fill(&mut events, start).await;
    let two = EventId {
        epoch: start.epoch,
        seq: 2,
    };
    assert_eq!(
        (event.event.as_str(), event.id),
        ("update", two.to_string())
    );
    pair.a.kill();
}

/// Orders racing a crash: forty orders (forty keys, one account) in flight when Postgres is
/// killed. Each answer is 200 or 503, never 500. After the restart every key is sent again:
/// each fills exactly once — a key answered 200 before the crash answers with that same fill,
/// marked a repeat; a key answered 503 may or may not have committed (Postgres can commit and
/// die before its answer leaves: the server cannot know), and its retry says which — and the
/// account's fills are numbered 1 to 40 without a gap or a double.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_racing_a_crash_fill_once_each() {
    let store = Store::postgres();
    let server = TestServer::builder().store(&store).start().await;
    let mut store = store;
    let client = browser(&server, &visit(&server).await);
    let symbol = listed(&server, &client).await;
    let keys: Vec<String> = (0..40).map(|n| format!("crash-{n}")).collect();
    let (first_answer, answered) = tokio::sync::oneshot::channel::<()>();
    let first_answer = std::sync::Mutex::new(Some(first_answer));
    let orders = keys.iter().map(|key| {
        let (server, client, symbol, first_answer) = (&server, &client, &symbol, &first_answer);
        async move {
            let response = order(server, client, key, (symbol, "Buy", 1)).await;
            if let Some(tell) = first_answer.lock().unwrap().take() {
                let _ = tell.send(());
            }
            let status = response.status().as_u16();
            let fill = match status {
                200 => Some(response.json::<Fill>().await.unwrap()),
                _ => None,
            };
            (key.clone(), status, fill)
        }
    });
    let crash = async {
        answered.await.unwrap();
        store.postgres_server().kill();
    };
    let (outcomes, ()) = futures_util::join!(futures_util::future::join_all(orders), crash);
    for (key, status, _) in &outcomes {
        assert!([200, 503].contains(status), "{key}: {status}");
    }
    store.postgres_server().restart();
    let mut seqs = Vec::new();
    for (key, status, before) in outcomes {
        let response = order(&server, &client, &key, (&symbol, "Buy", 1)).await;
        assert_eq!(response.status(), 200, "{key} after the restart");
        let fill: Fill = response.json().await.unwrap();
        if let Some(before) = before {
            assert_eq!(
                (fill.seq, fill.repeated),
                (before.seq, true),
                "{key} filled twice"
            );
        }
        // A 200 was committed, so its retry is a repeat. A 503 proves nothing either way: the
        // commit may have reached the disk with the answer lost in the crash, and then the
        // retry is a repeat too (the doc above) — asserting "503 ⇒ new fill" failed whenever
        // the kill fell between a commit and its reply.
        if status == 200 {
            assert!(
                fill.repeated,
                "{key}: a 200 whose fill the ledger does not hold"
            );
        }
        seqs.push(fill.seq);
    }
    seqs.sort();
    assert_eq!(seqs, (1..=40).collect::<Vec<_>>());
}

/// What no wait fixes fails the start at once, with one line naming the variable, never the
/// password: a URL that does not parse, a wrong password, TLS the server does not offer
/// (`sslmode=require` is honoured, not downgraded).
#[test]
fn a_misconfigured_ledger_fails_the_start_with_one_line() {
    let postgres = PgServer::start();
    let redis = RedisServer::start();
    let pki = Pki::new();
    let wrong_password = postgres
        .url()
        .replace(common::postgres::PASSWORD, "hunter2-wrong");
    let require_tls = format!("{}?sslmode=require", postgres.url());
    for (url, says) in [
        (
            "postgres://u:hunter2@127.0.0.1:notaport/db".to_owned(),
            "is not a Postgres URL",
        ),
        (wrong_password, "password authentication failed"),
        (require_tls, "TLS"),
    ] {
        let env = [("TICKERPLEX_DATABASE_URL", url.as_str())];
        let output = match Instance::start_with("x", &redis.url(), &pki, &env) {
            Ok(_) => panic!("started with {url}"),
            Err(output) => output,
        };
        let errors: Vec<&str> = output.lines().filter(|l| l.contains("ERROR")).collect();
        assert_eq!(errors.len(), 1, "{output}");
        assert!(errors[0].contains("TICKERPLEX_DATABASE_URL"), "{output}");
        assert!(errors[0].contains(says), "{url}: {output}");
        assert!(
            !output.contains("hunter2"),
            "the password is logged: {output}"
        );
        assert!(
            !output.contains(common::postgres::PASSWORD),
            "the password is logged: {output}"
        );
    }
}
