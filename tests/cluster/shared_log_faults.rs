//! The shared event log (Redis Streams) when Redis itself fails, with every part real: Debian's
//! `redis-server` and the tickerplex binary as child processes.
//! - Redis going away mid-stream ends streams the SSE way, and the instance recovers alone;
//! - a Redis that is away or still loading at start is waited for, never a reason to exit;
//! - a malformed `TICKERPLEX_REDIS_URL` is one line naming the variable.

use crate::common;

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
    let stats: serde_json::Value = common::get_json(&client, &a.url("/api/stats")).await;
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

/// `instance` serves the topic: a snapshot, then a live event after it.
async fn expect_live(instance: &Instance, pki: &Pki) {
    let mut events = instance.open(pki, TOPIC, None).await;
    let (_, from) = read_start_after_hello(&mut events).await;
    assert!(
        id(&next(&mut events).await) > from,
        "live after the snapshot"
    );
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

/// A `TICKERPLEX_REDIS_URL` that is not a URL: no wait can fix it, so the process exits at
/// once, printing one error line that names the variable (and not the value, which may hold a
/// password).
#[test]
fn a_malformed_redis_url_fails_the_start_with_one_line_naming_the_variable() {
    let pki = Pki::new();
    let output = match Instance::start_with("x", "redis//secret@nowhere", &pki, &[]) {
        Ok(_) => panic!("started on a malformed URL"),
        Err(output) => output,
    };
    let errors: Vec<&str> = output.lines().filter(|l| l.contains("ERROR")).collect();
    assert_eq!(errors.len(), 1, "{output}");
    assert!(errors[0].contains("TICKERPLEX_REDIS_URL"), "{output}");
    assert!(!output.contains("secret"), "the URL is echoed: {output}");
}

/// An instance started before its Redis (a cluster booting, a host restarting) does not exit:
/// it says it is waiting, naming the variable and the address, and serves once Redis is there.
#[tokio::test]
async fn an_instance_started_before_its_redis_waits_for_it_then_serves() {
    let pki = Pki::new();
    let mut redis = RedisServer::on(free_port());
    let url = redis.url();
    let port = redis.port;
    let a = Instance::start_after_line("a", &url, &pki, &[], "waiting for Redis", |line| {
        assert!(line.contains("TICKERPLEX_REDIS_URL"), "{line}");
        assert!(line.contains(&format!("127.0.0.1:{port}")), "{line}");
        redis.restart();
    })
    .expect("the instance waits, then serves");
    expect_live(&a, &pki).await;
}

/// Redis replaying a large append-only file answers `LOADING` to everything for a while (49 MB
/// took long enough to kill every instance that started meanwhile). An instance started then
/// waits, saying why, and serves the history Redis kept once the replay is done.
#[tokio::test]
async fn an_instance_started_while_redis_replays_its_file_waits_then_serves() {
    let pki = Pki::new();
    let mut redis = RedisServer::start();
    // 20,000 keys, written by one script, rewritten into the file's RDB part (where Redis's
    // `key-load-delay` applies): at 200 µs a key the replay takes about four seconds.
    redis.cli(&[
        "EVAL",
        "for i = 1, 20000 do redis.call('SET', 'filler:' .. i, i) end",
        "0",
    ]);
    redis.cli(&["BGREWRITEAOF"]);
    while redis
        .cli(&["INFO", "persistence"])
        .contains("aof_rewrite_in_progress:1")
    {
        // Polling Redis's own report of the rewrite: there is nothing to wait on but it.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    redis.restart_loading_slowly(200);
    let a = Instance::start_after_line("a", &redis.url(), &pki, &[], "waiting for Redis", |line| {
        assert!(line.to_lowercase().contains("loading"), "{line}");
    })
    .expect("the instance waits for the replay, then serves");
    assert_eq!(
        redis.cli(&["GET", "filler:20000"]),
        "20000",
        "the file was replayed"
    );
    expect_live(&a, &pki).await;
}

/// Redis frozen (SIGSTOP) for 10 s under an open stream, then thawed: the same Redis run, so
/// nothing resets. The stream ends the SSE way while Redis cannot answer; the client reconnects
/// from its last id as an `EventSource` does, and once Redis answers it resumes: every id it
/// saw, across both streams, one after the other — 0 lost, 0 repeated — in one epoch.
#[tokio::test]
async fn redis_frozen_for_ten_seconds_resumes_streams_with_nothing_lost_or_repeated() {
    let redis = RedisServer::start();
    let pki = Pki::new();
    let a = Instance::start("a", &redis.url(), &pki);
    let mut events = a.open(&pki, TOPIC, None).await;
    let (_, synced) = read_start_after_hello(&mut events).await;
    let mut seen = vec![synced];
    for _ in 0..5 {
        seen.push(id(&next(&mut events).await));
    }

    redis.freeze();
    // What the first stream delivers until it ends (the freeze makes the reader fail within
    // its block and timeout, ~8 s) — read while Redis stays frozen for its 10 s.
    let frozen_for = tokio::time::sleep(Duration::from_secs(10)); // the fault's length, not a wait for an answer
    tokio::pin!(frozen_for);
    loop {
        tokio::select! {
            event = events.next() => match event {
                Some(event) if event.event != "heartbeat" => seen.push(id(&event)),
                Some(_) => {}
                None => break,
            },
            () = &mut frozen_for => break,
        }
    }
    (&mut frozen_for).await;
    redis.thaw();

    // Reconnect from the last id until the instance answers with a resume.
    let last = seen.last().unwrap().to_string();
    let mut resumed = None;
    for _ in 0..40 {
        let mut events = a.open(&pki, TOPIC, Some(&last)).await;
        if let Ok(Some(hello)) = tokio::time::timeout(Duration::from_secs(10), events.next()).await
        {
            let hello: Hello = serde_json::from_str(&hello.data).unwrap();
            assert!(
                !matches!(hello.start, Start::Reset { .. }),
                "the same Redis run: no reset ({:?})",
                hello.start
            );
            if matches!(hello.start, Start::Resumed { .. }) {
                resumed = Some(events);
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await; // the `retry:` the answer asked for, shortened
    }
    let mut events = resumed.expect("the stream resumed once Redis answered");
    while seen.len() < 30 {
        let event = next(&mut events).await;
        if event.event == "heartbeat" {
            continue;
        }
        seen.push(id(&event));
    }
    let epoch = seen[0].epoch;
    for pair in seen.windows(2) {
        assert_eq!(pair[1].epoch, epoch, "one epoch: {seen:?}");
        assert_eq!(pair[1].seq, pair[0].seq + 1, "contiguous ids: {seen:?}");
    }
}
