use super::*;

/// A tick one stream missed counts as lost for that stream only, and a stream that never
/// opened loses nothing; ticks due outside the window are not counted; a repeat counts as a
/// duplicate; latency is arrival minus due time.
#[test]
fn counts_lost_and_duplicate_ticks_per_stream() {
    let recorder = Recorder::new(3, 1);
    recorder.opened(0);
    recorder.opened(2); // stream 1 never opened: it cannot lose ticks
    recorder.failed_to_open("refused".into());
    let ms = 1_000_000;
    recorder.open_window(100 * ms, 200 * ms);
    recorder.record(0, 1, 50 * ms, 120 * ms); // due before the window: ignored
    for n in 2..=4 {
        let due = (100 + n) * ms;
        recorder.record(0, n, due, due + ms);
        if n != 3 {
            recorder.record(2, n, due, due + 2 * ms);
        }
    }
    recorder.record(2, 4, 104 * ms, 105 * ms); // again
    let received = recorder.received(0.1);
    assert_eq!(received.ticks, 3);
    assert_eq!(received.lost, 1, "stream 2 missed tick 3");
    assert_eq!(received.streams_held, 2);
    assert_eq!(received.duplicates, 1);
    assert_eq!(received.max_ms, 2.0);
    assert_eq!(received.slowest_receiver_p99_ms, 2.0);
    assert_eq!(received.p50_ms, 1.0);
}

/// Streams on several topics are owed only their topic's ticks: stream 1 of 2 topics follows
/// the odd ticks, and missing one of them is one lost, not half the run.
#[test]
fn streams_on_several_topics_are_owed_their_topics_ticks_only() {
    let recorder = Recorder::new(2, 2);
    recorder.opened(0);
    recorder.opened(1);
    let ms = 1_000_000;
    recorder.open_window(0, 100 * ms);
    for n in 10..=19 {
        let due = n * ms;
        if n % 2 == 0 {
            recorder.record(0, n, due, due + ms);
        } else if n != 15 {
            recorder.record(1, n, due, due + ms);
        }
    }
    let received = recorder.received(0.1);
    assert_eq!(received.lost, 1, "stream 1 missed tick 15");
    assert_eq!(received.duplicates, 0);
}

#[test]
fn congruent_counts_the_residue_class() {
    assert_eq!(congruent(10, 19, 1, 2), 5);
    assert_eq!(congruent(0, 0, 0, 1), 1);
    assert_eq!(congruent(0, 6, 2, 3), 2);
    assert_eq!(congruent(3, 3, 2, 3), 0);
    assert_eq!(congruent(5, 1005, 0, 1), 1001);
}
