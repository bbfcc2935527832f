//! The request side of a stream: one extractor for both events routes.
//!
//! What it owns: reading everything the protocol lets a client say when it opens a stream —
//! which topic (from the path), which representation (`Accept`), where it left off
//! (`Last-Event-ID`, or `?last_event_id=`) — and the connection the accept loop says it came on.
//! Parse, don't validate: the handler receives a [`StreamRequest`] whose topic name is
//! well-formed and whose representation is one we serve, or the extractor has already answered
//! with a [`StreamError`].
//!
//! Why an extractor rather than two handlers: the sector topics' names contain a `/`
//! (`sector/energy`), which a `{topic}` path segment cannot match, so the router needs two
//! routes. Before, each had its own handler repeating five extractors; now each route feeds the
//! same extractor, and the only route-specific line is how the name is put back together.

use super::negotiate::{negotiate, Representation};
use super::StreamError;
use crate::model::{ConnectionInfo, TopicName};
use crate::server::pubsub::topics::{Topic, Topics};
use axum::extract::{FromRequestParts, Path, Query};
use axum::http::{header, request::Parts};
use serde::Deserialize;

/// The longest `Last-Event-ID` read: two 20-digit numbers (`u64::MAX`) and a `-`. A longer
/// one is never parsed (an 8 KB id costs nothing but its header bytes) and is unresumable.
pub const MAX_EVENT_ID_BYTES: usize = 41;

/// What the placeholder for an unresumable id says: not an id, so the topic's resume rules
/// answer it with `reset` (reason `malformed`) and a fresh snapshot.
const UNRESUMABLE: &str = "unresumable";

/// The session's own portfolio stream (`server::trading::portfolio`).
pub const PORTFOLIO_PATH: &str = "/api/portfolio/events";

/// This instance's numbers, once a second (`server::observe::ops`).
pub const OPS_PATH: &str = "/api/ops/events";

/// Everything a client says when it opens a topic's events URL.
#[derive(Debug)]
pub struct StreamRequest {
    /// The topic's name, already parsed (a malformed one is a 404 before anything else);
    /// whether it exists is the handler's check, against its catalogue ([`Self::topic`]).
    pub topic: TopicName,
    /// What `Accept` chose: the stream or the snapshot as JSON.
    pub representation: Representation,
    /// `Accept` names `text/event-stream` itself, as every `EventSource` request does (not
    /// merely `*/*`): the client is one that only understands an answer the SSE way.
    pub names_event_stream: bool,
    /// Where the client left off, if anywhere (the header wins over the query). At most
    /// [`MAX_EVENT_ID_BYTES`]: anything this server cannot resume from arrives here as a
    /// string that is not an id, which the topics answer with `reset` (see [`Resume`]).
    pub last_event_id: Option<String>,
    /// The connection this request arrived on, as the accept loop labelled it.
    pub connection: ConnectionInfo,
    /// The last address in `X-Forwarded-For`, if any: the client, when the peer is a trusted
    /// proxy (decided by [`crate::server::transport::limits::Limits::client`], not here).
    pub forwarded_for: Option<std::net::IpAddr>,
}

/// Where a client says it left off, read leniently.
///
/// Why a bad id opens the stream instead of a 400: an `EventSource` never retries after a 4xx,
/// so a browser holding an id this server cannot read — a rolling deploy that changed the id
/// format, a proxy that mangled the header, a forged value — would be silenced for good. The
/// SSE way is the same as for an id from another run: 200, `reset`, a fresh snapshot.
enum Resume {
    /// No id, or an empty one (what the SSE spec makes of `id:` with no value).
    Fresh,
    /// A candidate id of a length we parse; the topic's log decides replay or reset.
    From(String),
    /// Something no id of ours can be: too long, not ASCII, or an unreadable query.
    Unresumable,
}

impl Resume {
    fn from_text(id: &str) -> Resume {
        if id.is_empty() {
            Resume::Fresh
        } else if id.len() > MAX_EVENT_ID_BYTES {
            Resume::Unresumable
        } else {
            Resume::From(id.to_owned())
        }
    }

    /// As the topics take it: a string they parse, or one that is sure not to parse.
    fn into_last_event_id(self) -> Option<String> {
        match self {
            Resume::Fresh => None,
            Resume::From(id) => Some(id),
            Resume::Unresumable => Some(UNRESUMABLE.to_owned()),
        }
    }
}

/// The events URL's query string.
#[derive(Debug, Default, Deserialize)]
struct ResumeQuery {
    /// For the first request of an `EventSource`, which cannot set headers: the id the
    /// server-rendered snapshot was taken at, so the widget continues exactly from its HTML.
    last_event_id: Option<String>,
}

/// The router's path parameters: `{topic}` on `/api/topics/{topic}/events`, `{slug}` on
/// `/api/topics/sector/{slug}/events`.
#[derive(Debug, Deserialize)]
struct TopicPath {
    /// `{topic}`: one path segment (`watchlist`, `movers`).
    topic: Option<String>,
    /// `{slug}`: the sector's name after `sector/`, which axum's router cannot match as part of one
    /// parameter because it holds a slash.
    slug: Option<String>,
}

impl StreamRequest {
    /// The requested topic in `topics`. Well-formed (the extractor checked) but perhaps not in
    /// the catalogue: `sector/mining` parses and does not exist, and is a 404.
    pub fn topic<'a>(&self, topics: &'a Topics) -> Result<&'a Topic, StreamError> {
        topics
            .get(&self.topic)
            .ok_or_else(|| StreamError::UnknownTopic(self.topic.to_string()))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for StreamRequest {
    type Rejection = StreamError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, StreamError> {
        let topic = match parts.uri.path() {
            // The portfolio's URL names no topic: the session cookie chooses whose it is.
            PORTFOLIO_PATH => TopicName::Portfolio,
            OPS_PATH => TopicName::Ops,
            _ => topic_from_path(parts, state).await?,
        };

        // No `Accept` at all means "anything" (RFC 9110 §12.5.1).
        let accept = parts
            .headers
            .get(header::ACCEPT)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("*/*");
        let representation = negotiate(accept).ok_or(StreamError::NotAcceptable)?;
        let names_event_stream = accept.to_ascii_lowercase().contains("text/event-stream");

        // The header wins over the query: it is what the browser sends when it reconnects, and
        // it is newer than the id the page was rendered with.
        let header = parts.headers.get("last-event-id").map(|value| {
            // A header that is not visible ASCII cannot be one of our ids: it is unresumable.
            value
                .to_str()
                .map_or(Resume::Unresumable, Resume::from_text)
        });
        let resume = match header {
            Some(resume) => resume,
            // A query string serde cannot read (`?last_event_id=1&last_event_id=2`, bad
            // percent-encoding) says "I was somewhere" as surely as a bad header does: the
            // stream still opens, with a reset, rather than failing with a 400.
            None => match Query::<ResumeQuery>::from_request_parts(parts, state).await {
                Ok(Query(query)) => query
                    .last_event_id
                    .map_or(Resume::Fresh, |id| Resume::from_text(&id)),
                Err(_) => Resume::Unresumable,
            },
        };
        let last_event_id = resume.into_last_event_id();

        // The proxy appends the address it received the request from: the last entry is the
        // one a trusted proxy vouches for (earlier ones are whatever the client claimed).
        let forwarded_for = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .last()
            .and_then(|last| last.trim().parse().ok());

        // The accept loop inserts this into every request it serves (server::transport::connection).
        // Cloned out of the extensions (an id, a protocol and an address: a few bytes), so the
        // request parts stay whole for any extractor after this one.
        let connection = parts
            .extensions
            .get::<ConnectionInfo>()
            .cloned()
            .ok_or_else(|| StreamError::BadRequest("no connection info".into()))?;

        Ok(StreamRequest {
            topic,
            representation,
            names_event_stream,
            last_event_id,
            connection,
            forwarded_for,
        })
    }
}

/// The topic a market events URL names (either route's shape).
async fn topic_from_path<S: Send + Sync>(
    parts: &mut Parts,
    state: &S,
) -> Result<TopicName, StreamError> {
    // Path extraction cannot fail on our routes (both declare one of the two parameters); a
    // failure means a route was added without updating `TopicPath`, and says so.
    let Path(path) = Path::<TopicPath>::from_request_parts(parts, state)
        .await
        .map_err(|rejection| StreamError::BadRequest(rejection.body_text()))?;
    let name = match (path.topic, path.slug) {
        (Some(topic), None) => topic,
        (None, Some(slug)) => format!("sector/{slug}"),
        _ => return Err(StreamError::BadRequest("unexpected path parameters".into())),
    };
    // A malformed name and a well-formed name of no topic both get 404: to the client both
    // are "no such URL", and the handler checks existence against the catalogue. Echoed cut
    // short: the answer to a 10 KB name is not 10 KB.
    TopicName::parse(&name).map_err(|_| StreamError::UnknownTopic(name.chars().take(64).collect()))
}
