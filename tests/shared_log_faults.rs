//! The shared event log (Redis Streams) when Redis itself fails, with every part real: Debian's
//! `redis-server` and the tickerplex binary as child processes.
//! - Redis going away mid-stream ends streams the SSE way, and the instance recovers alone;
//! - an unreachable Redis at start is one line naming the variable and the address.

mod common;

use common::cluster::{free_port, Instance, Pki, RedisServer};
use common::events::{next, Events};
use common::follow::id;
use eventsource_stream::Event;
use futures_util::StreamExt;
use std::time::Duration;
use tickerplex::model::{EventId, Hello, ResetReason, Start};

const TOPIC: &str = "watchlist";

fn events_url(instance: &Instance) -> String {
    instance.url(&format!("/api/topics/{TOPIC}/events"))
}

/// Redis is killed under an open stream: the stream ends with a `retry:` and the reason; new
/// streams get the same answer (200, so EventSource retries), JSON gets 503 + Retry-After, the
/// page still renders, and `/api/stats` says the log is down. Redis comes back (from its AOF):
/// the instance reconnects by itself, and a client resuming then is told the epoch changed.
#[tokio::test]
async fn losing_redis_ends_streams_the_sse_way_and_the_instance_recovers() {
    let mut redis = RedisServer::start();
    let pki = Pki::new();
    let a = Instance::start("a", &redis.url(), &pki);
    let client = a.client(&pki);
    let response = client
        .get(events_url(&a))
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    let mut body = response.bytes_stream();
    let first = body.next().await.unwrap().unwrap();
    let last = String::from_utf8_lossy(&first)
        .lines()
        .filter_map(|line| line.strip_prefix("id: "))
        .last()
        .map(str::to_owned)
        .expect("the snapshot's sync has an id");

    redis.kill();
    let mut rest = String::new();
    while let Some(chunk) = tokio::time::timeout(Duration::from_secs(10), body.next())
        .await
        .expect("the stream ends when Redis goes")
    {
        rest.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
    }
    assert!(
        rest.contains("\nretry: ") || rest.starts_with("retry: "),
        "{rest}"
    );
    assert!(rest.contains(": the event log is unavailable"), "{rest}");

    let stream = client
        .get(events_url(&a))
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(
        stream.status(),
        200,
        "EventSource gives up for good on anything else"
    );
    let text = stream.text().await.unwrap();
    assert!(
        text.starts_with("retry: ") && text.contains("unavailable"),
        "{text}"
    );
    let json = client
        .get(events_url(&a))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(json.status(), 503);
    assert!(json.headers().contains_key("retry-after"));
    let page = client.get(a.url("/")).send().await.unwrap();
    assert_eq!(page.status(), 200, "the page renders without the log");
    let stats: serde_json::Value = client
        .get(a.url("/api/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["log"]["backend"], "redis");
    assert_eq!(stats["log"]["healthy"], false);

    redis.restart();
    // Reconnect as EventSource does, after the `retry:` the server gave, until the log answers
    // with a live stream and the publisher has started the new epoch.
    let old = EventId::parse(&last).unwrap();
    for _ in 0..30 {
        let mut events = a.open(&pki, TOPIC, Some(&last)).await;
        let hello = tokio::time::timeout(Duration::from_secs(10), events.next())
            .await
            .unwrap();
        if let Some(hello) = hello {
            let hello: Hello = serde_json::from_str(&hello.data).unwrap();
            if hello.start
                == (Start::Reset {
                    reason: ResetReason::OtherEpoch,
                })
            {
                let (_, from) = read_start_after_hello(&mut events).await;
                let event = next(&mut events).await;
                assert!(id(&event).epoch > old.epoch && from.epoch > old.epoch);
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await; // the retry the answer asked for, shortened
    }
    panic!("the instance did not recover after Redis came back");
}

/// The rest of a reset start: the snapshot up to `sync`.
async fn read_start_after_hello(events: &mut Events) -> (Vec<Event>, EventId) {
    let mut before = Vec::new();
    loop {
        let event = next(events).await;
        if event.event == "sync" {
            let at = id(&event);
            return (before, at);
        }
        before.push(event);
    }
}

/// Redis unreachable at start: the process exits, printing one error line that names
/// `TICKERPLEX_REDIS_URL` and the address it tried.
#[test]
fn an_unreachable_redis_fails_the_start_with_one_line_naming_the_variable() {
    let pki = Pki::new();
    let port = free_port();
    let url = format!("redis://127.0.0.1:{port}/0");
    let output = match Instance::start_with("x", &url, &pki, &[]) {
        Ok(_) => panic!("started without Redis"),
        Err(output) => output,
    };
    let errors: Vec<&str> = output.lines().filter(|l| l.contains("ERROR")).collect();
    assert_eq!(errors.len(), 1, "{output}");
    assert!(errors[0].contains("TICKERPLEX_REDIS_URL"), "{output}");
    assert!(errors[0].contains(&format!("127.0.0.1:{port}")), "{output}");
}
