//! Cut connections lose nothing: a TCP proxy between client and server cuts the server→client
//! bytes at a random offset — mid-TLS-record, mid-HTTP/2-frame, mid-event — over and over,
//! while a client follows a busy topic and reconnects after every cut with its `Last-Event-ID`,
//! as an EventSource does. Over HTTP/2 and over HTTP/1.1. Across all the cuts: no event lost,
//! none repeated, none out of order, and no `reset` (every reconnect is well inside the history).
//!
//! The proxy works on bytes only — TLS runs end to end through it — so what it cuts is exactly
//! what a failing network would cut. The offsets come from a seeded generator: a failure names
//! its seed and replays.

mod common;

use common::TestServer;
use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use rand::{Rng, SeedableRng};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tickerplex::model::{EventId, TopicName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Cuts per protocol in `scripts/test` (the short version: ≥ 200 in all). `scripts/bench` runs
/// the long one by setting `TICKERPLEX_FAULT_CUTS` (2 500 per protocol: 5 000 in all).
const CUTS: usize = 100;

/// `TICKERPLEX_FAULT_CUTS`, or [`CUTS`].
fn cuts_wanted() -> usize {
    match std::env::var("TICKERPLEX_FAULT_CUTS") {
        Ok(value) => value
            .parse()
            .expect("TICKERPLEX_FAULT_CUTS is a number of cuts per protocol"),
        Err(_) => CUTS,
    }
}
const BENCH: TopicName = TopicName::Bench(0);

/// Bench ticks a second: busy enough that every cut lands among events.
const RATE: f64 = 5_000.0;

/// A proxy to `server` that passes the client's bytes through untouched and cuts the server's
/// after a random number of bytes (1 to 48 KiB), closing both sides. Counts its cuts.
async fn cutting_proxy(server: SocketAddr, seed: u64) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let cuts = Arc::new(AtomicUsize::new(0));
    let counted = cuts.clone();
    tokio::spawn(async move {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        while let Ok((client, _)) = listener.accept().await {
            let budget = rng.random_range(1..=48 * 1024);
            let cuts = counted.clone();
            tokio::spawn(async move {
                let Ok(upstream) = TcpStream::connect(server).await else {
                    return;
                };
                let (mut client_read, mut client_write) = client.into_split();
                let (mut server_read, mut server_write) = upstream.into_split();
                let up = tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
                });
                // Server → client, up to the budget, then the cut.
                let mut left: usize = budget;
                let mut buffer = vec![0u8; 16 * 1024];
                while left > 0 {
                    let n = match server_read.read(&mut buffer).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n.min(left),
                    };
                    if client_write.write_all(&buffer[..n]).await.is_err() {
                        break;
                    }
                    left -= n;
                }
                if left == 0 {
                    cuts.fetch_add(1, Ordering::SeqCst);
                }
                up.abort();
                // Dropping both halves of both sockets closes them: the cut.
            });
        }
    });
    (addr, cuts)
}

/// Follows the bench topic of a fresh server through the proxy, reconnecting with the last id
/// after every cut, until [`cuts_wanted`] cuts happened; checks every event on the way, and that
/// events flowed between the cuts and each cut was followed by a reconnect. Prints the figures
/// (`--nocapture` shows them; `scripts/bench` copies them into BENCHMARKS.md).
async fn follow_through_cuts(http1: bool, seed: u64) {
    let wanted = cuts_wanted();
    let started = std::time::Instant::now();
    let server = &TestServer::builder().bench(RATE).start().await;
    let (proxy, cuts) = cutting_proxy(server.addr, seed).await;
    // `localhost` resolves to the proxy.
    let mut builder = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(server.ca_pem.as_bytes()).unwrap())
        .resolve("localhost", proxy)
        .https_only(true);
    if http1 {
        builder = builder.http1_only();
    }
    let client = builder.build().unwrap();
    // The proxy's port in the URL: reqwest's `resolve` takes the address, never the port.
    let url = format!("https://localhost:{}/api/topics/bench/events", proxy.port());
    let mut last: Option<EventId> = None;
    let (mut received, mut reconnects) = (0, 0);
    // Counted rather than asserted on the spot, so the report shows what was seen; all four
    // must be 0 (asserted below).
    let (mut lost, mut repeated, mut reordered, mut resets) = (0u64, 0u64, 0u64, 0u64);
    while cuts.load(Ordering::SeqCst) < wanted {
        reconnects += 1;
        assert!(
            reconnects < wanted * 20,
            "seed {seed}: too many failed reconnects"
        );
        let mut request = client.get(&url).header("accept", "text/event-stream");
        if let Some(id) = last {
            request = request.header("last-event-id", id.to_string());
        }
        // A cut during the handshake or the head is just a failed attempt: try again.
        let Ok(Ok(response)) = tokio::time::timeout(Duration::from_secs(5), request.send()).await
        else {
            continue;
        };
        let mut events = response.bytes_stream().eventsource();
        while let Ok(Some(Ok(event))) =
            tokio::time::timeout(Duration::from_secs(5), events.next()).await
        {
            if event.event == "reset" {
                resets += 1; // a reconnect inside the history must resume, never reset
            }
            if event.event != "update" {
                continue; // hello, sync
            }
            let id = EventId::parse(&event.id).unwrap();
            assert_eq!(
                id.epoch,
                server.current_id(&BENCH).epoch,
                "seed {seed}: one epoch"
            );
            if let Some(before) = last {
                match id.seq.cmp(&(before.seq + 1)) {
                    std::cmp::Ordering::Equal => {}
                    std::cmp::Ordering::Greater => lost += id.seq - before.seq - 1,
                    std::cmp::Ordering::Less if id.seq == before.seq => repeated += 1,
                    std::cmp::Ordering::Less => reordered += 1,
                }
            }
            if last.is_none_or(|before| id.seq > before.seq) {
                last = Some(id);
            }
            received += 1;
        }
    }
    assert_eq!(
        (lost, repeated, reordered, resets),
        (0, 0, 0, 0),
        "seed {seed}: (lost, repeated, out of order, resets)"
    );
    assert!(
        received >= wanted,
        "events flowed between the cuts ({received})"
    );
    assert!(
        reconnects >= wanted,
        "each cut was followed by a reconnect ({reconnects})"
    );
    println!(
        "| {} | {seed} | {} | {reconnects} | {received} | {lost} | {repeated} | {reordered} | {resets} | {:.1} s |",
        if http1 { "HTTP/1.1" } else { "HTTP/2" },
        cuts.load(Ordering::SeqCst),
        started.elapsed().as_secs_f64()
    );
}

/// Over HTTP/2: 100 cuts at random offsets (or `TICKERPLEX_FAULT_CUTS`), every event exactly
/// once, in order.
#[tokio::test]
async fn http2_streams_cut_at_random_offsets_lose_and_repeat_nothing() {
    follow_through_cuts(false, 1).await;
}

/// Over HTTP/1.1: the same.
#[tokio::test]
async fn http1_streams_cut_at_random_offsets_lose_and_repeat_nothing() {
    follow_through_cuts(true, 2).await;
}
