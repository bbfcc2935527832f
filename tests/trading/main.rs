//! Orders and portfolios: the ledger's promises on both backends (SQLite, Postgres), and the
//! private stream.
//!
//! One test binary for these files (each a module below): every integration-test binary
//! links the whole crate, ~8 s apiece on 2 cores, so the tests are grouped by the part of the
//! journey they prove rather than one binary per file. Run one file's tests by its module
//! name: `cargo test --features ssr --test trading ledger::`.

#[path = "../common/mod.rs"]
mod common;

mod ledger;
mod portfolio;
