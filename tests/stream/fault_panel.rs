//! The fault panel's catalogue and the server agree: every way of every card in `model::Fault`
//! is a route that answers an event stream, and every card's trigger is a POST route that
//! answers 200 — over real TLS and HTTP/2, through the router the binary serves. (What each way
//! does to the stream is end2end/tests/faults.spec.ts's business, in a real browser.)

use crate::common;

use common::TestServer;
use tickerplex::model::Fault;

#[tokio::test]
async fn every_way_and_trigger_in_the_catalogue_is_served() {
    let server = TestServer::start().await;
    let client = server.client().build().unwrap();
    for fault in Fault::ALL {
        for way in fault.ways() {
            let url = server.url(&fault.events_url(way));
            let response = client
                .get(&url)
                .header("accept", "text/event-stream")
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200, "{url}");
            assert_eq!(
                response.headers()["content-type"],
                "text/event-stream",
                "{url}"
            );
        }
    }
    // After the streams: the triggers cut them (and the restart drill renumbers the topics).
    for (label, path) in Fault::ALL.iter().filter_map(|fault| fault.trigger()) {
        let response = client.post(server.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{label}: POST {path}");
    }
}
