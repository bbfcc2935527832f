//! Dead readers: a connection whose client stopped reading is closed, not kept forever.
//!
//! A client that stops reading (a frozen tab, a hostile script, a peer whose TCP window has
//! closed) makes every write to it wait: the kernel's send buffer is full, so the TLS stream's
//! `poll_write` returns `Pending` and hyper stops polling that connection's bodies. Nothing is
//! lost and nothing grows — the streams' events wait in the topic's bounded ring, not in a
//! queue of ours — but the connection, its streams and their slots under the per-client cap
//! are held until the client reads again, which a dead one never does.
//!
//! [`WriteStall`] wraps the connection's IO and fails a write that has made no progress for
//! [`WRITE_STALL_TIMEOUT`]: hyper then closes the connection, every stream on it ends, and a
//! browser that was merely asleep reconnects with its `Last-Event-ID` and gets what it missed.
//! One timer per stalled connection, armed only while a write is pending — an idle
//! connection costs nothing.
//!
//! Why here and not per stream: over HTTP/2 a stalled TCP connection stalls all its streams
//! together, and over HTTP/1.1 a stream is its connection; the IO is where "no progress" is
//! seen. (HTTP/2's keep-alive PING finds the same peer within `PING_INTERVAL + PING_TIMEOUT`
//! only if it stops answering; a peer that answers PINGs but never reads would not be found.)
//!
//! A trickle reader (a byte every few seconds: progress, so never "stalled") is judged by
//! rate instead: while its queue is full it must drain [`MIN_DRAIN_BYTES`] per
//! [`DRAIN_WINDOW`], or it is cut the same way. Over HTTP/2 such a reader usually closes its
//! connection's flow-control window before any write of ours is refused, so it never gets
//! here: hyper's keep-alive PING finds it (the PING waits behind the bytes it has not read;
//! `tickerplex-load`'s trickle row: 1 000 streams at 400 B/s a connection, all cut in 29–35 s).
//!
//! On Linux the kernel sees a dead reader sooner, and [`set_tcp_user_timeout`] lets it act.
//! - A write is refused only once the socket's send buffer is full. Linux grows that buffer up
//!   to `net.ipv4.tcp_wmem`'s maximum (4 MiB), which a stream of ticks takes seconds to fill,
//!   more on a busy machine. Those seconds counted against the 30 s budget: a loaded CI run once
//!   took over 10.
//! - The kernel knows the moment the client's receive window closes. With `TCP_USER_TIMEOUT`
//!   set, it aborts a connection whose window stays closed that long (or whose data stays
//!   unacknowledged that long), counted from the window closing.
//!
//! [`WriteStall`] stays, for platforms without the option and for bytes the kernel cannot see
//! (held in rustls or hyper). Both count any progress as life; the drain rate above is what
//! tells a slow client from one that only pretends to read.
//!
//! Past 300 lines as one concept: the two rules that judge a client's reading (no progress for
//! 20 s; under 16 KiB drained in a 20 s window) and the timer that applies both, with their
//! paused-clock tests (about 130 lines) beside them.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::AsyncWrite;
use tokio::time::Sleep;

/// A write that makes no progress for this long closes the connection, and so does a receive
/// window closed this long (Linux). Twenty seconds: longer than any pause a live client's
/// network has (a mobile hand-over takes a few), and within the 30 s budget for a dead reader.
pub const WRITE_STALL_TIMEOUT: Duration = Duration::from_secs(20);

/// The least a client must drain while its queue is full: 16 KiB per [`DRAIN_WINDOW`], about
/// 820 B/s. A trickle reader — one byte every few seconds, enough to count as progress and to
/// answer the kernel's zero-window probes — is cut like a dead reader once a window passes
/// below it. The figure: a dashboard of ten busy widgets sends 3–5 KB/s, and a 2G link drains
/// 6 KB/s, so a live client is above it even on the worst network, and a client below it falls
/// further behind every second (it would hold its connection, its streams and their slots
/// under the per-client cap forever). Over HTTP/2 the connection is what is cut, with every
/// stream on it: its window is the connection's, and so is the trickle.
pub const MIN_DRAIN_BYTES: u64 = 16 * 1024;
/// The window over which [`MIN_DRAIN_BYTES`] is judged: as long as the dead-reader timeout.
pub const DRAIN_WINDOW: Duration = WRITE_STALL_TIMEOUT;

/// Sets `TCP_USER_TIMEOUT` to [`WRITE_STALL_TIMEOUT`] on `tcp` (Linux), so the kernel aborts
/// the connection once the client's window has been closed that long (see the module doc).
/// Through `socket2`, which tokio already builds with this option, rather than `libc` and
/// `unsafe`. An error only means the socket is already gone; [`WriteStall`] still applies.
pub fn set_tcp_user_timeout(tcp: &tokio::net::TcpStream) {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if let Err(error) = socket2::SockRef::from(tcp).set_tcp_user_timeout(Some(WRITE_STALL_TIMEOUT))
    {
        tracing::debug!(%error, "TCP_USER_TIMEOUT not set; a dead reader is found by WriteStall");
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let _ = tcp;
}

/// An IO whose writes fail after [`WRITE_STALL_TIMEOUT`] without progress (see the module doc).
pub struct WriteStall<T> {
    /// The TLS stream whose writes are watched (`Coalesce` wraps this in turn, so its own
    /// deliberate `Pending` never reaches the watch).
    io: T,
    /// Since when a write or flush has been pending without progress (`None`: not stalled).
    stalled_since: Option<tokio::time::Instant>,
    /// Wakes the connection at the nearer of its two deadlines: the stall's end and the drain
    /// window's. Made on the first stall and reset after that, so a busy connection that stalls
    /// often does not allocate each time.
    timer: Option<Pin<Box<Sleep>>>,
    /// How long a write may make no progress: [`WRITE_STALL_TIMEOUT`], or a test's.
    limit: Duration,
    /// Since when the client's queue has been full (a write refused), and how many bytes it
    /// drained since: judged against [`MIN_DRAIN_BYTES`] when the window ends.
    backlog: Option<(tokio::time::Instant, u64)>,
}

impl<T> WriteStall<T> {
    /// `io`, judged by the server's bounds: [`WRITE_STALL_TIMEOUT`] and [`MIN_DRAIN_BYTES`].
    pub fn new(io: T) -> Self {
        WriteStall::with_limit(io, WRITE_STALL_TIMEOUT)
    }

    /// With another limit (the tests use a short one).
    pub fn with_limit(io: T, limit: Duration) -> Self {
        WriteStall {
            io,
            stalled_since: None,
            timer: None,
            limit,
            backlog: None,
        }
    }

    /// Passes `polled` on, keeping the timer in step: progress ends the stall, a `Pending`
    /// starts one (and opens a drain window), and the timer turns whichever deadline comes
    /// first into a judgment.
    ///
    /// The timer is what judges a trickle on time. Waiting for the next poll instead would
    /// judge it late: the kernel reports a full socket writable again only once a third of its
    /// send buffer is free, which a client draining a few hundred bytes a second takes tens of
    /// seconds to free (`a_trickle_is_judged_when_its_window_ends`: 36 s judged at the next
    /// write, 20 s by the timer).
    fn watch<R>(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<io::Result<R>>,
    ) -> Poll<io::Result<R>> {
        // Progress (or an error, which ends the connection anyway): the stall is over. The timer
        // is left armed but unpolled; the next stall resets it rather than allocating anew.
        if polled.is_ready() {
            self.stalled_since = None;
            return polled;
        }
        let limit = self.limit;
        let stalled_since = *self
            .stalled_since
            .get_or_insert_with(tokio::time::Instant::now);
        loop {
            let now = tokio::time::Instant::now();
            if now >= stalled_since + limit {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("the client read nothing for {limit:?}"),
                )));
            }
            // Opens the drain window, or judges it if it has ended (and opens the next).
            let window_end = match self.judge_drain(now) {
                Ok(since) => since + DRAIN_WINDOW,
                Err(error) => return Poll::Ready(Err(error)),
            };
            let deadline = (stalled_since + limit).min(window_end);
            let timer = match &mut self.timer {
                Some(timer) => {
                    if timer.deadline() != deadline {
                        timer.as_mut().reset(deadline);
                    }
                    timer
                }
                None => self
                    .timer
                    .insert(Box::pin(tokio::time::sleep_until(deadline))),
            };
            // Ready: a deadline has come; the loop above says which and what follows.
            if timer.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
        }
    }
}

impl<T> WriteStall<T> {
    /// A write is refused (the queue is full) at `now`: opens the drain window, or — once a
    /// window has passed — judges what the client drained in it and opens the next. Returns
    /// when the open window began.
    fn judge_drain(&mut self, now: tokio::time::Instant) -> io::Result<tokio::time::Instant> {
        match self.backlog {
            Some((since, drained)) if now - since >= DRAIN_WINDOW => {
                if drained < MIN_DRAIN_BYTES {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("the client drained {drained} bytes in {DRAIN_WINDOW:?} with its queue full, under {MIN_DRAIN_BYTES}"),
                    ));
                }
                self.backlog = Some((now, 0));
                Ok(now)
            }
            Some((since, _)) => Ok(since),
            None => {
                self.backlog = Some((now, 0));
                Ok(now)
            }
        }
    }

    /// `written` bytes left for the client: they count toward the drain window, if one is open.
    fn drained(&mut self, written: &Poll<io::Result<usize>>) {
        if let (Poll::Ready(Ok(n)), Some((_, drained))) = (written, &mut self.backlog) {
            *drained += *n as u64;
        }
    }
}

// Reads pass straight through: only writes are watched.
read_passes_through!(WriteStall);

impl<T: AsyncWrite + Unpin> AsyncWrite for WriteStall<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.io).poll_write(cx, buf);
        self.drained(&polled);
        self.watch(cx, polled)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        self.drained(&polled);
        self.watch(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.io).poll_flush(cx);
        self.watch(cx, polled)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.io).poll_shutdown(cx);
        self.watch(cx, polled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    /// Against a peer that never reads (an in-memory pipe with a 1 KiB buffer): writes go
    /// through until the buffer is full, then the next one fails after the limit — and a peer
    /// that reads in time keeps the connection. The limit here (8 s) is shorter than the
    /// drain window (20 s), so what ends the connection is the stall, not the drain rate.
    #[tokio::test(start_paused = true)]
    async fn a_write_with_no_progress_fails_after_the_limit() {
        let limit = Duration::from_secs(8);
        // A 1 KiB pipe stands in for the socket's send buffer: the second 1 KiB write waits until
        // the other end reads, exactly as a write to a full socket does.
        let (ours, mut theirs) = tokio::io::duplex(1024);
        let mut io = WriteStall::with_limit(ours, limit);
        io.write_all(&[0; 1024]).await.unwrap();

        // The reader drains the pipe after 6 s: under the limit, so the write completes.
        let reader = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(6)).await;
            let mut buf = [0; 1024];
            tokio::io::AsyncReadExt::read_exact(&mut theirs, &mut buf)
                .await
                .unwrap();
            theirs // kept open, never read again
        });
        // A second full pipe, written while the reader waits 6 s: slow, but progress before the
        // limit, so it must not fail.
        io.write_all(&[1; 1024]).await.unwrap();
        let _theirs = reader.await.unwrap();

        // Now nobody reads: the write fails once the limit passes without progress.
        let started = tokio::time::Instant::now();
        let error = io.write_all(&[2; 1024]).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        assert!(error.to_string().contains("read nothing"), "{error}");
        assert_eq!(started.elapsed(), limit);
    }

    /// A trickle reader: 100 bytes every 5 s keeps making progress (the stall timer never runs
    /// out) but drains 400 bytes a window, under the minimum — its writes fail one window
    /// after its queue first filled. A reader of 1 KiB a second (20 KiB a window) is kept.
    #[tokio::test(start_paused = true)]
    async fn a_reader_under_the_minimum_drain_rate_is_cut() {
        // Writes 512-byte chunks as fast as the pipe takes them while a reader drains `chunk` bytes
        // every `every`; returns how long after the pipe first filled the writes failed, or `None`
        // if they never did within `for_at_most`.
        async fn run(chunk: usize, every: Duration, for_at_most: Duration) -> Option<Duration> {
            let (ours, mut theirs) = tokio::io::duplex(1024);
            // The stall limit at 20 s, longer than the gap between reads: only the drain rate can
            // cut.
            let mut io = WriteStall::with_limit(ours, Duration::from_secs(20));
            let reader = tokio::spawn(async move {
                let mut buf = vec![0; chunk];
                loop {
                    tokio::time::sleep(every).await;
                    if tokio::io::AsyncReadExt::read_exact(&mut theirs, &mut buf)
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
            });
            let started = tokio::time::Instant::now();
            let mut filled = None;
            while started.elapsed() < for_at_most {
                if let Err(error) = io.write_all(&[7; 512]).await {
                    assert_eq!(error.kind(), io::ErrorKind::TimedOut);
                    reader.abort();
                    return filled.map(|at: tokio::time::Instant| at.elapsed());
                }
                // Timed from the first write that went through after the pipe had filled: that is
                // when the drain window opens.
                filled.get_or_insert_with(tokio::time::Instant::now);
            }
            reader.abort();
            None
        }
        let trickle = run(100, Duration::from_secs(5), Duration::from_secs(120)).await;
        let cut_after = trickle.expect("the trickle reader is cut");
        assert!(
            cut_after >= DRAIN_WINDOW && cut_after <= DRAIN_WINDOW + Duration::from_secs(6),
            "{cut_after:?}"
        );
        // The control: 20 KiB a window, above the 16 KiB minimum. Without it, a rule that cut
        // everyone would pass the first half.
        let steady = run(1024, Duration::from_secs(1), Duration::from_secs(120)).await;
        assert_eq!(steady, None, "a reader above the minimum is kept");
    }

    /// A trickle whose reads are rare (900 bytes every 18 s, as a kernel that reports a full
    /// socket writable only once a third of it is free) is judged when its window ends, not
    /// at the next read: cut at 20 s, not at 36.
    #[tokio::test(start_paused = true)]
    async fn a_trickle_is_judged_when_its_window_ends() {
        let (ours, mut theirs) = tokio::io::duplex(1024);
        // A stall limit past the window (30 s), so what cuts at 20 s is the rate rule's own timer.
        let mut io = WriteStall::with_limit(ours, Duration::from_secs(30));
        let reader = tokio::spawn(async move {
            // 900 bytes every 18 s is 1 000 bytes a 20 s window: far under the 16 KiB minimum, yet
            // never 30 s without progress, so only the rate rule can cut it.
            let mut buf = [0; 900];
            loop {
                tokio::time::sleep(Duration::from_secs(18)).await;
                if tokio::io::AsyncReadExt::read_exact(&mut theirs, &mut buf)
                    .await
                    .is_err()
                {
                    return;
                }
            }
        });
        let started = tokio::time::Instant::now();
        // Writes until one fails: the loop ends only by the cut, so the elapsed time below is the
        // moment of judgment.
        let error = loop {
            if let Err(error) = io.write_all(&[7; 512]).await {
                break error;
            }
        };
        reader.abort();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        // Exactly the window on the paused clock: the cut comes from the timer, not from a read
        // that happened to wake the connection.
        assert_eq!(started.elapsed(), DRAIN_WINDOW, "{error}");
    }
}
