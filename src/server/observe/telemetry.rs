//! Structured logs with `tracing`.
//!
//! `RUST_LOG` picks the level as usual (`RUST_LOG=tickerplex=debug` shows every connection);
//! the default shows tickerplex's own `info` events and warnings from the libraries under it.

use std::io::Write;
use tracing_subscriber::EnvFilter;

/// Installs the global log subscriber. Call once, first thing in `main`.
///
/// Plain text to stdout, one line per event with its fields (`connection=3 topic=movers`): what
/// a developer reads in the terminal of `cargo leptos watch`. JSON output for a log pipeline is
/// one `.json()` away, and is left out so the default stays readable. The library itself never
/// installs a subscriber — the binary decides, so the integration tests are not flooded.
pub fn init() {
    // `RUST_LOG` when set; otherwise our `info` (connections, streams, drills, the start-up
    // lines) and only warnings from the libraries, whose `info` is noise to a reader.
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("tickerplex=info,tower_http=warn,hyper=warn,warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(true)
        .with_writer(|| LossyStdout)
        .init();
}

/// Standard output, where a line that cannot be written is dropped.
///
/// When whatever reads the logs goes away (a closed pipe, a log shipper that died), writing
/// fails. tracing's default then reports each failure on stderr — usually the same dead pipe —
/// and that report panics, in whichever task was logging: the accept loop, or the one waiting
/// for SIGTERM, so the server could no longer drain. Losing log lines is the lesser evil; a
/// server must stop when asked whether or not anyone reads its logs.
struct LossyStdout;

impl Write for LossyStdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let _ = std::io::stdout().write_all(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let _ = std::io::stdout().flush();
        Ok(())
    }
}
