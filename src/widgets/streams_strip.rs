//! The page-level strip: "8 streams on 1 connection", as the server's registry counts them.
//!
//! It asks once a second through a server function, which (over HTTP/2) travels on the same
//! connection as the streams it counts. The first answer comes after hydration; the server
//! renders the placeholder, so the hydrated page starts from the same HTML.

use crate::model::Stats;
use leptos::prelude::*;
use std::time::Duration;

/// How often the strip refreshes.
const REFRESH: Duration = Duration::from_secs(1);

#[server]
pub async fn live_stats() -> Result<Stats, ServerFnError> {
    let state = crate::server::state::state_from_context()?;
    Ok(state.stats())
}

#[component]
pub fn StreamsStrip() -> impl IntoView {
    let stats = Action::new(|_: &()| live_stats());
    // Effects run only in the browser: start polling once hydrated, stop when unmounted. The
    // first question goes one interval in, once the widgets' streams have opened: asked at
    // once it would count none of them (and on a starved HTTP/1.1 page never be corrected).
    Effect::new(move |_| {
        if let Ok(handle) = set_interval_with_handle(
            move || {
                // One question at a time: over a starved HTTP/1.1 page the last one may still
                // be waiting for a connection, and piling more behind it helps nobody.
                if !stats.pending().get_untracked() {
                    stats.dispatch(());
                }
            },
            REFRESH,
        ) {
            on_cleanup(move || handle.clear());
        }
    });
    view! {
        <p class="wire strip" data-testid="streams-strip">
            {move || match stats.value().get() {
                Some(Ok(stats)) => summary(&stats),
                Some(Err(error)) => format!("Could not count streams: {error}"),
                None => "Counting streams…".to_owned(),
            }}
        </p>
    }
}

/// "N streams on M connections", counting only connections that carry a stream.
fn summary(stats: &Stats) -> String {
    let carrying: Vec<usize> = stats
        .connections
        .iter()
        .map(|c| c.streams)
        .filter(|&n| n > 0)
        .collect();
    let streams: usize = carrying.iter().sum();
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    format!(
        "{} on {}",
        plural(streams, "stream"),
        plural(carrying.len(), "connection")
    )
}
