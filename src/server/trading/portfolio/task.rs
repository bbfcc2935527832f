//! The portfolios' one background task per instance.

use super::{Portfolios, VALUATION};
use crate::server::pubsub::log::Live;
use crate::server::trading::ledger::Wake;
use crate::server::transport::shutdown::Shutdown;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;

/// The portfolios' background work on this instance, until the drain: hear of fills made
/// elsewhere (`Ledger::watch`), revalue positions, forward the drain and the drills' signals
/// (`Topics::signals`) to every portfolio stream, and sweep idle sessions.
pub async fn run(portfolios: Arc<Portfolios>, shutdown: Shutdown) {
    let mut signals = portfolios.topics.signals();
    let mut wakes = portfolios.ledger.watch();
    let mut revalue = tokio::time::interval(VALUATION);
    let mut sweep = tokio::time::interval(Duration::from_secs(60));
    for timer in [&mut revalue, &mut sweep] {
        timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    }
    loop {
        tokio::select! {
            signal = signals.recv() => match signal {
                // Everything but events (a topic's events are not a portfolio's): the endings, the
                // beat, and an id-less mark such as the future-event drill's.
                Ok(Live::Event(_)) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Ok(signal) => portfolios.signal(signal).await,
                Err(broadcast::error::RecvError::Closed) => return,
            },
            Some(wake) = wakes.recv() => match wake {
                Wake::Session(session) => portfolios.notify(&session).await,
                Wake::Everything => portfolios.notify_all().await,
            },
            _ = revalue.tick() => portfolios.revalue().await,
            _ = sweep.tick() => match portfolios.ledger.sweep().await {
                Ok(0) => {}
                Ok(swept) => tracing::info!(swept, "idle sessions deleted with their portfolios"),
                Err(error) => tracing::warn!(%error, "cannot sweep idle sessions"),
            },
            _ = shutdown.begun() => {
                // The drain's own signal may have raced ahead of this loop's last receive.
                portfolios.signal(Live::Shutdown).await;
                return;
            }
        }
    }
}
