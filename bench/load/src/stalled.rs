//! Readers that stop reading: HTTP/2 streams that open, get their response, and are then never
//! read again — the client leaves its socket unread, so the TCP window closes, as with a frozen
//! tab or a hostile client. The server must neither grow without bound nor slow its other
//! streams down while they sit there (`WriteStall` cuts them after 20 s).
//!
//! Used by the scenarios with `stalled` streams: opened after the measured ones, held to the end
//! of the run, never recorded.

use crate::client::{handshake_with, Target};
use std::any::Any;
use std::cell::Cell;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The non-readers' socket receive buffer: small, so their TCP window closes within a second of
/// their last read instead of after megabytes of the kernel's autotuned buffer.
const RECEIVE_BUFFER: u32 = 4096;

/// An IO that reads until `paused` is set, then never again; writes still go through.
struct Pausable<T> {
    io: T,
    paused: Rc<Cell<bool>>,
}

impl<T: AsyncRead + Unpin> AsyncRead for Pausable<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if self.paused.get() {
            // Never ready, never woken: the socket's bytes stay in the kernel until the server
            // gives up on us.
            return Poll::Pending;
        }
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Pausable<T> {
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

/// What keeps the stalled streams open: drop it to let them go.
pub type Held = Vec<Box<dyn Any>>;

/// Opens `streams` event streams, `per_connection` to an HTTP/2 connection, waits for every
/// response head, then stops reading all of them. Returns how many opened, and what holds them.
pub async fn open(
    target: &Target,
    streams: usize,
    per_connection: usize,
) -> Result<(usize, Held), String> {
    let paused = Rc::new(Cell::new(false));
    let mut held: Held = Vec::new();
    let mut opened = 0;
    let mut left = streams;
    while left > 0 {
        let count = left.min(per_connection.max(1));
        left -= count;
        let io = Pausable {
            io: handshake_with(target, Some(RECEIVE_BUFFER)).await?,
            paused: paused.clone(),
        };
        // The same budget for small DATA frames as the reading clients (see `client`): what is
        // measured is the server's behaviour, not the client's flood protection.
        let (mut client, connection) = h2::client::Builder::new()
            .data_frame_budget(usize::MAX / 2)
            .handshake::<_, bytes::Bytes>(io)
            .await
            .map_err(|e| format!("h2 handshake: {e}"))?;
        // Driven until the run's task set is dropped; once paused it never wakes again.
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
            // The body is kept and never polled: its flow-control window is never released.
            held.push(Box::new(response.into_body()));
        }
        held.push(Box::new(client));
    }
    paused.set(true);
    Ok((opened, held))
}
