//! The mechanisms on bodies whose bytes the test controls, on tokio's paused clock (a timeout
//! then fires the moment nothing else can run, without the test waiting for it).

use super::*;
use std::convert::Infallible;

/// A response whose body is `chunks` chunks of `size` bytes each.
fn response_of(chunks: usize, size: usize) -> Response {
    let body = futures_util::stream::iter(
        (0..chunks).map(move |_| Ok::<_, Infallible>(Bytes::from(vec![b'x'; size]))),
    );
    Response::new(Body::from_stream(body))
}

/// The body's chunks as they come, by length.
async fn chunk_lengths(response: Response) -> Vec<usize> {
    response
        .into_body()
        .into_data_stream()
        .map(|chunk| chunk.expect("a chunk").len())
        .collect()
        .await
}

/// Buffered: whole buffers, then the rest, and not a byte lost. Told `X-Accel-Buffering: no`:
/// every chunk passes as it came.
#[tokio::test]
async fn the_proxy_buffers_unless_the_response_says_no() {
    // 100 chunks of 100 bytes: smaller than the proxy's buffer, as SSE events are, so the clumping
    // shows.
    let buffered = chunk_lengths(buffering_proxy(response_of(100, 100)).await).await;
    // Buffering delays, it must not lose: every byte arrives, in fewer and larger chunks.
    assert_eq!(buffered.iter().sum::<usize>(), 100 * 100);
    let (last, full) = buffered.split_last().unwrap();
    assert!(!full.is_empty());
    assert!(full.iter().all(|&len| len >= PROXY_BUFFER), "{buffered:?}");
    // The tail shorter than a buffer still comes out when the body ends: a buffering proxy that
    // held it would be a bug of the mechanism, not the pitfall it shows.
    assert!(*last > 0);

    // The same body with the header the right way adds: chunk for chunk as sent.
    let mut told = response_of(100, 100);
    told.headers_mut()
        .insert("x-accel-buffering", HeaderValue::from_static("no"));
    assert_eq!(
        chunk_lengths(buffering_proxy(told).await).await,
        vec![100; 100]
    );
}

/// A body that says nothing for the idle timeout is ended; one with a chunk every second (a
/// keep-alive) is passed whole.
#[tokio::test(start_paused = true)]
async fn the_idle_timeout_ends_a_silent_body_only() {
    // Silent: its sender is held open and never sends.
    let (_sender, mut silent) = tokio::sync::mpsc::channel::<Result<Bytes, Infallible>>(1);
    // A body that is open and says nothing, like a quiet topic's stream between events.
    let silent = futures_util::stream::poll_fn(move |cx| silent.poll_recv(cx));
    let started = Instant::now();
    let silent = idle_timeout(Response::new(Body::from_stream(silent))).await;
    assert_eq!(chunk_lengths(silent).await, Vec::<usize>::new());
    // Exactly the timeout on the paused clock: the cut comes from the mechanism's timer, not from
    // the body ending.
    assert_eq!(started.elapsed(), IDLE_TIMEOUT);

    // A chunk a second for five seconds, longer than the 3 s timeout in all but always inside it
    // between chunks: the timeout is about silence, not the stream's age.
    let ticking = futures_util::stream::unfold(0, |sent| async move {
        (sent < 5).then_some(())?;
        tokio::time::sleep(Duration::from_secs(1)).await;
        Some((
            Ok::<_, Infallible>(Bytes::from_static(b": keep-alive\n\n")),
            sent + 1,
        ))
    });
    let ticking = idle_timeout(Response::new(Body::from_stream(ticking))).await;
    assert_eq!(chunk_lengths(ticking).await.len(), 5);
}

/// A trigger is in force for as long as it was fired for, and not before; firing it is seen by
/// every stream watching it.
#[tokio::test(start_paused = true)]
async fn a_trigger_lasts_as_long_as_it_was_fired_for() {
    let trigger = Trigger::default();
    assert!(!trigger.active());
    let fired = trigger.fired.subscribe();
    trigger.fire(Duration::from_secs(4));
    assert!(trigger.active());
    // Watchers hear the firing itself (a `watch` change), so a stream opened before the trigger
    // reacts without polling `active`.
    assert!(fired.has_changed().unwrap());
    tokio::time::advance(Duration::from_secs(4)).await;
    assert!(!trigger.active());
}

/// The right way's keep-alive: a silent body gets a comment every second, so the idle timeout
/// (3 s) in front of it never fires; the body's own chunks pass untouched, in order.
#[tokio::test(start_paused = true)]
async fn frequent_keep_alives_keep_a_silent_body_past_the_idle_timeout() {
    // One event, then 10.5 s of silence, then the end.
    let body = futures_util::stream::unfold(0, |step| async move {
        match step {
            0 => Some((Ok::<_, Infallible>(Bytes::from_static(b"data: 1\n\n")), 1)),
            1 => {
                tokio::time::sleep(Duration::from_millis(10_500)).await;
                None
            }
            _ => None,
        }
    });
    let started = Instant::now();
    // The right way's order of layers: the app's keep-alive inside, the proxy's timeout outside, as
    // the route mounts them.
    let kept = frequent_keep_alive(Response::new(Body::from_stream(body))).await;
    let proxied = idle_timeout(kept).await;
    let bytes = axum::body::to_bytes(proxied.into_body(), usize::MAX)
        .await
        .unwrap();
    // The body reached its own end at 10.5 s: the proxy never cut it.
    assert_eq!(started.elapsed(), Duration::from_millis(10_500));
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    assert!(text.starts_with("data: 1\n\n"), "{text}");
    // Ten: one per silent second of the 10.5, none in the first half-second after the event.
    assert_eq!(text.matches(": keep-alive\n\n").count(), 10, "{text}");
}
