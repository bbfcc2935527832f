//! The JSON payload of each SSE event, and the stats the server reports about its streams.
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
//! | `refused` | — | [`Refused`] | the stream was not opened (a cap on open streams); reconnect after the `retry:` |
//!
//! Ids are `<epoch>-<seq>` ([`EventId`]): `seq` counts the topic's events, `epoch` names the
//! server run. A client's `Last-Event-ID` therefore says exactly which events it has seen.

use super::{ConnectionId, EventId, Protocol, Quote, Symbol, TopicName};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// `hello`: how the server sees this stream.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    pub topic: TopicName,
    /// The instance serving this stream (`TICKERPLEX_INSTANCE`): in a cluster, which one the
    /// edge sent the browser to.
    pub instance: String,
    pub connection: ConnectionId,
    pub protocol: Protocol,
    /// Streams open on this connection, this one included.
    pub streams_on_connection: usize,
    /// The request came through a trusted proxy (it named the client in `X-Forwarded-For`):
    /// the connection above is the edge's to this instance, not the browser's.
    #[serde(default)]
    pub proxied: bool,
    /// How this stream began: a snapshot, a resume, or a reset.
    pub start: Start,
    /// The longest this stream stays silent: a `heartbeat` follows at most this long after
    /// anything else. A page that hears nothing for longer (1.5–2× it) reopens the stream.
    /// `None` from a server that sends no heartbeats.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heartbeat_ms: Option<u64>,
}

/// `heartbeat`: the stream is alive (see [`crate::model::EventKind::Heartbeat`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Heartbeat {
    /// The interval, again: a client that missed `hello` (a relay's later tab) learns it here.
    pub interval_ms: u64,
}

/// How a stream began, decided by its `Last-Event-ID` (see `server::pubsub::topics`).
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
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sync {
    pub members: usize,
    /// The account's cash, on the portfolio's stream only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cash: Option<f64>,
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
    /// Not of the form `<epoch>-<seq>`, longer than any id of ours, or not ASCII: whatever a
    /// client sends, the stream opens (an `EventSource` never retries after a 4xx) and resets.
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

/// `refused`: the stream was not opened, because a cap on open streams was reached.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refused {
    /// Which cap, in words.
    pub reason: String,
    /// The reconnect delay sent with this event, jittered.
    pub retry_ms: u64,
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
    /// The instance answering (`TICKERPLEX_INSTANCE`).
    pub instance: String,
    /// Where the market topics' log is, and whether this instance reaches it.
    pub log: LogStatus,
    pub connections: Vec<ConnectionStats>,
    pub topics: Vec<TopicStats>,
}

impl Stats {
    /// Every open stream, and how many connections carry at least one. Connections that carry
    /// none (a `curl /api/stats`, a scrape, a page between requests) are left out of the second
    /// figure: "N streams on M connections" is about where the streams are.
    pub fn streams_on_connections(&self) -> (usize, usize) {
        let carrying = self.connections.iter().filter(|c| c.streams > 0);
        let streams = self.connections.iter().map(|c| c.streams).sum();
        (streams, carrying.count())
    }
}

/// The event log's backend and health, as this instance sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogStatus {
    /// `memory` (this process) or `redis` (shared by every instance on it).
    pub backend: String,
    /// Whether the last operation on it succeeded (always true in memory).
    pub healthy: bool,
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
