//! Everything that only exists on the server (`feature = "ssr"`).
//!
//! The map of these modules, and of the whole crate, is in `src/lib.rs`: one map, kept in one
//! place so it cannot drift from a second copy. This file only declares them.
//!
//! Nothing here is compiled into the wasm module.

pub mod backoff;
pub mod bad_input;
pub mod bench;
pub mod caching;
pub mod certs;
pub mod cluster_control;
pub mod coalesce;
pub mod config;
pub mod connection;
pub mod dashboard;
pub mod drills;
pub mod embed;
pub mod empty_chunks;
pub mod exporter;
pub mod faults;
pub mod feed;
pub mod functions;
pub mod instance;
pub mod ledger;
pub mod limits;
pub mod log;
pub mod market;
pub mod metrics;
pub mod ops;
pub mod orders;
pub mod portfolio;
pub mod registry;
pub mod routes;
pub mod run;
pub mod session;
pub mod shutdown;
pub mod sse;
pub mod stall;
pub mod state;
pub mod stream;
pub mod telemetry;
pub mod tls;
pub mod topics;
