//! The streams that are not market topics: `GET /api/portfolio/events`, the session's own
//! portfolio (SSE or JSON), and `GET /api/ops/events`, this instance's numbers (SSE).
//!
//! What it owns: the one difference between a private stream and a market one — WHO may read
//! it. The session cookie (`server::trading::session`) names the account; no cookie is 401 with the
//! reason, before anything is counted or read. A session with no ledger row yet (it has not
//! ordered: sessions are lazy) is the empty account, streamed without a write. The URL names
//! no account, so no URL can name someone else's.
//!
//! Everything after that is the market streams' path: the same request extractor (`Accept`,
//! `Last-Event-ID`), the same caps, the same `hello` and outbox. This route has no CORS layer:
//! another site's page cannot read it, with or without credentials.

use super::negotiate::Representation;
use super::{Opening, StreamError, StreamRequest};
use crate::server::observe::ops::Ops;
use crate::server::pubsub::log::LogError;
use crate::server::trading::portfolio::Portfolios;
use crate::server::trading::session;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use std::sync::Arc;

/// The handler of `/api/portfolio/events`.
pub async fn portfolio_events(
    State(portfolios): State<Arc<Portfolios>>,
    State(opening): State<Opening>,
    headers: HeaderMap,
    request: StreamRequest,
) -> Result<Response, StreamError> {
    let representation = request.representation;
    // The ledger being down is ours, not the client's: answered like a log that is down.
    let unavailable =
        |error: crate::server::trading::ledger::LedgerError| StreamError::Unavailable {
            representation,
            error: LogError::Unavailable(error.to_string()),
        };
    // Whose portfolio comes from the cookie alone, never from the URL: a stream for another
    // session's account cannot even be asked for. No cookie is a 401 before anything is counted.
    let account = session::account(portfolios.ledger(), &headers)
        .await
        .map_err(unavailable)?
        .ok_or(StreamError::Unauthorized)?;
    Ok(match representation {
        Representation::Json => {
            Json(portfolios.snapshot(&account).await.map_err(unavailable)?).into_response()
        }
        Representation::EventStream => {
            let last_event_id = request.last_event_id.clone();
            // Not run yet: `open` counts the stream against the caps first, so a client at its cap
            // costs no ledger read.
            let subscribing = async move {
                portfolios
                    .subscribe(&account, last_event_id.as_deref())
                    .await
                    .map_err(unavailable)
            };
            opening.open(request, subscribing).await?
        }
    })
}

/// The handler of `/api/ops/events`: the ops samples (`server::observe::ops`), through the same caps and
/// outbox as every stream. There is no snapshot to give as JSON: the next sample is the news.
pub async fn ops_events(
    State(ops): State<Ops>,
    State(opening): State<Opening>,
    request: StreamRequest,
) -> Result<Response, StreamError> {
    if request.representation != Representation::EventStream {
        return Err(StreamError::NotAcceptable);
    }
    opening.open(request, async { Ok(ops.subscribe()) }).await
}
