//! The portfolio over real TLS and HTTP/2: sessions from the dashboard only, a private stream
//! that only its own session reads, fills that reach it with ids and resume exactly, an order
//! retried after its answer was lost that fills once, and a portfolio that survives a restart.

mod common;

use common::events::{next, open_url, Events};
use common::TestServer;
use reqwest::header::{HeaderMap, HeaderValue, COOKIE, SET_COOKIE};
use reqwest::Client;
use tickerplex::model::{EventId, Fill, Hello, PortfolioSnapshot, Position, Start, Sync};

const PORTFOLIO: &str = "/api/portfolio/events";

/// Visits the dashboard and returns the session cookie it set (`name=value`).
async fn visit(server: &TestServer) -> String {
    let client = server.client().build().unwrap();
    let response = client.get(server.url("/")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let cookie = response.headers()[SET_COOKIE].to_str().unwrap();
    cookie.split(';').next().unwrap().to_owned()
}

/// A client that sends `cookie` with every request, as the session's browser does.
fn browser(server: &TestServer, cookie: &str) -> Client {
    let headers = HeaderMap::from_iter([(COOKIE, HeaderValue::from_str(cookie).unwrap())]);
    server.client().default_headers(headers).build().unwrap()
}

/// A listed company (the first member of the energy sector).
async fn listed(server: &TestServer, client: &Client) -> String {
    let url = server.url("/api/topics/sector/energy/events");
    let snapshot: serde_json::Value = client
        .get(url)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    snapshot["members"][0]["symbol"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// `POST /api/place_order`, as any client would send it.
async fn order(
    server: &TestServer,
    client: &Client,
    key: &str,
    (symbol, side, quantity): (&str, &str, u32),
) -> reqwest::Response {
    let form = format!("symbol={symbol}&side={side}&quantity={quantity}");
    client
        .post(server.url("/api/place_order"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("idempotency-key", key)
        .body(form)
        .send()
        .await
        .unwrap()
}

/// `hello`, then the snapshot: the hello, the positions, and the `sync` (cash, id).
async fn read_portfolio(events: &mut Events) -> (Hello, Vec<Position>, Sync, EventId) {
    let hello = next(events).await;
    assert_eq!(hello.event, "hello");
    let hello: Hello = serde_json::from_str(&hello.data).unwrap();
    let mut positions = Vec::new();
    loop {
        let event = next(events).await;
        match event.event.as_str() {
            "reset" => continue,
            "add" => positions.push(serde_json::from_str(&event.data).unwrap()),
            "sync" => {
                let id = EventId::parse(&event.id).unwrap();
                return (
                    hello,
                    positions,
                    serde_json::from_str(&event.data).unwrap(),
                    id,
                );
            }
            other => panic!("unexpected {other} in the snapshot"),
        }
    }
}

/// The next event that carries an id (a fill), skipping id-less price moves.
async fn next_fill(events: &mut Events) -> eventsource_stream::Event {
    loop {
        let event = next(events).await;
        if !event.id.is_empty() {
            return event;
        }
        assert_eq!(event.event, "update", "only price moves come without an id");
    }
}

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
#[tokio::test]
async fn an_order_whose_answer_was_lost_fills_once_when_retried() {
    let server = TestServer::start().await;
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
    let snapshot: PortfolioSnapshot = client
        .get(server.url(PORTFOLIO))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(snapshot.id.seq, 1, "one fill in the ledger");
    assert_eq!(snapshot.positions[0].quantity, 4);
    // The same key for a different order is refused, not filled.
    assert_eq!(
        order(&server, &client, "retry-me", (&symbol, "Buy", 5))
            .await
            .status(),
        422
    );
}

/// A restart keeps the portfolio (the ledger is a file) and its ids: the stream resumes from
/// the old server's last id with nothing to replay and no reset.
#[tokio::test]
async fn the_portfolio_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger.db");
    let first = TestServer::start_with_ledger(&ledger).await;
    let cookie = visit(&first).await;
    let client = browser(&first, &cookie);
    let symbol = listed(&first, &client).await;
    assert_eq!(
        order(&first, &client, "before", (&symbol, "Buy", 6))
            .await
            .status(),
        200
    );
    let snapshot = |server: &TestServer, client: &Client| {
        let request = client
            .get(server.url(PORTFOLIO))
            .header("accept", "application/json");
        async move {
            request
                .send()
                .await
                .unwrap()
                .json::<PortfolioSnapshot>()
                .await
                .unwrap()
        }
    };
    let before = snapshot(&first, &client).await;
    first.shutdown.begin();
    first.task.await.unwrap();

    let second = TestServer::start_with_ledger(&ledger).await;
    let client = browser(&second, &cookie);
    let after = snapshot(&second, &client).await;
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
    let mut events = open_url(
        &client,
        &second.url(PORTFOLIO),
        Some(&before.id.to_string()),
    )
    .await;
    let hello: Hello = serde_json::from_str(&next(&mut events).await.data).unwrap();
    assert_eq!(hello.start, Start::Resumed { replayed: 0 });
}
