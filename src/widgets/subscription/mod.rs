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
//!
//! Past 300 lines because it is one concept, a stream's life — open, listen, reopen, close —
//! and the reopen paths (after an error, after silence, after a hidden tab) must stay one path
//! to stay correct. What is not that life has its own file: applying events (`sink`), the
//! silence timer (`watchdog`), the hidden tab (`visibility`), sharing across tabs (`shared`).

mod shared;
mod sink;
pub mod visibility;
mod watchdog;

pub use sink::Sink;
use visibility::Visibility;
use watchdog::Watchdog;

use super::wire_status::ReadyState;
use super::StreamSource;
use crate::model::{EventId, EventKind, TopicName};
use leptos::prelude::*;
use send_wrapper::SendWrapper;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use web_sys::{EventSource, MessageEvent};

/// Starts delivering `topic`'s events after `from` into `sink`, until the widget unmounts: from
/// the topic's own URL, or from `source` (the fault panel's ways, never shared across tabs).
pub fn subscribe(topic: TopicName, source: Option<StreamSource>, from: EventId, sink: Sink) {
    sink.start_at(from);
    if let Some(source) = source {
        return own_stream(source, sink);
    }
    if shared::requested() {
        if shared::subscribe(topic.clone(), from, sink.clone()) {
            return;
        }
        // The page asked for sharing but this browser cannot relay: this widget opens its own
        // stream and its header says so, rather than the whole page failing.
        sink.sharing_unavailable();
    }
    let source = StreamSource {
        url: topic.events_url(),
        reopen: true,
    };
    own_stream(source, sink);
}

/// Opens the widget's own stream, closed when it unmounts.
fn own_stream(source: StreamSource, sink: Sink) {
    let own = OwnStream::new(source, sink);
    own.connect(0);
    let own = SendWrapper::new(own);
    on_cleanup(move || own.take().close());
}

/// A widget's own `EventSource`, reopened by the widget when the browser gives up on it.
///
/// The browser reconnects by itself after a dropped stream, but not after an answer that is
/// not a 200 event stream (a proxy's 502, a 503 from an instance going away): then the
/// `EventSource` is `CLOSED` for good. The widget opens a new one itself, from its last applied
/// id, after a backoff that doubles per attempt (1 s up to 30 s) with jitter, so a thousand
/// pages whose edge hiccuped do not come back in the same millisecond.
///
/// An `EventSource` does not say *why* it gave up, and one reason must not be retried: `204 No
/// Content`, the SSE way for a server to say "stop reconnecting". So before reopening, the
/// widget asks the URL once itself (`fetch`, reading only the status) and honours a 204 — or
/// a 4xx, which no retry will fix — by stopping, and saying so.
///
/// A plain `EventSource` (`StreamSource::reopen` off, the fault panel's wrong way) does none of
/// this: closed is closed.
#[derive(Clone)]
struct OwnStream {
    source: Rc<StreamSource>,
    sink: Sink,
    stream: Rc<std::cell::RefCell<Option<Stream>>>,
    /// The reopen timer, if one is pending (cancelled on unmount).
    timer: Rc<std::cell::Cell<Option<i32>>>,
    closed: Rc<std::cell::Cell<bool>>,
}

/// First and longest wait before reopening a closed stream.
const REOPEN_FIRST_MS: f64 = 1_000.0;
const REOPEN_MAX_MS: f64 = 30_000.0;

impl OwnStream {
    fn new(source: StreamSource, sink: Sink) -> OwnStream {
        OwnStream {
            source: Rc::new(source),
            sink,
            stream: Rc::default(),
            timer: Rc::default(),
            closed: Rc::default(),
        }
    }

    /// Opens the `EventSource` from the last applied id; `attempt` counts reopenings in a row.
    fn connect(&self, attempt: u32) {
        let from = self
            .sink
            .last()
            .map_or_else(String::new, |id| id.to_string());
        let url = format!("{}?last_event_id={from}", self.source.url);
        let on_message: OnMessage = {
            let sink = self.sink.clone();
            Rc::new(move |kind: EventKind, id: &str, data: &str| {
                sink.deliver(kind, id, data);
            })
        };
        let on_state: OnState = {
            let (this, url) = (self.clone(), url.clone());
            Rc::new(move |state| {
                this.sink.connection_state(state);
                match state {
                    ReadyState::Closed if this.source.reopen => {
                        this.ask_why(url.clone(), attempt + 1)
                    }
                    // Silence is not an answer to ask about (a frozen server would not answer
                    // the question either): reopen now. The watchdog's deadline was jittered,
                    // so a million silent streams do not come back in one burst.
                    ReadyState::Silent if this.source.reopen => this.reopen_after(0.0, 0),
                    // The tab is shown again: every widget reopens from its last id, even the
                    // fault panel's plain ones (it was the page, not the server, that closed them).
                    ReadyState::Waking => this.reopen_after(0.0, 0),
                    _ => {}
                }
            })
        };
        let stream = open(&url, on_message, on_state);
        if stream.is_none() {
            self.sink.connection_state(ReadyState::Closed);
        }
        *self.stream.borrow_mut() = stream;
    }

    /// The browser gave up on `url`: asks it once what it answers, then stops (204, or a 4xx
    /// other than 408 and 429) or reopens later (anything else, or no answer at all).
    fn ask_why(&self, url: String, attempt: u32) {
        let this = self.clone();
        leptos::task::spawn_local(async move {
            let status = answer_status(&url).await;
            let stop = status == Some(204)
                || status.is_some_and(|s| (400..500).contains(&s) && s != 408 && s != 429);
            if stop {
                this.sink.connection_state(ReadyState::Stopped);
            } else {
                this.reopen_later(attempt);
            }
        });
    }

    /// After an answer that was not a stream: waits a backoff that doubles per attempt.
    fn reopen_later(&self, attempt: u32) {
        let base = (REOPEN_FIRST_MS * 2f64.powi(attempt as i32 - 1)).min(REOPEN_MAX_MS);
        // Uniform in [base / 2, base]: spread out, never longer than the cap.
        let wait = base * (0.5 + 0.5 * js_sys::Math::random());
        self.reopen_after(wait, attempt);
    }

    /// The one way a widget reopens its stream, whatever closed it: after `wait_ms`, from its
    /// last applied id. Always through a timer, even at 0 ms: the caller is one of the old
    /// stream's own callbacks, which must return before that stream is dropped.
    fn reopen_after(&self, wait_ms: f64, attempt: u32) {
        if self.closed.get() {
            return;
        }
        let wait = wait_ms;
        let this = self.clone();
        let reopen = Closure::once_into_js(move || {
            this.timer.set(None);
            if !this.closed.get() {
                this.connect(attempt);
            }
        });
        if let Some(window) = web_sys::window() {
            if let Ok(id) = window.set_timeout_with_callback_and_timeout_and_arguments_0(
                reopen.unchecked_ref(),
                wait as i32,
            ) {
                self.timer.set(Some(id));
            }
        }
    }

    /// The widget unmounted: no more reopening, and the stream is closed.
    fn close(&self) {
        self.closed.set(true);
        if let (Some(id), Some(window)) = (self.timer.take(), web_sys::window()) {
            window.clear_timeout_with_handle(id);
        }
        self.stream.borrow_mut().take();
    }
}

/// The status `url` answers an event-stream request with, or `None` if there is no answer. The
/// body is not read: a 200 is a live stream, aborted as soon as its head has arrived.
async fn answer_status(url: &str) -> Option<u16> {
    let window = web_sys::window()?;
    let abort = web_sys::AbortController::new().ok()?;
    let init = web_sys::RequestInit::new();
    let headers = web_sys::Headers::new().ok()?;
    headers.set("accept", "text/event-stream").ok()?;
    init.set_headers(&headers);
    init.set_signal(Some(&abort.signal()));
    let promise = window.fetch_with_str_and_init(url, &init);
    let response = wasm_bindgen_futures::JsFuture::from(promise).await;
    abort.abort();
    response
        .ok()?
        .dyn_into::<web_sys::Response>()
        .ok()
        .map(|r| r.status())
}

/// A delivery callback: event kind, `lastEventId`, data.
type OnMessage = Rc<dyn Fn(EventKind, &str, &str)>;
/// A connection-state callback: `reconnecting` or `closed`.
type OnState = Rc<dyn Fn(ReadyState)>;

/// One open `EventSource`, its listeners, its watchdog and (unless it serves other tabs) its
/// pause while the tab is hidden. Dropping it closes the stream.
pub struct Stream {
    source: EventSource,
    _listeners: Vec<Closure<dyn FnMut(MessageEvent)>>,
    _error: Closure<dyn FnMut(web_sys::Event)>,
    watchdog: Watchdog,
    _visibility: Option<Visibility>,
}

impl Drop for Stream {
    fn drop(&mut self) {
        self.source.close();
        self.watchdog.stop();
    }
}

/// Opens `url` as an `EventSource`, calling `on_message` for every [`EventKind`] and
/// `on_state` when the connection drops or gives up. `None` if the browser refuses the URL.
pub fn open(url: &str, on_message: OnMessage, on_state: OnState) -> Option<Stream> {
    open_with(url, on_message, on_state, true)
}

/// As [`open`], for a stream that must stay open while the tab is hidden (the share-tabs
/// relay: other tabs, perhaps visible, read it).
pub fn open_unpaused(url: &str, on_message: OnMessage, on_state: OnState) -> Option<Stream> {
    open_with(url, on_message, on_state, false)
}

fn open_with(
    url: &str,
    on_message: OnMessage,
    on_state: OnState,
    pause_when_hidden: bool,
) -> Option<Stream> {
    let source = EventSource::new(url).ok()?;
    let watchdog = Watchdog::start(on_state.clone());
    // Hidden past the grace: closed, and said so (`paused`); shown again: the caller reopens
    // from the last id (`waking`), by the same path as after an error or silence.
    let visibility = pause_when_hidden
        .then(|| {
            let paused = std::rc::Rc::new(std::cell::Cell::new(false));
            let (source, limit, on_hide) =
                (source.clone(), watchdog.limit_ms.clone(), on_state.clone());
            let on_show = on_state.clone();
            let was_paused = paused.clone();
            Visibility::watch(
                move || {
                    source.close();
                    limit.set(None);
                    paused.set(true);
                    on_hide(ReadyState::Paused);
                },
                move || {
                    if was_paused.replace(false) {
                        on_show(ReadyState::Waking);
                    }
                },
            )
        })
        .flatten();
    // One listener per kind we send: an `EventSource` dispatches named events only to
    // listeners of that name (`onmessage` sees only unnamed ones). A kind a newer server adds
    // has no listener here and is ignored, which is what an older page should do.
    let listeners = EventKind::ALL
        .into_iter()
        .map(|kind| {
            let on_message = on_message.clone();
            let (heard, limit) = (watchdog.heard.clone(), watchdog.limit_ms.clone());
            let listener = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
                let data = event.data().as_string().unwrap_or_default();
                Watchdog::heard(&heard, &limit, kind, &data);
                // A heartbeat's work is done once it is heard: there is nothing to apply.
                if kind != EventKind::Heartbeat {
                    on_message(kind, &event.last_event_id(), &data);
                }
            });
            let _ = source
                .add_event_listener_with_callback(kind.as_str(), listener.as_ref().unchecked_ref());
            listener
        })
        .collect();
    // `error` fires when the stream drops (the browser then reconnects by itself, sending
    // Last-Event-ID) and when it gives up (readyState CLOSED).
    let error = Closure::<dyn FnMut(web_sys::Event)>::new({
        let source = source.clone();
        let limit = watchdog.limit_ms.clone();
        move |_| {
            let closed = source.ready_state() == EventSource::CLOSED;
            if closed {
                // Given up for good: whatever happens next (a reopen, or a stop the server
                // asked for) is the caller's, and silence on a closed stream is no news.
                limit.set(None);
            }
            on_state(if closed {
                ReadyState::Closed
            } else {
                ReadyState::Reconnecting
            })
        }
    });
    source.set_onerror(Some(error.as_ref().unchecked_ref()));
    Some(Stream {
        source,
        _listeners: listeners,
        _error: error,
        watchdog,
        _visibility: visibility,
    })
}
