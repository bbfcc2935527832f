//! Many browsers' worth of `EventSource`s: TLS connections, each carrying some SSE streams.
//!
//! - **HTTP/2**: one TLS connection (ALPN `h2`) per `per_connection` streams, as a browser
//!   multiplexes its widgets. The h2 crate's client is driven directly, with its small-DATA-frame
//!   budget raised: SSE events are small frames by nature, and a client that lets them pile up
//!   answers with GOAWAY `ENHANCE_YOUR_CALM`, which would measure the client, not the server.
//!   Each stream's task releases flow-control capacity as soon as it reads, so nothing sits.
//! - **HTTP/1.1**: one TLS connection (ALPN `http/1.1` only) per stream, as a browser must
//!   (see [`crate::h1`]).
//!
//! Either way the bytes go through `eventsource-stream`, a parser that follows the WHATWG spec,
//! and every `update` is handed to the [`Recorder`] with its arrival time.

use crate::h1;
use crate::record::Recorder;
use bytes::Bytes;
use eventsource_stream::Eventsource;
use futures_util::{Stream, StreamExt};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;
use std::task::Poll;
use tickerplex::server::demo::bench::monotonic_ns;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

/// How many connections are being set up at once. Enough to keep both sides busy, few enough not
/// to overflow the server's accept backlog.
const CONNECTING_AT_ONCE: usize = 32;

/// Receive windows: large, so flow control never throttles the server.
const STREAM_WINDOW: u32 = 1 << 20;
const CONNECTION_WINDOW: u32 = 1 << 26;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Protocol {
    H2,
    H1,
}

impl std::fmt::Display for Protocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Protocol::H2 => "h2",
            Protocol::H1 => "http/1.1",
        })
    }
}

/// Where the streams go.
#[derive(Clone)]
pub struct Target {
    pub addr: SocketAddr,
    /// The events URLs' paths, e.g. `/api/topics/bench/events`: stream `i` opens
    /// `paths[i % paths.len()]`, the same round-robin the publisher spreads its ticks by.
    pub paths: Vec<String>,
    pub protocol: Protocol,
    pub tls: TlsConnector,
}

impl Target {
    /// The path stream `stream` opens.
    fn path(&self, stream: usize) -> &str {
        &self.paths[stream % self.paths.len()]
    }
}

/// A TLS client that trusts `ca` (tickerplex's dev CA) and offers only `protocol`.
pub fn tls(ca: &Path, protocol: Protocol) -> Result<TlsConnector, String> {
    let pem = std::fs::read(ca).map_err(|e| format!("cannot read {}: {e}", ca.display()))?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::pem::PemObject::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| format!("{}: {e}", ca.display()))?;
        roots
            .add(cert)
            .map_err(|e| format!("{}: {e}", ca.display()))?;
    }
    let mut config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![match protocol {
        Protocol::H2 => b"h2".to_vec(),
        Protocol::H1 => b"http/1.1".to_vec(),
    }];
    Ok(TlsConnector::from(Arc::new(config)))
}

/// Opens `streams` streams, `per_connection` to a connection, each in its own local task that
/// records into `recorder` until the task is dropped. Returns when every connection has been set
/// up (each stream reports to `recorder` when its response arrives).
pub async fn open(target: &Target, streams: usize, per_connection: usize, recorder: Rc<Recorder>) {
    let per_connection = match target.protocol {
        Protocol::H1 => 1,
        Protocol::H2 => per_connection.max(1),
    };
    let connections: Vec<std::ops::Range<usize>> = (0..streams)
        .step_by(per_connection)
        .map(|first| first..(first + per_connection).min(streams))
        .collect();
    futures_util::stream::iter(connections)
        .for_each_concurrent(CONNECTING_AT_ONCE, |ids| {
            let recorder = recorder.clone();
            async move {
                let count = ids.len();
                if let Err(error) = connect(target, ids, recorder.clone()).await {
                    for _ in 0..count {
                        recorder.failed_to_open(error.clone());
                    }
                }
            }
        })
        .await;
}

/// One connection and its streams `ids`.
async fn connect(
    target: &Target,
    ids: std::ops::Range<usize>,
    recorder: Rc<Recorder>,
) -> Result<(), String> {
    let tls = handshake(target).await?;
    match target.protocol {
        Protocol::H1 => {
            let (stream, path) = (ids.start, target.path(ids.start).to_owned());
            tokio::task::spawn_local(async move {
                match h1::get_event_stream(tls, &path).await {
                    Err(error) => recorder.failed_to_open(error),
                    Ok(body) => {
                        recorder.opened(stream);
                        let error = receive(body, stream, &recorder).await;
                        recorder.error(error);
                    }
                }
            });
            Ok(())
        }
        Protocol::H2 => {
            let (mut client, connection) = h2::client::Builder::new()
                .initial_window_size(STREAM_WINDOW)
                .initial_connection_window_size(CONNECTION_WINDOW)
                .data_frame_budget(usize::MAX / 2)
                .handshake::<_, Bytes>(tls)
                .await
                .map_err(|e| format!("h2 handshake: {e}"))?;
            let driver = recorder.clone();
            tokio::task::spawn_local(async move {
                if let Err(error) = connection.await {
                    driver.error(format!("connection: {error}"));
                }
            });
            for stream in ids {
                let uri = format!("https://localhost{}", target.path(stream));
                client = client
                    .ready()
                    .await
                    .map_err(|e| format!("h2 not ready: {e}"))?;
                let request = http::Request::get(&uri)
                    .header("accept", "text/event-stream")
                    .body(())
                    // A GET with a static header on a URI that parsed above: the builder has
                    // nothing left that could be invalid.
                    .expect("a valid request");
                let (response, _) = client
                    .send_request(request, true)
                    .map_err(|e| format!("h2 request: {e}"))?;
                let recorder = recorder.clone();
                tokio::task::spawn_local(async move {
                    let response = match response.await {
                        Ok(r) if r.status() == 200 => r,
                        Ok(r) => return recorder.failed_to_open(format!("HTTP {}", r.status())),
                        Err(e) => return recorder.failed_to_open(format!("h2 response: {e}")),
                    };
                    recorder.opened(stream);
                    let mut body = response.into_body();
                    let bytes = futures_util::stream::poll_fn(move |cx| {
                        let polled = body.poll_data(cx);
                        if let Poll::Ready(Some(Ok(data))) = &polled {
                            // Read, so the server may send as much again: drain promptly.
                            let _ = body.flow_control().release_capacity(data.len());
                        }
                        polled
                    });
                    let error = receive(bytes, stream, &recorder).await;
                    recorder.error(error);
                });
            }
            Ok(())
        }
    }
}

pub async fn handshake(target: &Target) -> Result<TlsStream<TcpStream>, String> {
    handshake_over(target, None, |tcp| tcp).await
}

/// [`handshake`], with the socket's receive buffer set to `receive_buffer` bytes when given
/// (a small one makes a client that stops reading close its TCP window at once), and TLS run
/// over `wrap(tcp)`: the slow readers put their throttle there, under TLS, so what they hold
/// back is the server's bytes as sent, not plaintext already decrypted into rustls's buffer.
pub async fn handshake_over<T: AsyncRead + AsyncWrite + Unpin>(
    target: &Target,
    receive_buffer: Option<u32>,
    wrap: impl FnOnce(TcpStream) -> T,
) -> Result<TlsStream<T>, String> {
    let socket = match target.addr {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4(),
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6(),
    }
    .map_err(|e| format!("socket: {e}"))?;
    if let Some(size) = receive_buffer {
        socket
            .set_recv_buffer_size(size)
            .map_err(|e| format!("SO_RCVBUF: {e}"))?;
    }
    let tcp = socket
        .connect(target.addr)
        .await
        .map_err(|e| format!("connect {}: {e}", target.addr))?;
    tcp.set_nodelay(true).map_err(|e| e.to_string())?;
    // A constant, valid DNS name.
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("a valid name");
    target
        .tls
        .connect(name, wrap(tcp))
        .await
        .map_err(|e| format!("TLS: {e}"))
}

/// The fields of a tick the measurement needs (the rest of the payload is skipped unparsed).
#[derive(Deserialize)]
struct Stamp {
    n: u64,
    sent_ns: u64,
}

/// Parses one stream's events until it ends; returns why it ended.
async fn receive<S, E>(bytes: S, stream: usize, recorder: &Recorder) -> String
where
    S: Stream<Item = Result<Bytes, E>>,
    E: std::fmt::Display,
{
    let mut events = std::pin::pin!(bytes.eventsource());
    while let Some(event) = events.next().await {
        match event {
            Ok(event) if event.event == "update" => {
                match serde_json::from_str::<Stamp>(&event.data) {
                    Ok(stamp) => recorder.record(stream, stamp.n, stamp.sent_ns, monotonic_ns()),
                    Err(error) => return format!("an update that is not a tick: {error}"),
                }
            }
            Ok(_) => {} // hello, sync, and so on
            Err(error) => return format!("stream: {error}"),
        }
    }
    "the server ended the stream".to_owned()
}
