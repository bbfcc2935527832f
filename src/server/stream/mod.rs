//! `GET /api/topics/{topic}/events`: one topic, as an SSE stream (or a JSON snapshot).
//!
//! What it owns: turning one HTTP request into one open stream. It is split along the protocol,
//! one file per step, so a reader who knows the SSE spec finds each rule where they expect it:
//!
//! 1. **Request** ([`request`]): which topic (both URL shapes, one extractor), which
//!    representation (`Accept`, [`negotiate`]), and where to resume (`Last-Event-ID`).
//! 2. **Resume point**: the topic's log decides between replay and reset
//!    ([`crate::server::pubsub::topics::Topic::subscribe`]) — the stream only carries the answer.
//! 3. **Outbox** ([`outbox`]): `retry:` and `hello`, the prelude, live events, `heartbeat`
//!    events (on the process's one [`beat`]), and the end (client gone, too slow, shutdown,
//!    drill).
//!
//! Not here: numbering or storing events (the topics and their log), connection ids (the accept
//! loop puts them into every request), draining (asked of [`Shutdown`]).
//!
//! Headers: `text/event-stream`, `cache-control: no-cache, no-transform` (a cached stream is a
//! dead stream, and a transforming proxy buffers it: [`STREAM_CACHE_CONTROL`]), and `x-accel-buffering: no` (nginx would otherwise buffer it and deliver events in clumps).
//! The router has no compression layer, so a stream is never compressed whatever
//! `Accept-Encoding` asks: a compressor holds events back until its buffer fills.

//!
//! What can go wrong, and what the client sees (each case has a test):
//!
//! | situation | answer | why that answer |
//! |---|---|---|
//! | unknown or malformed topic | 404 with the way to list topics | the URL names nothing |
//! | `Accept` allows neither representation | 406 | a stream the client cannot read is worse than none |
//! | `Last-Event-ID` from another run, too old, from the future, or garbage | 200, `reset` + snapshot | never a partial replay: prices would be silently wrong |
//! | the event log cannot answer | 200, `retry:` + a comment, end | any status but 200 makes `EventSource` give up for good |
//! | the client stops reading | cut after `SUBSCRIBER_BUFFER` events, with a note | its memory is bounded; it resumes from its last id |
//! | the server drains | `shutdown` with a jittered `retry:`, end | reconnects spread out instead of arriving at once |
//! | the client goes away | the body is dropped, the guard uncounts the stream | nothing to clean up by hand |
//!
//! Try it (with `scripts/dev` running; `-k` because the dev CA is not in curl's store):
//!
//! ```text
//! $ curl -kN https://localhost:3000/api/topics/movers/events
//! retry: 2000
//! event: hello
//! data: {"topic":"movers","connection":7,"protocol":"h2","streams_on_connection":1,…}
//!
//! event: add
//! data: {"symbol":"QBIT","name":"Qubit Labs",…}
//! …
//! event: sync
//! id: 1764500000000-412
//! data: {"members":5}
//!
//! event: update
//! id: 1764500000000-413
//! data: {"symbol":"QBIT","price":214.1,…}
//! ```
//!
//! Then again with `-H 'Last-Event-ID: 1764500000000-410'`: the stream starts with the three
//! events after 410 instead of a snapshot, and `hello` says `"start":{"kind":"resumed",…}`.

pub mod beat;
mod error;
pub mod negotiate;
mod outbox;
mod private;
mod request;
pub use private::{ops_events, portfolio_events};
pub use request::MAX_EVENT_ID_BYTES;
pub use request::{OPS_PATH, PORTFOLIO_PATH};

pub use error::StreamError;
pub use outbox::StreamConfig;
pub use request::StreamRequest;

use crate::model::{ConnectionInfo, EventKind, Hello, TopicName};
use crate::server::metrics::{metrics, TopicLabel};
use crate::server::pubsub::instance::Instance;
use crate::server::pubsub::topics::{Subscription, Topics};
use crate::server::sse;
use crate::server::transport::limits::Limits;
use crate::server::transport::registry::{Registry, StreamGuard};
use crate::server::transport::shutdown::Shutdown;
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::BytesMut;
use negotiate::Representation;
use outbox::Outbox;
use std::convert::Infallible;
use std::sync::Arc;

/// `Cache-Control` of every event stream: `no-cache`, because a cached stream is a dead one,
/// and `no-transform` (RFC 9111 §5.2.2.6), because a proxy that transforms bodies — recompresses
/// them, or buffers them to inject something — holds events back until its buffer fills.
pub const STREAM_CACHE_CONTROL: &str = "no-cache, no-transform";

/// The headers of every event stream (see the module doc for why each).
fn insert_stream_headers(headers: &mut axum::http::HeaderMap) {
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(STREAM_CACHE_CONTROL),
    );
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
}

/// The handler of both events routes (`/api/topics/{topic}/events` and
/// `/api/topics/sector/{slug}/events`): everything route-specific is in [`StreamRequest`].
///
/// It asks for two sub-states: the topics to subscribe to, and what opening any stream needs
/// ([`Opening`], one extractor for the registry, the caps, the timings, the drain and the
/// instance). Returning `Result` lets `?` turn every refusal into its [`StreamError`] response.
pub async fn topic_events(
    State(topics): State<Arc<Topics>>,
    State(opening): State<Opening>,
    request: StreamRequest,
) -> Result<Response, StreamError> {
    let topic = request.topic(&topics)?;
    let representation = request.representation;
    let unavailable = |error| StreamError::Unavailable {
        representation,
        error,
    };
    Ok(match representation {
        Representation::Json => Json(topic.snapshot().await.map_err(unavailable)?).into_response(),
        Representation::EventStream => {
            let last_event_id = request.last_event_id.clone();
            let subscribing = async move {
                topic
                    .subscribe(last_event_id.as_deref())
                    .await
                    .map_err(unavailable)
            };
            opening.open(request, subscribing).await?
        }
    })
}

/// What opening any event stream needs, whatever it carries (a market topic, a portfolio, the
/// ops samples): the registry it is counted in, the caps it is counted against, the stream
/// timings, the drain, the instance it names. Every stream handler extracts it as one
/// sub-state (`State<Opening>`; its `FromRef` is in `server::web::state`), so the four handlers do
/// not each list five.
#[derive(Clone)]
pub struct Opening {
    /// Where the stream is counted against its connection (for `/api/stats` and the widgets' wire
    /// X-ray) and where the drain finds it.
    pub registry: Arc<Registry>,
    /// The caps a new stream is checked against (per client, in total), before any work is done.
    pub limits: Arc<Limits>,
    /// `retry:` and the keep-alive interval, the same for every stream.
    pub config: StreamConfig,
    /// The drain: a stream opened after it began is answered with `shutdown` at once.
    pub shutdown: Shutdown,
    /// The instance's name, for `hello` and the `x-instance` header.
    pub instance: Instance,
}

impl Opening {
    /// Counts the stream, then subscribes (`subscribing`, a future that has not run yet), then
    /// answers with `hello` and the outbox. Counted first: a client at its cap costs no
    /// subscription, no read of the log or ledger; if the subscription then fails, the
    /// guard's drop uncounts it.
    pub async fn open(
        self,
        request: StreamRequest,
        subscribing: impl std::future::Future<Output = Result<Subscription, StreamError>>,
    ) -> Result<Response, StreamError> {
        let client = self
            .limits
            .client(request.connection.peer, request.forwarded_for);
        let counted = self
            .registry
            .open_stream_within(request.connection.id, client, &self.limits)
            .map_err(|limit| StreamError::Refused {
                limit,
                eventsource: request.names_event_stream,
            })?;
        let subscription = subscribing.await?;
        let proxied = self
            .limits
            .proxied(request.connection.peer, request.forwarded_for);
        let stream = OpenStream {
            topic: request.topic,
            instance: self.instance.name.to_string(),
            connection: request.connection,
            subscription,
            proxied,
        };
        Ok(stream.into_response(counted, self.config, &self.shutdown))
    }
}

/// A subscription on its way to becoming a response: the parts `hello` describes.
struct OpenStream {
    /// The topic named in `hello`, so a client can check it got the stream it asked for.
    topic: TopicName,
    /// Which instance answered: behind an edge, where a reconnect landed.
    instance: String,
    /// The connection's id and protocol (`hello.connection`): what the widgets' X-ray shows, and
    /// what proves every stream of a page rides one HTTP/2 connection.
    connection: ConnectionInfo,
    /// The prelude and the live channel, handed to the outbox.
    subscription: Subscription,
    /// Whether a proxy named the client (`hello.proxied`).
    proxied: bool,
}

impl OpenStream {
    fn into_response(
        self,
        (guard, streams_on_connection): (StreamGuard, usize),
        config: StreamConfig,
        shutdown: &Shutdown,
    ) -> Response {
        let OpenStream {
            topic,
            instance,
            connection,
            subscription,
            proxied,
        } = self;
        // Registered for as long as the body lives: the guard rides inside the outbox, so
        // whatever drops the body (client gone, stream ended, connection reset) unregisters it.
        tracing::info!(topic = %topic, connection = connection.id.get(), start = ?subscription.start, "stream opened");
        metrics().stream_started(&subscription.start);
        let label = TopicLabel::of(&topic);

        let hello = Hello {
            topic,
            instance,
            connection: connection.id,
            protocol: connection.protocol,
            streams_on_connection,
            proxied,
            start: subscription.start,
            heartbeat_ms: Some(config.keep_alive.as_millis() as u64),
        };
        // `retry:` rides on `hello`, the first thing the browser parses: from then on a dropped
        // stream comes back after our delay, not the browser's default (about 3 s in Chromium).
        let hello = sse::Event::new(EventKind::Hello, &sse::json(&hello))
            .retry(config.retry)
            .to_bytes();
        // `hello` and the snapshot (or replay) leave as ONE body chunk, so one HTTP/2 DATA frame
        // rather than one per event: when hundreds of streams open at once, fewer frames queue up
        // in the connection (h2's frame queue keeps the capacity of its busiest moment).
        let prelude_len = subscription.prelude.iter().map(|b| b.len()).sum::<usize>();
        let mut first = BytesMut::with_capacity(hello.len() + prelude_len);
        first.extend_from_slice(&hello);
        for bytes in &subscription.prelude {
            first.extend_from_slice(bytes);
        }
        let subscription = Subscription {
            prelude: vec![first.freeze()],
            ..subscription
        };

        // A stream opened after the drain began (a new request on an open HTTP/2 connection)
        // missed the broadcast shutdown signal: it says goodbye at once. Subscribed first,
        // checked second — a signal sent in between is already in its receiver.
        let draining = shutdown.is_draining();
        let outbox = Outbox::new(subscription, &config, draining, (guard, label));
        // `unfold` rather than a hand-written `Stream` impl: the outbox's `next` is an ordinary
        // `async fn`, and unfold turns it into the body stream hyper polls.
        let body = futures_util::stream::unfold(outbox, |mut outbox| async move {
            let bytes = outbox.next().await?;
            Some((Ok::<_, Infallible>(bytes), outbox))
        });

        let mut response = Body::from_stream(body).into_response();
        insert_stream_headers(response.headers_mut());
        response
    }
}
