//! `tickerplex-load`: many browsers' worth of event streams against tickerplex and against Nchan,
//! measured side by side. The numbers in BENCHMARKS.md come from here.
//!
//! ```text
//! scripts/bench                              # the full run: builds, installs Nchan, writes BENCHMARKS.md
//! tickerplex-load suite --smoke              # a few hundred streams for a few seconds (scripts/test)
//! tickerplex-load suite --only "50k"         # the scenarios whose name contains "50k"
//! ```
//!
//! The pieces, in the order a scenario uses them:
//! - [`servers`]: start tickerplex (bench mode) or nginx + Nchan, pinned to one core;
//! - [`publish`]: Nchan's publisher (tickerplex publishes in-process, `server::bench`);
//! - [`client`]: TLS connections carrying SSE streams over HTTP/2, or one per stream over
//!   HTTP/1.1 ([`h1`]); every event parsed by a spec-following parser;
//! - [`record`]: latency histograms, each tick's slowest receiver, lost and duplicate ticks;
//! - [`procfs`]: the server's memory, CPU and write syscalls;
//! - [`suite`]: the scenarios and the table of ratios.
//!
//! The generator is single-threaded (a current-thread runtime, tasks on a `LocalSet`) and pinned
//! to the other core: one core for the server, one for all the "browsers".

mod browser;
mod client;
mod h1;
mod procfs;
mod publish;
mod record;
mod report;
mod scenario;
mod servers;
mod suite;

use clap::Parser;
use report::Row;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;
use suite::Peer;

#[derive(Parser)]
#[command(about = "Fan-out benchmark: SSE streams against tickerplex and Nchan")]
enum Command {
    /// Runs the scenarios against each peer and prints (and optionally writes) the table.
    Suite(SuiteArgs),
}

#[derive(clap::Args)]
struct SuiteArgs {
    /// A few hundred streams for a few seconds, checked: every stream opens, nothing is lost.
    #[arg(long)]
    smoke: bool,
    /// Which servers to measure.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "tickerplex,tickerplex-redis,nchan"
    )]
    peers: Vec<Peer>,
    /// The tickerplex server binary (built with feature `ssr`).
    #[arg(long, default_value = "target/release/tickerplex")]
    server: PathBuf,
    /// Seconds each scenario is measured for.
    #[arg(long, default_value_t = 5)]
    window_secs: u64,
    /// Only the scenarios whose description contains this text.
    #[arg(long)]
    only: Option<String>,
    /// Write the report here as well (BENCHMARKS.md).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Also measure the page in headless Chromium (release build's sizes, hydration, first tick).
    #[arg(long)]
    browser: bool,
    /// Leave scheduling to the kernel instead of pinning server and generator to cores 0 and 1.
    #[arg(long)]
    no_pin: bool,
}

fn main() -> ExitCode {
    let Command::Suite(args) = Command::parse();
    raise_file_limit();
    let pin = (!args.no_pin && cores() >= 2).then_some((0, 1));
    if let Some((_, generator)) = pin {
        let mut set = rustix::thread::CpuSet::new();
        set.set(generator);
        if let Err(error) = rustix::thread::sched_setaffinity(None, &set) {
            eprintln!("warning: cannot pin the generator to core {generator}: {error}");
        }
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        // Start-up: only fails when the OS refuses the runtime's resources, and then nothing
        // can be measured anyway.
        .expect("a tokio runtime");
    match runtime.block_on(suite(args, pin)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn suite(args: SuiteArgs, pin: Option<(usize, usize)>) -> Result<(), String> {
    let root = std::env::current_dir().map_err(|e| e.to_string())?;
    if !root.join("bench/nchan/nginx.conf").exists() {
        return Err(
            "run this from the tickerplex checkout (bench/nchan/nginx.conf not found)".into(),
        );
    }
    // The servers use tickerplex's dev certificate; make it if this checkout has none yet.
    tickerplex::server::certs::ensure_dev_certs(&root.join("certs")).map_err(|e| e.to_string())?;
    let options = suite::Options {
        server: root.join(&args.server),
        scratch: root.join("target/bench"),
        root: root.clone(),
        window: Duration::from_secs(if args.smoke { 2 } else { args.window_secs }),
        pin,
    };
    let scenarios: Vec<_> = if args.smoke {
        suite::smoke()
    } else {
        suite::full()
    }
    .into_iter()
    .filter(|s| {
        args.only
            .as_ref()
            .is_none_or(|only| s.to_string().contains(only.as_str()))
    })
    .collect();

    let mut rows = Vec::new();
    for scenario in scenarios {
        let mut results = Vec::new();
        for peer in &args.peers {
            eprint!("{peer:>10} · {scenario} … ");
            let result = suite::measure(*peer, &scenario, &options).await;
            match &result {
                Ok(m) => eprintln!(
                    "{} held (opened in {:.1} s), {:.0} events/s, p99 {:.2} ms, lost {}, errors {}, RSS {} → {} MiB ({:.0} B/stream), CPU {:.0}%, {:.3} writes/event",
                    m.received.streams_held,
                    m.open_secs,
                    m.received.events_per_sec,
                    m.received.p99_ms,
                    m.received.lost,
                    m.received.stream_errors + m.received.failed_to_open,
                    m.rss_base_kib / 1024,
                    m.rss_held_kib / 1024,
                    m.rss_per_stream_bytes,
                    m.cpu_percent,
                    m.write_syscalls_per_event
                ),
                Err(error) => eprintln!("failed: {error}"),
            }
            results.push(result);
        }
        rows.push(Row { scenario, results });
    }

    let command = std::env::args().collect::<Vec<_>>().join(" ");
    let mut report = report::markdown(
        &rows,
        &args.peers,
        &header(&args.peers, &command, &args.server, pin),
    );
    if args.browser {
        report.push_str(&browser::report(&root, &options).await?);
    }
    println!("{report}");
    if let Some(out) = &args.out {
        std::fs::write(out, &report).map_err(|e| format!("{}: {e}", out.display()))?;
        eprintln!("wrote {}", out.display());
    }
    if args.smoke {
        check_smoke(&rows, &args.peers)?;
    }
    Ok(())
}

/// The smoke run is a test: every stream opened, every tick arrived once, nothing broke.
fn check_smoke(rows: &[Row], peers: &[Peer]) -> Result<(), String> {
    let mut problems = Vec::new();
    for row in rows {
        for (result, peer) in row.results.iter().zip(peers) {
            match result {
                Err(error) => problems.push(format!("{peer}, {}: {error}", row.scenario)),
                Ok(m) => {
                    let r = &m.received;
                    if r.streams_held != row.scenario.streams
                        || r.ticks == 0
                        || r.lost > 0
                        || r.duplicates > 0
                        || r.stream_errors > 0
                    {
                        problems.push(format!(
                            "{peer}, {}: {} of {} streams held, {} ticks, {} lost, {} duplicates, {} errors {:?}",
                            row.scenario, r.streams_held, row.scenario.streams, r.ticks, r.lost, r.duplicates, r.stream_errors, r.first_errors
                        ));
                    }
                }
            }
        }
    }
    match problems.as_slice() {
        [] => Ok(()),
        _ => Err(format!("smoke run failed:\n  {}", problems.join("\n  "))),
    }
}

/// What was measured, where, and how to read the table.
fn header(peers: &[Peer], command: &str, server: &Path, pin: Option<(usize, usize)>) -> String {
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
         `{command}` on {date}\n\n\
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
        cores = cores(),
        server = server.display(),
        date = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        kernel = kernel.trim(),
    )
}

/// The machine's cores (not this thread's: the generator pins itself to one).
fn cores() -> usize {
    std::fs::read_to_string("/proc/cpuinfo")
        .map(|info| info.lines().filter(|l| l.starts_with("processor")).count())
        .unwrap_or(1)
        .max(1)
}

/// One file descriptor per connection, for the generator and the servers it starts: raise the
/// soft limit to the hard one.
fn raise_file_limit() {
    let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile);
    let _ = rustix::process::setrlimit(
        rustix::process::Resource::Nofile,
        rustix::process::Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        },
    );
}
