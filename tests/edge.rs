//! The edge: Debian's nginx and HAProxy, started from `deploy/` as shipped, in front of two
//! real instances on one real Redis — and the proxy pitfalls, each shown with the wrong setting
//! and fixed by the shipped one.
//!
//! Each test runs against both edges (`nginx_…` and `haproxy_…` call the same body):
//! - the browser's HTTP/2 connection to the edge carries streams served by both instances;
//! - an instance killed behind the edge: the reconnect reaches the survivor and resumes exactly;
//! - an instance draining (SIGTERM): its streams get `shutdown`, reconnect, resume elsewhere;
//! - an idle timeout shorter than the keep-alive interval cuts a quiet stream; the shipped
//!   timeout, longer than the interval, does not.

mod common;

use common::cluster::{Instance, Pki, RedisServer};
use common::edge::{Edge, Kind};
use common::events::{next, open_url_cuttable, Events, READ_GUARD};
use futures_util::StreamExt;
use std::collections::BTreeSet;
use std::time::Duration;
use tickerplex::model::{EventId, Hello, Start};

const TOPIC: &str = "watchlist";

/// Redis, instances `a` and `b`, and the edge in front of them.
struct Cluster {
    _redis: RedisServer,
    pki: Pki,
    instances: Vec<Instance>,
    edge: Edge,
}

impl Cluster {
    fn start(kind: Kind, env: &[(&str, &str)], change: impl Fn(String) -> String) -> Cluster {
        let redis = RedisServer::start();
        let pki = Pki::new();
        let instances: Vec<Instance> = ["a", "b"]
            .into_iter()
            .map(|name| {
                Instance::start_with(name, &redis.url(), &pki, env).expect("the instance starts")
            })
            .collect();
        let edge = Edge::start(kind, &instances.iter().collect::<Vec<_>>(), &pki, change);
        Cluster {
            _redis: redis,
            pki,
            instances,
            edge,
        }
    }

    async fn open(&self, last_event_id: Option<&str>) -> Events {
        let url = self.edge.url(&format!("/api/topics/{TOPIC}/events"));
        open_url_cuttable(&self.edge.client(&self.pki), &url, last_event_id).await
    }

    fn instance(&mut self, name: &str) -> &mut Instance {
        self.instances.iter_mut().find(|i| i.name == name).unwrap()
    }
}

/// `hello`, then (fresh start) the snapshot up to `sync`: the hello and the id to continue from.
async fn read_start(events: &mut Events) -> (Hello, Option<EventId>) {
    let hello: Hello = serde_json::from_str(&next(events).await.data).unwrap();
    if matches!(hello.start, Start::Resumed { .. }) {
        return (hello, None);
    }
    loop {
        let event = next(events).await;
        if event.event == "sync" {
            return (hello, Some(EventId::parse(&event.id).unwrap()));
        }
    }
}

/// The next `count` events, checked to follow `after` one by one.
async fn read_contiguous(events: &mut Events, after: EventId, count: usize) -> EventId {
    let mut last = after;
    for _ in 0..count {
        let event = next(events).await;
        let id = EventId::parse(&event.id).unwrap();
        assert_eq!(
            (id.epoch, id.seq),
            (last.epoch, last.seq + 1),
            "no gap, no repeat ({})",
            event.event
        );
        last = id;
    }
    last
}

/// Reads until the stream ends or breaks; panics if it is still going after the guard.
async fn read_until_cut(events: &mut Events) -> Vec<String> {
    let mut kinds = Vec::new();
    loop {
        match tokio::time::timeout(READ_GUARD, events.next()).await {
            Ok(Some(event)) => kinds.push(event.event),
            Ok(None) => return kinds,
            Err(_) => panic!("the stream was not cut"),
        }
    }
}

async fn streams_from_both_instances_share_the_edge(kind: Kind) {
    let cluster = Cluster::start(kind, &[], |config| config);
    let client = cluster.edge.client(&cluster.pki);
    let url = cluster.edge.url(&format!("/api/topics/{TOPIC}/events"));
    let mut served_by = BTreeSet::new();
    let mut open = Vec::new();
    for _ in 0..8 {
        let response = client
            .get(&url)
            .header("accept", "text/event-stream")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.version(),
            reqwest::Version::HTTP_2,
            "the browser speaks h2 to the edge"
        );
        served_by.insert(
            response.headers()["x-instance"]
                .to_str()
                .unwrap()
                .to_owned(),
        );
        open.push(response); // held open, so the edge balances the next by open streams
    }
    assert_eq!(
        served_by,
        BTreeSet::from(["a".to_owned(), "b".to_owned()]),
        "both instances serve"
    );
}

async fn a_killed_instance_s_streams_resume_on_the_survivor(kind: Kind) {
    let mut cluster = Cluster::start(kind, &[], |config| config);
    let mut events = cluster.open(None).await;
    let (hello, from) = read_start(&mut events).await;
    let last = read_contiguous(&mut events, from.unwrap(), 5).await;

    cluster.instance(&hello.instance).kill();
    read_until_cut(&mut events).await;
    // The reconnect, at once: the edge must not answer 502 (an EventSource would give up for
    // good); it retries the connect on the survivor.
    let mut events = cluster.open(Some(&last.to_string())).await;
    let (again, _) = read_start(&mut events).await;
    assert_ne!(
        again.instance, hello.instance,
        "the edge sent the reconnect to the survivor"
    );
    let Start::Resumed { replayed } = again.start else {
        panic!("expected a resume, got {:?}", again.start);
    };
    read_contiguous(&mut events, last, replayed + 5).await;
}

async fn a_draining_instance_s_streams_resume_elsewhere(kind: Kind) {
    let mut cluster = Cluster::start(kind, &[], |config| config);
    let mut events = cluster.open(None).await;
    let (hello, from) = read_start(&mut events).await;
    let mut last = read_contiguous(&mut events, from.unwrap(), 3).await;

    cluster.instance(&hello.instance).terminate();
    // Events may still arrive before the goodbye; the stream then says `shutdown` and ends.
    loop {
        let event = next(&mut events).await;
        if event.event == "shutdown" {
            break;
        }
        last = EventId::parse(&event.id).unwrap();
    }
    let mut events = cluster.open(Some(&last.to_string())).await;
    let (again, _) = read_start(&mut events).await;
    assert_ne!(
        again.instance, hello.instance,
        "no new stream goes to a draining instance"
    );
    let Start::Resumed { replayed } = again.start else {
        panic!("expected a resume, got {:?}", again.start);
    };
    read_contiguous(&mut events, last, replayed + 3).await;
}

/// The pitfall: an idle timeout (2 s here) shorter than the keep-alive interval (15 s) cuts a
/// quiet stream, and the browser reconnects; the same timeout with keep-alives every second
/// does not. The market is quiet (one tick a minute), so only keep-alives cross the stream.
async fn an_idle_timeout_below_the_keep_alive_cuts_quiet_streams(
    kind: Kind,
    short: fn(String) -> String,
) {
    let quiet = [
        ("TICKERPLEX_TICK_MS", "60000"),
        ("TICKERPLEX_KEEPALIVE_SECS", "15"),
    ];
    let cluster = Cluster::start(kind, &quiet, short);
    let mut events = cluster.open(None).await;
    let (_, at) = read_start(&mut events).await;
    let started = std::time::Instant::now();
    read_until_cut(&mut events).await;
    let cut_after = started.elapsed();
    assert!(
        cut_after < Duration::from_secs(15),
        "cut by the edge, not by anything else ({cut_after:?})"
    );
    // What the browser does next: reconnect with its id, and resume (nothing was missed).
    let mut events = cluster.open(Some(&at.unwrap().to_string())).await;
    let (hello, _) = read_start(&mut events).await;
    assert_eq!(hello.start, Start::Resumed { replayed: 0 });
    drop(cluster);

    // Keep-alives more frequent than the timeout: the stream lives past three timeouts.
    let chatty = [
        ("TICKERPLEX_TICK_MS", "60000"),
        ("TICKERPLEX_KEEPALIVE_SECS", "1"),
    ];
    let cluster = Cluster::start(kind, &chatty, short);
    let response = cluster
        .edge
        .client(&cluster.pki)
        .get(cluster.edge.url(&format!("/api/topics/{TOPIC}/events")))
        .send()
        .await
        .unwrap();
    let mut body = response.bytes_stream();
    let mut comments = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(6);
    while let Ok(chunk) = tokio::time::timeout_at(deadline, body.next()).await {
        let chunk = chunk.expect("the stream is still open").unwrap();
        comments += String::from_utf8_lossy(&chunk)
            .matches(": keep-alive")
            .count();
    }
    assert!(comments >= 3, "keep-alives crossed the edge ({comments})");
}

fn nginx_short_timeout(config: String) -> String {
    config.replace("proxy_read_timeout 60s;", "proxy_read_timeout 2s;")
}

fn haproxy_short_timeout(config: String) -> String {
    config
        .replace("timeout server 60s", "timeout server 2s")
        .replace("timeout client 60s", "timeout client 2s")
}

#[tokio::test]
async fn nginx_carries_streams_from_both_instances_over_h2() {
    streams_from_both_instances_share_the_edge(Kind::Nginx).await;
}

#[tokio::test]
async fn haproxy_carries_streams_from_both_instances_over_h2() {
    streams_from_both_instances_share_the_edge(Kind::Haproxy).await;
}

#[tokio::test]
async fn nginx_resumes_a_killed_instance_s_streams_on_the_survivor() {
    a_killed_instance_s_streams_resume_on_the_survivor(Kind::Nginx).await;
}

#[tokio::test]
async fn haproxy_resumes_a_killed_instance_s_streams_on_the_survivor() {
    a_killed_instance_s_streams_resume_on_the_survivor(Kind::Haproxy).await;
}

#[tokio::test]
async fn nginx_moves_a_draining_instance_s_streams_elsewhere() {
    a_draining_instance_s_streams_resume_elsewhere(Kind::Nginx).await;
}

#[tokio::test]
async fn haproxy_moves_a_draining_instance_s_streams_elsewhere() {
    a_draining_instance_s_streams_resume_elsewhere(Kind::Haproxy).await;
}

#[tokio::test]
async fn nginx_idle_timeout_below_the_keep_alive_cuts_quiet_streams() {
    an_idle_timeout_below_the_keep_alive_cuts_quiet_streams(Kind::Nginx, nginx_short_timeout).await;
}

#[tokio::test]
async fn haproxy_idle_timeout_below_the_keep_alive_cuts_quiet_streams() {
    an_idle_timeout_below_the_keep_alive_cuts_quiet_streams(Kind::Haproxy, haproxy_short_timeout)
        .await;
}
