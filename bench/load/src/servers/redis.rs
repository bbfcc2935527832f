//! redis-server for the shared-log peers: started pinned like the servers, and asked for its
//! command counts (`INFO commandstats`).

use super::{log_file, pinned, which, Server};
use std::path::Path;
use std::process::{Command, Stdio};

/// Starts Debian's redis-server on `port`, with a fresh data directory under `scratch` and the
/// append-only file on (fsync every second, Redis's default and the cluster's setting), pinned
/// like the server: the two then share one core, and the generator keeps the other.
pub fn redis(scratch: &Path, cpu: Option<usize>, port: u16) -> Result<Server, String> {
    let redis = which("redis-server").ok_or(
        "redis-server is not installed: apt-get install redis-server (scripts/bench does this)",
    )?;
    let dir = scratch.join("redis");
    // A fresh log per scenario, so every run starts from the same empty streams.
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let (log, file) = log_file(scratch, "redis")?;
    let child = pinned(&redis, cpu)
        .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
        .arg("--dir")
        .arg(&dir)
        .args(["--appendonly", "yes", "--save", ""])
        .stdin(Stdio::null())
        .stdout(file.try_clone().map_err(|e| e.to_string())?)
        .stderr(file)
        .spawn()
        .map_err(|e| format!("cannot start redis-server: {e}"))?;
    Ok(Server {
        child: Some(child),
        log,
    })
}

/// `INFO commandstats` calls of `command` (lower case) so far, through redis-cli.
pub fn redis_calls(port: u16, command: &str) -> Result<u64, String> {
    let output = Command::new("redis-cli")
        .args(["-p", &port.to_string(), "INFO", "commandstats"])
        .output()
        .map_err(|e| format!("redis-cli: {e}"))?;
    let stats = String::from_utf8_lossy(&output.stdout);
    let prefix = format!("cmdstat_{command}:calls=");
    Ok(stats
        .lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .and_then(|rest| rest.split(',').next())
        .and_then(|calls| calls.parse().ok())
        .unwrap_or(0))
}
