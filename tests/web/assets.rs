//! The bundle as browsers get it: content-named files cached for a year, pages revalidated,
//! brotli or gzip when the build precompressed them (`cargo leptos build --release
//! --precompress`), and an event stream never compressed, whatever the client accepts.
//!
//! The site root is the test's own: a hashed name and its `.br` and `.gz` twins, each with
//! different bytes, so every answer shows which of the three files was sent.

use crate::common;

use common::TestServer;
use tickerplex::server::web::caching::{IMMUTABLE, REVALIDATE};

const WASM: &str = "tickerplex.q0bT5oW-r2LSpl_Fj1EMbQ.wasm";

/// A site root with one hashed wasm file and its precompressed twins, and one unhashed file.
fn site() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let pkg = root.path().join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(pkg.join(WASM), b"\0asm plain").unwrap();
    std::fs::write(pkg.join(format!("{WASM}.br")), b"brotli bytes").unwrap();
    std::fs::write(pkg.join(format!("{WASM}.gz")), b"\x1f\x8bgzip bytes").unwrap();
    std::fs::write(root.path().join("favicon.svg"), b"<svg/>").unwrap();
    root
}

/// A hashed file is immutable; the page and an unhashed file are revalidated; each encoding
/// is served to the client that accepts it, and the identity bytes to one that accepts none.
#[tokio::test]
async fn hashed_assets_are_immutable_and_served_precompressed() {
    let root = site();
    let server = TestServer::builder().site(root.path()).start().await;
    // reqwest without its decompression features: the bytes and headers arrive as sent.
    let client = server.client().build().unwrap();
    let get = |path: String, encoding: &'static str| {
        client
            .get(server.url(&path))
            .header("accept-encoding", encoding)
            .send()
    };

    for (accept, encoding, body) in [
        ("br, gzip", Some("br"), &b"brotli bytes"[..]),
        ("gzip", Some("gzip"), &b"\x1f\x8bgzip bytes"[..]),
        ("identity", None, &b"\0asm plain"[..]),
    ] {
        let response = get(format!("/pkg/{WASM}"), accept).await.unwrap();
        assert_eq!(response.status(), 200, "{accept}");
        assert_eq!(response.headers()["cache-control"], IMMUTABLE, "{accept}");
        assert_eq!(
            response
                .headers()
                .get("content-encoding")
                .map(|v| v.to_str().unwrap()),
            encoding,
            "{accept}"
        );
        assert_eq!(response.bytes().await.unwrap(), body, "{accept}");
    }

    let favicon = get("/favicon.svg".into(), "br").await.unwrap();
    assert_eq!(favicon.headers()["cache-control"], REVALIDATE);
    let page = get("/".into(), "br").await.unwrap();
    assert_eq!(page.headers()["cache-control"], REVALIDATE);
}

/// An event stream asked for with every encoding accepted is still sent as it is: compressed,
/// its events would wait in the compressor's buffer.
#[tokio::test]
async fn an_event_stream_is_never_compressed() {
    let root = site();
    let server = TestServer::builder().site(root.path()).start().await;
    let client = server.client().build().unwrap();
    let response = client
        .get(server.url("/api/topics/watchlist/events"))
        .header("accept", "text/event-stream")
        .header("accept-encoding", "br, gzip, deflate, zstd")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers().get("content-encoding").is_none());
    assert_eq!(
        response.headers()["cache-control"],
        "no-cache, no-transform"
    );
    assert_eq!(response.headers()["content-type"], "text/event-stream");
}
