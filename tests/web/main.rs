//! One server, answering as a browser and hostile clients would ask: TLS and HTTP/2, headers,
//! CSRF, the static bundle, embeds, the page's assembly, bounds on every input, stream limits.
//!
//! One test binary for these files (each a module below): every integration-test binary
//! links the whole crate, ~8 s apiece on 2 cores, so the tests are grouped by the part of the
//! journey they prove rather than one binary per file. Run one file's tests by its module
//! name: `cargo test --features ssr --test web https_h2::`.

#[path = "../common/mod.rs"]
mod common;

mod assembly;
mod assets;
mod bounds;
mod csrf;
mod docs;
mod embed;
mod headers;
mod https_h2;
mod limits;
