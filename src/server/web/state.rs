//! The application state: what the server built at start, shared by every request.
//!
//! What it owns: the one [`AppState`] value and how a handler gets the part it needs. Handlers
//! never take the whole state: each names its sub-state (`State<Arc<Topics>>`,
//! `State<StreamConfig>`, …), and the `FromRef` impls below hand it over. That keeps the
//! dependencies honest — the stream handler cannot reach the drills, a drill cannot reach the
//! Leptos options — and it is what lets a module use a piece of state without importing the
//! module that builds the router (which would be an import circle).
//!
//! Not here: building the state (that is [`crate::server::run`]) or routing (that is [`crate::server::web::routes`]).

use crate::model::Stats;
use crate::server::demo::drills::Drills;
use crate::server::observe::exporter::Observed;
use crate::server::observe::ops::Ops;
use crate::server::pubsub::instance::Instance;
use crate::server::pubsub::topics::Topics;
use crate::server::stream::{Opening, StreamConfig};
use crate::server::trading::portfolio::Portfolios;
use crate::server::transport::limits::Limits;
use crate::server::transport::registry::Registry;
use crate::server::transport::shutdown::Shutdown;
use crate::server::web::embed::EmbedOrigins;
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use leptos::prelude::ServerFnError;
use std::sync::Arc;

/// Everything a handler may need. Cloned into every request, so every field is cheap to clone:
/// `Arc`s and small `Copy` values (a clone is a few reference-count increments).
///
/// `FromRef` (axum's derive) makes each field a sub-state a handler can extract on its own.
#[derive(Clone, FromRef)]
pub struct AppState {
    /// Where cargo-leptos put the site (`target/site`), the bundle's name, the address.
    pub leptos: LeptosOptions,
    /// Every topic: its members, its event log, its subscribers.
    pub topics: Arc<Topics>,
    /// Live connections and how many streams each carries (`/api/stats`, `hello`).
    pub registry: Arc<Registry>,
    /// `retry:` and the keep-alive interval every stream uses.
    pub streams: StreamConfig,
    /// The drain: new streams ask whether it has begun.
    pub shutdown: Shutdown,
    /// The fault drills, and whether they are on.
    pub drills: Drills,
    /// Who this instance is, and the shared log it is on (if any).
    pub instance: Instance,
    /// The caps on open streams, and who counts as one client.
    pub limits: Arc<Limits>,
    /// Who may frame the embed pages (`TICKERPLEX_EMBED_ORIGINS`).
    pub embed_origins: Arc<EmbedOrigins>,
    /// Each session's private portfolio stream, and the ledger behind it (`server::trading::portfolio`).
    pub portfolios: Arc<Portfolios>,
    /// The `/ops` page's samples of this instance (`server::observe::ops`).
    pub ops: Ops,
    /// The `Strict-Transport-Security` every answer carries (`config::TlsSource::strict_transport_security`).
    pub strict_transport_security: axum::http::HeaderValue,
}

impl AppState {
    /// Live connections and topics: `GET /api/stats`, and the page's streams strip (see
    /// [`Observed::stats`]).
    pub fn stats(&self) -> Stats {
        self.observed().stats()
    }

    /// The parts the metrics and the ops sampler read.
    pub fn observed(&self) -> Observed {
        Observed {
            registry: self.registry.clone(),
            topics: self.topics.clone(),
            instance: self.instance.clone(),
            ledger: self.portfolios.ledger().clone(),
        }
    }
}

/// The state, from inside a Leptos server function. `leptos_routes` runs every server function
/// with the router's state in the reactive context; an extractor cannot be used there, because a
/// server function's signature is its wire format, not an axum handler's.
///
/// The error can only mean a server function was called outside the router (a unit test
/// rendering a component by hand): it becomes the function's error, never a panic.
pub fn state_from_context() -> Result<AppState, ServerFnError> {
    leptos::prelude::use_context::<AppState>()
        .ok_or_else(|| ServerFnError::new("the application state is missing from the context"))
}

/// What every stream handler extracts to open its stream: five sub-states as one.
impl FromRef<AppState> for Opening {
    fn from_ref(state: &AppState) -> Opening {
        Opening {
            registry: state.registry.clone(),
            limits: state.limits.clone(),
            config: state.streams,
            shutdown: state.shutdown.clone(),
            instance: state.instance.clone(),
        }
    }
}
