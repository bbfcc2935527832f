//! Why a request for a topic's events URL gets no stream, and how each reason is answered: a
//! status with one line for most, and the SSE way — 200, a reason, a `retry:`, the end — for an
//! `EventSource` that would otherwise give up for good.

use super::insert_stream_headers;
use super::negotiate::Representation;
use crate::model::{EventKind, Refused};
use crate::server::pubsub::log::LogError;
use crate::server::sse;
use crate::server::transport::limits::LimitReached;
use axum::body::Body;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

/// Why a request for a topic's events URL gets no stream. Each variant is the client's to fix
/// and says how; none of them leaks anything about the server's insides.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// 404: the name is malformed, or no such topic exists. The name is echoed (it is the
    /// client's own input) so a typo is visible in the answer.
    #[error("no topic {0:?}; GET /api/topics lists them")]
    UnknownTopic(String),
    /// 406: the client accepts neither representation. The message names both, so the fix is
    /// one header away.
    #[error("this URL serves text/event-stream (or application/json for a snapshot)")]
    NotAcceptable,
    /// 400: a `Last-Event-ID` that is not one of our ids (wrong shape, too long); or a request
    /// that did not reach us through the accept loop, or with path parameters that are not the
    /// router's (only a misrouted request gets those).
    #[error("malformed request: {0}")]
    BadRequest(String),
    /// 401: a private stream (the portfolio) with no session cookie (or one not of a
    /// session id's shape). Loading the dashboard hands out a session.
    #[error("no session: load the dashboard (/) to start one; a portfolio is only shown to its own session")]
    Unauthorized,
    /// A cap on open streams was reached (see [`crate::server::transport::limits`]). An `EventSource` (whose
    /// request names `text/event-stream` in `Accept`) is answered the SSE way, with a `refused`
    /// event naming the cap and a jittered `retry:` — see [`refused_stream`]; any other client
    /// with 503 and `Retry-After`, which it can act on and an `EventSource` could not.
    #[error("{limit}")]
    Refused {
        /// Which cap, named in the answer so an operator reading a client's log knows which to
        /// raise.
        limit: LimitReached,
        /// Whether to answer the SSE way (see above), decided by the request's `Accept`.
        eventsource: bool,
    },
    /// The topic's event log could not answer (a networked backend is down). Answered the SSE
    /// way to an event stream — see [`unavailable_stream`] — and with 503 to anything else.
    #[error("{error}; try again shortly")]
    Unavailable {
        /// Which answer the client can read: the SSE goodbye or a 503.
        representation: Representation,
        /// Why the log could not answer, said to the client in one line.
        error: LogError,
    },
}

/// How long a client is asked to wait when the log is unavailable, before trying again.
///
/// Five seconds: longer than the stream's usual `retry:` (2 s), since the cause is a backend that
/// will not be back in milliseconds, and short enough that a Redis restart (a second or two) is
/// over by the first retry.
const UNAVAILABLE_RETRY_SECS: u64 = 5;

impl IntoResponse for StreamError {
    fn into_response(self) -> Response {
        let status = match &self {
            StreamError::UnknownTopic(_) => StatusCode::NOT_FOUND,
            StreamError::NotAcceptable => StatusCode::NOT_ACCEPTABLE,
            StreamError::BadRequest(_) => StatusCode::BAD_REQUEST,
            StreamError::Unauthorized => StatusCode::UNAUTHORIZED,
            // An `EventSource` at a cap, or with the log down, is answered the SSE way (a 200 that
            // ends with a reason and a `retry:`); any other status would make it give up for good.
            StreamError::Refused {
                limit,
                eventsource: true,
            } => return refused_stream(limit),
            StreamError::Unavailable {
                representation: Representation::EventStream,
                error,
            } => return unavailable_stream(error),
            // A client that is not an EventSource, at a cap or with the log down: it can act on
            // a status, so it gets one, and when to come back.
            StreamError::Refused { .. } | StreamError::Unavailable { .. } => {
                let retry_after = [(header::RETRY_AFTER, UNAVAILABLE_RETRY_SECS.to_string())];
                return (
                    StatusCode::SERVICE_UNAVAILABLE,
                    retry_after,
                    format!("{self}\n"),
                )
                    .into_response();
            }
        };
        // One line of text with a newline: what `curl` prints readably, and a body no client has to
        // parse to know what went wrong.
        (status, format!("{self}\n")).into_response()
    }
}

/// An event stream that cannot be served right now: 200, a `retry:`, a comment saying why, and
/// the end. Not a 503: an `EventSource` that gets any status but 200 closes for good and never
/// reconnects, while a 200 that ends is reconnected after `retry:` by the browser itself.
fn unavailable_stream(error: &LogError) -> Response {
    let retry = format!("retry: {}\n", UNAVAILABLE_RETRY_SECS * 1000);
    let body = [
        retry.into_bytes(),
        sse::comment(&error.to_string()).to_vec(),
    ]
    .concat();
    let mut response = Body::from(body).into_response();
    insert_stream_headers(response.headers_mut());
    response
}

/// An event stream refused at a cap: 200, a `refused` event saying which cap and when to come
/// back, its `retry:` jittered over [5 s, 15 s] so a crowd at the cap does not return at once,
/// and the end. (Not 429 or 503: an `EventSource` given any status but 200 closes for good.)
fn refused_stream(limit: &LimitReached) -> Response {
    let base = UNAVAILABLE_RETRY_SECS * 1000;
    let retry_ms = rand::Rng::random_range(&mut rand::rng(), base..=base * 3);
    let refused = Refused {
        reason: limit.to_string(),
        retry_ms,
    };
    let body = sse::Event::new(EventKind::Refused, &sse::json(&refused))
        .retry(std::time::Duration::from_millis(retry_ms))
        .to_bytes();
    let mut response = Body::from(body).into_response();
    insert_stream_headers(response.headers_mut());
    response
}
