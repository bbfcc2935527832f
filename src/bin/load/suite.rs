//! The side-by-side run: every scenario against tickerplex, then against Nchan, on this machine,
//! one after the other; then one table of tickerplex/Nchan ratios (BENCHMARKS.md).
//!
//! Each scenario starts a fresh server process, so memory readings start from the same place:
//! 1. start the server pinned to its core and wait until it listens; read its usage (base);
//! 2. open the streams, `per_connection` to a connection; wait until every one has its response;
//! 3. settle for a second; read usage (held): the memory per stream is (held − base) / streams;
//! 4. measure for the window: ticks due in it, CPU and write syscalls over it;
//! 5. wait a grace period for late ticks, then count what each stream missed.

use crate::client::{self, Protocol, Target};
use crate::procfs::{self, Usage};
use crate::publish;
use crate::record::{Received, Recorder};
use crate::servers::{self, Ports};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::{Duration, Instant};
use tickerplex::server::bench::monotonic_ns;

/// Offered load of the "max" rate: more than two cores can deliver, so what arrives is the most
/// the server can push.
const MAX_OFFERED_PER_SEC: f64 = 1_000_000.0;
/// How long every stream may take to open.
const OPEN_TIMEOUT: Duration = Duration::from_secs(180);
/// After the streams open, before usage is read and the window starts.
const SETTLE: Duration = Duration::from_secs(1);
/// After the window, for ticks due in it that are still on their way.
const GRACE: Duration = Duration::from_secs(2);

pub const TICKERPLEX_PORTS: Ports = Ports {
    h2: 4430,
    h1: 4431,
    publish: 0,
};
const NCHAN_PORTS: Ports = Ports {
    h2: 4440,
    h1: 4441,
    publish: 4480,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Peer {
    Tickerplex,
    Nchan,
}

impl std::fmt::Display for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Peer::Tickerplex => "tickerplex",
            Peer::Nchan => "Nchan",
        })
    }
}

/// Delivered events per second the publisher aims at (the tick rate is this over the streams).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Rate {
    Idle,
    PerSec(f64),
    Max,
}

impl Rate {
    fn ticks_per_sec(self, streams: usize) -> f64 {
        match self {
            Rate::Idle => 0.0,
            Rate::PerSec(rate) => rate / streams as f64,
            Rate::Max => MAX_OFFERED_PER_SEC / streams as f64,
        }
    }
}

impl std::fmt::Display for Rate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rate::Idle => f.write_str("idle"),
            Rate::PerSec(rate) => write!(f, "{}/s", human(*rate)),
            Rate::Max => f.write_str("max"),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Scenario {
    pub streams: usize,
    pub per_connection: usize,
    pub protocol: Protocol,
    pub rate: Rate,
}

impl Scenario {
    fn connections(&self) -> usize {
        match self.protocol {
            Protocol::H1 => self.streams,
            Protocol::H2 => self.streams.div_ceil(self.per_connection),
        }
    }
}

impl std::fmt::Display for Scenario {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} streams, W={} {}, {}",
            human(self.streams as f64),
            self.per_connection,
            self.protocol,
            self.rate
        )
    }
}

fn h2(streams: usize, per_connection: usize, rate: Rate) -> Scenario {
    Scenario {
        streams,
        per_connection,
        protocol: Protocol::H2,
        rate,
    }
}

fn h1(streams: usize, rate: Rate) -> Scenario {
    Scenario {
        streams,
        per_connection: 1,
        protocol: Protocol::H1,
        rate,
    }
}

/// The full matrix: streams per connection, scale, and rates (see the README's Benchmarks).
pub fn full() -> Vec<Scenario> {
    use Rate::*;
    vec![
        // Streams per connection, at a fixed size and rate: the multiplexing gain.
        h1(5_000, PerSec(10_000.0)),
        h2(5_000, 1, PerSec(10_000.0)),
        h2(5_000, 20, PerSec(10_000.0)),
        h2(5_000, 100, PerSec(10_000.0)),
        h2(5_000, 240, PerSec(10_000.0)),
        // Rates, at 5k streams.
        h2(5_000, 240, Idle),
        h2(5_000, 240, PerSec(100_000.0)),
        h2(5_000, 240, Max),
        // Scale.
        h2(50_000, 240, Idle),
        h2(50_000, 240, PerSec(10_000.0)),
        h2(50_000, 240, PerSec(100_000.0)),
        h2(50_000, 240, Max),
        h2(200_000, 240, Idle),
        h2(200_000, 240, PerSec(100_000.0)),
    ]
}

/// A few hundred streams for a few seconds: proves the harness works end to end (the README's
/// test command runs it).
pub fn smoke() -> Vec<Scenario> {
    vec![
        h2(300, 100, Rate::PerSec(3_000.0)),
        h1(20, Rate::PerSec(200.0)),
    ]
}

/// What one scenario cost one server.
#[derive(Clone, Debug)]
pub struct Measured {
    pub received: Received,
    pub open_secs: f64,
    pub rss_base_kib: u64,
    pub rss_held_kib: u64,
    /// (held − base) / streams.
    pub rss_per_stream_bytes: f64,
    /// CPU over the window, in % of one core.
    pub cpu_percent: f64,
    pub write_syscalls_per_event: f64,
    /// The load generator's own CPU over the window, in % of one core: near 100, the client may
    /// be what limits the figures, not the server.
    pub generator_cpu_percent: f64,
}

pub struct Options {
    pub root: PathBuf,
    pub server: PathBuf,
    pub scratch: PathBuf,
    pub window: Duration,
    /// (server's core, generator's core); `None` leaves scheduling to the kernel.
    pub pin: Option<(usize, usize)>,
}

/// Runs `scenario` against `peer`.
pub async fn measure(
    peer: Peer,
    scenario: &Scenario,
    options: &Options,
) -> Result<Measured, String> {
    let server_cpu = options.pin.map(|(server, _)| server);
    let ticks_per_sec = scenario.rate.ticks_per_sec(scenario.streams);
    let (ports, path) = match peer {
        Peer::Tickerplex => (TICKERPLEX_PORTS, "/api/topics/bench/events"),
        Peer::Nchan => (NCHAN_PORTS, "/sub/bench"),
    };
    for port in [ports.h2, ports.h1, ports.publish]
        .into_iter()
        .filter(|p| *p != 0)
    {
        if tokio::net::TcpStream::connect(Ports::addr(port))
            .await
            .is_ok()
        {
            return Err(format!(
                "something already listens on 127.0.0.1:{port}; stop it first"
            ));
        }
    }
    let mut server = match peer {
        Peer::Tickerplex => servers::tickerplex(
            &options.server,
            &options.root,
            &options.scratch,
            server_cpu,
            ports,
            Some(ticks_per_sec),
        )?,
        Peer::Nchan => servers::nchan(&options.root, &options.scratch, server_cpu, ports)?,
    };
    let port = match scenario.protocol {
        Protocol::H2 => ports.h2,
        Protocol::H1 => ports.h1,
    };
    server.ready(port).await?;
    let pid = server.pid();
    let target = Target {
        addr: Ports::addr(port),
        path: path.to_owned(),
        protocol: scenario.protocol,
        tls: client::tls(&options.root.join("certs/dev-ca.pem"), scenario.protocol)?,
    };

    // Every task of this scenario lives in this set, and ends with it.
    let local = tokio::task::LocalSet::new();
    let result = local
        .run_until(async {
            if peer == Peer::Nchan {
                let publish_port = ports.publish;
                let publisher = tokio::task::spawn_local(async move {
                    publish::run(publish_port, "bench", ticks_per_sec).await
                });
                drop(publisher); // runs until the set is dropped; its error would show as lost ticks
            }
            let base = Usage::of(pid)?;
            let recorder = Rc::new(Recorder::new(scenario.streams));
            let opening = Instant::now();
            client::open(
                &target,
                scenario.streams,
                scenario.per_connection,
                recorder.clone(),
            )
            .await;
            let _ = tokio::time::timeout(OPEN_TIMEOUT, recorder.wait_for_streams(scenario.streams))
                .await;
            let open_secs = opening.elapsed().as_secs_f64();
            tokio::time::sleep(SETTLE).await;
            let held = Usage::of(pid)?;

            let start = monotonic_ns();
            recorder.open_window(start, start + options.window.as_nanos() as u64);
            let before = Usage::of(pid)?;
            let generator_before = Usage::of_process(std::process::id())?;
            tokio::time::sleep(options.window).await;
            let after = Usage::of(pid)?;
            let generator_after = Usage::of_process(std::process::id())?;
            let cpu_percent = |before: Usage, after: Usage| {
                (after.cpu_ticks - before.cpu_ticks) as f64 * 100.0
                    / (procfs::ticks_per_second() as f64 * options.window.as_secs_f64())
            };
            tokio::time::sleep(GRACE).await;

            let window = options.window.as_secs_f64();
            let received = recorder.received(window);
            let delivered = received.events_per_sec * window;
            let opened = received.streams_held.max(1) as f64;
            Ok::<_, String>(Measured {
                open_secs,
                rss_base_kib: base.rss_kib,
                rss_held_kib: held.rss_kib,
                rss_per_stream_bytes: (held.rss_kib.saturating_sub(base.rss_kib) * 1024) as f64
                    / opened,
                cpu_percent: cpu_percent(before, after),
                generator_cpu_percent: cpu_percent(generator_before, generator_after),
                write_syscalls_per_event: if delivered > 0.0 {
                    (after.write_syscalls - before.write_syscalls) as f64 / delivered
                } else {
                    f64::NAN
                },
                received,
            })
        })
        .await;
    drop(local); // close every connection before the server is stopped
    drop(server);
    result
}

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
                [Some(a), Some(b)] if *b != 0.0 && a.is_finite() && b.is_finite() => {
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
                    format!(
                        "- {peer}, {}: {} stream errors, {} failed to open; first: {}",
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

fn human(value: f64) -> String {
    if value >= 1_000_000.0 {
        format!("{:.2}M", value / 1_000_000.0)
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
