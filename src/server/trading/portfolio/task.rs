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
    // A minute: a session is swept after a day idle by default, so a sweep a minute late costs
    // nothing, and one `DELETE` a minute is nothing to the ledger. Half the idle time when that
    // is shorter (it may be set as low as 10 s): the touch before each sweep must come round
    // more often than a session takes to expire, or an open portfolio's session could expire
    // between two touches.
    let every = Duration::from_secs(60).min(portfolios.ledger.idle() / 2);
    let mut sweep = tokio::time::interval(every.max(Duration::from_millis(100)));
    // `Delay`, not the default `Burst`: after a stall (a slow ledger, a paused process) the missed
    // ticks are not fired back to back — one revaluation shows the newest prices, and a burst of
    // sweeps would only repeat the same query.
    for timer in [&mut revalue, &mut sweep] {
        timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    }
    loop {
        // One task for all of it, not a task per session: the portfolios share one lock and one
        // view of the prices, and a task per session would multiply the timers by the sessions.
        tokio::select! {
            signal = signals.recv() => match signal {
                // Everything but events (a topic's events are not a portfolio's): the endings, the
                // beat, and an id-less mark such as the future-event drill's.
                // Lagging is harmless here: what matters on this channel — the drain — is also
                // heard from `shutdown.begun()` below, and a missed beat is followed by the next
                // one.
                Ok(Live::Event(_)) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Ok(signal) => portfolios.signal(signal).await,
                Err(broadcast::error::RecvError::Closed) => return,
            },
            // A wake says only whose fills to read; the read is by fill number (`fills_after`), so
            // a wake heard twice or late reads nothing twice.
            Some(wake) = wakes.recv() => match wake {
                Wake::Session(session) => portfolios.notify(&session).await,
                Wake::Everything => portfolios.notify_all().await,
            },
            _ = revalue.tick() => portfolios.revalue().await,
            _ = sweep.tick() => match portfolios.sweep().await {
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
