//! The LISTEN connection: how an instance hears of fills other instances commit. A connection
//! of its own, outside the pool (a pooled connection would be recycled, its notifications lost
//! with it); a notification only wakes a session (`Wake`), and every (re)connect wakes them all,
//! since NOTIFY is not replayed to a listener that was away.

use super::failure::describe;
use super::{Postgres, CHANNEL};
use crate::server::trading::ledger::{SessionId, Wake};
use crate::server::transport::backoff::{RETRY_FIRST, RETRY_MAX};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_postgres::AsyncMessage;

impl Postgres {
    /// LISTENs on its own connection and wakes each notified session; after every (re)connect
    /// it says [`Wake::Everything`], since NOTIFY is not replayed: the portfolios then read each
    /// open account by its fill number, which misses nothing. Reconnects with backoff until
    /// the receiver is dropped.
    pub(in crate::server::trading::ledger) async fn watch(
        self: Arc<Self>,
        wakes: mpsc::Sender<Wake>,
    ) {
        // The same backoff as every other reconnect here (`transport::backoff`): 100 ms doubling
        // to 2 s, reset once a LISTEN succeeds, so a Postgres restart is heard again within two
        // seconds, and one that stays down is asked every 2 s rather than in a tight loop.
        let mut wait = RETRY_FIRST;
        loop {
            // Racing the receiver's end: when the ledger is dropped (the server drains), nobody
            // needs the wake-ups, and the LISTEN connection must close now rather than at its next
            // notification.
            let listened = tokio::select! {
                listened = self.listen(&wakes, &mut wait) => listened,
                _ = wakes.closed() => return,
            };
            // The select's first arm can finish in the same poll as the close: check again before a
            // sleep that would hold a dead ledger's connection open for the backoff.
            if wakes.is_closed() {
                return;
            }
            if let Err(error) = listened {
                tracing::warn!(location = %self.location, %error, "not listening for fills; reconnecting");
            }
            tokio::time::sleep(wait).await; // nothing to wait on but time: only a try tells
            wait = (wait * 2).min(RETRY_MAX);
        }
    }

    /// One LISTEN connection, until it ends (`Err`) or nobody needs its wake-ups (`Ok`).
    async fn listen(&self, wakes: &mpsc::Sender<Wake>, wait: &mut Duration) -> Result<(), String> {
        let (client, mut connection) = self
            .config
            .connect(self.tls.clone())
            .await
            .map_err(|e| describe(&e))?;
        // The connection is driven by polling its messages: a task of its own forwards the
        // notifications (and the error that ends it) while `client` sends the LISTEN.
        // Bounded like every other queue of wake-ups (`WAKES`): when the portfolios fall behind,
        // the driver waits here, the connection stops being read, and Postgres queues the
        // notifications on its side (8 GB by default) instead of this process growing without
        // limit.
        let (notes, mut received) =
            mpsc::channel::<Result<String, String>>(crate::server::trading::ledger::WAKES);
        let driver = tokio::spawn(async move {
            loop {
                let message = std::future::poll_fn(|cx| connection.poll_message(cx)).await;
                let note = match message {
                    Some(Ok(AsyncMessage::Notification(note))) => Ok(note.payload().to_owned()),
                    Some(Ok(_)) => continue, // a notice: nothing to act on
                    Some(Err(error)) => Err(describe(&error)),
                    None => Err("the connection closed".to_owned()),
                };
                // An error ends the connection: it is forwarded once, as the reason `listen`
                // returns, and the driver stops (polling a failed connection again would only
                // repeat it).
                let ended = note.is_err();
                if notes.send(note).await.is_err() || ended {
                    return;
                }
            }
        });
        let listening = client.batch_execute(&format!("LISTEN {CHANNEL}")).await;
        let outcome = match listening {
            Err(error) => Err(describe(&error)),
            Ok(()) => {
                *wait = RETRY_FIRST;
                // Listening from here on; whatever committed before is read by this catch-up.
                // The order matters: LISTEN first, then the catch-up. A fill committed between the
                // two is both notified and read, which is harmless (a wake reads by fill number);
                // the other order would lose a fill committed after the catch-up read and before
                // the LISTEN took effect.
                if wakes.send(Wake::Everything).await.is_err() {
                    driver.abort();
                    return Ok(());
                }
                loop {
                    let Some(note) = received.recv().await else {
                        break Err("the listener stopped".to_owned());
                    };
                    // Only the session id travels in the payload, never the fill: NOTIFY payloads
                    // are limited to 8 000 bytes and are not durable, so the ledger's rows stay the
                    // one record of what was filled.
                    let Some(session) = SessionId::parse(&note?) else {
                        continue; // not ours: the channel is public to the database's users
                    };
                    if wakes.send(Wake::Session(session)).await.is_err() {
                        break Ok(());
                    }
                }
            }
        };
        driver.abort();
        // Dropping the client closes the connection and with it the LISTEN: Postgres forgets a
        // listener whose connection is gone, so nothing stays registered on its side.
        drop(client);
        outcome
    }
}
