//! The documentation names only files that exist: every repository path in README.md,
//! BENCHMARKS.md, docs/, deploy/ and Cargo.toml, and every relative Markdown link, is checked against the
//! tree. A file moved or renamed without its mentions fails here, not in a newcomer's browser.
//!
//! Hand-written rather than a link checker from the registry (lychee, mdbook-linkcheck): those
//! check links only, and cost minutes to build; the paths named in prose and tables
//! (`src/server/sse.rs`) are the ones that go stale, and twenty lines read them.

use std::path::{Path, PathBuf};

/// The folders a path in the docs starts with: the repository's own.
const ROOTS: &[&str] = &[
    "src/", "tests/", "docs/", "scripts/", "deploy/", "bench/", "end2end/", "public/", "certs/",
    "style/", ".ci/",
];

/// The characters a path is made of; anything else ends it (a space, a backtick, `)`, `#`).
fn in_path(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '-')
}

/// Every repository path named in `text`, as written (from the repository's root).
fn named_paths(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (at, _) in text.char_indices() {
        // A path starts at a root's name, after something that is not part of a path
        // (so `tests/` inside `bench/load/tests/cli.rs` is not read as a second path).
        let starts = ROOTS.iter().any(|root| text[at..].starts_with(root));
        let after_boundary = text[..at].chars().next_back().is_none_or(|c| !in_path(c));
        if starts && after_boundary {
            let path: String = text[at..].chars().take_while(|&c| in_path(c)).collect();
            // A sentence's full stop or a range's dots are not part of the path.
            found.push(path.trim_end_matches('.').to_owned());
        }
    }
    found
}

/// The relative targets of Markdown links in `text` (`[x](../src/lib.rs)`), without anchors.
fn link_targets(text: &str) -> Vec<String> {
    text.split("](")
        .skip(1)
        .filter_map(|rest| rest.split(')').next())
        .map(|target| target.split('#').next().unwrap_or_default().to_owned())
        .filter(|target| {
            !target.is_empty() && !target.contains("://") && !target.starts_with("mailto:")
        })
        .collect()
}

/// Whether `path` is one the tree ignores (root `.gitignore`: `/target`, `/certs/*.pem`,
/// `/end2end/screenshots`, …): made at run time — a dev certificate, a screenshot — so absent
/// from a fresh clone although the docs rightly name it. Only the file's two shapes are read:
/// `/prefix` and `/dir/*suffix`.
fn ignored(path: &str, gitignore: &str) -> bool {
    let path = path.trim_end_matches('/');
    gitignore
        .lines()
        .filter_map(|line| line.trim().strip_prefix('/'))
        .any(|pattern| match pattern.split_once('*') {
            Some((dir, suffix)) => path.starts_with(dir) && path.ends_with(suffix),
            None => path == pattern || path.starts_with(&format!("{pattern}/")),
        })
}

/// The documents to check: the README, the benchmark report, every docs chapter, every file
/// under deploy/ (whose comments name the scripts and sources they go with), and Cargo.toml,
/// whose comments say which source each dependency serves.
fn documents(root: &Path) -> Vec<PathBuf> {
    let mut documents = vec![
        root.join("README.md"),
        root.join("BENCHMARKS.md"),
        root.join("Cargo.toml"),
    ];
    let mut folders = vec![root.join("docs"), root.join("deploy")];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap().map(Result::unwrap) {
            let path = entry.path();
            if path.is_dir() {
                folders.push(path);
            } else if folder.ends_with("docs") && path.extension().is_some_and(|e| e == "md")
                || path.starts_with(root.join("deploy"))
            {
                documents.push(path);
            }
        }
    }
    documents
}

#[test]
fn every_path_the_docs_name_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut missing = Vec::new();
    let gitignore = std::fs::read_to_string(root.join(".gitignore")).unwrap();
    let documents = documents(root);
    assert!(documents.len() > 10, "found the docs: {documents:?}");
    for document in documents {
        let text = std::fs::read_to_string(&document).unwrap();
        let name = document.strip_prefix(root).unwrap().display().to_string();
        for path in named_paths(&text) {
            if !root.join(&path).exists() && !ignored(&path, &gitignore) {
                missing.push(format!("{name}: {path}"));
            }
        }
        let dir = document.parent().unwrap();
        for target in link_targets(&text) {
            if !dir.join(&target).exists() {
                missing.push(format!("{name}: link ({target})"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "named in the docs but not in the tree:\n{}",
        missing.join("\n")
    );
}

#[test]
fn the_reader_finds_paths_and_link_targets() {
    // The reader itself, on text whose paths are known: one that exists, one that does not, one
    // inside another path, and a link with an anchor.
    let text =
        "see `src/lib.rs`, [x](docs/islands.md#why) and src/nowhere.rs. bench/load/tests/cli.rs";
    assert_eq!(
        named_paths(text),
        [
            "src/lib.rs",
            "docs/islands.md",
            "src/nowhere.rs",
            "bench/load/tests/cli.rs"
        ]
    );
    assert_eq!(link_targets(text), ["docs/islands.md"]);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    assert!(root.join("src/lib.rs").exists() && !root.join("src/nowhere.rs").exists());
    // Generated at run time, so excused; a source file beside them is not.
    let gitignore = "# comment\n/target\n/certs/*.pem\n/end2end/screenshots\n";
    assert!(ignored("certs/dev-ca.pem", gitignore));
    assert!(ignored("end2end/screenshots/", gitignore));
    assert!(!ignored("certs/README.md", gitignore));
    assert!(!ignored("end2end/tests/x.spec.ts", gitignore));
}
