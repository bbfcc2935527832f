//! No empty DATA frames: the pages' streamed bodies lose their zero-length chunks.
//!
//! What it owns: one middleware on every `text/html` response (the server-rendered pages, which
//! leptos streams chunk by chunk) that drops body chunks of zero bytes before hyper frames them.
//!
//! Why: hyper sends every chunk a body yields as one HTTP/2 DATA frame, empty ones included,
//! and leptos's streaming renderer yields empty chunks. An empty DATA frame carries nothing, and
//! a flood of them is a known denial-of-service pattern, so HTTP/2 clients now defend against
//! it: the h2 crate (0.4.20, under reqwest and hyper's client) allows a peer 100 empty DATA
//! frames per connection and then closes the connection with `GOAWAY ENHANCE_YOUR_CALM
//! "too_many_data_frames"`. A Rust client that loaded the dashboard a few dozen times on one
//! connection was cut off by its own library (`visits_write_nothing_to_the_ledger_until_an_order`
//! found it). Browsers are more lenient today; a well-behaved server sends no empty frames.
//!
//! Not the event streams: their chunks are framed events, never empty (see `stream::outbox`).

use axum::body::Body;
use axum::extract::Request;
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::Response;
use futures_util::StreamExt;

/// Drops the zero-length chunks of an HTML response's body (see the module doc).
pub async fn skip_empty_chunks(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let html = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/html"));
    if !html {
        return response;
    }
    response.map(|body| {
        let chunks = body.into_data_stream().filter(|chunk| {
            // An error is passed on (it ends the body); only empty data is dropped.
            std::future::ready(chunk.as_ref().map_or(true, |bytes| !bytes.is_empty()))
        });
        Body::from_stream(chunks)
    })
}
