//! The browser side of one widget's stream: a `web_sys::EventSource` turned into signals.
//!
//! Why `web_sys` directly rather than `gloo-net` or `leptos-use`'s `use_event_source`: we need
//! named events (`add`, `update`, …), each event's `lastEventId`, and the raw `readyState`, and
//! the binding is a dozen lines; a wrapper would hide exactly what this project teaches.
//!
//! Everything is released in `on_cleanup`: the EventSource is closed (the server's registry sees
//! the stream end) and the listener closures are dropped with it.

use super::{Rows, WireStatus};
use crate::model::{EventId, Hello, Quote, Removal, TopicName, Update as PriceUpdate};
use leptos::prelude::*;
use send_wrapper::SendWrapper;
use wasm_bindgen::prelude::*;
use web_sys::{EventSource, MessageEvent};

/// Opens the widget's stream, resuming after `from` (the id the server-rendered rows were taken
/// at), and keeps `rows` and `status` up to date until the widget is unmounted.
pub fn subscribe(
    topic: TopicName,
    from: EventId,
    rows: Rows,
    status: RwSignal<WireStatus>,
    last_id: RwSignal<String>,
) {
    let url = format!("{}?last_event_id={from}", topic.events_url());
    let Ok(source) = EventSource::new(&url) else {
        status.update(|s| s.state = "closed");
        return;
    };

    let mut listeners: Vec<Closure<dyn FnMut(MessageEvent)>> = Vec::new();
    let mut on = |name: &str, mut handle: Box<dyn FnMut(&str)>| {
        let closure = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let id = event.last_event_id();
            if !id.is_empty() {
                last_id.set(id);
            }
            if let Some(data) = event.data().as_string() {
                handle(&data);
            }
        });
        let _ = source.add_event_listener_with_callback(name, closure.as_ref().unchecked_ref());
        listeners.push(closure);
    };

    on(
        "hello",
        Box::new(move |data| {
            if let Ok(hello) = serde_json::from_str::<Hello>(data) {
                status.update(|s| {
                    if s.hello.is_some() {
                        s.reconnects += 1;
                    }
                    s.state = "open";
                    s.hello = Some(hello);
                });
            }
        }),
    );
    on(
        "add",
        Box::new({
            let rows = rows.clone();
            move |data| {
                if let Ok(quote) = serde_json::from_str::<Quote>(data) {
                    rows.add(quote);
                }
            }
        }),
    );
    on(
        "update",
        Box::new({
            let rows = rows.clone();
            move |data| {
                if let Ok(update) = serde_json::from_str::<PriceUpdate>(data) {
                    rows.update(&update);
                }
            }
        }),
    );
    on(
        "remove",
        Box::new({
            let rows = rows.clone();
            move |data| {
                if let Ok(removal) = serde_json::from_str::<Removal>(data) {
                    rows.remove(&removal.symbol);
                }
            }
        }),
    );
    on(
        "reset",
        // A fresh snapshot follows: clear, and let its `add`s rebuild the rows. (The `hello`
        // before it already said why, for the badge.)
        Box::new(move |_| rows.clear()),
    );

    // Connection state: `error` fires when the stream drops (the browser then reconnects on its
    // own, sending Last-Event-ID) and when it gives up (readyState CLOSED).
    let error = Closure::<dyn FnMut(web_sys::Event)>::new({
        let source = source.clone();
        move |_| {
            let state = if source.ready_state() == EventSource::CLOSED {
                "closed"
            } else {
                "reconnecting"
            };
            status.update(|s| s.state = state);
        }
    });
    source.set_onerror(Some(error.as_ref().unchecked_ref()));

    let owned = SendWrapper::new((source, listeners, error));
    on_cleanup(move || {
        let (source, _listeners, _error) = owned.take();
        source.close();
    });
}
