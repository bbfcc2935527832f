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
use axum::extract::{FromRequestParts, Path, Query};
use axum::http::{header, request::Parts};
use serde::Deserialize;

/// Everything a client says when it opens a topic's events URL.
#[derive(Debug)]
pub struct StreamRequest {
    pub topic: TopicName,
    pub representation: Representation,
    /// Where the client left off, if anywhere (the header wins over the query).
    pub last_event_id: Option<String>,
    /// The connection this request arrived on, as the accept loop labelled it.
    pub connection: ConnectionInfo,
    /// The last address in `X-Forwarded-For`, if any: the client, when the peer is a trusted
    /// proxy (decided by [`crate::server::limits::Limits::client`], not here).
    pub forwarded_for: Option<std::net::IpAddr>,
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
    topic: Option<String>,
    slug: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for StreamRequest {
    type Rejection = StreamError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, StreamError> {
        // Path extraction cannot fail on our routes (both declare one of the two parameters);
        // a failure means a route was added without updating `TopicPath`, and says so.
        let Path(path) = Path::<TopicPath>::from_request_parts(parts, state)
            .await
            .map_err(|rejection| StreamError::BadRequest(rejection.body_text()))?;
        let name = match (path.topic, path.slug) {
            (Some(topic), None) => topic,
            (None, Some(slug)) => format!("sector/{slug}"),
            _ => return Err(StreamError::BadRequest("unexpected path parameters".into())),
        };
        // A malformed name and a well-formed name of no topic both get 404: to the client both
        // are "no such URL", and the handler checks existence against the catalogue.
        let topic = TopicName::parse(&name).map_err(|_| StreamError::UnknownTopic(name))?;

        // No `Accept` at all means "anything" (RFC 9110 §12.5.1).
        let accept = parts
            .headers
            .get(header::ACCEPT)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("*/*");
        let representation = negotiate(accept).ok_or(StreamError::NotAcceptable)?;

        // The header wins over the query: it is what the browser sends when it reconnects, and
        // it is newer than the id the page was rendered with.
        // A header that is not visible ASCII (`to_str` fails) is treated as absent rather than
        // refused: the stream still opens, from a fresh snapshot, which is what the client
        // would get for any id it could not have been given by us.
        let header = parts
            .headers
            .get("last-event-id")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let last_event_id = match header {
            Some(id) => Some(id),
            None => {
                Query::<ResumeQuery>::from_request_parts(parts, state)
                    .await
                    .map_err(|rejection| StreamError::BadRequest(rejection.body_text()))?
                    .0
                    .last_event_id
            }
        };

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

        // The accept loop inserts this into every request it serves (server::connection).
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
            last_event_id,
            connection,
            forwarded_for,
        })
    }
}
