//! The fault panel (`/faults`): each pitfall of live push replayed against live widgets, the
//! wrong way beside the right way, with what happened and why.
//!
//! A card per [`Fault`], a widget per [`Way`](crate::model::Way): the dashboard's own
//! [`Widget`], opened on the way's URL, which the server serves through the real mechanism
//! (`server::demo::faults`). Nothing here simulates a symptom: what the widgets show is what the
//! browser received. The panel itself is the server's HTML; each card is an island.

use super::{StreamSource, Widget};
pub use crate::model::PanelSetup;
use crate::model::{Fault, Snapshot};
use leptos::prelude::*;

/// The fault panel's set-up, read while the page renders.
#[server]
pub async fn faults_setup() -> Result<PanelSetup, ServerFnError> {
    crate::server::web::functions::faults_setup().await
}

/// Every card, or why there are none.
#[component]
pub fn FaultsPanel(setup: PanelSetup) -> impl IntoView {
    if !setup.enabled {
        return view! {
            <p class="wire error" data-testid="faults-off">
                "The fault panel is off: start the server with TICKERPLEX_DRILLS=1 (scripts/dev does). \
                 It lets any visitor cut every stream, so production servers leave it off."
            </p>
        }
        .into_any();
    }
    let cards = Fault::ALL.map(|fault| {
        if fault == Fault::Cluster && !setup.cluster {
            return None;
        }
        let snapshot = setup
            .snapshots
            .iter()
            .find(|snapshot| snapshot.topic == fault.topic())
            .cloned();
        snapshot.map(|snapshot| view! { <FaultCard fault snapshot /> })
    });
    view! { <div class="faults">{cards.into_iter().collect_view()}</div> }.into_any()
}

/// One pitfall: what to look at, the trigger if it needs one, and a widget per way. An island:
/// its widgets and buttons hydrate together, apart from every other card.
#[island]
fn FaultCard(fault: Fault, snapshot: Snapshot) -> impl IntoView {
    super::islands::ready();
    let ways = fault.ways().iter().map(|way| {
        let source = StreamSource {
            url: fault.events_url(way),
            reopen: way.reopen,
        };
        let (snapshot, shown) = (snapshot.clone(), RwSignal::new(true));
        view! {
            <div class="way" data-way=way.slug.unwrap_or("plain")>
                <p class="caption">{way.label}</p>
                {move || shown.get().then(|| {
                    let on_close = Some(Callback::new(move |()| shown.set(false)));
                    view! {
                        <Widget topic=fault.topic() snapshot=snapshot.clone() on_close source=Some(source.clone()) />
                    }
                })}
            </div>
        }
    });
    view! {
        <article class="fault" data-fault=fault.slug()>
            <h2>{fault.title()}</h2>
            <p class="why">{explain(fault)}</p>
            {fault.trigger().map(|(label, url)| view! { <Trigger label url /> })}
            {fault
                .controls()
                .iter()
                .map(|&(label, url)| view! { <Trigger label url /> })
                .collect_view()}
            <div class="ways">{ways.collect_view()}</div>
        </article>
    }
}

/// The button that makes a fault happen (a POST: the same CSRF check as any state change),
/// and the server's one-line answer.
#[component]
fn Trigger(label: &'static str, url: &'static str) -> impl IntoView {
    let said = RwSignal::new(String::new());
    let press = move |_| {
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            said.set(post(url).await.unwrap_or_else(|error| error));
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = url;
    };
    view! {
        <p class="trigger">
            <button data-testid="trigger" on:click=press>{label}</button>
            " "
            <span class="said" data-testid="trigger-said">{move || said.get()}</span>
        </p>
    }
}

/// POSTs to `url` and returns the answer's text, or why there is none.
#[cfg(feature = "hydrate")]
async fn post(url: &str) -> Result<String, String> {
    use wasm_bindgen::JsCast;
    use wasm_bindgen_futures::JsFuture;
    let fail = |what: &str| format!("could not {what} {url}");
    let window = web_sys::window().ok_or_else(|| fail("reach"))?;
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    let response = JsFuture::from(window.fetch_with_str_and_init(url, &init))
        .await
        .map_err(|_| fail("POST to"))?
        .dyn_into::<web_sys::Response>()
        .map_err(|_| fail("read"))?;
    let text = JsFuture::from(response.text().map_err(|_| fail("read"))?)
        .await
        .ok()
        .and_then(|text| text.as_string())
        .unwrap_or_default();
    Ok(format!("{} {}", response.status(), text.trim_end()))
}

/// The card's paragraph: what to look at, and why it happens.
fn explain(fault: Fault) -> &'static str {
    match fault {
        Fault::Compressed => "Left, the stream passes a gzip compressor as most are written (Express's \
            compression without res.flush(), a proxy's gzip with its buffers): it sends what deflate has \
            produced and never asks it to flush. Deflate keeps its input until it has a block's worth, so the \
            events sit in the server: the widget stays at its snapshot, and devtools shows content-encoding: \
            gzip and no messages. Middle, tower-http 0.7's CompressionLayer told to compress the stream anyway: \
            it flushes after every chunk, so events arrive — but each stream now holds a compressor's state \
            (about 256 KiB with zlib's defaults), for a few bytes saved per event. Right, the same layer with \
            its default predicate, which leaves text/event-stream alone. Compress pages and files (this server \
            does it once, at build time), never a stream.",
        Fault::Buffered => "Both streams pass a proxy that buffers responses, as nginx does by default \
            (proxy_buffering on), and passes them on 4 KiB at a time. Left, the app forgot to send \
            X-Accel-Buffering: no: events arrive in clumps, seconds apart, all at the same instant (devtools' \
            EventStream tab shows the times). Right, the stream says it, the proxy honours it: every event as it \
            happens. deploy/nginx/tickerplex.conf also turns buffering off for the stream locations.",
        Fault::IdleTimeout => "Both streams are quiet — the indices' snapshot, then no events, like a topic at \
            night — behind a proxy that closes a connection after 3 s without a byte (nginx's \
            proxy_read_timeout, HAProxy's timeout server; real ones are 30–60 s). Left, a keep-alive comment \
            every 15 s comes too late: the stream is cut every 3 s and the browser reconnects (count the \
            reconnects). Right, a comment every second keeps it open. Set TICKERPLEX_KEEPALIVE_SECS below your \
            proxy's timeout.",
        Fault::Gateway => "Press the button: the gateway cuts its streams and answers 503 for 4 s, as nginx \
            or HAProxy do while the only instance restarts. An EventSource treats any answer but a 200 event \
            stream as final. Left, a plain EventSource: closed for good. Middle, the dashboard's widget notices, \
            asks the URL why, and reopens it itself after a jittered backoff (1 s, 2 s, … up to 30 s). Right, a \
            gateway that answers the SSE way — 200, retry: 1000, end — and the browser reconnects by itself.",
        Fault::Stop => "Press the button: for 20 s the server wants these streams gone. Left, it says so \
            with a 503, which the widget treats as temporary: it reopens with backoff and is back once the 20 s \
            are over. Right, it answers 204 No Content, the SSE way to say \"stop reconnecting\": the browser \
            closes the stream, the widget asks why, sees the 204, shows stopped, and never retries until the \
            page is reloaded.",
        Fault::Restart => "Press the button: every topic starts a new epoch and every stream drops — a restart \
            with the in-memory log. The browser reconnects with a Last-Event-ID from the old run, which no \
            history can serve: the widget gets reset and a fresh snapshot, and says so. With the shared log \
            (scripts/cluster, Redis Streams) a restarted instance reads the same log and the ids stay valid: \
            the widget resumes instead, as in the next card (end2end/tests/edge.spec.ts kills an instance to \
            prove it).",
        Fault::Dropped => "Press the button: every open stream ends with no goodbye, as when a proxy or a \
            network drops it. The browser reconnects after the stream's retry: with its Last-Event-ID, the \
            server replays exactly the events after it, and the widget says resumed k. Nothing lost, nothing \
            repeated.",
        Fault::Cluster => "This page is served through the cluster's edge (scripts/cluster), and the widget's \
            header names the instance serving its stream. Freeze that instance (SIGSTOP: it keeps its \
            sockets and answers nothing, like a stuck process): nothing tells the browser, so the widget \
            notices the silence — no heartbeat for 1.5–2 intervals — and reopens its stream from its last id, \
            through the edge, on the survivor (HAProxy also marks the frozen one down within 2 s and cuts its \
            streams). Kill it instead: the stream breaks at once and resumes on the survivor. Restart Redis: \
            the instances wait for it while it replays its file, and the streams resume. Resume and restart \
            bring the parts back.",
        Fault::SlowConsumer => "This stream's reader drains one chunk every 500 ms, slower than the watchlist \
            moves. The server does not queue for it without bound: when the reader falls a buffer behind, the \
            server says so in a comment and ends the stream (the cut it makes at 1,024 events behind, here at \
            16 so it happens in seconds). The browser reconnects with its Last-Event-ID and the missed events \
            arrive at once, from the history: reconnects count up, the badge says resumed k, gaps stay 0.",
    }
}
