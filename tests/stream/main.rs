//! The event streams of one server: topics and their protocol, resume, dead clients, and the
//! fault panel. Two stream tests keep binaries of their own, since they measure the process:
//! `tests/silent_sockets.rs` counts its file descriptors, and `tests/faults.rs` (cut
//! connections at random offsets) needs the test server's runtime to itself to keep up.
//!
//! One test binary for these files (each a module below): every integration-test binary
//! links the whole crate, ~8 s apiece on 2 cores, so the tests are grouped by the part of the
//! journey they prove rather than one binary per file. Run one file's tests by its module
//! name: `cargo test --features ssr --test stream sse_topics::`.

#[path = "../common/mod.rs"]
mod common;

mod sse_topics;
mod sse_resume;
mod dead_clients;
mod fault_panel;
