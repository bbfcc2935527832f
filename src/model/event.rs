//! The protocol's words: the SSE event kinds ([`EventKind`]) and event ids ([`EventId`]).
//!
//! One enum for the `event:` field, compiled by both halves, so the server cannot send a name
//! the browser does not dispatch (and a typo is a compile error, not a widget that silently
//! ignores its events). Strings appear only at the edge: [`EventKind::as_str`] when framing,
//! [`EventKind::parse`] when the browser reads a `MessageEvent`'s type.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The `event:` field of every SSE event tickerplex sends (see [`crate::model`] for the table).
/// Serialised by its wire name (share-tabs relays events between tabs as JSON).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// First on every stream: its connection, protocol and how it started.
    Hello,
    /// A member joins the topic (live, with an id) or is listed in a snapshot (no id).
    Add,
    /// A member's price moved.
    Update,
    /// A member left the topic, and why.
    Remove,
    /// The `Last-Event-ID` could not be resumed; a fresh snapshot follows.
    Reset,
    /// The snapshot is complete; the stream is live from the id it carries.
    Sync,
    /// The server is draining; reconnect after the `retry:` that comes with it.
    Shutdown,
    /// The stream was not opened (a cap on open streams); why, and when to try again.
    Refused,
    /// Nothing else was sent for a while: proof of life, with no id (it must not move the
    /// browser's Last-Event-ID). Replaces the keep-alive comment, which keeps proxies awake
    /// just as well but which an `EventSource` never shows its page — so a page could not tell
    /// a quiet stream from a frozen server or a half-open connection.
    Heartbeat,
}

impl EventKind {
    /// Every kind, in the order a stream may carry them: what the browser listens for.
    pub const ALL: [EventKind; 9] = [
        EventKind::Hello,
        EventKind::Add,
        EventKind::Update,
        EventKind::Remove,
        EventKind::Reset,
        EventKind::Sync,
        EventKind::Shutdown,
        EventKind::Refused,
        EventKind::Heartbeat,
    ];

    /// The name on the wire (`event: update`).
    pub const fn as_str(self) -> &'static str {
        match self {
            EventKind::Hello => "hello",
            EventKind::Add => "add",
            EventKind::Update => "update",
            EventKind::Remove => "remove",
            EventKind::Reset => "reset",
            EventKind::Sync => "sync",
            EventKind::Shutdown => "shutdown",
            EventKind::Refused => "refused",
            EventKind::Heartbeat => "heartbeat",
        }
    }

    /// The kind named `name`, if tickerplex sends one by that name. A newer server may send a
    /// kind this build does not know: callers ignore it rather than fail.
    pub fn parse(name: &str) -> Option<EventKind> {
        EventKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An SSE event id: `<epoch>-<seq>`.
///
/// `seq` is per topic and gap-free, so "which events did I miss?" is arithmetic. `epoch` is fixed
/// for one run of the server; a restarted server has a new epoch, so an id from the old run is
/// recognisably stale and gets an explicit reset, never a replay of unrelated events that happen
/// to share sequence numbers.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EventId {
    pub epoch: u64,
    pub seq: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventIdError(pub String);

impl fmt::Display for EventIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed event id {:?}: expected <epoch>-<seq>", self.0)
    }
}

impl std::error::Error for EventIdError {}

impl EventId {
    /// Strict: two runs of ASCII digits joined by one `-`, each fitting a u64.
    pub fn parse(input: &str) -> Result<EventId, EventIdError> {
        let err = || EventIdError(input.chars().take(64).collect());
        let (epoch, seq) = input.split_once('-').ok_or_else(err)?;
        let number = |s: &str| {
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(err());
            }
            s.parse::<u64>().map_err(|_| err())
        };
        Ok(EventId {
            epoch: number(epoch)?,
            seq: number(seq)?,
        })
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.epoch, self.seq)
    }
}

impl TryFrom<String> for EventId {
    type Error = EventIdError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        EventId::parse(&value)
    }
}

impl From<EventId> for String {
    fn from(id: EventId) -> String {
        id.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kind's wire name parses back to that kind, and unknown names are not guessed.
    #[test]
    fn event_kinds_round_trip_through_their_wire_names() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(EventKind::parse("Update"), None);
        assert_eq!(EventKind::parse("ping"), None);
    }

    /// Ids round-trip through their text form, and anything else is malformed.
    #[test]
    fn event_ids_parse_strictly() {
        let id = EventId::parse("1700000000-42").unwrap();
        assert_eq!((id.epoch, id.seq), (1700000000, 42));
        assert_eq!(EventId::parse(&id.to_string()), Ok(id));
        for bad in [
            "",
            "42",
            "-1",
            "1-",
            "1-2-3",
            "a-1",
            "1-+2",
            "1 -2",
            "99999999999999999999-1",
        ] {
            assert!(EventId::parse(bad).is_err(), "{bad:?} should be malformed");
        }
    }

    proptest::proptest! {
        /// Any pair of numbers round-trips through the text form, which never exceeds 41 bytes
        /// (the events URL's bound on `Last-Event-ID`).
        #[test]
        fn any_id_round_trips(epoch in proptest::num::u64::ANY, seq in proptest::num::u64::ANY) {
            let id = EventId { epoch, seq };
            let text = id.to_string();
            proptest::prop_assert!(text.len() <= 41);
            proptest::prop_assert_eq!(EventId::parse(&text), Ok(id));
        }

        /// Any string at all: parsing never panics, and accepts exactly two runs of ASCII digits
        /// joined by one `-`, each fitting a u64 — checked against a regex-free reading of that rule.
        #[test]
        fn any_string_parses_only_if_it_is_an_id(input in "\\PC{0,48}|[0-9]{1,22}-[0-9]{1,22}") {
            let expected = input.split_once('-').is_some_and(|(a, b)| {
                [a, b].iter().all(|part| {
                    !part.is_empty()
                        && part.bytes().all(|c| c.is_ascii_digit())
                        && part.parse::<u64>().is_ok()
                })
            });
            proptest::prop_assert_eq!(EventId::parse(&input).is_ok(), expected, "{:?}", input);
        }
    }
}
