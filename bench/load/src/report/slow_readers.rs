//! The dead readers' figures: each row with streams that stopped reading beside its twin without
//! them, from the same run — what 1 000 non-reading streams cost in memory, and whether the
//! streams that do read noticed.

use super::{number, Row};
use crate::suite::Peer;
use std::fmt::Write as _;

/// Targets: at most this much resident memory per 1 000 non-reading streams…
const MAX_MIB_PER_1000: f64 = 16.0;
/// …and the reading streams' p99 within this factor of the run without them.
const MAX_P99_RATIO: f64 = 1.1;

pub fn section(rows: &[Row], peers: &[Peer]) -> String {
    let mut out = String::new();
    for row in rows.iter().filter(|r| r.scenario.stalled > 0) {
        let twin = rows.iter().find(|t| {
            let (a, b) = (&t.scenario, &row.scenario);
            a.stalled == 0
                && (a.streams, a.per_connection, a.protocol, a.rate, a.topics)
                    == (b.streams, b.per_connection, b.protocol, b.rate, b.topics)
        });
        let Some(twin) = twin else { continue };
        if out.is_empty() {
            out.push_str(&format!(
                "\nDead readers: streams that open, then never read (their TCP window closes), beside a row that reads; RSS at the end of the window and its grace, against the same row without them (targets: ≤ {MAX_MIB_PER_1000} MiB per 1 000, p99 ≤ {MAX_P99_RATIO}× of the row without):\n\n\
                 | peer | scenario | not reading, held | RSS MiB with / without | MiB per 1 000 not reading | p99 ms with / without |\n\
                 |---|---|---|---|---|---|\n"
            ));
        }
        for (i, peer) in peers.iter().enumerate() {
            let (Ok(with), Ok(without)) = (&row.results[i], &twin.results[i]) else {
                continue;
            };
            let grown_mib = (with.rss_end_kib as f64 - without.rss_end_kib as f64) / 1024.0;
            let per_1000 = grown_mib * 1000.0 / with.stalled_held.max(1) as f64;
            let p99 = (with.received.p99_ms, without.received.p99_ms);
            let _ = writeln!(
                out,
                "| {peer} | {} | {} | {} / {} | {} | {} / {} (**{}×**) |",
                row.scenario,
                with.stalled_held,
                number(with.rss_end_kib as f64 / 1024.0),
                number(without.rss_end_kib as f64 / 1024.0),
                number(per_1000),
                number(p99.0),
                number(p99.1),
                number(p99.0 / p99.1),
            );
        }
    }
    out
}
