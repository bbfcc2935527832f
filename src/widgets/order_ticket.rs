//! The Buy/Sell ticket: a server function call on the same origin, timed in the browser.
//!
//! Over HTTP/2 the call shares the page's connection with every widget's stream and answers in
//! milliseconds; over HTTP/1.1 with six streams open it would wait for a free connection.

use super::order_client::{new_key, with_key};
use crate::model::{Fill, Side};
use leptos::prelude::*;

/// Places an order at the current price, once per `Idempotency-Key` header (which the ticket's
/// [`OrderClient`](super::order_client::OrderClient) sets). Inputs arrive as typed text and are
/// parsed on the server (`server::trading::orders`), which answers with a fill or a one-line reason,
/// and the status that goes with it (`OrderError::status`: 401, 400, 422 or 503).
///
/// At a fixed path, `POST /api/place_order` (form-encoded `symbol`, `side`, `quantity`): other
/// clients and the tests call it by that name, so it must not carry the default hashed suffix.
#[server(endpoint = "place_order", client = super::order_client::OrderClient)]
pub async fn place_order(
    symbol: String,
    side: Side,
    quantity: String,
) -> Result<Fill, ServerFnError> {
    crate::server::web::functions::place_order(symbol, side, quantity).await
}

/// The Buy/Sell form, an island: its buttons call [`place_order`].
#[island]
pub fn OrderTicket() -> impl IntoView {
    super::islands::ready();
    let symbol = RwSignal::new(String::new());
    let quantity = RwSignal::new("10".to_owned());
    let order = Action::new(move |side: &Side| {
        let (side, symbol, quantity) = (*side, symbol.get_untracked(), quantity.get_untracked());
        async move {
            let started = super::connection::now_ms();
            // One key per click. An attempt that got no answer (the connection dropped: the
            // server may or may not have filled it) is sent again with the SAME key, so the
            // order fills at most once however many times it is sent.
            let key = new_key();
            let mut result =
                with_key(&key, place_order(symbol.clone(), side, quantity.clone())).await;
            for _ in 0..2 {
                if !matches!(result, Err(ServerFnError::Request(_))) {
                    break;
                }
                result = with_key(&key, place_order(symbol.clone(), side, quantity.clone())).await;
            }
            (result, super::connection::now_ms() - started)
        }
    });

    view! {
        <section class="ticket" aria-label="Buy or sell">
            <label>"Symbol " <input data-testid="order-symbol" bind:value=symbol placeholder="HELIO" /></label>
            <label>"Quantity " <input data-testid="order-quantity" bind:value=quantity inputmode="numeric" /></label>
            <button data-testid="buy" on:click=move |_| { order.dispatch(Side::Buy); }>"Buy"</button>
            <button data-testid="sell" on:click=move |_| { order.dispatch(Side::Sell); }>"Sell"</button>
            <output data-testid="order-result" data-pending=move || order.pending().get().to_string()>
                {move || order.pending().get().then_some("Sending… (waiting for the server)")}
                {move || (!order.pending().get()).then(|| order.value().get()).flatten().map(|(result, elapsed)| match result {
                    Ok(fill) => format!(
                        "{} {} {} at {:.2} = {:.2} (fill #{}{}, answered in {elapsed:.0} ms)",
                        fill.side, fill.quantity, fill.symbol, fill.price, fill.total, fill.seq,
                        if fill.repeated { ", a repeat: filled once" } else { "" }
                    ),
                    Err(error) => format!("Rejected: {}", error.to_string().trim_start_matches("error running server function: ")),
                })}
            </output>
        </section>
    }
}
