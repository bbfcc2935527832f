//! Starting and stopping the servers under test, each pinned to its own core.

mod kept;
mod naive;
mod ports;
mod postgres;
mod redis;
pub use kept::{kept_dir, stop_all};
pub use naive::naive;
pub use ports::Ports;
pub use postgres::postgres;
pub use redis::{redis, redis_calls};

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a server may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a server may take to exit after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

const NCHAN_MODULE: &str = "/usr/lib/nginx/modules/ngx_nchan_module.so";
const NCHAN_CONFIG: &str = "bench/nchan/nginx.conf";

/// A server process, stopped when dropped.
pub struct Server {
    child: Option<Child>,
    pub log: PathBuf,
}

impl Server {
    /// A server started elsewhere (the edges), logging to `log`.
    pub fn from_child(child: Child, log: PathBuf) -> Server {
        Server {
            child: Some(child),
            log,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// Waits until `port` accepts connections; fails if the process exits first.
    pub async fn ready(&mut self, port: u16) -> Result<(), String> {
        let start = Instant::now();
        loop {
            if let Some(child) = &mut self.child {
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(format!(
                        "exited ({status}) before listening; see {}",
                        self.log.display()
                    ));
                }
            }
            if tokio::net::TcpStream::connect(Ports::addr(port))
                .await
                .is_ok()
            {
                return Ok(());
            }
            if start.elapsed() > START_TIMEOUT {
                return Err(format!(
                    "not listening on {port} after {START_TIMEOUT:?}; see {}",
                    self.log.display()
                ));
            }
            // Polling a port for a process we do not control: there is nothing to await instead.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Server {
    /// Stops the server the way an operator would: SIGTERM, up to `STOP_TIMEOUT` for it to
    /// drain, then SIGKILL. Async, so the generator's single-threaded runtime keeps running while
    /// it waits (a blocking sleep here would freeze every task on it).
    pub async fn stop(mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if let Some(pid) = rustix::process::Pid::from_raw(child.id() as i32) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
        let start = Instant::now();
        while start.elapsed() < STOP_TIMEOUT {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            // Polling a child we started with std's `Command`: there is no exit future to await.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// The last resort, when `stop` was not reached (an error returned early): SIGKILL and reap at
/// once. No waiting loop here — `Drop` cannot await, and must not block the runtime.
impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `taskset -c <cpu> program` when pinned, `program` otherwise; at normal priority either way,
/// whatever the generator's own (see `main`'s `GENERATOR_NICE`).
pub fn pinned(program: &Path, cpu: Option<usize>) -> Command {
    let mut command = match cpu {
        Some(cpu) => {
            let mut command = Command::new("taskset");
            command.arg("-c").arg(cpu.to_string()).arg(program);
            command
        }
        None => Command::new(program),
    };
    // SAFETY: between fork and exec only `setpriority` runs — one system call, no allocation,
    // no lock — which is what `pre_exec` allows.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut command, || {
            rustix::process::setpriority_process(None, 0).map_err(Into::into)
        });
    }
    command
}

fn log_file(scratch: &Path, name: &str) -> Result<(PathBuf, std::fs::File), String> {
    std::fs::create_dir_all(scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
    let path = scratch.join(format!("{name}.log"));
    let file = std::fs::File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok((path, file))
}

/// What tickerplex's bench mode publishes: `ticks_per_sec` ticks a second, spread over `topics`
/// bench topics (`TICKERPLEX_BENCH_RATE`, `TICKERPLEX_BENCH_TOPICS`).
#[derive(Clone, Copy, Debug)]
pub struct BenchMode {
    pub ticks_per_sec: f64,
    pub topics: usize,
}

/// Starts the tickerplex binary `bin`, logging to `<name>.log`: in `bench` mode, or as the
/// normal dashboard when `None`; on the Redis at
/// `redis_url` when given (the shared log), in memory otherwise.
#[allow(clippy::too_many_arguments)]
pub fn tickerplex(
    bin: &Path,
    root: &Path,
    scratch: &Path,
    cpu: Option<usize>,
    ports: Ports,
    bench: Option<BenchMode>,
    redis_url: Option<&str>,
    name: &str,
) -> Result<Server, String> {
    tickerplex_with(bin, root, scratch, cpu, ports, bench, redis_url, name, &[])
}

/// [`tickerplex`], with `env` on top (the orders benchmark's ledger).
#[allow(clippy::too_many_arguments)]
pub fn tickerplex_with(
    bin: &Path,
    root: &Path,
    scratch: &Path,
    cpu: Option<usize>,
    ports: Ports,
    bench: Option<BenchMode>,
    redis_url: Option<&str>,
    name: &str,
    env: &[(&str, &str)],
) -> Result<Server, String> {
    if !bin.exists() {
        return Err(format!(
            "no server binary at {} (build it: cargo leptos build --release, or cargo build --features ssr)",
            bin.display()
        ));
    }
    let (log, file) = log_file(scratch, name)?;
    let mut command = pinned(bin, cpu);
    if let Some(bench) = bench {
        command
            .env("TICKERPLEX_BENCH_RATE", bench.ticks_per_sec.to_string())
            .env("TICKERPLEX_BENCH_TOPICS", bench.topics.to_string())
            // The market still ticks, but rarely: the bench topic is what is measured.
            .env("TICKERPLEX_TICK_MS", "60000");
    }
    if let Some(url) = redis_url {
        command.env("TICKERPLEX_REDIS_URL", url);
    }
    let child = command
        .current_dir(root)
        .env("LEPTOS_OUTPUT_NAME", "tickerplex")
        .env("LEPTOS_SITE_ROOT", "target/site")
        .env("LEPTOS_SITE_PKG_DIR", "pkg")
        // The bundle's content-hashed names, from hash.txt beside the binary (Cargo.toml).
        .env("LEPTOS_HASH_FILES", "true")
        .env("LEPTOS_SITE_ADDR", Ports::addr(ports.h2).to_string())
        // 0: no HTTP/1.1-only listener (the instances behind an edge).
        .env(
            "TICKERPLEX_HTTP1_PORT",
            if ports.h1 == 0 {
                String::new()
            } else {
                ports.h1.to_string()
            },
        )
        .env("TICKERPLEX_DRILLS", "0")
        // Metrics on a port the OS picks: two peers may run at once.
        .env("TICKERPLEX_METRICS_ADDR", "127.0.0.1:0")
        // Every stream comes from this one generator: raise the per-client and total caps
        // past the largest scenario (a million streams, all from 127.0.0.1).
        .env("TICKERPLEX_MAX_STREAMS_PER_CLIENT", "2000000")
        .env("TICKERPLEX_MAX_STREAMS", "2000000")
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied())
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

/// Starts nginx with Nchan from the checked-in config, serving `certs` (tickerplex's dev
/// certificate), pinned like tickerplex.
pub fn nchan(
    root: &Path,
    scratch: &Path,
    cpu: Option<usize>,
    ports: Ports,
) -> Result<Server, String> {
    let nginx = which("nginx").ok_or(
        "nginx is not installed: apt-get install nginx-light libnginx-mod-nchan (scripts/bench does this)",
    )?;
    if !Path::new(NCHAN_MODULE).exists() {
        return Err(format!(
            "Nchan is not installed ({NCHAN_MODULE} is missing): apt-get install libnginx-mod-nchan"
        ));
    }
    let prefix = scratch.join("nchan");
    for dir in ["", "body", "proxy", "fastcgi", "uwsgi", "scgi"] {
        std::fs::create_dir_all(prefix.join(dir)).map_err(|e| e.to_string())?;
    }
    let template = std::fs::read_to_string(root.join(NCHAN_CONFIG))
        .map_err(|e| format!("{NCHAN_CONFIG}: {e}"))?;
    let certs = root.join("certs");
    let config = template
        .replace("@PREFIX@", &prefix.display().to_string())
        .replace("@MODULE@", NCHAN_MODULE)
        .replace("@CERT@", &certs.join("localhost.pem").display().to_string())
        .replace(
            "@KEY@",
            &certs.join("localhost-key.pem").display().to_string(),
        )
        .replace("@H2_PORT@", &ports.h2.to_string())
        .replace("@H1_PORT@", &ports.h1.to_string())
        .replace("@PUB_PORT@", &ports.publish.to_string());
    let config_path = prefix.join("nginx.conf");
    std::fs::write(&config_path, config).map_err(|e| e.to_string())?;
    let (_stdout, file) = log_file(scratch, "nginx")?;
    let child = pinned(&nginx, cpu)
        .arg("-p")
        .arg(&prefix)
        .arg("-c")
        .arg(&config_path)
        .arg("-e")
        .arg(prefix.join("error.log"))
        .stdin(Stdio::null())
        .stdout(file.try_clone().map_err(|e| e.to_string())?)
        .stderr(file)
        .spawn()
        .map_err(|e| format!("cannot start nginx: {e}"))?;
    Ok(Server {
        child: Some(child),
        log: prefix.join("error.log"),
    })
}

pub fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/sbin".into()])
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}
