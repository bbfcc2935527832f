//! Coalescing writes: when one tick reaches 240 streams on a connection, send them in one TLS
//! write, not 240.
//!
//! Over HTTP/2, hyper polls each response body in a task of its own; the connection's task
//! encodes whatever frames those tasks have queued and writes them out. When a tick is broadcast,
//! every stream task of a connection wakes at once, but the connection task would run right after
//! the *first* of them (tokio runs a task woken by the running one next) and write one event,
//! then again for the next: one syscall and one TLS record per event.
//!
//! [`Coalesce`] wraps the connection's IO and makes the first write of each batch yield once:
//! it returns `Pending` after waking itself, which puts the connection task at the back of the
//! run queue. By the time it runs again, the other stream tasks have queued their frames, and
//! hyper writes them all in one go (up to its 16 KiB write buffer per call). A lone event waits one
//! pass of the scheduler — microseconds — so nothing is held back for a timer, unlike Nagle's
//! algorithm, which the server keeps off (`TCP_NODELAY`).

//! What it does not own: when hyper flushes (after each batch of frames it encodes) or how big
//! a TLS record is (rustls splits at 16 KiB). It only decides *when* the first byte of a batch
//! may go.
//!
//! Rejected alternatives, and why:
//! - a timer ("flush every 1 ms"): it adds latency to every lone event and a timer per
//!   connection; one scheduler pass costs microseconds and no timer;
//! - `BufWriter` around the TLS stream: it buffers *within* one `poll_write`, but the problem is
//!   that hyper calls `poll_write` once per woken stream — the bytes are not there yet;
//! - turning on Nagle (`TCP_NODELAY` off): it waits for an ACK, up to 40 ms on Linux, and still
//!   pays one TLS record per event, since rustls encrypts on every write.
//!
//! Measured (`scripts/bench`, BENCHMARKS.md): at 300 streams on 3 connections, write syscalls per
//! delivered event fell from 1.0 to 0.038.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::AsyncWrite;

/// An IO whose writes wait one scheduler pass before each batch (see the module doc).
pub struct Coalesce<T> {
    /// The TLS stream (rustls over TCP) that hyper's connection task writes to.
    io: T,
    /// The current batch has already yielded; further writes go straight through until a flush.
    yielded: bool,
}

impl<T> Coalesce<T> {
    /// Wraps `io`; the first write starts a batch.
    pub fn new(io: T) -> Self {
        Coalesce { io, yielded: false }
    }

    /// The wrapped IO: the accept loop reads the negotiated ALPN protocol through it.
    pub fn get_ref(&self) -> &T {
        &self.io
    }

    /// `Pending` (having woken the task to come back) the first time in a batch; `Ready` after.
    fn yield_before_batch(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        // Waking ourselves before returning `Pending` is what makes this a yield and not a
        // stall: the task goes to the back of the run queue and is polled again after the
        // stream tasks woken by the same tick have run and queued their frames.
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

// Reads pass straight through: only the write side batches.
read_passes_through!(Coalesce);

impl<T: AsyncWrite + Unpin> AsyncWrite for Coalesce<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        std::task::ready!(self.yield_before_batch(cx));
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        std::task::ready!(self.yield_before_batch(cx));
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    // hyper asks this to decide between one vectored write and copying into its buffer: answer
    // for the wrapped IO, so wrapping changes nothing but the timing.
    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // hyper flushes after writing what it has queued: that is the end of a batch. Only a
        // completed flush re-arms the yield — a `Pending` flush is still the same batch.
        let flushed = Pin::new(&mut self.io).poll_flush(cx);
        if flushed.is_ready() {
            self.yielded = false; // the batch is out; the next write starts a new one
        }
        flushed
    }

    // Closing (TLS close_notify, then FIN) is never delayed: there is nothing left to batch.
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;
    use tokio::io::AsyncWriteExt;

    /// A waker that counts how often it is woken: the yield's whole promise is "Pending, and
    /// woken once so the task comes back", and this makes both halves observable.
    struct CountWakes(AtomicUsize);
    impl Wake for CountWakes {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// The first write of a batch yields once (Pending, and the task is woken to come back);
    /// the writes after it go through; after a flush, the next write yields again.
    #[test]
    fn each_batch_yields_once_before_its_first_write() {
        let wakes = Arc::new(CountWakes(AtomicUsize::new(0)));
        let waker = std::task::Waker::from(wakes.clone());
        let mut cx = Context::from_waker(&waker);
        // A `Vec<u8>` is a perfectly good `AsyncWrite`: what was written is what it holds.
        let mut io = Coalesce::new(Vec::<u8>::new());

        // First write of the batch: nothing written, the task woken to come back.
        assert!(Pin::new(&mut io).poll_write(&mut cx, b"one").is_pending());
        assert_eq!(
            wakes.0.load(Ordering::SeqCst),
            1,
            "woken, so it is polled again"
        );
        // Polled again with the same bytes, as hyper does after the wake-up: now they go through.
        assert!(matches!(
            Pin::new(&mut io).poll_write(&mut cx, b"one"),
            Poll::Ready(Ok(3))
        ));
        // The rest of the batch does not yield again: one trip to the back of the run queue per
        // batch, not per write, or a busy connection would crawl.
        assert!(matches!(
            Pin::new(&mut io).poll_write(&mut cx, b"two"),
            Poll::Ready(Ok(3))
        ));
        // A completed flush ends the batch, so the next write starts a new one and yields.
        assert!(Pin::new(&mut io).poll_flush(&mut cx).is_ready());
        assert!(Pin::new(&mut io).poll_write(&mut cx, b"three").is_pending());
        // Nothing of the yielded write was taken: "three" is still the caller's to send.
        assert_eq!(io.get_ref(), b"onetwo");
    }

    /// Through `AsyncWriteExt`, which retries on the wake-up, every byte arrives in order.
    #[tokio::test]
    async fn writes_arrive_whole_and_in_order() {
        // `write_all` keeps polling until everything is written, which is how hyper drives it:
        // the yield costs one extra poll, never a byte.
        let mut io = Coalesce::new(Vec::<u8>::new());
        io.write_all(b"event: update\n").await.unwrap();
        // A flush between the two writes: two batches, each yielding once, and still every byte.
        io.flush().await.unwrap();
        io.write_all(b"data: {}\n\n").await.unwrap();
        assert_eq!(io.get_ref(), b"event: update\ndata: {}\n\n");
    }
}
