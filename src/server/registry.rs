//! Who is connected, and how many streams each connection carries.
//!
//! The accept loop registers a connection once its TLS handshake is done and holds a
//! [`ConnectionGuard`]; every event stream holds a [`StreamGuard`]. Both unregister in `Drop`,
//! so whatever ends them — the client going away (hyper drops the response body), a slow
//! consumer being cut off, a shutdown, a panic — leaves nothing behind. `GET /api/stats` reads
//! this together with the topics' own counters.

use crate::model::{ConnectionId, ConnectionInfo, ConnectionStats};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

struct Entry {
    info: ConnectionInfo,
    opened_at: DateTime<Utc>,
    streams: usize,
}

pub struct Registry {
    connections: Mutex<BTreeMap<ConnectionId, Entry>>,
    /// One numbering for every listener, so an id names one connection.
    next_id: Mutex<ConnectionId>,
}

impl Default for Registry {
    fn default() -> Self {
        Registry {
            connections: Mutex::default(),
            next_id: Mutex::new(ConnectionId::FIRST),
        }
    }
}

impl Registry {
    /// The id for a newly accepted connection.
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

    /// Counts a stream on `connection` until the guard is dropped. Returns the guard and the
    /// number of streams the connection carries now, this one included.
    pub fn open_stream(self: &Arc<Self>, connection: ConnectionId) -> (StreamGuard, usize) {
        let mut connections = self.lock();
        let now = connections.get_mut(&connection).map_or(1, |entry| {
            entry.streams += 1;
            entry.streams
        });
        let guard = StreamGuard {
            registry: self.clone(),
            connection,
        };
        (guard, now)
    }

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

pub struct ConnectionGuard {
    registry: Arc<Registry>,
    id: ConnectionId,
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.registry.lock().remove(&self.id);
    }
}

pub struct StreamGuard {
    registry: Arc<Registry>,
    connection: ConnectionId,
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        if let Some(entry) = self.registry.lock().get_mut(&self.connection) {
            entry.streams = entry.streams.saturating_sub(1);
        }
    }
}
