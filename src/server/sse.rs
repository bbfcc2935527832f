//! The Server-Sent Events wire format, written once per event.
//!
//! An SSE stream is UTF-8 text: events separated by a blank line, each a few `field: value`
//! lines (WHATWG HTML, "Server-sent events", §9.2). The fields:
//!
//! - `event:` the event type the browser dispatches (`es.addEventListener("update", …)`);
//!   without it, `message`.
//! - `data:` the payload. A value containing line breaks is sent as several `data:` lines, which
//!   the browser joins with `\n`.
//! - `id:` sets the stream's *last event id*. On reconnect the browser sends it back as the
//!   `Last-Event-ID` header, which is how a stream resumes where it left off.
//! - `retry:` milliseconds the browser waits before reconnecting. Digits only, or it is ignored.
//! - a line starting with `:` is a comment: ignored by the browser, but it is bytes on the wire,
//!   which keeps idle streams alive through proxies.
//!
//! What can go wrong is injection: a CR or LF inside `event:` or `id:` would end the field early
//! and start a field of the attacker's choosing. So single-line fields have CR, LF (and for
//! `id`, NUL, which makes browsers ignore the id) removed, and `data` is split on every line
//! break the spec recognises (CRLF, CR, LF). Callers pass `&str`, so the output is always UTF-8.
//!
//! Why hand-written rather than axum's `sse::Event`: axum's type is built per response, while
//! tickerplex frames each event ONCE into [`Bytes`] and hands the same bytes to every subscriber
//! (a reference-count increment, not a serialisation, per subscriber). The rules above are small
//! enough to read in full, and the tests check them against a parser from the registry.
//!
//! One event as this module frames it, byte for byte (`\n` line ends, a blank line after):
//!
//! ```text
//! event: update
//! id: 1764500000000-413
//! data: {"symbol":"QBIT","price":214.1,"change":1.7,"change_pct":0.8,"time":"…"}
//!
//! ```

use crate::model::EventKind;
use bytes::Bytes;
use std::fmt::Write;
use std::time::Duration;

/// One event, ready to frame. Borrowed fields: building one allocates nothing; only
/// [`Event::to_bytes`] does, once.
#[derive(Debug, Default, Clone, Copy)]
pub struct Event<'a> {
    /// The `event:` field; `None` sends an unnamed event (a browser's `message`).
    pub event: Option<&'a str>,
    /// The `id:` field; `None` leaves the browser's last event id as it was (snapshot `add`s
    /// carry none, so a reconnect mid-snapshot resumes from the previous real id).
    pub id: Option<&'a str>,
    /// The payload, any text; line breaks become several `data:` lines.
    pub data: &'a str,
    /// The `retry:` field: the browser's reconnect delay from now on.
    pub retry: Option<Duration>,
}

impl<'a> Event<'a> {
    /// An event of one of tickerplex's [`EventKind`]s: what the server sends.
    pub fn new(kind: EventKind, data: &'a str) -> Self {
        Event::named(kind.as_str(), data)
    }

    /// An event with any type name. The encoder must be safe for every name, not only ours, so
    /// the injection tests below frame hostile ones through this.
    pub fn named(event: &'a str, data: &'a str) -> Self {
        Event {
            event: Some(event),
            data,
            ..Default::default()
        }
    }

    /// With an `id:` field (builder style, so a call reads like the frame it makes).
    pub fn id(self, id: &'a str) -> Self {
        Event {
            id: Some(id),
            ..self
        }
    }

    /// With a `retry:` field: whole milliseconds (the spec accepts digits only, so a `Duration`
    /// rather than a string makes a malformed value impossible).
    pub fn retry(self, retry: Duration) -> Self {
        Event {
            retry: Some(retry),
            ..self
        }
    }

    /// Frames the event: its field lines, then the blank line that dispatches it.
    pub fn to_bytes(&self) -> Bytes {
        // One allocation in the common case: the payload plus room for the field names, an id
        // and a retry. A `String`, then `Bytes` — the frame is immutable from here on and every
        // subscriber shares it.
        let mut out = String::with_capacity(self.data.len() + 48);
        if let Some(retry) = self.retry {
            // A number, so digits only by construction.
            let _ = writeln!(out, "retry: {}", retry.as_millis());
        }
        if let Some(event) = self.event {
            single_line_field(&mut out, "event", event, &['\r', '\n']);
        }
        if let Some(id) = self.id {
            single_line_field(&mut out, "id", id, &['\r', '\n', '\0']);
        }
        // Always at least one `data:` line, even for an empty payload: an event without data is
        // not dispatched by the browser at all.
        for line in lines(self.data) {
            out.push_str("data: ");
            out.push_str(line);
            out.push('\n');
        }
        out.push('\n');
        Bytes::from(out)
    }
}

/// A comment block (`: text`), for keep-alives and notes a human may read in devtools.
///
/// A comment is the cheapest bytes that keep a connection busy: a browser's `EventSource`
/// ignores them, but every proxy and NAT on the way sees traffic. Multi-line text becomes one
/// `: ` line per line, so a comment can never turn into a field.
pub fn comment(text: &str) -> Bytes {
    let mut out = String::with_capacity(text.len() + 4);
    for line in lines(text) {
        out.push_str(": ");
        out.push_str(line);
        out.push('\n');
    }
    out.push('\n');
    Bytes::from(out)
}

/// Writes `name: value` on one line, dropping the characters that would end the line early.
/// Dropped rather than escaped: SSE has no escape syntax, and rejecting the event would let a
/// hostile symbol or id suppress it.
fn single_line_field(out: &mut String, name: &str, value: &str, forbidden: &[char]) {
    out.push_str(name);
    out.push_str(": ");
    out.extend(value.chars().filter(|c| !forbidden.contains(c)));
    out.push('\n');
}

/// Splits on CRLF, CR or LF — the three line endings an SSE parser recognises. Not
/// `str::lines`, which knows only LF and CRLF: a lone CR would survive into a `data:` line and
/// a browser would split the line there, turning the rest into a field of its own.
///
/// An empty text is one empty line (so an event with empty data still gets its `data:` line),
/// and a text ending in a line break ends with an empty line (so the break survives the trip).
fn lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let text = rest?;
        match text.find(['\r', '\n']) {
            Some(at) => {
                let skip = if text[at..].starts_with("\r\n") { 2 } else { 1 };
                rest = Some(&text[at + skip..]);
                Some(&text[..at])
            }
            None => {
                rest = None;
                Some(text)
            }
        }
    })
}

/// Serialises an event's payload to the JSON of its `data:` field.
///
/// It cannot fail for the payloads in [`crate::model`]: `serde_json` fails only on maps with
/// non-string keys or on a `Serialize` impl that returns an error, and those payloads are plain
/// derived structs of strings, numbers and enums. A failure would be a bug in this crate caught
/// by every test that opens a stream, so it panics with that sentence rather than send a
/// malformed event.
pub fn json(payload: &impl serde::Serialize) -> String {
    serde_json::to_string(payload).expect("event payloads are plain structs and always serialise")
}

#[cfg(test)]
mod tests {
    use super::*;
    use eventsource_stream::Eventsource;
    use futures_util::StreamExt;
    use proptest::prelude::*;

    /// Reads `bytes` back with `eventsource-stream`, a parser that follows the spec and that
    /// we did not write: the tests grade the encoder against someone else's reading of the
    /// spec, not ours. Its own small runtime, since the parser is a `Stream`.
    fn parse(bytes: Bytes) -> Vec<eventsource_stream::Event> {
        // A runtime per call: the encoder's tests are plain `#[test]`s (proptest drives one of
        // them), and a current-thread runtime is cheap enough to build for each parse.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(async {
            futures_util::stream::iter([Ok::<_, std::convert::Infallible>(bytes)])
                .eventsource()
                .map(|event| event.expect("the encoder writes a valid stream"))
                .collect()
                .await
        })
    }

    /// Every field is written as `name: value` lines ending in LF, then one blank line.
    #[test]
    fn an_event_is_lf_framed_fields_then_a_blank_line() {
        let bytes = Event::new(EventKind::Update, r#"{"p":1}"#)
            .id("7-3")
            .retry(Duration::from_millis(2500))
            .to_bytes();
        // Byte for byte: `retry` first (so it applies to this very stream), LF only (what
        // every parser accepts), and the blank line that makes the browser dispatch.
        assert_eq!(
            &bytes[..],
            b"retry: 2500\nevent: update\nid: 7-3\ndata: {\"p\":1}\n\n"
        );
    }

    /// Multi-line data becomes one `data:` line per line, whatever the line ending.
    #[test]
    fn multi_line_data_is_split_into_several_data_lines() {
        let bytes = Event::new(EventKind::Add, "a\nb\r\nc\rd").to_bytes();
        assert_eq!(
            &bytes[..],
            b"event: add\ndata: a\ndata: b\ndata: c\ndata: d\n\n"
        );
        // The browser joins `data:` lines with LF: the payload arrives with LF line ends only.
        assert_eq!(parse(bytes)[0].data, "a\nb\nc\nd");
    }

    /// CR and LF cannot break out of `event:` or `id:`; NUL cannot void the id.
    #[test]
    fn line_breaks_cannot_inject_fields() {
        // A name and an id crafted to smuggle a second field: after framing they are one odd
        // name and one odd id, and the data is untouched.
        let bytes = Event::named("update\nevent: evil", "x")
            .id("1-1\r\ndata: injected\0")
            .to_bytes();
        let events = parse(bytes);
        // One event: neither the name nor the id started a field or an event of its own.
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].event, "updateevent: evil");
        assert_eq!(events[0].id, "1-1data: injected");
        assert_eq!(events[0].data, "x");
    }

    /// A comment is ignored by the parser (it dispatches nothing), even across lines.
    #[test]
    fn comments_dispatch_nothing() {
        // The exact bytes of a keep-alive: a comment line and the blank line that ends the block.
        assert_eq!(&comment("keep-alive")[..], b": keep-alive\n\n");
        // Two lines of comment are two `:` lines: neither becomes a field, so nothing dispatches.
        assert!(parse(comment("one\ntwo")).is_empty());
    }

    /// `retry` reaches the parser as the reconnection time.
    #[test]
    fn retry_is_digits_only_and_understood() {
        let events = parse(
            Event::new(EventKind::Hello, "{}")
                .retry(Duration::from_secs(3))
                .to_bytes(),
        );
        // Parsed as the reconnection time, not as an unknown field: digits only, milliseconds.
        assert_eq!(events[0].retry, Some(Duration::from_secs(3)));
    }

    proptest! {
        /// Any payload round-trips through a spec-following parser: the type and id arrive minus
        /// the characters that would break their line, the data with its line breaks as `\n`.
        #[test]
        // Any Unicode in every field, including lone CRs, CRLF pairs, NUL and the empty string:
        // proptest shrinks a failure to the smallest input that breaks the round trip.
        fn arbitrary_payloads_round_trip(event in any::<String>(), id in any::<String>(), data in any::<String>()) {
            let bytes = Event::named(&event, &data).id(&id).to_bytes();
            let parsed = parse(bytes);
            // The browser's reading of any line break: CRLF and a lone CR both become LF.
            let expected_data = data.replace("\r\n", "\n").replace('\r', "\n");
            // Even empty data dispatches: the spec tests for an empty buffer before it strips the
            // final LF, and `data: ` leaves one LF in the buffer.
            prop_assert_eq!(parsed.len(), 1);
            let mut expected_event: String = event.chars().filter(|c| *c != '\r' && *c != '\n').collect();
            if expected_event.is_empty() {
                expected_event = "message".into(); // the spec's default type
            }
            let expected_id: String = id.chars().filter(|c| !matches!(c, '\r' | '\n' | '\0')).collect();
            prop_assert_eq!(&parsed[0].event, &expected_event);
            prop_assert_eq!(&parsed[0].id, &expected_id);
            prop_assert_eq!(&parsed[0].data, &expected_data);
        }
    }
}
