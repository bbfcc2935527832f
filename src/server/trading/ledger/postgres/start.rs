//! What an instance does once, at start, before the pool exists: one connection that migrates
//! the schema (under an advisory lock) and reads the server's connection limits; the pool's
//! size from those; the TLS connector; and which errors no wait will fix.

use crate::server::trading::ledger::LedgerError;
use std::sync::Arc;
use tokio_postgres::error::SqlState;
use tokio_postgres::Config;
use tokio_postgres_rustls::MakeRustlsConnect;

/// The migrations, in order; the `ledger_migrations` table records those applied.
///
/// Compiled into the binary (`include_str!`), not read from disk at start: a deployed binary cannot
/// meet a migrations folder of another version, and the schema it migrates to is the one its
/// queries were written against.
const MIGRATIONS: &[&str] = &[include_str!("../migrations/postgres/0001_ledger.sql")];

/// The advisory lock two instances migrating at once take in turn (any constant: "tickr").
///
/// A transaction-level lock (`pg_advisory_xact_lock`), not a session-level one: it is released
/// by the commit or the rollback, so an instance killed mid-migration cannot leave it held.
const MIGRATION_LOCK: i64 = 0x7469_636b_72;

/// How many instances one Postgres is sized for: each takes at most its share of the
/// connections `max_connections` leaves to ordinary users, pool and LISTEN connection together.
///
/// Eight, because a pool sized from `max_connections` alone would let the first instance take
/// every connection and the second fail to start. Postgres's defaults (`max_connections` 100, 3
/// reserved) give each of eight instances 12 connections: 11 pooled and the LISTEN one.
const INSTANCES_PER_SERVER: usize = 8;

/// Errors no wait will fix: wrong password or user, no such database, TLS the server does not
/// offer (`sslmode=require`). The start-up fails at once with them instead of waiting.
pub(super) fn is_fatal(error: &tokio_postgres::Error) -> bool {
    // Anything else (refused, reset, "the database system is starting up") is worth a wait:
    // Postgres restarting, or started a moment after us by the same script (`scripts/cluster`).
    let fatal_codes = [
        SqlState::INVALID_PASSWORD,
        SqlState::INVALID_AUTHORIZATION_SPECIFICATION,
        SqlState::INVALID_CATALOG_NAME,
        SqlState::INSUFFICIENT_PRIVILEGE,
    ];
    match error.code() {
        Some(code) => fatal_codes.contains(code),
        // No SQLSTATE for a TLS failure: the client library says it only in its message, and a
        // server that does not offer TLS will not start to while we wait.
        None => error
            .to_string()
            .starts_with("error performing TLS handshake"),
    }
}

/// One try at start: a connection, the migrations, and the server's connection limits.
pub(super) async fn prepare(
    config: &Config,
    tls: &MakeRustlsConnect,
) -> Result<(usize, usize), tokio_postgres::Error> {
    let (mut client, connection) = config.connect(tls.clone()).await?;
    // tokio-postgres splits a connection into the client that sends and a future that does the IO:
    // nothing moves until that future is polled, so it gets a task of its own for this one use.
    let driver = tokio::spawn(connection);
    let result = async {
        migrate(&mut client).await?;
        // Asked of the server rather than configured: whoever runs Postgres sizes it, and a
        // pool that assumed 100 would exhaust a server set to 20.
        let row = client
            .query_one(
                "SELECT current_setting('max_connections')::int,
                        current_setting('superuser_reserved_connections')::int",
                &[],
            )
            .await?;
        Ok((row.get::<_, i32>(0) as usize, row.get::<_, i32>(1) as usize))
    }
    .await;
    // The client first, so the connection future ends on its own; the abort is for a server that
    // does not answer the close.
    drop(client);
    driver.abort();
    result
}

/// Applies the migrations not yet applied, in one transaction under an advisory lock: two
/// instances starting at once take turns, and the second finds nothing left to do.
async fn migrate(client: &mut tokio_postgres::Client) -> Result<(), tokio_postgres::Error> {
    // One transaction for the lock, the bookkeeping and every migration: a migration that fails
    // leaves no half-applied schema and no version recorded, and the next start tries it again.
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS ledger_migrations (
             version    integer     PRIMARY KEY,
             applied_at timestamptz NOT NULL DEFAULT now()
         )",
    )
    .await?;
    // Counted, not looked up by number: migrations are only ever appended, so "how many were
    // applied" says which come next. A database with more than this binary knows (a newer version
    // ran) skips nothing and applies nothing.
    let applied: i64 = tx
        .query_one("SELECT count(*) FROM ledger_migrations", &[])
        .await?
        .get(0);
    for (version, sql) in MIGRATIONS.iter().enumerate().skip(applied as usize) {
        tx.batch_execute(sql).await?;
        let version = version as i32 + 1;
        tx.execute(
            "INSERT INTO ledger_migrations (version) VALUES ($1)",
            &[&version],
        )
        .await?;
        tracing::info!(version, "ledger schema migrated");
    }
    tx.commit().await
}

/// The pool's size: this instance's share of the server (see [`INSTANCES_PER_SERVER`]), one
/// connection of it kept for LISTEN, at least 2 and at most 16.
pub(super) fn pool_size(max_connections: usize, reserved: usize) -> usize {
    // At least 2, so one slow query does not hold up every order behind it. At most 16: each
    // Postgres connection is a server process of a few MiB, and orders are short transactions
    // (one account row locked, a few inserts) that a handful of connections keep up with.
    (max_connections.saturating_sub(reserved) / INSTANCES_PER_SERVER)
        .saturating_sub(1)
        .clamp(2, 16)
}

/// `host:port/database`, from the parsed URL (so never its password).
pub(super) fn location(config: &Config) -> String {
    // For the log lines: built from the parsed parts, so a password in the URL never reaches one.
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(host)) => host.clone(),
        Some(tokio_postgres::config::Host::Unix(path)) => path.display().to_string(),
        None => "localhost".to_owned(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let database = config
        .get_dbname()
        .or(config.get_user())
        .unwrap_or("postgres");
    format!("{host}:{port}/{database}")
}

/// TLS for `sslmode=prefer` (the default) and `require`: the system's roots, plus the file
/// `PGSSLROOTCERT` names (libpq's variable) for a private CA. Stricter than libpq's `require`,
/// which encrypts without checking whom it talks to: here the server's certificate is always
/// verified, as libpq's `verify-full` does.
pub(super) fn tls_connector() -> Result<MakeRustlsConnect, LedgerError> {
    use rustls::pki_types::{pem::PemObject, CertificateDer};
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert); // a system root rustls cannot parse is one fewer root, no more
    }
    if let Some(file) = std::env::var_os("PGSSLROOTCERT") {
        let bad = |error: &dyn std::fmt::Display| {
            LedgerError::Config(format!("PGSSLROOTCERT {}: {error}", file.to_string_lossy()))
        };
        for cert in CertificateDer::pem_file_iter(&file).map_err(|e| bad(&e))? {
            roots.add(cert.map_err(|e| bad(&e))?).map_err(|e| bad(&e))?;
        }
    }
    // ring, the same provider as the server's listener (`transport::tls`): one crypto library in
    // the binary, and no process-wide default to install before the first connection.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("the ring provider supports the default TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}
