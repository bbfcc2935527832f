//! The things that stand between a browser and its stream in real deployments, each as the
//! mechanism itself, acting on the response body's bytes: a proxy's buffers, a proxy's idle
//! timeout, a gateway that cuts its streams and answers 503 while the instance behind it
//! restarts, a compressor that never flushes, a slow link.
//!
//! Each works on whatever body passes through it, never on the events it carries: what it
//! does to a stream is what the real one would do.
//!
//! Past 300 lines as one concept: the catalogue of mechanisms, each a short function over a
//! body, read side by side to compare what each does to the same bytes.

use crate::server::pubsub::topics::Live;
use axum::body::{Body, BodyDataStream};
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::{Bytes, BytesMut};
use flate2::write::GzEncoder;
use flate2::Compression;
use futures_util::{Stream, StreamExt};
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{broadcast, watch};
use tokio::time::Instant;

/// The proxy's buffer: one memory page, nginx's `proxy_buffer_size` on most platforms.
pub const PROXY_BUFFER: usize = 4 * 1024;
/// The proxy's idle timeout (nginx's `proxy_read_timeout`, HAProxy's `timeout server`):
/// short, to see it act within seconds; real ones are 30–60 s, against a 15 s keep-alive.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(3);

/// The right way's keep-alive, against [`IDLE_TIMEOUT`].
pub const FREQUENT_KEEP_ALIVE: Duration = Duration::from_secs(1);

/// The slow link's pace: one body chunk per this long.
pub const SLOW_LINK: Duration = Duration::from_millis(500);

/// Replaces `response`'s body with `reshape` of its bytes.
///
/// The status and headers pass unchanged, as through a real proxy: only the bytes' timing and
/// grouping change, which is the whole of what these faults do to a stream.
fn map_body<S>(response: Response, reshape: impl FnOnce(BodyDataStream) -> S) -> Response
where
    S: Stream<Item = Result<Bytes, axum::Error>> + Send + 'static,
{
    let (parts, body) = response.into_parts();
    Response::from_parts(parts, Body::from_stream(reshape(body.into_data_stream())))
}

/// A compressor as most are written (Express's `compression` without `res.flush()`, a proxy's
/// gzip with its buffers): it sends what gzip has produced, and never asks it to flush. Deflate
/// keeps its input until it has enough for a block — tens of kilobytes of events — so the
/// browser gets the gzip header and then nothing. Only for clients that accept gzip.
pub async fn gzip_unflushed(request: Request, next: Next) -> Response {
    // Read before the request moves on: a compressor decides by the request's header and acts
    // on the response's body.
    let accepts_gzip = request
        .headers()
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .any(|value| value.contains("gzip"));
    let response = next.run(request).await;
    if !accepts_gzip {
        return response;
    }
    let mut response = map_body(response, |body| {
        let gzip = GzEncoder::new(Vec::new(), Compression::default());
        // `unfold` over (body, encoder): each step feeds chunks in until deflate emits bytes —
        // which, without a flush, it does only when a block fills. That wait IS the fault.
        futures_util::stream::unfold(Some((body, gzip)), |state| async move {
            let (mut body, mut gzip) = state?;
            loop {
                let written = match body.next().await {
                    Some(Ok(bytes)) => gzip.write_all(&bytes),
                    Some(Err(error)) => return Some((Err(error), None)),
                    // The stream ended (a cut, the drain): `finish` writes what deflate held, so
                    // the browser gets every event at once, at the very end.
                    None => {
                        let rest = gzip.finish().map_err(axum::Error::new);
                        return Some((rest.map(Bytes::from), None));
                    }
                };
                if let Err(error) = written {
                    return Some((Err(axum::Error::new(error)), None));
                }
                // Whatever deflate has emitted so far; usually nothing.
                let out = std::mem::take(gzip.get_mut());
                if !out.is_empty() {
                    return Some((Ok(Bytes::from(out)), Some((body, gzip))));
                }
            }
        })
    });
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    // The length changes with the encoding (a stream has none anyway), and a cache in front
    // must keep the gzip and the plain answer apart.
    headers.remove(header::CONTENT_LENGTH);
    headers.append(header::VARY, HeaderValue::from_static("accept-encoding"));
    response
}

/// A proxy with buffering on (nginx's default, `proxy_buffering on`): it passes the body on a
/// buffer at a time, unless the response says `X-Accel-Buffering: no`, which nginx honours.
pub async fn buffering_proxy(response: Response) -> Response {
    let unbuffered = response
        .headers()
        .get("x-accel-buffering")
        .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"no"));
    if unbuffered {
        return response;
    }
    map_body(response, |body| {
        // Bytes are held until the buffer is full, however long that takes: a quiet topic's
        // events arrive minutes late, a busy one's in 4 KiB clumps.
        futures_util::stream::unfold(Some((body, BytesMut::new())), |state| async move {
            let (mut body, mut held) = state?;
            loop {
                match body.next().await {
                    Some(Ok(bytes)) => {
                        held.extend_from_slice(&bytes);
                        if held.len() >= PROXY_BUFFER {
                            let full = held.split().freeze();
                            return Some((Ok(full), Some((body, held))));
                        }
                    }
                    Some(Err(error)) => return Some((Err(error), None)),
                    // At the end, what was held goes out: a proxy flushes a finished response.
                    None if held.is_empty() => return None,
                    None => return Some((Ok(held.freeze()), None)),
                }
            }
        })
    })
}

/// The app that forgot to tell proxies not to buffer its stream.
///
/// Layered inside the buffering proxy on the wrong way's route, so the proxy sees a response
/// without the header — the one-line omission the card is about.
pub async fn forget_accel_buffering(mut response: Response) -> Response {
    response.headers_mut().remove("x-accel-buffering");
    response
}

/// A proxy's idle timeout: the body ends when nothing has passed for [`IDLE_TIMEOUT`]. Any
/// byte counts, a keep-alive comment as much as an event — which is what keep-alives are for.
pub async fn idle_timeout(response: Response) -> Response {
    map_body(response, |body| {
        futures_util::stream::unfold(body, |mut body| async move {
            match tokio::time::timeout(IDLE_TIMEOUT, body.next()).await {
                Ok(Some(item)) => Some((item, body)),
                // The body ended, or the proxy gave up on it: either way the browser sees the
                // stream end, and reconnects.
                Ok(None) | Err(_) => None,
            }
        })
    })
}

/// The idle-timeout fault's right way, on the app's side: a keep-alive comment whenever the
/// stream has been silent for [`FREQUENT_KEEP_ALIVE`], well inside the proxy's idle timeout.
/// (The server's own keep-alive comes from its beat, every 15 s by default: the wrong way.)
pub async fn frequent_keep_alive(response: Response) -> Response {
    map_body(response, |body| {
        futures_util::stream::unfold(body, |mut body| async move {
            match tokio::time::timeout(FREQUENT_KEEP_ALIVE, body.next()).await {
                Ok(Some(item)) => Some((item, body)),
                Ok(None) => None,
                // Between two chunks, never inside one: each chunk is whole events.
                Err(_) => Some((Ok(crate::server::sse::comment("keep-alive")), body)),
            }
        })
    })
}

/// A reader on a slow link: the first chunk (`hello` and the prelude) at once, then one chunk
/// per [`SLOW_LINK`] — the body is not even asked for the next one before then, exactly as
/// when the connection's window is full.
pub async fn slow_link(response: Response) -> Response {
    map_body(response, |body| {
        // The sleep comes before the next read, not after it: the outbox's next chunk is not
        // even produced until the link is ready — backpressure, as hyper applies it.
        futures_util::stream::unfold((body, true), |(mut body, first)| async move {
            if !first {
                tokio::time::sleep(SLOW_LINK).await;
            }
            let item = body.next().await?;
            Some((item, (body, false)))
        })
    })
}

/// A stream's own channel of `capacity`, fed from the topic's: the outbox's receiver then lags
/// (and the server cuts it) `capacity` events behind instead of the topic's bound.
pub fn relay(mut topic: broadcast::Receiver<Live>, capacity: usize) -> broadcast::Receiver<Live> {
    let (sender, receiver) = broadcast::channel(capacity);
    tokio::spawn(async move {
        // Ends on the stream's end (no receiver), the topic's, and a lag of its own — which
        // closes the stream's channel, so the stream ends and resumes rather than skip events.
        while let Ok(live) = topic.recv().await {
            if sender.send(live).is_err() {
                break;
            }
        }
    });
    receiver
}

/// An event that lasts a while: fired by a POST, seen by the streams open at that moment (they
/// are cut) and by the requests that arrive before it is over.
#[derive(Clone)]
pub struct Trigger {
    /// When the outage ends (`None`: never fired). A `std` mutex: read and written in a moment,
    /// never across an `.await`.
    until: Arc<Mutex<Option<Instant>>>,
    /// How many times it fired. A `watch` rather than a `broadcast`: a stream behind the
    /// gateway only needs to learn that it changed, and a watch cannot lag.
    fired: Arc<watch::Sender<u64>>,
}

/// Never fired: the gateway passes every request on.
impl Default for Trigger {
    fn default() -> Trigger {
        Trigger {
            until: Arc::default(),
            fired: Arc::new(watch::channel(0).0),
        }
    }
}

impl Trigger {
    /// Starts the fault now, for `lasting`, and cuts every stream open behind it.
    pub fn fire(&self, lasting: Duration) {
        *self
            .until
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(Instant::now() + lasting);
        self.fired.send_modify(|times| *times += 1);
    }

    /// Whether the fault is still going on.
    fn active(&self) -> bool {
        self.until
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .is_some_and(|until| Instant::now() < until)
    }
}

/// What a gateway answers while its trigger is in force.
#[derive(Clone, Copy, Debug)]
pub enum Outage {
    /// `503 Service Unavailable`: what nginx and HAProxy answer when no instance is up. Any
    /// status but 200 makes an `EventSource` give up for good.
    Unavailable,
    /// `200`, `retry: 1000` and the end: the SSE way to say "come back in a second", which
    /// the browser obeys by itself.
    RetryLater,
    /// `204 No Content`: the SSE way to say "stop reconnecting".
    NoContent,
}

/// Each answer as the real gateway, or the app behind it, would write it.
impl IntoResponse for Outage {
    fn into_response(self) -> Response {
        match self {
            Outage::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "503 Service Unavailable: the instance behind this gateway is restarting\n",
            )
                .into_response(),
            Outage::RetryLater => (
                [
                    (header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream")),
                    (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
                ],
                // A 200 whose body ends at once: the browser treats the end as a dropped connection
                // and reconnects after the `retry:` it just read.
                "retry: 1000\n: the instance behind this gateway is restarting; come back in a second\n\n",
            )
                .into_response(),
            Outage::NoContent => StatusCode::NO_CONTENT.into_response(),
        }
    }
}

/// A gateway in front of the stream: while `trigger` is in force it answers `outage` itself;
/// otherwise it passes the request on, and cuts the stream the moment the trigger fires.
pub async fn gateway(trigger: Trigger, outage: Outage, request: Request, next: Next) -> Response {
    if trigger.active() {
        return outage.into_response();
    }
    // Watched before the stream opens: a trigger fired in between is seen at once.
    let fired = trigger.fired.subscribe();
    let response = next.run(request).await;
    map_body(response, move |body| {
        futures_util::stream::unfold((body, fired), |(mut body, mut fired)| async move {
            tokio::select! {
                item = body.next() => item.map(|item| (item, (body, fired))),
                // Fired (or the gateway is gone): the connection to the instance is lost.
                _ = fired.changed() => None,
            }
        })
    })
}

#[cfg(test)]
mod tests;
