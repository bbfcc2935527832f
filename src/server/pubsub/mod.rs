//! Where events come from and where they are kept: the publish side of publish/subscribe.
//!
//! What it owns: the simulated exchange ([`market`]) and the one task that ticks it ([`feed`],
//! behind a lease in a cluster); the topics ([`topics`]: members, subscribe and resume rules);
//! the event log each topic appends to and replays from ([`log`]: in memory, or Redis Streams
//! shared by every instance); and who this instance is on that log ([`instance`]).
//!
//! It may import [`crate::server::transport`] (the drain, the backoff), [`crate::server::sse`]
//! (an event is framed once, at append) and [`crate::server::metrics`]. It knows no HTTP
//! handler: a subscriber is a channel receiver, whoever holds it.

pub mod feed;
pub mod instance;
pub mod log;
pub mod market;
pub mod topics;
