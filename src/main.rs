//! The server binary: wiring only.
//! Configuration → TLS → topics and the market feed → router → serve until a signal → drain.
//!
//! Every piece lives in the library (`src/server/`), where the integration tests can use it.

use std::process::ExitCode;
use std::sync::Arc;
use tickerplex::server::drills::Drills;
use tickerplex::server::routes::AppState;
use tickerplex::server::{
    bench, certs, config, connection, feed, registry::Registry, routes, shutdown, telemetry, tls,
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
    let epoch = now.timestamp_millis() as u64;
    let mut topics = feed::topics(epoch);
    if config.bench_rate.is_some() {
        topics.add(bench::topic(epoch));
    }
    let topics = Arc::new(topics);
    let draining = CancellationToken::new();
    let (feed_commands, commands) = tokio::sync::mpsc::channel(8);
    tokio::spawn(feed::run(
        feed::Feed::new(config.seed, topics.clone(), now),
        config.tick,
        commands,
        draining.clone(),
    ));

    if let Some(rate) = config.bench_rate {
        tracing::warn!(
            rate,
            "bench mode: topic `bench` ticks {rate} times a second"
        );
        tokio::spawn(bench::run(topics.clone(), rate, draining.clone()));
    }

    let addr = config.leptos.site_addr;
    let listener = bind(addr).await?;
    tracing::info!(
        url = %format!("https://localhost:{}", addr.port()),
        %addr,
        cert = %files.cert.display(),
        seed = config.seed,
        "tickerplex is serving (HTTPS, HTTP/2 via ALPN)"
    );
    // The starvation demo: the same app, on a port that only speaks HTTP/1.1.
    let http1 = match config.http1_port {
        Some(port) => {
            let addr = std::net::SocketAddr::new(addr.ip(), port);
            let listener = bind(addr).await?;
            tracing::info!(
                url = %format!("https://localhost:{port}"),
                %addr,
                "also serving HTTP/1.1 only (browsers open at most 6 connections per host here)"
            );
            Some(listener)
        }
        None => None,
    };
    if config.drills {
        tracing::warn!(
            "fault drills are on (POST /api/drills/...): any client can drop every stream"
        );
    }

    let registry = Arc::new(Registry::default());
    let state = AppState {
        leptos: config.leptos,
        topics,
        registry: registry.clone(),
        streams: config.streams,
        shutdown: draining.clone(),
        drills: Drills {
            enabled: config.drills,
            feed: Some(feed_commands),
            ..Drills::default()
        },
    };
    let app = routes::router(state);

    // On the signal, first tell every stream to say `shutdown` and end, then drain connections:
    // an open SSE response would otherwise hold its connection open until the drain timeout.
    tokio::spawn({
        let draining = draining.clone();
        async move {
            shutdown::signal().await;
            draining.cancel();
        }
    });
    let main = connection::serve(
        listener,
        tls.clone(),
        app.clone(),
        registry.clone(),
        draining.clone().cancelled_owned(),
    );
    match http1 {
        None => main.await,
        Some(listener) => {
            let http1 = connection::serve(
                listener,
                tls::http1_only(&tls),
                app,
                registry,
                draining.cancelled_owned(),
            );
            tokio::join!(main, http1);
        }
    }
    tracing::info!("stopped");
    Ok(())
}

async fn bind(addr: std::net::SocketAddr) -> Result<TcpListener, StartupError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| StartupError::Bind { addr, source })
}
