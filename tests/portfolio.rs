//! The portfolio over real TLS and HTTP/2: sessions from the dashboard only, a private stream
//! that only its own session reads, and fills that reach it with ids and resume exactly. (The
//! hard cases — a lost answer, a restart, a cluster — are in `portfolio_once.rs`.)

mod common;

use common::events::{next, open_url};
use common::portfolio::*;
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

/// No session, a forged one, or another URL: 401 or 404, never someone's portfolio; the topic
/// is not in the catalogue and never answers another origin.
#[tokio::test]
async fn the_portfolio_is_private() {
    let server = TestServer::start().await;
    let anonymous = server.client().build().unwrap();
    let forged = browser(&server, &format!("tickerplex_session={}", "ab".repeat(16)));
    for client in [&anonymous, &forged] {
        for accept in ["text/event-stream", "application/json"] {
            let response = client
                .get(server.url(PORTFOLIO))
                .header("accept", accept)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 401, "{accept}");
        }
        let symbol = listed(&server, client).await;
        assert_eq!(
            order(&server, client, "k", (&symbol, "Buy", 1))
                .await
                .status(),
            401
        );
    }
    let topics: Vec<String> = anonymous
        .get(server.url("/api/topics"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
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
#[tokio::test]
async fn fills_reach_the_stream_and_resume_exactly() {
    let server = TestServer::start().await;
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
    let mut live = Vec::new();
    for _ in 0..3 {
        let event = next_fill(&mut events).await;
        live.push((event.event.clone(), EventId::parse(&event.id).unwrap()));
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
    let snapshot: PortfolioSnapshot = client
        .get(server.url(PORTFOLIO))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
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
    let replay = [next_fill(&mut resumed).await, next_fill(&mut resumed).await];
    assert_eq!(
        replay.map(|e| (e.event, e.id)),
        [
            ("update".into(), expected(2).to_string()),
            ("remove".into(), expected(3).to_string())
        ]
    );
}
