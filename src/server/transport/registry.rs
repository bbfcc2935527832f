//! Who is connected, and how many streams each connection carries.
//!
//! The accept loop registers a connection once its TLS handshake is done and holds a
//! [`ConnectionGuard`]; every event stream holds a [`StreamGuard`]. Both unregister in `Drop`,
//! so whatever ends them — the client going away (hyper drops the response body), a slow
//! consumer being cut off, a shutdown, a panic — leaves nothing behind. `GET /api/stats` reads
//! this together with the topics' own counters.

//!
//! Why a registry of its own and not counters inferred from the topics: a topic knows how many
//! receivers its channel has, not which connection each sits on — and "8 streams on connection
//! 3" is exactly the claim the page makes. Why guards and not explicit `close` calls: a response
//! body can be dropped from many places (client reset, GOAWAY, a panic in a handler, drain), and
//! only `Drop` runs on all of them.
//!
//! Limits are checked here, where the counting is ([`Registry::open_stream_within`]), so a
//! check and its count are one step under one lock; what the caps are and who a client is
//! are [`crate::server::transport::limits`]'s.

//!
//! What `GET /api/stats` shows from here, for a dashboard of eight widgets over HTTP/2:
//!
//! ```text
//! "connections": [{"id":3,"protocol":"h2","peer":"127.0.0.1:51234","opened_at":"…","streams":8}]
//! ```

use crate::model::{ConnectionId, ConnectionInfo, ConnectionStats};
use crate::server::transport::limits::{LimitReached, Limits};
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// One open connection, as `/api/stats` reports it.
struct Entry {
    /// Its id, protocol and peer: what `/api/stats` and each stream's `hello` show.
    info: ConnectionInfo,
    /// When it was accepted (`/api/stats`): a connection younger than the page means the
    /// browser reconnected; one as old as the page means every stream still rides it.
    opened_at: DateTime<Utc>,
    /// Event streams open on it now (requests that are not streams are not counted).
    streams: usize,
}

/// Streams counted against the caps: per client address, and in all.
#[derive(Default)]
struct Clients {
    /// Open streams per client address; an address at 0 is removed, so the map holds only the
    /// clients with a stream open.
    streams: HashMap<IpAddr, usize>,
    /// Open streams in all: the sum of the map, kept so the total cap is one comparison.
    total: usize,
}

/// Every open connection of this process, with its stream count.
///
/// Locked with a `std::sync::Mutex` (as mini-redis's `db.rs` explains): every critical section
/// is a map insert, remove or increment, never an `.await`. A `BTreeMap` so `/api/stats` lists
/// connections in the order they were accepted, which is the order a reader expects.
pub struct Registry {
    /// The open connections, by id (accept order).
    connections: Mutex<BTreeMap<ConnectionId, Entry>>,
    /// Open streams per client and in all, for the caps (see [`crate::server::transport::limits`]).
    clients: Mutex<Clients>,
    /// One numbering for every listener, so an id names one connection.
    next_id: Mutex<ConnectionId>,
}

impl Default for Registry {
    fn default() -> Self {
        Registry {
            connections: Mutex::default(),
            clients: Mutex::default(),
            next_id: Mutex::new(ConnectionId::FIRST),
        }
    }
}

impl Registry {
    /// The id for a newly accepted connection.
    ///
    /// A mutex around a counter rather than an `AtomicU64`: `ConnectionId` is a newtype whose
    /// only way forward is `next()`, and an accept is rare next to everything else a connection
    /// does. A poisoned lock still holds a valid id, so it is used as it is.
    pub fn next_connection_id(&self) -> ConnectionId {
        let mut next = self.next_id.lock().unwrap_or_else(|e| e.into_inner());
        let id = *next;
        *next = id.next();
        id
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<ConnectionId, Entry>> {
        // Counters only; a panic elsewhere cannot leave them half-written.
        self.connections
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Registers a connection until the guard is dropped.
    pub fn open_connection(self: &Arc<Self>, info: &ConnectionInfo) -> ConnectionGuard {
        let entry = Entry {
            info: info.clone(),
            opened_at: Utc::now(),
            streams: 0,
        };
        self.lock().insert(info.id, entry);
        ConnectionGuard {
            registry: self.clone(),
            id: info.id,
        }
    }

    /// Counts a stream of `client` on `connection` until the guard is dropped — unless `limits`
    /// says that client, or the whole server, already holds all it may. Returns the guard and
    /// the number of streams the connection carries now, this one included.
    pub fn open_stream_within(
        self: &Arc<Self>,
        connection: ConnectionId,
        client: IpAddr,
        limits: &Limits,
    ) -> Result<(StreamGuard, usize), LimitReached> {
        {
            // Check and count in one critical section: two requests racing for the last slot
            // cannot both get it.
            let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
            if clients.total >= limits.total {
                return Err(LimitReached::Total(limits.total));
            }
            let held = clients.streams.entry(client).or_default();
            if *held >= limits.per_client {
                return Err(LimitReached::PerClient(limits.per_client));
            }
            *held += 1;
            clients.total += 1;
        }
        let (mut guard, now) = self.open_stream(connection);
        guard.client = Some(client);
        Ok((guard, now))
    }

    /// Counts a stream on `connection` until the guard is dropped, with no caps (a unit test's
    /// outbox). Returns the guard and the number of streams the connection carries now.
    ///
    /// A request that did not come through the accept loop (a unit test's outbox) has no entry:
    /// it counts as the only stream, and its guard finds nothing to uncount.
    pub fn open_stream(self: &Arc<Self>, connection: ConnectionId) -> (StreamGuard, usize) {
        let mut connections = self.lock();
        let now = connections.get_mut(&connection).map_or(1, |entry| {
            entry.streams += 1;
            entry.streams
        });
        let guard = StreamGuard {
            registry: self.clone(),
            connection,
            client: None,
        };
        (guard, now)
    }

    /// A copy of every open connection's stats, for `/api/stats` and the streams strip.
    /// Copied out under the lock and returned by value, so serialising the answer never holds
    /// the lock that every stream open and close takes.
    pub fn connections(&self) -> Vec<ConnectionStats> {
        self.lock()
            .values()
            .map(|entry| ConnectionStats {
                id: entry.info.id,
                protocol: entry.info.protocol,
                peer: entry.info.peer,
                opened_at: entry.opened_at,
                streams: entry.streams,
            })
            .collect()
    }
}

/// Held by the connection's task for its whole life; dropping it unlists the connection.
pub struct ConnectionGuard {
    /// Kept alive by the guard: the connection's task may outlive the server's own handle.
    registry: Arc<Registry>,
    /// The connection this guard unlists.
    id: ConnectionId,
}

impl Drop for ConnectionGuard {
    // Removing the entry also forgets its stream count: the streams' guards, dropped around
    // the same time, find nothing and do nothing.
    fn drop(&mut self) {
        self.registry.lock().remove(&self.id);
    }
}

/// Held inside a stream's response body; dropping it (however the body ends) uncounts the
/// stream.
pub struct StreamGuard {
    /// An `Arc`, because the body may outlive the request's state: hyper drops it on its own task.
    registry: Arc<Registry>,
    /// The connection whose stream count it decrements.
    connection: ConnectionId,
    /// The client it counts against, when it was opened within limits.
    client: Option<IpAddr>,
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        // The connection may already be gone (its guard dropped first when the socket closed):
        // then there is nothing left to uncount.
        if let Some(entry) = self.registry.lock().get_mut(&self.connection) {
            entry.streams = entry.streams.saturating_sub(1);
        }
        if let Some(client) = self.client {
            let mut clients = self
                .registry
                .clients
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            clients.total = clients.total.saturating_sub(1);
            if let Some(held) = clients.streams.get_mut(&client) {
                *held -= 1;
                if *held == 0 {
                    // Forgotten at zero: the map holds only clients with open streams, so it
                    // cannot grow with every address that ever connected.
                    clients.streams.remove(&client);
                }
            }
        }
    }
}
