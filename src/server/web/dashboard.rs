//! The dashboard's URL: which widgets the page shows (`?widgets=watchlist,movers&count=12`).
//!
//! Parse, don't validate: the two query parameters become a list of topics that exist and a
//! widget count in bounds, or a [`ChoiceError`] that names what was wrong. The page answers
//! 400 with that sentence (`widgets::dashboard_snapshots` sets the status), never a 500, a
//! clamp the reader did not ask for, or a page of thousands of widgets.

use crate::model::TopicName;
use crate::server::pubsub::topics::Topics;

/// The most widgets one page may show. Chromium opens at most 256 streams on one HTTP/2
/// connection and the server allows as many (`connection::MAX_STREAMS_PER_CONNECTION`); 48
/// stays far below, with room for the page's own requests.
pub const MAX_WIDGETS: usize = 48;

/// The longest `?widgets=` list accepted, in bytes: 48 of the longest names (`sector/` and a
/// 32-byte slug) with their commas fit in it; anything longer is not a list a person wrote.
pub const MAX_WIDGETS_PARAM_BYTES: usize = 2048;

/// Why a dashboard URL was refused: one sentence, shown on the page and sent as the 400's body.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum ChoiceError {
    #[error("widgets: the list is longer than {MAX_WIDGETS_PARAM_BYTES} bytes")]
    /// The `?widgets=` text is longer than any list of real names could be.
    ListTooLong,
    #[error("widgets: more than {MAX_WIDGETS} names")]
    /// More names than a page may show.
    TooManyNames,
    #[error("widgets: {0}")]
    /// A name that is not a topic name's shape (the parser's reason).
    BadName(String),
    #[error("widgets: no topic {0} (see /api/topics)")]
    /// A well-formed name no topic has.
    NoSuchTopic(TopicName),
    #[error("count: {0:?} is not a whole number from 1 to {MAX_WIDGETS}")]
    /// `?count=` is not a whole number from 1 to the cap (echoed cut short).
    BadCount(String),
}

/// The widgets a dashboard URL asks for, in order: `widgets` (default: every topic) repeated
/// until there are `count` of them (default: one of each, at most [`MAX_WIDGETS`]).
pub fn choose(
    catalogue: &Topics,
    widgets: Option<&str>,
    count: Option<&str>,
) -> Result<Vec<TopicName>, ChoiceError> {
    let topics: Vec<TopicName> = match widgets.filter(|w| !w.trim().is_empty()) {
        None => catalogue.iter().map(|t| t.name().clone()).collect(),
        // Measured before it is split: a megabyte of commas must not become a vector of a
        // million empty names first.
        Some(list) if list.len() > MAX_WIDGETS_PARAM_BYTES => return Err(ChoiceError::ListTooLong),
        Some(list) => {
            let names: Vec<&str> = list.split(',').map(str::trim).collect();
            if names.len() > MAX_WIDGETS {
                return Err(ChoiceError::TooManyNames);
            }
            names
                .into_iter()
                .map(|name| {
                    let topic =
                        TopicName::parse(name).map_err(|e| ChoiceError::BadName(e.to_string()))?;
                    // A name that parses but names no topic is refused too: a widget that
                    // could never receive an event is a typo, and the reason lists where to look.
                    match catalogue.get(&topic) {
                        Some(_) => Ok(topic),
                        None => Err(ChoiceError::NoSuchTopic(topic)),
                    }
                })
                .collect::<Result<_, _>>()?
        }
    };
    let count = match count.map(str::trim).filter(|c| !c.is_empty()) {
        None => topics.len().min(MAX_WIDGETS),
        Some(text) => match text.parse::<usize>() {
            Ok(n) if (1..=MAX_WIDGETS).contains(&n) => n,
            // Shown as typed, cut short: the reason must not echo a megabyte back.
            _ => return Err(ChoiceError::BadCount(text.chars().take(32).collect())),
        },
    };
    // Repeated, in order: `?widgets=watchlist&count=24` is 24 streams of one topic, the page
    // that shows 24 widgets on one connection (and, over HTTP/1.1, 18 of them starving).
    Ok(topics.iter().cycle().take(count).cloned().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalogue() -> Topics {
        crate::server::pubsub::feed::topics(1)
    }

    /// The defaults: every topic once; a list repeated to `count`.
    #[test]
    fn a_good_url_chooses_its_widgets() {
        // No parameters: the dashboard a newcomer opens, one widget per topic.
        let all = choose(&catalogue(), None, None).unwrap();
        assert_eq!(all.len(), catalogue().iter().count().min(MAX_WIDGETS));
        // Spaces after the comma are forgiven; the list repeats in order until there are five.
        let chosen = choose(&catalogue(), Some("watchlist, movers"), Some("5")).unwrap();
        let names: Vec<String> = chosen.iter().map(ToString::to_string).collect();
        assert_eq!(
            names,
            ["watchlist", "movers", "watchlist", "movers", "watchlist"]
        );
    }

    /// Each way a URL can be wrong has its own reason, and none is clamped or ignored.
    #[test]
    fn a_bad_url_is_refused_with_a_reason() {
        let c = catalogue();
        // 3 000 bytes, past the 2 KiB bound: refused before it is split.
        let long = "watchlist,".repeat(300);
        // One name past the cap, each of them valid: the count alone is the reason.
        let many = vec!["movers"; MAX_WIDGETS + 1].join(",");
        let cases = [
            (Some(long.as_str()), None, ChoiceError::ListTooLong),
            (Some(many.as_str()), None, ChoiceError::TooManyNames),
            (
                Some("sector/nope"),
                None,
                ChoiceError::NoSuchTopic(TopicName::parse("sector/nope").unwrap()),
            ),
            // Zero, one past the cap, a sign, and a float's notation: none is clamped to something
            // else.
            (None, Some("0"), ChoiceError::BadCount("0".into())),
            (None, Some("49"), ChoiceError::BadCount("49".into())),
            (None, Some("-1"), ChoiceError::BadCount("-1".into())),
            (None, Some("1e9"), ChoiceError::BadCount("1e9".into())),
        ];
        for (widgets, count, expected) in cases {
            assert_eq!(choose(&c, widgets, count), Err(expected));
        }
        // A path in the list is not a topic name at all: refused by the parser, before any lookup.
        assert!(matches!(
            choose(&c, Some("../etc/passwd"), None),
            Err(ChoiceError::BadName(_))
        ));
    }
}
