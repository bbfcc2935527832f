//! The configuration's rules, checked without touching the process environment (which tests
//! running in parallel share).

use super::*;

/// Naming a certificate without its key is refused with a message naming the missing variable.
#[test]
fn a_certificate_without_a_key_is_refused() {
    // Half a configuration is almost always a typo in the other variable's name: refuse,
    // and name the one that is missing, rather than fall back to dev certificates.
    let err = tls_source(Some("c.pem".into()), None, None).unwrap_err();
    assert!(err.to_string().contains(TLS_KEY_VAR), "{err}");
}

/// With nothing configured the server falls back to dev certificates in `certs/`.
#[test]
fn nothing_configured_means_dev_certificates_in_certs() {
    // The zero-configuration path a newcomer takes: no variables, certificates in `certs/`.
    match tls_source(None, None, None).unwrap() {
        TlsSource::Dev { dir } => assert_eq!(dir, PathBuf::from("certs")),
        other => panic!("expected dev certificates, got {other:?}"),
    }
}
