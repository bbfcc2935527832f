//! `Accept` negotiation for a topic's events URL: the stream, a JSON snapshot, or 406.
//!
//! One URL, two representations, chosen the HTTP way: an `EventSource` sends
//! `Accept: text/event-stream`, `curl` sends `*/*` (and gets the stream, which is what someone
//! typing the URL wants), a script that asks for `application/json` gets the topic's members and
//! current id in one response. Anything else is refused with 406 rather than sent a stream it
//! cannot read. Rejected: a separate `/snapshot` URL — two URLs for one resource, and a client
//! would have to know both.

//!
//! Parsed by hand rather than with a content-negotiation crate: the rules we need are three
//! (media ranges, wildcards, `q=0` as a refusal), and ranking by `q` beyond "zero or not" would
//! change nothing for the two types we serve.

/// What a request for a topic's events URL gets.
/// (`Copy`: it travels from the extractor into the handler and into an error, by value.)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Representation {
    /// `text/event-stream`: the live stream, for `EventSource` and anything that asks for it.
    EventStream,
    /// `application/json`: the topic's members and current id in one response, for a script
    /// that wants the state now and no stream to hold open.
    Json,
}

/// Picks the representation from an `Accept` header: the event stream if it is acceptable at
/// all, else JSON, else nothing. Media ranges with `q=0` are refusals.
///
/// `EventSource` sends exactly `text/event-stream`; a browser's address bar sends
/// `text/html,…,*/*;q=0.8` and gets the stream (readable as text in a tab); `curl -H 'Accept:
/// application/json'` gets the snapshot.
pub fn negotiate(accept: &str) -> Option<Representation> {
    // Each comma-separated media range, minus those refused with `q=0`. Other parameters and
    // other `q` values are ignored: any positive preference is enough to be served.
    let acceptable: Vec<&str> = accept
        .split(',')
        .filter_map(|range| {
            let mut parts = range.split(';').map(str::trim);
            let media = parts.next()?;
            let refused = parts
                .filter_map(|param| param.split_once('='))
                .any(|(name, value)| {
                    name.trim().eq_ignore_ascii_case("q") && value.trim().parse::<f32>() == Ok(0.0)
                });
            (!refused && !media.is_empty()).then_some(media)
        })
        .collect();
    // A type is allowed by its exact name, its family (`text/*`) or the full wildcard. Case
    // does not matter in media types (RFC 9110 §8.3.1).
    let allows = |exact: &str, family: &str| {
        acceptable
            .iter()
            .any(|m| m.eq_ignore_ascii_case(exact) || m.eq_ignore_ascii_case(family) || *m == "*/*")
    };
    // The stream wins whenever it is allowed at all: it is what this URL is for, and the
    // snapshot is the fallback for clients that explicitly cannot take it.
    if allows("text/event-stream", "text/*") {
        Some(Representation::EventStream)
    } else if allows("application/json", "application/*") {
        Some(Representation::Json)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Accept negotiation: the stream for SSE or wildcards, JSON when only JSON is allowed,
    /// nothing for anything else or an explicit refusal.
    #[test]
    fn accept_picks_the_representation() {
        use Representation::*;
        // What every `EventSource` sends.
        assert_eq!(negotiate("text/event-stream"), Some(EventStream));
        // What `curl` sends: someone typing the URL wants to watch the stream.
        assert_eq!(negotiate("*/*"), Some(EventStream));
        // A script that asks for JSON alone gets the snapshot.
        assert_eq!(negotiate("application/json"), Some(Json));
        // The stream refused explicitly (`q=0`) and JSON allowed: JSON, not a 406.
        assert_eq!(
            negotiate("text/event-stream;q=0, application/json"),
            Some(Json)
        );
        // A browser navigating to the URL with a page's `Accept`: neither type, a 406.
        assert_eq!(negotiate("text/html"), None);
        assert_eq!(negotiate("image/png, text/event-stream; q=0"), None);
        // A low but non-zero `q` is still acceptable: only zero refuses.
        assert_eq!(negotiate("text/event-stream; q=0.5"), Some(EventStream));
    }
}
