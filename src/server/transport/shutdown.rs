//! Graceful shutdown: one [`Shutdown`] owns the drain from the signal to the last byte.
//!
//! What it owns: the moment draining begins (a `CancellationToken`), the OS signals that begin
//! it, telling every open stream to say `shutdown` and end, and the deadline after which the
//! connections still open are given up on. Every other module *asks* it — the accept loop
//! "have we begun?", a new stream "am I opening during the drain?", the feed "should I stop?" —
//! and none of them decides on its own, so what Ctrl-C does is read in one file, not five
//! (`main`, the router, the stream handler, the topics and the accept loop would each hold a
//! piece otherwise).
//!
//! Not here: *how* a stream says goodbye (the jittered `retry:` is [`crate::server::stream`]'s), or how a
//! connection is closed (HTTP/2 GOAWAY is hyper's, driven by [`crate::server::transport::connection`]).
//!
//! The order of a drain, and why:
//! 1. [`Shutdown::begin`] marks the server draining, then sends [`Live::Shutdown`](crate::server::pubsub::log::Live::Shutdown) on every
//!    topic's channel. An SSE response never ends by itself; without step 2 each open stream
//!    would hold its connection open until the deadline, and every browser would reconnect at
//!    the same instant when the process died. With it, each stream sends `shutdown` with a
//!    jittered `retry:` and ends, so the reconnects spread out.
//! 2. The accept loop stops accepting and asks each connection to finish (GOAWAY).
//! 3. [`Shutdown::within_deadline`] bounds that wait by [`DRAIN_TIMEOUT`].
//!
//! As in mini-redis, the signal is only one way to begin: tests call [`Shutdown::begin`]
//! themselves, so a drain is tested without sending the test process a real signal.

use axum::extract::State;
use axum::http::StatusCode;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How long the drain waits for open connections to finish before giving up on them. Long
/// enough for in-flight requests (an order, a page) to complete; short enough that Ctrl-C in a
/// terminal feels immediate. Streams do not need it: they end as soon as they are told.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// The handle every part of the server asks about draining. Cloning is cheap (two `Arc`s), and
/// every clone sees the same drain.
#[derive(Clone)]
pub struct Shutdown {
    /// Cancelled once, when the drain begins. A `CancellationToken` rather than a `watch`
    /// channel: it is exactly "a flag you can also await", and clones are independent waiters.
    draining: CancellationToken,
    /// How to tell every open stream. A stream waits on its topic's channel only (one wake-up
    /// source per stream is what keeps 200k streams cheap — see
    /// [`crate::server::pubsub::log::Live`]), so the goodbye has to travel on that channel
    /// rather than through a token every stream would also poll. The assembly says how
    /// (`topics.signal(Live::Shutdown)`): the transport knows that streams exist, not topics.
    tell_streams: Arc<dyn Fn() + Send + Sync>,
}

impl Shutdown {
    /// A drain that has not begun; `tell_streams` is called once, when it begins.
    pub fn new(tell_streams: impl Fn() + Send + Sync + 'static) -> Shutdown {
        Shutdown {
            draining: CancellationToken::new(),
            tell_streams: Arc::new(tell_streams),
        }
    }

    /// Begins the drain: from now on the server is draining, and every stream open now is told.
    /// Calling it again does nothing (a second Ctrl-C does not re-send goodbyes).
    pub fn begin(&self) {
        if self.draining.is_cancelled() {
            return;
        }
        // Flag first, tell second: a stream that subscribes in between misses the broadcast but
        // sees the flag (it checks after subscribing), so no stream can miss both.
        self.draining.cancel();
        (self.tell_streams)();
        tracing::info!("draining: every open stream has been told to reconnect elsewhere");
    }

    /// Whether the drain has begun. A stream opened after the broadcast asks this and says
    /// goodbye right after its prelude.
    /// A plain load of the token's flag: cheap enough to ask on every new stream.
    pub fn is_draining(&self) -> bool {
        self.draining.is_cancelled()
    }

    /// Completes when the drain begins (the accept loop's and the feed's stop condition).
    /// Cancel-safe, and any number of tasks may wait at once.
    pub async fn begun(&self) {
        self.draining.cancelled().await;
    }

    /// Runs `connections_closed` (hyper's graceful close of every connection) for at most
    /// [`DRAIN_TIMEOUT`]. Past it, the remaining connections are dropped with the process: a
    /// client that never finishes must not keep the server alive.
    pub async fn within_deadline(&self, open: usize, connections_closed: impl Future<Output = ()>) {
        tracing::info!(open_connections = open, "draining connections");
        match tokio::time::timeout(DRAIN_TIMEOUT, connections_closed).await {
            Ok(()) => tracing::info!("all connections closed"),
            Err(_elapsed) => tracing::warn!(
                timeout_secs = DRAIN_TIMEOUT.as_secs(),
                "connections still open after the drain timeout; closing them"
            ),
        }
    }

    /// Begins the drain on the first Ctrl-C (SIGINT) or SIGTERM (what `kill`, systemd, a
    /// container runtime and `cargo leptos watch` send).
    ///
    /// The handlers are installed *here*, before the server accepts anyone, so a failure is a
    /// start-up error the operator sees — not a panic inside a spawned task that would leave a
    /// server which silently never drains. Only the waiting happens in the background.
    pub fn begin_on_signal(&self) -> std::io::Result<()> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let mut interrupt = signal(SignalKind::interrupt())?;
            let mut terminate = signal(SignalKind::terminate())?;
            let shutdown = self.clone();
            tokio::spawn(async move {
                tokio::select! {
                    _ = interrupt.recv() => tracing::info!(signal = "SIGINT", "shutdown requested"),
                    _ = terminate.recv() => tracing::info!(signal = "SIGTERM", "shutdown requested"),
                }
                // A second signal does nothing more here: the drain is bounded by its own deadline,
                // and an operator who wants it over now sends SIGKILL.
                shutdown.begin();
            });
        }
        #[cfg(not(unix))]
        {
            // Elsewhere only Ctrl-C exists; tokio installs its handler on first poll, so its
            // error can only be reported, not returned.
            let shutdown = self.clone();
            tokio::spawn(async move {
                match tokio::signal::ctrl_c().await {
                    Ok(()) => shutdown.begin(),
                    Err(error) => {
                        tracing::error!(%error, "cannot listen for Ctrl-C; stop the process another way")
                    }
                }
            });
        }
        Ok(())
    }
}

/// `GET /readyz`: 200 while this instance takes new streams, 503 from the moment its drain
/// begins. An edge's health check (HAProxy's `option httpchk`) takes a draining instance out
/// of its rotation at once, so no new stream lands where it would only be told `shutdown`.
///
/// Only the drain counts, not the shared log's health: with Redis down every instance is
/// equally unable, and taking them all out would turn the SSE-way answer (200 + `retry:`,
/// which browsers follow) into the edge's 503 (which an `EventSource` never retries).
pub async fn readyz(State(shutdown): State<Shutdown>) -> (StatusCode, &'static str) {
    if shutdown.is_draining() {
        (StatusCode::SERVICE_UNAVAILABLE, "draining\n")
    } else {
        (StatusCode::OK, "ready\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `/readyz` answers 200 until the drain begins, and 503 from that moment on.
    #[tokio::test]
    async fn readiness_turns_503_the_moment_the_drain_begins() {
        let shutdown = Shutdown::new(|| {});
        assert_eq!(readyz(State(shutdown.clone())).await.0, StatusCode::OK);
        // The moment the drain begins, with nothing else changed: an edge's health check must
        // see the instance go unready before its connections are asked to close.
        shutdown.begin();
        assert_eq!(
            readyz(State(shutdown)).await.0,
            StatusCode::SERVICE_UNAVAILABLE
        );
    }
}
