//! One read for a crowd: when thousands of browsers subscribe at once (a deploy, a network
//! blip, a popular page), they would each read the same snapshot from Redis, queueing thousands
//! of identical round trips on one connection until some time out.
//!
//! What it owns: letting one read serve every caller that arrived before it was sent. That is
//! the rule that keeps the subscribe-then-read order (`topics::subscribe`) intact: a caller has
//! joined the live channel before it arrives here, so any read *sent after it arrived* sees
//! everything the channel will not bring it. A read already in flight when it arrived might be
//! older than its subscription, so it waits for the next one instead. At most one read per
//! topic is in flight; a burst of N subscribers costs two or three reads, not N.

use crate::server::pubsub::log::LogError;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Reads shared by the callers that arrive while one is queued.
pub(super) struct SharedRead<T> {
    /// Reads sent so far; a read's number is the count after it was sent.
    sent: AtomicU64,
    /// One read at a time: the callers waiting here are the next read's crowd.
    turn: tokio::sync::Mutex<()>,
    /// The last read's number and answer (an error too: the crowd shares a failure, and each
    /// browser is told the SSE way, instead of each one retrying into a struggling Redis).
    last: Mutex<Option<(u64, Result<T, LogError>)>>,
}

impl<T: Clone> SharedRead<T> {
    /// No read sent yet: the first caller sends one.
    pub(super) fn new() -> SharedRead<T> {
        SharedRead {
            sent: AtomicU64::new(0),
            turn: tokio::sync::Mutex::new(()),
            last: Mutex::new(None),
        }
    }

    /// The answer of a `read` sent after this call began: the last one, if it qualifies, or a
    /// new one.
    pub(super) async fn read(
        &self,
        read: impl AsyncFnOnce() -> Result<T, LogError>,
    ) -> Result<T, LogError> {
        // Reads numbered above this one were sent after this caller arrived.
        let arrived = self.sent.load(Ordering::SeqCst);
        let _turn = self.turn.lock().await;
        if let Some((number, answer)) = &*self.last() {
            if *number > arrived {
                return answer.clone();
            }
        }
        let number = self.sent.fetch_add(1, Ordering::SeqCst) + 1;
        let answer = read().await;
        *self.last() = Some((number, answer.clone()));
        answer
    }

    /// The last answer, locked for a moment (a `std` mutex: never held across an `.await`).
    fn last(&self) -> std::sync::MutexGuard<'_, Option<(u64, Result<T, LogError>)>> {
        self.last
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use tokio::sync::Notify;

    /// Callers that arrive while a read is in flight share the NEXT read (one for all of them),
    /// never the one in flight, which may predate their arrival.
    #[tokio::test]
    async fn a_crowd_shares_one_read_sent_after_it_arrived() {
        let shared = SharedRead::<usize>::new();
        // Counts the reads that reached "Redis", which is what the sharing is meant to save.
        let reads = AtomicUsize::new(0);
        // Holds read 1 in flight until the crowd has arrived, so the test decides the interleaving
        // instead of the scheduler.
        let release = Notify::new();
        // Each read answers its own number, and the first waits until released.
        let read = async || {
            let number = reads.fetch_add(1, Ordering::SeqCst) + 1;
            if number == 1 {
                release.notified().await;
            }
            Ok(number)
        };
        let first = shared.read(read);
        let crowd = async {
            // Arrives while read 1 is in flight (the join below polls `first` first).
            let answers = futures_util::future::join_all((0..50).map(|_| shared.read(read))).await;
            answers.into_iter().map(Result::unwrap).collect::<Vec<_>>()
        };
        let ((first, crowd), ()) = tokio::join!(async { tokio::join!(first, crowd) }, async {
            release.notify_one()
        });
        // The first caller gets the read it started, even though others joined while it ran.
        assert_eq!(first.unwrap(), 1);
        // Every one of the fifty gets read 2, the one sent after they arrived: read 1 may predate
        // their subscriptions, so handing it to them could skip an event.
        assert!(crowd.iter().all(|&n| n == 2), "{crowd:?}");
        assert_eq!(
            reads.load(Ordering::SeqCst),
            2,
            "fifty callers, one extra read"
        );
    }
}
