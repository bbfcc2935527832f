use super::*;

/// Ticks are published in order, numbered from 0, each stamped with its due time: `rate`
/// apart on the monotonic clock, never earlier than when the publisher started.
#[tokio::test(start_paused = true)]
async fn ticks_are_numbered_and_stamped_with_their_schedule() {
    // A catalogue with no sectors and the bench topic added, as bench mode builds it.
    let mut topics = Topics::new(1, &[]);
    for topic in super::topics(1, None, 1) {
        topics.add(topic);
    }
    let topics = Arc::new(topics);
    // Subscribed before the publisher starts: tick 0 is in the receiver when it is published.
    let mut live = topics
        .get(&TopicName::Bench(0))
        .unwrap()
        .subscribe(None)
        .await
        .unwrap()
        .live;
    // Paused time moves tokio's clock only; the stamps come from CLOCK_MONOTONIC, which
    // keeps running, so "not before the start" is the check that holds either way.
    let before = monotonic_ns();
    let shutdown = Shutdown::new(|| {});
    // 100 ticks a second on one topic: every tick is this subscriber's, 10 ms apart.
    let publisher = tokio::spawn(run(topics.clone(), 100.0, 1, shutdown.clone()));

    let mut ticks = Vec::new();
    for _ in 0..5 {
        // Read back through the frame's `data:` line, as the load generator reads it: the test
        // checks the bytes a client gets, not the publisher's own values.
        let frame = live.recv().await.unwrap().event().unwrap();
        let text = String::from_utf8(frame.bytes.to_vec()).unwrap();
        let data = text.lines().find_map(|l| l.strip_prefix("data: ")).unwrap();
        ticks.push(serde_json::from_str::<Tick>(data).unwrap());
    }
    // The drain ends the publisher: its task must return, not be aborted, so `await` proves it.
    shutdown.begin();
    publisher.await.unwrap();

    assert_eq!(
        ticks.iter().map(|t| t.n).collect::<Vec<_>>(),
        [0, 1, 2, 3, 4]
    );
    assert!(ticks[0].sent_ns >= before, "stamped on the monotonic clock");
    // Exactly 10 ms apart: the stamps are the schedule's, not the (paused) moments of
    // sending, which is what makes the latency figures open-loop.
    for pair in ticks.windows(2) {
        assert_eq!(
            pair[1].sent_ns - pair[0].sent_ns,
            10_000_000,
            "10 ms apart at 100/s"
        );
    }
}

/// With three shards, `bench-1` gets ticks 1, 4, 7…: every third, in order, none twice —
/// what the load generator counts as "every tick this stream should have".
#[tokio::test(start_paused = true)]
async fn shards_take_the_ticks_round_robin() {
    // Three bench shards and nothing else, as `TICKERPLEX_BENCH_TOPICS=3` builds them.
    let mut topics = Topics::new(1, &[]);
    for topic in super::topics(1, None, 3) {
        topics.add(topic);
    }
    let topics = Arc::new(topics);
    let mut live = topics
        .get(&TopicName::parse("bench-1").unwrap())
        .unwrap()
        .subscribe(None)
        .await
        .unwrap()
        .live;
    let shutdown = Shutdown::new(|| {});
    // 300 a second over three shards: 100 a second on each, the same per-topic rate as above.
    let publisher = tokio::spawn(run(topics.clone(), 300.0, 3, shutdown.clone()));
    let mut seen = Vec::new();
    for _ in 0..4 {
        let frame = live.recv().await.unwrap().event().unwrap();
        let text = String::from_utf8(frame.bytes.to_vec()).unwrap();
        let data = text.lines().find_map(|l| l.strip_prefix("data: ")).unwrap();
        seen.push(serde_json::from_str::<Tick>(data).unwrap().n);
    }
    shutdown.begin();
    publisher.await.unwrap();
    // Tick 1 first (tick 0 went to `bench-0`), then every third: a shard's count of missing ticks
    // is its own gaps, never its neighbours' ticks.
    assert_eq!(seen, [1, 4, 7, 10]);
}
