//! The sockets a server listens on, and binding them with errors that name the address.

use super::StartupError;
use std::net::SocketAddr;
use tokio::net::TcpListener;

/// The sockets a server accepts on. Bound by the caller, so the caller chooses the ports (a
/// test uses port 0) and knows them before the first request.
pub struct Listeners {
    /// The app over HTTPS, offering HTTP/2 then HTTP/1.1 by ALPN.
    pub https: TcpListener,
    /// The same app offering only HTTP/1.1: the six-connection starvation demo.
    pub http1: Option<TcpListener>,
    /// Plain HTTP, `GET /metrics` only, for the operators' Prometheus (`server::metrics`).
    pub metrics: Option<TcpListener>,
}

/// Binds one address, turning the OS error into one that names the address, the likely cause
/// (another tickerplex still running is the usual one in development) and `var`, the setting
/// that moves this listener: two instances on one host collide on the metrics port first, and
/// a hint naming the HTTPS address there sent people to the wrong variable.
pub(super) async fn bind(addr: SocketAddr, var: &'static str) -> Result<TcpListener, StartupError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| StartupError::Bind { addr, var, source })
}

/// Binds `addr` if one is configured.
pub(super) async fn bind_optional(
    addr: Option<SocketAddr>,
    var: &'static str,
) -> Result<Option<TcpListener>, StartupError> {
    match addr {
        Some(addr) => bind(addr, var).await.map(Some),
        None => Ok(None),
    }
}
