//! The feed's rules: who is in each topic, and that a seed replays a run.
//!
//! The feed is driven by hand here (`step`), with the clock fixed at the Unix epoch, so the
//! only source of variation is the seed — which is exactly what the determinism test checks.

use super::*;
use crate::server::pubsub::topics::Live;

/// A feed on fresh in-memory topics, opened (every topic's first members published).
async fn feed(seed: u64) -> (Feed, Arc<Topics>) {
    // Epoch 1 and the Unix epoch as "now": nothing in these tests depends on the real clock.
    let topics = Arc::new(topics(1));
    let mut feed = Feed::new(seed, topics.clone(), DateTime::UNIX_EPOCH);
    // The open: every topic gets its first members before any test looks.
    feed.publish(DateTime::UNIX_EPOCH).await;
    (feed, topics)
}

/// How many members `name` has now, as a new subscriber's snapshot would list them.
async fn members(topics: &Topics, name: TopicName) -> usize {
    // Through the snapshot, not the feed's own state: what a browser opening the topic sees.
    topics
        .get(&name)
        .unwrap()
        .snapshot()
        .await
        .unwrap()
        .members
        .len()
}

/// The watchlist starts with ten stocks, the movers with five, the indices with six.
#[tokio::test]
async fn the_watchlist_holds_ten_and_the_movers_five() {
    // Right after the open: the counts a reader sees on the first page. Six indices: one per
    // sector, and one for the whole market.
    let (_feed, topics) = feed(1).await;
    assert_eq!(members(&topics, TopicName::Watchlist).await, WATCHLIST_SIZE);
    assert_eq!(members(&topics, TopicName::Movers).await, MOVERS_SIZE);
    assert_eq!(
        members(&topics, TopicName::Indices).await,
        SECTORS.len() + 1
    );
}

/// Two feeds with one seed publish identical event streams.
#[tokio::test]
async fn a_seeded_feed_publishes_the_same_events() {
    async fn run(seed: u64) -> Vec<bytes::Bytes> {
        let (mut feed, topics) = feed(seed).await;
        for _ in 0..200 {
            feed.step(DateTime::UNIX_EPOCH).await;
        }
        // Everything the movers topic published, as a client resuming from before the first
        // event would receive it: the run's whole output, byte for byte.
        let movers = topics.get(&TopicName::Movers).unwrap();
        movers.subscribe(Some("1-0")).await.unwrap().prelude
    }
    // Byte for byte, not "the same symbols": ids, prices and the order of events all come from the
    // seed, so a bug report's seed reproduces its run exactly.
    assert_eq!(run(5).await, run(5).await);
}

/// Over a few hundred ticks the watchlist both loses and gains members: `remove` + `add`.
#[tokio::test]
async fn the_watchlist_changes_membership_by_itself() {
    let (mut feed, topics) = feed(2).await;
    let watchlist = topics.get(&TopicName::Watchlist).unwrap();
    let mut subscription = watchlist.subscribe(None).await.unwrap();
    // Six hundred ticks is about three minutes of market at the default rate: with a rotation
    // chance of 1/60 per tick and churn at 1/40, both kinds of change are all but certain (and
    // the seed makes "all but" into "always" for this test).
    let mut text = String::new();
    for _ in 0..600 {
        feed.step(DateTime::UNIX_EPOCH).await;
        while let Some(frame) = subscription.live.try_recv().ok().and_then(Live::event) {
            text.push_str(&String::from_utf8_lossy(&frame.bytes));
        }
    }
    assert!(text.contains("event: remove"), "no remove in 600 ticks");
    assert!(text.contains("event: add"), "no add in 600 ticks");
    // And after all that churn, still ten: every `remove` had its `add`.
    assert_eq!(members(&topics, TopicName::Watchlist).await, WATCHLIST_SIZE);
}

/// The members the feed keeps as the base of each difference are exactly the log's: a feed
/// that reads every topic back from the log before every tick publishes the same events, byte
/// for byte, as one that diffs against what it published itself.
#[tokio::test]
async fn the_kept_members_are_the_logs() {
    async fn run(read_back_every_tick: bool) -> Vec<bytes::Bytes> {
        let (mut feed, topics) = feed(7).await;
        for _ in 0..300 {
            // `forget_published` makes the next step read every topic back from the log, as it does
            // after an append whose outcome is unknown: the two runs must not differ by a byte.
            if read_back_every_tick {
                feed.forget_published();
            }
            feed.step(DateTime::UNIX_EPOCH).await;
        }
        // Every topic's whole output, as a client resuming from before its first event reads it.
        let mut output = Vec::new();
        for topic in topics.iter() {
            output.extend(topic.subscribe(Some("1-0")).await.unwrap().prelude);
        }
        output
    }
    let kept = run(false).await;
    // Not vacuous: 300 ticks of eight topics publish thousands of events.
    assert!(kept.len() > 1_000, "only {} events", kept.len());
    assert_eq!(kept, run(true).await);
}
