//! The slow readers' figures: each row with streams that stopped reading (or read at a trickle)
//! beside its twin without them, from the same run — what 1 000 such streams cost in memory,
//! whether the streams that do read noticed, and (trickle) whether the server cut them.

use super::{number, Row};
use crate::suite::{Measured, Peer};
use std::fmt::Write as _;

/// Targets: at most this much resident memory per 1 000 non-reading streams…
const MAX_MIB_PER_1000: f64 = 16.0;
/// …and the reading streams' p99 within this factor of the run without them.
const MAX_P99_RATIO: f64 = 1.1;

/// Every peer's figures for each row with slow readers of one kind (`trickle` or not), beside
/// the same peer's figures for the row without them (its twin, from the same run).
fn pairs<'a>(
    rows: &'a [Row],
    peers: &'a [Peer],
    trickle: bool,
) -> Vec<(&'a Row, &'a Peer, &'a Measured, &'a Measured)> {
    let mut pairs = Vec::new();
    for row in rows
        .iter()
        .filter(|r| r.scenario.stalled > 0 && r.scenario.trickle.is_some() == trickle)
    {
        let twin = rows.iter().find(|t| {
            let (a, b) = (&t.scenario, &row.scenario);
            a.stalled == 0
                && (a.streams, a.per_connection, a.protocol, a.rate, a.topics)
                    == (b.streams, b.per_connection, b.protocol, b.rate, b.topics)
        });
        let Some(twin) = twin else { continue };
        for (i, peer) in peers.iter().enumerate() {
            if let (Ok(with), Ok(without)) = (&row.results[i], &twin.results[i]) {
                pairs.push((row, peer, with, without));
            }
        }
    }
    pairs
}

pub fn section(rows: &[Row], peers: &[Peer]) -> String {
    let mut out = dead(rows, peers);
    out.push_str(&trickling(rows, peers));
    out
}

/// Streams that never read again.
fn dead(rows: &[Row], peers: &[Peer]) -> String {
    let pairs = pairs(rows, peers, false);
    if pairs.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "\nDead readers: streams that open, then never read (their TCP window closes), beside a row that reads; RSS at the end of the window and its grace, against the same row without them (targets: ≤ {MAX_MIB_PER_1000} MiB per 1 000, p99 ≤ {MAX_P99_RATIO}× of the row without):\n\n\
         | peer | scenario | not reading, held | RSS MiB with / without | MiB per 1 000 not reading | p99 ms with / without |\n\
         |---|---|---|---|---|---|\n"
    );
    for (row, peer, with, without) in pairs {
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
    out
}

/// Streams whose connections read a little every second: progress, below the server's minimum
/// drain rate. Cut (over HTTP/1.1 by the drain rate, over HTTP/2 by the keep-alive PING, with
/// the whole connection), or a reader this slow holds its connection and its slots forever.
fn trickling(rows: &[Row], peers: &[Peer]) -> String {
    let pairs = pairs(rows, peers, true);
    if pairs.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "\nTrickle readers: streams whose connection drains a few hundred bytes a second while events wait for it (below tickerplex's minimum of 16 KiB per 20 s while the queue is full), beside the same row without them; cut means the stream ended by the end of the wait (50 s after the trickle began), the seconds are from the trickle's start. Over HTTP/2 the client's connection window closes before any write of the server's is refused, so what finds these connections is the keep-alive PING (20 s without a frame from the client, 10 s for an answer that waits behind the unread bytes), and each is cut whole, with its 240 streams:\n\n\
         | peer | scenario | trickling, held | cut by the server | cut after s, first–last | RSS MiB with / without | p99 ms with / without |\n\
         |---|---|---|---|---|---|---|\n",
    );
    for (row, peer, with, without) in pairs {
        let Some(cut) = with.trickle_cut else {
            continue;
        };
        let p99 = (with.received.p99_ms, without.received.p99_ms);
        let when = match cut.streams {
            0 => "—".to_owned(),
            _ => format!("{}–{}", number(cut.first_secs), number(cut.last_secs)),
        };
        let _ = writeln!(
            out,
            "| {peer} | {} | {} | {} | {when} | {} / {} | {} / {} (**{}×**) |",
            row.scenario,
            with.stalled_held,
            cut.streams,
            number(with.rss_end_kib as f64 / 1024.0),
            number(without.rss_end_kib as f64 / 1024.0),
            number(p99.0),
            number(p99.1),
            number(p99.0 / p99.1),
        );
    }
    out
}
