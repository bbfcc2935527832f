//! The metrics listener: Prometheus's own checker accepts its page, each counter moves by
//! exactly what the test did, and the public origin does not serve it.
//!
//! One test in this file on purpose: the counters are the process's, so a test running beside
//! it in the same binary would move them too.

mod common;

use common::events::{next, open, read_snapshot};
use common::portfolio::{browser, listed, order, visit};
use common::TestServer;
use std::collections::HashMap;
use std::io::Write;
use std::process::{Command, Stdio};
use tickerplex::model::{Hello, Start, TopicName};

/// The metrics page, as Prometheus would scrape it: plain HTTP on the metrics listener.
async fn scrape(server: &TestServer) -> String {
    let url = format!("http://{}/metrics", server.metrics_addr);
    let response = reqwest::get(url).await.unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    response.text().await.unwrap()
}

/// `name{labels}` → value, for every sample line, with the `server` label every line carries
/// checked and left out of the key.
fn samples(page: &str, server: &str) -> HashMap<String, f64> {
    let own = format!("server=\"{server}\"");
    page.lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .map(|line| {
            let (key, value) = line.rsplit_once(' ').unwrap();
            assert!(key.contains(&own), "every sample names its server: {line}");
            let key = key
                .replace(&format!(",{own}"), "")
                .replace(&format!("{own},"), "")
                .replace(&format!("{{{own}}}"), "");
            (key, value.parse().unwrap())
        })
        .collect()
}

/// `promtool check metrics` (Debian's prometheus package; scripts/setup installs it) on `page`.
fn promtool_check(page: &str) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool runs (scripts/setup installs it: apt-get install prometheus)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(page.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let said = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "promtool check metrics:\n{said}\n{page}"
    );
}

/// Each counter moves by exactly what happened: a fresh stream, the events it received live, a
/// resume, a reset, and three orders (filled, repeated, rejected).
#[tokio::test]
async fn every_counter_moves_by_exactly_what_happened() {
    let server = TestServer::start().await;
    let client = server.client().build().unwrap();
    let instance = server.stats(&client).await.instance;
    let before_page = scrape(&server).await;
    promtool_check(&before_page);
    let before = samples(&before_page, &instance);
    let moved = |after: &HashMap<String, f64>, key: &str| {
        after.get(key).copied().unwrap_or(0.0) - before.get(key).copied().unwrap_or(0.0)
    };

    // A fresh stream, then ten ticks of the market, all of which it receives live.
    let watchlist = TopicName::Watchlist;
    let published_from = server.current_id(&watchlist);
    let mut events = open(&server, &client, "watchlist", None).await;
    let (_, synced) = read_snapshot(&mut events).await;
    let open_now = samples(&scrape(&server).await, &instance);
    assert_eq!(open_now["tickerplex_streams_open"], 1.0);
    assert_eq!(
        open_now["tickerplex_topic_subscribers{topic=\"watchlist\"}"],
        1.0
    );
    let last = server.step_until_published(&watchlist, 10).await;
    let live = last.seq - synced.seq;
    for _ in 0..live {
        assert_ne!(next(&mut events).await.event, "hello");
    }
    drop(events);

    // A resume from the snapshot's id, and a reset from another run's id.
    let mut resumed = open(&server, &client, "watchlist", Some(&synced.to_string())).await;
    let hello: Hello = serde_json::from_str(&next(&mut resumed).await.data).unwrap();
    assert_eq!(
        hello.start,
        Start::Resumed {
            replayed: live as usize
        }
    );
    let mut reset = open(&server, &client, "watchlist", Some("1-1")).await;
    let hello: Hello = serde_json::from_str(&next(&mut reset).await.data).unwrap();
    assert!(matches!(hello.start, Start::Reset { .. }));
    drop((resumed, reset));

    // Three orders: filled, the same key again, and one that cannot be afforded.
    let buyer = browser(&server, &visit(&server).await);
    let symbol = listed(&server, &buyer).await;
    assert_eq!(
        order(&server, &buyer, "m1", (&symbol, "Buy", 1))
            .await
            .status(),
        200
    );
    assert_eq!(
        order(&server, &buyer, "m1", (&symbol, "Buy", 1))
            .await
            .status(),
        200
    );
    assert_eq!(
        order(&server, &buyer, "m2", (&symbol, "Buy", 10_000))
            .await
            .status(),
        422
    );

    // The streams' own counts are added when they end: wait until the server has closed them.
    let after = loop {
        let page = scrape(&server).await;
        let after = samples(&page, &instance);
        if after["tickerplex_streams_open"] == 0.0 {
            promtool_check(&page);
            break after;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await; // polling the server's state
    };
    let published = (server.current_id(&watchlist).seq - published_from.seq) as f64;
    assert_eq!(
        moved(
            &after,
            "tickerplex_events_published_total{topic=\"watchlist\"}"
        ),
        published
    );
    assert_eq!(
        moved(&after, "tickerplex_events_delivered_total"),
        live as f64
    );
    assert_eq!(
        moved(
            &after,
            "tickerplex_stream_starts_total{start=\"fresh\",reason=\"none\"}"
        ),
        1.0
    );
    assert_eq!(
        moved(
            &after,
            "tickerplex_stream_starts_total{start=\"replayed\",reason=\"none\"}"
        ),
        1.0
    );
    assert_eq!(
        moved(
            &after,
            "tickerplex_stream_starts_total{start=\"reset\",reason=\"other_epoch\"}"
        ),
        1.0
    );
    for (outcome, count) in [("filled", 1.0), ("repeated", 1.0), ("rejected", 1.0)] {
        assert_eq!(
            moved(
                &after,
                &format!("tickerplex_orders_total{{outcome=\"{outcome}\"}}")
            ),
            count,
            "{outcome}"
        );
    }
    assert!(moved(&after, "tickerplex_stream_bytes_total") > 0.0);
    assert_eq!(after["tickerplex_log_healthy{backend=\"memory\"}"], 1.0);
    // One in eight live events is timed: the first of them always is.
    assert!(
        moved(
            &after,
            "tickerplex_fanout_latency_seconds_count{topic=\"watchlist\"}"
        ) >= 1.0
    );

    // Not on the public origin.
    let public = client.get(server.url("/metrics")).send().await.unwrap();
    assert_eq!(public.status(), 404);
}
