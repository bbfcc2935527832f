//! Nchan's publisher: the same ticks as tickerplex's bench mode, POSTed at the same open-loop
//! rate to Nchan's publish endpoint.
//!
//! The schedule and the stamps are tickerplex's own (`tickerplex::server::demo::bench::Schedule`): tick
//! `n` is due at `start + n / rate` and carries that due time, so a publisher (or a server) that
//! falls behind shows up as latency, never as fewer ticks. Ticks that fall due together are
//! pipelined on the one keep-alive connection and their responses read after.

use bytes::BytesMut;
use tickerplex::server::demo::bench::Schedule;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Publishes ticks to `http://127.0.0.1:{port}/pub/{channel}` at `rate` per second, tick `n` to
/// `channels[n % channels.len()]` (the round-robin of tickerplex's bench topics), forever (the
/// caller drops the task). Returns only on an error.
pub async fn run(port: u16, channels: &[String], rate: f64) -> String {
    if rate <= 0.0 {
        return std::future::pending().await;
    }
    let mut tcp = match TcpStream::connect(("127.0.0.1", port)).await {
        Ok(tcp) => tcp,
        Err(error) => return format!("publisher: connect to Nchan on {port}: {error}"),
    };
    let _ = tcp.set_nodelay(true);
    let mut schedule = Schedule::new(rate);
    let mut responses = BytesMut::with_capacity(16 * 1024);
    loop {
        let ticks = schedule.due_ticks().await;
        let mut requests = Vec::new();
        for tick in &ticks {
            let channel = &channels[(tick.n % channels.len() as u64) as usize];
            // A plain derived struct of numbers and strings: serialisation cannot fail.
            let body = serde_json::to_string(tick).expect("ticks serialise");
            requests.extend_from_slice(
                format!(
                    "POST /pub/{channel} HTTP/1.1\r\nhost: localhost\r\nx-eventsource-event: update\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                    body.len()
                )
                .as_bytes(),
            );
        }
        if let Err(error) = tcp.write_all(&requests).await {
            return format!("publisher: write: {error}");
        }
        for _ in 0..ticks.len() {
            if let Err(error) = read_response(&mut tcp, &mut responses).await {
                return format!("publisher: {error}");
            }
        }
    }
}

/// Reads one response (head and `content-length` body) off `tcp`; an error unless 2xx.
async fn read_response(tcp: &mut TcpStream, buffer: &mut BytesMut) -> Result<(), String> {
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut response = httparse::Response::new(&mut headers);
        if let httparse::Status::Complete(head) = response
            .parse(buffer)
            .map_err(|e| format!("response: {e}"))?
        {
            let code = response.code.unwrap_or(0);
            let length: usize = response
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                .and_then(|h| std::str::from_utf8(h.value).ok()?.trim().parse().ok())
                .unwrap_or(0);
            if buffer.len() >= head + length {
                let _ = buffer.split_to(head + length);
                return match code {
                    200..=299 => Ok(()),
                    _ => Err(format!("Nchan answered a publish with HTTP {code}")),
                };
            }
        }
        buffer.reserve(16 * 1024);
        if tcp
            .read_buf(buffer)
            .await
            .map_err(|e| format!("read: {e}"))?
            == 0
        {
            return Err("Nchan closed the publisher's connection".into());
        }
    }
}
