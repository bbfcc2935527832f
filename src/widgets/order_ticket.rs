//! The Buy/Sell ticket: a server function call on the same origin, timed in the browser.
//!
//! Over HTTP/2 the call shares the page's connection with every widget's stream and answers in
//! milliseconds; over HTTP/1.1 with six streams open it would wait for a free connection.

use crate::model::{Fill, Side};
use leptos::prelude::*;

/// Places an order at the current price. Inputs arrive as typed text and are parsed on the
/// server (`server::orders`), which answers with a fill or a one-line reason.
///
/// At a fixed path, `POST /api/place_order` (form-encoded `symbol`, `side`, `quantity`): other
/// clients and the tests call it by that name, so it must not carry the default hashed suffix.
#[server(endpoint = "place_order")]
pub async fn place_order(
    symbol: String,
    side: Side,
    quantity: String,
) -> Result<Fill, ServerFnError> {
    let state = crate::server::state::state_from_context()?;
    use crate::server::orders::{place, OrderError};
    place(&state.topics, &symbol, side, &quantity)
        .await
        .map_err(|error| {
            // A bad order is the client's mistake, not the server's: 422, so logs and devtools
            // do not call it a server failure (500 is what a server function's error gets by
            // default). A price that cannot be read is ours, and temporary: 503.
            let status = match error {
                OrderError::Unavailable(_) => axum::http::StatusCode::SERVICE_UNAVAILABLE,
                _ => axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            };
            if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
                response.set_status(status);
            }
            ServerFnError::new(error.to_string())
        })
}

#[component]
pub fn OrderTicket() -> impl IntoView {
    let symbol = RwSignal::new(String::new());
    let quantity = RwSignal::new("10".to_owned());
    let order = Action::new(move |side: &Side| {
        let (side, symbol, quantity) = (*side, symbol.get_untracked(), quantity.get_untracked());
        async move {
            let started = super::connection::now_ms();
            let result = place_order(symbol, side, quantity).await;
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
                        "{} {} {} at {:.2} = {:.2} (answered in {elapsed:.0} ms)",
                        fill.side, fill.quantity, fill.symbol, fill.price, fill.total
                    ),
                    Err(error) => format!("Rejected: {}", error.to_string().trim_start_matches("error running server function: ")),
                })}
            </output>
        </section>
    }
}
