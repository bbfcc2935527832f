//! The logs of a scenario in which streams failed, kept for reading afterwards.
//!
//! Every scenario's server writes to the same file (`<scratch>/tickerplex.log`, `redis.log`…),
//! so by the time the report names a failure, the log that would explain it has been
//! overwritten by the scenarios after it. A run once ended 67 835 streams on the Redis peer and
//! nothing was left to say why; now the logs of such a scenario are copied aside.

use super::Server;
use std::fmt::Display;
use std::path::{Path, PathBuf};

/// Stops `server`, then the edge's `instances`, then `redis` (the order they depend on each
/// other in), and, when `keep_in` is given, copies each one's log there once it has stopped.
pub async fn stop_all(
    server: Server,
    instances: Vec<Server>,
    redis: Option<Server>,
    keep_in: Option<&Path>,
) {
    let mut logs = Vec::new();
    for one in std::iter::once(server).chain(instances).chain(redis) {
        logs.push(one.log.clone());
        one.stop().await;
    }
    if let Some(dir) = keep_in {
        if let Err(error) = copy(&logs, dir) {
            eprintln!("could not keep the logs in {}: {error}", dir.display());
        }
    }
}

/// Where the logs of `peer` in `scenario` are kept: a directory under `<scratch>/failed/`,
/// named by both, with anything but letters and digits as `-`.
pub fn kept_dir(scratch: &Path, peer: impl Display, scenario: impl Display) -> PathBuf {
    let name: String = format!("{peer} {scenario}")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    scratch.join("failed").join(name)
}

fn copy(logs: &[PathBuf], dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for log in logs {
        if let Some(name) = log.file_name() {
            std::fs::copy(log, dir.join(name))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Peer and scenario names hold `/`, `→`, `×`, `,` and spaces; the kept directory is one
    /// plain name under `failed/`, whatever they hold.
    #[test]
    fn a_kept_directory_is_one_plain_name_under_failed() {
        let dir = kept_dir(
            Path::new("/scratch"),
            "nginx→2×tickerplex",
            "5k streams, W=240 h2, 10k/s",
        );
        assert_eq!(dir.parent(), Some(Path::new("/scratch/failed")));
        let name = dir.file_name().unwrap().to_str().unwrap();
        assert!(
            name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
            "{name}"
        );
        assert!(
            name.starts_with("nginx-") && name.contains("5k-streams"),
            "{name}"
        );
    }
}
