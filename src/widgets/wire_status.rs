//! A widget's wire X-ray: the state of its stream, which connection carries it, how it started
//! (fresh, resumed, reset), reconnects, gaps and share-tabs role — the header line that makes
//! the protocol visible on the page.
//!
//! Its own file so the subscription code (which writes these values) and the widget (which
//! shows them) both depend on it and not on each other.

use crate::model::{Hello, Start, Stats};
use leptos::prelude::*;

/// What a widget's header shows about its stream.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WireStatus {
    pub state: ReadyState,
    pub hello: Option<Hello>,
    pub reconnects: u32,
    /// Events that skipped ahead of the last one applied: always 0 unless something is broken.
    pub gaps: u32,
    /// Events that could not be read (bad JSON, a bad id), skipped: 0 unless the server or
    /// something between is broken. The latest one's reason is shown beside the count.
    pub rejected: u32,
    pub rejection: Option<String>,
    /// With `?share=tabs`: how this tab takes part.
    pub shared: Option<ShareRole>,
}

/// The stream's state as the widget shows it: the `EventSource`'s `readyState`, with its
/// `CONNECTING` split in two — before the first `hello` (`connecting`) and after a drop, when
/// the browser retries by itself (`reconnecting`).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadyState {
    #[default]
    Connecting,
    Open,
    Reconnecting,
    /// The browser gave up (a non-200 answer, or a network error it will not retry); the
    /// widget will reopen the stream itself after a backoff.
    Closed,
    /// Nothing arrived for 1.5–2 heartbeat intervals (a frozen server, a half-open
    /// connection): the widget closes the stream and reopens it from its last id at once.
    Silent,
    /// The tab is hidden: the stream is closed until it is shown again (`subscription::visibility`).
    Paused,
    /// The tab is shown again: the stream is being reopened from its last id.
    Waking,
    /// The server said "stop reconnecting" (`204 No Content`) or refused the URL for good (a
    /// 4xx): the widget honours it and does not retry until the page is reloaded.
    Stopped,
}

impl ReadyState {
    /// The word in the header and in the `data-state` attribute the tests select on.
    pub fn as_str(self) -> &'static str {
        match self {
            ReadyState::Connecting => "connecting",
            ReadyState::Open => "open",
            ReadyState::Reconnecting => "reconnecting",
            ReadyState::Closed => "closed",
            ReadyState::Silent => "silent",
            ReadyState::Paused => "paused",
            ReadyState::Waking => "waking",
            ReadyState::Stopped => "stopped",
        }
    }
}

/// How a tab takes part in `?share=tabs`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ShareRole {
    /// This tab holds the streams and relays them.
    Leader,
    /// This tab is relayed by the leader.
    Follower,
    /// Sharing was asked for but this browser lacks an API it needs: the widget has its own
    /// stream, and says so.
    Unavailable,
}

impl ShareRole {
    /// The `data-share` attribute's value.
    pub fn as_str(self) -> &'static str {
        match self {
            ShareRole::Leader => "leader",
            ShareRole::Follower => "follower",
            ShareRole::Unavailable => "unavailable",
        }
    }

    /// The header's words for it.
    fn describe(self) -> &'static str {
        match self {
            ShareRole::Leader => " · shared: this tab holds the streams",
            ShareRole::Follower => " · shared: relayed by the leader tab",
            ShareRole::Unavailable => " · sharing unavailable in this browser: own stream",
        }
    }
}

impl WireStatus {
    /// `("resumed", "resumed k")` or `("reset", "reset: why")`, from the latest (re)connection's
    /// `hello`: the class and text of the header's badge.
    fn badge(&self) -> Option<(&'static str, String)> {
        match self.hello.as_ref()?.start {
            Start::Fresh => None,
            Start::Resumed { replayed } => Some(("resumed", format!("resumed {replayed}"))),
            Start::Reset { reason } => Some(("reset", format!("reset: {reason}"))),
        }
    }
}

/// The latest `/api/stats` the page's streams strip received, for each widget's header: how many streams share
/// its connection (`wire_status::WireLine`). Provided by the dashboard; absent on embed pages.
#[derive(Clone, Copy)]
pub struct PageStats(pub RwSignal<Option<Stats>>);

impl PageStats {
    pub fn provide() {
        provide_context(PageStats(RwSignal::new(None)));
    }
}

/// How many streams share the connection `hello` came on, as the server's registry counts
/// them in the page's latest stats. `None` when that count would not describe the browser's
/// connection: behind an edge (the server sees the edge's connections), or when the stats came
/// from another instance.
fn sharing(hello: &Hello, stats: &Stats) -> Option<usize> {
    if hello.proxied || stats.instance != hello.instance {
        return None;
    }
    let connection = stats
        .connections
        .iter()
        .find(|c| c.id == hello.connection)?;
    Some(connection.streams)
}

/// The header line under a widget's title.
#[component]
pub fn WireLine(status: RwSignal<WireStatus>, last_id: RwSignal<String>) -> impl IntoView {
    let stats = use_context::<PageStats>();
    let shared_by = move || {
        let PageStats(stats) = stats?;
        status.with(|s| stats.with(|stats| sharing(s.hello.as_ref()?, stats.as_ref()?)))
    };
    view! {
        <p class="wire-line">
            <span class="ready" data-testid="ready-state">{move || status.with(|s| s.state.as_str())}</span>
            " · id "
            <code data-testid="last-event-id">{move || last_id.get()}</code>
            {move || status.with(|s| s.hello.as_ref().map(|h| view! {
                {format!(" · connection {} over {}", h.connection.get(), h.protocol)}
                {move || shared_by().map(|n| view! {
                    " (" <span data-testid="streams-on-connection">{n}</span>
                    {if n == 1 { " stream)" } else { " streams)" }}
                })}
                " on "
                <span class="instance" data-testid="instance">{h.instance.clone()}</span>
            }))}
            {move || status.with(|s| (s.reconnects > 0).then(|| {
                let plural = if s.reconnects == 1 { "" } else { "s" };
                view! { " · " <span data-testid="reconnects">{format!("{} reconnect{plural}", s.reconnects)}</span> }
            }))}
            {move || status.with(|s| s.shared.map(ShareRole::describe))}
            {move || status.with(|s| (s.gaps > 0).then(|| view! { " · " <strong class="gap">{format!("{} gaps!", s.gaps)}</strong> }))}
            {move || status.with(|s| s.rejection.clone().map(|reason| view! {
                " · " <strong class="gap" data-testid="rejected">{format!("{} unreadable, skipped ({reason})", s.rejected)}</strong>
            }))}
            {move || status.with(|s| s.badge().map(|(kind, text)| {
                view! { <span class=format!("badge {kind}") data-testid="badge">{text}</span> }
            }))}
        </p>
    }
}
