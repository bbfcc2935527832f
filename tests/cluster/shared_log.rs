//! The shared event log (Redis Streams), with every part real: Debian's `redis-server` and the
//! tickerplex binary as child processes, clients over HTTPS/HTTP/2, SSE read by a
//! spec-following parser. These are the promises `TICKERPLEX_REDIS_URL` makes:
//! - a browser resumes on any instance with exactly the events it missed;
//! - when the publishing instance dies, another carries on the same numbering, no gap, within
//!   two lease periods;
//! - restarting every instance is not a reset; losing Redis's data is, with a reason;
//! - (Redis going away, and unreachable at start: `tests/cluster/shared_log_faults.rs`.)

use crate::common;

use common::cluster::{Instance, Pki, RedisServer};
use common::events::next;
use common::follow::{id, read_contiguous, read_start};
use eventsource_stream::Event;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use tickerplex::model::{ResetReason, Start};
use tickerplex::server::pubsub::log::redis::LEASE_TTL;

/// The topic these tests watch: ten members, several events per tick.
const TOPIC: &str = "watchlist";

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
    let mut reference = a.open(&pki, TOPIC, None).await;
    let (_, at) = read_start(&mut reference).await;
    let mut at = at.unwrap();
    let mut seen: BTreeMap<u64, Event> = BTreeMap::new();

    let mut client = a.open(&pki, TOPIC, None).await;
    let (hello, from) = read_start(&mut client).await;
    assert_eq!(hello.instance, "a");
    let last = id(read_contiguous(&mut client, from.unwrap(), 5)
        .await
        .last()
        .unwrap());
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
    let mut resumed = b.open(&pki, TOPIC, Some(&last.to_string())).await;
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

    let mut events = other.open(&pki, TOPIC, None).await;
    let (_, from) = read_start(&mut events).await;
    let before = read_contiguous(&mut events, from.unwrap(), 10).await;

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

/// The lease holder frozen (SIGSTOP) past its lease, then resumed (SIGCONT) with the ticks it
/// had in hand under the old lease: the other instance has taken the feed meanwhile, and the
/// fencing refuses the stale holder's appends. A client streaming from the other instance sees
/// one contiguous run of ids through all of it — nothing repeated, nothing lost — and the
/// lease stays with the instance that took it.
#[tokio::test]
async fn a_frozen_publisher_resumed_after_its_lease_cannot_append() {
    let redis = RedisServer::start();
    let pki = Pki::new();
    let a = Instance::start("a", &redis.url(), &pki);
    let b = Instance::start("b", &redis.url(), &pki);
    let holder = redis.cli(&["GET", "tickerplex:feed:lease"]);
    let (publisher, other) = if holder.starts_with("a/") {
        (a, b)
    } else {
        (b, a)
    };
    let mut events = other.open(&pki, TOPIC, None).await;
    let (_, from) = read_start(&mut events).await;
    let before = read_contiguous(&mut events, from.unwrap(), 10).await;

    publisher.freeze();
    // Contiguous through the takeover: the market moves again within two lease periods.
    let during = read_contiguous(&mut events, id(before.last().unwrap()), 60).await;
    let taken = redis.cli(&["GET", "tickerplex:feed:lease"]);
    assert!(taken.starts_with(&format!("{}/", other.name)), "{taken}");

    publisher.thaw();
    // Whatever the thawed instance tries to append is fenced off: still one contiguous run.
    read_contiguous(&mut events, id(during.last().unwrap()), 100).await;
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
    let mut events = a.open(&pki, TOPIC, None).await;
    let (_, from) = read_start(&mut events).await;
    let last = id(read_contiguous(&mut events, from.unwrap(), 5)
        .await
        .last()
        .unwrap());
    drop(events);
    a.stop();
    b.stop();

    let a = Instance::start("a2", &redis.url(), &pki);
    let _b = Instance::start("b2", &redis.url(), &pki);
    let mut events = a.open(&pki, TOPIC, Some(&last.to_string())).await;
    let (hello, _) = read_start(&mut events).await;
    let Start::Resumed { replayed } = hello.start else {
        panic!("a restart is not a reset, got {:?}", hello.start);
    };
    let resumed = read_contiguous(&mut events, last, replayed + 3).await;
    let last = id(resumed.last().unwrap());
    drop(events);

    assert_eq!(redis.cli(&["FLUSHALL"]), "OK");
    let mut events = a.open(&pki, TOPIC, Some(&last.to_string())).await;
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

/// An entry appended without its doorbell ring — as a publisher older than the doorbell does
/// during a rolling deploy — still reaches the open streams: the reader's positions, not the
/// rings, decide what is delivered, and a wait on the doorbell that runs out reads every
/// topic (`log::redis::reader`).
#[tokio::test]
async fn an_entry_appended_without_a_ring_still_reaches_the_streams() {
    let redis = RedisServer::start();
    let pki = Pki::new();
    // The bench topic at rate 0: it exists and nothing publishes to it, so the only entry it
    // will ever get is the one written below. Its head as an earlier run left it.
    redis.cli(&["SET", "tickerplex:bench:head", "1700000000000-7"]);
    let a = Instance::start_with("a", &redis.url(), &pki, &[("TICKERPLEX_BENCH_RATE", "0")])
        .expect("the instance starts");
    let mut stream = a.open(&pki, "bench", None).await;
    let (_, at) = read_start(&mut stream).await;
    assert_eq!(at.unwrap().to_string(), "1700000000000-7");

    // What the append script did before the doorbell: the entry and the head, no ring.
    let data = r#"{"n":0,"sent_ns":0,"symbol":"BNCH","price":1.0,"change":0.0,"change_pct":0.0,"time":"1970-01-01T00:00:00Z"}"#;
    redis.cli(&[
        "XADD",
        "tickerplex:bench:events",
        "1700000000000-8",
        "event",
        "update",
        "data",
        data,
    ]);
    redis.cli(&["SET", "tickerplex:bench:head", "1700000000000-8"]);
    // The market's own appends ring all along (the reader stays busy with them); none of the
    // rings names the bench topic.
    let rings = redis.cli(&["XRANGE", "tickerplex:doorbell", "-", "+"]);
    assert!(
        rings.contains("tickerplex:watchlist:events"),
        "the market rings: {rings}"
    );
    assert!(
        !rings.contains("tickerplex:bench:events"),
        "the bench topic rang: {rings}"
    );

    let event = loop {
        let event = next(&mut stream).await;
        if event.event != "heartbeat" {
            break event;
        }
    };
    assert_eq!(
        (event.event.as_str(), event.id.as_str(), event.data.as_str()),
        ("update", "1700000000000-8", data)
    );
}
