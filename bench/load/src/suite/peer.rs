//! The servers a scenario can run against: tickerplex alone, on Redis, behind either edge; the
//! naive baseline; and Nchan.

use crate::edge;
use crate::servers::Ports;

/// Where each peer listens (loopback): tickerplex, the naive baseline and Nchan each on ports of
/// their own, so a left-over process of one never answers for another.
pub const TICKERPLEX_PORTS: Ports = Ports {
    h2: 4430,
    h1: 4431,
    publish: 0,
};
/// The naive baseline offers HTTP/1.1 on its one port too (ALPN), as an edge does.
pub(super) const NAIVE_PORTS: Ports = Ports {
    h2: 4450,
    h1: 0,
    publish: 0,
};
pub(super) const NCHAN_PORTS: Ports = Ports {
    h2: 4440,
    h1: 4441,
    publish: 4480,
};

/// Which server (or servers) a scenario measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Peer {
    /// tickerplex with its in-memory log (the default backend).
    Tickerplex,
    /// The same, run from another binary (`--baseline`): an older build measured in the same
    /// run as the new one, so a before/after claim is not a comparison across runs, which swing
    /// by tens of percent on a shared machine.
    TickerplexBaseline,
    /// The same, not pinned: the kernel schedules it over both cores and tokio starts one
    /// worker per core (two here) — while the load generator keeps running on core 1.
    TickerplexTwoWorkers,
    /// tickerplex with the shared log on a redis-server of its own (`TICKERPLEX_REDIS_URL`).
    TickerplexRedis,
    /// nginx from deploy/ in front of two tickerplex instances on one Redis.
    TickerplexNginx,
    /// HAProxy from deploy/ in front of two tickerplex instances on one Redis.
    TickerplexHaproxy,
    /// The naive baseline: axum's `Sse` over a broadcast channel (src/bin/naive.rs).
    Naive,
    Nchan,
}

impl Peer {
    /// The edge in front of the instances, for the edge peers.
    pub fn edge(self) -> Option<edge::Kind> {
        match self {
            Peer::TickerplexNginx => Some(edge::Kind::Nginx),
            Peer::TickerplexHaproxy => Some(edge::Kind::Haproxy),
            _ => None,
        }
    }
}

impl std::fmt::Display for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Peer::Tickerplex => "tickerplex",
            Peer::TickerplexBaseline => "tickerplex (baseline)",
            Peer::TickerplexTwoWorkers => "tickerplex, 2 workers",
            Peer::TickerplexRedis => "tickerplex+Redis",
            Peer::TickerplexNginx => "nginx→2×tickerplex",
            Peer::TickerplexHaproxy => "HAProxy→2×tickerplex",
            Peer::Naive => "naive (axum Sse)",
            Peer::Nchan => "Nchan",
        })
    }
}
