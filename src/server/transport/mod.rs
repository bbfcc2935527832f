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

pub mod backoff;
pub mod certs;
pub mod coalesce;
pub mod connection;
pub mod limits;
pub mod registry;
pub mod shutdown;
pub mod stall;
pub mod tls;
