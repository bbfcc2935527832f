//! The HTTPS accept loop: TCP → TLS (ALPN) → HTTP/1.1 or HTTP/2 → the axum router.
//!
//! This is where "one connection" becomes observable. Every accepted TCP connection gets a
//! [`ConnectionId`] from the registry's counter (shared by every listener, the HTTP/1.1-only one
//! included), and every request served on it carries a [`ConnectionInfo`]
//! (id, peer address, negotiated protocol) in its extensions; every response carries the id in
//! the [`CONNECTION_ID_HEADER`]. Over HTTP/2 a browser sends the page, its wasm, and every
//! widget's event stream on one connection, so all of them show the same id.
//!
//! Why a hand-written loop over hyper-util and not `axum::serve`: `axum::serve` accepts plain TCP
//! and gives a handler the peer address only. Wrapping TLS into an `axum::serve::Listener` would
//! run each TLS handshake inside `accept`, one at a time, so one slow client would stall every
//! other — and the negotiated ALPN protocol would still not reach the handler. Here each
//! connection's handshake runs in its own task, and after it we know the protocol, so we can both
//! label the connection and pick the matching HTTP implementation. This is the shape of axum's
//! `low-level-rustls` example, plus a connection id and a graceful drain.
//!
//! Graceful drain: [`serve`] asks the [`Shutdown`] it is given (mini-redis style) when to stop.
//! Then the loop stops accepting, every open connection is asked to finish (HTTP/2 GOAWAY,
//! HTTP/1.1 close after the current response), and the shutdown's deadline bounds the wait so a
//! connection that never finishes cannot keep the process alive.
//!
//! Past 300 lines as one concept: one connection's life, from accept to drain, whose every knob
//! (the handshake deadline, the HTTP/2 limits, the PING, the send buffer, the header table)
//! carries its reason and its figure here; those comments are over 40 % of the file.

//!
//! What happens to a connection, from accept to close:
//! 1. accepted: numbered, then handed to a task of its own;
//! 2. TLS handshake, at most `TLS_HANDSHAKE_TIMEOUT`; ALPN fixes the protocol;
//! 3. registered (`/api/stats` lists it), every request labelled, every response tagged;
//! 4. served until the client closes it, or the drain asks it to finish (HTTP/2: GOAWAY, which
//!    lets open requests complete and refuses new ones; HTTP/1.1: close after the response);
//! 5. unregistered by its guard, whichever way it ended.
//!
//! What it owns: accepting, the TLS handshake and its deadline, picking the HTTP
//! implementation, labelling requests and responses with the connection, and asking every
//! connection to close on drain. What it does not own: routing (the `Router` it is given), the
//! registry's bookkeeping (it only holds a guard), or when to drain (it asks [`Shutdown`]).

use crate::model::{ConnectionId, ConnectionInfo, Protocol};
use crate::server::transport::coalesce::Coalesce;
use crate::server::transport::registry::Registry;
use crate::server::transport::shutdown::Shutdown;
use crate::server::transport::stall::WriteStall;
use axum::http::{HeaderName, HeaderValue, Request};
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use rustls::ServerConfig;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

/// Response header that names the connection a response was sent on. A custom header rather
/// than a cookie or a body field: devtools show it for every request, including the wasm, the
/// CSS and each event stream, so the "one connection" claim can be checked in the Network tab.
pub const CONNECTION_ID_HEADER: HeaderName = HeaderName::from_static("x-connection-id");

/// A client that opens TCP and never completes the TLS handshake is dropped after this long, so
/// idle sockets cannot pile up. Ten seconds is generous for a handshake on any real network.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Concurrent streams one HTTP/2 connection may carry: as many as Chromium will open on one
/// (256), so a page with many widgets never queues a stream behind the server's limit.
pub const MAX_STREAMS_PER_CONNECTION: u32 = 256;

/// The largest request header list (decoded) accepted: 16 KiB. A browser sends one or two; a
/// client sending more gets `431 Request Header Fields Too Large`, and nothing is buffered past
/// it. The same bound for HTTP/1.1 (its read buffer) and HTTP/2 (`SETTINGS_MAX_HEADER_LIST_SIZE`).
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// HTTP/2 streams a client may open and reset before the server has taken them: past this
/// the connection is closed (the "rapid reset" flood, CVE-2023-44487). hyper's default is 20;
/// a page closing many widgets at once resets a few dozen.
const MAX_PENDING_ACCEPT_RESETS: usize = 64;

/// An HTTP/2 connection silent this long is sent a PING; no answer within `PING_TIMEOUT`
/// closes it. Finds peers that vanished without a FIN (a laptop lid, a dropped NAT mapping)
/// whose streams would otherwise hold their slots until a write fails.
/// Twenty seconds: longer than a busy stream's gap between events, so a live connection is
/// rarely pinged at all; shorter than the 30–60 s idle timeouts of common NATs.
const PING_INTERVAL: Duration = Duration::from_secs(20);
/// Ten seconds for the PONG: a phone on a slow radio answers in well under one; a peer that is
/// gone never does. Together: a vanished peer is closed within 30 s.
const PING_TIMEOUT: Duration = Duration::from_secs(10);

/// Bytes one HTTP/2 stream may have queued in hyper (encoded, not yet written to the socket)
/// before hyper stops pulling its body: hyper's default is 400 KiB.
///
/// What it saves: a stream whose connection cannot write fast enough stops at this many bytes,
/// and the events it has not pulled wait in its topic's broadcast ring — shared by every
/// subscriber, so they cost nothing per stream. Queued in h2 instead, each event costs the
/// stream a slot in h2's frame slab (~200 B, the event's bytes themselves are shared), and
/// the slab keeps its size after the burst. At `5k streams, W=240 h2, max` (every connection
/// overloaded) RSS per stream was 37.6 KiB with the default, 18.7 with 16 KiB and 10.0 with
/// 4 KiB, at the same ~540k events/s (medians of three runs of `tickerplex-load suite --peers
/// tickerplex,tickerplex-baseline,naive --only "5k streams, W=240 h2, max"`, the old binary
/// as the baseline peer; see docs/benchmarks.md).
///
/// What it costs: under that overload a stream falls `SUBSCRIBER_BUFFER` events behind
/// sooner and is told to reconnect (it resumes from its last id): 0–303 of 5,000 streams per
/// run, against 0–240 with 16 KiB. An ordinary stream never notices: 4 KiB is twenty events
/// of a market tick, and a chunk larger than the limit (a snapshot) is queued whole.
const MAX_SEND_BUF_PER_STREAM: usize = 4 * 1024;

/// HTTP/1.1: the whole request head must arrive within this, or the connection is closed —
/// a client trickling a header byte at a time cannot hold a connection slot.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Pause after a failed `accept` (typically EMFILE: out of file descriptors) before trying again,
/// instead of spinning on an error that only time (closing connections) can clear.
const ACCEPT_ERROR_BACKOFF: Duration = Duration::from_millis(100);

/// Serves `app` over TLS on `listener` until the drain begins, then drains.
///
/// Returns once every connection has closed or the drain deadline has passed.
///
/// Every connection gets its own task, so a slow handshake or a long-lived stream never holds
/// up the loop, and the loop itself only ever waits on `accept` or the drain.
pub async fn serve(
    listener: TcpListener,
    tls: Arc<ServerConfig>,
    app: Router,
    registry: Arc<Registry>,
    shutdown: Shutdown,
) {
    // One acceptor (an `Arc` of the config inside) cloned into every connection task; one
    // graceful-shutdown tracker that every connection registers with.
    let acceptor = TlsAcceptor::from(tls);
    let graceful = GracefulShutdown::new();

    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // Out of file descriptors, usually: warn and wait for connections to close,
                // rather than spin on an error only time can clear, or exit and drop them all.
                Err(error) => {
                    tracing::warn!(%error, "accept failed; backing off");
                    tokio::time::sleep(ACCEPT_ERROR_BACKOFF).await;
                    continue;
                }
            },
            () = shutdown.begun() => break,
        };

        // Nagle's algorithm off: an event is written the moment it is ready (`Coalesce` already
        // gathers a tick's events into one write). With it on, a write while an earlier one is
        // unacknowledged waits for the ACK, which the client's delayed ACK holds up to 40 ms.
        // An error only means the socket is already gone; the handshake will find that out.
        let _ = tcp.set_nodelay(true);
        // The kernel, too, gives up on a client that stops reading (stall.rs says why).
        crate::server::transport::stall::set_tcp_user_timeout(&tcp);
        // Numbered at accept, before the handshake: a connection that fails TLS still used a
        // number, which keeps ids in log lines unique for the process's life.
        let id = registry.next_connection_id();
        tokio::spawn(serve_connection(
            tcp,
            peer,
            id,
            acceptor.clone(),
            app.clone(),
            registry.clone(),
            graceful.watcher(),
        ));
    }

    shutdown
        .within_deadline(graceful.count(), graceful.shutdown())
        .await;
}

/// Completes the TLS handshake, then serves HTTP on the connection until it closes.
async fn serve_connection(
    tcp: TcpStream,
    peer: SocketAddr,
    id: ConnectionId,
    acceptor: TlsAcceptor,
    app: Router,
    registry: Arc<Registry>,
    watcher: Watcher,
) {
    // The handshake is the one phase a client controls completely before we know anything
    // about it, so it is the one with a deadline of its own: a socket that connects and says
    // nothing costs us a file descriptor until the timeout, not forever.
    //
    // The TLS stream (rustls's connection state, 1.2 KB) is boxed at once. Unboxed, this
    // function's future kept it twice for the connection's whole life: once in the local that
    // the handshake returned, and once moved into the HTTP connection — an `async fn` keeps a
    // moved-from local's space (rust-lang/rust#62958). Boxed, each of those is a pointer: the
    // connection's task fell from 4,712 to 2,288 bytes (`size_of` of this future, release
    // build), 1.2 KB per connection net of the box.
    let tls = match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
        Ok(Ok(tls)) => Box::new(tls),
        Ok(Err(error)) => {
            tracing::debug!(connection = id.get(), %peer, %error, "TLS handshake failed");
            return;
        }
        Err(_elapsed) => {
            tracing::debug!(connection = id.get(), %peer, "TLS handshake timed out");
            return;
        }
    };

    // ALPN has spoken: the protocol is fixed for the life of the connection. Serve exactly that
    // one, so the label we attach is the truth (auto-detection would also accept an HTTP/2
    // preface on a connection that negotiated http/1.1).
    let protocol = match tls.get_ref().1.alpn_protocol() {
        Some(b"h2") => Protocol::Http2,
        _ => Protocol::Http1,
    };
    let http = match protocol {
        Protocol::Http2 => {
            let mut builder = auto::Builder::new(TokioExecutor::new());
            builder
                .http2()
                // hyper's default is 200; Chromium opens up to 256 streams on a connection.
                .max_concurrent_streams(MAX_STREAMS_PER_CONNECTION)
                .max_header_list_size(MAX_HEADER_BYTES as u32)
                .max_pending_accept_reset_streams(MAX_PENDING_ACCEPT_RESETS)
                .max_send_buf_size(MAX_SEND_BUF_PER_STREAM)
                .timer(TokioTimer::new())
                .keep_alive_interval(PING_INTERVAL)
                .keep_alive_timeout(PING_TIMEOUT);
            builder.http2_only()
        }
        // HTTP/1.1: keep-alive on (the browser reuses a connection once a stream on it ends),
        // one request at a time per connection — the limit this listener exists to show — and
        // the head bounded in size and in time.
        Protocol::Http1 => {
            let mut builder = auto::Builder::new(TokioExecutor::new());
            builder
                .http1()
                .max_buf_size(MAX_HEADER_BYTES)
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT);
            builder.http1_only()
        }
    };

    // What every request on this connection will carry in its extensions: the stream handler
    // reads it for `hello`, the `which_connection` server function returns it to the page.
    let info = ConnectionInfo { id, protocol, peer };
    tracing::info!(connection = id.get(), %peer, %protocol, "connection opened");
    // Listed in `/api/stats` until this function returns, however the connection ends.
    let _registered = registry.open_connection(&info);

    // Made once per connection and cloned per response: a number's header value never changes.
    let id_header = HeaderValue::from(id.get());
    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        // The connection's label travels with the request: handlers read it through
        // `Extension<ConnectionInfo>`, server functions through `leptos_axum::extract`.
        request.extensions_mut().insert(info.clone());
        let app = app.clone();
        let id_header = id_header.clone();
        // Boxed: hyper runs each HTTP/2 request in a task sized for its largest state, and an
        // event stream's task lives as long as the stream. Unboxed, the request-handling future
        // (a whole `Request` and the router's future) would keep ~700 bytes per open stream
        // after it has finished; boxed, it is freed when the response starts.
        Box::pin(async move {
            // `Router`'s error type is `Infallible`: every failure is already a response.
            let mut response = app.oneshot(request).await?;
            let headers = response.headers_mut();
            headers.insert(CONNECTION_ID_HEADER, id_header);
            never_indexed(headers);
            Ok::<_, Infallible>(response)
        })
    });

    // `with_upgrades` so cargo-leptos's live-reload websocket works over HTTP/1.1; `into_owned`
    // so the connection future owns its builder and can be handed to the graceful watcher.
    // The IO is wrapped in `Coalesce`, so the events of one tick leave in one write, and in
    // `WriteStall`, so a client that stops reading is closed instead of held forever.
    // (The stall watch inside: `Coalesce`'s own deliberate `Pending` is not a stall.)
    let io = Coalesce::new(WriteStall::new(tls));
    let connection = http
        .serve_connection_with_upgrades(TokioIo::new(io), service)
        .into_owned();
    // The watcher lets the drain ask this connection to finish (GOAWAY on HTTP/2, close after
    // the current response on HTTP/1.1) and tells the drain when it has.
    if let Err(error) = watcher.watch(connection).await {
        tracing::debug!(connection = id.get(), %peer, %error, "connection ended with an error");
    }
    tracing::info!(connection = id.get(), %peer, "connection closed");
}

/// Marks every header of a response "never indexed" for HTTP/2's header compression (HPACK,
/// RFC 7541 §6.2.3), so none of them enters the connection's encoder table.
///
/// Why: HPACK lets the encoder keep the headers it has sent in a table that lives as long as
/// the connection, so a repeated header costs one byte the next time. h2 keeps the entries in a
/// table that grows by doubling past six of them and never shrinks, and lets it grow to what
/// the client allows (4 KiB of headers from most clients, 64 KiB from Chromium): h2 has no
/// setting to keep it smaller. Every response here carries headers a bare SSE server does not
/// (`x-connection-id`, `x-instance`, HSTS, `nosniff`, `referrer-policy`, the CORS ones; a
/// page's CSP even names a fresh nonce), and indexed they held ~1.3 KiB of every connection for
/// its life: per added connection 28.0 / 27.7 / 27.7 KiB before, 26.4 / 26.5 / 26.2 after, the
/// naive handler 26.4 / 26.3 / 26.4 (three same-run repeats, `tickerplex-load suite --peers
/// tickerplex,tickerplex-baseline,naive --only "h2, 10k/s"`; BENCHMARKS.md).
///
/// What it costs: those headers travel in full on every response instead of as a byte each
/// after the first. An event stream's response head is 161 bytes instead of 11 (`nghttp -nv`
/// with three streams on one connection): 150 bytes once per stream, when it opens; at 240
/// streams a connection the RSS per stream did not move beyond its spread (six pairs, −209 to
/// +215 B). `date`, which hyper adds after this, is still indexed. HTTP/1.1 has no header
/// table, so there the mark changes nothing.
fn never_indexed(headers: &mut axum::http::HeaderMap) {
    for value in headers.values_mut() {
        value.set_sensitive(true);
    }
}

/// The start-up lines a newcomer reads: which URL to open, and what each port speaks.
/// `localhost`, not the bound IP: browsers key HTTP/2 sessions by origin, and the dev
/// certificate names `localhost`.
///
/// Read back from the listeners rather than from the configuration, so with port 0 (tests, or
/// an operator who asks for any free port) the line shows the port actually bound.
pub fn log_listening(https: &TcpListener, http1: Option<&TcpListener>, cert: &std::path::Path) {
    if let Ok(addr) = https.local_addr() {
        tracing::info!(
            url = %format!("https://localhost:{}", addr.port()),
            %addr,
            cert = %cert.display(),
            "tickerplex is serving (HTTPS, HTTP/2 via ALPN)"
        );
    }
    if let Some(Ok(addr)) = http1.map(TcpListener::local_addr) {
        tracing::info!(
            url = %format!("https://localhost:{}", addr.port()),
            %addr,
            "also serving HTTP/1.1 only (browsers open at most 6 connections per host here)"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{header, HeaderMap};

    /// Every header a response leaves with is marked never-indexed, whichever layer set it and
    /// whatever its name, so none of them can enter an HTTP/2 connection's HPACK table.
    #[test]
    fn every_response_header_leaves_never_indexed() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/event-stream"),
        );
        headers.insert(CONNECTION_ID_HEADER, HeaderValue::from(7u64));
        headers.append(header::VARY, HeaderValue::from_static("origin"));
        headers.append(
            header::VARY,
            HeaderValue::from_static("access-control-request-method"),
        );
        never_indexed(&mut headers);

        assert_eq!(headers.values().count(), 4, "no header is dropped");
        assert!(headers.values().all(HeaderValue::is_sensitive));
    }
}
