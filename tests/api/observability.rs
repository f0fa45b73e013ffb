//! Request ids (honoured when sane, generated otherwise, returned on every response) and client
//! addresses behind trusted proxies.

use serde_json::{json, Value};

use crate::backend_tests;
use crate::helpers::{Backend, TestApp};

backend_tests!(
    a_sane_request_id_is_returned_unchanged,
    every_response_gets_a_fresh_request_id_when_none_is_sent,
    a_forged_request_id_is_replaced,
    a_client_behind_a_trusted_proxy_is_limited_by_its_own_address,
    an_untrusted_peer_cannot_dodge_the_limit_with_x_forwarded_for,
);

fn id_of(r: &reqwest::Response) -> String {
    r.headers()
        .get("x-request-id")
        .expect("every response carries X-Request-Id")
        .to_str()
        .unwrap()
        .to_owned()
}

async fn a_sane_request_id_is_returned_unchanged(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for path in ["/healthz", "/no/such/path", "/jwks"] {
        let r = app
            .http
            .get(app.url(path))
            .header("X-Request-Id", "edge-7f3a:42")
            .send()
            .await
            .unwrap();
        assert_eq!(id_of(&r), "edge-7f3a:42", "{path}");
    }
    // Error responses of the protocol endpoints carry it too.
    let r = app
        .http
        .post(app.url("/token"))
        .header("X-Request-Id", "lb-1")
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(id_of(&r), "lb-1");
}

async fn every_response_gets_a_fresh_request_id_when_none_is_sent(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let first = id_of(&app.get("/healthz").await);
    let second = id_of(&app.get("/no/such/path").await);
    assert_ne!(first, second);
    for id in [&first, &second] {
        assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
    }
}

async fn a_forged_request_id_is_replaced(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let long = "a".repeat(129);
    for forged in ["two words", "x\"} injected", long.as_str(), ""] {
        let r = app
            .http
            .get(app.url("/healthz"))
            .header("X-Request-Id", forged)
            .send()
            .await
            .unwrap();
        let id = id_of(&r);
        assert_ne!(id, forged);
        assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
    }
}

/// An app with open registration, one registration per address and hour, behind `trusted`.
async fn limited_app(backend: Backend, trusted: &[&str]) -> TestApp {
    let dir = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let mut settings = crate::helpers::test_settings(backend, dir.path());
    settings.registration.open = true;
    settings.registration.open_per_hour = std::num::NonZeroU32::MIN;
    settings.server.trusted_proxies = trusted.iter().map(|n| n.parse().unwrap()).collect();
    TestApp::spawn_with(dir, settings).await
}

async fn register_from(app: &TestApp, forwarded_for: &str) -> u16 {
    app.http
        .post(app.url("/register"))
        .header("X-Forwarded-For", forwarded_for)
        .json(&json!({
            "redirect_uris": ["http://127.0.0.1:5000/cb"],
            "token_endpoint_auth_method": "none",
        }))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn a_client_behind_a_trusted_proxy_is_limited_by_its_own_address(backend: Backend) {
    let app = limited_app(backend, &["127.0.0.0/8"]).await;
    assert_eq!(register_from(&app, "203.0.113.1").await, 201);
    // Another client behind the same proxy has its own allowance…
    assert_eq!(register_from(&app, "203.0.113.2").await, 201);
    // …and a client cannot borrow one by prepending a made-up hop: the rightmost untrusted hop
    // (the address the proxy saw) counts.
    assert_eq!(register_from(&app, "198.51.100.9, 203.0.113.1").await, 429);
    let r = app
        .http
        .post(app.url("/register"))
        .header("Forwarded", "for=203.0.113.2")
        .json(&json!({"redirect_uris": ["http://127.0.0.1:5000/cb"], "token_endpoint_auth_method": "none"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body,
        json!({"error": "temporarily_unavailable", "error_description": "Too many registrations from this address; retry later"})
    );
}

async fn an_untrusted_peer_cannot_dodge_the_limit_with_x_forwarded_for(backend: Backend) {
    let app = limited_app(backend, &["10.0.0.0/8"]).await;
    assert_eq!(register_from(&app, "203.0.113.1").await, 201);
    // The peer (127.0.0.1) is not a trusted proxy: the header is ignored.
    assert_eq!(register_from(&app, "203.0.113.2").await, 429);
}
