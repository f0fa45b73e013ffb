//! Sessions, identities and transport: session fixation, a password reset that leaves sessions
//! alive, NUL bytes that reach PostgreSQL, display names that read backwards, HSTS and `HEAD`.

use std::net::TcpListener;
use std::sync::Arc;

use latchkey::domain::client::GrantType;
use serde_json::{json, Value};

use crate::authorization::authorize_url;
use crate::backend_tests;
use crate::brute_force::admin_token;
use crate::helpers::{
    assert_error, location, query, test_settings, Backend, Browser, TestApp, REDIRECT_URI,
};

backend_tests!(
    a_login_rotates_the_session_and_ends_the_one_the_browser_had,
    an_admin_password_reset_ends_the_users_sessions_and_refresh_tokens,
    a_nul_in_a_basic_client_id_or_a_registration_path_is_a_clean_4xx,
    a_user_created_with_a_bidi_override_in_the_name_is_refused,
    usernames_differing_only_in_case_are_one_account,
    head_is_answered_wherever_get_is,
    hsts_is_sent_on_an_https_issuer_only,
);

/// The session cookie a response sets.
fn session_cookie(response: &reqwest::Response) -> String {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .find_map(|c| c.strip_prefix("latchkey_session="))
        .and_then(|c| c.split(';').next())
        .expect("a session cookie")
        .to_owned()
}

/// Whether `cookie` is a live session: `prompt=none` answers with a code, not `login_required`.
async fn session_is_live(app: &TestApp, client: &crate::helpers::TestClient, cookie: &str) -> bool {
    let (url, _) = authorize_url(app, client, "&prompt=none");
    let response = app
        .http
        .get(&url)
        .header("Cookie", format!("latchkey_session={cookie}"))
        .send()
        .await
        .unwrap();
    let callback = location(&response);
    assert!(callback.starts_with(REDIRECT_URI), "{callback}");
    query(&callback, "code").is_some()
}

async fn log_in(app: &TestApp, browser: &Browser, extra: &str, name: &str, pw: &str) -> String {
    let client = app.web_client(true, false).await;
    let (url, _) = authorize_url(app, &client, extra);
    let login = location(&browser.get(&url).await);
    let response = browser.log_in(&login, name, pw).await;
    assert!(location(&response).starts_with(REDIRECT_URI));
    session_cookie(&response)
}

async fn a_login_rotates_the_session_and_ends_the_one_the_browser_had(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user("alice", "alice's password").await;
    app.user("bob", "bob's password").await;
    let client = app.web_client(true, false).await;
    let browser = app.browser();
    let first = log_in(&app, &browser, "", "alice", "alice's password").await;
    assert!(session_is_live(&app, &client, &first).await);
    let second = log_in(&app, &browser, "&prompt=login", "alice", "alice's password").await;
    assert_ne!(first, second);
    assert!(
        !session_is_live(&app, &client, &first).await,
        "old session ended"
    );
    let third = log_in(&app, &browser, "&prompt=login", "bob", "bob's password").await;
    assert!(
        !session_is_live(&app, &client, &second).await,
        "alice's session ended"
    );
    assert!(session_is_live(&app, &client, &third).await);
}

async fn an_admin_password_reset_ends_the_users_sessions_and_refresh_tokens(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user("alice", "alice's password").await;
    let api = app
        .client(
            &[GrantType::Password, GrantType::RefreshToken],
            "openid",
            false,
        )
        .await;
    let tokens: Value = app
        .token(
            &[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", "alice's password"),
            ],
            Some(&api),
        )
        .await
        .json()
        .await
        .unwrap();
    let refresh_token = tokens["refresh_token"].as_str().unwrap().to_owned();
    let web = app.web_client(true, false).await;
    let session = log_in(&app, &app.browser(), "", "alice", "alice's password").await;
    let token = admin_token(&app).await;
    let reset = app
        .http
        .put(app.url("/admin/api/users/alice/password"))
        .bearer_auth(&token)
        .json(&json!({ "password": "a brand new passphrase" }))
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), 204);
    assert!(!session_is_live(&app, &web, &session).await);
    let refreshed = app
        .token(
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &refresh_token),
            ],
            Some(&api),
        )
        .await;
    assert_eq!(refreshed.status(), 400);
    let body: Value = refreshed.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
}

async fn a_nul_in_a_basic_client_id_or_a_registration_path_is_a_clean_4xx(backend: Backend) {
    use base64::Engine;
    let app = TestApp::spawn(backend).await;
    let nul_in_raw = base64::engine::general_purpose::STANDARD.encode("ab\0cd:secret");
    let nul_encoded = base64::engine::general_purpose::STANDARD.encode("ab%00cd:secret");
    for endpoint in ["/token", "/revoke", "/introspect"] {
        for credentials in [&nul_in_raw, &nul_encoded] {
            let response = app
                .http
                .post(app.url(endpoint))
                .header("Authorization", format!("Basic {credentials}"))
                .form(&[("grant_type", "client_credentials"), ("token", "x")])
                .send()
                .await
                .unwrap();
            assert_error(
                response,
                400,
                "invalid_request",
                "The request contains a NUL character",
            )
            .await;
        }
    }
    let token = admin_token(&app).await;
    for method in [reqwest::Method::GET, reqwest::Method::DELETE] {
        let response = app
            .http
            .request(method, app.url("/register/ab%00cd"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_error(
            response,
            401,
            "invalid_token",
            "The registration access token is invalid",
        )
        .await;
    }
}

async fn a_user_created_with_a_bidi_override_in_the_name_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = admin_token(&app).await;
    let create = |name: &'static str| {
        app.http
            .post(app.url("/admin/api/users"))
            .bearer_auth(&token)
            .json(&json!({ "username": "mallory", "name": name }))
            .send()
    };
    let refused = create("Admin\u{202E}nimdA").await.unwrap();
    assert_eq!(refused.status(), 400);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(
        body,
        json!({
            "error": "invalid_request",
            "error_description": "a name has at most 200 printable characters"
        })
    );
    assert_eq!(create("Mallory").await.unwrap().status(), 201);
}

async fn usernames_differing_only_in_case_are_one_account(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let sub = app.user("alice", "alice's password").await;
    let token = admin_token(&app).await;
    for impostor in ["Alice", "ALICE"] {
        let response = app
            .http
            .post(app.url("/admin/api/users"))
            .bearer_auth(&token)
            .json(&json!({ "username": impostor, "password": "another long password" }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 409, "{impostor}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            body,
            json!({ "error": "conflict", "error_description": format!("user `{impostor}` already exists") })
        );
    }
    // Login matches the same way: any case, and Unicode compatibility forms (fullwidth letters).
    let client = app.password_client().await;
    for typed in ["ALICE", "Alice", "\u{FF41}lice"] {
        let response = app
            .token(
                &[
                    ("grant_type", "password"),
                    ("username", typed),
                    ("password", "alice's password"),
                    ("scope", "openid"),
                ],
                Some(&client),
            )
            .await;
        assert_eq!(response.status(), 200, "{typed}");
        let body: Value = response.json().await.unwrap();
        let (_, claims) = app
            .verify(body["access_token"].as_str().unwrap(), &app.address)
            .await;
        assert_eq!(claims["sub"], sub.as_str());
    }
}

async fn head_is_answered_wherever_get_is(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for path in [
        "/jwks",
        "/.well-known/openid-configuration",
        "/healthz",
        "/token",
    ] {
        let get = app.http.get(app.url(path)).send().await.unwrap();
        let head = app.http.head(app.url(path)).send().await.unwrap();
        assert_eq!(head.status(), get.status(), "{path}");
        assert_eq!(
            head.headers().get("content-type"),
            get.headers().get("content-type"),
            "{path}"
        );
        assert!(head.bytes().await.unwrap().is_empty(), "{path}: no body");
    }
}

async fn hsts_is_sent_on_an_https_issuer_only(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let plain = app.get("/healthz").await;
    assert!(plain.headers().get("strict-transport-security").is_none());
    // The same server with an https issuer (TLS ends at a proxy in front of it).
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let mut settings = test_settings(backend, dir.path());
    settings.issuer = "https://id.example.com".parse().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let clock = Arc::new(latchkey::clock::ManualClock::new(crate::helpers::NOW));
    let state =
        latchkey::state::AppState::build(settings, clock, Arc::new(latchkey::random::OsRandom))
            .await
            .unwrap();
    let server = latchkey::startup::Application::with_listener(state, listener).unwrap();
    tokio::spawn(server.run_until_stopped());
    let secure = reqwest::get(format!("http://127.0.0.1:{port}/healthz"))
        .await
        .unwrap();
    assert_eq!(
        secure.headers()["strict-transport-security"],
        "max-age=31536000"
    );
}
