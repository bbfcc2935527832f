//! What the server tells its operator: metrics for Prometheus, samples for `/ops`, logs.
//!
//! What it owns: the Prometheus exporter on a listener of its own ([`exporter`]), the `/ops`
//! page's once-a-second samples ([`ops`]) and `tracing`'s set-up ([`telemetry`]). The counters
//! themselves are [`crate::server::metrics`], one level down, because every layer bumps them.
//!
//! It may import [`crate::server::trading`], [`crate::server::pubsub`] and
//! [`crate::server::transport`]: it reads them, and none of them reads it.

pub mod exporter;
pub mod ops;
pub mod telemetry;
