//! Widgets: self-contained views of one topic each.
//!
//! A [`Widget`] knows only its topic. On the server it renders the topic's current members from
//! a snapshot (so the HTML is complete without JavaScript). In the browser it opens its OWN
//! `EventSource` (`subscription`) from the id that snapshot was taken at — so it neither misses
//! nor repeats an event between the server's render and the stream — and applies `add`,
//! `update`, `remove` and `reset` to its rows. Nothing is shared between widgets: putting one
//! more on the page is one more stream, which HTTP/2 multiplexes onto the same connection.

mod connection;
mod faults;
pub mod islands;
mod ops;
mod order_client;
mod order_ticket;
mod portfolio;
pub mod rows;
mod streams_strip;
#[cfg(feature = "hydrate")]
mod subscription;
mod wire_status;

pub use connection::{page_origin, which_connection, PageConnection, Ping};
pub use faults::{faults_setup, FaultsPanel, PanelSetup};
pub use islands::PageContext;
pub use ops::OpsPanel;
pub use order_ticket::{OrderTicket, PlaceOrder};
pub use portfolio::{NewAccount, Portfolio};
pub use streams_strip::{InstanceStreams, StreamsStrip};
pub use wire_status::{PageStats, ReadyState, ShareRole, WireStatus};

use crate::model::{Snapshot, TopicName};
use leptos::prelude::*;
use rows::{sparkline, Line, Rows};
use wire_status::WireLine;

/// The page's widgets and their snapshots, chosen by the URL: `widgets=watchlist,movers`
/// (default: every topic), and `count=N` repeats that list until there are N widgets. Both
/// arrive as typed; a URL out of bounds gets 400 and the reason (`server::web::dashboard`).
#[server]
pub async fn dashboard_snapshots(
    widgets: Option<String>,
    count: Option<String>,
) -> Result<Vec<Snapshot>, ServerFnError> {
    crate::server::web::functions::dashboard_snapshots(widgets, count).await
}

/// The two lines a site owner pastes to show `topic` on their page (public/embed.js).
fn embed_snippet(origin: &str, topic: &TopicName) -> String {
    format!(
        "<div data-tickerplex=\"{topic}\"></div>\n<script src=\"{origin}/embed.js\" async></script>"
    )
}

/// The page's widgets, each its own island. Rendered on the server only: the grid is static
/// HTML, and what moves is inside each [`WidgetIsland`].
#[component]
pub fn WidgetGrid(
    snapshots: Vec<Snapshot>,
    /// The page's origin, for each widget's embed snippet (none when it could not be read).
    #[prop(optional_no_strip)]
    embed_origin: Option<String>,
) -> impl IntoView {
    let widgets = snapshots
        .into_iter()
        .map(|snapshot| {
            let embed = embed_origin
                .as_ref()
                .map(|origin| embed_snippet(origin, &snapshot.topic));
            view! { <WidgetIsland snapshot embed closable=true /> }
        })
        .collect_view();
    view! { <div class="grid" data-testid="widgets">{widgets}</div> }
}

/// One topic's widget as an island: it hydrates alone from `snapshot` (the members and the id
/// the server rendered them at) and opens its own stream from that id. Its × (when
/// `closable`) hides this island's widget, and unmounting closes its stream — the server's
/// registry shows one stream fewer on this page's connection.
#[island]
pub fn WidgetIsland(snapshot: Snapshot, embed: Option<String>, closable: bool) -> impl IntoView {
    islands::ready();
    let shown = RwSignal::new(true);
    let on_close = closable.then(|| Callback::new(move |()| shown.set(false)));
    move || {
        shown.get().then(|| {
            let snapshot = snapshot.clone();
            view! { <Widget topic=snapshot.topic.clone() snapshot on_close embed=embed.clone() /> }
        })
    }
}

/// Where a widget's stream comes from when it is not its topic's own URL: the fault panel's
/// ways (`model::Fault`), each served through a different mechanism.
#[derive(Clone, Debug, PartialEq)]
pub struct StreamSource {
    /// The events URL (the widget adds `?last_event_id=`).
    pub url: String,
    /// Whether the widget reopens the stream itself when the browser gives up on it, as the
    /// dashboard's widgets do; off, it behaves as a plain `EventSource`.
    pub reopen: bool,
}

/// One widget: a table of the topic's members and its wire status. Not an island itself: the
/// dashboard's and the embed page's widgets are each a [`WidgetIsland`], the fault panel's
/// live inside their card's island.
#[component]
pub fn Widget(
    topic: TopicName,
    snapshot: Snapshot,
    /// What the × does; no × without it (the embed page).
    on_close: Option<Callback<()>>,
    /// The snippet that puts this widget on another site, shown under an "Embed" toggle.
    #[prop(optional_no_strip)]
    embed: Option<String>,
    /// Another URL than the topic's own (the fault panel).
    #[prop(optional_no_strip)]
    source: Option<StreamSource>,
) -> impl IntoView {
    let rows = Rows::new(snapshot.members.clone());
    let status = RwSignal::new(WireStatus::default());
    // Apart from the status: it changes on every event, the status only on (re)connects.
    let last_id = RwSignal::new(snapshot.id.to_string());
    // The strip's per-instance count (behind an edge, each widget may be served elsewhere).
    InstanceStreams::track(status);

    #[cfg(feature = "hydrate")]
    subscription::subscribe(
        topic.clone(),
        source,
        snapshot.id,
        subscription::Sink::new(rows.clone(), status, last_id),
    );
    #[cfg(not(feature = "hydrate"))]
    let _ = (snapshot.id, source); // on the server the rows are the snapshot; nothing to subscribe to

    let title = topic.to_string();
    let data_topic = title.clone();
    view! {
        <section
            class="widget"
            data-topic=data_topic
            data-state=move || status.with(|s| s.state.as_str())
            data-gaps=move || status.with(|s| s.gaps.to_string())
            data-rejected=move || status.with(|s| s.rejected.to_string())
            data-share=move || status.with(|s| s.shared.map_or("none", ShareRole::as_str))
        >
            <header>
                <div>
                    <h2>{title.clone()}</h2>
                    <WireLine status last_id />
                    {embed.map(|snippet| view! {
                        <details class="embed-snippet" data-testid="embed-snippet">
                            <summary>"Embed"</summary>
                            <pre><code>{snippet}</code></pre>
                        </details>
                    })}
                </div>
                {on_close.map(|close| view! {
                    <button class="close" aria-label=format!("Remove the {title} widget") on:click=move |_| close.run(())>
                        "×"
                    </button>
                })}
            </header>
            <table>
                <thead>
                    <tr>
                        <th class="symbol">"Symbol"</th>
                        <th class="name">"Name"</th>
                        <th class="spark">"Trend"</th>
                        <th class="num price">"Price"</th>
                        <th class="num change">"Change"</th>
                        <th class="num pct">"%"</th>
                    </tr>
                </thead>
                <tbody>
                    // One row per symbol, created once; each row follows its own line's signal,
                    // so an update re-renders that row alone (see `rows`).
                    <For each={
                        let rows = rows.clone();
                        move || rows.symbols()
                    } key=|symbol| symbol.clone() let:symbol>
                        {rows.line(&symbol).map(|line| view! { <Row line /> })}
                    </For>
                </tbody>
            </table>
        </section>
    }
    .into_any() // type-erased: keeps the page's view type within the recursion limit
}

/// One member's row. Symbol and name are fixed; the numbers, colour and sparkline follow `line`.
#[component]
fn Row(line: ArcRwSignal<Line>) -> impl IntoView {
    let line: Signal<Line> = line.into();
    let (symbol, name) =
        line.with_untracked(|l| (l.quote.symbol.to_string(), l.quote.name.clone()));
    let number = move |show: fn(&Line) -> String| move || line.with(show);
    // Up, down or flat: a class for the colour and an arrow, since colour is never the only
    // signal. The flash animation is named by the update count's parity, so each update
    // switches animations and the browser replays it on the same element.
    let class = move || {
        line.with(|l| {
            let direction = direction(l.quote.change).0;
            let flash = if l.updates == 0 {
                ""
            } else if l.updates % 2 == 0 {
                " flash-a"
            } else {
                " flash-b"
            };
            format!("row {direction}{flash}")
        })
    };
    let data_symbol = symbol.clone();
    view! {
        <tr class=class data-symbol=data_symbol>
            <td class="symbol">{symbol}</td>
            <td class="name">{name}</td>
            <td class="spark">
                // Drawn in a 100 × 20 box, stretched to the column by CSS.
                <svg viewBox="0 0 100 20" preserveAspectRatio="none" aria-hidden="true">
                    <polyline points=number(|l| sparkline(&l.recent, 100.0, 20.0)) />
                </svg>
            </td>
            <td class="num price">{number(|l| format!("{:.2}", l.quote.price))}</td>
            <td class="num change">
                {number(|l| format!("{} {:+.2}", direction(l.quote.change).1, l.quote.change))}
            </td>
            <td class="num pct">{number(|l| format!("{:+.2}%", l.quote.change_pct))}</td>
        </tr>
    }
}

/// The class and the arrow for a change.
fn direction(change: f64) -> (&'static str, &'static str) {
    if change > 0.0 {
        ("up", "▲")
    } else if change < 0.0 {
        ("down", "▼")
    } else {
        ("flat", "■")
    }
}
