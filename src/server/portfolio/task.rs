//! The portfolios' one background task per instance.

use super::{Portfolios, POLL, VALUATION};
use crate::server::log::Live;
use crate::server::shutdown::Shutdown;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;

/// The portfolios' background work on this instance, until the drain: poll the ledger for
/// fills made elsewhere, revalue positions, forward the drain and the drills' signals
/// (`Topics::signals`) to every portfolio stream, and sweep idle sessions.
pub async fn run(portfolios: Arc<Portfolios>, shutdown: Shutdown) {
    let mut signals = portfolios.topics.signals();
    let mut position = portfolios.ledger.latest_position().await.unwrap_or(0);
    let mut poll = tokio::time::interval(POLL);
    let mut revalue = tokio::time::interval(VALUATION);
    let mut sweep = tokio::time::interval(Duration::from_secs(60));
    for timer in [&mut poll, &mut revalue, &mut sweep] {
        timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    }
    loop {
        tokio::select! {
            signal = signals.recv() => match signal {
                Ok(Live::Event(_)) | Ok(Live::Mark(_)) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Ok(signal) => portfolios.signal(signal).await,
                Err(broadcast::error::RecvError::Closed) => return,
            },
            _ = poll.tick() => match portfolios.ledger.fills_since(position).await {
                Ok(fills) => {
                    for (at, session, _) in fills {
                        position = at;
                        portfolios.notify(&session).await;
                    }
                }
                Err(error) => tracing::warn!(%error, "cannot poll the ledger"),
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
