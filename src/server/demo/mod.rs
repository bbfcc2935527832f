//! The demo's own machinery: things a production server would not have, kept apart so it can
//! be read (and left out) as a whole.
//!
//! What it owns: the fault drills ([`drills`], off unless `TICKERPLEX_DRILLS=1`), the fault
//! panel's streams, each through a real compressor, buffer, idle timeout or gateway
//! ([`faults`]), the cluster card that hands freeze / kill / restart to `scripts/cluster`
//! ([`cluster_control`]), and the `bench` topic for the load generator ([`bench`](mod@bench)).
//!
//! It may import [`crate::server::stream`] and everything below it; `web` mounts its routes.

pub mod bench;
pub mod cluster_control;
pub mod drills;
pub mod faults;
