//! Topic names: what a widget subscribes to, in their path form (`sector/energy`).
//!
//! Parse, don't validate: a [`TopicName`] can only be made by [`TopicName::parse`], so every
//! handler, widget and log key that holds one holds a well-formed name. Whether a sector exists
//! is the market's business, not this type's.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A topic a widget can subscribe to.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum TopicName {
    /// Ten stocks; now and then one leaves and another joins.
    Watchlist,
    /// The top five by % change since the open.
    Movers,
    /// Synthetic indices, one per sector and one for the whole market.
    Indices,
    /// The listed members of one sector (lowercase slug, e.g. `energy`).
    Sector(String),
    /// Numbered ticks at a fixed rate, for the load generator (`TICKERPLEX_BENCH_RATE`; absent
    /// unless that is set). See `server::demo::bench`. Shard `0` is `bench`, shard `k` is `bench-k` (one path segment, which the events route's `{topic}` matches)
    /// (`TICKERPLEX_BENCH_TOPICS` of them, for the publish-heavy benchmark).
    Bench(u16),
    /// The session's own portfolio (`/api/portfolio/events`): private, never in the catalogue,
    /// chosen by the session cookie rather than the URL. See `server::trading::portfolio`.
    Portfolio,
    /// This instance's own numbers, once a second (`/api/ops/events`, the `/ops` page): never
    /// in the catalogue. See `server::observe::ops`.
    Ops,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicError(pub String);

impl fmt::Display for TopicError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown topic {:?}: expected watchlist, movers, indices or sector/<name>",
            self.0
        )
    }
}

impl std::error::Error for TopicError {}

impl TopicName {
    /// Parses the path form: `watchlist`, `movers`, `indices`, `sector/<slug>`. Whether a sector
    /// exists is the market's business; this only checks the shape.
    pub fn parse(input: &str) -> Result<TopicName, TopicError> {
        match input {
            "watchlist" => Ok(TopicName::Watchlist),
            "movers" => Ok(TopicName::Movers),
            "indices" => Ok(TopicName::Indices),
            "portfolio" => Ok(TopicName::Portfolio),
            "ops" => Ok(TopicName::Ops),
            "bench" => Ok(TopicName::Bench(0)),
            _ if input.starts_with("bench-") => bench_shard(&input["bench-".len()..])
                .map(TopicName::Bench)
                .ok_or_else(|| TopicError(input.to_owned())),
            _ => match input.strip_prefix("sector/") {
                Some(slug)
                    if !slug.is_empty()
                        && slug.len() <= 32
                        && slug.chars().all(|c| c.is_ascii_lowercase() || c == '-') =>
                {
                    Ok(TopicName::Sector(slug.to_owned()))
                }
                _ => Err(TopicError(input.to_owned())),
            },
        }
    }

    /// The URL of this topic's event stream.
    pub fn events_url(&self) -> String {
        match self {
            TopicName::Portfolio => "/api/portfolio/events".to_owned(),
            TopicName::Ops => "/api/ops/events".to_owned(),
            _ => format!("/api/topics/{self}/events"),
        }
    }
}

/// A bench shard's number in its one spelling (`bench-7`, never `bench-07` or `bench-0`, which
/// is `bench`), so one topic has one name and one log key.
fn bench_shard(digits: &str) -> Option<u16> {
    let shard: u16 = digits.parse().ok()?;
    (shard > 0 && shard.to_string() == digits).then_some(shard)
}

impl fmt::Display for TopicName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TopicName::Watchlist => f.write_str("watchlist"),
            TopicName::Movers => f.write_str("movers"),
            TopicName::Indices => f.write_str("indices"),
            TopicName::Portfolio => f.write_str("portfolio"),
            TopicName::Ops => f.write_str("ops"),
            TopicName::Sector(slug) => write!(f, "sector/{slug}"),
            TopicName::Bench(0) => f.write_str("bench"),
            TopicName::Bench(shard) => write!(f, "bench-{shard}"),
        }
    }
}

impl TryFrom<String> for TopicName {
    type Error = TopicError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        TopicName::parse(&value)
    }
}

impl From<TopicName> for String {
    fn from(topic: TopicName) -> String {
        topic.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Topic names round-trip through their path form; unknown shapes are refused.
    #[test]
    fn topic_names_parse_from_their_path_form() {
        for topic in [
            "watchlist",
            "movers",
            "indices",
            "sector/energy",
            "bench",
            "bench-7",
        ] {
            assert_eq!(TopicName::parse(topic).unwrap().to_string(), topic);
        }
        // A bench shard has one spelling: no `bench-0` beside `bench`, no leading zeros.
        let bad_shards = [
            "bench-0",
            "bench-07",
            "bench-+7",
            "bench-",
            "bench-65536",
            "bench/7",
        ];
        for bad in ["", "sector/", "sector/Energy", "stocks", "sector/a/b"]
            .into_iter()
            .chain(bad_shards)
        {
            assert!(TopicName::parse(bad).is_err(), "{bad:?}");
        }
    }
}
