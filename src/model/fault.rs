//! The fault panel's catalogue (`/faults`): the pitfalls of live push, each replayed against a
//! live widget, the wrong way beside the right way.
//!
//! One list for both halves: the page draws a card per [`Fault`] and a widget per [`Way`]; the
//! server (`server::demo::faults`) routes each way's events URL through the real mechanism — a real
//! compression layer, a real buffering proxy, a real idle timeout, a real 503 or 204. The slugs
//! are part of the URLs (`/api/faults/<fault>/<way>/<topic>/events`), so they are written once,
//! here.

use super::{Snapshot, TopicName};

/// One pitfall and how it is shown. Serialisable: a fault card is an island, and its fault
/// travels in the island's props.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Fault {
    /// A compressor on the stream: events are held until its buffer fills.
    Compressed,
    /// A proxy that buffers responses: events arrive in clumps.
    Buffered,
    /// A proxy's idle timeout shorter than the keep-alive: a quiet stream is cut.
    IdleTimeout,
    /// A gateway answering 503 while an instance restarts: `EventSource` gives up for good.
    Gateway,
    /// A server that wants the browser to stop: 204 is honoured, a 503 is retried for ever.
    Stop,
    /// A restart with an in-memory log: the browser's ids are from another run.
    Restart,
    /// Streams dropped mid-flight: the browser resumes from its last id.
    Dropped,
    /// A reader slower than the topic: cut, then resumed from its last id.
    SlowConsumer,
    /// An instance of the cluster frozen, killed or restarted (`scripts/cluster` only): its
    /// widgets move to the survivor.
    Cluster,
}

/// One way of serving a fault's stream: the wrong one, the right one, or a third worth seeing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Way {
    /// The URL segment (`wrong`, `right`, `native`), or `None` for the topic's own URL.
    pub slug: Option<&'static str>,
    /// What the widget's caption says.
    pub label: &'static str,
    /// Whether the widget reopens its stream itself when the browser gives up (the dashboard's
    /// widgets always do; a plain `EventSource` does not).
    pub reopen: bool,
}

/// The widget's caption under each way, and which side it is on.
const fn way(slug: &'static str, label: &'static str, reopen: bool) -> Way {
    Way {
        slug: Some(slug),
        label,
        reopen,
    }
}

/// The topic's own URL, through no fault layer (the drills act on it).
const PLAIN: Way = Way {
    slug: None,
    label: "the dashboard's own stream",
    reopen: true,
};

const COMPRESSED: [Way; 3] = [
    way("wrong", "gzip, flushed only when a block is full", true),
    way("flushed", "gzip, flushed after every chunk", true),
    way("right", "gzip, but never text/event-stream", true),
];
const BUFFERED: [Way; 2] = [
    way("wrong", "without X-Accel-Buffering: no", true),
    way("right", "with X-Accel-Buffering: no", true),
];
const IDLE_TIMEOUT: [Way; 2] = [
    way("wrong", "keep-alive every 15 s", true),
    way("right", "keep-alive every 1 s", true),
];
const GATEWAY: [Way; 3] = [
    way("wrong", "503, a plain EventSource", false),
    way("right", "503, the widget reopens with backoff", true),
    way("native", "200 + retry: + end, the SSE way", false),
];
const STOP: [Way; 2] = [
    way("wrong", "503: the widget keeps retrying", true),
    way("right", "204 No Content: honoured", true),
];
const CLUSTER_CONTROLS: [(&str, &str); 11] = [
    ("Freeze a", "/api/drills/cluster/freeze/a"),
    ("Resume a", "/api/drills/cluster/resume/a"),
    ("Kill a", "/api/drills/cluster/kill/a"),
    ("Restart a", "/api/drills/cluster/restart/a"),
    ("Freeze b", "/api/drills/cluster/freeze/b"),
    ("Resume b", "/api/drills/cluster/resume/b"),
    ("Kill b", "/api/drills/cluster/kill/b"),
    ("Restart b", "/api/drills/cluster/restart/b"),
    ("Restart Redis", "/api/drills/cluster/restart/redis"),
    ("Kill Postgres", "/api/drills/cluster/kill/postgres"),
    ("Restart Postgres", "/api/drills/cluster/restart/postgres"),
];
const SLOW: [Way; 1] = [way("slow", "a link that drains a chunk every 500 ms", true)];

impl Fault {
    /// Every fault, in the order the page shows them.
    pub const ALL: [Fault; 9] = [
        Fault::Compressed,
        Fault::Buffered,
        Fault::IdleTimeout,
        Fault::Gateway,
        Fault::Stop,
        Fault::Restart,
        Fault::Dropped,
        Fault::SlowConsumer,
        Fault::Cluster,
    ];

    /// The URL segment.
    pub fn slug(self) -> &'static str {
        match self {
            Fault::Compressed => "compressed",
            Fault::Buffered => "buffered",
            Fault::IdleTimeout => "idle-timeout",
            Fault::Gateway => "gateway",
            Fault::Stop => "stop",
            Fault::Restart => "restart",
            Fault::Dropped => "dropped",
            Fault::SlowConsumer => "slow-consumer",
            Fault::Cluster => "cluster",
        }
    }

    /// The card's title.
    pub fn title(self) -> &'static str {
        match self {
            Fault::Compressed => "A compressed event stream",
            Fault::Buffered => "A buffering proxy",
            Fault::IdleTimeout => "An idle timeout shorter than the keep-alive",
            Fault::Gateway => "A 503 from the gateway",
            Fault::Stop => "Telling the browser to stop",
            Fault::Restart => "A restart",
            Fault::Dropped => "Dropped streams",
            Fault::SlowConsumer => "A slow consumer",
            Fault::Cluster => "An instance frozen, killed or restarted",
        }
    }

    /// The topic the card's widgets follow: the busy watchlist, except where a quiet stream is
    /// the point (its own events never arrive there; see `server::demo::faults`).
    pub fn topic(self) -> TopicName {
        match self {
            Fault::IdleTimeout => TopicName::Indices,
            _ => TopicName::Watchlist,
        }
    }

    /// The ways shown side by side, wrong first.
    pub fn ways(self) -> &'static [Way] {
        match self {
            Fault::Compressed => &COMPRESSED,
            Fault::Buffered => &BUFFERED,
            Fault::IdleTimeout => &IDLE_TIMEOUT,
            Fault::Gateway => &GATEWAY,
            Fault::Stop => &STOP,
            Fault::Restart | Fault::Dropped | Fault::Cluster => &[PLAIN],
            Fault::SlowConsumer => &SLOW,
        }
    }

    /// The button that makes the fault happen, and the URL it POSTs to (`None`: the fault is
    /// there from the start).
    pub fn trigger(self) -> Option<(&'static str, &'static str)> {
        match self {
            Fault::Gateway => Some((
                "Restart the instance behind the gateway",
                "/api/faults/gateway/trigger",
            )),
            Fault::Stop => Some(("Tell the browsers to stop", "/api/faults/stop/trigger")),
            Fault::Restart => Some(("Restart (a new epoch)", "/api/drills/restart")),
            Fault::Dropped => Some(("Drop every stream", "/api/drills/drop-streams")),
            Fault::Compressed
            | Fault::Buffered
            | Fault::IdleTimeout
            | Fault::SlowConsumer
            | Fault::Cluster => None,
        }
    }

    /// More buttons than one: the cluster card's controls (label, URL), passed on to
    /// `scripts/cluster` (`server::demo::cluster_control`). Shown only in a cluster.
    pub fn controls(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Fault::Cluster => &CLUSTER_CONTROLS,
            _ => &[],
        }
    }

    /// The events URL of one way (the topic's own URL for a way with no slug).
    pub fn events_url(self, way: &Way) -> String {
        let topic = self.topic();
        match way.slug {
            Some(slug) => format!("/api/faults/{}/{slug}/{topic}/events", self.slug()),
            None => topic.events_url(),
        }
    }
}

/// What the page needs from the server: whether faults are on (`TICKERPLEX_DRILLS`), and the
/// snapshots the cards' widgets start from.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct PanelSetup {
    pub enabled: bool,
    /// Whether this instance runs in `scripts/cluster` (`TICKERPLEX_CLUSTER_CONTROL`): the
    /// cluster card is shown only there.
    pub cluster: bool,
    pub snapshots: Vec<Snapshot>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every way of every fault has its own URL, so no two widgets of the panel share a route.
    #[test]
    fn every_way_has_its_own_url() {
        let mut urls: Vec<String> = Fault::ALL
            .iter()
            .flat_map(|fault| fault.ways().iter().map(|way| fault.events_url(way)))
            .collect();
        let all = urls.len();
        urls.sort();
        urls.dedup();
        // The three cards on the topic's own URL (restart, dropped, cluster) share it, by design.
        assert_eq!(urls.len(), all - 2);
        assert!(urls.contains(&"/api/faults/gateway/native/watchlist/events".to_owned()));
    }
}
