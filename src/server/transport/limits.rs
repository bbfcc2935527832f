//! Limits on what one client — and all of them together — may hold open.
//!
//! What it owns: the two caps on open event streams (`TICKERPLEX_MAX_STREAMS_PER_CLIENT`,
//! `TICKERPLEX_MAX_STREAMS`) and who "one client" is. A client is the peer's address — or,
//! when the peer is a proxy this server trusts (`TICKERPLEX_TRUSTED_PROXIES`, e.g. the edge of
//! deploy/), the address that proxy says it forwarded (the last one in `X-Forwarded-For`).
//! Without that list, `X-Forwarded-For` is ignored: anyone can send the header, and a client
//! must not be able to pick whose quota it spends. Counting is the [registry](crate::server::transport::registry)'s;
//! the answer at a cap is the [stream handler](crate::server::stream)'s.
//!
//! Why caps at all: every stream costs memory (a receiver slot, an h2 stream, buffers) and a
//! share of every fan-out. One careless page opening streams in a loop, or one hostile client,
//! must meet a wall long before the machine does — and everyone else must not notice.

use std::net::{IpAddr, SocketAddr};

/// Streams one client may hold open: four dashboard tabs of 240 widgets each, a little more.
pub const DEFAULT_PER_CLIENT: usize = 1024;
/// Streams the whole process may hold open: the 200 000 the benchmark holds on one core, with
/// room to spare. Past it, every new stream is refused until others close.
pub const DEFAULT_TOTAL: usize = 250_000;

/// The caps and the proxies trusted to name the client.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Streams one client address may hold ([`DEFAULT_PER_CLIENT`]): one client cannot take the
    /// whole box's share.
    pub per_client: usize,
    /// Streams the process may hold ([`DEFAULT_TOTAL`]): past it, memory, not clients, decides.
    pub total: usize,
    /// The peers whose `X-Forwarded-For` is believed (the edge's addresses): anyone else could name
    /// any client and dodge the per-client cap.
    pub trusted_proxies: Vec<IpAddr>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            per_client: DEFAULT_PER_CLIENT,
            total: DEFAULT_TOTAL,
            trusted_proxies: Vec::new(),
        }
    }
}

impl Limits {
    /// Who a request is from: `forwarded_for` (the last `X-Forwarded-For` address) when the
    /// peer is a trusted proxy, the peer itself otherwise.
    pub fn client(&self, peer: SocketAddr, forwarded_for: Option<IpAddr>) -> IpAddr {
        match forwarded_for {
            Some(client) if self.trusted_proxies.contains(&peer.ip()) => client,
            _ => peer.ip(),
        }
    }

    /// Whether the request came through a trusted proxy that named its client.
    pub fn proxied(&self, peer: SocketAddr, forwarded_for: Option<IpAddr>) -> bool {
        forwarded_for.is_some() && self.trusted_proxies.contains(&peer.ip())
    }
}

/// Why a stream was refused: which cap it met.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitReached {
    /// The client holds `per_client` streams already (one client, many tabs or a script).
    PerClient(usize),
    /// The process holds `total` streams already: behind an edge, the retry may land on
    /// another instance. Either way an `EventSource` gets a `refused` event and a jittered
    /// `retry:` (`stream::error`).
    Total(usize),
}

impl std::fmt::Display for LimitReached {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LimitReached::PerClient(cap) => {
                write!(
                    f,
                    "this client already holds {cap} streams, the most one client may"
                )
            }
            LimitReached::Total(cap) => {
                write!(
                    f,
                    "this server already holds {cap} streams, the most it takes"
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `X-Forwarded-For` names the client only when a trusted proxy sent it; from anyone else
    /// it is ignored, so a client cannot spend another's quota.
    #[test]
    fn forwarded_for_counts_only_from_a_trusted_proxy() {
        // The edge on loopback, as `scripts/cluster` runs nginx and HAProxy; the browser behind it
        // on a private address.
        let edge: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        let browser: IpAddr = "10.1.2.3".parse().unwrap();
        let limits = Limits {
            trusted_proxies: vec![edge.ip()],
            ..Limits::default()
        };
        // Through the trusted edge: the browser behind it is the client.
        assert_eq!(limits.client(edge, Some(browser)), browser);
        // The edge's own request (a health check) names nobody: it counts as the edge.
        assert_eq!(limits.client(edge, None), edge.ip());
        // Anyone else who sends the header is not believed: it counts as itself.
        let stranger: SocketAddr = "192.0.2.9:5555".parse().unwrap();
        assert_eq!(limits.client(stranger, Some(browser)), stranger.ip());
        // And with no proxy configured at all, nobody is believed, not even loopback.
        assert_eq!(Limits::default().client(edge, Some(browser)), edge.ip());
    }
}
