//! The server binary: wiring only. Configuration → TLS → router → serve until a signal.
//!
//! Every piece lives in the library (`src/server/`), where the integration tests can use it.

use std::process::ExitCode;
use tickerplex::server::{certs, config, connection, routes, shutdown, telemetry, tls, StartupError};
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> ExitCode {
    telemetry::init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // One readable line naming what to fix, not a panic trace.
            tracing::error!(%error, "tickerplex could not start");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), StartupError> {
    let config = config::Config::from_env()?;

    let files = match &config.tls {
        config::TlsSource::Configured(files) => files.clone(),
        config::TlsSource::Dev { dir } => certs::ensure_dev_certs(dir)?,
    };
    let tls = tls::server_config(certs::load(&files)?)?;

    let addr = config.leptos.site_addr;
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| StartupError::Bind { addr, source })?;
    tracing::info!(
        url = %format!("https://localhost:{}", addr.port()),
        %addr,
        cert = %files.cert.display(),
        "tickerplex is serving (HTTPS, HTTP/2 via ALPN)"
    );

    connection::serve(listener, tls, routes::router(config.leptos), shutdown::signal()).await;
    tracing::info!("stopped");
    Ok(())
}
