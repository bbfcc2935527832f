//! Sessions: who a request is, for the one thing that is private — the portfolio.
//!
//! What it owns: the session cookie (its name, its attributes, reading it back) and when a
//! session id is handed out: on a visit to the dashboard, and never by anything else — an
//! embed page, an asset, a public topic or a stream never gets one. Handing one out writes
//! nothing: the ledger gets a row for a session with its first order (lazy sessions, see
//! [`SessionId`]), so no visit, crawler or not, costs the ledger a write.
//!
//! The cookie, attribute by attribute:
//! - `HttpOnly`: no script reads it, so an injected one cannot steal it;
//! - `Secure`: only ever sent over TLS (every listener here is TLS);
//! - `SameSite=Lax`: not sent on another site's POST (a second wall behind the CSRF check),
//!   still sent when the user follows a link to the dashboard;
//! - `Path=/`: the dashboard, the portfolio stream and the order endpoint all see it;
//! - `Max-Age` = the idle time: the browser forgets it about when the server would.

use crate::server::trading::ledger::{Account, Ledger, LedgerError, SessionId};
use crate::server::trading::portfolio::Portfolios;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;
use std::sync::Arc;

/// The cookie's name.
pub const COOKIE: &str = "tickerplex_session";

/// The session id in the request's cookies, if one has the shape of an id.
pub fn session_id(headers: &HeaderMap) -> Option<SessionId> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .and_then(|(_, value)| SessionId::parse(value))
}

/// The account the request's cookie names; `None` without a cookie (or with one of another
/// shape). A session the ledger holds no row for is the empty account it starts with.
pub async fn account(ledger: &Ledger, headers: &HeaderMap) -> Result<Option<Account>, LedgerError> {
    match session_id(headers) {
        Some(session) => ledger.account(&session).await.map(Some),
        None => Ok(None),
    }
}

/// The `Set-Cookie` that gives the browser `account`'s session (attributes: module doc).
pub fn cookie(account: &Account, ledger: &Ledger) -> HeaderValue {
    let value = format!(
        "{COOKIE}={}; HttpOnly; Secure; SameSite=Lax; Path=/; Max-Age={}",
        account.session.as_str(),
        ledger.idle().as_secs()
    );
    HeaderValue::try_from(value).expect("a session cookie is visible ASCII")
}

/// Middleware: a visit to the dashboard (`GET /`) without a session cookie gets one, and a
/// visit with one has its cookie renewed. Any other request passes untouched.
///
/// Neither touches the ledger: a session is an id in a cookie until its first order writes
/// its row (see [`SessionId`]). A visit — a person's, a crawler's, a health check's — writes
/// nothing, so it costs no fsync and leaves no row to sweep.
pub async fn on_dashboard(
    State(portfolios): State<Arc<Portfolios>>,
    request: Request,
    next: Next,
) -> Response {
    // Only the dashboard hands out sessions: an embed page, an asset or an API call without a
    // cookie stays anonymous, and a portfolio stream then answers 401 as it should.
    if request.method() != Method::GET || request.uri().path() != "/" {
        return next.run(request).await;
    }
    let account = match session_id(request.headers()) {
        Some(session) => Account::unrecorded(session),
        None => Account::new_session(),
    };
    let mut response = next.run(request).await;
    let cookie = cookie(&account, portfolios.ledger());
    // `append`, not `insert`: another `Set-Cookie` on the same response would be kept.
    response.headers_mut().append(header::SET_COOKIE, cookie);
    response
}
