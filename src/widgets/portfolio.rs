//! The portfolio widget: this session's cash and positions, from its private stream.
//!
//! The same contract as the market widgets — its own `EventSource`, `hello` first, a snapshot
//! (`add` per position, `sync` with the cash), then `add` / `update` / `remove` — on
//! `/api/portfolio/events`, which the session cookie (not the URL) makes this session's. An
//! `update` with an id is a fill; one without is a new price (see `model::portfolio`).
//!
//! Not server-rendered with data: the page is the same for every visitor (a cached copy can
//! never show one visitor's positions to another), and the stream's snapshot fills the table
//! as soon as the page is live.

use super::wire_status::{ReadyState, WireLine, WireStatus};
use super::InstanceStreams;
use crate::model::{Position, Symbol};
use leptos::prelude::*;
use std::collections::BTreeMap;

/// Starts a fresh demo account: a new session (and cookie) with the starting cash and no
/// positions — nothing written until its first order. The old session is left to expire.
#[server(endpoint = "new_account")]
pub async fn new_account() -> Result<(), ServerFnError> {
    crate::server::web::functions::new_account().await
}

/// The portfolio: cash, one row per position, and a button for a fresh account.
#[island]
pub fn Portfolio() -> impl IntoView {
    super::islands::ready();
    let positions = RwSignal::new(BTreeMap::<Symbol, Position>::new());
    let cash = RwSignal::new(None::<f64>);
    let status = RwSignal::new(WireStatus::default());
    let last_id = RwSignal::new(String::new());
    // Bumped when the account changes: the stream is reopened, for the new session's cookie.
    let account = RwSignal::new(0u32);
    InstanceStreams::track(status);
    let fresh = Action::new(|_: &()| new_account());
    Effect::new(move |_| {
        if let Some(Ok(())) = fresh.value().get() {
            account.update(|n| *n += 1);
        }
    });
    #[cfg(feature = "hydrate")]
    stream::follow(account, positions, cash, status, last_id);

    view! {
        <section
            class="portfolio"
            data-topic="portfolio"
            data-state=move || status.with(|s| s.state.as_str())
            data-cash=move || cash.get().map(|c| format!("{c:.2}"))
        >
            <header>
                <div>
                    <h2>"portfolio"</h2>
                    <WireLine status last_id />
                </div>
                <button data-testid="new-account" on:click=move |_| { fresh.dispatch(()); }>
                    "New demo account"
                </button>
            </header>
            <p class="cash" data-testid="portfolio-cash">
                {move || match cash.get() {
                    Some(cash) => format!("Cash {cash:.2}"),
                    None if status.with(|s| s.state == ReadyState::Closed) => {
                        "No session: reload the page to start one.".to_owned()
                    }
                    None => "Loading your portfolio…".to_owned(),
                }}
            </p>
            <table>
                <thead>
                    <tr>
                        <th class="symbol">"Symbol"</th>
                        <th class="num">"Qty"</th>
                        <th class="num">"Cost"</th>
                        <th class="num price">"Price"</th>
                        <th class="num">"Value"</th>
                        <th class="num change">"P&L"</th>
                    </tr>
                </thead>
                <tbody>
                    <For each=move || positions.get().into_values() key=|p| (p.symbol.clone(), p.quantity, p.price.to_bits()) let:p>
                        <tr data-symbol=p.symbol.to_string() data-quantity=p.quantity>
                            <td class="symbol">{p.symbol.to_string()}</td>
                            <td class="num">{p.quantity}</td>
                            <td class="num">{format!("{:.2}", p.cost)}</td>
                            <td class="num price">{format!("{:.2}", p.price)}</td>
                            <td class="num">{format!("{:.2}", p.value)}</td>
                            <td class={if p.pnl >= 0.0 { "num change up" } else { "num change down" }}>
                                {format!("{:+.2}", p.pnl)}
                            </td>
                        </tr>
                    </For>
                </tbody>
            </table>
        </section>
    }
    .into_any()
}

/// The browser side: one `EventSource` per account, its events applied to the signals.
#[cfg(feature = "hydrate")]
mod stream {
    use super::super::subscription::{open, Stream};
    use super::*;
    use crate::model::{Closed, EventKind, Hello, Sync, TopicName};
    use std::rc::Rc;

    pub fn follow(
        account: RwSignal<u32>,
        positions: RwSignal<BTreeMap<Symbol, Position>>,
        cash: RwSignal<Option<f64>>,
        status: RwSignal<WireStatus>,
        last_id: RwSignal<String>,
    ) {
        let open_stream = StoredValue::new_local(None::<Stream>);
        // Bumped when the stream went silent (the watchdog in `open`) or the tab is shown again
        // after a pause: reopened from its last id.
        let reopen = RwSignal::new(0u32);
        Effect::new(move |opened_for: Option<u32>| {
            let account_now = account.get();
            reopen.track();
            open_stream.set_value(None);
            // A new account starts from nothing: no rows, no id, a fresh snapshot. A reopen of
            // the same account resumes from its last id, so nothing is lost or repeated.
            if opened_for != Some(account_now) {
                positions.set(BTreeMap::new());
                cash.set(None);
                last_id.set(String::new());
            }
            let on_message = Rc::new(move |kind: EventKind, id: &str, data: &str| {
                apply(kind, data, positions, cash, status);
                if !id.is_empty() {
                    last_id.set(id.to_owned());
                }
            });
            let on_state = Rc::new(move |state: ReadyState| {
                status.update(|s| s.state = state);
                if matches!(state, ReadyState::Silent | ReadyState::Waking) {
                    // After this callback of the old stream returns: the effect drops it.
                    leptos::task::spawn_local(async move { reopen.update(|n| *n += 1) });
                }
            });
            let from = last_id.get_untracked();
            let url = match from.as_str() {
                "" => TopicName::Portfolio.events_url(),
                from => format!("{}?last_event_id={from}", TopicName::Portfolio.events_url()),
            };
            open_stream.set_value(open(&url, on_message, on_state));
            account_now
        });
        on_cleanup(move || open_stream.set_value(None));
    }

    fn apply(
        kind: EventKind,
        data: &str,
        positions: RwSignal<BTreeMap<Symbol, Position>>,
        cash: RwSignal<Option<f64>>,
        status: RwSignal<WireStatus>,
    ) {
        match kind {
            EventKind::Hello => {
                if let Ok(hello) = serde_json::from_str::<Hello>(data) {
                    status.update(|s| {
                        s.reconnects += u32::from(s.hello.is_some());
                        s.state = ReadyState::Open;
                        s.hello = Some(hello);
                    });
                }
            }
            EventKind::Reset => positions.set(BTreeMap::new()),
            EventKind::Add | EventKind::Update => {
                if let Ok(position) = serde_json::from_str::<Position>(data) {
                    cash.set(Some(position.cash));
                    positions.update(|p| {
                        p.insert(position.symbol.clone(), position);
                    });
                }
            }
            EventKind::Remove => {
                if let Ok(closed) = serde_json::from_str::<Closed>(data) {
                    cash.set(Some(closed.cash));
                    positions.update(|p| {
                        p.remove(&closed.symbol);
                    });
                }
            }
            EventKind::Sync => {
                if let Ok(Sync {
                    cash: Some(now), ..
                }) = serde_json::from_str::<Sync>(data)
                {
                    cash.set(Some(now));
                }
            }
            // Heartbeats are heard by the stream's watchdog and never reach here.
            EventKind::Shutdown | EventKind::Refused | EventKind::Heartbeat => {}
        }
    }
}
