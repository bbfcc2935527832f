//! The order ticket's server-function client: the browser's `fetch`, plus an
//! `Idempotency-Key` header.
//!
//! A server function's arguments are its form body; a header is not one of them. Leptos lets a
//! server function name its own client (`#[server(client = …)]`), and this one is the default
//! browser client with one header added: the key of the order being sent, which the ticket sets
//! with [`with_key`] around the call. A retry of the same order sends the same key, and the
//! ledger fills it once (`server::trading::ledger`).
//!
//! Why a header and not a form field: it is the convention other HTTP APIs use for the same
//! job (Stripe's, the IETF draft's `Idempotency-Key`), so any client — curl, a test, a
//! script — retries an order the same way the page does.

use leptos::server_fn::client::{browser::BrowserClient, Client};
use leptos::server_fn::error::FromServerFnError;
use leptos::server_fn::request::browser::BrowserRequest;
use leptos::server_fn::response::browser::BrowserResponse;
use leptos::server_fn::Bytes;
use std::cell::RefCell;
use std::future::Future;

/// The header's name, as the server reads it.
pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";

thread_local! {
    /// The key of the order being sent. wasm is single-threaded and the call is made right
    /// after it is set, before anything else can run, so one slot is enough.
    static KEY: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Runs `call` (a server-function call) with `key` as the next request's idempotency key.
pub async fn with_key<T>(key: &str, call: impl Future<Output = T>) -> T {
    KEY.with(|slot| *slot.borrow_mut() = Some(key.to_owned()));
    call.await
}

/// A fresh key: 106 random bits as hex, from the browser's generator (enough that two orders
/// never share one; the server scopes keys per session anyway).
pub fn new_key() -> String {
    #[cfg(feature = "hydrate")]
    let part = || (js_sys::Math::random() * 9_007_199_254_740_992.0) as u64;
    // The server never places an order through its own ticket; it only compiles this.
    #[cfg(not(feature = "hydrate"))]
    let part = || 0u64;
    format!("{:014x}{:014x}", part(), part())
}

/// [`BrowserClient`] with the idempotency key set on each request.
pub struct OrderClient;

impl<E, IS, OS> Client<E, IS, OS> for OrderClient
where
    E: FromServerFnError,
    IS: FromServerFnError,
    OS: FromServerFnError,
{
    type Request = BrowserRequest;
    type Response = BrowserResponse;

    fn send(request: BrowserRequest) -> impl Future<Output = Result<BrowserResponse, E>> + Send {
        // Taken, not read: a later call without `with_key` sends no key rather than a stale one.
        if let Some(key) = KEY.with(|slot| slot.borrow_mut().take()) {
            request.headers().set(IDEMPOTENCY_KEY, &key);
        }
        <BrowserClient as Client<E, IS, OS>>::send(request)
    }

    fn open_websocket(
        path: &str,
    ) -> impl Future<
        Output = Result<
            (
                impl futures_util::Stream<Item = Result<Bytes, Bytes>> + Send + 'static,
                impl futures_util::Sink<Bytes> + Send + 'static,
            ),
            E,
        >,
    > + Send {
        <BrowserClient as Client<E, IS, OS>>::open_websocket(path)
    }

    fn spawn(future: impl Future<Output = ()> + Send + 'static) {
        <BrowserClient as Client<E, IS, OS>>::spawn(future)
    }
}
