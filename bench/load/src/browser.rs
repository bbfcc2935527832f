//! The browser's side of the report: what a first visit downloads, and how soon it is live.
//!
//! - Sizes of the release build's wasm, JS and CSS: raw, gzip -9 and brotli -q 11 (the CLI tools,
//!   as a server or CDN would pre-compress them).
//! - Time from navigation to hydrated and to the first live tick rendered, in headless Chromium
//!   (`end2end/bench/browser.mjs`), against the release server with its normal market.

use crate::servers::{self, Ports};
use crate::suite::{self, Options};
use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

/// The page is measured on the same ports tickerplex is benchmarked on.
const PORTS: Ports = suite::TICKERPLEX_PORTS;
const RUNS: usize = 5;

pub async fn report(root: &Path, options: &Options) -> Result<String, String> {
    let mut out = String::from("\n## The page (release build)\n\n| file | raw | gzip -9 | brotli -q 11 |\n|---|---|---|---|\n");
    let pkg = root.join("target/site/pkg");
    for name in ["tickerplex.wasm", "tickerplex.js", "tickerplex.css"] {
        let path = pkg.join(name);
        let raw = std::fs::metadata(&path)
            .map_err(|e| {
                format!(
                    "{}: {e} (build it: cargo leptos build --release)",
                    path.display()
                )
            })?
            .len();
        let gzip = compressed(&path, "gzip", &["-9", "-c"])?;
        let brotli = compressed(&path, "brotli", &["-q", "11", "-c"])?;
        let _ = writeln!(
            out,
            "| {name} | {} | {} | {} |",
            kib(raw),
            kib(gzip),
            kib(brotli)
        );
    }

    let mut server = servers::tickerplex(
        &options.server,
        root,
        &options.scratch,
        options.pin.map(|(server, _)| server),
        PORTS,
        None,
        None,
        "tickerplex",
    )?;
    server.ready(PORTS.h2).await?;
    let url = format!("https://localhost:{}/", PORTS.h2);
    // `tokio::process`, not `std::process`: waiting for node (tens of seconds) must not block
    // the thread the generator's runtime runs on.
    let output = tokio::process::Command::new("node")
        .arg(root.join("end2end/bench/browser.mjs"))
        .arg(&url)
        .arg(RUNS.to_string())
        .current_dir(root.join("end2end"))
        .stderr(Stdio::inherit())
        .output()
        .await
        .map_err(|e| format!("cannot run node (scripts/setup installs it with Playwright): {e}"))?;
    server.stop().await;
    if !output.status.success() {
        return Err(format!(
            "end2end/bench/browser.mjs failed ({})",
            output.status
        ));
    }
    let mut hydrated = Vec::new();
    let mut first_tick = Vec::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let run: serde_json::Value =
            serde_json::from_str(line).map_err(|e| format!("{line}: {e}"))?;
        hydrated.push(run["hydrated_ms"].as_f64().unwrap_or(f64::NAN));
        first_tick.push(run["first_tick_ms"].as_f64().unwrap_or(f64::NAN));
    }
    let _ = write!(
        out,
        "\nHeadless Chromium, {RUNS} first visits (a fresh browser context each) to the default \
         dashboard, server pinned as above; milliseconds from navigation start:\n\n\
         | | median | min | max |\n|---|---|---|---|\n{}\n{}\n",
        row("hydrated", &mut hydrated),
        row("first live tick rendered", &mut first_tick)
    );
    Ok(out)
}

fn compressed(path: &Path, tool: &str, args: &[&str]) -> Result<u64, String> {
    let output = Command::new(tool)
        .args(args)
        .arg(path)
        .output()
        .map_err(|e| {
            format!("cannot run {tool} (apt-get install {tool}; scripts/bench does): {e}")
        })?;
    if !output.status.success() {
        return Err(format!("{tool} failed on {}", path.display()));
    }
    Ok(output.stdout.len() as u64)
}

fn kib(bytes: u64) -> String {
    format!("{:.1} KiB", bytes as f64 / 1024.0)
}

fn row(name: &str, values: &mut [f64]) -> String {
    values.sort_by(f64::total_cmp);
    let median = values.get(values.len() / 2).copied().unwrap_or(f64::NAN);
    let min = values.first().copied().unwrap_or(f64::NAN);
    let max = values.last().copied().unwrap_or(f64::NAN);
    format!("| {name} | {median:.0} | {min:.0} | {max:.0} |")
}
