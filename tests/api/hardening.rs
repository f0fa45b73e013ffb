//! Attacks found in review, one test each: privilege escalation through RFC 7592 updates,
//! bulk revocations that left access tokens alive, tokens of removed clients, missing
//! `redirect_uri`, a replayed login form, and another client's used code.

use latchkey::domain::client::GrantType;
use serde_json::{json, Value};

use crate::backend_tests;
use crate::helpers::{location, test_settings, Backend, TestApp, TestClient, NOW, REDIRECT_URI};

backend_tests!(
    an_open_client_cannot_upgrade_itself_through_rfc7592,
    a_registered_client_cannot_grant_itself_latchkey_admin,
    revoking_a_users_sessions_or_a_clients_tokens_denies_their_access_tokens,
    a_removed_clients_access_tokens_stop_working,
    redirect_uri_is_required_at_authorize_and_token,
    a_login_form_submitted_twice_logs_in_once,
    another_clients_used_code_revokes_nothing,
);

async fn open_app(backend: Backend) -> TestApp {
    let dir = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let mut settings = test_settings(backend, dir.path());
    settings.registration.open = true;
    TestApp::spawn_with(dir, settings).await
}

async fn an_open_client_cannot_upgrade_itself_through_rfc7592(backend: Backend) {
    let app = open_app(backend).await;
    let body: Value = app
        .http
        .post(app.url("/register"))
        .json(&json!({"redirect_uris": ["http://127.0.0.1:5000/cb"], "token_endpoint_auth_method": "none"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = body["client_id"].as_str().unwrap();
    let uri = body["registration_client_uri"].as_str().unwrap();
    let token = body["registration_access_token"].as_str().unwrap();
    for (metadata, description) in [
        (
            json!({"client_id": id, "token_endpoint_auth_method": "none", "redirect_uris": ["http://127.0.0.1:5000/cb"], "grant_types": ["authorization_code", "password"]}),
            "grant type password is not allowed for open registration",
        ),
        (
            json!({"client_id": id, "token_endpoint_auth_method": "none", "redirect_uris": ["evil.app:/cb"]}),
            "redirect URI `evil.app:/cb` must be https or a loopback http address",
        ),
        (
            json!({"client_id": id, "token_endpoint_auth_method": "none", "redirect_uris": ["http://127.0.0.1:5000/cb"], "scope": "openid payments:write"}),
            "scope payments:write is not allowed for open registration",
        ),
    ] {
        let r = app
            .http
            .put(uri)
            .bearer_auth(token)
            .json(&metadata)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{description}");
        let error: Value = r.json().await.unwrap();
        assert_eq!(error["error_description"], description);
    }
}

async fn a_registered_client_cannot_grant_itself_latchkey_admin(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let pool = app.state.pool.clone();
    let admin = tokio::task::spawn_blocking(move || {
        latchkey::admin::clients::bootstrap(
            &mut pool.get().unwrap(),
            &crate::helpers::by_cli(NOW),
            &latchkey::random::OsRandom,
        )
    })
    .await
    .unwrap()
    .unwrap()
    .unwrap();
    let admin = TestClient {
        id: admin.client.client_id,
        secret: admin
            .client_secret
            .map(|s| secrecy::ExposeSecret::expose_secret(&s).to_owned()),
    };
    let admin_token: Value = app
        .token(
            &[
                ("grant_type", "client_credentials"),
                ("scope", "latchkey:admin"),
            ],
            Some(&admin),
        )
        .await
        .json()
        .await
        .unwrap();
    let body: Value = app
        .http
        .post(app.url("/register"))
        .bearer_auth(admin_token["access_token"].as_str().unwrap())
        .json(&json!({"grant_types": ["client_credentials"], "scope": "latchkey:introspect"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let r = app
        .http
        .put(body["registration_client_uri"].as_str().unwrap())
        .bearer_auth(body["registration_access_token"].as_str().unwrap())
        .json(&json!({"client_id": body["client_id"], "grant_types": ["client_credentials"], "scope": "latchkey:introspect latchkey:admin"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let error: Value = r.json().await.unwrap();
    assert_eq!(
        error["error_description"],
        "scope latchkey:admin is not allowed by the registration policy"
    );
}

/// A client allowed password + refresh_token and one set of alice's tokens.
async fn alice(app: &TestApp) -> (TestClient, Value) {
    let client = app
        .client(
            &[GrantType::Password, GrantType::RefreshToken],
            "openid offline_access",
            false,
        )
        .await;
    app.user("alice", "alice's password").await;
    let tokens: Value = app
        .token(
            &[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", "alice's password"),
                ("scope", "openid offline_access"),
            ],
            Some(&client),
        )
        .await
        .json()
        .await
        .unwrap();
    (client, tokens)
}

async fn userinfo_status(app: &TestApp, tokens: &Value) -> u16 {
    app.http
        .get(app.url("/userinfo"))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn revoking_a_users_sessions_or_a_clients_tokens_denies_their_access_tokens(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let (client, tokens) = alice(&app).await;
    assert_eq!(userinfo_status(&app, &tokens).await, 200);
    let pool = app.state.pool.clone();
    tokio::task::spawn_blocking(move || {
        latchkey::admin::users::revoke_sessions(
            &mut pool.get().unwrap(),
            &crate::helpers::by_cli(NOW),
            "alice",
        )
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(userinfo_status(&app, &tokens).await, 401);
    let login = [
        ("grant_type", "password"),
        ("username", "alice"),
        ("password", "alice's password"),
        ("scope", "openid"),
    ];
    let fresh: Value = app.token(&login, Some(&client)).await.json().await.unwrap();
    assert_eq!(userinfo_status(&app, &fresh).await, 200);
    let (pool, id) = (app.state.pool.clone(), client.id.clone());
    tokio::task::spawn_blocking(move || {
        latchkey::admin::clients::rotate_secret(
            &mut pool.get().unwrap(),
            &crate::helpers::by_cli(NOW),
            &latchkey::random::OsRandom,
            &id,
            true,
        )
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(userinfo_status(&app, &fresh).await, 401);
}

async fn a_removed_clients_access_tokens_stop_working(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (client, tokens) = alice(&app).await;
    let (pool, id) = (app.state.pool.clone(), client.id.clone());
    tokio::task::spawn_blocking(move || {
        latchkey::admin::clients::remove(&mut pool.get().unwrap(), &crate::helpers::by_cli(0), &id)
    })
    .await
    .unwrap()
    .unwrap();
    let r = app
        .http
        .get(app.url("/userinfo"))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.headers()["www-authenticate"].to_str().unwrap(),
        r#"Bearer realm="latchkey", error="invalid_token", error_description="The client of this access token no longer exists""#
    );
}

fn challenge() -> (String, String) {
    use base64::Engine;
    use sha2::Digest;
    let verifier = "w".repeat(50);
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

async fn redirect_uri_is_required_at_authorize_and_token(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = app.web_client(true, false).await;
    app.user("alice", "alice's password").await;
    let browser = app.browser();
    let (verifier, challenge) = challenge();
    let without = format!("/authorize?response_type=code&client_id={}&scope=openid&code_challenge={challenge}&code_challenge_method=S256", client.id);
    let page = browser.get(&without).await;
    assert_eq!(page.status(), 400);
    assert!(page.headers().get("location").is_none());
    assert!(page
        .text()
        .await
        .unwrap()
        .contains("Missing required parameter <code>redirect_uri</code>"));
    let with = format!("{without}&redirect_uri={REDIRECT_URI}");
    let login = location(&browser.get(&with).await);
    let callback = location(&browser.log_in(&login, "alice", "alice's password").await);
    let code = crate::helpers::query(&callback, "code").unwrap();
    let r = app
        .token(
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("code_verifier", &verifier),
            ],
            Some(&client),
        )
        .await;
    crate::helpers::assert_error(
        r,
        400,
        "invalid_request",
        "Missing required parameter `redirect_uri`",
    )
    .await;
}

async fn a_login_form_submitted_twice_logs_in_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = app.web_client(true, false).await;
    app.user("alice", "alice's password").await;
    let browser = app.browser();
    let (_, challenge) = challenge();
    let url = format!("/authorize?response_type=code&client_id={}&redirect_uri={REDIRECT_URI}&scope=openid&code_challenge={challenge}&code_challenge_method=S256", client.id);
    let login = location(&browser.get(&url).await);
    let html = browser.get(&login).await.text().await.unwrap();
    let form = [
        ("request", crate::helpers::hidden(&html, "request")),
        ("csrf", crate::helpers::hidden(&html, "csrf")),
        ("username", "alice".to_owned()),
        ("password", "alice's password".to_owned()),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let first = browser.post("/login", &form).await;
    assert!(location(&first).starts_with(REDIRECT_URI));
    let second = browser.post("/login", &form).await;
    assert_eq!(second.status(), 400, "the stored request is used up");
}

async fn another_clients_used_code_revokes_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = app.web_client(true, false).await;
    let other = app.web_client(true, false).await;
    app.user("alice", "alice's password").await;
    let browser = app.browser();
    let (verifier, challenge) = challenge();
    let url = format!("/authorize?response_type=code&client_id={}&redirect_uri={REDIRECT_URI}&scope=openid&code_challenge={challenge}&code_challenge_method=S256", client.id);
    let login = location(&browser.get(&url).await);
    let callback = location(&browser.log_in(&login, "alice", "alice's password").await);
    let code = crate::helpers::query(&callback, "code").unwrap();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT_URI),
        ("code_verifier", verifier.as_str()),
    ];
    let tokens: Value = app.token(&form, Some(&client)).await.json().await.unwrap();
    let r = app.token(&form, Some(&other)).await;
    crate::helpers::assert_error(
        r,
        400,
        "invalid_grant",
        "The authorization code is invalid or expired",
    )
    .await;
    assert_eq!(
        userinfo_status(&app, &tokens).await,
        200,
        "the rightful client's tokens survive"
    );
}
