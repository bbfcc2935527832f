//! The naive baseline: the same bench topic served the way most people would first write it —
//! axum's `Sse` over a `tokio::sync::broadcast` channel, with axum's `KeepAlive` — on the same
//! TLS (rustls, ring) and HTTP/2 (hyper) stack as tickerplex. The benchmark runs it as a third
//! peer, so the table shows what each of tickerplex's choices buys: events framed once instead
//! of serialised per subscriber, one write per batch instead of one per event, no per-stream
//! keep-alive timer reset on every event, ids and resume, and so on.
//!
//! Deliberately plain: no resume, no history, no ids beyond the tick number, no coalescing.
//!
//! ```text
//! TICKERPLEX_BENCH_RATE=2 LEPTOS_SITE_ADDR=127.0.0.1:4450 target/release/naive
//! ```
//! serves `https://localhost:4450/api/topics/bench/events` with `certs/localhost.pem`.

use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use axum::Router;
use futures_util::stream::{self, Stream};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use std::convert::Infallible;
use std::sync::Arc;
use tickerplex::server::demo::bench::{Schedule, Tick};
use tokio::sync::broadcast;
use tower::ServiceExt;

/// Ticks a slow subscriber may fall behind before it misses some (tokio's broadcast ring).
const CAPACITY: usize = 1024;

fn main() {
    if let Err(error) = run() {
        eprintln!("naive: {error}");
        std::process::exit(1);
    }
}

#[tokio::main(flavor = "current_thread")]
async fn run() -> Result<(), String> {
    let rate: f64 = std::env::var("TICKERPLEX_BENCH_RATE")
        .ok()
        .and_then(|r| r.parse().ok())
        .ok_or("set TICKERPLEX_BENCH_RATE (ticks per second)")?;
    let addr = std::env::var("LEPTOS_SITE_ADDR").unwrap_or_else(|_| "127.0.0.1:4450".into());
    let tls = Arc::new(tls_config()?);

    let (ticks, _) = broadcast::channel::<Tick>(CAPACITY);
    if rate > 0.0 {
        let sender = ticks.clone();
        tokio::spawn(async move {
            let mut schedule = Schedule::new(rate);
            loop {
                for tick in schedule.due_ticks().await {
                    let _ = sender.send(tick);
                }
            }
        });
    }
    let app = Router::new().route(
        "/api/topics/bench/events",
        get(move || {
            let receiver = ticks.subscribe();
            async move { Sse::new(events(receiver)).keep_alive(KeepAlive::default()) }
        }),
    );

    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(|e| format!("bind {addr}: {e}"))?;
    eprintln!("naive: serving https://{addr}/api/topics/bench/events");
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let (acceptor, app) = (acceptor.clone(), app.clone());
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(tcp).await else {
                return;
            };
            let service = hyper::service::service_fn(move |request| app.clone().oneshot(request));
            let mut builder = auto::Builder::new(TokioExecutor::new());
            builder.http2().max_concurrent_streams(256);
            let _ = builder.serve_connection(TokioIo::new(tls), service).await;
        });
    }
}

/// Every tick as an `update` event, serialised for this subscriber; missed ticks (a lagging
/// subscriber) are skipped, as a first version would.
fn events(receiver: broadcast::Receiver<Tick>) -> impl Stream<Item = Result<Event, Infallible>> {
    stream::unfold(receiver, |mut receiver| async move {
        loop {
            match receiver.recv().await {
                Ok(tick) => {
                    let data = serde_json::to_string(&tick).expect("ticks serialise");
                    let event = Event::default()
                        .event("update")
                        .id(tick.n.to_string())
                        .data(data);
                    return Some((Ok(event), receiver));
                }
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    })
}

/// The dev certificate from `certs/` (the benchmark runs from the checkout), ALPN h2 first.
fn tls_config() -> Result<rustls::ServerConfig, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter("certs/localhost.pem")
        .map_err(|e| format!("certs/localhost.pem: {e}"))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("certs/localhost.pem: {e}"))?;
    let key = PrivateKeyDer::from_pem_file("certs/localhost-key.pem")
        .map_err(|e| format!("certs/localhost-key.pem: {e}"))?;
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .map_err(|e| e.to_string())?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}
