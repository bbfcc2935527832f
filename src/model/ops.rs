//! The ops page's numbers: one [`OpsSample`] a second from the instance serving the page's
//! stream (`GET /api/ops/events`, an `update` without an id each second, after `hello`).

use serde::{Deserialize, Serialize};

/// An instance whose newest sample is this much older than the newest of all has gone away:
/// the `/ops` page drops it, and the cluster's board forgets it (`server::observe::ops`).
pub const GONE_AFTER_MS: i64 = 5_000;

/// One second of one instance, as the `/ops` page plots it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OpsSample {
    /// The instance that measured it (`TICKERPLEX_INSTANCE`).
    pub instance: String,
    /// Milliseconds since 1970, when it was measured.
    pub time_ms: i64,
    /// Connections open, by protocol, and event streams open: as `/api/stats` counts them.
    pub connections_h2: usize,
    pub connections_http1: usize,
    pub streams: usize,
    /// Streams per connection that carries one (0 when none does).
    pub streams_per_connection: f64,
    /// Events published on this instance, and live events handed to connections, per second
    /// over the last second.
    pub published_per_sec: f64,
    pub delivered_per_sec: f64,
}
