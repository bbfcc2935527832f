//! Islands: the page is HTML from the server, and only its widgets come alive in the browser,
//! each on its own.
//!
//! The dashboard is mostly static markup — the masthead, the layout, the headings, the
//! connection line — around a few independent widgets. Leptos's islands mode (feature
//! `islands`) ships exactly that: the router, the pages and the layout render on the server
//! only and are never compiled into the wasm; each `#[island]` component is exported from the
//! wasm on its own, and the loader leptos puts in the page (`<HydrationScripts islands=true/>`)
//! finds each `<leptos-island>` element and hydrates it from the props serialised beside it.
//!
//! The islands, one per live thing on the page:
//!
//! | island | file | its own stream |
//! |---|---|---|
//! | [`PageContext`] (holds what the others share) | here | — |
//! | `WidgetIsland`: each topic's table, on the dashboard and the embed page | `widgets/mod.rs` | `/api/topics/<topic>/events` |
//! | `Portfolio` | `widgets/portfolio.rs` | `/api/portfolio/events` |
//! | `OrderTicket`, `Ping` | `widgets/order_ticket.rs`, `widgets/connection.rs` | — (server functions) |
//! | `StreamsStrip` | `widgets/streams_strip.rs` | — (asks `/api/stats` once a second) |
//! | `FaultCard`, one per pitfall | `widgets/faults.rs` | one per way |
//! | `OpsPanel` | `widgets/ops.rs` | `/api/ops/events` |
//!
//! Sharing between islands. Context flows only from a parent island to the islands among its
//! children — never between siblings, since each sibling hydrates under its own root. Two
//! things on the dashboard are shared: the server's latest stats (the strip asks; each widget's
//! header reads how many streams share its connection) and each widget's serving instance (the
//! widgets write; the strip reads). So [`PageContext`] is one small island around the page's
//! live part: it provides both as context, renders nothing of its own, and its children —
//! static HTML with the widget islands inside — stay the server's. Everything else an island
//! needs arrives in its props (a widget's snapshot and the id it was taken at, so the hand-off
//! from the server's render to the stream stays gap-free).
//!
//! "Hydrated" ([`ready`]): each island reports its first effect, and when every island on the
//! page has, the page's `<main>` gets `data-hydrated="true"` — what the tests and the page
//! benchmark wait for.

use super::{InstanceStreams, PageStats};
use leptos::prelude::*;

/// The dashboard's live part: provides what its widget islands share, and renders its
/// children (the server's HTML, islands inside) as they are.
#[island]
pub fn PageContext(children: Children) -> impl IntoView {
    // Each widget counts itself under the instance serving it; the strip reads the counts.
    InstanceStreams::provide();
    // The strip's latest stats, which each widget's header reads its connection's count from.
    PageStats::provide();
    ready();
    children()
}

/// Called once by every island: after its first effect (effects run in the browser only), it
/// counts as hydrated; the last one marks the page.
pub fn ready() {
    Effect::new(|_| {
        #[cfg(feature = "hydrate")]
        browser::one_more();
    });
}

/// Marks a page that has no islands at all (`/faults` with the drills off) as hydrated, once
/// the wasm has loaded: nothing on it will ever report.
#[cfg(feature = "hydrate")]
pub fn when_none() {
    if browser::islands() == 0 {
        browser::mark();
    }
}

#[cfg(feature = "hydrate")]
mod browser {
    use std::cell::Cell;

    thread_local! {
        /// How many islands have run their first effect. The wasm is single-threaded.
        static READY: Cell<u32> = const { Cell::new(0) };
    }

    pub(super) fn one_more() {
        let ready = READY.with(|ready| {
            ready.set(ready.get() + 1);
            ready.get()
        });
        if ready >= islands() {
            mark();
        }
    }

    /// The islands in the page, nested ones included.
    pub(super) fn islands() -> u32 {
        web_sys::window()
            .and_then(|window| window.document())
            .and_then(|document| document.query_selector_all("leptos-island").ok())
            .map_or(0, |islands| islands.length())
    }

    /// `<main data-hydrated="true">`.
    pub(super) fn mark() {
        let main = web_sys::window()
            .and_then(|window| window.document())
            .and_then(|document| document.query_selector("main").ok().flatten());
        if let Some(main) = main {
            let _ = main.set_attribute("data-hydrated", "true");
        }
    }
}
