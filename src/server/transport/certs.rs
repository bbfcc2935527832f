//! Where the server's TLS certificate comes from.
//!
//! Two sources, chosen by [`crate::server::config`]:
//! - **configured**: `TICKERPLEX_TLS_CERT` + `TICKERPLEX_TLS_KEY` name PEM files the operator
//!   owns. They are only ever read; anything wrong with them is a [`CertError`] naming the file.
//! - **dev**: a folder (default `certs/`). If it holds no certificate yet, a local development CA
//!   and a `localhost` / `127.0.0.1` / `::1` leaf signed by it are generated with `rcgen` and
//!   written there, so the first `cargo leptos watch` just works. Trust `certs/dev-ca.pem` once in
//!   your browser and the padlock is green from then on (see `certs/README.md`).
//!
//! Why a CA and not a single self-signed leaf: a browser can trust a CA once and keep trusting
//! leaves it signs, and the test suite can trust exactly that CA — no "accept invalid certs"
//! switch in the Rust tests. The CA's private key is never written to disk: it signs the one leaf
//! and is dropped, so trusting the dev CA cannot be abused to mint certificates for other sites.
//!
//! Not here: the rustls `ServerConfig` and ALPN — see [`crate::server::transport::tls`].
//!
//! Trusting the dev CA (once per machine; `certs/README.md` has the details):
//! - Chromium on Linux: Settings → Privacy and security → Security → Manage certificates →
//!   Authorities → Import `certs/dev-ca.pem`;
//! - Firefox: the same under Settings → Certificates → View Certificates → Authorities;
//! - macOS: `security add-trusted-cert -r trustRoot -k ~/Library/Keychains/login.keychain-db
//!   certs/dev-ca.pem`.
//!
//! Untrusted, the page still works after clicking through the warning, and still uses HTTP/2:
//! ALPN does not care whether the certificate is trusted, only that TLS happened.
//!
//! Past 300 lines as one concept: where the server's certificate comes from, generated or
//! configured, read and checked, with its unit tests (about 60 lines) beside it.

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::io;
use std::path::{Path, PathBuf};

/// File names inside the dev certificate folder.
pub const DEV_CA_FILE: &str = "dev-ca.pem";
pub const DEV_CERT_FILE: &str = "localhost.pem";
pub const DEV_KEY_FILE: &str = "localhost-key.pem";

/// The names the dev leaf is valid for. One origin, however the developer types it — though the
/// README asks for `localhost` everywhere, because browsers pool HTTP/2 connections per origin.
const DEV_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// A certificate chain and its private key, as PEM files on disk.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// The leaf first, then any intermediates: what the server sends in the handshake.
    pub cert: PathBuf,
    /// The leaf's private key (PKCS#8, PKCS#1 or SEC1; `rcgen` writes PKCS#8).
    pub key: PathBuf,
}

/// A parsed certificate chain and private key, ready for [`crate::server::transport::tls::server_config`].
#[derive(Debug)]
pub struct Identity {
    /// DER certificates, leaf first, parsed from the PEM file.
    pub cert_chain: Vec<CertificateDer<'static>>,
    /// The private key, DER. Owned (`'static`): rustls keeps it for the server's life.
    pub key: PrivateKeyDer<'static>,
    /// Where they came from, so a later error (a key that does not match) can name the files.
    pub files: TlsFiles,
}

/// Everything that can go wrong getting a certificate. Every variant names the file involved.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    #[error("cannot read TLS {what} file {}: {source}", path.display())]
    /// A file named by the configuration could not be read (missing, not permitted).
    Read {
        what: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("TLS certificate file {} holds no PEM certificate (expected a \"-----BEGIN CERTIFICATE-----\" block)", path.display())]
    /// The certificate file is readable but holds no certificate (a key, a DER file, an empty one).
    NoCertificate { path: PathBuf },
    #[error("TLS key file {} holds no PEM private key (expected a PKCS#8, PKCS#1 or SEC1 \"PRIVATE KEY\" block)", path.display())]
    /// The key file is readable but holds no key in a form rustls reads.
    NoKey { path: PathBuf },
    #[error("the private key in {} does not belong to the certificate in {}", key.display(), cert.display())]
    /// The two files are each fine and do not belong together: checked at start, because a
    /// mismatched pair would otherwise fail every handshake with a message only the browser sees.
    Mismatch { cert: PathBuf, key: PathBuf },
    #[error("rustls rejected the certificate {} / key {}: {source}", cert.display(), key.display())]
    /// rustls refused the pair for another reason (an algorithm it does not support).
    Rejected {
        cert: PathBuf,
        key: PathBuf,
        source: rustls::Error,
    },
    #[error("cannot write dev certificate file {}: {source}", path.display())]
    /// The dev certificates could not be saved (`certs/` not writable): the server refuses to start
    /// with certificates no browser could be told to trust.
    Write { path: PathBuf, source: io::Error },
    #[error("cannot generate the dev certificates: {0}")]
    /// rcgen failed to make the dev CA or leaf (in practice: never, but it returns a `Result`).
    Generate(#[from] rcgen::Error),
}

/// A freshly generated dev CA and a leaf it signed, all PEM.
pub struct DevPki {
    /// The CA certificate: what a browser or test client trusts.
    pub ca_pem: String,
    /// The leaf certificate the server presents.
    pub cert_pem: String,
    /// The leaf's private key.
    pub key_pem: String,
}

impl DevPki {
    /// Generates a new CA and a leaf for `localhost`, `127.0.0.1` and `::1`.
    pub fn generate() -> Result<Self, rcgen::Error> {
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "tickerplex local development CA");
        // Path length 0: this CA may sign leaves but not other CAs, so even a stolen copy of it
        // (it is on disk only as a certificate, without its key) cannot anchor a chain of CAs.
        // Only the usages a CA needs: signing certificates and revocation lists.
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_key = KeyPair::generate()?;
        // ECDSA P-256 keys (rcgen's default): fast to generate and to handshake with, and every
        // browser accepts them. `ca_key` is dropped at the end of this function, unsaved.
        let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key)?;

        // Subject alternative names are what browsers check (the common name is ignored since
        // Chrome 58), so every name a developer might type is listed there.
        let mut leaf_params = CertificateParams::new(DEV_NAMES.map(String::from).to_vec())?;
        leaf_params
            .distinguished_name
            .push(DnType::CommonName, "tickerplex dev server (localhost)");
        let leaf_key = KeyPair::generate()?;
        let leaf = leaf_params.signed_by(&leaf_key, &ca)?;

        Ok(Self {
            ca_pem: ca.pem(),
            cert_pem: leaf.pem(),
            key_pem: leaf_key.serialize_pem(),
        })
    }

    /// Writes the three files into `dir` (creating it) and returns the leaf's paths.
    pub fn write_to(&self, dir: &Path) -> Result<TlsFiles, CertError> {
        let write = |name: &str, contents: &str| {
            let path = dir.join(name);
            std::fs::write(&path, contents).map_err(|source| CertError::Write {
                path: path.clone(),
                source,
            })?;
            Ok::<_, CertError>(path)
        };
        // The folder may not exist yet (a fresh clone has `certs/README.md` only, and a test
        // passes a new temporary directory): create it, and name it if that fails.
        std::fs::create_dir_all(dir).map_err(|source| CertError::Write {
            path: dir.to_path_buf(),
            source,
        })?;
        // The CA first and the leaf last: `ensure_dev_certs` treats the leaf's presence as
        // "done", so a start interrupted half-way regenerates everything next time.
        write(DEV_CA_FILE, &self.ca_pem)?;
        let cert = write(DEV_CERT_FILE, &self.cert_pem)?;
        let key = write(DEV_KEY_FILE, &self.key_pem)?;
        restrict_to_owner(&key)?;
        Ok(TlsFiles { cert, key })
    }
}

/// Returns the dev leaf in `dir`, generating CA + leaf first if the folder holds no certificate.
///
/// An existing certificate is reused as it is (so a CA you trusted stays valid across restarts);
/// delete the folder's `*.pem` files to get new ones.
///
/// Only the leaf's existence is checked: a folder with a leaf and no CA file still works (the
/// server needs only the leaf), and the CA is for people and test clients to trust.
pub fn ensure_dev_certs(dir: &Path) -> Result<TlsFiles, CertError> {
    let files = TlsFiles {
        cert: dir.join(DEV_CERT_FILE),
        key: dir.join(DEV_KEY_FILE),
    };
    if files.cert.exists() {
        return Ok(files);
    }
    let files = DevPki::generate()?.write_to(dir)?;
    tracing::info!(
        ca = %dir.join(DEV_CA_FILE).display(),
        cert = %files.cert.display(),
        "generated a local development CA and a localhost certificate (trust the CA to silence browser warnings; see certs/README.md)"
    );
    Ok(files)
}

/// Reads and parses a PEM certificate chain and private key.
///
/// Parsing is strict about presence and lenient about extras: the first PEM private key is
/// used, every certificate block becomes part of the chain in file order (so a root pasted
/// after the leaf is sent too, which clients tolerate), and blocks of other kinds are skipped —
/// what `nginx` accepts too.
pub fn load(files: &TlsFiles) -> Result<Identity, CertError> {
    let cert_pem = read(&files.cert, "certificate")?;
    let cert_chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| CertError::NoCertificate {
            path: files.cert.clone(),
        })?;
    if cert_chain.is_empty() {
        return Err(CertError::NoCertificate {
            path: files.cert.clone(),
        });
    }

    let key_pem = read(&files.key, "key")?;
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|_| CertError::NoKey {
        path: files.key.clone(),
    })?;

    Ok(Identity {
        cert_chain,
        key,
        files: files.clone(),
    })
}

/// Reads a whole PEM file, naming it (and whether it is the certificate or the key) on failure:
/// "cannot read TLS key file /etc/x.pem: permission denied" is an error an operator can act on.
fn read(path: &Path, what: &'static str) -> Result<Vec<u8>, CertError> {
    std::fs::read(path).map_err(|source| CertError::Read {
        what,
        path: path.to_path_buf(),
        source,
    })
}

/// A private key is readable by its owner only, like ssh keys. Done after writing rather than
/// by creating the file with that mode: the key is a demo's, the window is microseconds, and
/// `OpenOptionsExt::mode` would need a second code path for non-Unix systems anyway.
fn restrict_to_owner(path: &Path) -> Result<(), CertError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(
            |source| CertError::Write {
                path: path.to_path_buf(),
                source,
            },
        )?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first start writes a CA and a leaf; the second start reuses them unchanged.
    #[test]
    fn dev_certs_are_generated_once_and_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        // A fresh folder, as a fresh clone has: the first start makes the CA and the leaf.
        let first = ensure_dev_certs(dir.path()).unwrap();
        let written = std::fs::read(&first.cert).unwrap();
        assert!(dir.path().join(DEV_CA_FILE).exists());

        // Same bytes: a CA someone trusted after the first start stays the one that signed the
        // leaf, so the browser keeps trusting the server across restarts.
        let second = ensure_dev_certs(dir.path()).unwrap();
        assert_eq!(std::fs::read(&second.cert).unwrap(), written);
        load(&second).expect("the generated files parse");
    }

    /// A configured path that does not exist is an error that names it.
    #[test]
    fn a_missing_certificate_file_is_named_in_the_error() {
        let files = TlsFiles {
            cert: "/nonexistent/server.pem".into(),
            key: "/nonexistent/server-key.pem".into(),
        };
        let message = load(&files).unwrap_err().to_string();
        // The path as configured, so the operator sees which variable pointed where.
        assert!(message.contains("/nonexistent/server.pem"), "{message}");
    }

    /// A file that is not PEM is rejected as "no certificate", naming the file.
    #[test]
    fn a_file_without_pem_blocks_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let files = DevPki::generate().unwrap().write_to(dir.path()).unwrap();
        // A file that exists and reads, but holds no PEM block: a DER file or a key pasted into the
        // certificate's place looks like this.
        std::fs::write(&files.cert, "not a certificate").unwrap();
        let err = load(&files).unwrap_err();
        assert!(matches!(err, CertError::NoCertificate { .. }), "{err}");
        assert!(err.to_string().contains(DEV_CERT_FILE));
    }

    /// The generated private key is not readable by other users.
    #[cfg(unix)]
    #[test]
    fn the_generated_key_is_private_to_its_owner() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let files = ensure_dev_certs(dir.path()).unwrap();
        // Group and others get nothing (the low six bits), as `ssh` insists for its keys.
        // The code sets the mode itself (0600) once the key is written, so the result does
        // not depend on the umask of whoever started the server.
        let mode = std::fs::metadata(&files.key).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "key mode {mode:o}");
    }
}
