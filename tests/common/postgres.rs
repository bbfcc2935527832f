//! A real Postgres for the ledger tests: Debian's `postgresql` binaries (off `PATH`, under
//! `/usr/lib/postgresql/<version>/bin`), a cluster made by `initdb` in a temporary directory
//! of the test's own, `postgres` on a free loopback port with its own socket directory, and
//! `pg_ctl -m immediate` to stop it. Nothing is left behind: no system cluster, no service.
//!
//! Postgres refuses to run as root. When the tests are root (CI here), the directory is given
//! to the `postgres` user the package created, and every binary runs as that user through
//! `setpriv` — which execs in place, so the child this harness holds IS the server.
//!
//! Password authentication (`scram-sha-256`), as a real deployment has: the tests connect with
//! the URL [`PgServer::url`] gives, password and all.

use super::cluster::{free_port, Lines};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The role and password every test cluster has.
pub const USER: &str = "tickerplex";
pub const PASSWORD: &str = "not-a-real-secret";

pub struct PgServer {
    pub port: u16,
    bin: PathBuf,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl PgServer {
    /// A fresh cluster, started, ready for connections.
    pub fn start() -> PgServer {
        let mut server = PgServer::on(free_port());
        server.restart();
        server
    }

    /// A fresh cluster on `port`, made but not started ([`PgServer::restart`] starts it).
    pub fn on(port: u16) -> PgServer {
        let bin = binaries();
        let dir = tempfile::tempdir().unwrap();
        let owned = || {
            if is_root() {
                let chown = Command::new("chown")
                    .args(["-R", "postgres:postgres"])
                    .arg(dir.path())
                    .status()
                    .unwrap();
                assert!(chown.success(), "chown postgres {}", dir.path().display());
            }
        };
        std::fs::create_dir(dir.path().join("socket")).unwrap();
        std::fs::write(dir.path().join("password"), PASSWORD).unwrap();
        owned();
        let initdb = as_postgres(&bin.join("initdb"), dir.path())
            .arg("-D")
            .arg(dir.path().join("data"))
            .args([
                "-U",
                USER,
                "--auth=scram-sha-256",
                "--no-sync",
                "--no-instructions",
            ])
            .args(["-E", "UTF8"])
            .arg(format!(
                "--pwfile={}",
                dir.path().join("password").display()
            ))
            .stdout(Stdio::null())
            .output()
            .expect("initdb runs");
        assert!(
            initdb.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&initdb.stderr)
        );
        PgServer {
            port,
            bin,
            dir,
            child: None,
        }
    }

    /// `postgres://tickerplex:…@127.0.0.1:<port>/postgres`, what `TICKERPLEX_DATABASE_URL` is set to.
    pub fn url(&self) -> String {
        format!(
            "postgres://{USER}:{PASSWORD}@127.0.0.1:{}/postgres",
            self.port
        )
    }

    /// Starts the server (again) on its port and data, returning once it accepts connections.
    pub fn restart(&mut self) {
        let child = as_postgres(&self.bin.join("postgres"), self.dir.path())
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-p", &self.port.to_string()])
            .arg("-k")
            .arg(self.dir.path().join("socket"))
            .args(["-c", "listen_addresses=127.0.0.1"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("postgres runs");
        let mut lines = Lines::of_stderr(child);
        if let Err(output) = lines.until("database system is ready to accept connections") {
            panic!("postgres did not start:\n{output}");
        }
        self.child = Some(lines.child);
    }

    /// `pg_ctl -m immediate stop`: every server process ends at once, mid-transaction, as in a
    /// crash (the next start recovers from the WAL). A no-op when it is not running.
    pub fn kill(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let stopped = as_postgres(&self.bin.join("pg_ctl"), self.dir.path())
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-m", "immediate", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if !stopped.is_ok_and(|s| s.success()) {
            let _ = child.kill();
        }
        let _ = child.wait();
    }

    /// Runs `sql` through `psql` as the test role (for what a test must see from outside).
    pub fn psql(&self, sql: &str) -> String {
        let output = Command::new(self.bin.join("psql"))
            .env("PGPASSWORD", PASSWORD)
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", USER])
            .args(["-d", "postgres", "-At", "-c", sql])
            .output()
            .expect("psql runs");
        assert!(
            output.status.success(),
            "psql {sql}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap().trim().to_owned()
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The newest Postgres under `/usr/lib/postgresql`, or a failure that says how to get one.
fn binaries() -> PathBuf {
    let root = Path::new("/usr/lib/postgresql");
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("postgres").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).unwrap_or_else(|| {
        panic!(
            "no Postgres under {}: run scripts/setup with TICKERPLEX_SETUP_SERVERS=1 (or apt-get install postgresql)",
            root.display()
        )
    })
}

/// Whether the tests run as root: `/proc/self` belongs to the process's effective user.
fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// `program`, run as the `postgres` user when the tests are root, in `dir`.
fn as_postgres(program: &Path, dir: &Path) -> Command {
    let mut command = if is_root() {
        let mut setpriv = Command::new("setpriv");
        setpriv
            .args(["--reuid=postgres", "--regid=postgres", "--init-groups"])
            .arg(program);
        setpriv
    } else {
        Command::new(program)
    };
    command.current_dir(dir).env_remove("PGDATA");
    command
}

/// Where a test's ledger lives: a SQLite file (the embedded default) or a Postgres of the
/// test's own. The same test body runs on both ([`on_both_backends!`]).
pub enum Store {
    Sqlite(tempfile::TempDir),
    Postgres(PgServer),
}

impl Store {
    pub fn sqlite() -> Store {
        Store::Sqlite(tempfile::tempdir().unwrap())
    }

    pub fn postgres() -> Store {
        Store::Postgres(PgServer::start())
    }

    /// The variable and value that put an instance's ledger here.
    pub fn env(&self) -> (&'static str, String) {
        match self {
            Store::Sqlite(dir) => (
                "TICKERPLEX_LEDGER",
                dir.path().join("ledger.db").display().to_string(),
            ),
            Store::Postgres(server) => ("TICKERPLEX_DATABASE_URL", server.url()),
        }
    }

    /// Puts an in-process server's ledger here.
    pub fn configure(&self, config: &mut tickerplex::server::config::Config) {
        match self {
            Store::Sqlite(dir) => config.ledger = dir.path().join("ledger.db"),
            Store::Postgres(server) => config.database_url = Some(server.url()),
        }
    }

    /// A new handle on this ledger, as another instance would open it.
    pub async fn open(
        &self,
        idle: std::time::Duration,
    ) -> tickerplex::server::trading::ledger::Ledger {
        use tickerplex::server::trading::ledger::Ledger;
        match self {
            Store::Sqlite(dir) => Ledger::open(&dir.path().join("ledger.db"), idle).unwrap(),
            Store::Postgres(server) => Ledger::connect(&server.url(), idle).await.unwrap(),
        }
    }

    pub fn postgres_server(&mut self) -> &mut PgServer {
        match self {
            Store::Postgres(server) => server,
            Store::Sqlite(_) => panic!("not a Postgres store"),
        }
    }
}

/// One test body, two backends: `on_both_backends!(name)` makes the tests `name::sqlite` and
/// `name::postgres`, each calling `async fn name(store: Store)` with a store of its own.
#[allow(unused_macros)] // each test file uses a different part of the harness
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(crate::common::postgres::Store::sqlite()).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(crate::common::postgres::Store::postgres()).await
            }
        }
    )*};
}
#[allow(unused_imports)]
pub(crate) use on_both_backends;
