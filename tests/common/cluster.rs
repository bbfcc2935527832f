//! Real parts for the shared-log tests: Debian's `redis-server` and tickerplex instances as
//! child processes, on loopback ports, each with its own temporary directory.
//!
//! The instances are the real binary (`CARGO_BIN_EXE_tickerplex`, built by `cargo test`), not
//! in-process servers: the tests kill them with SIGKILL and restart them, which only a process
//! can suffer. Everything waits on what the child says — redis-server's "Ready to accept
//! connections", the instance's "tickerplex is serving" line — never on a sleep.
//!
//! Past 300 lines as one concept: a cluster of real processes — Redis, instances, their logs
//! kept on failure — started, killed, frozen and restarted by the same handle, so every test
//! that needs one drives it the same way.

use super::events::{open_url, Events};
use reqwest::{Certificate, Client};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;
use tickerplex::server::transport::certs::{DevPki, TlsFiles};

/// How long a child may take to say it is ready before the test fails.
const START_GUARD: Duration = Duration::from_secs(20);

/// A redis-server of the test's own: a free loopback port, a data directory that lives as long
/// as this value, the append-only file on (as the cluster runs it).
pub struct RedisServer {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl RedisServer {
    pub fn start() -> RedisServer {
        let mut redis = RedisServer::on(free_port());
        redis.spawn();
        redis
    }

    /// A Redis on `port` that is not started yet ([`RedisServer::restart`] starts it).
    pub fn on(port: u16) -> RedisServer {
        RedisServer {
            port,
            dir: tempfile::tempdir().unwrap(),
            child: None,
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    fn spawn(&mut self) {
        let child = self.command(&[]);
        self.child = Some(wait_for_line(child, "Ready to accept connections", "redis-server").0);
    }

    /// Starts it again from its data directory, each key's load slowed by `delay_us`
    /// microseconds (Redis's own `key-load-delay`, made for tests of exactly this): until the
    /// file is replayed it answers `LOADING`. It answers clients between every KiB it loads
    /// (`loading-process-events-interval-bytes`; by default every 2 MB, which at this delay
    /// would leave a client's connect unanswered past its timeout). Returns without waiting for
    /// it to be ready.
    pub fn restart_loading_slowly(&mut self, delay_us: u32) {
        self.kill();
        let delay = delay_us.to_string();
        let child = self.command(&[
            "--key-load-delay",
            &delay,
            "--loading-process-events-interval-bytes",
            "1024",
        ]);
        self.child = Some(child);
    }

    fn command(&self, extra: &[&str]) -> Child {
        Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .arg("--dir")
            .arg(self.dir.path())
            // The cluster's settings (scripts/cluster): the AOF, fsynced on every write here so a
            // restart in a test reloads exactly what was acknowledged; no RDB snapshots.
            .args(["--appendonly", "yes", "--appendfsync", "always", "--save", ""])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run redis-server ({e}): install it with scripts/setup (Debian package redis-server)")
            })
    }

    /// Stops it with SIGKILL (no goodbye to its clients), keeping its data directory.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    /// SIGSTOP: it keeps its connections and answers nothing, as a stuck Redis does.
    pub fn freeze(&self) {
        self.signal("-STOP");
    }

    /// SIGCONT: it answers again, everything queued meanwhile included.
    pub fn thaw(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let child = self.child.as_ref().expect("redis-server is running");
        let sent = Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success(), "kill {signal} redis-server");
    }

    /// Starts it again on the same port, from the same data directory (its AOF).
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// Runs one redis-cli command against it and returns its output.
    pub fn cli(&self, args: &[&str]) -> String {
        let output = Command::new("redis-cli")
            .args(["-p", &self.port.to_string()])
            .args(args)
            .output()
            .expect("redis-cli runs (it comes with redis-server)");
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One tickerplex instance: the real binary on a loopback port of its own choosing (port 0),
/// with the dev CA the test trusts, on the given Redis.
pub struct Instance {
    pub name: String,
    pub addr: SocketAddr,
    child: Option<Child>,
}

/// The certificate files every instance of one test serves, and the CA that signed them.
pub struct Pki {
    pub ca_pem: String,
    pub files: TlsFiles,
    /// The CA certificate as a file, for an edge that checks the instances against it.
    pub ca_file: PathBuf,
    _dir: tempfile::TempDir,
}

impl Pki {
    pub fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let pki = DevPki::generate().unwrap();
        let files = pki.write_to(dir.path()).unwrap();
        let ca_file = dir.path().join("test-ca.pem");
        std::fs::write(&ca_file, &pki.ca_pem).unwrap();
        Pki {
            ca_pem: pki.ca_pem,
            files,
            ca_file,
            _dir: dir,
        }
    }
}

impl Instance {
    /// Starts an instance named `name` on `redis_url`, its market ticking every 20 ms, and
    /// returns once it serves.
    pub fn start(name: &str, redis_url: &str, pki: &Pki) -> Instance {
        Instance::start_with(name, redis_url, pki, &[]).expect("the instance starts")
    }

    /// As [`Instance::start`], with extra environment; `Err` with the output when the process
    /// exits instead of serving.
    pub fn start_with(
        name: &str,
        redis_url: &str,
        pki: &Pki,
        env: &[(&str, &str)],
    ) -> Result<Instance, String> {
        let binary = Path::new(env!("CARGO_BIN_EXE_tickerplex"));
        Instance::start_from(binary, &site_root(), name, redis_url, pki, env)
    }

    /// As [`Instance::start_with`], but first waits for a line of its output containing `first`
    /// (say, that it waits for Redis), returns that line to `meanwhile`, and only then waits
    /// for it to serve. `Err` with the output if either line never comes.
    pub fn start_after_line(
        name: &str,
        redis_url: &str,
        pki: &Pki,
        env: &[(&str, &str)],
        first: &str,
        meanwhile: impl FnOnce(&str),
    ) -> Result<Instance, String> {
        let binary = Path::new(env!("CARGO_BIN_EXE_tickerplex"));
        let child = instance_command(binary, &site_root(), name, redis_url, pki, env);
        let mut lines = Lines::of(child);
        let line = lines.until(first)?;
        meanwhile(&line);
        let line = lines.until("tickerplex is serving")?;
        Ok(Instance::serving(name, lines.child, &line))
    }

    /// As [`Instance::start_with`], running `binary` (a build: its `hash.txt` beside it names
    /// its bundle) and serving static files from `site`.
    pub fn start_from(
        binary: &Path,
        site: &Path,
        name: &str,
        redis_url: &str,
        pki: &Pki,
        env: &[(&str, &str)],
    ) -> Result<Instance, String> {
        let child = instance_command(binary, site, name, redis_url, pki, env);
        let (child, line) = try_wait_for_line(child, "tickerplex is serving")?;
        Ok(Instance::serving(name, child, &line))
    }

    /// The instance `child`, whose serving line is `line`.
    fn serving(name: &str, child: Child, line: &str) -> Instance {
        let port: u16 = line
            .split("https://localhost:")
            .nth(1)
            .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|port| port.parse().ok())
            .unwrap_or_else(|| panic!("no port in the serving line: {line}"));
        Instance {
            name: name.to_owned(),
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            child: Some(child),
        }
    }

    /// A client that trusts the test's CA and reaches this instance as `localhost`.
    pub fn client(&self, pki: &Pki) -> Client {
        Client::builder()
            .add_root_certificate(Certificate::from_pem(pki.ca_pem.as_bytes()).unwrap())
            .resolve("localhost", self.addr)
            .https_only(true)
            .build()
            .unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.addr.port())
    }

    /// Opens `topic`'s event stream on this instance, as an EventSource would.
    pub async fn open(&self, pki: &Pki, topic: &str, last_event_id: Option<&str>) -> Events {
        let url = self.url(&format!("/api/topics/{topic}/events"));
        open_url(&self.client(pki), &url, last_event_id).await
    }

    /// SIGKILL: the process ends mid-whatever, as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    /// SIGSTOP: a stuck process — its sockets stay open and nothing answers.
    pub fn freeze(&self) {
        self.signal("-STOP");
    }

    /// SIGCONT: it runs on from where it stopped, with whatever it had in hand.
    pub fn thaw(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        if let Some(child) = &self.child {
            let sent = Command::new("kill")
                .args([signal, &child.id().to_string()])
                .status()
                .unwrap();
            assert!(sent.success(), "kill {signal} {}", self.name);
        }
    }

    /// SIGTERM, and waits for the drain to finish.
    pub fn stop(&mut self) {
        self.terminate();
        if let Some(mut child) = self.child.take() {
            child.wait().unwrap();
        }
    }

    /// SIGTERM: the drain begins; the process exits once it ends (or `Drop` kills it).
    pub fn terminate(&self) {
        self.signal("-TERM");
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The tickerplex binary as an instance of a test cluster: port 0, the test's certificate, its
/// market ticking every 20 ms, on `redis_url`, with `env` on top.
fn instance_command(
    binary: &Path,
    site: &Path,
    name: &str,
    redis_url: &str,
    pki: &Pki,
    env: &[(&str, &str)],
) -> Child {
    Command::new(binary)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
        .env("LEPTOS_OUTPUT_NAME", "tickerplex")
        .env("LEPTOS_SITE_ROOT", site)
        .env("TICKERPLEX_TLS_CERT", &pki.files.cert)
        .env("TICKERPLEX_TLS_KEY", &pki.files.key)
        .env("TICKERPLEX_TICK_MS", "20")
        .env("TICKERPLEX_REDIS_URL", redis_url)
        .env("TICKERPLEX_INSTANCE", name)
        // The instances on one Redis are one cluster, and share one ledger file.
        .env("TICKERPLEX_LEDGER", cluster_ledger(redis_url))
        // A port of its own for each instance's metrics (the OS picks it).
        .env("TICKERPLEX_METRICS_ADDR", "127.0.0.1:0")
        .env("RUST_LOG", "tickerplex=info")
        .env("NO_COLOR", "1")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the tickerplex binary runs")
}

/// A site root with nothing in it: these tests read streams and JSON, not the wasm bundle.
fn site_root() -> PathBuf {
    let dir = std::env::temp_dir().join("tickerplex-cluster-site");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The ledger file of the cluster on `redis_url` (a file per Redis, in the temporary folder).
pub fn cluster_ledger(redis_url: &str) -> PathBuf {
    let name: String = redis_url
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    std::env::temp_dir().join(format!(
        "tickerplex-ledger-{name}-{}.db",
        std::process::id()
    ))
}

/// A loopback port nobody listens on now (the OS's choice for port 0, released at once).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for_line(child: Child, needle: &str, what: &str) -> (Child, String) {
    try_wait_for_line(child, needle)
        .unwrap_or_else(|output| panic!("{what} did not start:\n{output}"))
}

/// Reads the child's stdout until a line contains `needle`; `Err` with everything read when
/// the child exits (or stays silent past [`START_GUARD`]) first.
fn try_wait_for_line(child: Child, needle: &str) -> Result<(Child, String), String> {
    let mut lines = Lines::of(child);
    let line = lines.until(needle)?;
    Ok((lines.child, line))
}

/// A child's stdout, line by line. The lines are read by a thread that keeps draining them
/// after nobody listens any more, so the child never blocks on a full pipe.
pub(super) struct Lines {
    pub(super) child: Child,
    lines: mpsc::Receiver<String>,
    seen: String,
}

impl Lines {
    fn of(mut child: Child) -> Lines {
        let stdout = child.stdout.take().unwrap();
        Lines::reading(child, stdout)
    }

    /// The lines of `child`'s stderr (where postgres logs).
    pub(super) fn of_stderr(mut child: Child) -> Lines {
        let stderr = child.stderr.take().unwrap();
        Lines::reading(child, stderr)
    }

    fn reading(child: Child, output: impl std::io::Read + Send + 'static) -> Lines {
        let (lines_tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(output).lines().map_while(Result::ok) {
                // An error means nobody listens any more: keep draining so the child can write.
                let _ = lines_tx.send(line);
            }
        });
        Lines {
            child,
            lines,
            seen: String::new(),
        }
    }

    /// The next line containing `needle`; `Err` with everything read (and the child killed)
    /// when the child exits or stays silent past [`START_GUARD`] first.
    pub(super) fn until(&mut self, needle: &str) -> Result<String, String> {
        loop {
            match self.lines.recv_timeout(START_GUARD) {
                Ok(line) if line.contains(needle) => return Ok(line),
                Ok(line) => {
                    self.seen.push_str(&line);
                    self.seen.push('\n');
                }
                Err(_) => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    return Err(std::mem::take(&mut self.seen));
                }
            }
        }
    }
}
