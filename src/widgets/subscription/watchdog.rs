//! The watchdog: how a widget notices that its stream has gone silent.
//!
//! An `EventSource` has no read timeout, and a frozen server or a half-open connection (a phone
//! that changed networks) never sends the error that would make it reconnect. The server sends
//! a `heartbeat` event after at most one interval of silence and announces the interval in
//! `hello` (`heartbeat_ms`); the watchdog notes the time of everything that arrives and reports
//! [`ReadyState::Silent`] once the silence passes 1.5–2 intervals. What happens then — reopening
//! from the last id — is the caller's: one reopen path for every reason a stream closes
//! ([`super`]'s `OwnStream::reopen_after`, the relay's and the portfolio's own).

use super::OnState;
use crate::model::EventKind;
use crate::widgets::wire_status::ReadyState;
use std::rc::Rc;
use wasm_bindgen::prelude::*;

/// The silence that makes a stream suspect, in heartbeat intervals: drawn once per stream,
/// uniformly between these two. At least 1.5: the server sends a heartbeat at most one
/// interval after anything else, so a live stream with a late beat is never cut; at most 2: a
/// frozen server is noticed within two intervals (30 s at the default 15 s). Jittered so that
/// a million streams silenced by one frozen instance do not all come back in the same second.
const SILENT_AFTER: (f64, f64) = (1.5, 2.0);
/// How often the watchdog looks at the clock: a check, not a timer per event (a busy stream
/// would otherwise re-arm a timer three times a second for nothing).
const WATCHDOG_CHECK_MS: f64 = 1_000.0;

/// Notices a stream that has gone silent. An `EventSource` has no read timeout, and a frozen
/// server or a half-open connection (a phone that changed networks) never sends the error
/// that would make it reconnect: without this, the widget would wait forever.
///
/// It learns the interval from `hello` (`heartbeat_ms`), notes the time of everything that
/// arrives, and once the silence passes the stream's limit reports [`ReadyState::Silent`]
/// (once). A server that announces no interval is never judged, and neither is a stream the
/// browser has closed for good (a widget told to stop must stay stopped).
pub(super) struct Watchdog {
    pub(super) heard: Rc<std::cell::Cell<f64>>,
    pub(super) limit_ms: Rc<std::cell::Cell<Option<f64>>>,
    interval: Option<i32>,
    _check: Option<Closure<dyn FnMut()>>,
}

impl Watchdog {
    pub(super) fn start(on_state: OnState) -> Watchdog {
        let heard = Rc::new(std::cell::Cell::new(js_sys::Date::now()));
        let limit_ms: Rc<std::cell::Cell<Option<f64>>> = Rc::default();
        let check = Closure::<dyn FnMut()>::new({
            let (heard, limit_ms) = (heard.clone(), limit_ms.clone());
            move || {
                if let Some(limit) = limit_ms.get() {
                    if js_sys::Date::now() - heard.get() > limit {
                        limit_ms.set(None);
                        on_state(ReadyState::Silent);
                    }
                }
            }
        });
        let interval = web_sys::window().and_then(|window| {
            window
                .set_interval_with_callback_and_timeout_and_arguments_0(
                    check.as_ref().unchecked_ref(),
                    WATCHDOG_CHECK_MS as i32,
                )
                .ok()
        });
        Watchdog {
            heard,
            limit_ms,
            interval,
            _check: Some(check),
        }
    }

    /// Something arrived: the clock restarts; `hello` also says how long silence may last.
    pub(super) fn heard(heard: &std::cell::Cell<f64>, limit: &std::cell::Cell<Option<f64>>, kind: EventKind, data: &str) {
        heard.set(js_sys::Date::now());
        if kind == EventKind::Hello {
            let interval = serde_json::from_str::<crate::model::Hello>(data)
                .ok()
                .and_then(|hello| hello.heartbeat_ms);
            let (low, high) = SILENT_AFTER;
            let factor = low + (high - low) * js_sys::Math::random();
            limit.set(interval.map(|ms| ms as f64 * factor));
        }
    }

    pub(super) fn stop(&mut self) {
        if let (Some(id), Some(window)) = (self.interval.take(), web_sys::window()) {
            window.clear_interval_with_handle(id);
        }
    }
}
