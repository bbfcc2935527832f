//! The ports a server under test listens on, and the check that nothing else holds them.

use std::net::{Ipv4Addr, SocketAddr};

/// The ports one server listens on.
#[derive(Clone, Copy, Debug)]
pub struct Ports {
    /// TLS, ALPN `h2` (and `http/1.1`).
    pub h2: u16,
    /// TLS, ALPN `http/1.1` only.
    pub h1: u16,
    /// Nchan's publisher endpoint (plain HTTP); tickerplex publishes in-process.
    pub publish: u16,
}

impl Ports {
    pub fn addr(port: u16) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, port))
    }

    /// `Err` naming the first of these ports something already listens on (a server left over
    /// from an earlier run would answer in this one's place).
    pub async fn check_free(&self) -> Result<(), String> {
        for port in [self.h2, self.h1, self.publish]
            .into_iter()
            .filter(|p| *p != 0)
        {
            if tokio::net::TcpStream::connect(Ports::addr(port))
                .await
                .is_ok()
            {
                return Err(format!(
                    "something already listens on 127.0.0.1:{port}; stop it first"
                ));
            }
        }
        Ok(())
    }
}
