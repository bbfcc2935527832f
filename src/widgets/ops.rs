//! The ops panel: the numbers of this instance — and, in a cluster, of every instance — arriving
//! once a second on their own `EventSource` (`/api/ops/events`, see `server::observe::ops`): the page
//! demonstrates what it measures.
//!
//! The last minute of samples is kept per instance; events/s and streams per connection are
//! drawn as sparklines with the same code as the price rows (`rows::sparkline`). An instance
//! whose samples stop (it went away) leaves the panel after [`GONE_AFTER_MS`].

use super::rows::{sparkline, SPARK_POINTS};
use super::wire_status::{WireLine, WireStatus};
use crate::model::{OpsSample, GONE_AFTER_MS};
use leptos::prelude::*;
use std::collections::{BTreeMap, VecDeque};

/// Each instance's recent samples, by name.
type Series = BTreeMap<String, VecDeque<OpsSample>>;

/// The panel: per instance, the latest sample's counters and sparklines of the last
/// [`SPARK_POINTS`].
#[island]
pub fn OpsPanel() -> impl IntoView {
    super::islands::ready();
    let series = RwSignal::new(Series::new());
    let status = RwSignal::new(WireStatus::default());
    let last_id = RwSignal::new(String::new());
    #[cfg(feature = "hydrate")]
    stream::follow(series, status);

    view! {
        <section class="widget ops" data-topic="ops" data-state=move || status.with(|s| s.state.as_str())>
            <header>
                <div>
                    <h2>"ops"</h2>
                    <WireLine status last_id />
                </div>
            </header>
            <For each=move || series.with(|s| s.keys().cloned().collect::<Vec<_>>()) key=|name| name.clone() let:name>
                <InstanceTable series name />
            </For>
        </section>
    }
    .into_any()
}

/// One instance's table.
#[component]
fn InstanceTable(series: RwSignal<Series>, name: String) -> impl IntoView {
    // This instance's series alone: its table re-renders when its own samples change.
    let samples = {
        let name = name.clone();
        Memo::new(move |_| series.with(|s| s.get(&name).cloned().unwrap_or_default()))
    };
    let latest = move |show: fn(&OpsSample) -> String| {
        move || samples.with(|s| s.back().map(show).unwrap_or_else(|| "…".to_owned()))
    };
    let spark = move |value: fn(&OpsSample) -> f64| {
        move || samples.with(|s| sparkline(&s.iter().map(value).collect(), 100.0, 20.0))
    };
    let row = move |label: &'static str,
                    id: &'static str,
                    show: fn(&OpsSample) -> String,
                    value: Option<fn(&OpsSample) -> f64>| {
        view! {
            <tr>
                <th>{label}</th>
                <td class="num" data-testid=id>{latest(show)}</td>
                <td class="spark">
                    {value.map(|value| view! {
                        <svg viewBox="0 0 100 20" preserveAspectRatio="none" aria-hidden="true">
                            <polyline points=spark(value) />
                        </svg>
                    })}
                </td>
            </tr>
        }
    };
    view! {
        <table data-instance=name>
            <tbody>
                {row("Instance", "ops-instance", |s| s.instance.clone(), None)}
                {row("Connections (h2)", "ops-connections-h2", |s| s.connections_h2.to_string(), None)}
                {row("Connections (HTTP/1.1)", "ops-connections-http1", |s| s.connections_http1.to_string(), None)}
                {row("Streams", "ops-streams", |s| s.streams.to_string(), Some(|s| s.streams as f64))}
                {row("Streams per connection", "ops-streams-per-connection", |s| format!("{:.1}", s.streams_per_connection), Some(|s| s.streams_per_connection))}
                {row("Events/s published", "ops-published", |s| format!("{:.0}", s.published_per_sec), Some(|s| s.published_per_sec))}
                {row("Events/s delivered", "ops-delivered", |s| format!("{:.0}", s.delivered_per_sec), Some(|s| s.delivered_per_sec))}
            </tbody>
        </table>
    }
}

/// Adds `sample` to its instance's series, and drops the instances that went quiet.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
fn record(series: &mut Series, sample: OpsSample) {
    let newest = sample.time_ms;
    let samples = series.entry(sample.instance.clone()).or_default();
    if samples.len() == SPARK_POINTS {
        samples.pop_front();
    }
    samples.push_back(sample);
    series.retain(|_, samples| {
        samples
            .back()
            .is_some_and(|last| newest - last.time_ms < GONE_AFTER_MS)
    });
}

/// The browser side: one `EventSource`; each `update` is the next sample.
#[cfg(feature = "hydrate")]
mod stream {
    use super::super::subscription::{open, Stream};
    use super::super::wire_status::ReadyState;
    use super::*;
    use crate::model::{EventKind, Hello, TopicName};
    use std::rc::Rc;

    pub fn follow(series: RwSignal<Series>, status: RwSignal<WireStatus>) {
        let source = StoredValue::new_local(None::<Stream>);
        connect(series, status, source);
        on_cleanup(move || source.set_value(None::<Stream>));
    }

    /// Opens the ops stream into `source`; a stream that goes silent is replaced by a new one
    /// (the samples carry no ids: the next one is simply the news).
    fn connect(
        series: RwSignal<Series>,
        status: RwSignal<WireStatus>,
        source: StoredValue<Option<Stream>, LocalStorage>,
    ) {
        let on_message = Rc::new(move |kind: EventKind, _id: &str, data: &str| match kind {
            EventKind::Hello => {
                if let Ok(hello) = serde_json::from_str::<Hello>(data) {
                    status.update(|s| {
                        s.reconnects += u32::from(s.hello.is_some());
                        s.state = ReadyState::Open;
                        s.hello = Some(hello);
                    });
                }
            }
            EventKind::Update => {
                if let Ok(sample) = serde_json::from_str::<OpsSample>(data) {
                    series.update(|s| record(s, sample));
                }
            }
            _ => {}
        });
        let on_state = Rc::new(move |state: ReadyState| {
            status.update(|s| s.state = state);
            if matches!(state, ReadyState::Silent | ReadyState::Waking) {
                // After this callback of the old stream returns: replacing it drops it.
                leptos::task::spawn_local(async move { connect(series, status, source) });
            }
        });
        source.set_value(open(&TopicName::Ops.events_url(), on_message, on_state));
    }
}
