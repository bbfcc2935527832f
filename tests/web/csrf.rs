//! Cross-site request forgery: a state-changing request another site makes a browser send —
//! a hidden form or a `fetch` aimed at Buy/Sell or a drill — is refused with 403 and one line
//! saying why, before it reaches a handler; the same request from the site itself, or from a
//! client that is not a browser, goes through. Over real TLS and HTTP/2, through the router the
//! binary serves.

use crate::common;

use leptos::server_fn::ServerFn;
use tickerplex::widgets::PlaceOrder;

use common::TestServer;
use tickerplex::model::TopicName;

/// A drill and the Buy server function, asked cross-site (as a browser labels it with
/// `Sec-Fetch-Site`, and as an older one shows it only by `Origin`): 403, the reason, and the
/// drill did not run. From the page itself, or without browser headers: they run.
#[tokio::test]
async fn cross_site_posts_are_refused_and_change_nothing() {
    let server = TestServer::start().await;
    let client = server.client().build().unwrap();
    let rotate = server.url("/api/drills/rotate-watchlist");
    let before = server.current_id(&TopicName::Watchlist);

    let own_origin = server.url("");
    let cases: [(&str, &str, u16); 5] = [
        ("sec-fetch-site", "cross-site", 403),
        ("sec-fetch-site", "same-site", 403),
        ("origin", "https://evil.example", 403),
        ("sec-fetch-site", "same-origin", 200),
        ("origin", own_origin.as_str(), 200),
    ];
    for (header, value, status) in cases {
        let refused = status == 403;
        let response = client
            .post(&rotate)
            .header(header, value)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{header}: {value}");
        let body = response.text().await.unwrap();
        if refused {
            assert!(
                body.starts_with("403 Forbidden: cross-site request refused"),
                "{body}"
            );
            assert_eq!(body.lines().count(), 1, "one line: {body}");
            // Nothing happened: the watchlist published no rotation.
            assert_eq!(server.current_id(&TopicName::Watchlist), before);
        }
    }
    // No browser headers at all: curl, scripts, these tests.
    let plain = client.post(&rotate).send().await.unwrap();
    assert_eq!(plain.status(), 200);

    // The Buy server function, from another site's form.
    let order = client
        .post(server.url(PlaceOrder::PATH))
        .header("sec-fetch-site", "cross-site")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("symbol=ATOMK&quantity=1&side=Buy")
        .send()
        .await
        .unwrap();
    assert_eq!(order.status(), 403);
    // The same order from the site's own page (with the session its dashboard visit started,
    // and a key) is filled: the refusal above was the CSRF check, not a wrong URL.
    let dashboard = client.get(server.url("/")).send().await.unwrap();
    let session = dashboard.headers()["set-cookie"].to_str().unwrap();
    let session = session.split(';').next().unwrap().to_owned();
    let symbol = server
        .topics
        .get(&TopicName::Watchlist)
        .unwrap()
        .snapshot()
        .await
        .unwrap()
        .members[0]
        .symbol
        .to_string();
    let own = client
        .post(server.url(PlaceOrder::PATH))
        .header("sec-fetch-site", "same-origin")
        .header("cookie", session)
        .header("idempotency-key", "csrf-own-page")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("symbol={symbol}&quantity=1&side=Buy"))
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), 200, "{}", own.text().await.unwrap());
}
