//! The signal that starts a graceful drain.
//!
//! As in mini-redis, the server does not listen for signals itself: `connection::serve` takes any
//! future as its shutdown trigger. `main` passes [`signal`]; tests pass a oneshot they control, so
//! shutdown is testable without sending the test process a real signal.

/// Completes on the first Ctrl-C (SIGINT) or, on Unix, SIGTERM (what `kill`, systemd and
/// `cargo leptos watch` send when they stop the server).
pub async fn signal() {
    let ctrl_c = async {
        tokio::signal::ctrl_c()
            .await
            .expect("installing the Ctrl-C handler should succeed at startup");
    };

    #[cfg(unix)]
    let terminate = async {
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing the SIGTERM handler should succeed at startup")
            .recv()
            .await;
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();

    tokio::select! {
        () = ctrl_c => tracing::info!(signal = "SIGINT", "shutdown requested"),
        () = terminate => tracing::info!(signal = "SIGTERM", "shutdown requested"),
    }
}
