//! Postgres for the orders benchmark: Debian's binaries (off `PATH`), a fresh cluster per run
//! made by `initdb` in the scratch folder, `postgres` pinned like the servers under test.
//!
//! The same recipe as the tests' harness (`tests/common/postgres.rs`; a separate crate, so the
//! two cannot share it): trust authentication here, since the benchmark measures orders, not
//! logins; as the `postgres` user through `setpriv` when run as root (Postgres refuses root).

use super::{log_file, pinned, Server};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Starts a fresh Postgres on `port`; its URL once it listens is `postgres://tickerplex@127.0.0.1:<port>/postgres`.
pub fn postgres(scratch: &Path, cpu: Option<usize>, port: u16) -> Result<Server, String> {
    let bin = binaries()?;
    let dir = scratch.join("postgres");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("socket")).map_err(|e| format!("{}: {e}", dir.display()))?;
    let root = std::fs::metadata("/proc/self").is_ok_and(|m| {
        use std::os::unix::fs::MetadataExt;
        m.uid() == 0
    });
    let as_postgres = |program: &Path, cpu: Option<usize>| {
        if root {
            let mut command = pinned(Path::new("setpriv"), cpu);
            command
                .args(["--reuid=postgres", "--regid=postgres", "--init-groups"])
                .arg(program);
            command
        } else {
            pinned(program, cpu)
        }
    };
    if root {
        let chown = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(&dir)
            .status();
        if !chown.is_ok_and(|s| s.success()) {
            return Err(format!(
                "cannot give {} to the postgres user",
                dir.display()
            ));
        }
    }
    let initdb = as_postgres(&bin.join("initdb"), None)
        .current_dir(&dir)
        .arg("-D")
        .arg(dir.join("data"))
        .args([
            "-U",
            "tickerplex",
            "--auth=trust",
            "--no-instructions",
            "-E",
            "UTF8",
        ])
        .stdout(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run initdb: {e}"))?;
    if !initdb.status.success() {
        return Err(format!(
            "initdb: {}",
            String::from_utf8_lossy(&initdb.stderr)
        ));
    }
    let (log, file) = log_file(scratch, "postgres")?;
    let child = as_postgres(&bin.join("postgres"), cpu)
        .current_dir(&dir)
        .arg("-D")
        .arg(dir.join("data"))
        .args(["-p", &port.to_string(), "-c", "listen_addresses=127.0.0.1"])
        .arg("-k")
        .arg(dir.join("socket"))
        .stdin(Stdio::null())
        .stdout(file.try_clone().map_err(|e| e.to_string())?)
        .stderr(file)
        .spawn()
        .map_err(|e| format!("cannot start postgres: {e}"))?;
    Ok(Server::from_child(child, log))
}

/// The newest `/usr/lib/postgresql/<version>/bin`.
fn binaries() -> Result<PathBuf, String> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("postgres").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin).ok_or_else(|| {
        "Postgres is not installed: scripts/setup with TICKERPLEX_SETUP_SERVERS=1 (apt-get install postgresql)".to_owned()
    })
}
