//! The two-worker table: the same server on one core (one tokio worker) and on both (two), from
//! the same run.

use super::{latency, number, Row};
use crate::suite::Peer;
use std::fmt::Write as _;

/// What the second worker costs and buys when `tickerplex-two-workers` ran beside `tickerplex`:
/// server CPU per delivered event (the cost: work stealing, cross-core wake-ups, contended
/// locks), p99 (what a second core buys under load), and the generator's own CPU — on this
/// 2-core machine it runs on core 1, which the two-worker server shares — and how long each
/// waited for a core: time in no profile of the server, and in every tick's latency.
pub fn section(rows: &[Row], peers: &[Peer]) -> String {
    let index = |wanted: Peer| peers.iter().position(|p| *p == wanted);
    let (Some(one), Some(two)) = (index(Peer::Tickerplex), index(Peer::TickerplexTwoWorkers))
    else {
        return String::new();
    };
    let mut out = String::from(
        "\nOne worker (pinned to core 0) beside two (unpinned, one per core; the generator shares core 1):\n\n\
         | scenario | server CPU µs per delivered event 2 / 1 | server CPU % 2 / 1 | p99 ms 2 / 1 | generator CPU % 2 / 1 | generator waiting for a core, % of the window, 2 / 1 | server threads waiting for a core, % of the window, 2 / 1 |\n\
         |---|---|---|---|---|---|---|\n",
    );
    for row in rows {
        let (Ok(one), Ok(two)) = (&row.results[one], &row.results[two]) else {
            continue;
        };
        // % of one core → µs of CPU per second, over the events delivered in that second.
        let per_event = |cpu_percent: f64, per_sec: f64| {
            if per_sec > 0.0 {
                cpu_percent * 10_000.0 / per_sec
            } else {
                f64::NAN
            }
        };
        let cost = (
            per_event(two.cpu_percent, two.received.events_per_sec),
            per_event(one.cpu_percent, one.received.events_per_sec),
        );
        let p99 = (
            latency(two, two.received.p99_ms),
            latency(one, one.received.p99_ms),
        );
        let _ = writeln!(
            out,
            "| {} | {} / {} (**{}×**) | {} / {} | {} / {} (**{}×**) | {} / {} | {} / {} | {} / {} |",
            row.scenario,
            number(cost.0),
            number(cost.1),
            number(cost.0 / cost.1),
            number(two.cpu_percent),
            number(one.cpu_percent),
            number(p99.0),
            number(p99.1),
            number(p99.0 / p99.1),
            number(two.generator_cpu_percent),
            number(one.generator_cpu_percent),
            number(two.generator_wait_percent),
            number(one.generator_wait_percent),
            number(two.server_wait_percent),
            number(one.server_wait_percent),
        );
    }
    out
}
