//! A server whose log reader went away still serves, and still drains and exits on SIGTERM.
//!
//! (It used not to: the log library reported the failed write on stderr — the same dead pipe —
//! and that report panicked inside the task waiting for the signal.)

use crate::common;

use common::cluster::{free_port, Pki};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Kills the server if the test fails before it exits (a server that cannot drain would
/// otherwise outlive the test).
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn a_server_whose_log_pipe_closed_still_drains_on_sigterm() {
    let pki = Pki::new();
    let port = free_port();
    let ledger = tempfile::tempdir().unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_tickerplex"))
        .env_clear()
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .env("LEPTOS_OUTPUT_NAME", "tickerplex")
        .env("TICKERPLEX_TLS_CERT", &pki.files.cert)
        .env("TICKERPLEX_TLS_KEY", &pki.files.key)
        .env("TICKERPLEX_METRICS_ADDR", "off")
        .env("TICKERPLEX_LEDGER", ledger.path().join("ledger.db"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the tickerplex binary runs");
    let mut guard = KillOnDrop(child);
    let child = &mut guard.0;
    // Read until it serves, then close both pipes: whatever read the logs is gone.
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert!(lines.any(|line| line.unwrap().contains("tickerplex is serving")));
    drop(lines);
    drop(child.stderr.take());

    // It still answers (and logs the connection, into the closed pipe)…
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(pki.ca_pem.as_bytes()).unwrap())
        .resolve("localhost", ([127, 0, 0, 1], port).into())
        .build()
        .unwrap();
    let ready = client
        .get(format!("https://localhost:{port}/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);

    // …and drains when told to.
    let sent = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "still running 15 s after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await; // polling a child process's exit
    };
    assert!(status.success(), "{status}");
}
