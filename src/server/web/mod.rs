//! The HTTP face of the server: the router and what every page and widget asks it.
//!
//! What it owns: the router ([`routes`]) and its layers of its own ([`bad_input`]: a server
//! function's undecodable arguments are 400; [`empty_chunks`]: no empty DATA frames;
//! [`caching`]: `Cache-Control`; [`embed`]: who may frame or fetch the embeds); the state every
//! handler shares ([`state`]); the bodies of the widgets' server functions ([`functions`]: the
//! UI's one door into the server); and which widgets a dashboard URL asks for ([`dashboard`]).
//!
//! It may import every folder below it. It does not import the Leptos app: `main.rs` hands the
//! app's pages to the router ([`routes::Pages`]).

pub mod bad_input;
pub mod caching;
pub mod dashboard;
pub mod embed;
pub mod empty_chunks;
pub mod functions;
pub mod routes;
pub mod state;
