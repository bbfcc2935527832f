//! The feed lease: which instance of a cluster moves the market.
//!
//! Every instance runs a feed, and exactly one may publish: two would number events from the
//! same head and tell two different markets. The lease is a key holding the publisher's token,
//! with a time to live. The holder renews it every [`RENEW_EVERY`]; the others try to take it
//! as often. When the holder dies (a crash, `kill -9`, a lost network) its key expires after at
//! most [`LEASE_TTL`], and the next try takes it: the market moves again within
//! `LEASE_TTL + RENEW_EVERY` — under two lease periods.
//!
//! A lease alone cannot stop a holder that paused past its expiry from writing once more, so
//! the append script checks the token on every write (a fencing check): a stale holder's batch
//! is refused whole, and it hears [`LogError::LeaseLost`](super::LogError::LeaseLost).
//!
//! The same call watches Redis itself. A Redis that restarted reloaded its append-only file,
//! which (with `appendfsync everysec`) may lack the last second it acknowledged: continuing the
//! epoch would hand out those ids again with other content. So when Redis's `run_id` differs
//! from the one the publisher recorded, the publisher starts a new epoch on every topic, and
//! resuming clients get an explicit `reset`. Which changes count: every one — from outside,
//! a clean restart and a lossy one look the same.

use super::Redis;
use crate::server::pubsub::log::LogError;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

/// The lease key (one feed per cluster).
pub(super) const LEASE_KEY: &str = "tickerplex:feed:lease";
/// The Redis run id the publisher saw last.
const RUN_ID_KEY: &str = "tickerplex:redis:run-id";
/// How long a lease lives unrenewed: a dead holder's market stops for at most this long.
pub const LEASE_TTL: Duration = Duration::from_secs(3);
/// How often the holder renews, and the others try to take over: three tries per lifetime, so
/// one lost renewal does not cost the lease.
pub const RENEW_EVERY: Duration = Duration::from_secs(1);

/// The lease script ([`lease.lua`](lease.lua)): take, renew or report the lease in one atomic
/// step. Loaded once; `redis::Script` sends `EVALSHA` and falls back to `EVAL` after a Redis
/// restart has emptied its script cache.
static LEASE: LazyLock<redis::Script> =
    LazyLock::new(|| redis::Script::new(include_str!("lease.lua")));

/// What the last renewal found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeaseState {
    /// Another instance publishes.
    Elsewhere,
    /// This instance publishes.
    Held,
    /// This instance publishes, and Redis restarted since it last looked: start new epochs
    /// before publishing again.
    HeldAfterRedisRestart,
}

/// This instance's side of the lease.
pub struct FeedLease {
    /// The shared link: the lease's renewals pipeline on the same connection as the appends, so a
    /// lease that renews proves the path the appends take is alive.
    redis: Arc<Redis>,
}

impl FeedLease {
    /// This instance's side of the lease, identified by its token (its name and a random part,
    /// new every run), so a restarted instance never mistakes its old lease for its own.
    pub fn new(redis: Arc<Redis>) -> FeedLease {
        FeedLease { redis }
    }

    /// Takes or renews the lease, and checks Redis's run id: one `INFO` and one script call.
    pub async fn renew(&self) -> Result<LeaseState, LogError> {
        let (held, restarted): (u8, String) = self
            .redis
            .run(async |conn| {
                let info: String = redis::cmd("INFO").arg("server").query_async(conn).await?;
                let run_id = info
                    .lines()
                    .find_map(|line| line.strip_prefix("run_id:"))
                    .unwrap_or("unknown")
                    .trim()
                    .to_owned();
                LEASE
                    .key(LEASE_KEY)
                    .key(RUN_ID_KEY)
                    .arg(&self.redis.token)
                    .arg(LEASE_TTL.as_millis() as u64)
                    .arg(run_id)
                    .invoke_async(conn)
                    .await
            })
            .await?;
        Ok(match (held, restarted.as_str()) {
            (0, _) => LeaseState::Elsewhere,
            (_, "changed") => LeaseState::HeldAfterRedisRestart,
            _ => LeaseState::Held,
        })
    }
}
