//! The shared event log (Redis Streams), with every part real: Debian's `redis-server` and the
//! tickerplex binary as child processes, clients over HTTPS/HTTP/2, SSE read by a
//! spec-following parser. These are the promises `TICKERPLEX_REDIS_URL` makes:
//! - a browser resumes on any instance with exactly the events it missed;
//! - when the publishing instance dies, another carries on the same numbering, no gap, within
//!   two lease periods;
//! - restarting every instance is not a reset; losing Redis's data is, with a reason;
//! - Redis going away mid-stream ends streams the SSE way, and the instance recovers alone;
//! - an unreachable Redis at start is one line naming the variable and the address.

mod common;

use common::cluster::{free_port, Instance, Pki, RedisServer};
use common::events::{next, open_url, Events};
use eventsource_stream::Event;
use futures_util::StreamExt;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use tickerplex::model::{EventId, Hello, ResetReason, Start};
use tickerplex::server::log::redis::LEASE_TTL;

/// The topic these tests watch: ten members, several events per tick.
const TOPIC: &str = "watchlist";

fn events_url(instance: &Instance) -> String {
    instance.url(&format!("/api/topics/{TOPIC}/events"))
}

async fn open(instance: &Instance, pki: &Pki, last_event_id: Option<&str>) -> Events {
    open_url(&instance.client(pki), &events_url(instance), last_event_id).await
}

/// Reads `hello`; for a fresh or reset start also the snapshot up to `sync`. Returns `hello`
/// and the id the stream continues from.
async fn read_start(events: &mut Events) -> (Hello, EventId) {
    let hello = next(events).await;
    assert_eq!(hello.event, "hello");
    let hello: Hello = serde_json::from_str(&hello.data).unwrap();
    if let Start::Resumed { .. } = hello.start {
        return (hello, EventId { epoch: 0, seq: 0 });
    }
    loop {
        let event = next(events).await;
        match event.event.as_str() {
            "reset" | "add" => continue,
            "sync" => return (hello, id(&event)),
            other => panic!("unexpected {other} before sync"),
        }
    }
}

fn id(event: &Event) -> EventId {
    EventId::parse(&event.id).unwrap()
}

/// Live events are numbered one after another: returns the next `count`, checking that each
/// follows the one before (`after` first).
async fn read_contiguous(events: &mut Events, after: EventId, count: usize) -> Vec<Event> {
    let mut read = Vec::with_capacity(count);
    let mut expected = after.seq + 1;
    while read.len() < count {
        let event = next(events).await;
        assert_ne!(event.event, "reset", "no reset on a live stream");
        let got = id(&event);
        assert_eq!(
            (got.epoch, got.seq),
            (after.epoch, expected),
            "no gap, no repeat"
        );
        expected += 1;
        read.push(event);
    }
    read
}

/// One client reads five events on instance A and goes; the market moves on; it comes back to
/// instance B with its last id and gets exactly what it missed — the same events, in order,
/// with the same ids and payloads as a client that never left — then live ones.
#[tokio::test]
async fn a_client_resumes_on_another_instance_with_exactly_the_events_it_missed() {
    let redis = RedisServer::start();
    let pki = Pki::new();
    let a = Instance::start("a", &redis.url(), &pki);
    let b = Instance::start("b", &redis.url(), &pki);

    // The reference: a stream on A that never drops.
    let mut reference = open(&a, &pki, None).await;
    let (_, mut at) = read_start(&mut reference).await;
    let mut seen: BTreeMap<u64, Event> = BTreeMap::new();

    let mut client = open(&a, &pki, None).await;
    let (hello, from) = read_start(&mut client).await;
    assert_eq!(hello.instance, "a");
    let last = id(read_contiguous(&mut client, from, 5).await.last().unwrap());
    drop(client);

    // The market moves on: at least twenty events the client misses.
    while at.seq < last.seq + 20 {
        let event = next(&mut reference).await;
        at = id(&event);
        seen.insert(at.seq, event);
    }

    let response = b
        .client(&pki)
        .get(b.url("/api/topics"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["x-instance"],
        "b",
        "every answer names its instance"
    );
    let mut resumed = open(&b, &pki, Some(&last.to_string())).await;
    let (hello, _) = read_start(&mut resumed).await;
    assert_eq!(hello.instance, "b");
    let Start::Resumed { replayed } = hello.start else {
        panic!("expected a resume on B, got {:?}", hello.start);
    };
    assert!(
        replayed >= 20,
        "B replays what A published meanwhile ({replayed})"
    );

    // The replay and a few live events after it, each the same as the reference's.
    for event in read_contiguous(&mut resumed, last, replayed + 5).await {
        let seq = id(&event).seq;
        while !seen.contains_key(&seq) {
            let more = next(&mut reference).await;
            seen.insert(id(&more).seq, more);
        }
        let same = &seen[&seq];
        assert_eq!(
            (&event.event, &event.data),
            (&same.event, &same.data),
            "event {seq}"
        );
    }
}

/// The instance holding the feed lease is killed with SIGKILL while a client streams from the
/// other: the client's ids go on without a gap or a repeat, and the longest silence is shorter
/// than two lease periods.
#[tokio::test]
async fn killing_the_publisher_moves_the_feed_to_another_instance_without_a_gap() {
    let redis = RedisServer::start();
    let pki = Pki::new();
    let a = Instance::start("a", &redis.url(), &pki);
    let b = Instance::start("b", &redis.url(), &pki);
    // The lease's value is the holder's token, which starts with its name.
    let holder = redis.cli(&["GET", "tickerplex:feed:lease"]);
    let (mut publisher, other) = if holder.starts_with("a/") {
        (a, b)
    } else {
        (b, a)
    };
    assert!(
        holder.starts_with(&format!("{}/", publisher.name)),
        "{holder}"
    );

    let mut events = open(&other, &pki, None).await;
    let (_, from) = read_start(&mut events).await;
    let before = read_contiguous(&mut events, from, 10).await;

    publisher.kill();
    let mut last = id(before.last().unwrap());
    let mut last_at = Instant::now();
    let mut longest = Duration::ZERO;
    // Enough events that some were certainly published after the takeover.
    for _ in 0..100 {
        let event = read_contiguous(&mut events, last, 1).await.pop().unwrap();
        longest = longest.max(last_at.elapsed());
        (last, last_at) = (id(&event), Instant::now());
    }
    assert!(
        longest < 2 * LEASE_TTL,
        "the market stopped for {longest:?}; the bound is two lease periods ({:?})",
        2 * LEASE_TTL
    );
    let holder = redis.cli(&["GET", "tickerplex:feed:lease"]);
    assert!(holder.starts_with(&format!("{}/", other.name)), "{holder}");
}

/// Both instances stop and start again: a client resumes from its last id (no reset). Then
/// Redis loses its data: the same kind of resume gets `reset`, with its reason.
#[tokio::test]
async fn restarting_every_instance_resumes_and_losing_redis_data_resets() {
    let redis = RedisServer::start();
    let pki = Pki::new();
    let mut a = Instance::start("a", &redis.url(), &pki);
    let mut b = Instance::start("b", &redis.url(), &pki);
    let mut events = open(&a, &pki, None).await;
    let (_, from) = read_start(&mut events).await;
    let last = id(read_contiguous(&mut events, from, 5).await.last().unwrap());
    drop(events);
    a.stop();
    b.stop();

    let a = Instance::start("a2", &redis.url(), &pki);
    let _b = Instance::start("b2", &redis.url(), &pki);
    let mut events = open(&a, &pki, Some(&last.to_string())).await;
    let (hello, _) = read_start(&mut events).await;
    let Start::Resumed { replayed } = hello.start else {
        panic!("a restart is not a reset, got {:?}", hello.start);
    };
    let resumed = read_contiguous(&mut events, last, replayed + 3).await;
    let last = id(resumed.last().unwrap());
    drop(events);

    assert_eq!(redis.cli(&["FLUSHALL"]), "OK");
    let mut events = open(&a, &pki, Some(&last.to_string())).await;
    let (hello, _) = read_start(&mut events).await;
    assert_eq!(
        hello.start,
        Start::Reset {
            reason: ResetReason::OtherEpoch
        }
    );
    // The market goes on in a new epoch, later than the lost one, numbered from 1.
    let event = next(&mut events).await;
    let first = id(&event);
    assert!(first.epoch > last.epoch, "{first} after {last}");
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
        let mut events = open(&a, &pki, Some(&last)).await;
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
