//! The bodies of the server functions the widgets call: the UI's one door into the server.
//!
//! Each `#[server]` function in `crate::widgets` is a typed call the browser makes (a POST on
//! the page's own connection) and, on the server, a one-line call to its body here. So the UI
//! code names this module and nothing else under `server`: what a function reads — the
//! application state from the request's context, the request's parts, the response it shapes
//! (a status, a header, a cookie) — is this module's business, next to the rest of the server.
//!
//! | server function (widget) | what its body does |
//! |---|---|
//! | `dashboard_snapshots` (the dashboard, the embed page) | chooses the widgets a URL asks for (`server::web::dashboard`) and snapshots each topic |
//! | `faults_setup` (`/faults`) | whether the drills are on, and the cards' snapshots |
//! | `live_stats` (the streams strip) | the registry's connections and streams |
//! | `place_order` (the order ticket) | one order, once per `Idempotency-Key` (`server::trading::orders`) |
//! | `new_account` (the portfolio) | a fresh session cookie, nothing written |
//! | `which_connection`, `page_origin` (the connection line, the ping, the embed snippets) | the connection and authority the request came on |
//!
//! And one read that is not a server function: the shell's Content-Security-Policy asks
//! [`embed_frame_ancestors`] who may frame an embed page (`app::security`).

use crate::model::{ConnectionInfo, Fill, PanelSetup, Side, Snapshot, Stats};
use leptos::prelude::*;

/// The page's widgets and their snapshots, chosen by the URL (`widgets::dashboard_snapshots`).
pub async fn dashboard_snapshots(
    widgets: Option<String>,
    count: Option<String>,
) -> Result<Vec<Snapshot>, ServerFnError> {
    let state = crate::server::web::state::state_from_context()?;
    let chosen =
        crate::server::web::dashboard::choose(&state.topics, widgets.as_deref(), count.as_deref())
            .map_err(|error| {
                // The reader's mistake, not the server's: 400 for the page (this runs while it
                // renders) and for a direct call alike, instead of a server function's default 500.
                if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
                    response.set_status(axum::http::StatusCode::BAD_REQUEST);
                }
                ServerFnError::new(error.to_string())
            })?;
    // One snapshot per widget, in the page's order, read one after another: a dashboard has
    // ten, each a lock and a copy in memory (or one pipelined round trip to Redis, shared by
    // the renders that arrive together), so reading them concurrently would save nothing.
    let mut snapshots = Vec::with_capacity(chosen.len());
    for name in &chosen {
        let topic = state
            .topics
            .get(name)
            .ok_or_else(|| ServerFnError::new(format!("unknown topic {name}")))?;
        // The log unreachable (Redis down): the page still renders, the widget empty and at id
        // `0-0`, which no log ever issues — its stream then starts with a `reset` and a fresh
        // snapshot as soon as the log is back.
        snapshots.push(topic.snapshot().await.unwrap_or_else(|error| {
            tracing::warn!(topic = %name, %error, "rendering an empty widget");
            Snapshot {
                topic: name.clone(),
                id: crate::model::EventId { epoch: 0, seq: 0 },
                members: Vec::new(),
            }
        }));
    }
    Ok(snapshots)
}

/// The fault panel's set-up, read while the page renders (`widgets::faults_setup`).
pub async fn faults_setup() -> Result<PanelSetup, ServerFnError> {
    let state = crate::server::web::state::state_from_context()?;
    let mut snapshots = Vec::new();
    // The two topics the panel's cards follow (`Fault::topic`): the busy watchlist, where
    // buffering and compression show at once, and the indices, whose quiet stream gives the
    // idle-timeout card silence to act on.
    for name in [
        crate::model::TopicName::Watchlist,
        crate::model::TopicName::Indices,
    ] {
        let topic = state
            .topics
            .get(&name)
            .ok_or_else(|| ServerFnError::new(format!("unknown topic {name}")))?;
        // Unlike the dashboard, no empty stand-in: a fault card that starts from nothing would
        // teach the wrong thing, so the page shows the error in the panel's place instead.
        let snapshot = topic.snapshot().await;
        snapshots.push(snapshot.map_err(|error| ServerFnError::new(error.to_string()))?);
    }
    Ok(PanelSetup {
        enabled: state.drills.enabled,
        cluster: state.drills.cluster.is_some(),
        snapshots,
    })
}

/// This instance's connections and streams (`widgets::live_stats`).
pub async fn live_stats() -> Result<Stats, ServerFnError> {
    let state = crate::server::web::state::state_from_context()?;
    Ok(state.stats())
}

/// One order at the current price, once per `Idempotency-Key` (`widgets::place_order`).
pub async fn place_order(
    symbol: String,
    side: Side,
    quantity: String,
) -> Result<Fill, ServerFnError> {
    use crate::server::trading::{orders, session};
    let state = crate::server::web::state::state_from_context()?;
    let headers: axum::http::HeaderMap = leptos_axum::extract().await?;
    // A header that is not visible ASCII is a key of the wrong shape, refused as such.
    let key = headers
        .get("idempotency-key")
        .map(|value| value.to_str().unwrap_or("\u{fffd}"));
    // The raw fields go to `orders::place`, which parses them with a reason per mistake: a
    // typed `u32` here would fail inside the server-function layer with no sentence a user
    // could act on.
    let order = (symbol.as_str(), side, quantity.as_str());
    let placed = orders::place(
        &state.topics,
        &state.portfolios,
        session::session_id(&headers),
        key,
        order,
    )
    .await;
    let response = use_context::<leptos_axum::ResponseOptions>();
    let outcome = match &placed {
        Ok(fill) if fill.repeated => "repeated",
        Ok(_) => "filled",
        Err(error) if error.status().is_server_error() => "failed",
        Err(_) => "rejected",
    };
    // Counted here, where the outcome and its status are both known, so the counter and the
    // HTTP status can never disagree.
    let counted = crate::server::metrics::OutcomeLabel { outcome };
    crate::server::metrics::metrics()
        .orders
        .get_or_create(&counted)
        .inc();
    match placed {
        Ok(fill) => {
            // Said in a header too, for clients that read headers before bodies.
            if let (true, Some(response)) = (fill.repeated, &response) {
                let replayed = axum::http::HeaderValue::from_static("true");
                response.insert_header("idempotent-replayed".parse().unwrap(), replayed);
            }
            Ok(fill)
        }
        Err(error) => {
            // A bad order is the client's mistake, not the server's (500 is what a server
            // function's error gets by default): the status says whose it is.
            if let Some(response) = response {
                response.set_status(error.status());
                // Ours and temporary (the ledger or the log is away): when to try again, with
                // the same key — it fills once whether or not this attempt committed.
                if error.status() == axum::http::StatusCode::SERVICE_UNAVAILABLE {
                    let seconds = orders::RETRY_AFTER_SECS.to_string();
                    let value = axum::http::HeaderValue::from_str(&seconds).unwrap();
                    response.insert_header(axum::http::header::RETRY_AFTER, value);
                }
            }
            Err(ServerFnError::new(error.to_string()))
        }
    }
}

/// A fresh demo account: a new session cookie, nothing written (`widgets::new_account`).
pub async fn new_account() -> Result<(), ServerFnError> {
    use crate::server::trading::{ledger::Account, session};
    let state = crate::server::web::state::state_from_context()?;
    let ledger = state.portfolios.ledger();
    let response = expect_context::<leptos_axum::ResponseOptions>();
    // Only a cookie: the row is written by the first order (lazy sessions), so a visitor who
    // resets the demo account and leaves costs the ledger nothing.
    let cookie = session::cookie(&Account::new_session(), ledger);
    response.append_header(axum::http::header::SET_COOKIE, cookie);
    Ok(())
}

/// The connection the calling request arrived on (`widgets::which_connection`).
pub async fn which_connection() -> Result<ConnectionInfo, ServerFnError> {
    let axum::Extension(info) = leptos_axum::extract::<axum::Extension<ConnectionInfo>>().await?;
    Ok(info)
}

/// The page's origin as the browser asked for it (`widgets::page_origin`).
pub async fn page_origin() -> Result<String, ServerFnError> {
    let (uri, headers) = leptos_axum::extract::<(axum::http::Uri, axum::http::HeaderMap)>().await?;
    // HTTP/2 carries the authority in the URI (`:authority`); HTTP/1.1 in `Host`. Behind an
    // edge both name the edge's host, which is the origin the browser must embed from.
    let authority = uri
        .authority()
        .map(|a| a.as_str().to_owned())
        .or_else(|| {
            headers
                .get(axum::http::header::HOST)
                .and_then(|host| host.to_str().ok())
                .map(str::to_owned)
        })
        .ok_or_else(|| ServerFnError::new("the request names no host"))?;
    Ok(format!("https://{authority}"))
}

/// The sites that may frame the embed pages (`TICKERPLEX_EMBED_ORIGINS`), as a CSP source
/// list; `None` outside a request (a component rendered by hand in a unit test).
pub fn embed_frame_ancestors() -> Option<String> {
    crate::server::web::state::state_from_context()
        .ok()
        .map(|state| state.embed_origins.frame_ancestors())
}
