//! The server binary: wiring only.
//! Configuration → TLS → topics and the market feed → router → serve until a signal → drain.
//!
//! Every piece lives in the library (`src/server/`), where the integration tests can use it.

use std::process::ExitCode;
use std::sync::Arc;
use tickerplex::server::routes::AppState;
use tickerplex::server::{
    certs, config, connection, feed, registry::Registry, routes, shutdown, telemetry, tls,
    StartupError,
};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

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

    // The epoch tells this run's event ids from the last run's: start time in milliseconds.
    let now = chrono::Utc::now();
    let topics = Arc::new(feed::topics(now.timestamp_millis() as u64));
    let draining = CancellationToken::new();
    tokio::spawn(feed::run(
        feed::Feed::new(config.seed, topics.clone(), now),
        config.tick,
        draining.clone(),
    ));

    let addr = config.leptos.site_addr;
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| StartupError::Bind { addr, source })?;
    tracing::info!(
        url = %format!("https://localhost:{}", addr.port()),
        %addr,
        cert = %files.cert.display(),
        seed = config.seed,
        "tickerplex is serving (HTTPS, HTTP/2 via ALPN)"
    );

    let registry = Arc::new(Registry::default());
    let state = AppState {
        leptos: config.leptos,
        topics,
        registry: registry.clone(),
        streams: config.streams,
        shutdown: draining.clone(),
    };

    // On the signal, first tell every stream to say `shutdown` and end, then drain connections:
    // an open SSE response would otherwise hold its connection open until the drain timeout.
    let stop = async move {
        shutdown::signal().await;
        draining.cancel();
    };
    connection::serve(listener, tls, routes::router(state), registry, stop).await;
    tracing::info!("stopped");
    Ok(())
}
