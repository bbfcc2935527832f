//! The server binary: wiring only — logs, configuration, bind, serve until a signal.
//!
//! Everything else is in the library: [`tickerplex::server::run`] assembles the server the same
//! way for this binary and for the integration tests.

use std::process::ExitCode;
use tickerplex::server::config::Config;
use tickerplex::server::observe::telemetry;
use tickerplex::server::run::{Server, StartupError};

/// mimalloc rather than the system's malloc: a stream's life is many small, short-lived
/// allocations (frames, TLS records, request parts), and with glibc's malloc `free` alone took
/// ~16 % of the server's samples (`perf`, 50k streams at 100k events/s, two workers). Measured
/// with `scripts/bench` (BENCHMARKS.md): CPU per delivered event 2.1 → 1.7 µs, resident memory
/// per stream at 100k streams ~3.1 → ~2.5 KiB.
///
/// One option is not its default: transparent huge pages, off (Cargo.toml's `no_thp`). mimalloc
/// asks the kernel for 2 MiB pages on its arenas (`madvise(MADV_HUGEPAGE)`), so a page touched
/// anywhere in a 2 MiB region makes all of it resident: with Debian's THP setting (`madvise`),
/// a connection's scattered buffers cost ~15 KiB more than they do with THP off. Off, RSS per
/// stream fell from 51.0 to 33.4 KB at one stream per connection and from 5.8 to 3.6 KB at 240
/// (5k streams, 10k events/s; medians of three runs of `tickerplex-load suite --peers
/// tickerplex,tickerplex-baseline,naive`, the old binary as the baseline peer; see
/// docs/benchmarks.md). A kernel set to THP `always` backs large mappings with huge pages
/// whether asked or not: there, `MIMALLOC_ALLOW_THP=0` in the environment turns it off for
/// the process.
///
/// Freed pages are returned to the OS 10 ms after the last use (the default), so the buffers
/// of a burst of new connections stay resident a while; returning them at once
/// (`MIMALLOC_PURGE_DELAY=0`) saved another ~2.5 KiB per connection but cost ~20 % more CPU at
/// one stream per connection, where every write frees and reallocates a buffer.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    telemetry::init();
    match start().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // One readable line naming what to fix, not a panic trace.
            tracing::error!(%error, "tickerplex could not start");
            ExitCode::FAILURE
        }
    }
}

async fn start() -> Result<(), StartupError> {
    // The app's pages are handed to the server, which never imports the app.
    let server = Server::build(Config::from_env()?, tickerplex::app::pages()).await?;
    let listeners = server.bind().await?;
    server
        .shutdown()
        .begin_on_signal()
        .map_err(StartupError::Signals)?;
    server.serve(listeners).await;
    Ok(())
}
