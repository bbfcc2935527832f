//! Silent sockets: 1 000 TCP connections that never start a TLS handshake are closed by the
//! server after `TLS_HANDSHAKE_TIMEOUT`, and every file descriptor comes back.
//!
//! A file of its own, so this process runs no other test while it counts its descriptors.

mod common;

use common::TestServer;
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// File descriptors this process holds (the server runs in it, so its sockets count too).
fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// 1 000 sockets that connect and say nothing are all closed by the server within the TLS
/// handshake timeout (10 s, plus scheduling), and the file descriptors return to the baseline.
#[tokio::test]
async fn silent_sockets_are_closed_and_their_descriptors_returned() {
    let server = TestServer::start().await;
    let baseline = open_fds();
    let mut sockets = Vec::new();
    for _ in 0..1_000 {
        sockets.push(TcpStream::connect(server.addr).await.unwrap());
    }
    let started = Instant::now();
    // Each read ends when the server closes its side: EOF (0 bytes) or a reset.
    let closed = futures_util::future::join_all(sockets.iter_mut().map(|socket| async move {
        let mut byte = [0u8; 1];
        tokio::time::timeout(Duration::from_secs(15), socket.read(&mut byte)).await
    }))
    .await;
    let waited = started.elapsed();
    assert!(
        closed
            .iter()
            .all(|read| matches!(read, Ok(Ok(0)) | Ok(Err(_)))),
        "every silent socket was closed by the server"
    );
    assert!(
        waited >= Duration::from_secs(9),
        "not before the timeout: {waited:?}"
    );
    drop(sockets);
    // Our own sockets are closed now; the server's were closed before the reads ended.
    assert_eq!(
        open_fds(),
        baseline,
        "file descriptors back to the baseline"
    );
}
