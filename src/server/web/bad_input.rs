//! A server function's arguments that cannot be decoded are the client's mistake: 400, not 500.
//!
//! What it owns: one middleware that turns the server-function layer's answer to arguments it
//! could not read into `400 Bad Request`, keeping the reason. Nothing else: an error a server
//! function returns on purpose (an order refused, the ledger away) already carries its own
//! status, set through `ResponseOptions` where the function runs.
//!
//! Why a layer of our own: leptos's server functions (server_fn 0.8) answer **every** error
//! with 500 — a body of JSON sent to a form-encoded function (`Args|missing field symbol`), a
//! body that is not UTF-8, a missing argument — because the error is made before any code of
//! ours runs. A 500 tells a client "try again later" and an operator "the server is broken";
//! both are wrong. The layer recognises those errors by what server_fn itself marks them with:
//! the `serverfnerror` header (its `SERVER_FN_ERROR_HEADER`) on the answer, and the error's
//! encoded kind at the start of the body (`Args|…`, `MissingArg|…`, `Deserialization|…` —
//! `ServerFnErrorEncoding`). The body stays as server_fn encoded it, so the browser's own
//! server-function client still decodes the error exactly as before. tests/web/bounds.rs sweeps
//! every registered function against the pinned version, so an upgrade that changes either
//! mark fails there, not in production.

use axum::body::Body;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;

/// The header server_fn puts on every error answer (`server_fn::error::SERVER_FN_ERROR_HEADER`,
/// not public at the path leptos re-exports, hence spelled here and checked by the sweep).
const SERVER_FN_ERROR_HEADER: &str = "serverfnerror";

/// The encoded kinds that mean "the request could not be read": the arguments did not decode
/// (`Args`), one was missing (`MissingArg`), or the body was not text (`Deserialization`, which
/// on the server only comes from reading the request).
const UNREADABLE: [&str; 3] = ["Args|", "MissingArg|", "Deserialization|"];

/// The most of an error body read to classify it: server_fn's argument errors are one serde
/// message (a few dozen bytes); a longer body is not one of them and passes through whole.
const MAX_ERROR_BODY: usize = 4 * 1024;

/// Re-labels server_fn's 500 for undecodable arguments as 400 (see the module doc).
pub async fn undecodable_arguments_are_400(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR
        || !response.headers().contains_key(SERVER_FN_ERROR_HEADER)
    {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_ERROR_BODY).await else {
        // Longer than any argument error (or unreadable): a real failure, answered as one.
        return Response::from_parts(parts, Body::from("500 Internal Server Error\n"));
    };
    if UNREADABLE.iter().any(|kind| bytes.starts_with(kind.as_bytes())) {
        // A body cut short by the request-body limit reads as a failed body: it is too large.
        let too_large = bytes.windows(LIMIT_WORDS.len()).any(|w| w == LIMIT_WORDS);
        parts.status = if too_large {
            StatusCode::PAYLOAD_TOO_LARGE
        } else {
            StatusCode::BAD_REQUEST
        };
        tracing::debug!(status = %parts.status, "server function arguments not decodable");
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// What http-body-util's `Limited` says when a body without a declared length passes the
/// router's `RequestBodyLimitLayer` bound mid-way.
const LIMIT_WORDS: &[u8] = b"length limit exceeded";
