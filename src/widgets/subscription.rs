//! The browser side of a widget's stream: one interface, two implementations.
//!
//! [`subscribe`] is all a widget calls. It delivers the topic's events, from the id the
//! server-rendered rows were taken at, into the widget's [`Sink`]. How they arrive depends on the
//! page's URL:
//! - by default, the widget opens its OWN `EventSource` ([`open`]) — over HTTP/2 every widget's
//!   stream shares the page's one connection;
//! - with `?share=tabs`, the tabs of this origin elect a leader that holds one `EventSource` per
//!   topic and relays the events to the others ([`shared`]) — the fix when HTTP/2 is not
//!   available and six connections per host are all a browser allows.
//!
//! Why `web_sys` directly rather than `gloo-net` or `leptos-use`'s `use_event_source`: we need
//! named events (`add`, `update`, …), each event's `lastEventId`, and the raw `readyState`, and
//! the binding is a dozen lines; a wrapper would hide exactly what this project teaches.
//!
//! Everything is released in `on_cleanup`: the EventSource is closed (the server's registry sees
//! the stream end) and the listener closures are dropped with it.

mod shared;

use super::{Rows, WireStatus};
use crate::model::{EventId, Hello, Quote, Removal, TopicName, Update as PriceUpdate};
use leptos::prelude::*;
use send_wrapper::SendWrapper;
use std::cell::Cell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use web_sys::{EventSource, MessageEvent};

/// The SSE event types a topic stream carries (see `model::stream`).
const EVENTS: [&str; 7] = [
    "hello", "add", "update", "remove", "reset", "sync", "shutdown",
];

/// Starts delivering `topic`'s events after `from` into `sink`, until the widget unmounts.
pub fn subscribe(topic: TopicName, from: EventId, sink: Sink) {
    sink.last.set(Some(from));
    if shared::requested() {
        shared::subscribe(topic, sink);
        return;
    }
    let url = format!("{}?last_event_id={from}", topic.events_url());
    let stream = open(
        &url,
        {
            let sink = sink.clone();
            Rc::new(move |name: &str, id: &str, data: &str| {
                sink.deliver(name, id, data);
            })
        },
        {
            let sink = sink.clone();
            Rc::new(move |state| sink.connection_state(state))
        },
    );
    match stream {
        Some(stream) => {
            let stream = SendWrapper::new(stream);
            on_cleanup(move || drop(stream.take()));
        }
        None => sink.connection_state("closed"),
    }
}

/// Where a widget's events land: its rows, its wire status and its last event id.
///
/// Both implementations deliver here, so the rules live in one place: a `hello` opens (or
/// re-opens) the stream; `reset` clears the rows and the snapshot's `add`s up to `sync` rebuild
/// them; live events are applied in id order — one already applied is skipped (a relayed
/// stream may replay), and one that skips ahead is counted as a gap, which the page shows.
#[derive(Clone)]
pub struct Sink {
    rows: Rows,
    status: RwSignal<WireStatus>,
    last_id: RwSignal<String>,
    /// The id of the last event applied.
    last: Rc<Cell<Option<EventId>>>,
    /// Between `reset` and `sync`: snapshot `add`s, which carry no id of their own.
    in_snapshot: Rc<Cell<bool>>,
    /// Relayed delivery (`?share=tabs`): an event that skips ahead is held back, not applied,
    /// and the hub asks the leader for what is missing. (A direct stream is ordered by the
    /// server, so there it would be a bug: it is applied and counted.)
    hold_gaps: Rc<Cell<bool>>,
}

/// What [`Sink::deliver`] did with an event.
#[derive(Debug, PartialEq, Eq)]
pub enum Delivery {
    Applied,
    /// Applied before (a relay's replay): skipped.
    Duplicate,
    /// Skips ahead of the last applied event: held back (relayed delivery only).
    Ahead,
}

impl Sink {
    pub fn new(rows: Rows, status: RwSignal<WireStatus>, last_id: RwSignal<String>) -> Sink {
        Sink {
            rows,
            status,
            last_id,
            last: Rc::default(),
            in_snapshot: Rc::default(),
            hold_gaps: Rc::default(),
        }
    }

    /// The id of the last event applied.
    fn last(&self) -> Option<EventId> {
        self.last.get()
    }

    /// One SSE event: its type, the EventSource's `lastEventId` after it, and its data.
    pub fn deliver(&self, name: &str, id: &str, data: &str) -> Delivery {
        match name {
            "hello" => {
                if let Ok(hello) = serde_json::from_str::<Hello>(data) {
                    self.status.update(|s| {
                        if s.hello.is_some() {
                            s.reconnects += 1;
                        }
                        s.state = "open";
                        s.hello = Some(hello);
                    });
                }
            }
            "reset" => {
                self.in_snapshot.set(true);
                self.rows.clear();
            }
            // Snapshot `add`s carry no id of their own: apply them as they come.
            "add" if self.in_snapshot.get() => self.apply(name, data),
            "sync" => {
                self.in_snapshot.set(false);
                if let Ok(event) = EventId::parse(id) {
                    self.advance_to(event, id);
                }
            }
            "add" | "update" | "remove" => {
                let Ok(event) = EventId::parse(id) else {
                    return Delivery::Applied;
                };
                if let Some(last) = self.last() {
                    if event.epoch == last.epoch && event.seq <= last.seq {
                        return Delivery::Duplicate;
                    }
                    if event.epoch == last.epoch && event.seq > last.seq + 1 {
                        if self.hold_gaps.get() {
                            return Delivery::Ahead; // the relay will send the missing ones
                        }
                        self.status.update(|s| s.gaps += 1);
                    }
                }
                self.apply(name, data);
                self.advance_to(event, id);
            }
            _ => {} // `shutdown`: the connection state follows when the stream ends
        }
        Delivery::Applied
    }

    /// `add`, `update` or `remove`, applied to the rows.
    fn apply(&self, name: &str, data: &str) {
        match name {
            "add" => {
                if let Ok(quote) = serde_json::from_str::<Quote>(data) {
                    self.rows.add(quote);
                }
            }
            "update" => {
                if let Ok(update) = serde_json::from_str::<PriceUpdate>(data) {
                    self.rows.update(&update);
                }
            }
            "remove" => {
                if let Ok(removal) = serde_json::from_str::<Removal>(data) {
                    self.rows.remove(&removal.symbol);
                }
            }
            _ => {}
        }
    }

    fn advance_to(&self, event: EventId, id: &str) {
        self.last.set(Some(event));
        self.last_id.set(id.to_owned());
    }

    /// The stream dropped (`reconnecting`: the browser retries by itself) or gave up (`closed`).
    pub fn connection_state(&self, state: &'static str) {
        self.status.update(|s| s.state = state);
    }

    fn has_hello(&self) -> bool {
        self.status.with_untracked(|s| s.hello.is_some())
    }

    fn share_role(&self, role: &'static str) {
        self.status.update(|s| s.shared = Some(role));
    }
}

/// A delivery callback: event type, `lastEventId`, data.
type OnMessage = Rc<dyn Fn(&str, &str, &str)>;
/// A connection-state callback: `reconnecting` or `closed`.
type OnState = Rc<dyn Fn(&'static str)>;

/// One open `EventSource` and its listeners. Dropping it closes the stream.
pub struct Stream {
    source: EventSource,
    _listeners: Vec<Closure<dyn FnMut(MessageEvent)>>,
    _error: Closure<dyn FnMut(web_sys::Event)>,
}

impl Drop for Stream {
    fn drop(&mut self) {
        self.source.close();
    }
}

/// Opens `url` as an `EventSource`, calling `on_message` for every event type in [`EVENTS`] and
/// `on_state` when the connection drops or gives up.
pub fn open(url: &str, on_message: OnMessage, on_state: OnState) -> Option<Stream> {
    let source = EventSource::new(url).ok()?;
    let listeners = EVENTS
        .iter()
        .map(|&name| {
            let on_message = on_message.clone();
            let listener = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
                let data = event.data().as_string().unwrap_or_default();
                on_message(name, &event.last_event_id(), &data);
            });
            let _ =
                source.add_event_listener_with_callback(name, listener.as_ref().unchecked_ref());
            listener
        })
        .collect();
    // `error` fires when the stream drops (the browser then reconnects by itself, sending
    // Last-Event-ID) and when it gives up (readyState CLOSED).
    let error = Closure::<dyn FnMut(web_sys::Event)>::new({
        let source = source.clone();
        move |_| {
            on_state(if source.ready_state() == EventSource::CLOSED {
                "closed"
            } else {
                "reconnecting"
            })
        }
    });
    source.set_onerror(Some(error.as_ref().unchecked_ref()));
    Some(Stream {
        source,
        _listeners: listeners,
        _error: error,
    })
}
