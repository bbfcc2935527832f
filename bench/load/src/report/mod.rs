//! The report: one markdown table of every scenario, tickerplex beside Nchan with their
//! ratios, and the figures derived from rows (memory per added connection). Kept apart from
//! the run itself (`suite`) so the numbers' presentation can change without touching how they
//! are measured.

mod redis_backend;
mod slow_readers;
mod two_workers;

use crate::client::Protocol;
use crate::suite::{Measured, Peer, Rate, Scenario};
use std::fmt::Write as _;
use std::path::Path;

/// One scenario's figures for every peer that ran it.
pub struct Row {
    pub scenario: Scenario,
    pub results: Vec<Result<Measured, String>>,
}

/// The report: the table of figures with ratios, the targets, and what each figure means.
pub fn markdown(rows: &[Row], peers: &[Peer], header: &str) -> String {
    let mut out = String::new();
    out.push_str(header);
    let figures: [(&str, fn(&Measured) -> f64); 13] = [
        ("streams held", |m| m.received.streams_held as f64),
        ("events/s", |m| m.received.events_per_sec),
        ("p50 ms", |m| latency(m, m.received.p50_ms)),
        ("p99 ms", |m| latency(m, m.received.p99_ms)),
        ("p99.9 ms", |m| latency(m, m.received.p999_ms)),
        ("max ms", |m| latency(m, m.received.max_ms)),
        ("slowest receiver p99 ms", |m| {
            latency(m, m.received.slowest_receiver_p99_ms)
        }),
        ("lost", |m| m.received.lost as f64),
        ("stream errors", |m| {
            (m.received.stream_errors + m.received.failed_to_open) as f64
        }),
        ("RSS/stream B", |m| m.rss_per_stream_bytes),
        ("CPU %", |m| m.cpu_percent),
        ("writes/event", |m| m.write_syscalls_per_event),
        ("generator CPU %", |m| m.generator_cpu_percent),
    ];
    let _ = write!(out, "| scenario | conns |");
    for (name, _) in &figures {
        let _ = write!(out, " {name} |");
    }
    out.push('\n');
    out.push_str(&"|---".repeat(figures.len() + 2));
    out.push_str("|\n");
    for row in rows {
        let _ = write!(out, "| {} | {} |", row.scenario, row.scenario.connections());
        for (_, figure) in &figures {
            let values: Vec<Option<f64>> = row
                .results
                .iter()
                .map(|r| r.as_ref().ok().map(figure).filter(|v| !v.is_nan()))
                .collect();
            let cell = values
                .iter()
                .map(|v| v.map_or("—".to_owned(), number))
                .collect::<Vec<_>>()
                .join(" / ");
            let ratio = match values.as_slice() {
                // The first peer over the last (tickerplex over Nchan, whatever runs between).
                [Some(a), .., Some(b)] if *b != 0.0 && a.is_finite() && b.is_finite() => {
                    format!(" (**{:.2}×**)", a / b)
                }
                _ => String::new(),
            };
            let _ = write!(out, " {cell}{ratio} |");
        }
        out.push('\n');
    }
    let failures: Vec<String> = rows
        .iter()
        .flat_map(|row| {
            row.results.iter().zip(peers).filter_map(move |(r, peer)| {
                let measured = match r {
                    Err(error) => {
                        return Some(format!("- {peer}, {}: did not run: {error}", row.scenario))
                    }
                    Ok(m) => m,
                };
                (!measured.received.first_errors.is_empty()).then(|| {
                    let kept = match &measured.kept_logs {
                        Some(dir) => format!("; the servers' logs: `{}`", dir.display()),
                        None => String::new(),
                    };
                    format!(
                        "- {peer}, {}: {} stream errors, {} failed to open; first: {}{kept}",
                        row.scenario,
                        measured.received.stream_errors,
                        measured.received.failed_to_open,
                        measured.received.first_errors.join("; ")
                    )
                })
            })
        })
        .collect();
    out.push_str(&connection_slope(rows, peers));
    out.push_str(&redis_backend::section(rows, peers));
    out.push_str(&slow_readers::section(rows, peers));
    out.push_str(&two_workers::section(rows, peers));
    if !failures.is_empty() {
        out.push_str("\nErrors seen:\n\n");
        out.push_str(&failures.join("\n"));
        out.push('\n');
    }
    out
}

/// Memory per added connection: the same streams at the same rate, one per HTTP/2 connection
/// (W=1) against 240 per connection; the difference per stream is what each extra connection
/// costs.
fn connection_slope(rows: &[Row], peers: &[Peer]) -> String {
    let find = |w: usize| {
        rows.iter().find(|row| {
            row.scenario.per_connection == w
                && row.scenario.protocol == Protocol::H2
                && row.scenario.rate == Rate::PerSec(10_000.0)
                && row.scenario.streams == 5_000
                && row.scenario.stalled == 0
        })
    };
    let (Some(one), Some(many)) = (find(1), find(240)) else {
        return String::new();
    };
    let mut out = format!(
        "\nMemory per added connection (RSS/stream at W=1 minus at W=240, both {}, {}): ",
        human(one.scenario.streams as f64),
        one.scenario.rate
    );
    let slopes: Vec<String> = peers
        .iter()
        .enumerate()
        .map(|(i, peer)| match (&one.results[i], &many.results[i]) {
            (Ok(a), Ok(b)) => format!(
                "{peer} {:.1} KiB",
                (a.rss_per_stream_bytes - b.rss_per_stream_bytes) / 1024.0
            ),
            _ => format!("{peer} —"),
        })
        .collect();
    out.push_str(&slopes.join(", "));
    out.push_str(".\n");
    out
}

/// A latency figure, or NaN (shown as —) when no tick due in the window arrived to measure.
fn latency(m: &Measured, value: f64) -> f64 {
    if m.received.ticks == 0 {
        f64::NAN
    } else {
        value
    }
}

/// Numbers for a table: few digits, thousands as k.
fn number(value: f64) -> String {
    if value.is_nan() {
        "n/a".to_owned()
    } else if value >= 10_000.0 {
        human(value)
    } else if value >= 100.0 || value == value.trunc() {
        format!("{value:.0}")
    } else if value >= 1.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.3}")
    }
}

pub fn human(value: f64) -> String {
    if value >= 1_000_000.0 {
        let m = value / 1_000_000.0;
        if m == m.trunc() {
            format!("{m:.0}M")
        } else {
            format!("{m:.2}M")
        }
    } else if value >= 1_000.0 {
        let k = value / 1_000.0;
        if k == k.trunc() {
            format!("{k:.0}k")
        } else {
            format!("{k:.1}k")
        }
    } else {
        format!("{value:.0}")
    }
}

/// The checkout's commit, `+changes` when files other than BENCHMARKS.md differ from it.
fn commit() -> String {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    let Some(head) = git(&["rev-parse", "--short", "HEAD"]) else {
        return "unknown (not a git checkout)".into();
    };
    let changed = git(&[
        "status",
        "--porcelain",
        "--untracked-files=no",
        "--",
        ".",
        ":!BENCHMARKS.md",
    ]);
    match changed {
        Some(changes) if changes.is_empty() => head,
        _ => format!("{head}+changes"),
    }
}

/// What was measured, where, and how to read the table.
pub fn header(peers: &[Peer], command: &str, server: &Path, pin: Option<(usize, usize)>) -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned())
            })
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .next()
                .map(|l| l.split_whitespace().nth(1).unwrap_or("0").to_owned())
        })
        .and_then(|kib| kib.parse::<u64>().ok())
        .map_or("unknown".into(), |kib| {
            format!("{} GiB", kib / (1024 * 1024))
        });
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let nchan = std::process::Command::new("dpkg-query")
        .args(["-W", "-f", "${Version}", "libnginx-mod-nchan"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "not installed".into());
    let redis = std::process::Command::new("redis-server")
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .find_map(|w| w.strip_prefix("v=").map(str::to_owned))
        })
        .unwrap_or_else(|| "not installed".into());
    let commit = commit();
    let pinning = match pin {
        Some((server, generator)) => format!(
            "Server pinned to core {server} (tickerplex: one tokio worker; nginx: one worker process), \
             load generator to core {generator} (one thread)."
        ),
        None => "Not pinned: server and generator share the cores.".into(),
    };
    let peers = peers
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" / ");
    format!(
        "## Fan-out: {peers}\n\n\
         `{command}` at commit `{commit}`, on {date}\n\n\
         - Machine: {cores} × {cpu}, {memory} RAM, Linux {kernel}\n\
         - Nchan {nchan} (Debian's libnginx-mod-nchan) under nginx; tickerplex: `{server}`; \
           tickerplex+Redis: the same binary with `TICKERPLEX_REDIS_URL` on Debian's redis-server \
           {redis} (append-only file on), both pinned to the server's core.\n\
         - {pinning}\n\
         - Every cell is `{peers}`, and in bold the first over the last. Lower is better for latency, memory, CPU \
           and writes; higher for streams held and events/s. Latency is from each tick's due time \
           (stamped by the publisher on the monotonic clock, open loop) to its arrival at a parsed \
           `update` event. *Slowest receiver*: per tick, the latency of the last stream to get it. \
           *Lost*: ticks due in the window that a stream did not get by the end of the grace period. \
           *RSS/stream*: resident memory after the streams opened, minus before, over the streams. \
           *CPU %*: of one core, over the window. *writes/event*: write syscalls (`syscw` in \
           `/proc/<pid>/io`) over the window, per event delivered. *generator CPU %*: the load \
           generator's own core; near 100 the client, not the server, may be the limit.\n\
         - *max* offers 1M events/s, more than the server can send: read its events/s (the most \
           each server pushed). Its latency and lost ticks only say that a backlog grew, as it \
           must; — means no tick due in the window arrived before the end.\n\
         - Reproduce with `scripts/bench` (release builds, then the command above).\n\n",
        cores = crate::procfs::cores(),
        server = server.display(),
        date = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        kernel = kernel.trim(),
    )
}
