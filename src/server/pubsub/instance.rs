//! This instance of the server: its name, and its link to the shared log if it is in a cluster.
//!
//! What it owns: the name every answer carries (`hello`'s `instance`, the `x-instance` header,
//! `/api/stats`), so a reader — or a test behind an edge — sees which instance served what, and
//! the log's health as this instance sees it. Not the log itself ([`crate::server::pubsub::log`]).

use crate::model::LogStatus;
use crate::server::pubsub::log::redis::Redis;
use axum::http::{HeaderName, HeaderValue};
use std::sync::Arc;

/// The response header naming the instance that answered.
pub const INSTANCE_HEADER: HeaderName = HeaderName::from_static("x-instance");

/// This instance: its name (in `hello`, the `x-instance` header and `/api/stats`) and, in a
/// cluster, its link to the shared log (for the log's health in `/api/stats`).
#[derive(Clone)]
pub struct Instance {
    /// `TICKERPLEX_INSTANCE`, or `<host>-<pid>`: shared (`Arc<str>`) because every stream's hello
    /// and every response header carry it, and a clone is then a reference count.
    pub name: Arc<str>,
    /// `None` on a single instance (the in-memory log): then `/api/stats` has no shared log to
    /// report on.
    pub redis: Option<Arc<Redis>>,
}

impl Instance {
    /// The log's backend and whether this instance reaches it: local knowledge, no round trip.
    pub fn log_status(&self) -> LogStatus {
        match &self.redis {
            None => LogStatus {
                backend: "memory".to_owned(),
                healthy: true,
            },
            Some(redis) => LogStatus {
                backend: "redis".to_owned(),
                healthy: redis.is_healthy(),
            },
        }
    }

    /// The name as a header value. `Config` only accepts names that are valid header values.
    pub fn header_value(&self) -> HeaderValue {
        HeaderValue::from_str(&self.name).unwrap_or_else(|_| HeaderValue::from_static("unnamed"))
    }
}
