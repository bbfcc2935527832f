//! [`Sink`]: where a widget's events land, however they travelled.
//!
//! What it owns: the rules of applying a stream to a widget — `hello` opens (or re-opens) it,
//! `reset` clears the rows and the snapshot's `add`s up to `sync` rebuild them, live events are
//! applied in id order, a duplicate is skipped and a gap is counted (or held back when relayed).
//! Not how events arrive: a direct `EventSource` and the share-tabs relay both deliver here, so
//! the rules live in one place.

use crate::model::{EventId, EventKind, Hello, Quote, Removal, Update as PriceUpdate};
use crate::widgets::rows::Rows;
use crate::widgets::wire_status::{ReadyState, ShareRole, WireStatus};
use leptos::prelude::*;
use std::cell::Cell;
use std::rc::Rc;

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
    pub(super) last: Rc<Cell<Option<EventId>>>,
    /// Between `reset` and `sync`: snapshot `add`s, which carry no id of their own.
    in_snapshot: Rc<Cell<bool>>,
    /// Relayed delivery (`?share=tabs`): an event that skips ahead is held back, not applied,
    /// and the hub asks the leader for what is missing. (A direct stream is ordered by the
    /// server, so there it would be a bug: it is applied and counted.)
    pub(super) hold_gaps: Rc<Cell<bool>>,
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
    pub(super) fn last(&self) -> Option<EventId> {
        self.last.get()
    }

    /// The id the server-rendered rows were taken at: live events continue after it.
    pub fn start_at(&self, from: EventId) {
        self.last.set(Some(from));
    }

    /// One SSE event: its kind, the EventSource's `lastEventId` after it, and its data.
    pub fn deliver(&self, kind: EventKind, id: &str, data: &str) -> Delivery {
        match kind {
            EventKind::Hello => match serde_json::from_str::<Hello>(data) {
                Ok(hello) => self.status.update(|s| {
                    if s.hello.is_some() {
                        s.reconnects += 1;
                    }
                    s.state = ReadyState::Open;
                    s.hello = Some(hello);
                }),
                Err(error) => self.reject(kind, &error.to_string()),
            },
            EventKind::Reset => {
                self.in_snapshot.set(true);
                self.rows.clear();
            }
            // Snapshot `add`s carry no id of their own: apply them as they come.
            EventKind::Add if self.in_snapshot.get() => self.apply(kind, data),
            EventKind::Sync => {
                self.in_snapshot.set(false);
                if let Ok(event) = EventId::parse(id) {
                    self.advance_to(event, id);
                }
            }
            EventKind::Add | EventKind::Update | EventKind::Remove => {
                let event = match EventId::parse(id) {
                    Ok(event) => event,
                    Err(error) => {
                        self.reject(kind, &error.to_string());
                        return Delivery::Applied;
                    }
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
                self.apply(kind, data);
                self.advance_to(event, id);
            }
            // The connection state follows when the stream ends.
            // Both end the stream with a `retry:`; the browser comes back by itself. A
            // heartbeat is the watchdog's (`subscription::open`) and carries nothing to apply.
            EventKind::Shutdown | EventKind::Refused | EventKind::Heartbeat => {}
        }
        Delivery::Applied
    }

    /// `add`, `update` or `remove`, applied to the rows. A payload that does not parse is
    /// skipped and shown in the widget's header ([`Sink::reject`]): one bad event must not take
    /// the widget down — and in the wasm a panic would take down every island on the page
    /// (`panic = "abort"`), so nothing on this path unwraps.
    fn apply(&self, kind: EventKind, data: &str) {
        let applied = match kind {
            EventKind::Add => serde_json::from_str::<Quote>(data).map(|quote| self.rows.add(quote)),
            EventKind::Update => serde_json::from_str::<PriceUpdate>(data)
                .map(|update| self.rows.update(&update)),
            EventKind::Remove => serde_json::from_str::<Removal>(data)
                .map(|removal| self.rows.remove(&removal.symbol)),
            _ => Ok(()),
        };
        if let Err(error) = applied {
            self.reject(kind, &error.to_string());
        }
    }

    /// An event this widget could not read: counted and its reason shown, the stream left
    /// open (the next events may well be fine).
    fn reject(&self, kind: EventKind, reason: &str) {
        self.status.update(|s| {
            s.rejected += 1;
            s.rejection = Some(format!("{kind}: {reason}"));
        });
    }

    fn advance_to(&self, event: EventId, id: &str) {
        self.last.set(Some(event));
        self.last_id.set(id.to_owned());
    }

    /// The stream dropped (`reconnecting`: the browser retries by itself) or gave up (`closed`).
    pub fn connection_state(&self, state: ReadyState) {
        self.status.update(|s| s.state = state);
    }

    /// Sharing was asked for but cannot work here: the header says this widget streams alone.
    pub fn sharing_unavailable(&self) {
        self.share_role(ShareRole::Unavailable);
    }

    pub(super) fn has_hello(&self) -> bool {
        self.status.with_untracked(|s| s.hello.is_some())
    }

    pub(super) fn share_role(&self, role: ShareRole) {
        self.status.update(|s| s.shared = Some(role));
    }
}
