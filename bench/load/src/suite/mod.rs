//! The side-by-side run: every scenario against each peer in turn, on this machine, one after
//! the other; then one table of all of them, with tickerplex's figure over Nchan's (BENCHMARKS.md).
//!
//! Each scenario starts a fresh server process, so memory readings start from the same place:
//! 1. start the server pinned to its core and wait until it listens; read its usage (base);
//! 2. open the streams, `per_connection` to a connection; wait until every one has its response;
//! 3. settle for a second; read usage (held): the memory per stream is (held − base) / streams;
//! 4. measure for the window: ticks due in it, CPU and write syscalls over it;
//! 5. wait a grace period for late ticks, then count what each stream missed.

use crate::client::{self, Protocol, Target};
use crate::edge;
use crate::procfs::{self, Usage};
use crate::publish;
use crate::record::{Received, Recorder};
pub use crate::scenario::{full, scale, smoke, Rate, Scenario};
use crate::servers::{self, BenchMode, Ports};
use crate::stalled;
pub use redis::RedisFigures;
use redis::{redis_reading, REDIS_PORT};

mod peer;
mod redis;
pub use peer::{Peer, TICKERPLEX_PORTS};
use peer::{NAIVE_PORTS, NCHAN_PORTS};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{Duration, Instant};
use tickerplex::server::demo::bench::monotonic_ns;

/// How long every stream may take to open.
const OPEN_TIMEOUT: Duration = Duration::from_secs(180);
/// After the streams open, before usage is read and the window starts.
const SETTLE: Duration = Duration::from_secs(1);
/// After the window, for ticks due in it that are still on their way.
const GRACE: Duration = Duration::from_secs(2);
/// How long after the trickle began its streams may take to be cut: two of the server's 20 s
/// drain windows (the first may open late, while the client's buffers still fill), and some.
const TRICKLE_PATIENCE: Duration = Duration::from_secs(50);

/// What one scenario cost one server.
#[derive(Clone, Debug)]
pub struct Measured {
    pub received: Received,
    pub open_secs: f64,
    pub rss_base_kib: u64,
    pub rss_held_kib: u64,
    /// After the window and its grace: what the stalled streams (if any) had cost by then.
    pub rss_end_kib: u64,
    /// Stalled streams that opened (`Scenario::stalled`).
    pub stalled_held: usize,
    /// For trickle readers (`Scenario::trickle`): how many the server cut, and when.
    pub trickle_cut: Option<stalled::Cut>,
    /// (held − base) / streams.
    pub rss_per_stream_bytes: f64,
    /// CPU over the window, in % of one core.
    pub cpu_percent: f64,
    pub write_syscalls_per_event: f64,
    /// The load generator's own CPU over the window, in % of one core: near 100, the client may
    /// be what limits the figures, not the server.
    pub generator_cpu_percent: f64,
    /// % of the window the generator, and the server's threads (summed), waited for a core.
    pub generator_wait_percent: f64,
    pub server_wait_percent: f64,
    /// The shared log's cost, for the `tickerplex-redis` peer.
    pub redis: Option<RedisFigures>,
    /// Where the servers' logs were kept, when streams failed (`servers::stop_all`).
    pub kept_logs: Option<PathBuf>,
}

pub struct Options {
    pub root: PathBuf,
    pub server: PathBuf,
    /// The older tickerplex binary the `tickerplex-baseline` peer runs.
    pub baseline: PathBuf,
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
    let bench = BenchMode {
        ticks_per_sec: scenario.ticks_per_sec(),
        topics: scenario.topics,
    };
    // Topic (or Nchan channel) `k` of the scenario: `bench` first, then `bench-1`… for
    // tickerplex and `bench_1`… for Nchan, whose channel ids are single words.
    let topic = |k: usize| match (peer, k) {
        (_, 0) => "bench".to_owned(),
        (Peer::Nchan, k) => format!("bench_{k}"),
        (_, k) => format!("bench-{k}"),
    };
    let ports = match peer {
        Peer::Nchan => NCHAN_PORTS,
        Peer::Naive => NAIVE_PORTS,
        _ => TICKERPLEX_PORTS,
    };
    if peer == Peer::Naive && scenario.topics > 1 {
        return Err("the naive baseline serves one topic".into());
    }
    let paths = (0..scenario.topics.max(1))
        .map(|k| match peer {
            Peer::Nchan => format!("/sub/{}", topic(k)),
            _ => format!("/api/topics/{}/events", topic(k)),
        })
        .collect();
    let channels: Vec<String> = (0..scenario.topics.max(1)).map(topic).collect();
    ports.check_free().await?;
    // The Redis peer's redis-server first, on the server's core; stopped after the server.
    let redis = match peer {
        Peer::TickerplexRedis | Peer::TickerplexNginx | Peer::TickerplexHaproxy => {
            let mut redis = servers::redis(&options.scratch, server_cpu, REDIS_PORT)?;
            redis.ready(REDIS_PORT).await?;
            Some(redis)
        }
        _ => None,
    };
    let redis_url = redis
        .as_ref()
        .map(|_| format!("redis://127.0.0.1:{REDIS_PORT}/0"));
    // Behind an edge: the instances, which must listen before the edge health-checks them.
    let mut instances = Vec::new();
    let mut server = match peer {
        Peer::Tickerplex
        | Peer::TickerplexBaseline
        | Peer::TickerplexRedis
        | Peer::TickerplexTwoWorkers => {
            servers::tickerplex(
                if peer == Peer::TickerplexBaseline {
                    &options.baseline
                } else {
                    &options.server
                },
                &options.root,
                &options.scratch,
                // Unpinned, the runtime sees both cores and starts a worker on each.
                server_cpu.filter(|_| peer != Peer::TickerplexTwoWorkers),
                ports,
                Some(bench),
                redis_url.as_deref(),
                "tickerplex",
            )?
        }
        Peer::Nchan => servers::nchan(&options.root, &options.scratch, server_cpu, ports)?,
        Peer::Naive => servers::naive(
            &options.server.with_file_name("naive"),
            &options.root,
            &options.scratch,
            server_cpu,
            ports,
            bench.ticks_per_sec,
        )?,
        Peer::TickerplexNginx | Peer::TickerplexHaproxy => {
            // Both are edge peers, so `edge()` names the edge, and Redis was started above.
            let (kind, url) = peer
                .edge()
                .zip(redis_url.as_deref())
                .ok_or("an edge peer without Redis")?;
            let (edge, started) = edge::start(
                kind,
                &options.server,
                &options.root,
                &options.scratch,
                server_cpu,
                ports.h2,
                bench,
                url,
            )?;
            instances = started;
            for (instance, port) in instances.iter_mut().zip(edge::INSTANCE_PORTS) {
                instance.ready(port).await?;
            }
            edge
        }
    };
    // An edge offers both protocols on one port (ALPN), like a browser-facing server should.
    let port = match scenario.protocol {
        Protocol::H1 if peer.edge().is_none() && ports.h1 != 0 => ports.h1,
        _ => ports.h2,
    };
    server.ready(port).await?;
    let pid = server.pid();
    let redis_pid = redis.as_ref().map(servers::Server::pid);
    let target = Target {
        addr: Ports::addr(port),
        paths,
        protocol: scenario.protocol,
        tls: client::tls(&options.root.join("certs/dev-ca.pem"), scenario.protocol)?,
    };

    // Every task of this scenario lives in this set, and ends with it.
    let local = tokio::task::LocalSet::new();
    let result = local
        .run_until(async {
            // Nchan's publisher runs until the set is dropped; if it stops early, its error goes
            // in the report (a publisher that never got going shows no lost ticks, only none).
            let publisher = (peer == Peer::Nchan).then(|| {
                let publish_port = ports.publish;
                tokio::task::spawn_local(async move {
                    publish::run(publish_port, &channels, bench.ticks_per_sec).await
                })
            });
            let base = Usage::of(pid)?;
            let recorder = Rc::new(Recorder::new(scenario.streams, scenario.topics));
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
            // The slow readers, beside the measured streams, held until the end of the run.
            let slow = match scenario.stalled {
                0 => None,
                // Bounded like the measured streams' opening: a peer that never answers the
                // slow readers' requests is an error in the report, not a run that hangs.
                n => Some(
                    tokio::time::timeout(
                        OPEN_TIMEOUT,
                        stalled::open(&target, n, 240, scenario.trickle),
                    )
                    .await
                    .map_err(|_| {
                        format!("the {n} slow readers' streams did not open within {OPEN_TIMEOUT:?}")
                    })??,
                ),
            };
            let stalled_held = slow.as_ref().map_or(0, |slow| slow.opened);
            tokio::time::sleep(SETTLE).await;
            let held = Usage::of(pid)?;

            let start = monotonic_ns();
            recorder.open_window(start, start + options.window.as_nanos() as u64);
            let before = Usage::of(pid)?;
            let generator_before = Usage::of_process(std::process::id())?;
            let waited_before = procfs::Waits::read(pid);
            let redis_before = redis_reading(redis_pid)?;
            tokio::time::sleep(options.window).await;
            let after = Usage::of(pid)?;
            let generator_after = Usage::of_process(std::process::id())?;
            let waits = waited_before.percent(&procfs::Waits::read(pid), options.window);
            let redis_after = redis_reading(redis_pid)?;
            let cpu_percent = |before: Usage, after: Usage| {
                (after.cpu_ticks - before.cpu_ticks) as f64 * 100.0
                    / (procfs::ticks_per_second() as f64 * options.window.as_secs_f64())
            };
            tokio::time::sleep(GRACE).await;
            let end = Usage::of(pid)?;
            // Trickle readers: how many the server cut, and when (a server that judges by
            // progress alone cuts none, so the wait is bounded).
            let trickle_cut = match (slow, scenario.trickle) {
                (Some(slow), Some(_)) => Some(slow.cut_within(TRICKLE_PATIENCE).await),
                _ => None,
            };
            if let Some(publisher) = publisher.filter(|p| p.is_finished()) {
                if let Ok(error) = publisher.await {
                    recorder.publisher_failed(error);
                }
            }

            let window = options.window.as_secs_f64();
            let received = recorder.received(window);
            // No tick published (idle): per-tick figures are undefined, shown as —.
            let published = match received.ticks {
                0 => f64::NAN,
                ticks => ticks as f64,
            };
            let redis = match (redis_before, redis_after) {
                (Some(before), Some(after)) => Some(RedisFigures {
                    cpu_percent: cpu_percent(before.usage, after.usage),
                    round_trips_per_tick: (after.evalsha - before.evalsha) as f64 / published,
                    xadds_per_tick: (after.xadd - before.xadd) as f64 / published,
                    cpu_us_per_tick: cpu_percent(before.usage, after.usage) * 10_000.0
                        / (published / options.window.as_secs_f64()),
                }),
                _ => None,
            };
            let delivered = received.events_per_sec * window;
            let opened = received.streams_held.max(1) as f64;
            Ok::<_, String>(Measured {
                open_secs,
                rss_base_kib: base.rss_kib,
                rss_held_kib: held.rss_kib,
                rss_end_kib: end.rss_kib,
                stalled_held,
                trickle_cut,
                rss_per_stream_bytes: (held.rss_kib.saturating_sub(base.rss_kib) * 1024) as f64
                    / opened,
                cpu_percent: cpu_percent(before, after),
                generator_cpu_percent: cpu_percent(generator_before, generator_after),
                generator_wait_percent: waits.0,
                server_wait_percent: waits.1,
                write_syscalls_per_event: if delivered > 0.0 {
                    (after.write_syscalls - before.write_syscalls) as f64 / delivered
                } else {
                    f64::NAN
                },
                received,
                redis,
                kept_logs: None,
            })
        })
        .await;
    // Close every connection before the servers stop. If streams failed, keep the servers' logs,
    // which the next scenario would overwrite (named in the report from the project's root).
    drop(local);
    let keep = match &result {
        Ok(m) if m.received.stream_errors + m.received.failed_to_open > 0 => {
            Some(servers::kept_dir(&options.scratch, peer, scenario))
        }
        _ => None,
    };
    servers::stop_all(server, instances, redis, keep.as_deref()).await;
    let kept_logs = keep.map(|d| {
        d.strip_prefix(&options.root)
            .map_or(d.clone(), Path::to_owned)
    });
    result.map(|measured| Measured {
        kept_logs,
        ..measured
    })
}
