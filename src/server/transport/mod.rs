//! The connection: from a TCP socket to HTTP/2 streams, and back out to the backends.
//!
//! What it owns: the certificate ([`certs`]) and rustls with ALPN ([`tls`]); the accept loop and
//! hyper's connection ([`connection`]), with batched writes ([`coalesce`]) and readers judged
//! dead or trickling ([`stall`]); who may open how many streams ([`limits`]) and who has
//! ([`registry`]); the drain ([`shutdown`]); and the patient reconnect to Redis or Postgres
//! ([`backoff`]).
//!
//! It may import [`crate::server::metrics`] only: nothing here knows what a topic or an event is.
//! A stream is a body hyper polls; what the body says is [`crate::server::stream`]'s business.

/// Reads pass straight through a write-side wrapper to the IO it wraps (its field `io`): the
/// two wrappers of a connection's socket, [`coalesce::Coalesce`] and [`stall::WriteStall`],
/// change only how writes go, and say so by using this for their `AsyncRead`. A macro rather
/// than a generic wrapper type with write hooks: each wrapper's writes are the lesson of its
/// file and read best written out there, while the read side has nothing to teach.
macro_rules! read_passes_through {
    ($wrapper:ident) => {
        impl<T: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for $wrapper<T> {
            fn poll_read(
                mut self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut tokio::io::ReadBuf<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::pin::Pin::new(&mut self.io).poll_read(cx, buf)
            }
        }
    };
}

pub mod backoff;
pub mod certs;
pub mod coalesce;
pub mod connection;
pub mod limits;
pub mod registry;
pub mod shutdown;
pub mod stall;
pub mod tls;
