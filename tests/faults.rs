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
use tickerplex::model::EventId;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Cuts per protocol in `scripts/test` (the short version: ≥ 200 in all).
const CUTS: usize = 100;
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
/// after every cut, until `CUTS` cuts happened; checks every event on the way, and that events
/// flowed between the cuts and each cut was followed by a reconnect.
async fn follow_through_cuts(http1: bool, seed: u64) {
    let server = &TestServer::start_with_bench(RATE).await;
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
    while cuts.load(Ordering::SeqCst) < CUTS {
        reconnects += 1;
        assert!(
            reconnects < CUTS * 20,
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
            assert_ne!(
                event.event, "reset",
                "seed {seed}: a reconnect inside the history must resume"
            );
            if event.event != "update" {
                continue; // hello, sync
            }
            let id = EventId::parse(&event.id).unwrap();
            if let Some(before) = last {
                assert_eq!(
                    (id.epoch, id.seq),
                    (before.epoch, before.seq + 1),
                    "seed {seed}: after {before}, no loss, no repeat, no reordering"
                );
            }
            last = Some(id);
            received += 1;
        }
    }
    assert!(
        received >= CUTS,
        "events flowed between the cuts ({received})"
    );
    assert!(
        reconnects >= CUTS,
        "each cut was followed by a reconnect ({reconnects})"
    );
}

/// Over HTTP/2: 100 cuts at random offsets, every event exactly once, in order.
#[tokio::test]
async fn http2_streams_cut_at_random_offsets_lose_and_repeat_nothing() {
    follow_through_cuts(false, 1).await;
}

/// Over HTTP/1.1: the same.
#[tokio::test]
async fn http1_streams_cut_at_random_offsets_lose_and_repeat_nothing() {
    follow_through_cuts(true, 2).await;
}
