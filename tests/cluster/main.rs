//! Several instances as real processes: the shared log on Redis and its faults, the edges
//! (nginx, HAProxy), a rolling deploy, the log pipe.
//!
//! One test binary for these files (each a module below): every integration-test binary
//! links the whole crate, ~8 s apiece on 2 cores, so the tests are grouped by the part of the
//! journey they prove rather than one binary per file. Run one file's tests by its module
//! name: `cargo test --features ssr --test cluster shared_log::`.

#[path = "../common/mod.rs"]
mod common;

mod shared_log;
mod shared_log_faults;
mod edge;
mod edge_pitfalls;
mod rolling_deploy;
mod log_pipe;
