//! CORS for browser apps (Fetch Standard §3.2): `/token`, `/userinfo` and `/revoke` answer
//! preflights and let a page read their answers only from an origin the request's client
//! registered, never with `*`; discovery and JWKS stay readable from anywhere.

use latchkey::admin;
use latchkey::domain::client::GrantType;
use reqwest::Method;
use serde_json::Value;

use crate::backend_tests;
use crate::helpers::{Backend, TestApp, TestClient};

backend_tests!(
    cors_preflight_for_an_allowed_origin,
    cors_refuses_an_unregistered_origin,
    discovery_and_jwks_allow_any_origin,
    web_origins_are_registration_metadata,
);

const ORIGIN: &str = "http://127.0.0.1:5173";
const OTHER: &str = "https://other.example";

/// A confidential password-grant client whose browser code runs on `origins`.
pub(crate) async fn origin_client(app: &TestApp, origins: &[&str]) -> TestClient {
    app.register(admin::clients::NewClient {
        name: "Browser App".into(),
        grant_types: vec![GrantType::Password, GrantType::RefreshToken],
        redirect_uris: vec![],
        post_logout_redirect_uris: vec![],
        scope: Some("openid profile".into()),
        public: false,
        first_party: true,
        refresh_token_ttl_secs: None,
        refresh_token_absolute_ttl_secs: None,
        access_token_alg: None,
        id_token_signed_response_alg: None,
        claims_and_origins: admin::clients::ClaimsAndOrigins {
            id_token_claims: true,
            web_origins: origins.iter().map(|o| (*o).to_owned()).collect(),
        },
    })
    .await
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    response.headers().get(name).map(|v| v.to_str().unwrap())
}

async fn preflight(app: &TestApp, path: &str, origin: &str, method: &str) -> reqwest::Response {
    app.http
        .request(Method::OPTIONS, app.url(path))
        .header("Origin", origin)
        .header("Access-Control-Request-Method", method)
        .header(
            "Access-Control-Request-Headers",
            "authorization,content-type",
        )
        .send()
        .await
        .unwrap()
}

async fn password_token(
    app: &TestApp,
    client: &TestClient,
    origin: &str,
    password: &str,
) -> reqwest::Response {
    app.http
        .post(app.url("/token"))
        .header("Origin", origin)
        .basic_auth(&client.id, client.secret.as_deref())
        .form(&[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", password),
            ("scope", "openid profile"),
        ])
        .send()
        .await
        .unwrap()
}

async fn userinfo(app: &TestApp, token: &str, origin: &str) -> reqwest::Response {
    app.http
        .get(app.url("/userinfo"))
        .header("Origin", origin)
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

async fn cors_preflight_for_an_allowed_origin(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user("alice", "a long password").await;
    let client = origin_client(&app, &[ORIGIN]).await;
    for (path, method, allowed) in [
        ("/token", "POST", "POST, OPTIONS"),
        ("/revoke", "POST", "POST, OPTIONS"),
        ("/userinfo", "GET", "GET, POST, OPTIONS"),
    ] {
        let response = preflight(&app, path, ORIGIN, method).await;
        assert_eq!(response.status(), 204, "{path}");
        assert_eq!(
            header(&response, "access-control-allow-origin"),
            Some(ORIGIN)
        );
        assert_eq!(
            header(&response, "access-control-allow-methods"),
            Some(allowed)
        );
        assert_eq!(
            header(&response, "access-control-allow-headers"),
            Some("Authorization, Content-Type")
        );
        assert_eq!(header(&response, "access-control-max-age"), Some("600"));
        assert_eq!(header(&response, "vary"), Some("Origin"));
        assert!(header(&response, "access-control-allow-credentials").is_none());
    }

    // The answers themselves, and the errors, are readable by the page.
    let response = password_token(&app, &client, ORIGIN, "a long password").await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        header(&response, "access-control-allow-origin"),
        Some(ORIGIN)
    );
    assert_eq!(header(&response, "vary"), Some("Origin"));
    let tokens: Value = response.json().await.unwrap();
    let wrong = password_token(&app, &client, ORIGIN, "wrong password").await;
    assert_eq!(wrong.status(), 400);
    assert_eq!(header(&wrong, "access-control-allow-origin"), Some(ORIGIN));
    let access_token = tokens["access_token"].as_str().unwrap();
    let info = userinfo(&app, access_token, ORIGIN).await;
    assert_eq!(info.status(), 200);
    assert_eq!(header(&info, "access-control-allow-origin"), Some(ORIGIN));
    let revoked = app
        .http
        .post(app.url("/revoke"))
        .header("Origin", ORIGIN)
        .basic_auth(&client.id, client.secret.as_deref())
        .form(&[("token", tokens["refresh_token"].as_str().unwrap())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    assert_eq!(
        header(&revoked, "access-control-allow-origin"),
        Some(ORIGIN)
    );
}

async fn cors_refuses_an_unregistered_origin(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user("alice", "a long password").await;
    let client = origin_client(&app, &[ORIGIN]).await;
    // Another client's origin may pass a preflight, but never reads this client's answers.
    origin_client(&app, &[OTHER]).await;
    for origin in [
        "https://evil.example",
        "null",
        "http://127.0.0.1:5173/",
        ORIGIN,
    ] {
        let response = preflight(&app, "/token", origin, "POST").await;
        assert_eq!(response.status(), 204);
        let expected = (origin == ORIGIN).then_some(ORIGIN);
        assert_eq!(
            header(&response, "access-control-allow-origin"),
            expected,
            "{origin}"
        );
        if expected.is_none() {
            assert!(header(&response, "access-control-allow-methods").is_none());
        }
    }
    let tokens: Value = password_token(&app, &client, ORIGIN, "a long password")
        .await
        .json()
        .await
        .unwrap();
    let access_token = tokens["access_token"].as_str().unwrap();
    for origin in ["https://evil.example", OTHER, "null"] {
        let response = password_token(&app, &client, origin, "a long password").await;
        assert_eq!(response.status(), 200, "the request itself is answered");
        assert!(
            header(&response, "access-control-allow-origin").is_none(),
            "{origin}"
        );
        assert_eq!(header(&response, "vary"), Some("Origin"));
        let info = userinfo(&app, access_token, origin).await;
        assert!(
            header(&info, "access-control-allow-origin").is_none(),
            "{origin}"
        );
    }
    // A disabled client's origins are refused too.
    let id = client.id.clone();
    let pool = app.state.pool.clone();
    tokio::task::spawn_blocking(move || {
        admin::clients::set_disabled(
            &mut pool.get().unwrap(),
            &crate::helpers::by_cli(0),
            &id,
            true,
        )
    })
    .await
    .unwrap()
    .unwrap();
    let response = preflight(&app, "/token", ORIGIN, "POST").await;
    assert!(header(&response, "access-control-allow-origin").is_none());
}

async fn discovery_and_jwks_allow_any_origin(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for path in ["/.well-known/openid-configuration", "/jwks"] {
        let response = app
            .http
            .get(app.url(path))
            .header("Origin", "https://anyone.example")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(header(&response, "access-control-allow-origin"), Some("*"));
        assert!(header(&response, "access-control-allow-credentials").is_none());
    }
}

async fn web_origins_are_registration_metadata(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, token) = crate::admin::admin_token(&app).await;
    let metadata = serde_json::json!({
        "client_name": "SPA",
        "redirect_uris": ["https://app.example/callback"],
        "token_endpoint_auth_method": "none",
        "web_origins": ["https://App.example:443", "https://app.example"],
    });
    let response = crate::admin::register(&app, Some(&token), metadata).await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["web_origins"],
        serde_json::json!(["https://app.example"])
    );
    let preflight = preflight(&app, "/token", "https://app.example", "POST").await;
    assert_eq!(
        header(&preflight, "access-control-allow-origin"),
        Some("https://app.example")
    );
    for bad in ["https://app.example/path", "http://app.example", "*"] {
        let metadata = serde_json::json!({
            "redirect_uris": ["https://app.example/callback"],
            "web_origins": [bad],
        });
        let response = crate::admin::register(&app, Some(&token), metadata).await;
        assert_eq!(response.status(), 400, "{bad}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "invalid_client_metadata", "{bad}");
    }
}
