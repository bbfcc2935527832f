//! Cache-Control: a hashed asset never changes, so browsers keep it for a year without asking;
//! everything else is revalidated on every use.
//!
//! cargo-leptos names the bundle after its content (`hash-files = true` in Cargo.toml):
//! `pkg/tickerplex.<22 characters of base64url MD5>.wasm`. A new build is a new name, so the
//! old name's bytes can be cached forever (`immutable`: not even a revalidation on reload), and
//! the page — `no-cache`, always revalidated — names the new files the moment they exist. A
//! page from the old build that is still open keeps asking for the old names; a deploy must
//! therefore keep the old files beside the new ones for a while (docs/cluster.md, "The edge").
//!
//! Compression is not here: `cargo leptos build --release --precompress` writes `.br` and
//! `.gz` beside each file, and leptos_axum's static-file service sends them to browsers that
//! accept them. Event streams are never compressed — nothing compresses on the fly.

use axum::extract::Request;
use axum::http::header::CACHE_CONTROL;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

/// For content-named files: a year, and no revalidation even on reload.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// For everything else, pages first: use a cached copy only after asking whether it changed.
pub const REVALIDATE: &str = "no-cache";

/// Sets `Cache-Control` on successful answers that have none (event streams set their own).
pub async fn cache_control(request: Request, next: Next) -> Response {
    let hashed = is_hashed_asset(request.uri().path());
    let mut response = next.run(request).await;
    if response.status().is_success() && !response.headers().contains_key(CACHE_CONTROL) {
        let value = if hashed { IMMUTABLE } else { REVALIDATE };
        response
            .headers_mut()
            .insert(CACHE_CONTROL, HeaderValue::from_static(value));
    }
    response
}

/// `…/<stem>.<hash>.<ext>` under `/pkg/`, with the hash as cargo-leptos writes it: 22
/// characters of unpadded base64url (an MD5).
pub fn is_hashed_asset(path: &str) -> bool {
    let Some(file) = path.strip_prefix("/pkg/") else {
        return false;
    };
    let mut parts = file.rsplit('.');
    let (Some(_ext), Some(hash), Some(stem)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    !stem.is_empty()
        && hash.len() == 22
        && hash
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Only a file under `/pkg/` whose name carries cargo-leptos's 22-character content hash is
    /// cached for a year: a name without the hash, a near miss of it, or the same name elsewhere is
    /// revalidated, because caching it for a year would pin a stale bundle after a deploy.
    #[test]
    fn only_content_named_bundle_files_are_immutable() {
        assert!(is_hashed_asset(
            // A name cargo-leptos writes with `hash-files = true`: stem, 22 characters of hash,
            // type.
            "/pkg/tickerplex.q0bT5oW-r2LSpl_Fj1EMbQ.wasm"
        ));
        assert!(is_hashed_asset(
            // The stylesheet is hashed the same way, so it is immutable too.
            "/pkg/tickerplex.q0bT5oW-r2LSpl_Fj1EMbQ.css"
        ));
        // Unhashed names, a middle part that is no hash, other paths, a hashed name outside
        // `/pkg/`, and a character no hash has.
        for not in [
            "/pkg/tickerplex.wasm",
            "/pkg/tickerplex.short.js",
            "/favicon.svg",
            "/",
            "/api/topics/watchlist/events",
            "/other/tickerplex.q0bT5oW-r2LSpl_Fj1EMbQ.wasm",
            "/pkg/tickerplex.q0bT5oW-r2LSpl_Fj1EMb!.js",
        ] {
            // Each is revalidated on every load instead: a year-long cache on any of them would pin
            // an old bundle or page after a deploy.
            assert!(!is_hashed_asset(not), "{not}");
        }
    }
}
