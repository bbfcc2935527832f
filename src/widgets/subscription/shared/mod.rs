//! `?share=tabs`: one stream per topic for ALL tabs of this origin, relayed by an elected leader.
//!
//! Over HTTP/1.1 every `EventSource` holds one of the six connections a browser allows per
//! host, across all its tabs. Sharing is the fix when HTTP/2 is not available:
//!
//! 1. **Election** — every tab asks the Web Locks API for the same lock; the browser grants it
//!    to one tab at a time, and hands it to the next when the holder closes. The holder is the
//!    leader.
//! 2. **Relay** — the leader opens one `EventSource` per topic any tab wants and posts every
//!    event on a `BroadcastChannel`; every tab (the leader too) delivers it to its widgets'
//!    [`Sink`]s, which skip what they already applied.
//! 3. **Catch-up** — a tab says what it wants with the id it has (`Want`). The leader replays
//!    what it still holds after that id, or, if it holds too little, reopens the topic's stream
//!    from that id so the server's history fills the gap.
//! 4. **Hand-over** — when the leader closes, or hides (a hidden tab holds no streams of its
//!    own, so it should not hold everyone's: [`election`]), the next tab gets the lock, opens the
//!    streams from the ids its own widgets have (`Last-Event-ID`, in effect), and asks the
//!    others what they need (`Elected`). Nothing is lost; a replayed event is skipped by whoever
//!    had it.
//!
//! Widgets do not know any of this: they call `subscribe` with a [`Sink`] either way.

mod election;
mod hub;
mod relay;

use super::sink::Delivery;
use super::{Sink, Stream};
use crate::model::{EventId, EventKind, TopicName};
use crate::widgets::wire_status::{ReadyState, ShareRole};
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use web_sys::{BroadcastChannel, MessageEvent};

/// The channel the tabs talk on.
const CHANNEL: &str = "tickerplex-share";
/// Events the leader keeps per topic to catch up a tab that arrives late.
const RECENT: usize = 512;

/// Whether this page asked for sharing (`?share=tabs`) and the browser can do it.
pub fn requested() -> bool {
    let Some(window) = web_sys::window() else {
        return false;
    };
    let asked = window.location().search().is_ok_and(|query| {
        query
            .trim_start_matches('?')
            .split('&')
            .any(|p| p == "share=tabs")
    });
    let supported =
        js_sys::Reflect::has(&window.navigator(), &JsValue::from_str("locks")).unwrap_or(false);
    if asked && !supported {
        web_sys::console::warn_1(&"share=tabs needs the Web Locks API (a secure context); each widget opens its own stream".into());
    }
    asked && supported
}

/// What tabs say to each other on the channel.
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Message {
    /// A tab shows `topic` and has applied everything up to `after`.
    Want {
        tab: String,
        topic: TopicName,
        after: EventId,
    },
    /// A new leader: every tab, say again what you want.
    Elected,
    /// One event of `topic`'s stream; `to` names the one tab it is for (a catch-up), or none.
    Event {
        to: Option<String>,
        topic: TopicName,
        relay: Relayed,
    },
    /// The leader's stream for `topic` dropped or gave up.
    State { topic: TopicName, state: ReadyState },
}

/// One SSE event as the leader received it.
#[derive(Clone, Serialize, Deserialize)]
struct Relayed {
    kind: EventKind,
    id: String,
    data: String,
    /// Sent again for a late tab (not news): a `hello` of this kind only goes to widgets that
    /// have none yet, so it is not counted as a reconnect.
    #[serde(default)]
    catch_up: bool,
}

/// The leader's stream for one topic.
struct Relay {
    _stream: Stream,
    /// The latest `hello` (new tabs get it first) and the recent events, for catch-ups.
    hello: Option<Relayed>,
    recent: VecDeque<Relayed>,
    /// The id the stream was opened after: it can replay anything from here on.
    from: EventId,
}

#[derive(Default)]
struct State {
    leader: bool,
    /// This tab's widgets, by topic.
    sinks: BTreeMap<TopicName, Vec<Sink>>,
    /// Leader only: the relayed streams.
    relays: BTreeMap<TopicName, Relay>,
    /// Catch-ups already asked for, so a run of held-back events asks once.
    asked: std::collections::BTreeSet<(TopicName, EventId)>,
}

/// This tab's end of the sharing: one per tab, made by the first widget that subscribes.
struct Hub {
    tab: String,
    channel: BroadcastChannel,
    state: RefCell<State>,
    /// How this tab takes part in the election (`election`).
    election: RefCell<election::Election>,
}

thread_local! {
    static HUB: RefCell<Option<Rc<Hub>>> = const { RefCell::new(None) };
}

/// The shared implementation of `subscribe`: registers `sink` with this tab's hub, and asks
/// the leader (which may be this tab) for `topic` after `after`. `false` if this browser cannot
/// share (no `BroadcastChannel`): the caller then opens the widget's own stream.
pub fn subscribe(topic: TopicName, after: EventId, sink: Sink) -> bool {
    let Some(hub) = hub() else {
        return false;
    };
    sink.hold_gaps.set(true);
    // After hydration (an effect), so the hydrated text matches the server's HTML.
    leptos::prelude::Effect::new({
        let (hub, sink) = (hub.clone(), sink.clone());
        move |_| {
            sink.share_role(if hub.state.borrow().leader {
                ShareRole::Leader
            } else {
                ShareRole::Follower
            })
        }
    });
    hub.state
        .borrow_mut()
        .sinks
        .entry(topic.clone())
        .or_default()
        .push(sink.clone());
    hub.want(topic.clone(), after);

    // Unmounting takes the widget off this tab's hub. (The leader keeps relaying the topic:
    // other tabs may still show it.)
    let sink_ptr = Rc::as_ptr(&sink.last) as usize;
    leptos::prelude::on_cleanup(move || {
        HUB.with(|hub| {
            if let Some(hub) = hub.borrow().as_ref() {
                if let Some(sinks) = hub.state.borrow_mut().sinks.get_mut(&topic) {
                    sinks.retain(|s| Rc::as_ptr(&s.last) as usize != sink_ptr);
                }
            }
        })
    });
    true
}

/// This tab's hub, made on first use; `None` where the browser has no `BroadcastChannel` (the
/// caller falls back to a stream per widget instead of failing the page).
fn hub() -> Option<Rc<Hub>> {
    if let Some(hub) = HUB.with(|hub| hub.borrow().clone()) {
        return Some(hub);
    }
    let Ok(channel) = BroadcastChannel::new(CHANNEL) else {
        web_sys::console::warn_1(
            &"share=tabs needs BroadcastChannel; each widget opens its own stream".into(),
        );
        return None;
    };
    let hub = Rc::new(Hub {
        tab: format!("{:x}", (js_sys::Math::random() * 1e15) as u64),
        channel,
        state: RefCell::default(),
        election: RefCell::default(),
    });
    HUB.with(|slot| *slot.borrow_mut() = Some(hub.clone()));

    let on_message = Closure::<dyn FnMut(MessageEvent)>::new({
        let hub = hub.clone();
        move |event: MessageEvent| {
            if let Some(message) = event
                .data()
                .as_string()
                .and_then(|text| serde_json::from_str(&text).ok())
            {
                hub.receive(message);
            }
        }
    });
    hub.channel
        .set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget(); // lives as long as the tab

    // Wait in line for the lock, and step aside while hidden.
    election::stand(&hub);
    Some(hub)
}
