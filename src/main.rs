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
/// Its defaults are kept. Freed pages are returned to the OS 10 ms after the last use, so the
/// buffers of a burst of new connections stay resident a while (RSS per stream at 5k idle
/// streams 5.1 KiB, against 3.1 with `MIMALLOC_PURGE_DELAY=0`); returning them at once cost ~20 %
/// more CPU at one stream per connection, where every write frees and reallocates a buffer.
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
