//! The naive baseline peer (src/bin/naive.rs), started like the others.

use super::{log_file, pinned, Ports, Server};
use std::path::Path;
use std::process::Stdio;

/// Starts the naive baseline (`bin`, src/bin/naive.rs) ticking `rate` times a second, pinned
/// like tickerplex.
pub fn naive(
    bin: &Path,
    root: &Path,
    scratch: &Path,
    cpu: Option<usize>,
    ports: Ports,
    rate: f64,
) -> Result<Server, String> {
    if !bin.exists() {
        return Err(format!(
            "no naive baseline at {} (build it: cargo build --release -p tickerplex-load)",
            bin.display()
        ));
    }
    let (log, file) = log_file(scratch, "naive")?;
    let child = pinned(bin, cpu)
        .current_dir(root)
        .env("TICKERPLEX_BENCH_RATE", rate.to_string())
        .env("LEPTOS_SITE_ADDR", Ports::addr(ports.h2).to_string())
        .stdin(Stdio::null())
        .stdout(file.try_clone().map_err(|e| e.to_string())?)
        .stderr(file)
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
    Ok(Server {
        child: Some(child),
        log,
    })
}
