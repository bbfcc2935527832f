//! Who leads the shared streams, and when a leader steps aside.
//!
//! Every tab asks the Web Locks API for the same lock; the browser grants it to one tab at a
//! time, in the order they asked. The holder keeps it as long as the promise its callback
//! returned stays unsettled: until the tab closes — or until it settles the promise itself.
//!
//! A leader settles it when its tab has stayed hidden for the grace
//! ([`visibility::HIDDEN_GRACE_MS`]): it closes its relays, becomes a follower, and the next tab
//! in line takes over. A hidden tab does not stand again until it is shown; if the lock reaches
//! it while it is hidden (the leader closed), it passes the lock on at once. So the streams are
//! held by a visible tab whenever there is one, and with every tab hidden nobody leads and no
//! stream is open — just as without sharing (`subscription::visibility`).

use super::Hub;
use crate::widgets::subscription::visibility::{self, Visibility};
use std::rc::Rc;
use wasm_bindgen::prelude::*;

/// The lock whose holder is the leader.
const LEADER_LOCK: &str = "tickerplex-leader";

#[wasm_bindgen]
extern "C" {
    /// `navigator.locks.request(name, callback)`. web-sys exposes the Web Locks API only with
    /// `--cfg=web_sys_unstable_apis`, which would rebuild every dependency; this one call is all
    /// we use.
    #[wasm_bindgen(js_namespace = ["navigator", "locks"], js_name = request)]
    fn request_lock(name: &str, granted: &js_sys::Function) -> js_sys::Promise;
}

/// How this tab takes part.
#[derive(Default)]
pub(super) struct Election {
    /// In line for the lock, or holding it.
    standing: bool,
    /// While this tab leads: settles the promise that holds the lock.
    release: Option<js_sys::Function>,
    /// Steps aside when hidden, stands again when shown; lives as long as the tab.
    visibility: Option<Visibility>,
}

/// Gets in line for the lock (once: a tab already in line or leading stays where it is), and
/// starts following the tab's visibility.
pub(super) fn stand(hub: &Rc<Hub>) {
    if hub.election.borrow().visibility.is_none() {
        let visibility = Visibility::watch(
            {
                let hub = hub.clone();
                move || step_aside(&hub)
            },
            {
                let hub = hub.clone();
                move || stand(&hub)
            },
        );
        hub.election.borrow_mut().visibility = visibility;
    }
    if std::mem::replace(&mut hub.election.borrow_mut().standing, true) {
        return;
    }
    let granted = Closure::once_into_js({
        let hub = hub.clone();
        move |_lock: JsValue| -> js_sys::Promise {
            if visibility::hidden() {
                // Hidden: pass the lock to the next tab in line; stand again when shown.
                hub.election.borrow_mut().standing = false;
                return js_sys::Promise::resolve(&JsValue::UNDEFINED);
            }
            let mut release = None;
            let held = js_sys::Promise::new(&mut |resolve, _reject| release = Some(resolve));
            hub.election.borrow_mut().release = release;
            hub.become_leader();
            held
        }
    });
    let _ = request_lock(LEADER_LOCK, granted.unchecked_ref());
}

/// The tab has stayed hidden: a leader closes its relays and lets the lock go.
fn step_aside(hub: &Rc<Hub>) {
    let Some(release) = hub.election.borrow_mut().release.take() else {
        return; // a follower: it holds no stream
    };
    hub.step_down();
    hub.election.borrow_mut().standing = false;
    let _ = release.call0(&JsValue::UNDEFINED);
}
