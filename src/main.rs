//! The server binary: wiring only — logs, configuration, bind, serve until a signal.
//!
//! Everything else is in the library: [`tickerplex::server::run`] assembles the server the same
//! way for this binary and for the integration tests.

use std::process::ExitCode;
use tickerplex::server::config::Config;
use tickerplex::server::run::{Server, StartupError};
use tickerplex::server::telemetry;

/// mimalloc rather than the system's malloc: a stream's life is many small, short-lived
/// allocations (frames, TLS records, request parts), and with glibc's malloc `free` alone took
/// ~16 % of the server's samples (`perf`, 50k streams at 100k events/s, two workers). Measured
/// with `scripts/bench` (BENCHMARKS.md): CPU per delivered event 2.1 → 1.7 µs, resident memory
/// per stream at 100k streams ~3.1 → ~2.5 KiB.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `purge_delay` option, which libmimalloc-sys leaves unnamed: the one just before
/// `use_numa_nodes` in the mimalloc.h it builds (v3; the same in v2), 15.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t =
    libmimalloc_sys::mi_option_use_numa_nodes - 1;

fn main() -> ExitCode {
    // Freed pages go back to the OS at once rather than 10 ms later (mimalloc's default): a
    // burst of connections frees its handshake and request buffers together, and with the
    // delay they stayed resident — 5.1 against 3.5 KiB of RSS per stream at 5k idle streams, no
    // CPU difference measured. `MIMALLOC_PURGE_DELAY` in the environment still wins.
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: sets one option of the allocator, before any thread but this one exists.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0) };
    }
    serve()
}

#[tokio::main]
async fn serve() -> ExitCode {
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
    let server = Server::build(Config::from_env()?).await?;
    let listeners = server.bind().await?;
    server
        .shutdown()
        .begin_on_signal()
        .map_err(StartupError::Signals)?;
    server.serve(listeners).await;
    Ok(())
}
