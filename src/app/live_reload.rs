//! Live reload under `cargo leptos watch`, working on an https page.
//!
//! cargo-leptos runs a small websocket server (`reload-port` in `Cargo.toml`) and tells the page
//! to reload when the build changes. Leptos 0.8's own `<AutoReload/>` connects to it with
//! `wss://` whenever the page is https — but that server speaks plain `ws://` only, so on
//! tickerplex's https page the reload silently never happens.
//!
//! The fix chosen: connect with `ws://` always. An https page may open `ws://localhost` because
//! browsers treat loopback addresses as "potentially trustworthy", so it is not blocked as mixed
//! content. (The alternatives were worse: terminating TLS in front of cargo-leptos's reload port
//! needs a second TLS listener just for development, and proxying the websocket through our own
//! router ties the app to a dev tool.) The script is rendered only when cargo-leptos sets
//! `LEPTOS_WATCH`, exactly like `<AutoReload/>`, so production pages never carry it.
//!
//! The page is served from `localhost`, so the reload socket's host is the page's host name.

use leptos::prelude::*;

/// Renders the reload script when running under `cargo leptos watch`; nothing otherwise.
#[component]
pub fn LiveReload(options: LeptosOptions) -> impl IntoView {
    enabled().then(|| {
        let port = options.reload_external_port.unwrap_or(options.reload_port);
        // The nonce lets it run under the page's Content-Security-Policy (`security`).
        view! { <script nonce=use_nonce()>{reload_script(port)}</script> }
    })
}

/// Whether the page is served under `cargo leptos watch`, which sets `LEPTOS_WATCH`.
pub fn enabled() -> bool {
    std::env::var("LEPTOS_WATCH").is_ok()
}

/// The browser side of cargo-leptos's reload protocol: JSON messages `{"all": true}` (reload the
/// page) and `{"css": "pkg/x.css"}` (swap the stylesheet without a reload).
fn reload_script(port: u32) -> String {
    format!(
        r#"(() => {{
  const url = `ws://${{location.hostname}}:{port}/live_reload`;
  const connect = () => {{
    const ws = new WebSocket(url);
    ws.onmessage = (event) => {{
      const msg = JSON.parse(event.data);
      if (msg.all) location.reload();
      if (msg.css) {{
        for (const link of document.querySelectorAll('link[rel="stylesheet"]')) {{
          if (link.getAttribute("href").includes(msg.css)) link.href = `/${{msg.css}}?version=${{Date.now()}}`;
        }}
      }}
    }};
    ws.onclose = () => setTimeout(connect, 1000);
  }};
  connect();
}})();"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reload socket is plain ws:// on the configured port, whatever the page's scheme.
    #[test]
    fn the_reload_socket_is_plain_ws_on_the_reload_port() {
        let script = reload_script(3001);
        assert!(
            script.contains("`ws://${location.hostname}:3001/live_reload`"),
            "{script}"
        );
        assert!(!script.contains("wss:"), "{script}");
    }
}
