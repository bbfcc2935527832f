//! Waiting for a backend at start: the shared event log (Redis) and the ledger (Postgres).
//!
//! What it owns: the one loop both use — try, and on failure wait 100 ms, then twice as long
//! each time up to 2 s, saying so in one WARN line every 5 s (naming the variable that chose
//! the backend and its address) rather than one per try. Why wait rather than fail fast: an
//! instance and its backends are started side by side (a cluster script, a deploy, a host
//! reboot), and the backend that comes up second — or replays a 50 MB file first — must not
//! take every instance down with it. The operator who typed a wrong address sees the line
//! repeat, naming it.

use std::fmt::Display;
use std::time::Duration;

/// The first wait between two tries, doubled per failure up to [`RETRY_MAX`].
pub const RETRY_FIRST: Duration = Duration::from_millis(100);
/// The longest wait between two tries: a backend that is back is found within two seconds,
/// and a host of waiting instances costs it one try each per two seconds.
pub const RETRY_MAX: Duration = Duration::from_secs(2);
/// How often the wait says so: one line every few seconds, not one per try.
pub const WAITING_LOG_EVERY: Duration = Duration::from_secs(5);

/// What is being waited for, for the log lines: `"Redis"` at `addr`, chosen by `var`, and what
/// the operator can do instead (`hint`, e.g. "unset it to keep the log in memory").
pub struct Backend<'a> {
    /// What it is, as the operator calls it (`Redis`, `Postgres`).
    pub name: &'a str,
    /// Where it is expected (`host:port`, never a URL: a URL may carry a password).
    pub addr: &'a str,
    /// The variable that chose it, so the log line says what to change.
    pub var: &'a str,
    /// What to do instead of waiting, in one clause.
    pub hint: &'a str,
}

/// Calls `attempt` until it succeeds, waiting with backoff between tries (module doc).
///
/// `attempt` is a closure returning a future rather than an async closure: the future of an
/// async closure borrowing its captures is not provably `Send` for every lifetime (a known
/// limit of today's compiler), and the server's start-up future must be `Send`.
pub async fn until_reachable<T, E: Display, F: std::future::Future<Output = Result<T, E>>>(
    backend: Backend<'_>,
    mut attempt: impl FnMut() -> F,
) -> T {
    let Backend {
        name,
        addr,
        var,
        hint,
    } = backend;
    let mut wait = RETRY_FIRST;
    let mut last_said: Option<tokio::time::Instant> = None;
    loop {
        match attempt().await {
            Ok(value) => {
                // Said only after a wait was said: a backend reachable at the first try logs
                // nothing here.
                if last_said.is_some() {
                    tracing::info!(%addr, "{name} is reachable");
                }
                return value;
            }
            Err(error) => {
                // The first failure at once (the operator should know immediately what the server
                // waits for), then one line per `WAITING_LOG_EVERY` however fast the tries come.
                if last_said.is_none_or(|at| at.elapsed() >= WAITING_LOG_EVERY) {
                    tracing::warn!(%addr, %error, "waiting for {name} at {addr} ({var}); {hint}");
                    last_said = Some(tokio::time::Instant::now());
                }
                tokio::time::sleep(wait).await; // nothing to wait on but time: only a try tells
                wait = (wait * 2).min(RETRY_MAX);
            }
        }
    }
}
