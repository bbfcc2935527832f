//! Types both halves compile: the server serialises them, the browser deserialises them.
//!
//! One definition each, shared through serde, so the wire format cannot drift between the server
//! and the wasm module. Nothing here knows about axum, tokio or the DOM.
//!
//! - this file: the connection a request arrived on ([`ConnectionId`], [`Protocol`],
//!   [`ConnectionInfo`]);
//! - `quote`: the market's vocabulary ([`Symbol`], [`Quote`]);
//! - `order`: Buy/Sell ([`Side`], [`Fill`]);
//! - `fault`: the `/faults` panel's catalogue ([`Fault`], [`Way`]);
//! - `ops`: the `/ops` page's numbers ([`OpsSample`]);
//! - `portfolio`: a session's private stream ([`Position`], [`Closed`]);
//! - `topic`: what a widget subscribes to ([`TopicName`]);
//! - `event`: the protocol's words ([`EventKind`], [`EventId`]);
//! - `stream`: the payload of each SSE event kind, and the stats about streams.

mod event;
mod fault;
mod ops;
mod order;
mod portfolio;
mod quote;
mod stream;
mod topic;

pub use event::{EventId, EventIdError, EventKind};
pub use fault::{Fault, PanelSetup, Way};
pub use ops::{OpsSample, GONE_AFTER_MS};
pub use order::{Fill, Side};
pub use portfolio::{dollars, Closed, PortfolioSnapshot, Position, STARTING_CASH_CENTS};
pub use quote::{Quote, Symbol, SymbolError};
pub use stream::{
    ConnectionStats, Heartbeat, Hello, LogStatus, Refused, Removal, Reset, ResetReason, Shutdown,
    Snapshot, Start, Stats, Sync, TopicStats, Update,
};
pub use topic::{TopicError, TopicName};

use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::SocketAddr;

/// The server's number for one accepted TCP connection: 1 for the first since start, then 2, …
///
/// It is what makes "every widget on one connection" checkable: each response carries it in the
/// `x-connection-id` header, and the page shows the one its own document arrived on.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ConnectionId(u64);

impl ConnectionId {
    /// The id of the first connection after start.
    pub const FIRST: ConnectionId = ConnectionId(1);

    /// The id the next accepted connection gets.
    pub fn next(self) -> ConnectionId {
        ConnectionId(self.0 + 1)
    }

    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for ConnectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// The HTTP version a connection speaks, as ALPN negotiated it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Protocol {
    /// HTTP/2: many requests and streams multiplexed on one connection.
    #[serde(rename = "h2")]
    Http2,
    /// HTTP/1.1: one request at a time per connection.
    #[serde(rename = "http/1.1")]
    Http1,
}

impl Protocol {
    /// The ALPN id, which is also what browsers report as `nextHopProtocol` and what devtools
    /// shows in the Network panel's Protocol column.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Http2 => "h2",
            Protocol::Http1 => "http/1.1",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the server knows about the connection a request arrived on.
///
/// The accept loop (`server::transport::connection`) puts one into every request's extensions; handlers and
/// server functions read it with `Extension<ConnectionInfo>`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionInfo {
    pub id: ConnectionId,
    pub protocol: Protocol,
    pub peer: SocketAddr,
}
