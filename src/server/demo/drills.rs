//! Fault drills: the failures a live stream must survive, made to happen on demand, so the
//! end-to-end tests — and a reader with `curl` and the dashboard open — can watch the recovery.
//!
//! | request | what happens | what the widgets show |
//! |---|---|---|
//! | `POST /api/drills/drop-streams` | every open stream ends abruptly, as behind a restarting proxy | `reconnecting`, then `resumed k`: the browser sent its `Last-Event-ID` and got exactly the events it missed |
//! | `POST /api/drills/restart` | every topic starts a new epoch, as after a server restart, and the streams are dropped | `reset: server restarted`: the browser's id is from another run, so each widget gets a fresh snapshot instead |
//! | `POST /api/drills/rotate-watchlist` | the watchlist swaps one member now | a `remove` and an `add` in the watchlist |
//! | `POST /api/drills/future-event` | every open stream gets an event of a kind this build's pages do not know (`from-the-future`), as a newer build behind the same edge might send | nothing: the browser delivers it to no listener, the widget goes on (a rolling deploy relies on this) |
//! | `POST /api/drills/stop-streams` | every open stream ends, and every events URL answers `204 No Content` — the SSE way to say "stop reconnecting" | `stopped`: the browser gave up, the widget asked why, and honours the 204 instead of retrying |
//! | `POST /api/drills/resume-streams` | events URLs answer as usual again | nothing by itself: a stopped widget stays stopped until the page is reloaded |
//! | `POST /api/drills/cluster/{verb}/{part}` | in `scripts/cluster` only: freeze, resume, kill or restart instance `a` or `b`, or restart `redis` ([`crate::server::demo::cluster_control`]) | the widgets the part served go `silent` or `reconnecting`, then `open` on the survivor |
//!
//! Off unless `TICKERPLEX_DRILLS=1` (`scripts/dev` and `scripts/test` turn it on): a production
//! server must not let anyone cut every client off. When off, each drill answers 404 and says how
//! to turn drills on.

//!
//! Try it with the dashboard open beside a terminal (`-k`: the dev CA is not in curl's store):
//!
//! ```text
//! $ curl -kX POST https://localhost:3000/api/drills/drop-streams
//! $ curl -kX POST https://localhost:3000/api/drills/restart
//! ```
//!
//! Watch each widget's header: the first gives `resumed k` with no gap, the second `reset`.
//! Both are POST, never GET, so a link, a prefetch or a crawler cannot trigger them.

use crate::server::pubsub::feed;
use crate::server::pubsub::topics::{Live, Topics};
use crate::server::sse;
use axum::extract::{FromRef, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// The event type of the future-event drill: a name no `EventKind` has, so no page listens.
pub const FUTURE_EVENT: &str = "from-the-future";

/// Whether drills run, and the handles they need.
#[derive(Clone, Default)]
pub struct Drills {
    /// `TICKERPLEX_DRILLS=1`. Checked by every drill rather than by leaving the routes out, so
    /// a disabled drill answers with how to enable it instead of a bare 404.
    pub enabled: bool,
    /// The feed task's mailbox (`None` where no feed task runs: a unit test's state).
    pub feed: Option<mpsc::Sender<feed::Command>>,
    /// Set by `stop-streams`, cleared by `resume-streams`: while set, every event-stream
    /// request is answered 204 ([`answer_stopped`]).
    pub stopped: Arc<AtomicBool>,
    /// `TICKERPLEX_CLUSTER_CONTROL`: the control pipe of the `scripts/cluster` this instance
    /// runs in, for the fault panel's cluster card ([`crate::server::demo::cluster_control`]).
    pub cluster: Option<Arc<std::path::PathBuf>>,
}

/// The drill routes, to merge into the app's router. Generic over the router's state, asking
/// only for the two sub-states the drills use, so this module never imports the app's state.
///
/// POST only: a drill changes the server's state, and a GET could be triggered by a link, a
/// prefetch or a crawler.
pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Drills: FromRef<S>,
    Arc<Topics>: FromRef<S>,
{
    Router::new()
        .route("/api/drills/drop-streams", post(drop_streams))
        .route("/api/drills/restart", post(restart))
        .route("/api/drills/rotate-watchlist", post(rotate_watchlist))
        .route("/api/drills/future-event", post(future_event))
        .route("/api/drills/stop-streams", post(stop_streams))
        .route("/api/drills/resume-streams", post(resume_streams))
}

/// Middleware for the whole router: while `stop-streams` is in force, a request for an event
/// stream gets `204 No Content`, which tells an `EventSource` to stop reconnecting for good.
/// A layer rather than a check in the stream handler, which never sees the drills.
pub async fn answer_stopped(
    State(drills): State<Drills>,
    request: Request,
    next: Next,
) -> Response {
    // Judged by the path and `Accept`, as the stream handlers are: a JSON snapshot of a topic
    // (`Accept: application/json`) is not a stream and is still answered.
    let wants_stream = request.uri().path().ends_with("/events")
        && request
            .headers()
            .get(header::ACCEPT)
            .and_then(|accept| accept.to_str().ok())
            .is_some_and(|accept| accept.contains("text/event-stream"));
    // `Relaxed`: a flag read per request, with nothing else ordered by it; a request racing the
    // drill's first moment may slip through, and is dropped with the others a moment later.
    if wants_stream && drills.stopped.load(Ordering::Relaxed) {
        return StatusCode::NO_CONTENT.into_response();
    }
    next.run(request).await
}

/// `POST /api/drills/stop-streams`: from now on every events URL answers 204, then every open
/// stream is dropped — the browsers reconnect, get the 204, and stop.
async fn stop_streams(State(drills): State<Drills>, State(topics): State<Arc<Topics>>) -> Response {
    if !drills.enabled {
        return disabled();
    }
    drills.stopped.store(true, Ordering::Relaxed);
    topics.signal(Live::Cut);
    tracing::warn!("drill: streams stopped; events URLs answer 204 until resume-streams");
    "every stream dropped; events URLs answer 204 No Content until POST /api/drills/resume-streams\n"
        .into_response()
}

/// `POST /api/drills/future-event`: an event of an unknown kind on every open stream.
async fn future_event(State(drills): State<Drills>, State(topics): State<Arc<Topics>>) -> Response {
    if !drills.enabled {
        return disabled();
    }
    // No id: it must not move the browser's Last-Event-ID. A name no `EventKind` has, so no
    // page of this build listens: what a newer build's event looks like to an older page.
    let unknown = sse::Event::named(
        FUTURE_EVENT,
        r#"{"note":"an event kind this page does not know"}"#,
    );
    topics.signal(Live::Mark(unknown.to_bytes()));
    "every open stream got a from-the-future event, which no page of this build listens for\n"
        .into_response()
}

/// `POST /api/drills/resume-streams`: events URLs answer as usual again.
async fn resume_streams(State(drills): State<Drills>) -> Response {
    if !drills.enabled {
        return disabled();
    }
    drills.stopped.store(false, Ordering::Relaxed);
    tracing::warn!("drill: events URLs answer as usual again");
    "events URLs answer as usual again (stopped pages stay stopped until reloaded)\n"
        .into_response()
}

/// The answer of every drill when drills are off: 404 (to an outsider the drill does not
/// exist), with the one sentence a developer needs to turn it on. The fault panel's routes
/// answer the same.
pub(super) fn disabled() -> Response {
    (
        StatusCode::NOT_FOUND,
        "drills are off; start the server with TICKERPLEX_DRILLS=1 to enable them\n",
    )
        .into_response()
}

/// `POST /api/drills/drop-streams`: every open stream ends with no goodbye, as when a proxy
/// restarts. The widgets' EventSources reconnect with their `Last-Event-ID`.
async fn drop_streams(State(drills): State<Drills>, State(topics): State<Arc<Topics>>) -> Response {
    if !drills.enabled {
        return disabled();
    }
    // Every stream open now gets the signal on its topic's channel; later ones never see it.
    topics.signal(Live::Cut);
    tracing::warn!("drill: every open stream dropped");
    "dropped every open stream; browsers will resume from their Last-Event-ID\n".into_response()
}

/// `POST /api/drills/restart`: a new epoch on every topic, then every stream dropped — what a
/// restarted server with an in-memory log looks like to its clients.
async fn restart(State(drills): State<Drills>, State(topics): State<Arc<Topics>>) -> Response {
    if !drills.enabled {
        return disabled();
    }
    // A new epoch must differ from every earlier one: the clock, or one past the latest. The
    // clock alone could repeat an epoch when two restarts fall in one millisecond (a test that
    // runs the drill twice), and an epoch that repeats would let a stale id replay wrong events.
    let epoch = topics
        .iter()
        .map(|topic| topic.stats().current_id.epoch + 1)
        .max()
        .unwrap_or_default()
        .max(chrono::Utc::now().timestamp_millis() as u64);
    // Every topic first, then one cut: a stream that reconnects finds its topic already
    // in the new epoch, never the old one.
    for topic in topics.iter() {
        if let Err(error) = topic.restart(epoch).await {
            return (StatusCode::SERVICE_UNAVAILABLE, format!("{error}\n")).into_response();
        }
    }
    topics.signal(Live::Cut);
    tracing::warn!(epoch, "drill: new epoch, every open stream dropped");
    "new epoch, every open stream dropped; reconnects will get a reset\n".into_response()
}

/// `POST /api/drills/rotate-watchlist`: asks the feed task (which owns the market) to rotate
/// now, and answers once the `remove` and `add` are published.
async fn rotate_watchlist(State(drills): State<Drills>) -> Response {
    if !drills.enabled {
        return disabled();
    }
    let Some(feed) = drills.feed else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "no feed task runs in this server\n",
        )
            .into_response();
    };
    // A reply channel with the command: the feed task answers once the events are appended, so the
    // drill's 200 means "published", not "asked".
    let (done, published) = oneshot::channel();
    if feed
        .send(feed::Command::RotateWatchlist { done })
        .await
        .is_err()
        || published.await.is_err()
    {
        return (StatusCode::SERVICE_UNAVAILABLE, "the feed has stopped\n").into_response();
    }
    // Answered after the events are published, so a caller can look for them at once.
    "the watchlist rotated one member out and one in\n".into_response()
}
