//! The cluster's own controls on the fault panel: freeze, resume, kill or restart an instance
//! of `scripts/cluster`, or restart its Redis, from the browser — and watch the widgets move.
//!
//! What it owns: `POST /api/drills/cluster/{verb}/{part}`, which writes the same one-line
//! command `scripts/cluster ctl <verb> <part>` writes into the cluster's control pipe (a named
//! pipe, `TICKERPLEX_CLUSTER_CONTROL`, that the running script reads). The script does the work:
//! it owns the processes, their signals and their restarts. An instance only ever passes the
//! request on, so one that is about to be frozen or killed answers first.
//!
//! Off unless drills are on (`TICKERPLEX_DRILLS=1`) *and* the pipe is configured (only
//! `scripts/cluster` sets it): a drill that can kill the server is never on by accident.

use super::drills::Drills;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use std::io::Write;

/// The verbs a part takes, as `scripts/cluster ctl` spells them.
pub const VERBS: [&str; 4] = ["freeze", "resume", "kill", "restart"];
/// The parts of `scripts/cluster`: its two instances and its Redis.
pub const PARTS: [&str; 3] = ["a", "b", "redis"];

/// `POST /api/drills/cluster/{verb}/{part}`: passes `verb part` to the cluster's control pipe.
pub async fn control(
    State(drills): State<Drills>,
    Path((verb, part)): Path<(String, String)>,
) -> (StatusCode, String) {
    let Some(pipe) = drills.cluster.clone().filter(|_| drills.enabled) else {
        return (
            StatusCode::NOT_FOUND,
            "404: cluster controls are off: run scripts/cluster with TICKERPLEX_DRILLS=1\n".into(),
        );
    };
    let known = VERBS.contains(&verb.as_str()) && PARTS.contains(&part.as_str());
    // Redis is restarted, never frozen or killed from here: a frozen shared log is the
    // Redis tests' business (tests/shared_log_faults.rs), not a button's.
    if !known || (part == "redis" && verb != "restart") {
        let verb: String = verb.chars().take(16).collect();
        return (
            StatusCode::BAD_REQUEST,
            format!("400: no cluster control {verb:?}; the verbs are freeze, resume, kill, restart of a or b, and restart of redis\n"),
        );
    }
    let line = format!("{verb} {part}\n");
    // Blocking file IO, off the runtime's threads. Opened without blocking: a pipe with no
    // reader (the script is gone) fails at once (ENXIO) instead of waiting for one for ever.
    let written = tokio::task::spawn_blocking(move || {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(pipe.as_ref())
            .and_then(|mut pipe| pipe.write_all(line.as_bytes()))
    })
    .await;
    match written {
        Ok(Ok(())) => {
            tracing::warn!(%verb, %part, "cluster control passed to scripts/cluster");
            (StatusCode::ACCEPTED, format!("202: {verb} {part} passed to scripts/cluster\n"))
        }
        Ok(Err(error)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("503: the cluster's control pipe does not answer ({error}); is scripts/cluster running?\n"),
        ),
        Err(error) => (StatusCode::INTERNAL_SERVER_ERROR, format!("500: {error}\n")),
    }
}
