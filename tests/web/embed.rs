//! Embedding, the server's half: the public topics answer cross-origin requests (any origin,
//! never with credentials, `Last-Event-ID` allowed), nothing else does; the embed pages may be
//! framed by the sites `TICKERPLEX_EMBED_ORIGINS` names, and the dashboard by none. (The
//! browser's half — the loader, the iframes, one connection — is end2end/tests/embed.spec.ts.)

use crate::common;

use common::TestServer;

/// A public topic, as JSON and as a stream, from another origin: `*`, never credentials. The
/// stats and the drills are not public.
#[tokio::test]
async fn public_topics_answer_any_origin_without_credentials() {
    let server = TestServer::start().await;
    let client = server.client().build().unwrap();
    for (path, accept) in [
        ("/api/topics", "application/json"),
        ("/api/topics/watchlist/events", "application/json"),
        ("/api/topics/sector/energy/events", "text/event-stream"),
    ] {
        let response = client
            .get(server.url(path))
            .header("origin", "https://news.example")
            .header("accept", accept)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(
            response.headers()["access-control-allow-origin"],
            "*",
            "{path}"
        );
        assert!(
            response
                .headers()
                .get("access-control-allow-credentials")
                .is_none(),
            "{path}: never with credentials"
        );
    }
    let stats = client
        .get(server.url("/api/stats"))
        .header("origin", "https://news.example")
        .send()
        .await
        .unwrap();
    assert!(stats.headers().get("access-control-allow-origin").is_none());
}

/// A reconnecting cross-origin EventSource sends `Last-Event-ID`, which needs a preflight: it
/// is allowed, for GET.
#[tokio::test]
async fn a_preflight_for_last_event_id_is_allowed() {
    let server = TestServer::start().await;
    let client = server.client().build().unwrap();
    let response = client
        .request(
            reqwest::Method::OPTIONS,
            server.url("/api/topics/watchlist/events"),
        )
        .header("origin", "https://news.example")
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "last-event-id")
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
    let headers = response.headers();
    assert_eq!(headers["access-control-allow-origin"], "*");
    assert!(headers["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .contains("last-event-id"));
    assert!(headers["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .contains("GET"));
}

/// `frame-ancestors`: the embed page names exactly the configured origins; the dashboard
/// stays `'none'`; with no configuration any site may frame an embed page.
#[tokio::test]
async fn embed_pages_are_framable_by_the_configured_sites_only() {
    let frame_ancestors = |policy: &str| {
        policy
            .split(';')
            .map(str::trim)
            .find_map(|d| d.strip_prefix("frame-ancestors "))
            .unwrap()
            .to_owned()
    };
    let policy_of = |server: &TestServer, path: &str| {
        let client = server.client().build().unwrap();
        let url = server.url(path);
        async move {
            let response = client.get(url).send().await.unwrap();
            assert_eq!(response.status(), 200);
            response.headers()["content-security-policy"]
                .to_str()
                .unwrap()
                .to_owned()
        }
    };

    let configured = TestServer::builder()
        .embed_origins("https://news.example, http://127.0.0.1:8080")
        .start()
        .await;
    let embed = policy_of(&configured, "/embed/watchlist").await;
    assert_eq!(
        frame_ancestors(&embed),
        "https://news.example http://127.0.0.1:8080"
    );
    let sector = policy_of(&configured, "/embed/sector/energy").await;
    assert_eq!(frame_ancestors(&sector), frame_ancestors(&embed));
    let dashboard = policy_of(&configured, "/").await;
    assert_eq!(frame_ancestors(&dashboard), "'none'");

    let open = TestServer::start().await;
    assert_eq!(
        frame_ancestors(&policy_of(&open, "/embed/movers").await),
        "https: http:"
    );
    assert_eq!(frame_ancestors(&policy_of(&open, "/").await), "'none'");
}
