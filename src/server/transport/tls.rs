//! The rustls configuration — and the one line that makes HTTP/2 happen.
//!
//! Browsers speak HTTP/2 only over TLS, and they only use it when the server agrees to it during
//! the TLS handshake, through ALPN (Application-Layer Protocol Negotiation). The client offers
//! `h2, http/1.1`; the server picks the first of *its* list that the client also offers. So the
//! order of [`ALPN_H2_THEN_HTTP1`] is the whole decision: `h2` for every browser from the last
//! decade, `http/1.1` for clients that cannot (curl `--http1.1`, old proxies).
//!
//! Without ALPN a browser silently falls back to HTTP/1.1, and with it to at most six
//! connections per host — the failure tickerplex exists to show.

//! What it owns: the rustls `ServerConfig` (crypto provider, protocol versions, certificate,
//! ALPN list). Not the certificate files ([`crate::server::transport::certs`]) or the handshake itself, which the
//! accept loop runs per connection ([`crate::server::transport::connection`]).

use crate::server::transport::certs::{CertError, Identity};
use rustls::ServerConfig;
use std::sync::Arc;

/// ALPN protocol ids in the server's order of preference.
pub const ALPN_H2_THEN_HTTP1: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// Builds the TLS configuration for the HTTPS listener.
///
/// The crypto provider is passed explicitly instead of relying on a process-wide default:
/// rustls panics at `ServerConfig::builder()` when more than one provider is compiled into the
/// dependency graph and none was installed, and a dependency can switch one on behind our back.
pub fn server_config(identity: Identity) -> Result<Arc<ServerConfig>, CertError> {
    let Identity {
        cert_chain,
        key,
        files,
    } = identity;

    // `ring`: builds with a C compiler alone, where `aws-lc-rs` also wants cmake and (for some
    // targets) a Go toolchain — a newcomer's first build should not fail on a missing tool.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        // Start-up only, and it cannot fail: `ring` implements both default versions (TLS 1.3
        // and 1.2) — this errs only for a provider missing one, which would be a build mistake.
        .with_safe_default_protocol_versions()
        .expect("the ring provider supports the default TLS versions")
        .with_no_client_auth()
        .with_single_cert(cert_chain, key)
        .map_err(|source| match source {
            rustls::Error::InconsistentKeys(_) => CertError::Mismatch {
                cert: files.cert.clone(),
                key: files.key.clone(),
            },
            source => CertError::Rejected {
                cert: files.cert.clone(),
                key: files.key.clone(),
                source,
            },
        })?;

    // THE line: offer HTTP/2 first. See the module doc.
    config.alpn_protocols = ALPN_H2_THEN_HTTP1.iter().map(|p| p.to_vec()).collect();

    Ok(Arc::new(config))
}

/// The same identity, offering only `http/1.1`: the listener that reproduces the browser's
/// six-connections-per-host limit (see `server::transport::connection`).
pub fn http1_only(config: &ServerConfig) -> Arc<ServerConfig> {
    // A clone shares the certificate (an `Arc` inside rustls) and differs only in ALPN. Offering
    // nothing at all would also end in HTTP/1.1, but naming it keeps the negotiation explicit and
    // lets a client that insists on h2 fail the handshake visibly rather than silently.
    let mut config = config.clone();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::transport::certs::{load, DevPki};

    /// A key from another certificate is reported as a mismatch naming both files, not a panic.
    #[test]
    fn a_key_that_does_not_match_the_certificate_is_a_named_error() {
        let dir = tempfile::tempdir().unwrap();
        let files = DevPki::generate().unwrap().write_to(dir.path()).unwrap();
        // A valid key, just not this certificate's: the case a copy-paste of the wrong file makes.
        std::fs::write(&files.key, DevPki::generate().unwrap().key_pem).unwrap();

        // Caught when the configuration is built, at start: rustls checks that the key signs for
        // the certificate, so the error is not left for the first handshake to find.
        let err = server_config(load(&files).unwrap()).unwrap_err();
        assert!(matches!(err, CertError::Mismatch { .. }), "{err}");
        assert!(err.to_string().contains("localhost-key.pem"), "{err}");
    }

    /// The server offers h2 before http/1.1, so ALPN picks HTTP/2 whenever the client can.
    #[test]
    fn alpn_prefers_h2() {
        let dir = tempfile::tempdir().unwrap();
        let files = DevPki::generate().unwrap().write_to(dir.path()).unwrap();
        let config = server_config(load(&files).unwrap()).unwrap();
        // The order is the decision: rustls picks the first of ours the client also offers.
        assert_eq!(
            config.alpn_protocols,
            vec![b"h2".to_vec(), b"http/1.1".to_vec()]
        );
    }
}
