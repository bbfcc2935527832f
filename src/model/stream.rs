//! The event stream's vocabulary: topic names, event ids, and the JSON payload of each SSE event.
//!
//! A stream (`GET /api/topics/{topic}/events`) carries these SSE event types:
//!
//! | `event:` | `id:` | `data:` | when |
//! |---|---|---|---|
//! | `hello` | — | [`Hello`] | first, after `retry:`: this stream's connection, and how it [`Start`]ed |
//! | `add` | live: yes; snapshot: — | [`crate::model::Quote`] | a member joins the topic (or is listed in the snapshot) |
//! | `sync` | the topic's current id | [`Sync`] | the snapshot is complete; the stream is now live from this id |
//! | `update` | yes | [`Update`] | a member's price moved |
//! | `remove` | yes | [`Removal`] | a member left the topic, and why |
//! | `reset` | — | [`Reset`] | the `Last-Event-ID` could not be resumed; a fresh snapshot follows |
//! | `shutdown` | — | [`Shutdown`] | the server is stopping; reconnect after the `retry:` sent with it |
//!
//! Ids are `<epoch>-<seq>` ([`EventId`]): `seq` counts the topic's events, `epoch` names the
//! server run. A client's `Last-Event-ID` therefore says exactly which events it has seen.

use super::{ConnectionId, Protocol, Quote, Symbol};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A topic a widget can subscribe to.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum TopicName {
    /// Ten stocks; now and then one leaves and another joins.
    Watchlist,
    /// The top five by % change since the open.
    Movers,
    /// Synthetic indices, one per sector and one for the whole market.
    Indices,
    /// The listed members of one sector (lowercase slug, e.g. `energy`).
    Sector(String),
    /// Numbered ticks at a fixed rate, for the load generator (`TICKERPLEX_BENCH_RATE`; absent
    /// unless that is set). See `server::bench`.
    Bench,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicError(pub String);

impl fmt::Display for TopicError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown topic {:?}: expected watchlist, movers, indices or sector/<name>",
            self.0
        )
    }
}

impl std::error::Error for TopicError {}

impl TopicName {
    /// Parses the path form: `watchlist`, `movers`, `indices`, `sector/<slug>`. Whether a sector
    /// exists is the market's business; this only checks the shape.
    pub fn parse(input: &str) -> Result<TopicName, TopicError> {
        match input {
            "watchlist" => Ok(TopicName::Watchlist),
            "movers" => Ok(TopicName::Movers),
            "indices" => Ok(TopicName::Indices),
            "bench" => Ok(TopicName::Bench),
            _ => match input.strip_prefix("sector/") {
                Some(slug)
                    if !slug.is_empty()
                        && slug.len() <= 32
                        && slug.chars().all(|c| c.is_ascii_lowercase() || c == '-') =>
                {
                    Ok(TopicName::Sector(slug.to_owned()))
                }
                _ => Err(TopicError(input.to_owned())),
            },
        }
    }

    /// The URL of this topic's event stream.
    pub fn events_url(&self) -> String {
        format!("/api/topics/{self}/events")
    }
}

impl fmt::Display for TopicName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TopicName::Watchlist => f.write_str("watchlist"),
            TopicName::Movers => f.write_str("movers"),
            TopicName::Indices => f.write_str("indices"),
            TopicName::Sector(slug) => write!(f, "sector/{slug}"),
            TopicName::Bench => f.write_str("bench"),
        }
    }
}

impl TryFrom<String> for TopicName {
    type Error = TopicError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        TopicName::parse(&value)
    }
}

impl From<TopicName> for String {
    fn from(topic: TopicName) -> String {
        topic.to_string()
    }
}

/// An SSE event id: `<epoch>-<seq>`.
///
/// `seq` is per topic and gap-free, so "which events did I miss?" is arithmetic. `epoch` is fixed
/// for one run of the server; a restarted server has a new epoch, so an id from the old run is
/// recognisably stale and gets an explicit reset, never a replay of unrelated events that happen
/// to share sequence numbers.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EventId {
    pub epoch: u64,
    pub seq: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventIdError(pub String);

impl fmt::Display for EventIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed event id {:?}: expected <epoch>-<seq>", self.0)
    }
}

impl std::error::Error for EventIdError {}

impl EventId {
    /// Strict: two runs of ASCII digits joined by one `-`, each fitting a u64.
    pub fn parse(input: &str) -> Result<EventId, EventIdError> {
        let err = || EventIdError(input.chars().take(64).collect());
        let (epoch, seq) = input.split_once('-').ok_or_else(err)?;
        let number = |s: &str| {
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(err());
            }
            s.parse::<u64>().map_err(|_| err())
        };
        Ok(EventId {
            epoch: number(epoch)?,
            seq: number(seq)?,
        })
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.epoch, self.seq)
    }
}

impl TryFrom<String> for EventId {
    type Error = EventIdError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        EventId::parse(&value)
    }
}

impl From<EventId> for String {
    fn from(id: EventId) -> String {
        id.to_string()
    }
}

/// `hello`: how the server sees this stream.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    pub topic: TopicName,
    pub connection: ConnectionId,
    pub protocol: Protocol,
    /// Streams open on this connection, this one included.
    pub streams_on_connection: usize,
    /// How this stream began: a snapshot, a resume, or a reset.
    pub start: Start,
}

/// How a stream began, decided by its `Last-Event-ID` (see `server::topics`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Start {
    /// No `Last-Event-ID`: a snapshot (`add` per member, then `sync`).
    Fresh,
    /// Resumed: the `replayed` events published since that id follow, then live ones.
    Resumed { replayed: usize },
    /// The `Last-Event-ID` could not be resumed: `reset`, then a snapshot.
    Reset { reason: ResetReason },
}

/// `sync`: the snapshot is complete.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sync {
    pub members: usize,
}

/// `update`: a member's price moved.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Update {
    pub symbol: Symbol,
    pub price: f64,
    pub change: f64,
    pub change_pct: f64,
    pub time: DateTime<Utc>,
}

/// `remove`: a member left the topic.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Removal {
    pub symbol: Symbol,
    /// Human-readable: "delisted", "rotated out of the watchlist", "left the top five".
    pub reason: String,
}

/// Why a `Last-Event-ID` could not be resumed.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResetReason {
    /// Not of the form `<epoch>-<seq>`.
    Malformed,
    /// From another run of the server.
    OtherEpoch,
    /// Older than the topic's bounded history.
    TooOld,
    /// Newer than anything the topic has published.
    FromTheFuture,
}

impl fmt::Display for ResetReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ResetReason::Malformed => "malformed id",
            ResetReason::OtherEpoch => "server restarted",
            ResetReason::TooOld => "beyond history",
            ResetReason::FromTheFuture => "id from the future",
        })
    }
}

/// `reset`: start over from the snapshot that follows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reset {
    pub reason: ResetReason,
}

/// `shutdown`: the server is draining.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shutdown {
    /// The reconnect delay sent with this event, jittered per stream.
    pub retry_ms: u64,
}

/// `Accept: application/json` on a topic's events URL: its members and current id, at once.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub topic: TopicName,
    pub id: EventId,
    pub members: Vec<Quote>,
}

/// `GET /api/stats`: live connections and topics.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    pub connections: Vec<ConnectionStats>,
    pub topics: Vec<TopicStats>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionStats {
    pub id: ConnectionId,
    pub protocol: Protocol,
    pub peer: std::net::SocketAddr,
    pub opened_at: DateTime<Utc>,
    pub streams: usize,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicStats {
    pub topic: TopicName,
    pub subscribers: usize,
    pub current_id: EventId,
    pub history: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ids round-trip through their text form, and anything else is malformed.
    #[test]
    fn event_ids_parse_strictly() {
        let id = EventId::parse("1700000000-42").unwrap();
        assert_eq!((id.epoch, id.seq), (1700000000, 42));
        assert_eq!(EventId::parse(&id.to_string()), Ok(id));
        for bad in [
            "",
            "42",
            "-1",
            "1-",
            "1-2-3",
            "a-1",
            "1-+2",
            "1 -2",
            "99999999999999999999-1",
        ] {
            assert!(EventId::parse(bad).is_err(), "{bad:?} should be malformed");
        }
    }

    /// Topic names round-trip through their path form; unknown shapes are refused.
    #[test]
    fn topic_names_parse_from_their_path_form() {
        for topic in ["watchlist", "movers", "indices", "sector/energy"] {
            assert_eq!(TopicName::parse(topic).unwrap().to_string(), topic);
        }
        for bad in ["", "sector/", "sector/Energy", "stocks", "sector/a/b"] {
            assert!(TopicName::parse(bad).is_err(), "{bad:?}");
        }
    }
}
