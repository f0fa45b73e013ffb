//! The registration policy (`[registration]`): what a registrar token and a client's own
//! registration access token may register, what only an admin token may; open registration's
//! global cap and the expiry of its unused clients; and the pages that name where an openly
//! registered client sends people (consent, logout: RFC 9700 §4.11).

use std::sync::Arc;

use latchkey::domain::client::GrantType;
use serde_json::{json, Value};

use crate::admin::{admin_token, assert_json_error, register};
use crate::backend_tests;
use crate::helpers::{hidden, location, test_settings, Backend, TestApp, REDIRECT_URI};
use crate::userinfo_logout::tokens;

backend_tests!(
    a_registrar_token_cannot_register_an_api_scope,
    a_registrar_token_cannot_enable_the_password_grant,
    a_registrar_token_cannot_register_client_credentials,
    a_registration_token_cannot_widen_the_client_beyond_the_policy,
    an_admin_token_may_go_beyond_the_registration_policy,
    open_registration_stops_at_the_global_cap,
    an_openly_registered_client_that_never_logged_a_user_in_expires,
    consent_for_an_openly_registered_client_shows_its_redirect_host,
    logout_for_an_openly_registered_client_asks_before_redirecting,
);

/// An access token with `latchkey:register` (a registrar's initial access token).
async fn registrar_token(app: &TestApp) -> String {
    let registrar = app
        .client(&[GrantType::ClientCredentials], "latchkey:register", false)
        .await;
    let body: Value = app
        .token(
            &[
                ("grant_type", "client_credentials"),
                ("scope", "latchkey:register"),
            ],
            Some(&registrar),
        )
        .await
        .json()
        .await
        .unwrap();
    body["access_token"].as_str().expect("token").to_owned()
}

async fn client_count(app: &TestApp) -> usize {
    let pool = app.state.pool.clone();
    tokio::task::spawn_blocking(move || latchkey::admin::clients::list(&mut pool.get().unwrap()))
        .await
        .unwrap()
        .unwrap()
        .len()
}

/// Registers with `token`; expects 400 `invalid_client_metadata` with `description` and no
/// client written.
async fn refused(app: &TestApp, token: &str, metadata: Value, description: &str) {
    let before = client_count(app).await;
    let response = register(app, Some(token), metadata).await;
    assert_json_error(response, 400, "invalid_client_metadata", description).await;
    assert_eq!(client_count(app).await, before, "nothing is registered");
}

async fn a_registrar_token_cannot_register_an_api_scope(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = registrar_token(&app).await;
    let code = |scope: &str| json!({"redirect_uris": [REDIRECT_URI], "scope": scope});
    refused(
        &app,
        &token,
        code("openid payments:admin"),
        "scope payments:admin is not allowed by the registration policy",
    )
    .await;
    refused(
        &app,
        &token,
        code("openid latchkey:admin"),
        "scope latchkey:admin is not allowed by the registration policy",
    )
    .await;
    // Within the policy it works, and a client that names no scope gets the OpenID ones.
    let ok = register(&app, Some(&token), code("openid email")).await;
    assert_eq!(ok.status(), 201);
    let body: Value = register(&app, Some(&token), json!({"redirect_uris": [REDIRECT_URI]}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["scope"], "openid profile email");
}

async fn a_registrar_token_cannot_enable_the_password_grant(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = registrar_token(&app).await;
    refused(
        &app,
        &token,
        json!({"grant_types": ["password", "refresh_token"], "scope": "openid"}),
        "grant type password is not allowed by the registration policy",
    )
    .await;
}

async fn a_registrar_token_cannot_register_client_credentials(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = registrar_token(&app).await;
    refused(
        &app,
        &token,
        json!({"grant_types": ["client_credentials"], "scope": "invoices:write payments:admin"}),
        "grant type client_credentials is not allowed by the registration policy",
    )
    .await;
}

/// Registers with `token` and returns (registration_client_uri, registration_access_token,
/// client_id).
async fn registered(app: &TestApp, token: &str, metadata: Value) -> (String, String, String) {
    let response = register(app, Some(token), metadata).await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    let field = |name: &str| body[name].as_str().unwrap().to_owned();
    (
        field("registration_client_uri"),
        field("registration_access_token"),
        field("client_id"),
    )
}

async fn put(app: &TestApp, uri: &str, token: &str, metadata: Value) -> reqwest::Response {
    app.http
        .put(uri)
        .bearer_auth(token)
        .json(&metadata)
        .send()
        .await
        .unwrap()
}

async fn a_registration_token_cannot_widen_the_client_beyond_the_policy(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = registrar_token(&app).await;
    let metadata = json!({"redirect_uris": [REDIRECT_URI], "grant_types": ["authorization_code"], "scope": "openid"});
    let (uri, reg, id) = registered(&app, &token, metadata).await;
    let with = |grants: &[&str], scope: &str| json!({"client_id": id, "redirect_uris": [REDIRECT_URI], "grant_types": grants, "scope": scope});
    for (metadata, description) in [
        (
            with(&["authorization_code", "password"], "openid"),
            "grant type password is not allowed by the registration policy",
        ),
        (
            with(&["authorization_code", "client_credentials"], "openid"),
            "grant type client_credentials is not allowed by the registration policy",
        ),
        (
            with(&["authorization_code"], "openid invoices:write"),
            "scope invoices:write is not allowed by the registration policy",
        ),
    ] {
        let response = put(&app, &uri, &reg, metadata).await;
        assert_json_error(response, 400, "invalid_client_metadata", description).await;
    }
    let kept = put(
        &app,
        &uri,
        &reg,
        with(&["authorization_code"], "openid profile"),
    )
    .await;
    assert_eq!(kept.status(), 200, "within the policy an update works");

    // A client an admin registered beyond the policy keeps what it has through its own token,
    // but adds nothing beyond the policy: that token is not an admin's.
    let (_, admin) = admin_token(&app).await;
    let service = json!({"grant_types": ["client_credentials"], "scope": "invoices:read"});
    let (uri, reg, id) = registered(&app, &admin, service).await;
    let same =
        json!({"client_id": id, "grant_types": ["client_credentials"], "scope": "invoices:read"});
    let response = put(&app, &uri, &reg, same).await;
    assert_eq!(response.status(), 200);
    let reg = response.json::<Value>().await.unwrap()["registration_access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let wider = json!({"client_id": id, "grant_types": ["client_credentials", "password"], "scope": "invoices:read invoices:write"});
    assert_json_error(
        put(&app, &uri, &reg, wider).await,
        400,
        "invalid_client_metadata",
        "grant type password is not allowed by the registration policy",
    )
    .await;
}

async fn an_admin_token_may_go_beyond_the_registration_policy(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, admin) = admin_token(&app).await;
    let response = register(
        &app,
        Some(&admin),
        json!({"grant_types": ["client_credentials", "password"], "scope": "invoices:write payments:admin"}),
    )
    .await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    let client = crate::helpers::TestClient {
        id: body["client_id"].as_str().unwrap().to_owned(),
        secret: Some(body["client_secret"].as_str().unwrap().to_owned()),
    };
    let issued: Value = app
        .token(
            &[
                ("grant_type", "client_credentials"),
                ("scope", "payments:admin"),
            ],
            Some(&client),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(issued["scope"], "payments:admin");
}

/// A server with open registration on and at most `max_clients` openly registered clients.
async fn open_app(backend: Backend, max_clients: u32) -> TestApp {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let mut settings = test_settings(backend, dir.path());
    settings.registration.open = true;
    settings.registration.open_per_hour = std::num::NonZeroU32::new(100).unwrap();
    settings.registration.open_max_clients = std::num::NonZeroU32::new(max_clients).unwrap();
    TestApp::spawn_with(dir, settings).await
}

fn open_metadata(name: &str) -> Value {
    json!({
        "client_name": name,
        "redirect_uris": [REDIRECT_URI],
        "post_logout_redirect_uris": ["http://127.0.0.1:9999/bye"],
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "refresh_token"],
    })
}

/// Registers openly; returns the response body.
async fn open_register(app: &TestApp, name: &str) -> Value {
    let response = register(app, None, open_metadata(name)).await;
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

async fn assert_at_capacity(app: &TestApp) {
    let response = register(app, None, open_metadata("One too many")).await;
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "3600");
    assert_json_error(
        response,
        503,
        "temporarily_unavailable",
        "Open registration is at capacity; retry later",
    )
    .await;
}

async fn delete(app: &TestApp, body: &Value) {
    let response = app
        .http
        .delete(body["registration_client_uri"].as_str().unwrap())
        .bearer_auth(body["registration_access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
}

async fn open_registration_stops_at_the_global_cap(backend: Backend) {
    let app = open_app(backend, 2).await;
    let first = open_register(&app, "First").await;
    let unused = open_register(&app, "Second").await;
    // Two clients exist: the cap, whatever the address (each address is far below its rate).
    assert_at_capacity(&app).await;
    // A place frees up when a client is deleted, or when an unused one expires.
    delete(&app, &first).await;
    open_register(&app, "Third").await;
    assert_at_capacity(&app).await;
    app.clock
        .advance(app.state.settings.registration.open_unused_ttl_secs + 1);
    assert_eq!(expire(&app).await, 2);
    assert!(!exists(&app, &unused).await);
    open_register(&app, "Fourth").await;
}

/// The registration access token still reads the client.
async fn exists(app: &TestApp, body: &Value) -> bool {
    let status = app
        .http
        .get(body["registration_client_uri"].as_str().unwrap())
        .bearer_auth(body["registration_access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .status();
    status == 200
}

async fn expire(app: &TestApp) -> usize {
    let (pool, state) = (app.state.pool.clone(), app.state.clone());
    let now = app.clock_now();
    tokio::task::spawn_blocking(move || {
        latchkey::oauth::registration::open::expire_unused(
            &mut pool.get().unwrap(),
            &state.settings.registration,
            now,
        )
    })
    .await
    .unwrap()
    .unwrap()
}

fn test_client(body: &Value) -> crate::helpers::TestClient {
    crate::helpers::TestClient {
        id: body["client_id"].as_str().unwrap().to_owned(),
        secret: None,
    }
}

async fn an_openly_registered_client_that_never_logged_a_user_in_expires(backend: Backend) {
    let app = open_app(backend, 10).await;
    let unused = open_register(&app, "Never used").await;
    let used = open_register(&app, "Used").await;
    app.user("alice", "alice's password").await;
    let issued = tokens(&app, &app.browser(), &test_client(&used), "openid").await;
    assert!(issued["id_token"].is_string());
    let ttl = app.state.settings.registration.open_unused_ttl_secs;
    app.clock.advance(ttl - 1);
    assert_eq!(expire(&app).await, 0, "not before open_unused_ttl_secs");
    app.clock.advance(2);
    assert_eq!(expire(&app).await, 1);
    assert!(!exists(&app, &unused).await);
    assert!(
        exists(&app, &used).await,
        "a client someone signed in to is kept"
    );
    assert_eq!(expire(&app).await, 0);
}

/// Opens the consent page of `client_id` for alice; returns its HTML.
async fn consent_page(app: &TestApp, client_id: &str) -> String {
    let browser = app.browser();
    let url = format!(
        "/authorize?response_type=code&client_id={client_id}&redirect_uri={REDIRECT_URI}&scope=openid&code_challenge={}&code_challenge_method=S256",
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    );
    let login = location(&browser.get(&url).await);
    let consent = location(&browser.log_in(&login, "alice", "alice's password").await);
    assert!(consent.starts_with("/consent"), "{consent}");
    browser.get(&consent).await.text().await.unwrap()
}

async fn consent_for_an_openly_registered_client_shows_its_redirect_host(backend: Backend) {
    let app = open_app(backend, 10).await;
    app.user("alice", "alice's password").await;
    let open = open_register(&app, "Your Bank").await;
    let html = consent_page(&app, open["client_id"].as_str().unwrap()).await;
    assert!(html.contains("<strong>Your Bank</strong> wants to"));
    assert!(
        html.contains("Your answer will be sent to <strong>127.0.0.1</strong>."),
        "{html}"
    );
    // An application an admin registered is vouched for: no such line.
    let vouched = app.web_client(false, true).await;
    let html = consent_page(&app, &vouched.id).await;
    assert!(!html.contains("will be sent to"), "{html}");
}

async fn logout_for_an_openly_registered_client_asks_before_redirecting(backend: Backend) {
    let app = open_app(backend, 10).await;
    app.user("alice", "alice's password").await;
    let open = open_register(&app, "Your Bank").await;
    let browser = app.browser();
    let issued = tokens(&app, &browser, &test_client(&open), "openid").await;
    let url = format!(
        "/logout?id_token_hint={}&post_logout_redirect_uri=http://127.0.0.1:9999/bye&state=s3",
        issued["id_token"].as_str().unwrap()
    );
    // With or without a session, a valid hint alone does not redirect.
    for browser in [&app.browser(), &browser] {
        let page = browser.get(&url).await;
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        assert!(html.contains("Sign out?"));
        assert!(
            html.contains("You will then be sent to <strong>127.0.0.1</strong>."),
            "{html}"
        );
    }
    let html = browser.get(&url).await.text().await.unwrap();
    let confirmed = browser
        .post(
            "/logout",
            &[
                ("confirm", "yes"),
                ("csrf", &hidden(&html, "csrf")),
                ("client_id", open["client_id"].as_str().unwrap()),
                ("post_logout_redirect_uri", "http://127.0.0.1:9999/bye"),
                ("state", "s3"),
            ],
        )
        .await;
    assert_eq!(location(&confirmed), "http://127.0.0.1:9999/bye?state=s3");
}
