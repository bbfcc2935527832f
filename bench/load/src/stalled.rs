//! Slow readers beside the measured streams: HTTP/2 streams that open, get their response, and
//! then either never read again (the client leaves its socket unread, so the TCP window closes,
//! as with a frozen tab or a hostile client) or read at a trickle (a few hundred bytes a second
//! per connection: enough to count as progress, far too little to keep up). The server must
//! neither grow without bound nor slow its other streams down while they sit there; it cuts
//! both kinds (`WriteStall`: no progress for 20 s, or under 16 KiB drained per 20 s while the
//! queue is full).
//!
//! Used by the scenarios with `stalled` streams: opened after the measured ones, held to the end
//! of the run, never recorded. The trickling ones report when the server cut them.

use crate::client::{handshake_over, Target};
use std::any::Any;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

/// The slow readers' socket receive buffer: small, so their TCP window closes within a second
/// of their last read instead of after megabytes of the kernel's autotuned buffer.
const RECEIVE_BUFFER: u32 = 4096;

/// How much a throttled socket may read: everything while the streams open, then `per_sec`
/// bytes a second (0: nothing, ever again).
#[derive(Clone, Copy)]
enum Allowance {
    Free,
    PerSec(usize),
}

/// A TCP socket whose reads follow a shared [`Allowance`]; writes always go through (the
/// client still answers PINGs and sends WINDOW_UPDATEs: a reader that is slow, not dead).
struct Throttled<T> {
    io: T,
    allowance: Rc<Cell<Allowance>>,
    /// Bytes left in this second, and when the next second's allowance comes.
    left: usize,
    refill: Option<Pin<Box<Sleep>>>,
}

impl<T: AsyncRead + Unpin> AsyncRead for Throttled<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let per_sec = match self.allowance.get() {
            Allowance::Free => return Pin::new(&mut self.io).poll_read(cx, buf),
            // Never ready, never woken: the socket's bytes stay in the kernel until the server
            // gives up on us.
            Allowance::PerSec(0) => return Poll::Pending,
            Allowance::PerSec(per_sec) => per_sec,
        };
        if self.left == 0 {
            let refill = self
                .refill
                .get_or_insert_with(|| Box::pin(tokio::time::sleep(Duration::ZERO)));
            if refill.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            refill
                .as_mut()
                .reset(tokio::time::Instant::now() + Duration::from_secs(1));
            self.left = per_sec;
        }
        // Through a small buffer of our own, so no more than the allowance leaves the kernel
        // (ReadBuf::take would do it without the copy, at the price of `unsafe` to advance).
        let mut chunk = [0u8; 512];
        let wanted = self.left.min(chunk.len()).min(buf.remaining());
        let mut limited = ReadBuf::new(&mut chunk[..wanted]);
        let polled = Pin::new(&mut self.io).poll_read(cx, &mut limited);
        let read = limited.filled().len();
        buf.put_slice(limited.filled());
        self.left -= read;
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Throttled<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// What keeps the slow streams open: drop it to let them go.
pub type Held = Vec<Box<dyn Any>>;

/// The slow streams of one run: what holds them, and — for trickling ones — when each ended.
pub struct Slow {
    pub opened: usize,
    /// Never read: dropped with the run, it lets the streams go.
    _held: Held,
    /// Seconds from the start of the trickle to each stream's end (the server cut it).
    ended: Rc<RefCell<Vec<f64>>>,
    ended_count: tokio::sync::watch::Receiver<usize>,
    began: tokio::time::Instant,
}

/// When the server cut the trickling streams.
#[derive(Clone, Copy, Debug)]
pub struct Cut {
    pub streams: usize,
    /// Seconds after the trickle began: the first and the last cut.
    pub first_secs: f64,
    pub last_secs: f64,
}

impl Slow {
    /// Waits until every opened stream has ended, or `patience` after the trickle began, then
    /// says how many ended and when.
    pub async fn cut_within(mut self, patience: Duration) -> Cut {
        let opened = self.opened;
        let deadline = self.began + patience;
        let _ =
            tokio::time::timeout_at(deadline, self.ended_count.wait_for(|n| *n >= opened)).await;
        let ended = self.ended.borrow();
        let first = ended.iter().copied().fold(f64::NAN, f64::min);
        let last = ended.iter().copied().fold(f64::NAN, f64::max);
        Cut {
            streams: ended.len(),
            first_secs: first,
            last_secs: last,
        }
    }
}

/// Opens `streams` event streams, `per_connection` to an HTTP/2 connection, waits for every
/// response head, then lets each connection read `trickle` bytes a second (`None`: nothing).
/// A trickling stream's body is read as its bytes come, as a live client's would be; a
/// non-reading one is never polled, so its flow-control window is never released either.
pub async fn open(
    target: &Target,
    streams: usize,
    per_connection: usize,
    trickle: Option<usize>,
) -> Result<Slow, String> {
    let allowance = Rc::new(Cell::new(Allowance::Free));
    let mut held: Held = Vec::new();
    let mut bodies = Vec::new();
    let mut opened = 0;
    let mut left = streams;
    while left > 0 {
        let count = left.min(per_connection.max(1));
        left -= count;
        let io = handshake_over(target, Some(RECEIVE_BUFFER), |tcp| Throttled {
            io: tcp,
            allowance: allowance.clone(),
            left: 0,
            refill: None,
        })
        .await?;
        // The same budget for small DATA frames as the reading clients (see `client`): what is
        // measured is the server's behaviour, not the client's flood protection.
        let (mut client, connection) = h2::client::Builder::new()
            .data_frame_budget(usize::MAX / 2)
            .handshake::<_, bytes::Bytes>(io)
            .await
            .map_err(|e| format!("h2 handshake: {e}"))?;
        // Driven until the run's task set is dropped.
        tokio::task::spawn_local(connection);
        let uri = format!("https://localhost{}", target.paths[0]);
        let mut responses = Vec::new();
        for _ in 0..count {
            client = client
                .ready()
                .await
                .map_err(|e| format!("h2 not ready: {e}"))?;
            let request = http::Request::get(&uri)
                .header("accept", "text/event-stream")
                .body(())
                .expect("a valid request");
            let (response, _) = client
                .send_request(request, true)
                .map_err(|e| format!("h2 request: {e}"))?;
            responses.push(response);
        }
        for response in responses {
            let response = response.await.map_err(|e| format!("h2 response: {e}"))?;
            if response.status() == 200 {
                opened += 1;
            }
            bodies.push(response.into_body());
        }
        held.push(Box::new(client));
    }
    let ended = Rc::new(RefCell::new(Vec::new()));
    let (count_ended, ended_count) = tokio::sync::watch::channel(0);
    let count_ended = Rc::new(count_ended);
    let began = tokio::time::Instant::now();
    match trickle {
        None => held.extend(bodies.into_iter().map(|b| Box::new(b) as Box<dyn Any>)),
        Some(_) => {
            for mut body in bodies {
                let (ended, count_ended) = (ended.clone(), count_ended.clone());
                tokio::task::spawn_local(async move {
                    while let Some(Ok(data)) = body.data().await {
                        let _ = body.flow_control().release_capacity(data.len());
                    }
                    ended.borrow_mut().push(began.elapsed().as_secs_f64());
                    count_ended.send_modify(|n| *n += 1);
                });
            }
        }
    }
    allowance.set(Allowance::PerSec(trickle.unwrap_or(0)));
    Ok(Slow {
        opened,
        _held: held,
        ended,
        ended_count,
        began,
    })
}
