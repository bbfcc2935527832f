//! The real server, over real TLS, spoken to by a real HTTP/2 client.
//!
//! Each test starts the same accept loop and router the binary runs, on 127.0.0.1 port 0, with a
//! freshly generated dev CA. The client (reqwest over rustls) trusts exactly that CA — no
//! "accept invalid certificates" switch — and negotiates the protocol by ALPN, as a browser does.
//!
//! All test servers share ONE router and ONE multi-thread runtime, as the binary has one of each.
//! Building a Leptos router runs `generate_route_list`, process-wide set-up meant to happen once
//! before serving; with a router built per test while other tests were rendering pages, about one
//! run in eight hung (a render that never finished; 3 in 60 with a shared runtime alone, 0 in 160
//! with both shared). The binary never does that, so the tests do not either.

use leptos::config::LeptosOptions;
use reqwest::{Certificate, Client, Response, Version};
use std::net::SocketAddr;
use std::sync::LazyLock;
use tickerplex::server::certs::{load, DevPki};
use tickerplex::server::{connection, routes, tls};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The runtime every test server runs on (see the module doc).
static SERVER_RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("the test server runtime starts")
});

/// The router every test server serves, built once per process as the binary builds it once.
static ROUTER: LazyLock<axum::Router> = LazyLock::new(|| {
    routes::router(LeptosOptions::builder().output_name("tickerplex").build())
});

/// A server running in the background, and how to stop it.
struct TestServer {
    addr: SocketAddr,
    ca_pem: String,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
    _certs: tempfile::TempDir,
}

impl TestServer {
    fn start() -> Self {
        let certs = tempfile::tempdir().unwrap();
        let pki = DevPki::generate().unwrap();
        let files = pki.write_to(certs.path()).unwrap();
        let tls = tls::server_config(load(&files).unwrap()).unwrap();

        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = SERVER_RUNTIME.spawn(async move {
            let listener = TcpListener::from_std(listener).unwrap();
            connection::serve(listener, tls, ROUTER.clone(), async {
                let _ = stopped.await;
            })
            .await
        });

        TestServer {
            addr,
            ca_pem: pki.ca_pem,
            stop,
            task,
            _certs: certs,
        }
    }

    /// A client that trusts this server's dev CA and resolves `localhost` to it.
    fn client(&self) -> reqwest::ClientBuilder {
        Client::builder()
            .add_root_certificate(Certificate::from_pem(self.ca_pem.as_bytes()).unwrap())
            .resolve("localhost", self.addr)
            .https_only(true)
    }

    fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.addr.port())
    }
}

fn connection_id(response: &Response) -> u64 {
    response
        .headers()
        .get("x-connection-id")
        .expect("every response names its connection")
        .to_str()
        .unwrap()
        .parse()
        .expect("the connection id is a number")
}

/// A client that can speak HTTP/2 gets HTTP/2 (ALPN offers h2 first), and the page is rendered on
/// the server: the heading is in the HTML before any script runs.
#[tokio::test]
async fn the_page_is_served_over_http2_with_its_heading_rendered() {
    let server = TestServer::start();
    let client = server.client().build().unwrap();

    let response = client.get(server.url("/")).send().await.unwrap();
    assert_eq!(response.version(), Version::HTTP_2);
    assert_eq!(response.status(), 200);
    connection_id(&response);
    let html = response.text().await.unwrap();
    assert!(html.contains("<h1>tickerplex</h1>"), "{html}");
    assert!(html.contains(r#"data-testid="page-protocol">h2<"#), "the page shows its protocol: {html}");
}

/// Requests on one HTTP/2 client share one connection and so one id; another client gets another.
#[tokio::test]
async fn requests_on_one_client_share_a_connection_and_another_client_gets_its_own() {
    let server = TestServer::start();
    let first = server.client().build().unwrap();
    let second = server.client().build().unwrap();

    let a = first.get(server.url("/")).send().await.unwrap();
    let b = first.get(server.url("/")).send().await.unwrap();
    let c = second.get(server.url("/")).send().await.unwrap();

    assert_eq!(connection_id(&a), connection_id(&b));
    assert_ne!(connection_id(&a), connection_id(&c));
}

/// A client limited to HTTP/1.1 still gets served, over HTTP/1.1, and the page says so.
#[tokio::test]
async fn an_http1_only_client_is_served_over_http1() {
    let server = TestServer::start();
    let client = server.client().http1_only().build().unwrap();

    let response = client.get(server.url("/")).send().await.unwrap();
    assert_eq!(response.version(), Version::HTTP_11);
    let html = response.text().await.unwrap();
    assert!(html.contains(r#"data-testid="page-protocol">http/1.1<"#), "{html}");
}

/// A client that does not trust the dev CA is refused during the TLS handshake.
#[tokio::test]
async fn a_client_that_does_not_trust_the_dev_ca_is_refused() {
    let server = TestServer::start();
    let stranger = Client::builder()
        .resolve("localhost", server.addr)
        .tls_built_in_root_certs(false)
        .build()
        .unwrap();

    let error = stranger.get(server.url("/")).send().await.unwrap_err();
    assert!(error.is_connect(), "{error:?}");
}

/// On shutdown the accept loop stops and returns, even with an HTTP/2 connection still open.
#[tokio::test]
async fn shutdown_returns_with_a_connection_still_open() {
    let server = TestServer::start();
    let client = server.client().build().unwrap();
    let response = client.get(server.url("/")).send().await.unwrap();
    assert_eq!(response.version(), Version::HTTP_2);

    server.stop.send(()).unwrap();
    // The bound is a failure guard, not synchronisation: `serve` must return on its own.
    tokio::time::timeout(connection::DRAIN_TIMEOUT * 2, server.task)
        .await
        .expect("serve returned within the drain timeout")
        .unwrap();
    // `client` (and its pooled connection) is still alive here: the server did not wait for it.
    drop(client);
}
