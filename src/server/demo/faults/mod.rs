//! The fault panel's server side: each pitfall of [`Fault`], made to happen by the real
//! mechanism on a route of its own, beside the route that avoids it.
//!
//! | route (`/api/faults/…/{topic}/events`) | between the browser and the stream | what the widget shows |
//! |---|---|---|
//! | `compressed/wrong` | a gzip compressor that never flushes ([`mechanisms::gzip_unflushed`]) | nothing for a long time: deflate holds the events until it has a block |
//! | `compressed/flushed` | tower-http's `CompressionLayer`, told to compress everything: it flushes after every chunk | every event, compressed, at the cost of a compressor per stream |
//! | `compressed/right` | the same layer with its default predicate, which skips `text/event-stream` | every event as it happens |
//! | `buffered/wrong` | a buffering proxy ([`mechanisms::buffering_proxy`]); the stream's `X-Accel-Buffering: no` was forgotten | events in clumps of 4 KiB |
//! | `buffered/right` | the same proxy; the stream says `X-Accel-Buffering: no`, which it honours | every event as it happens |
//! | `idle-timeout/wrong` | a quiet stream, keep-alive every 15 s, through a proxy that closes after 3 s of silence | cut every 3 s, reconnecting |
//! | `idle-timeout/right` | the same, keep-alive every 1 s | open |
//! | `gateway/wrong`, `gateway/right` | a gateway that answers 503 for 4 s after `POST /api/faults/gateway/trigger` | a plain `EventSource` closed for good; the widget reopening with backoff |
//! | `gateway/native` | the same gateway answering `200` + `retry: 1000` + end instead | the browser reconnecting by itself |
//! | `stop/wrong`, `stop/right` | for 20 s after `POST /api/faults/stop/trigger`: 503, or `204 No Content` | retried with backoff until it works again; stopped, not retried |
//! | `slow-consumer/slow` | a link that drains a chunk every 500 ms ([`mechanisms::slow_link`]); the server's cut at 16 events behind | cut, reconnected, `resumed k`, no gap |
//!
//! The restart and dropped-streams cards use the topic's own URL and the drills
//! (`/api/drills/restart`, `/api/drills/drop-streams`).
//!
//! Off unless `TICKERPLEX_DRILLS=1`, like the drills: every route here answers 404 and says how
//! to turn them on. The triggers are POST, behind the same CSRF check as every state-changing
//! request.

mod mechanisms;

use crate::model::Fault;
use crate::server::demo::drills;
use crate::server::pubsub::topics::{Subscription, Topics};
use crate::server::stream::negotiate::Representation;
use crate::server::stream::{self, Opening, StreamError, StreamRequest};
use axum::extract::{FromRef, Request, State};
use axum::middleware::{from_fn, map_response, Next};
use axum::response::Response;
use axum::routing::{get, post, MethodRouter};
use axum::{Extension, Router};
use mechanisms::{Outage, Trigger};
use std::sync::Arc;
use std::time::Duration;
use tower_http::compression::predicate::SizeAbove;
use tower_http::compression::CompressionLayer;

/// How long the gateway answers 503 after its trigger: longer than the browser's `retry:`, so
/// the browser's own reconnect meets the outage.
const OUTAGE: Duration = Duration::from_secs(4);
/// How long the stop lasts: long enough to see the wrong way retry, short enough to see it
/// come back.
const STOP: Duration = Duration::from_secs(20);

/// How a way's stream differs from the topic's own, before any mechanism acts on its bytes
/// (the route's [`Extension`]).
#[derive(Clone, Copy)]
enum Shape {
    /// The snapshot, then nothing but keep-alives every so often: a quiet topic.
    Quiet,
    /// The topic's events through a buffer of [`SLOW_BUFFER`] instead of
    /// [`SUBSCRIBER_BUFFER`](crate::server::pubsub::log::SUBSCRIBER_BUFFER), so a slow reader is cut in seconds.
    SmallBuffer,
}

/// The slow-consumer way's buffer: the server cuts a stream this many events behind.
const SLOW_BUFFER: usize = 16;

/// The fault routes, to merge into the app's router. `enabled` is `TICKERPLEX_DRILLS`.
///
/// Generic over the router's state, like [`drills::routes`]: the handlers ask for the two
/// sub-states they read (the topics, and what opening a stream takes), so the demo needs
/// nothing of the `web` folder that mounts it.
pub fn routes<S>(enabled: bool) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Arc<Topics>: FromRef<S>,
    Opening: FromRef<S>,
{
    // One trigger per mechanism, shared by its wrong and right routes: a card fires it once and
    // both of its widgets meet the same outage at the same moment.
    let gateway = Trigger::default();
    let stop = Trigger::default();
    let url =
        |fault: Fault, way: &str| format!("/api/faults/{}/{way}/{{topic}}/events", fault.slug());
    // The topic's own handler on every way: what differs is only the layer in front of it, which is
    // the lesson — the same stream, spoiled or kept by what stands between.
    let market = || get(stream::topic_events);
    Router::new()
        .route(
            &url(Fault::Compressed, "wrong"),
            market().layer(from_fn(mechanisms::gzip_unflushed)),
        )
        .route(
            &url(Fault::Compressed, "flushed"),
            // tower-http's layer flushes its encoder after each chunk, so forcing it onto the
            // stream delivers events; the card shows the price (a compressor's state per stream)
            // rather than a failure.
            market().layer(CompressionLayer::new().compress_when(SizeAbove::new(0))),
        )
        .route(&url(Fault::Compressed, "right"), market().layer(CompressionLayer::new()))
        .route(
            &url(Fault::Buffered, "wrong"),
            market()
                // Layers apply outside in: the proxy (added last) sees the response after the
                // header was removed, as a real proxy sees an app that never set it.
                .layer(map_response(mechanisms::forget_accel_buffering))
                .layer(map_response(mechanisms::buffering_proxy)),
        )
        .route(
            &url(Fault::Buffered, "right"),
            market().layer(map_response(mechanisms::buffering_proxy)),
        )
        .route(&url(Fault::IdleTimeout, "wrong"), quiet(false))
        .route(&url(Fault::IdleTimeout, "right"), quiet(true))
        .route(
            &url(Fault::SlowConsumer, "slow"),
            get(shaped_events)
                .layer(Extension(Shape::SmallBuffer))
                .layer(map_response(mechanisms::slow_link)),
        )
        .route(&url(Fault::Gateway, "wrong"), behind(&gateway, Outage::Unavailable))
        // The same 503 as the wrong way: the right way is the widget's (it reopens with backoff),
        // not the gateway's.
        .route(&url(Fault::Gateway, "right"), behind(&gateway, Outage::Unavailable))
        .route(&url(Fault::Gateway, "native"), behind(&gateway, Outage::RetryLater))
        .route(&url(Fault::Stop, "wrong"), behind(&stop, Outage::Unavailable))
        .route(&url(Fault::Stop, "right"), behind(&stop, Outage::NoContent))
        .route("/api/faults/gateway/trigger", fire(gateway, OUTAGE, "the gateway answers 503 for 4 s; the streams through it were cut\n"))
        .route("/api/faults/stop/trigger", fire(stop, STOP, "the stop routes answer 503 (wrong) and 204 (right) for 20 s; their streams were cut\n"))
        // Only routes that exist are gated: any other /api/faults URL is a plain 404.
        .route_layer(from_fn(move |request: Request, next: Next| async move {
            if enabled {
                next.run(request).await
            } else {
                drills::disabled()
            }
        }))
}

/// A market stream behind `trigger`'s gateway: cut when it fires, `outage` while it lasts.
fn behind<S>(trigger: &Trigger, outage: Outage) -> MethodRouter<S>
where
    S: Clone + Send + Sync + 'static,
    Arc<Topics>: FromRef<S>,
    Opening: FromRef<S>,
{
    let trigger = trigger.clone();
    get(stream::topic_events).layer(from_fn(move |request: Request, next: Next| {
        mechanisms::gateway(trigger.clone(), outage, request, next)
    }))
}

/// `POST`: fires `trigger` for `lasting`, and says what happened.
fn fire<S>(trigger: Trigger, lasting: Duration, said: &'static str) -> MethodRouter<S>
where
    S: Clone + Send + Sync + 'static,
{
    post(move || async move {
        trigger.fire(lasting);
        tracing::warn!(?lasting, "fault panel: {}", said.trim_end());
        said
    })
}

/// A quiet stream behind a proxy's idle timeout, with the server's keep-alive (every 15 s by
/// default) or, `frequent`, one whenever a second passes without a byte.
fn quiet<S>(frequent: bool) -> MethodRouter<S>
where
    S: Clone + Send + Sync + 'static,
    Arc<Topics>: FromRef<S>,
    Opening: FromRef<S>,
{
    let route = get(shaped_events).layer(Extension(Shape::Quiet));
    let route = match frequent {
        true => route.layer(map_response(mechanisms::frequent_keep_alive)),
        false => route,
    };
    route.layer(map_response(mechanisms::idle_timeout))
}

/// A topic's stream, reshaped as the route's [`Shape`] says; the same `hello`, prelude (a
/// snapshot, or the events since the browser's id), outbox and caps as every stream.
async fn shaped_events(
    State(topics): State<Arc<Topics>>,
    State(opening): State<Opening>,
    Extension(shape): Extension<Shape>,
    request: StreamRequest,
) -> Result<Response, StreamError> {
    let topic = request.topic(&topics)?;
    let representation = request.representation;
    if representation == Representation::Json {
        // The same snapshot as the topic's own URL: a way reshapes the stream, not the data.
        return stream::topic_events(State(topics.clone()), State(opening), request).await;
    }
    let last_event_id = request.last_event_id.clone();
    // Taken before the topic's subscription, so no signal (drain, drill) falls in between.
    let signals = topics.signals();
    let subscribing = async move {
        let subscription = topic
            .subscribe(last_event_id.as_deref())
            .await
            .map_err(|error| StreamError::Unavailable {
                representation,
                error,
            })?;
        let live = match shape {
            // The server's signals alone: the goodbye still comes when it drains.
            Shape::Quiet => signals,
            Shape::SmallBuffer => mechanisms::relay(subscription.live, SLOW_BUFFER),
        };
        Ok(Subscription {
            live,
            ..subscription
        })
    };
    opening.open(request, subscribing).await
}
