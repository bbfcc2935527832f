//! The portfolio's hard cases over real TLS and HTTP/2: an order whose answer was lost fills
//! once when retried, a restart keeps the portfolio and resumes its stream without a reset, and
//! the instances of a cluster share one ledger.

mod common;

use common::events::{next, open_url};
use common::portfolio::*;
use common::TestServer;
use reqwest::header::{HeaderMap, HeaderValue, COOKIE, SET_COOKIE};
use reqwest::Client;
use tickerplex::model::{EventId, Fill, Hello, PortfolioSnapshot, Start};

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

/// One ledger for the cluster: a session started on one instance is known to the other, an
/// order on one reaches the portfolio stream on the other, and its key fills once across both.
#[tokio::test]
async fn the_cluster_shares_one_ledger() {
    use common::cluster::{Instance, Pki, RedisServer};
    let redis = RedisServer::start();
    let pki = Pki::new();
    let (a, b) = (
        Instance::start("a", &redis.url(), &pki),
        Instance::start("b", &redis.url(), &pki),
    );
    let dashboard = a.client(&pki).get(a.url("/")).send().await.unwrap();
    let cookie = dashboard.headers()[SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let browser = |instance: &Instance| {
        let headers = HeaderMap::from_iter([(COOKIE, HeaderValue::from_str(&cookie).unwrap())]);
        let ca = reqwest::Certificate::from_pem(pki.ca_pem.as_bytes()).unwrap();
        let client = Client::builder()
            .add_root_certificate(ca)
            .resolve("localhost", instance.addr);
        client.default_headers(headers).build().unwrap()
    };
    let (on_a, on_b) = (browser(&a), browser(&b));
    let mut events = open_url(&on_a, &a.url(PORTFOLIO), None).await;
    let (_, _, _, start) = read_portfolio(&mut events).await;

    let energy: serde_json::Value = on_b
        .get(b.url("/api/topics/sector/energy/events"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let symbol = energy["members"][0]["symbol"].as_str().unwrap();
    let form = format!("symbol={symbol}&side=Buy&quantity=2");
    let place = |client: &Client, instance: &Instance| {
        let request = client
            .post(instance.url("/api/place_order"))
            .header("content-type", "application/x-www-form-urlencoded");
        request
            .header("idempotency-key", "across")
            .body(form.clone())
            .send()
    };
    let first: Fill = place(&on_b, &b).await.unwrap().json().await.unwrap();
    // Instance a did not take the order; it learns of the fill from the shared ledger.
    let event = next_fill(&mut events).await;
    assert_eq!(
        (event.event.as_str(), event.id),
        (
            "add",
            EventId {
                epoch: start.epoch,
                seq: 1
            }
            .to_string()
        )
    );
    let again: Fill = place(&on_a, &a).await.unwrap().json().await.unwrap();
    assert_eq!(
        (first.seq, first.repeated, again.seq, again.repeated),
        (1, false, 1, true)
    );
    let mut on_b_events = open_url(&on_b, &b.url(PORTFOLIO), Some(&start.to_string())).await;
    let hello: Hello = serde_json::from_str(&next(&mut on_b_events).await.data).unwrap();
    assert_eq!(hello.start, Start::Resumed { replayed: 1 });
}
