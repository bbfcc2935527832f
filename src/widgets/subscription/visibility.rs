//! A hidden tab holds no streams: each widget closes its `EventSource` a moment after the tab is
//! hidden, and reopens it from its last id when the tab is shown again.
//!
//! Why: a tab in the background still receives every tick and repaints every table — radio
//! time and battery on a phone, a connection and its streams on the server, for a page nobody
//! looks at. Closing costs nothing the protocol cannot give back: on return, each stream resumes
//! from its `Last-Event-ID` (the events missed, from the server's history) or, if the tab was
//! away longer than the history covers, gets the normal `reset` and a fresh snapshot.
//!
//! The grace ([`HIDDEN_GRACE_MS`]) keeps a quick switch to another tab and back from costing a
//! reconnect. What happens on return — reopening — is the caller's, through the same path as a
//! reopen after an error or after silence ([`super`]'s `OwnStream::reopen_after`).
//!
//! Not for the share-tabs relay: the leader's streams serve the other tabs too, which may be
//! visible (`subscription::shared` keeps them open).

use wasm_bindgen::prelude::*;

/// How long a hidden tab keeps its streams: 2 s. A glance at another tab costs nothing; a tab
/// left in the background is closed well within the 5 s a hidden tab may hold a stream.
pub const HIDDEN_GRACE_MS: i32 = 2_000;

/// Whether the page is hidden now (`document.visibilityState`).
pub fn hidden() -> bool {
    web_sys::window()
        .and_then(|window| window.document())
        .is_some_and(|document| document.visibility_state() == web_sys::VisibilityState::Hidden)
}

/// Calls `on_hidden` once the page has stayed hidden for [`HIDDEN_GRACE_MS`], and `on_shown`
/// when it is visible again, until dropped.
pub(super) struct Visibility {
    listener: Closure<dyn FnMut()>,
    grace: std::rc::Rc<std::cell::Cell<Option<i32>>>,
    _after_grace: Closure<dyn FnMut()>,
}

impl Visibility {
    pub(super) fn watch(on_hidden: impl Fn() + 'static, on_shown: impl Fn() + 'static) -> Option<Visibility> {
        let window = web_sys::window()?;
        let document = window.document()?;
        let grace: std::rc::Rc<std::cell::Cell<Option<i32>>> = Default::default();
        let after_grace = Closure::<dyn FnMut()>::new({
            let grace = grace.clone();
            move || {
                grace.set(None);
                if hidden() {
                    on_hidden();
                }
            }
        });
        let listener = Closure::<dyn FnMut()>::new({
            let (grace, window) = (grace.clone(), window.clone());
            let after_grace = after_grace.as_ref().unchecked_ref::<js_sys::Function>().clone();
            move || {
                if let Some(id) = grace.take() {
                    window.clear_timeout_with_handle(id);
                }
                if hidden() {
                    grace.set(
                        window
                            .set_timeout_with_callback_and_timeout_and_arguments_0(&after_grace, HIDDEN_GRACE_MS)
                            .ok(),
                    );
                } else {
                    on_shown();
                }
            }
        });
        document
            .add_event_listener_with_callback("visibilitychange", listener.as_ref().unchecked_ref())
            .ok()?;
        Some(Visibility {
            listener,
            grace,
            _after_grace: after_grace,
        })
    }
}

impl Drop for Visibility {
    fn drop(&mut self) {
        let Some(window) = web_sys::window() else { return };
        if let Some(id) = self.grace.take() {
            window.clear_timeout_with_handle(id);
        }
        if let Some(document) = window.document() {
            let _ = document.remove_event_listener_with_callback(
                "visibilitychange",
                self.listener.as_ref().unchecked_ref(),
            );
        }
    }
}
