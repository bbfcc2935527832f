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
/// Fresh loads per measurement: the median of ten, with the spread.
const RUNS: usize = 10;

pub async fn report(root: &Path, options: &Options) -> Result<String, String> {
    let mut sizes = Vec::new();
    let pkg = root.join("target/site/pkg");
    for extension in ["wasm", "js", "css"] {
        let path = bundle_file(&pkg, extension)?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        // What leptos_axum sends to a browser accepting brotli: the `.br` beside the file
        // (`cargo leptos build --release --precompress`), or the file itself.
        let served = std::fs::metadata(format!("{}.br", path.display()))
            .or_else(|_| std::fs::metadata(&path))
            .map(|m| m.len())
            .unwrap_or(0);
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
        sizes.push((extension, name, [raw, gzip, brotli, served]));
    }

    // The embed loader (public/embed.js, copied into the site root): what a host page adds.
    let loader = root.join("target/site/embed.js");
    let loader = match std::fs::metadata(&loader) {
        Ok(meta) => Some([
            meta.len(),
            compressed(&loader, "gzip", &["-9", "-c"])?,
            compressed(&loader, "brotli", &["-q", "11", "-c"])?,
            meta.len(),
        ]),
        Err(_) => None,
    };

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
    let dashboard = visits(root, &format!("https://localhost:{}/", PORTS.h2)).await;
    let embed = match &dashboard {
        Ok(_) => visits(root, &format!("https://localhost:{}/embed/watchlist", PORTS.h2)).await,
        Err(error) => Err(error.clone()),
    };
    server.stop().await;
    let (mut dashboard, mut embed) = (dashboard?, embed?);
    let transferred = &dashboard.transferred;

    let mut out = String::from(
        "\n## The page (release build)\n\n\
         | file | raw | gzip -9 | brotli -q 11 | served to a browser accepting br | transferred to Chromium (Resource Timing) |\n\
         |---|---|---|---|---|---|\n",
    );
    let mut total = 0;
    for (extension, name, [raw, gzip, brotli, served]) in sizes {
        let got = transferred.get(extension).copied();
        total += got.unwrap_or(0);
        let _ = writeln!(
            out,
            "| {name} | {} | {} | {} | {} | {} |",
            kib(raw),
            kib(gzip),
            kib(brotli),
            kib(served),
            got.map_or("—".into(), kib)
        );
    }
    let _ = writeln!(
        out,
        "| **the bundle, as transferred** | | | | | **{}** |",
        kib(total)
    );
    if let Some([raw, gzip, brotli, served]) = loader {
        let _ = writeln!(
            out,
            "| embed.js (the embed loader, served as is) | {} | {} | {} | {} | — |",
            kib(raw),
            kib(gzip),
            kib(brotli),
            kib(served)
        );
    }
    let _ = write!(
        out,
        "\nHeadless Chromium, {RUNS} first visits (a fresh browser context each) to each page, \
         server pinned as above; milliseconds from navigation start, and the bytes transferred \
         before the first live tick:\n\n\
         | page | hydrated: median (min–max) | first live tick: median (min–max) | HTML | wasm + JS |\n\
         |---|---|---|---|---|\n{}\n{}\n",
        dashboard.row("the default dashboard (`/`)"),
        embed.row("an embed (`/embed/watchlist`)"),
    );
    Ok(out)
}

/// What [`RUNS`] first visits to one page measured.
struct Visits {
    hydrated: Vec<f64>,
    first_tick: Vec<f64>,
    /// The bytes the browser transferred for each bundle file (the last run's; every run is a
    /// first visit, so they are all the same).
    transferred: std::collections::HashMap<String, u64>,
    /// The document's bytes as transferred.
    html: u64,
}

/// Runs `end2end/bench/browser.mjs` against `url`.
async fn visits(root: &Path, url: &str) -> Result<Visits, String> {
    // `tokio::process`, not `std::process`: waiting for node (tens of seconds) must not block
    // the thread the generator's runtime runs on.
    let output = tokio::process::Command::new("node")
        .arg(root.join("end2end/bench/browser.mjs"))
        .arg(url)
        .arg(RUNS.to_string())
        .current_dir(root.join("end2end"))
        .stderr(Stdio::inherit())
        .output()
        .await
        .map_err(|e| format!("cannot run node (scripts/setup installs it with Playwright): {e}"))?;
    if !output.status.success() {
        return Err(format!("end2end/bench/browser.mjs {url} failed ({})", output.status));
    }
    let mut visits = Visits {
        hydrated: Vec::new(),
        first_tick: Vec::new(),
        transferred: Default::default(),
        html: 0,
    };
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let run: serde_json::Value =
            serde_json::from_str(line).map_err(|e| format!("{line}: {e}"))?;
        visits.hydrated.push(run["hydrated_ms"].as_f64().unwrap_or(f64::NAN));
        visits.first_tick.push(run["first_tick_ms"].as_f64().unwrap_or(f64::NAN));
        visits.html = run["html"]["encoded"].as_u64().unwrap_or(0);
        for file in run["bundle"].as_array().into_iter().flatten() {
            if let (Some(kind), Some(encoded)) = (file["file"].as_str(), file["encoded"].as_u64()) {
                visits.transferred.insert(kind.to_owned(), encoded);
            }
        }
    }
    Ok(visits)
}

impl Visits {
    fn row(&mut self, page: &str) -> String {
        let code: u64 = ["wasm", "js"].iter().filter_map(|k| self.transferred.get(*k)).sum();
        format!(
            "| {page} | {} | {} | {} | {} |",
            spread(&mut self.hydrated),
            spread(&mut self.first_tick),
            kib(self.html),
            kib(code)
        )
    }
}

/// The bundle's `extension` file in `pkg`: `tickerplex.<hash>.<extension>` (Cargo.toml:
/// `hash-files`), or `tickerplex.<extension>` from a build without hashes.
fn bundle_file(pkg: &Path, extension: &str) -> Result<std::path::PathBuf, String> {
    let entries = std::fs::read_dir(pkg).map_err(|e| {
        format!(
            "{}: {e} (build it: cargo leptos build --release --precompress)",
            pkg.display()
        )
    })?;
    entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .find(|path| {
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            name.starts_with("tickerplex.")
                && name.ends_with(&format!(".{extension}"))
                && !name.contains(".d.")
        })
        .ok_or_else(|| format!("no tickerplex.*.{extension} in {}", pkg.display()))
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

/// "median (min–max)", in whole milliseconds.
fn spread(values: &mut [f64]) -> String {
    values.sort_by(f64::total_cmp);
    let median = values.get(values.len() / 2).copied().unwrap_or(f64::NAN);
    let min = values.first().copied().unwrap_or(f64::NAN);
    let max = values.last().copied().unwrap_or(f64::NAN);
    format!("{median:.0} ({min:.0}–{max:.0})")
}
