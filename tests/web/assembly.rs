//! The parts only a whole server has, started through the library's one entry point
//! (`Server::build` + `Server::serve`, as `main.rs` does): the feed task on its own clock, the
//! `bench` topic's publisher, the HTTP/1.1-only listener, and the drill that talks to the feed.

use crate::common;

use common::events::*;
use common::TestServer;
use reqwest::Version;
use std::collections::BTreeSet;
use std::time::Duration;
use tickerplex::model::{EventId, Symbol, TopicName};
use tickerplex::server::demo::bench::Tick;

async fn members(server: &TestServer, topic: &TopicName) -> BTreeSet<Symbol> {
    let snapshot = server.topics.get(topic).unwrap().snapshot().await.unwrap();
    snapshot.members.into_iter().map(|q| q.symbol).collect()
}

/// With a clock, the feed task moves the market by itself: a subscriber gets live `update`s
/// after its snapshot, numbered on from the snapshot's id, with nobody stepping the market.
#[tokio::test]
async fn the_feed_task_ticks_the_market_on_its_own_clock() {
    let server = TestServer::builder()
        .ticking(Duration::from_millis(20))
        .start()
        .await;
    let client = server.client().build().unwrap();
    let mut events = open(&server, &client, "movers", None).await;
    let (_, synced) = read_snapshot(&mut events).await;

    let mut expected = synced.seq + 1;
    for _ in 0..5 {
        let event = next(&mut events).await;
        let id = EventId::parse(&event.id).unwrap();
        assert_eq!(
            id.seq, expected,
            "live events continue the snapshot's numbering"
        );
        expected += 1;
    }
}

/// In bench mode the `bench` topic exists and its publisher sends numbered ticks, in order,
/// each carrying the tick number the load generator counts losses with.
#[tokio::test]
async fn the_bench_topic_publishes_numbered_ticks() {
    let server = TestServer::builder().bench(200.0).start().await;
    let client = server.client().build().unwrap();
    let mut events = open(&server, &client, "bench", None).await;
    read_snapshot(&mut events).await;

    let mut ticks = Vec::new();
    while ticks.len() < 5 {
        let event = next(&mut events).await;
        assert_eq!(event.event, "update");
        ticks.push(serde_json::from_str::<Tick>(&event.data).unwrap().n);
    }
    assert!(
        ticks.windows(2).all(|pair| pair[1] == pair[0] + 1),
        "consecutive ticks: {ticks:?}"
    );
}

/// Without bench mode there is no `bench` topic: 404, as for any unknown topic.
#[tokio::test]
async fn without_bench_mode_there_is_no_bench_topic() {
    let server = TestServer::start().await;
    let client = server.client().build().unwrap();
    let response = client
        .get(server.url("/api/topics/bench/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}

/// The starvation demo's listener answers the same app, but only over HTTP/1.1, even to a
/// client that offers HTTP/2 — while the main listener negotiates HTTP/2 with the same client.
#[tokio::test]
async fn the_http1_listener_refuses_to_speak_http2() {
    let server = TestServer::start().await;
    let client = server.client().build().unwrap();

    let main = client.get(server.url("/api/topics")).send().await.unwrap();
    assert_eq!(main.version(), Version::HTTP_2);
    let http1 = client
        .get(server.http1_url("/api/topics"))
        .send()
        .await
        .unwrap();
    assert_eq!(http1.status(), 200);
    assert_eq!(http1.version(), Version::HTTP_11);
}

/// The rotate-watchlist drill reaches the feed task: when it answers, the watchlist has lost
/// exactly one member and gained exactly one, and still holds ten.
#[tokio::test]
async fn the_rotate_watchlist_drill_swaps_one_member() {
    let server = TestServer::start().await;
    let client = server.client().build().unwrap();
    let before = members(&server, &TopicName::Watchlist).await;

    let (status, message) = server.drill(&client, "rotate-watchlist").await;
    assert_eq!(status, 200, "{message}");

    let after = members(&server, &TopicName::Watchlist).await;
    assert_eq!(after.len(), before.len());
    assert_eq!(
        before.difference(&after).count(),
        1,
        "one left: {before:?} -> {after:?}"
    );
    assert_eq!(
        after.difference(&before).count(),
        1,
        "one joined: {before:?} -> {after:?}"
    );
}
