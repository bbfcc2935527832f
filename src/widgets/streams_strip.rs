//! The page-level strip: "8 streams on 1 connection", as the server's registry counts them.
//!
//! It asks once a second through a server function, which (over HTTP/2) travels on the same
//! connection as the streams it counts. The first answer comes after hydration; the server
//! renders the placeholder, so the hydrated page starts from the same HTML.
//!
//! Behind an edge the registry that answers is ONE instance's, and what it counts are the
//! edge's connections to it, not the browser's. So in a cluster the strip adds what only the
//! page knows: how many of its streams each instance serves, from each widget's `hello`
//! ([`InstanceStreams`]).

use super::wire_status::{PageStats, WireStatus};
use crate::model::Stats;
use leptos::prelude::*;
use std::collections::BTreeMap;
use std::time::Duration;

/// How often the strip refreshes.
const REFRESH: Duration = Duration::from_secs(1);

#[server]
pub async fn live_stats() -> Result<Stats, ServerFnError> {
    crate::server::web::functions::live_stats().await
}

/// This page's open streams per serving instance, as the widgets' `hello` events name them.
#[derive(Clone, Copy)]
pub struct InstanceStreams(RwSignal<BTreeMap<String, usize>>);

impl InstanceStreams {
    /// Makes the count available to the page's widgets and its strip.
    pub fn provide() {
        provide_context(InstanceStreams(RwSignal::new(BTreeMap::new())));
    }

    /// Counts the widget whose wire status is `status` under the instance its latest `hello`
    /// names, until the widget unmounts. Effects run in the browser only.
    pub fn track(status: RwSignal<WireStatus>) {
        let Some(InstanceStreams(counts)) = use_context::<InstanceStreams>() else {
            return;
        };
        let change = move |name: &str, by: isize| {
            counts.update(|counts| {
                let count = counts.entry(name.to_owned()).or_default();
                *count = count.saturating_add_signed(by);
                if *count == 0 {
                    counts.remove(name);
                }
            })
        };
        let counted = StoredValue::new(None::<String>);
        Effect::new(move |_| {
            let now = status.with(|s| s.hello.as_ref().map(|h| h.instance.clone()));
            if now != counted.get_value() {
                if let Some(old) = counted.get_value() {
                    change(&old, -1);
                }
                if let Some(new) = &now {
                    change(new, 1);
                }
                counted.set_value(now);
            }
        });
        on_cleanup(move || {
            if let Some(old) = counted.get_value() {
                change(&old, -1);
            }
        });
    }
}

/// An island: it asks on its own; it reads and writes what the widgets share through
/// [`super::PageContext`], its parent island.
#[island]
pub fn StreamsStrip() -> impl IntoView {
    super::islands::ready();
    let by_instance = use_context::<InstanceStreams>();
    let stats = Action::new(|_: &()| live_stats());
    // Every answer, for the widgets' headers too.
    if let Some(PageStats(shared)) = use_context::<PageStats>() {
        Effect::new(move |_| {
            if let Some(Ok(stats)) = stats.value().get() {
                shared.set(Some(stats));
            }
        });
    }
    // Effects run only in the browser: start polling once hydrated, stop when unmounted. The
    // first question goes one interval in, once the widgets' streams have opened: asked at
    // once it would count none of them (and on a starved HTTP/1.1 page never be corrected).
    // While the tab is hidden its streams are closed (`subscription::visibility`): the strip
    // says so, and asks nothing either.
    let hidden = RwSignal::new(false);
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        follow_visibility(hidden);
        if let Ok(handle) = set_interval_with_handle(
            move || {
                // One question at a time: over a starved HTTP/1.1 page the last one may still
                // be waiting for a connection, and piling more behind it helps nobody.
                if !stats.pending().get_untracked() && !hidden.get_untracked() {
                    stats.dispatch(());
                }
            },
            REFRESH,
        ) {
            on_cleanup(move || handle.clear());
        }
    });
    view! {
        <p class="wire strip" data-testid="streams-strip" data-paused=move || hidden.get().to_string()>
            {move || match stats.value().get() {
                _ if hidden.get() => {
                    "paused: this tab is hidden, so its streams are closed; they resume from their last ids when it is shown".to_owned()
                }
                Some(Ok(stats)) => {
                    let by_instance = by_instance.map(|InstanceStreams(c)| c.get()).unwrap_or_default();
                    summary(&stats) + &per_instance(&stats, &by_instance)
                }
                Some(Err(error)) => format!("Could not count streams: {error}"),
                None => "Counting streams…".to_owned(),
            }}
        </p>
    }
}

/// Keeps `hidden` equal to the page's visibility until the strip unmounts.
#[cfg(feature = "hydrate")]
fn follow_visibility(hidden: RwSignal<bool>) {
    use super::subscription::visibility;
    use wasm_bindgen::prelude::*;
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let listener = Closure::<dyn FnMut()>::new(move || hidden.set(visibility::hidden()));
    let _ = document
        .add_event_listener_with_callback("visibilitychange", listener.as_ref().unchecked_ref());
    let listener = send_wrapper::SendWrapper::new(listener);
    on_cleanup(move || {
        let listener = listener.take();
        if let Some(document) = web_sys::window().and_then(|w| w.document()) {
            let _ = document.remove_event_listener_with_callback(
                "visibilitychange",
                listener.as_ref().unchecked_ref(),
            );
        }
    });
}

/// In a cluster: which instance counted, and this page's streams per instance
/// (" · counted by a · this page's streams: a 4, b 4"); nothing for a lone in-memory server.
fn per_instance(stats: &Stats, by_instance: &BTreeMap<String, usize>) -> String {
    if by_instance.len() < 2 && stats.log.backend == "memory" {
        return String::new();
    }
    let streams: Vec<String> = by_instance
        .iter()
        .map(|(name, count)| format!("{name} {count}"))
        .collect();
    format!(
        " · counted by {} · this page's streams: {}",
        stats.instance,
        streams.join(", ")
    )
}

/// "N streams on M connections", counting only connections that carry a stream.
fn summary(stats: &Stats) -> String {
    let (streams, connections) = stats.streams_on_connections();
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    format!(
        "{} on {}",
        plural(streams, "stream"),
        plural(connections, "connection")
    )
}
