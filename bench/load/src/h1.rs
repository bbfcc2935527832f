//! An SSE request over HTTP/1.1, by hand: one request line, a few headers, then the response
//! body, de-chunked.
//!
//! Why not hyper's client: the `bench` feature would switch on hyper's `client` feature, and
//! cargo would then rebuild hyper and everything above it (axum, leptos_axum) for this one binary.
//! A GET and a chunked-body decoder are small enough to read in full; the response head is
//! parsed by `httparse`, the parser hyper itself uses.

use bytes::{Buf, Bytes, BytesMut};
use futures_util::Stream;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

const READ_SIZE: usize = 16 * 1024;

/// Sends `GET path` for an event stream and returns its body once the response head says 200.
pub async fn get_event_stream<T>(
    mut io: T,
    path: &str,
) -> Result<impl Stream<Item = Result<Bytes, String>>, String>
where
    T: AsyncRead + AsyncWrite + Unpin,
{
    let request = format!(
        "GET {path} HTTP/1.1\r\nhost: localhost\r\naccept: text/event-stream\r\ncache-control: no-cache\r\n\r\n"
    );
    io.write_all(request.as_bytes())
        .await
        .map_err(|e| format!("write: {e}"))?;

    let mut buffer = BytesMut::with_capacity(READ_SIZE);
    let chunked = loop {
        if read_more(&mut io, &mut buffer).await? == 0 {
            return Err("closed before the response head".into());
        }
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut response = httparse::Response::new(&mut headers);
        match response
            .parse(&buffer)
            .map_err(|e| format!("response head: {e}"))?
        {
            httparse::Status::Partial => continue,
            httparse::Status::Complete(head) => {
                if response.code != Some(200) {
                    return Err(format!("HTTP {}", response.code.unwrap_or(0)));
                }
                let chunked = response.headers.iter().any(|h| {
                    h.name.eq_ignore_ascii_case("transfer-encoding")
                        && String::from_utf8_lossy(h.value).contains("chunked")
                });
                buffer.advance(head);
                break chunked;
            }
        }
    };

    let body = Body {
        io,
        buffer,
        chunk: if chunked {
            Chunk::Size
        } else {
            Chunk::Identity
        },
    };
    Ok(futures_util::stream::unfold(body, |mut body| async move {
        match body.next().await {
            Ok(Some(bytes)) => Some((Ok(bytes), body)),
            Ok(None) => None,
            Err(error) => Some((Err(error), body)),
        }
    }))
}

async fn read_more<T: AsyncRead + Unpin>(
    io: &mut T,
    buffer: &mut BytesMut,
) -> Result<usize, String> {
    buffer.reserve(READ_SIZE);
    io.read_buf(buffer).await.map_err(|e| format!("read: {e}"))
}

/// Where the decoder is in a `Transfer-Encoding: chunked` body (RFC 9112 §7.1).
#[derive(Debug, PartialEq)]
enum Chunk {
    /// Not chunked: the body is everything until the connection closes.
    Identity,
    /// Expecting a `<hex size>[;ext]\r\n` line.
    Size,
    /// Inside a chunk, this many bytes still to come.
    Data(usize),
    /// After a chunk's data, expecting its `\r\n`.
    End,
    /// The last (zero-size) chunk was read.
    Done,
}

struct Body<T> {
    io: T,
    buffer: BytesMut,
    chunk: Chunk,
}

impl<T: AsyncRead + Unpin> Body<T> {
    /// The next piece of the body, `None` at its end.
    async fn next(&mut self) -> Result<Option<Bytes>, String> {
        loop {
            if let Some(piece) = decode(&mut self.chunk, &mut self.buffer)? {
                return Ok(Some(piece));
            }
            if self.chunk == Chunk::Done {
                return Ok(None);
            }
            if read_more(&mut self.io, &mut self.buffer).await? == 0 {
                return match self.chunk {
                    Chunk::Identity => Ok(None),
                    _ => Err("connection closed inside a chunked body".into()),
                };
            }
        }
    }
}

/// Takes what `buffer` holds of the body; `None` when more input is needed (or the body is done).
fn decode(chunk: &mut Chunk, buffer: &mut BytesMut) -> Result<Option<Bytes>, String> {
    loop {
        match *chunk {
            Chunk::Done => return Ok(None),
            Chunk::Identity => {
                return Ok((!buffer.is_empty()).then(|| buffer.split().freeze()));
            }
            Chunk::Data(remaining) => {
                if buffer.is_empty() {
                    return Ok(None);
                }
                let take = remaining.min(buffer.len());
                *chunk = match remaining - take {
                    0 => Chunk::End,
                    left => Chunk::Data(left),
                };
                return Ok(Some(buffer.split_to(take).freeze()));
            }
            Chunk::End => {
                if buffer.len() < 2 {
                    return Ok(None);
                }
                if &buffer[..2] != b"\r\n" {
                    return Err("chunk data not followed by CRLF".into());
                }
                buffer.advance(2);
                *chunk = Chunk::Size;
            }
            Chunk::Size => {
                let Some(end) = buffer.windows(2).position(|w| w == b"\r\n") else {
                    return Ok(None);
                };
                let line =
                    std::str::from_utf8(&buffer[..end]).map_err(|_| "chunk size is not text")?;
                let hex = line.split(';').next().unwrap_or("").trim();
                let size = usize::from_str_radix(hex, 16)
                    .map_err(|_| format!("bad chunk size {line:?}"))?;
                buffer.advance(end + 2);
                *chunk = if size == 0 {
                    Chunk::Done
                } else {
                    Chunk::Data(size)
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A chunked body arriving one byte at a time decodes to the same bytes as in one piece,
    /// extensions ignored, ending at the zero-size chunk.
    #[test]
    fn decodes_a_chunked_body_split_anywhere() {
        let wire = b"5\r\nhello\r\nb;ext=1\r\n, event: 12\r\n0\r\n\r\n";
        let mut chunk = Chunk::Size;
        let mut buffer = BytesMut::new();
        let mut body = Vec::new();
        for byte in wire {
            buffer.extend_from_slice(&[*byte]);
            while let Some(piece) = decode(&mut chunk, &mut buffer).unwrap() {
                body.extend_from_slice(&piece);
            }
        }
        assert_eq!(body, b"hello, event: 12");
        assert_eq!(chunk, Chunk::Done);
    }

    #[test]
    fn a_bad_chunk_size_is_an_error() {
        let mut buffer = BytesMut::from(&b"zz\r\n"[..]);
        assert!(decode(&mut Chunk::Size, &mut buffer).is_err());
    }
}
