//! The feed's task: the one place the market is moved, by its clock, by a command, or not at
//! all while another instance publishes (the lease's renewals run here too).

use super::Feed;
use crate::server::pubsub::log::redis::RENEW_EVERY;
use crate::server::transport::shutdown::Shutdown;
use chrono::Utc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// What other tasks may ask of the feed: the [fault drills](crate::server::demo::drills), and tests that move
/// the market by hand. A channel into the one task that owns the market, rather than a lock
/// around it: the market stays single-owner, and each topic's events keep one order.
#[derive(Debug)]
pub enum Command {
    /// Rotate the watchlist now; `done` is answered once its events are published.
    RotateWatchlist { done: oneshot::Sender<()> },
    /// Move the market `ticks` ticks now; `done` is answered once their events are published.
    /// This is how the integration tests make "k events were missed" exact.
    Step {
        ticks: usize,
        done: oneshot::Sender<()>,
    },
}

/// Runs the feed until the drain begins: one step per `tick` (or only when told, with `None`),
/// and any [`Command`].
pub async fn run(
    mut feed: Feed,
    tick: Option<Duration>,
    mut commands: mpsc::Receiver<Command>,
    shutdown: Shutdown,
) {
    let mut interval = tick.map(|tick| {
        let mut interval = tokio::time::interval(tick);
        // After a stall (a suspended laptop), carry on at the normal rate rather than burst.
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        interval
    });
    // With a lease, renewed (or tried for) on its own clock, whatever the market's.
    let mut renewals = feed.lease.as_ref().map(|_| {
        let mut interval = tokio::time::interval(RENEW_EVERY);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        interval
    });
    // The clock as a future that never completes when there is none, so one `select!` serves
    // both the ticking server and the hand-stepped test server.
    let next_tick = async |interval: &mut Option<tokio::time::Interval>| match interval {
        Some(interval) => {
            interval.tick().await;
        }
        None => std::future::pending().await,
    };
    // Four things can happen, and the task handles one at a time: a tick, a lease renewal, a
    // command, the drain. Because the market is touched only here, none of them needs a lock.
    loop {
        tokio::select! {
            // A step awaits its append: a slow log slows the market down instead of piling
            // ticks up behind it, and each topic's events still leave in order.
            () = next_tick(&mut interval) => feed.step(Utc::now()).await,
            // A renewal delayed by a slow step is simply late: the lease outlives several
            // renewals, so one late renewal does not hand the market to another instance.
            () = next_tick(&mut renewals) => feed.renew_lease(Utc::now()).await,
            Some(command) = commands.recv() => match command {
                Command::RotateWatchlist { done } => {
                    feed.rotate_watchlist_now(Utc::now()).await;
                    // The asker may have given up (its request was cancelled): nothing to do.
                    let _ = done.send(());
                }
                Command::Step { ticks, done } => {
                    for _ in 0..ticks {
                        feed.step(Utc::now()).await;
                    }
                    let _ = done.send(());
                }
            },
            // The drain ends the market here: an instance that is going away publishes nothing
            // more (with Redis, another instance takes the market over once the lease lapses).
            () = shutdown.begun() => break,
        }
    }
}
