//! A rolling deploy behind the edge: while one instance runs the old build and the other the
//! new, a page from either build finds every file it names — through the edge, whichever
//! instance answers — and after the old instance is replaced, the old page's files are still
//! there. No 404 for a hashed asset at any step.
//!
//! The deploy rule this proves (docs/cluster.md, "The edge"): every instance serves one shared site root,
//! and a deploy adds the new build's content-named files beside the old ones instead of
//! replacing the directory. A page names its files by content hash (`hash.txt` beside each
//! build's binary), so two builds never fight over a name.
//!
//! The two "builds" are the test binary under two names, each with its own `hash.txt`, and
//! the site root holds made-up files under both builds' names: what is proven is the serving
//! and the routing, not the compiler.

use crate::common;

use common::cluster::{Instance, RedisServer};
use common::edge::{Edge, Kind};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const OLD: &str = "oldoldoldoldoldoldold0";
const NEW: &str = "newnewnewnewnewnewnew1";

/// A build: the server binary (hard-linked, so `current_exe` is this directory) and its
/// `hash.txt`, naming the bundle files by `hash`.
fn build(dir: &Path, hash: &str) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let binary = dir.join("tickerplex");
    let _ = std::fs::remove_file(&binary);
    std::fs::hard_link(env!("CARGO_BIN_EXE_tickerplex"), &binary).unwrap();
    std::fs::write(
        dir.join("hash.txt"),
        format!("js: {hash}\nwasm: {hash}\ncss: {hash}\n"),
    )
    .unwrap();
    binary
}

/// Deploys a build's bundle into the shared site root, beside whatever is there.
fn deploy(site: &Path, hash: &str) {
    let pkg = site.join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    for ext in ["js", "wasm", "css"] {
        std::fs::write(pkg.join(format!("tickerplex.{hash}.{ext}")), hash).unwrap();
    }
}

/// The bundle files a page names (`/pkg/…`).
fn named_files(html: &str) -> BTreeSet<String> {
    html.split(['"', '\''])
        .filter(|part| part.starts_with("/pkg/tickerplex."))
        .map(str::to_owned)
        .collect()
}

/// Loads the page through the edge until both instances have answered; returns each instance's
/// page by name.
async fn pages_from_both(edge: &Edge, client: &reqwest::Client) -> Vec<(String, String)> {
    let mut pages: Vec<(String, String)> = Vec::new();
    for _ in 0..40 {
        let response = client.get(edge.url("/")).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let instance = response.headers()["x-instance"]
            .to_str()
            .unwrap()
            .to_owned();
        let html = response.text().await.unwrap();
        if !pages.iter().any(|(name, _)| *name == instance) {
            pages.push((instance, html));
        }
        if pages.len() == 2 {
            return pages;
        }
    }
    panic!("the edge sent every page to one instance: {pages:?}");
}

/// Every file in `files`, fetched through the edge often enough that both instances serve it.
async fn all_found(edge: &Edge, client: &reqwest::Client, files: &BTreeSet<String>) {
    for file in files {
        let mut served_by = BTreeSet::new();
        for _ in 0..20 {
            let response = client.get(edge.url(file)).send().await.unwrap();
            let instance = response.headers()["x-instance"]
                .to_str()
                .unwrap()
                .to_owned();
            assert_eq!(response.status(), 200, "{file} from {instance}");
            served_by.insert(instance);
        }
        assert_eq!(served_by.len(), 2, "{file}: both instances served it");
    }
}

#[tokio::test]
async fn a_rolling_deploy_behind_nginx_never_404s_a_hashed_asset() {
    let scratch = Path::new(env!("CARGO_TARGET_TMPDIR")).join("rolling-deploy");
    let _ = std::fs::remove_dir_all(&scratch);
    let site = scratch.join("site");
    let (old, new) = (
        build(&scratch.join("old"), OLD),
        build(&scratch.join("new"), NEW),
    );
    let redis = RedisServer::start();
    let pki = common::cluster::Pki::new();
    let env = [("LEPTOS_HASH_FILES", "true")];
    let start = |binary: &Path, name: &str| {
        Instance::start_from(binary, &site, name, &redis.url(), &pki, &env).unwrap()
    };

    // Mid-deploy: the old build's files are there, the new build's added beside them; `a`
    // still runs the old build, `b` already the new one.
    deploy(&site, OLD);
    deploy(&site, NEW);
    let mut a = start(&old, "a");
    let b = start(&new, "b");
    let edge = Edge::start(Kind::Nginx, &[&a, &b], &pki, |config| config).await;
    let client = edge.client(&pki);

    let pages = pages_from_both(&edge, &client).await;
    let mut old_files = BTreeSet::new();
    for (instance, html) in &pages {
        let files = named_files(html);
        let hash = if instance == "a" { OLD } else { NEW };
        assert_eq!(
            files.len(),
            3,
            "{instance}'s page names its js, wasm and css"
        );
        assert!(
            files.iter().all(|f| f.contains(hash)),
            "{instance}: {files:?}"
        );
        all_found(&edge, &client, &files).await;
        if instance == "a" {
            old_files = files;
        }
    }

    // The old instance is replaced by the new build (drained, then started again): an old page
    // still open in a browser asks for its files, and gets them from new instances only.
    a.stop();
    let a = start(&new, "a");
    // The new `a` listens on a new port (the tests take free ones), so the edge is started
    // again with it; in production the port stays and the edge's health check does this.
    drop(edge);
    let edge = Edge::start(Kind::Nginx, &[&a, &b], &pki, |config| config).await;
    let client = edge.client(&pki);
    for (_, html) in pages_from_both(&edge, &client).await {
        assert!(named_files(&html).iter().all(|f| f.contains(NEW)));
    }
    all_found(&edge, &client, &old_files).await;
}
