//! What the shared log costs Redis: its CPU and command counts, read before and after the
//! window (for the `tickerplex-redis` and edge peers).

use crate::procfs::Usage;
use crate::servers;

/// The port of the Redis the `tickerplex-redis` peer runs on.
pub(super) const REDIS_PORT: u16 = 4490;

/// What the Redis backend cost Redis over the window.
#[derive(Clone, Copy, Debug)]
pub struct RedisFigures {
    /// redis-server's CPU, in % of one core.
    pub cpu_percent: f64,
    /// Round trips to Redis per tick published (`EVALSHA` calls: one per batch of ticks).
    pub round_trips_per_tick: f64,
    /// `XADD`s per tick published: one per event, whatever the number of subscribers.
    pub xadds_per_tick: f64,
    /// redis-server's CPU per tick published, in µs: what the log costs per event written,
    /// apart from how many read it.
    pub cpu_us_per_tick: f64,
}

/// Redis's CPU and command counts at one moment (`None` without Redis).
pub(super) struct RedisReading {
    pub usage: Usage,
    pub evalsha: u64,
    pub xadd: u64,
}

pub(super) fn redis_reading(pid: Option<u32>) -> Result<Option<RedisReading>, String> {
    let Some(pid) = pid else { return Ok(None) };
    Ok(Some(RedisReading {
        usage: Usage::of_process(pid)?,
        evalsha: servers::redis_calls(REDIS_PORT, "evalsha")?,
        xadd: servers::redis_calls(REDIS_PORT, "xadd")?,
    }))
}
