//! Widgets: self-contained views of one topic each.
//!
//! A [`Widget`] knows only its topic. On the server it renders the topic's current members from
//! a snapshot (so the HTML is complete without JavaScript). In the browser it opens its OWN
//! `EventSource` ([`subscription`]) from the id that snapshot was taken at — so it neither misses
//! nor repeats an event between the server's render and the stream — and applies `add`,
//! `update`, `remove` and `reset` to its rows. Nothing is shared between widgets: putting one
//! more on the page is one more stream, which HTTP/2 multiplexes onto the same connection.

mod order_ticket;
pub mod rows;
mod streams_strip;
#[cfg(feature = "hydrate")]
mod subscription;

pub use order_ticket::OrderTicket;
pub use streams_strip::StreamsStrip;

use crate::model::{Hello, Snapshot, Start, TopicName};
use leptos::prelude::*;
use rows::{sparkline, Line, Rows};

/// The page's widgets and their snapshots, chosen by the URL: `widgets=watchlist,movers`
/// (default: every topic), and `count=N` repeats that list until there are N widgets.
#[server]
pub async fn dashboard_snapshots(
    widgets: Option<String>,
    count: Option<usize>,
) -> Result<Vec<Snapshot>, ServerFnError> {
    /// Chromium opens at most 256 streams per HTTP/2 connection; stay well below.
    const MAX_WIDGETS: usize = 48;
    let state = crate::server::routes::state_from_context()?;
    let topics: Vec<TopicName> = match widgets.as_deref().filter(|w| !w.trim().is_empty()) {
        None => state.topics.iter().map(|t| t.name().clone()).collect(),
        Some(list) => list
            .split(',')
            .map(|name| {
                TopicName::parse(name.trim()).map_err(|e| ServerFnError::new(e.to_string()))
            })
            .collect::<Result<_, _>>()?,
    };
    let count = count.unwrap_or(topics.len()).clamp(1, MAX_WIDGETS);
    topics
        .iter()
        .cycle()
        .take(count)
        .map(|name| {
            state
                .topics
                .get(name)
                .map(|topic| topic.snapshot())
                .ok_or_else(|| ServerFnError::new(format!("unknown topic {name}")))
        })
        .collect()
}

/// What a widget's header shows about its stream.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WireStatus {
    /// `connecting`, `open`, `reconnecting` or `closed`.
    pub state: &'static str,
    pub last_event_id: String,
    pub hello: Option<Hello>,
    pub reconnects: u32,
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

/// The page's widgets, each removable. Removing one unmounts it, and its `on_cleanup` closes its
/// stream — the server's registry shows one stream fewer on this page's connection.
#[component]
pub fn WidgetGrid(snapshots: Vec<Snapshot>) -> impl IntoView {
    let widgets = RwSignal::new(snapshots.into_iter().enumerate().collect::<Vec<_>>());
    view! {
        <div class="grid" data-testid="widgets">
            <For each=move || widgets.get() key=|(slot, _)| *slot let:widget>
                {
                    let (slot, snapshot) = widget;
                    let close = Callback::new(move |()| widgets.update(|w| w.retain(|(s, _)| *s != slot)));
                    view! { <Widget topic=snapshot.topic.clone() snapshot on_close=close /> }
                }
            </For>
        </div>
    }
}

/// One widget: a table of the topic's members and its wire status.
#[component]
pub fn Widget(topic: TopicName, snapshot: Snapshot, on_close: Callback<()>) -> impl IntoView {
    let rows = RwSignal::new(Rows::new(snapshot.members.clone()));
    let status = RwSignal::new(WireStatus {
        state: "connecting",
        last_event_id: snapshot.id.to_string(),
        ..WireStatus::default()
    });

    #[cfg(feature = "hydrate")]
    subscription::subscribe(topic.clone(), snapshot.id, rows, status);
    #[cfg(not(feature = "hydrate"))]
    let _ = snapshot.id; // on the server the rows are the snapshot; nothing to subscribe to

    let title = topic.to_string();
    let data_topic = title.clone();
    view! {
        <section class="widget" data-topic=data_topic data-state=move || status.with(|s| s.state)>
            <header>
                <div>
                    <h2>{title.clone()}</h2>
                    <WireLine status />
                </div>
                <button class="close" aria-label=format!("Remove the {title} widget") on:click=move |_| on_close.run(())>
                    "×"
                </button>
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
                    // Keyed by symbol AND price: a moved price re-creates its row, which replays
                    // the row's CSS flash animation — no timer to manage.
                    <For
                        each=move || rows.with(|rows| rows.lines().to_vec())
                        key=|line| (line.quote.symbol.clone(), line.quote.price.to_bits())
                        let:line
                    >
                        <Row line />
                    </For>
                </tbody>
            </table>
        </section>
    }
}

#[component]
fn Row(line: Line) -> impl IntoView {
    let Line { quote, recent } = line;
    let direction = if quote.change > 0.0 {
        "up"
    } else if quote.change < 0.0 {
        "down"
    } else {
        "flat"
    };
    // Colour is never the only signal: the arrow says it too.
    let arrow = match direction {
        "up" => "▲",
        "down" => "▼",
        _ => "■",
    };
    view! {
        <tr class=format!("row {direction}") data-symbol=quote.symbol.to_string()>
            <td class="symbol">{quote.symbol.to_string()}</td>
            <td class="name">{quote.name}</td>
            <td class="spark">
                // Drawn in a 100 × 20 box, stretched to the column by CSS.
                <svg viewBox="0 0 100 20" preserveAspectRatio="none" aria-hidden="true">
                    <polyline points=sparkline(&recent, 100.0, 20.0) />
                </svg>
            </td>
            <td class="num price">{format!("{:.2}", quote.price)}</td>
            <td class="num change">{format!("{arrow} {:+.2}", quote.change)}</td>
            <td class="num pct">{format!("{:+.2}%", quote.change_pct)}</td>
        </tr>
    }
}

#[component]
fn WireLine(status: RwSignal<WireStatus>) -> impl IntoView {
    view! {
        <p class="wire-line">
            <span class="ready" data-testid="ready-state">{move || status.with(|s| s.state)}</span>
            " · id "
            <code data-testid="last-event-id">{move || status.with(|s| s.last_event_id.clone())}</code>
            {move || status.with(|s| s.hello.as_ref().map(|h| format!(" · connection {} over {}", h.connection.get(), h.protocol)))}
            {move || status.with(|s| (s.reconnects > 0).then(|| {
                let plural = if s.reconnects == 1 { "" } else { "s" };
                view! { " · " <span data-testid="reconnects">{format!("{} reconnect{plural}", s.reconnects)}</span> }
            }))}
            {move || status.with(|s| s.badge().map(|(kind, text)| {
                view! { <span class=format!("badge {kind}") data-testid="badge">{text}</span> }
            }))}
        </p>
    }
}
