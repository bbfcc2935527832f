//! The cluster's own controls on the fault panel: freeze, resume, kill or restart an instance
//! of `scripts/cluster`, or restart its Redis, from the browser — and watch the widgets move.
//!
//! What it owns: `POST /api/drills/cluster/{verb}/{part}`, which writes the same one-line
//! command `scripts/cluster ctl <verb> <part>` writes into the cluster's control pipe (a named
//! pipe, `TICKERPLEX_CLUSTER_CONTROL`, that the running script reads). The script does the work:
//! it owns the processes, their signals and their restarts. An instance only ever passes the
//! request on — after its answer has left, since the instance asked may be the one to go.
//!
//! Off unless drills are on (`TICKERPLEX_DRILLS=1`) *and* the pipe is configured (only
//! `scripts/cluster` sets it): a drill that can kill the server is never on by accident.

use crate::server::demo::drills::Drills;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::StreamExt;
use std::io::Write;

/// The verbs a part takes, as `scripts/cluster ctl` spells them.
pub const VERBS: [&str; 4] = ["freeze", "resume", "kill", "restart"];
/// The parts of `scripts/cluster`: its two instances, its Redis and its Postgres.
pub const PARTS: [&str; 4] = ["a", "b", "redis", "postgres"];

/// The route, to merge into the app's router (beside `drills::routes`, whose `Drills` it reads).
pub fn routes<S>() -> axum::Router<S>
where
    S: Clone + Send + Sync + 'static,
    Drills: axum::extract::FromRef<S>,
{
    axum::Router::new().route(
        "/api/drills/cluster/{verb}/{part}",
        axum::routing::post(control),
    )
}

/// `POST /api/drills/cluster/{verb}/{part}`: passes `verb part` to the cluster's control pipe.
pub async fn control(
    State(drills): State<Drills>,
    Path((verb, part)): Path<(String, String)>,
) -> Response {
    let Some(pipe) = drills.cluster.clone().filter(|_| drills.enabled) else {
        return (
            StatusCode::NOT_FOUND,
            "404: cluster controls are off: run scripts/cluster with TICKERPLEX_DRILLS=1\n",
        )
            .into_response();
    };
    let known = VERBS.contains(&verb.as_str()) && PARTS.contains(&part.as_str());
    // Redis is restarted, never frozen or killed from here: a frozen shared log is the
    // Redis tests' business (tests/cluster/shared_log_faults.rs), not a button's. Postgres is killed
    // (a crash: orders answer 503 until it is back) and restarted.
    let allowed = match part.as_str() {
        "redis" => verb == "restart",
        "postgres" => verb == "kill" || verb == "restart",
        _ => true,
    };
    if !known || !allowed {
        let verb: String = verb.chars().take(16).collect();
        return (
            StatusCode::BAD_REQUEST,
            format!("400: no cluster control {verb:?}; the verbs are freeze, resume, kill, restart of a or b, restart of redis, and kill or restart of postgres\n"),
        )
            .into_response();
    }
    let line = format!("{verb} {part}\n");
    // Blocking file IO, off the runtime's threads. Opened without blocking: a pipe with no
    // reader (the script is gone) fails at once (ENXIO) instead of waiting for one for ever.
    let opened = tokio::task::spawn_blocking(move || {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(pipe.as_ref())
    })
    .await;
    let mut pipe = match opened {
        Ok(Ok(pipe)) => pipe,
        Ok(Err(error)) => {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("503: the cluster's control pipe does not answer ({error}); is scripts/cluster running?\n"),
            )
                .into_response()
        }
        Err(error) => return (StatusCode::INTERNAL_SERVER_ERROR, format!("500: {error}\n")).into_response(),
    };
    tracing::warn!(%verb, %part, "cluster control passed to scripts/cluster");
    // The answer first, the command second: the instance asked may be the one to be killed or
    // frozen. The line is written when hyper asks for the body's next chunk — after it has
    // taken the answer's bytes to send. That is all an instance can do: behind an edge, a kill
    // can still reach it before its answer has crossed to the edge, which then answers 502.
    let said = Bytes::from(format!("202: {verb} {part} passed to scripts/cluster\n"));
    let answer = futures_util::stream::iter([Ok::<_, std::io::Error>(said)]);
    let then_pass_on = futures_util::stream::once(async move {
        if let Err(error) = pipe.write_all(line.as_bytes()) {
            tracing::warn!(%error, "cluster control not passed on");
        }
    })
    .filter_map(|()| std::future::ready(None));
    (
        StatusCode::ACCEPTED,
        Body::from_stream(answer.chain(then_pass_on)),
    )
        .into_response()
}
