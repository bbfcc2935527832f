//! `GET /api/topics/{topic}/events`: one topic, as an SSE stream (or a JSON snapshot).
//!
//! The life of a stream:
//! 1. **Negotiate** on `Accept`: `text/event-stream` (or anything that allows it, like `*/*`)
//!    gets the stream; `application/json` gets the topic's snapshot and current id; an `Accept`
//!    that allows neither gets 406. An unknown topic is 404.
//! 2. **Resume or start**: the browser's `Last-Event-ID` header (or `?last_event_id=`, which the
//!    server-rendered page hands to its widget) picks replay or a fresh snapshot — see
//!    [`super::topics`].
//! 3. **Send**: `retry:` first (how long the browser waits before reconnecting), then `hello`
//!    (this connection's id and protocol), then the prelude, then live events as they happen.
//!    A comment keeps idle streams open through proxies that drop silent connections: sent after
//!    one keep-alive interval without an event, so a busy stream never pays for one.
//! 4. **End**: the client goes away (hyper drops the body; the [`StreamGuard`] unregisters it);
//!    or it falls [`SUBSCRIBER_BUFFER`](super::topics::SUBSCRIBER_BUFFER) events behind and is
//!    closed so that it resumes; or the server shuts down, and the stream gets a `shutdown` event
//!    with a jittered `retry` so a thousand browsers do not reconnect in the same millisecond;
//!    or a [fault drill](super::drills) cuts it off with no goodbye, as a lost connection would.
//!    Shutdown and the drill reach each stream as a [`Live`] signal on its topic's channel,
//!    behind the events already queued, so a stream waits on one thing only: its channel (and a
//!    keep-alive timer).
//!
//! Headers: `text/event-stream`, `cache-control: no-cache` (a cached stream is a dead stream),
//! and `x-accel-buffering: no` (nginx would otherwise buffer it). The router has no compression
//! layer, so a stream is never compressed whatever `Accept-Encoding` asks; a compressor would
//! hold events back until its buffer filled.

use super::registry::StreamGuard;
use super::routes::AppState;
use super::routes::StreamConfig;
use super::sse;
use super::topics::{Live, Subscription, Topics};
use crate::model::{ConnectionInfo, Hello, Shutdown, TopicName};
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use bytes::Bytes;
use rand::Rng;
use serde::Deserialize;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio_util::sync::CancellationToken;

/// Query parameters of the events URL.
#[derive(Debug, Default, Deserialize)]
pub struct ResumeQuery {
    /// For clients that cannot set headers on the first request (an `EventSource` cannot): the
    /// id the server-rendered snapshot was taken at.
    pub last_event_id: Option<String>,
}

/// `/api/topics/{topic}/events`
pub async fn topic_events(
    State(state): State<AppState>,
    Path(topic): Path<String>,
    Extension(connection): Extension<ConnectionInfo>,
    Query(query): Query<ResumeQuery>,
    headers: HeaderMap,
) -> Response {
    events(state, &topic, connection, query, &headers)
}

/// `/api/topics/sector/{slug}/events` — the path router cannot match `{topic}` across a `/`.
pub async fn sector_events(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Extension(connection): Extension<ConnectionInfo>,
    Query(query): Query<ResumeQuery>,
    headers: HeaderMap,
) -> Response {
    events(
        state,
        &format!("sector/{slug}"),
        connection,
        query,
        &headers,
    )
}

fn events(
    state: AppState,
    path: &str,
    connection: ConnectionInfo,
    query: ResumeQuery,
    headers: &HeaderMap,
) -> Response {
    let Some(topic) = TopicName::parse(path)
        .ok()
        .and_then(|name| state.topics.get(&name))
    else {
        return (
            StatusCode::NOT_FOUND,
            format!("no topic {path:?}; GET /api/topics lists them\n"),
        )
            .into_response();
    };
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("*/*");
    match negotiate(accept) {
        Some(Representation::Json) => Json(topic.snapshot()).into_response(),
        None => (
            StatusCode::NOT_ACCEPTABLE,
            "this URL serves text/event-stream (or application/json for a snapshot)\n",
        )
            .into_response(),
        Some(Representation::EventStream) => {
            // The header wins over the query: it is what the browser sends when it reconnects.
            let last_event_id = headers
                .get("last-event-id")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
                .or(query.last_event_id);
            let subscription = topic.subscribe(last_event_id.as_deref());
            event_stream(&state, topic.name().clone(), connection, subscription)
        }
    }
}

/// Waits for the drain to begin, then sends every open stream the shutdown signal.
pub async fn goodbye_on_shutdown(topics: Arc<Topics>, shutdown: CancellationToken) {
    shutdown.cancelled().await;
    topics.signal(Live::Shutdown);
}

#[derive(Debug, PartialEq, Eq)]
enum Representation {
    EventStream,
    Json,
}

/// Picks the representation from an `Accept` header: the event stream if it is acceptable at
/// all, else JSON, else nothing. Media ranges with `q=0` are refusals.
fn negotiate(accept: &str) -> Option<Representation> {
    let acceptable: Vec<&str> = accept
        .split(',')
        .filter_map(|range| {
            let mut parts = range.split(';').map(str::trim);
            let media = parts.next()?;
            let refused = parts
                .filter_map(|param| param.split_once('='))
                .any(|(name, value)| {
                    name.trim().eq_ignore_ascii_case("q") && value.trim().parse::<f32>() == Ok(0.0)
                });
            (!refused && !media.is_empty()).then_some(media)
        })
        .collect();
    let allows = |exact: &str, family: &str| {
        acceptable
            .iter()
            .any(|m| m.eq_ignore_ascii_case(exact) || m.eq_ignore_ascii_case(family) || *m == "*/*")
    };
    if allows("text/event-stream", "text/*") {
        Some(Representation::EventStream)
    } else if allows("application/json", "application/*") {
        Some(Representation::Json)
    } else {
        None
    }
}

fn event_stream(
    state: &AppState,
    topic: TopicName,
    connection: ConnectionInfo,
    subscription: Subscription,
) -> Response {
    // The accept loop puts the connection into every request (server::connection).
    let (guard, streams_on_connection) = state.registry.open_stream(connection.id);
    tracing::info!(topic = %topic, connection = connection.id.get(), start = ?subscription.start, "stream opened");

    let hello = Hello {
        topic: topic.clone(),
        connection: connection.id,
        protocol: connection.protocol,
        streams_on_connection,
        start: subscription.start,
    };
    let hello = serde_json::to_string(&hello).expect("hello serialises");
    let hello = sse::Event::new("hello", &hello)
        .retry(state.streams.retry)
        .to_bytes();
    // `hello` and the snapshot (or replay) leave as ONE body chunk, so one HTTP/2 DATA frame
    // rather than one per event: when hundreds of streams open at once, fewer frames queue up
    // in the connection (h2's frame queue keeps the capacity of its busiest moment).
    let mut first = bytes::BytesMut::with_capacity(
        hello.len() + subscription.prelude.iter().map(Bytes::len).sum::<usize>(),
    );
    first.extend_from_slice(&hello);
    for bytes in &subscription.prelude {
        first.extend_from_slice(bytes);
    }
    let prelude = VecDeque::from([first.freeze()]);

    // A stream opened after the drain began (a new request on an open HTTP/2 connection) missed
    // the broadcast shutdown signal: it says goodbye at once. (Subscribed first, checked second:
    // a signal sent in between is in its receiver.)
    let draining = state.shutdown.is_cancelled();
    let body = Outbox::new(prelude, subscription.live, &state.streams, draining, guard);
    let stream = futures_util::stream::unfold(body, |mut outbox| async move {
        let bytes = outbox.next().await?;
        Some((Ok::<_, Infallible>(bytes), outbox))
    });

    let mut response = Body::from_stream(stream).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

/// What is still to be sent on one stream.
struct Outbox {
    prelude: VecDeque<Bytes>,
    live: broadcast::Receiver<Live>,
    /// Ticks every half keep-alive interval; see [`Outbox::next`].
    keep_alive: tokio::time::Interval,
    /// Keep-alive ticks since the last thing sent.
    quiet_ticks: u8,
    retry: Duration,
    done: bool,
    /// Unregisters the stream when the body is dropped, for whatever reason.
    _guard: StreamGuard,
}

impl Outbox {
    fn new(
        prelude: VecDeque<Bytes>,
        live: broadcast::Receiver<Live>,
        config: &StreamConfig,
        draining: bool,
        guard: StreamGuard,
    ) -> Outbox {
        let half = config.keep_alive / 2;
        let mut keep_alive = tokio::time::interval_at(tokio::time::Instant::now() + half, half);
        keep_alive.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut outbox = Outbox {
            prelude,
            live,
            keep_alive,
            quiet_ticks: 0,
            retry: config.retry,
            done: false,
            _guard: guard,
        };
        if draining {
            let goodbye = outbox.goodbye();
            outbox.prelude.push_back(goodbye);
        }
        outbox
    }

    async fn next(&mut self) -> Option<Bytes> {
        if let Some(bytes) = self.prelude.pop_front() {
            return Some(bytes);
        }
        if self.done {
            return None;
        }
        loop {
            tokio::select! {
                biased;
                received = self.live.recv() => return match received {
                    Ok(Live::Event(frame)) => {
                        self.quiet_ticks = 0;
                        Some(frame.bytes)
                    }
                    Ok(Live::Shutdown) => Some(self.goodbye()),
                    Ok(Live::Interrupt) => None,
                    Err(RecvError::Lagged(missed)) => {
                        // Too slow: close, so the browser reconnects with its Last-Event-ID.
                        self.done = true;
                        tracing::warn!(missed, "slow subscriber cut off; it will resume from its last event id");
                        Some(sse::comment(&format!("fell {missed} events behind; closing so you resume")))
                    }
                    Err(RecvError::Closed) => None,
                },
                // A comment after a full interval without anything sent: the timer ticks every
                // half interval, and the second quiet tick in a row sends it. An event only
                // zeroes a counter, which is cheaper than moving a timer for every event.
                _ = self.keep_alive.tick() => {
                    self.quiet_ticks += 1;
                    if self.quiet_ticks == 2 {
                        self.quiet_ticks = 0;
                        return Some(sse::comment("keep-alive"));
                    }
                }
            }
        }
    }

    /// The `shutdown` event, with a `retry` spread over [retry, 3 × retry] so a restart is not a
    /// stampede; the stream ends after it.
    fn goodbye(&mut self) -> Bytes {
        self.done = true;
        let base = self.retry.as_millis() as u64;
        let retry_ms = rand::rng().random_range(base..=base * 3);
        let data = serde_json::to_string(&Shutdown { retry_ms }).expect("shutdown serialises");
        sse::Event::new("shutdown", &data)
            .retry(Duration::from_millis(retry_ms))
            .to_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Quote;
    use crate::server::topics::{Live, Topic, SUBSCRIBER_BUFFER};

    /// An outbox on `subscription`, with nothing in the prelude, not draining.
    fn outbox(subscription: Subscription, keep_alive: Duration) -> Outbox {
        outbox_with(VecDeque::new(), subscription, keep_alive, false)
    }

    /// An outbox with this prelude, draining or not, on a registry of its own.
    fn outbox_with(
        prelude: VecDeque<Bytes>,
        subscription: Subscription,
        keep_alive: Duration,
        draining: bool,
    ) -> Outbox {
        let config = StreamConfig {
            keep_alive,
            retry: Duration::from_secs(1),
        };
        let guard = std::sync::Arc::new(crate::server::registry::Registry::default())
            .open_stream(crate::model::ConnectionId::FIRST)
            .0;
        Outbox::new(prelude, subscription.live, &config, draining, guard)
    }

    /// Keep-alive comments are for idle streams: a stream that carried an event within the last
    /// interval gets none, and an idle one gets one per interval.
    #[tokio::test(start_paused = true)]
    async fn keep_alives_go_only_to_idle_streams() {
        let topic = Topic::new(TopicName::Movers, 1);
        let start = tokio::time::Instant::now();
        let mut outbox = outbox(topic.subscribe(None), Duration::from_secs(15));

        // Events at 10 s and 20 s, the outbox polled all along as a live stream is: no comment
        // in between.
        let publish_at = |secs: u64, price: f64| {
            let topic = &topic;
            async move {
                tokio::time::sleep_until(start + Duration::from_secs(secs)).await;
                topic.set_members(vec![Quote::fixture("AAA", price)], |_| String::new());
            }
        };
        let (next, ()) = tokio::join!(outbox.next(), publish_at(10, 2.0));
        assert!(String::from_utf8_lossy(&next.unwrap()).starts_with("event: add"));
        let (next, ()) = tokio::join!(outbox.next(), publish_at(20, 3.0));
        assert!(String::from_utf8_lossy(&next.unwrap()).starts_with("event: update"));

        // Silent since 20 s: a comment at the second quiet half-interval tick, 30 s — never
        // more than one interval (15 s) after the last event.
        let next = outbox.next().await.unwrap();
        assert_eq!(next, sse::comment("keep-alive"));
        assert_eq!(start.elapsed(), Duration::from_secs(30));

        // Idle: one comment per interval.
        assert_eq!(outbox.next().await.unwrap(), sse::comment("keep-alive"));
        assert_eq!(start.elapsed(), Duration::from_secs(45));
    }

    /// The signals that ride the live channel: `Shutdown` gets a goodbye with a jittered retry
    /// and ends the stream; `Interrupt` ends it with no goodbye; a stream opened while the server
    /// drains says goodbye after its prelude.
    #[tokio::test]
    async fn signals_end_the_stream() {
        let topic = Topic::new(TopicName::Movers, 1);
        let mut shut = outbox(topic.subscribe(None), Duration::from_secs(15));
        topic.signal(Live::Shutdown);

        let goodbye = String::from_utf8(shut.next().await.unwrap().to_vec()).unwrap();
        assert!(goodbye.starts_with("retry: "), "{goodbye}");
        assert!(goodbye.contains("event: shutdown\n"), "{goodbye}");
        assert!(shut.next().await.is_none(), "nothing after the goodbye");

        let mut interrupted = outbox(topic.subscribe(None), Duration::from_secs(15));
        topic.signal(Live::Interrupt);
        assert!(
            interrupted.next().await.is_none(),
            "cut off with no goodbye"
        );

        let hello = Bytes::from_static(b"event: hello\ndata: {}\n\n");
        let mut late = outbox_with(
            VecDeque::from([hello.clone()]),
            topic.subscribe(None),
            Duration::from_secs(15),
            true,
        );
        assert_eq!(late.next().await.unwrap(), hello);
        assert!(String::from_utf8_lossy(&late.next().await.unwrap()).contains("event: shutdown"));
        assert!(late.next().await.is_none());
    }

    /// A slow subscriber's stream says why and ends (so the browser resumes from its
    /// Last-Event-ID) instead of buffering without bound or skipping events silently.
    #[tokio::test]
    async fn a_slow_subscriber_is_told_why_and_its_stream_ends() {
        let topic = Topic::new(TopicName::Movers, 1);
        let subscription = topic.subscribe(None);
        for i in 0..SUBSCRIBER_BUFFER + 10 {
            topic.set_members(vec![Quote::fixture("AAA", 2.0 + i as f64)], |_| {
                String::new()
            });
        }
        let mut outbox = outbox(subscription, Duration::from_secs(3600));
        let last_words = outbox.next().await.expect("a closing comment");
        assert!(
            String::from_utf8_lossy(&last_words).starts_with(": fell "),
            "{last_words:?}"
        );
        assert!(outbox.next().await.is_none(), "the stream ends");
    }

    /// Accept negotiation: the stream for SSE or wildcards, JSON when only JSON is allowed,
    /// nothing for anything else or an explicit refusal.
    #[test]
    fn accept_picks_the_representation() {
        use Representation::*;
        assert_eq!(negotiate("text/event-stream"), Some(EventStream));
        assert_eq!(negotiate("*/*"), Some(EventStream));
        assert_eq!(negotiate("application/json"), Some(Json));
        assert_eq!(
            negotiate("text/event-stream;q=0, application/json"),
            Some(Json)
        );
        assert_eq!(negotiate("text/html"), None);
        assert_eq!(negotiate("image/png, text/event-stream; q=0"), None);
        assert_eq!(negotiate("text/event-stream; q=0.5"), Some(EventStream));
    }
}
