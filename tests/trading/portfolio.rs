//! The portfolio over real TLS and HTTP/2: sessions from the dashboard only, a private stream
//! that only its own session reads, and fills that reach it with ids and resume exactly. (The
//! hard cases — a lost answer, a restart, a cluster, each on both backends — are in `ledger.rs`.)
//!
//! Past 300 lines as one concept: the private stream as a browser meets it, from the first
//! visit to an exact resume.

use crate::common;

use common::events::{next, open_url};
use common::portfolio::*;
use common::postgres::{on_both_backends, Store};
use common::TestServer;
use reqwest::header::SET_COOKIE;
use reqwest::Client;
use tickerplex::model::{EventId, Fill, Hello, PortfolioSnapshot, Start};

/// Only a visit to the dashboard starts a session, and its cookie has every attribute.
#[tokio::test]
async fn a_session_starts_on_a_dashboard_visit_only() {
    let server = TestServer::start().await;
    let client = server.client().build().unwrap();
    let response = client.get(server.url("/")).send().await.unwrap();
    let cookie = response.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    let value = cookie
        .split(';')
        .next()
        .unwrap()
        .strip_prefix("tickerplex_session=")
        .unwrap();
    assert_eq!(value.len(), 32, "128 bits as hex: {cookie}");
    for attribute in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/"] {
        assert!(
            cookie.split("; ").any(|a| a == attribute),
            "{attribute} in {cookie}"
        );
    }
    for path in [
        "/api/topics",
        "/api/topics/watchlist/events",
        "/embed/watchlist",
        "/api/stats",
    ] {
        let response = client
            .get(server.url(path))
            .header("accept", "application/json")
            .send()
            .await
            .unwrap();
        assert!(
            response.headers().get(SET_COOKIE).is_none(),
            "{path} set a cookie"
        );
    }
    // A second visit with the cookie keeps the session (the same id, renewed).
    let again = browser(&server, cookie.split(';').next().unwrap())
        .get(server.url("/"))
        .send()
        .await
        .unwrap();
    assert!(again.headers()[SET_COOKIE]
        .to_str()
        .unwrap()
        .starts_with(cookie.split(';').next().unwrap()));
}

// The ledger's behaviour through the server, on the embedded SQLite file and on a Postgres.
on_both_backends!(
    the_portfolio_is_private,
    fills_reach_the_stream_and_resume_exactly
);

/// No session, or another URL: 401 or 404, never someone's portfolio; the topic is not in the
/// catalogue and never answers another origin. An id the server never handed out is just
/// another empty account (sessions are lazy: an id has no row until its first order), and it
/// shows nothing of the session that did order.
async fn the_portfolio_is_private(store: Store) {
    let server = TestServer::builder().store(&store).start().await;
    let anonymous = server.client().build().unwrap();
    for accept in ["text/event-stream", "application/json"] {
        let response = anonymous
            .get(server.url(PORTFOLIO))
            .header("accept", accept)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{accept}");
    }
    let symbol = listed(&server, &anonymous).await;
    let refused = order(&server, &anonymous, "k", (&symbol, "Buy", 1)).await;
    assert_eq!(refused.status(), 401);

    let owner = browser(&server, &visit(&server).await);
    assert!(order(&server, &owner, "k", (&symbol, "Buy", 1))
        .await
        .status()
        .is_success());
    let forged = browser(&server, &format!("tickerplex_session={}", "ab".repeat(16)));
    let theirs: PortfolioSnapshot = common::get_json(&forged, &server.url(PORTFOLIO)).await;
    assert!(theirs.positions.is_empty(), "{theirs:?}");
    assert_eq!(theirs.id.seq, 0, "no fills");
    let topics: Vec<String> = common::get_json(&anonymous, &server.url("/api/topics")).await;
    assert!(
        !topics.iter().any(|t| t.contains("portfolio")),
        "{topics:?}"
    );
    let by_topic_url = anonymous
        .get(server.url("/api/topics/portfolio/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(by_topic_url.status(), 404);

    // Two sessions: each sees its own, and no CORS header lets another site read either.
    let (alice, bob) = (
        browser(&server, &visit(&server).await),
        browser(&server, &visit(&server).await),
    );
    let symbol = listed(&server, &alice).await;
    assert_eq!(
        order(&server, &alice, "a1", (&symbol, "Buy", 7))
            .await
            .status(),
        200
    );
    let snapshot = |client: Client| {
        let url = server.url(PORTFOLIO);
        async move {
            let response = client
                .get(url)
                .header("accept", "application/json")
                .header("origin", "https://evil.example")
                .send()
                .await
                .unwrap();
            assert!(response
                .headers()
                .get("access-control-allow-origin")
                .is_none());
            response.json::<PortfolioSnapshot>().await.unwrap()
        }
    };
    assert_eq!(snapshot(alice).await.positions.len(), 1);
    assert_eq!(snapshot(bob).await.positions, vec![]);
}

/// Fills reach the open stream as `add`, `update`, `remove` with contiguous ids; a reconnect
/// from an earlier id gets exactly the fills after it, and the cash adds up.
async fn fills_reach_the_stream_and_resume_exactly(store: Store) {
    let server = TestServer::builder().store(&store).start().await;
    let client = browser(&server, &visit(&server).await);
    let symbol = listed(&server, &client).await;
    let mut events = open_url(&client, &server.url(PORTFOLIO), None).await;
    let (hello, positions, sync, start) = read_portfolio(&mut events).await;
    assert_eq!(
        (hello.start, positions.len(), sync.cash, start.seq),
        (Start::Fresh, 0, Some(100_000.0), 0)
    );

    let mut fills = Vec::new();
    for (key, side, quantity) in [("1", "Buy", 5), ("2", "Buy", 3), ("3", "Sell", 8)] {
        let response = order(&server, &client, key, (&symbol, side, quantity)).await;
        assert_eq!(response.status(), 200);
        fills.push(response.json::<Fill>().await.unwrap());
    }
    let (mut live, mut last) = (Vec::new(), start);
    for _ in 0..3 {
        let event = next_fill(&mut events, last).await;
        last = EventId::parse(&event.id).unwrap();
        live.push((event.event.clone(), last));
    }
    let expected = |seq| EventId {
        epoch: start.epoch,
        seq,
    };
    assert_eq!(
        live,
        [
            ("add".into(), expected(1)),
            ("update".into(), expected(2)),
            ("remove".into(), expected(3))
        ]
    );
    // Cash: 100 000 − both buys + the sale, to the cent.
    let spent: f64 = fills
        .iter()
        .map(|f| {
            if f.side == tickerplex::model::Side::Buy {
                -f.total
            } else {
                f.total
            }
        })
        .sum();
    let snapshot: PortfolioSnapshot = common::get_json(&client, &server.url(PORTFOLIO)).await;
    assert!(
        (snapshot.cash - (100_000.0 + spent)).abs() < 0.005,
        "{} vs {spent}",
        snapshot.cash
    );
    assert_eq!((snapshot.id, snapshot.positions.len()), (expected(3), 0));

    // Back from id 1: exactly fills 2 and 3, then nothing repeated.
    let mut resumed = open_url(
        &client,
        &server.url(PORTFOLIO),
        Some(&expected(1).to_string()),
    )
    .await;
    let hello: Hello = serde_json::from_str(&next(&mut resumed).await.data).unwrap();
    assert_eq!(hello.start, Start::Resumed { replayed: 2 });
    let replayed_first = next_fill(&mut resumed, expected(1)).await;
    let replay = [replayed_first, next_fill(&mut resumed, expected(2)).await];
    assert_eq!(
        replay.map(|e| (e.event, e.id)),
        [
            ("update".into(), expected(2).to_string()),
            ("remove".into(), expected(3).to_string())
        ]
    );
}

/// No row per visitor: 10,000 visits to the dashboard without a cookie (a crawler), then 1,000
/// that do what the page's script does with its new cookie — open the portfolio stream and
/// read its snapshot, ask for it as JSON, revisit — write nothing to the ledger: no session
/// row, and neither the database file nor its write-ahead log grows or changes (no write, so
/// no fsync). The first order of one of them writes exactly one row.
#[tokio::test]
async fn visits_write_nothing_to_the_ledger_until_an_order() {
    use futures_util::StreamExt;
    let store = Store::sqlite();
    let server = TestServer::builder().store(&store).start().await;
    let ledger = store
        .open(tickerplex::server::trading::ledger::DEFAULT_SESSION_IDLE)
        .await;
    let file = std::path::PathBuf::from(store.env().1);
    let files_now = || {
        let wal = file.with_extension("db-wal");
        [file.clone(), wal].map(|path| {
            std::fs::metadata(&path)
                .map(|m| (m.len(), m.modified().unwrap()))
                .ok()
        })
    };
    let before = files_now();

    // The crawler asks for the one-widget dashboard: the same route and the same session
    // middleware as `/` (which is what decides whether a visit writes), at a tenth of the
    // rendering — 10,000 full dashboards take two minutes of a debug build's CPU.
    let crawler = server.client().build().unwrap();
    let visits = futures_util::stream::iter(0..10_000)
        .map(|_| {
            let (crawler, url) = (crawler.clone(), server.url("/?widgets=watchlist"));
            async move {
                let response = crawler.get(url).send().await.unwrap();
                assert_eq!(response.status(), 200);
                assert!(response.headers().contains_key(SET_COOKIE));
                // Read to the end, as a crawler does (a body dropped half-read is a reset
                // stream, and an h2 client closes a connection that resets too many).
                response.bytes().await.unwrap();
            }
        })
        .buffer_unordered(32)
        .count()
        .await;
    assert_eq!(visits, 10_000);

    let mut cookies = Vec::new();
    let scripted = futures_util::stream::iter(0..1_000)
        .map(|_| async {
            let cookie = visit(&server).await;
            let page = browser(&server, &cookie);
            let mut events = open_url(&page, &server.url(PORTFOLIO), None).await;
            let (_, positions, _, _) = read_portfolio(&mut events).await;
            assert!(positions.is_empty());
            let snapshot: PortfolioSnapshot = common::get_json(&page, &server.url(PORTFOLIO)).await;
            assert_eq!(snapshot.id.seq, 0);
            let again = page.get(server.url("/")).send().await.unwrap();
            assert_eq!(again.status(), 200);
            again.bytes().await.unwrap();
            cookie
        })
        .buffer_unordered(16);
    futures_util::pin_mut!(scripted);
    while let Some(cookie) = scripted.next().await {
        cookies.push(cookie);
    }
    assert_eq!(cookies.len(), 1_000);
    assert_eq!(ledger.recorded_sessions().await, Ok(0), "a row per visitor");
    assert_eq!(files_now(), before, "the ledger's files were written");

    let buyer = browser(&server, &cookies[0]);
    let symbol = listed(&server, &buyer).await;
    let filled = order(&server, &buyer, "first", (&symbol, "Buy", 1)).await;
    assert_eq!(filled.status(), 200);
    assert_eq!(ledger.recorded_sessions().await, Ok(1));
}
