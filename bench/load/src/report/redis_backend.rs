//! The shared log's table: the Redis backend beside the in-memory one, from the same run.

use super::{latency, number, Row};
use crate::suite::Peer;
use std::fmt::Write as _;

/// The shared log's cost when `tickerplex-redis` ran beside the in-memory peer: p99 against
/// memory's, the server's and Redis's CPU, and the Redis commands per published tick.
pub fn section(rows: &[Row], peers: &[Peer]) -> String {
    let index = |wanted: Peer| peers.iter().position(|p| *p == wanted);
    let (Some(memory), Some(redis)) = (index(Peer::Tickerplex), index(Peer::TickerplexRedis))
    else {
        return String::new();
    };
    let mut out = String::from(
        "\nThe Redis backend beside the in-memory one (same server binary; redis-server pinned to the server's core):\n\n\
         | scenario | p99 ms Redis / memory | server CPU % Redis / memory | Redis CPU % | Redis CPU µs per delivered event | Redis CPU µs per published event | round trips per published tick | XADD per published tick |\n\
         |---|---|---|---|---|---|---|---|\n",
    );
    for row in rows {
        let (Ok(m), Ok(r)) = (&row.results[memory], &row.results[redis]) else {
            continue;
        };
        let Some(figures) = r.redis else { continue };
        let delivered_per_sec = r.received.events_per_sec;
        // % of one core → µs of CPU per second, spread over the events delivered in that second.
        let redis_us_per_event = if delivered_per_sec > 0.0 {
            figures.cpu_percent * 10_000.0 / delivered_per_sec
        } else {
            f64::NAN
        };
        let p99 = (latency(r, r.received.p99_ms), latency(m, m.received.p99_ms));
        let _ = writeln!(
            out,
            "| {} | {} / {} (**{}×**) | {} / {} | {} | {} | {} | {} | {} |",
            row.scenario,
            number(p99.0),
            number(p99.1),
            number(p99.0 / p99.1),
            number(r.cpu_percent),
            number(m.cpu_percent),
            number(figures.cpu_percent),
            number(redis_us_per_event),
            number(figures.cpu_us_per_tick),
            number(figures.round_trips_per_tick),
            number(figures.xadds_per_tick),
        );
    }
    out
}
