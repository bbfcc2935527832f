//! The edge: Debian's nginx and HAProxy, started from `deploy/` as shipped, in front of two
//! real instances on one real Redis (see `tests/cluster/edge_pitfalls.rs` for what goes wrong with the
//! wrong settings).
//!
//! Each test runs against both edges (`nginx_…` and `haproxy_…` call the same body):
//! - the browser's HTTP/2 connection to the edge carries streams served by both instances;
//! - an instance killed behind the edge: the reconnect reaches the survivor and resumes exactly;
//! - an instance draining (SIGTERM): its streams get `shutdown`, reconnect, resume elsewhere.

use crate::common;

use common::edge::{Cluster, Kind, CLUSTER_TOPIC as TOPIC};
use common::events::next;
use common::follow::{id, read_contiguous, read_start, read_until_cut};
use std::collections::BTreeSet;
use tickerplex::model::{EventId, Start};

async fn streams_from_both_instances_share_the_edge(kind: Kind) {
    let cluster = Cluster::start(kind, &[], |config| config).await;
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
    let mut cluster = Cluster::start(kind, &[], |config| config).await;
    let mut events = cluster.open(None).await;
    let (hello, from) = read_start(&mut events).await;
    let last = id(read_contiguous(&mut events, from.unwrap(), 5)
        .await
        .last()
        .unwrap());

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
    let mut cluster = Cluster::start(kind, &[], |config| config).await;
    let mut events = cluster.open(None).await;
    let (hello, from) = read_start(&mut events).await;
    let mut last = id(read_contiguous(&mut events, from.unwrap(), 3)
        .await
        .last()
        .unwrap());

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
