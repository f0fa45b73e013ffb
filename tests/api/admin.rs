//! Client registration (RFC 7591/7592) and the admin API for users, authorised by Latchkey's own
//! access tokens.

use std::sync::Arc;

use latchkey::domain::client::GrantType;
use serde_json::{json, Value};

use crate::backend_tests;
use crate::helpers::{
    location, query, test_settings, Backend, TestApp, TestClient, NOW, REDIRECT_URI,
};

backend_tests!(
    a_registered_client_gets_tokens_and_completes_the_code_flow,
    invalid_client_metadata_is_refused_per_rfc7591,
    registration_needs_a_valid_initial_access_token,
    rfc7592_reads_updates_and_deletes_with_the_registration_token,
    open_registration_accepts_only_public_loopback_clients_and_is_rate_limited,
    the_admin_api_manages_users,
    the_admin_api_refuses_missing_expired_and_non_admin_tokens,
);

/// Bootstraps the admin client and returns it with an access token carrying `latchkey:admin`.
pub(crate) async fn admin_token(app: &TestApp) -> (TestClient, String) {
    let pool = app.state.pool.clone();
    let registered = tokio::task::spawn_blocking(move || {
        latchkey::admin::clients::bootstrap(
            &mut pool.get().unwrap(),
            &crate::helpers::by_cli(NOW),
            &latchkey::random::OsRandom,
        )
    })
    .await
    .unwrap()
    .unwrap()
    .expect("a new admin client");
    let pool = app.state.pool.clone();
    let again = tokio::task::spawn_blocking(move || {
        latchkey::admin::clients::bootstrap(
            &mut pool.get().unwrap(),
            &crate::helpers::by_cli(NOW),
            &latchkey::random::OsRandom,
        )
    })
    .await
    .unwrap()
    .unwrap();
    assert!(again.is_none(), "bootstrap is idempotent");
    let client = TestClient {
        id: registered.client.client_id,
        secret: registered
            .client_secret
            .map(|s| secrecy::ExposeSecret::expose_secret(&s).to_owned()),
    };
    let body: Value = app
        .token(
            &[
                ("grant_type", "client_credentials"),
                ("scope", "latchkey:admin"),
            ],
            Some(&client),
        )
        .await
        .json()
        .await
        .unwrap();
    let token = body["access_token"]
        .as_str()
        .expect("admin token")
        .to_owned();
    (client, token)
}

pub(crate) async fn register(
    app: &TestApp,
    token: Option<&str>,
    metadata: Value,
) -> reqwest::Response {
    let mut request = app.http.post(app.url("/register")).json(&metadata);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

pub(crate) async fn assert_json_error(
    response: reqwest::Response,
    status: u16,
    error: &str,
    description: &str,
) {
    assert_eq!(response.status().as_u16(), status, "{description}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({ "error": error, "error_description": description })
    );
}

async fn a_registered_client_gets_tokens_and_completes_the_code_flow(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, token) = admin_token(&app).await;
    let response = register(
        &app,
        Some(&token),
        json!({
            "client_name": "Registered App",
            "redirect_uris": [REDIRECT_URI],
            "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
            "response_types": ["code"],
            "scope": "openid profile api:read",
            "token_endpoint_auth_method": "client_secret_basic",
            "logo_uri": "https://ignored.example/logo.png",
        }),
    )
    .await;
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    let id = body["client_id"].as_str().unwrap().to_owned();
    assert_eq!(body["client_name"], "Registered App");
    assert_eq!(body["client_secret_expires_at"], 0);
    assert_eq!(body["client_id_issued_at"], NOW);
    assert_eq!(body["token_endpoint_auth_method"], "client_secret_basic");
    assert_eq!(
        body["registration_client_uri"],
        format!("{}/register/{id}", app.address).as_str()
    );
    assert_eq!(
        body["registration_access_token"].as_str().unwrap().len(),
        43
    );
    assert!(
        body.get("logo_uri").is_none(),
        "unknown metadata is ignored"
    );
    let client = TestClient {
        id: id.clone(),
        secret: Some(body["client_secret"].as_str().unwrap().to_owned()),
    };
    let cc = app
        .token(
            &[("grant_type", "client_credentials"), ("scope", "api:read")],
            Some(&client),
        )
        .await;
    assert_eq!(cc.status(), 200);
    // The authorization-code flow, with consent (registered clients are never first-party).
    app.user("alice", "alice's password").await;
    let browser = app.browser();
    let verifier = "v".repeat(64);
    let challenge = {
        use base64::Engine;
        use sha2::Digest;
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(sha2::Sha256::digest(verifier.as_bytes()))
    };
    let url = format!(
        "/authorize?response_type=code&client_id={id}&redirect_uri={REDIRECT_URI}&scope=openid%20profile&code_challenge={challenge}&code_challenge_method=S256"
    );
    let login = location(&browser.get(&url).await);
    let consent = location(&browser.log_in(&login, "alice", "alice's password").await);
    assert!(consent.starts_with("/consent?"), "{consent}");
    let callback = location(&browser.consent(&consent, true).await);
    let code = query(&callback, "code").unwrap();
    let exchanged = app
        .token(
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT_URI),
                ("code_verifier", &verifier),
            ],
            Some(&client),
        )
        .await;
    assert_eq!(exchanged.status(), 200);
}

async fn invalid_client_metadata_is_refused_per_rfc7591(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, token) = admin_token(&app).await;
    let cases = [
        (json!({"redirect_uris": ["not a url"]}), "invalid_redirect_uri", "redirect URI `not a url` is not absolute: relative URL without a base"),
        (json!({"redirect_uris": ["https://app.example/cb#x"]}), "invalid_redirect_uri", "redirect URI `https://app.example/cb#x` must not contain a fragment"),
        (json!({"redirect_uris": ["http://app.example/cb"]}), "invalid_redirect_uri", "redirect URI `http://app.example/cb` uses http on a non-loopback host; use https"),
        (json!({"grant_types": ["authorization_code"]}), "invalid_redirect_uri", "The authorization_code grant needs redirect_uris"),
        (json!({"redirect_uris": [REDIRECT_URI], "grant_types": ["implicit"]}), "invalid_client_metadata", "grant type `implicit` is not supported"),
        (json!({"redirect_uris": [REDIRECT_URI], "response_types": ["token"]}), "invalid_client_metadata", "Only the response type `code` is supported"),
        (json!({"grant_types": ["client_credentials"], "response_types": ["code"]}), "invalid_client_metadata", "response_types `code` and grant_types `authorization_code` go together (RFC 7591 §2.1)"),
        (json!({"redirect_uris": [REDIRECT_URI], "token_endpoint_auth_method": "private_key_jwt"}), "invalid_client_metadata", "token_endpoint_auth_method `private_key_jwt` is not supported"),
        (json!({"grant_types": ["client_credentials"], "token_endpoint_auth_method": "none"}), "invalid_client_metadata", "A public client cannot use client_credentials"),
        (json!({"grant_types": ["password"], "token_endpoint_auth_method": "none"}), "invalid_client_metadata", "A public client cannot use the password grant"),
        (json!({"redirect_uris": [REDIRECT_URI], "client_name": " "}), "invalid_client_metadata", "client_name has 1 to 100 printable characters"),
        (json!({"redirect_uris": "https://app.example/cb"}), "invalid_client_metadata", "The request body is not a JSON object of client metadata"),
        (json!({"redirect_uris": [REDIRECT_URI], "scope": "a  b"}), "invalid_client_metadata", "scope: scope contains a character not allowed by RFC 6749 §3.3"),
    ];
    for (metadata, error, description) in cases {
        let response = register(&app, Some(&token), metadata).await;
        assert_json_error(response, 400, error, description).await;
    }
}

async fn registration_needs_a_valid_initial_access_token(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let metadata = json!({"redirect_uris": [REDIRECT_URI]});
    let missing = register(&app, None, metadata.clone()).await;
    assert_eq!(
        missing.headers()["www-authenticate"].to_str().unwrap(),
        r#"Bearer realm="latchkey", error="invalid_token", error_description="An initial access token is required""#
    );
    assert_json_error(
        missing,
        401,
        "invalid_token",
        "An initial access token is required",
    )
    .await;
    let forged = register(
        &app,
        Some("eyJhbGciOiJSUzI1NiJ9.e30.c2ln"),
        metadata.clone(),
    )
    .await;
    assert_json_error(forged, 401, "invalid_token", "The access token is invalid").await;
    let service = app.service_client().await;
    let body: Value = app
        .token(&[("grant_type", "client_credentials")], Some(&service))
        .await
        .json()
        .await
        .unwrap();
    let wrong_scope = register(&app, body["access_token"].as_str(), metadata.clone()).await;
    assert_json_error(
        wrong_scope,
        403,
        "insufficient_scope",
        "The access token needs the scope latchkey:admin or latchkey:register",
    )
    .await;
    let (_, token) = admin_token(&app).await;
    app.clock.advance(601);
    let expired = register(&app, Some(&token), metadata).await;
    assert_json_error(
        expired,
        401,
        "invalid_token",
        "The access token has expired",
    )
    .await;
}

async fn rfc7592_reads_updates_and_deletes_with_the_registration_token(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, token) = admin_token(&app).await;
    let body: Value = register(&app, Some(&token), json!({"client_name": "Before", "redirect_uris": [REDIRECT_URI], "grant_types": ["authorization_code", "client_credentials"]}))
        .await
        .json()
        .await
        .unwrap();
    let uri = body["registration_client_uri"].as_str().unwrap().to_owned();
    let reg = body["registration_access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let id = body["client_id"].as_str().unwrap().to_owned();
    let client = TestClient {
        id: id.clone(),
        secret: Some(body["client_secret"].as_str().unwrap().to_owned()),
    };

    let read: Value = app
        .http
        .get(&uri)
        .bearer_auth(&reg)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(read["client_name"], "Before");
    assert!(read.get("client_secret").is_none());
    let wrong = app
        .http
        .get(&uri)
        .bearer_auth("not-the-token")
        .send()
        .await
        .unwrap();
    assert_json_error(
        wrong,
        401,
        "invalid_token",
        "The registration access token is invalid",
    )
    .await;

    let mismatch = app
        .http
        .put(&uri)
        .bearer_auth(&reg)
        .json(&json!({"client_id": "other", "redirect_uris": [REDIRECT_URI]}))
        .send()
        .await
        .unwrap();
    assert_json_error(
        mismatch,
        400,
        "invalid_client_metadata",
        "client_id must name the client being updated (RFC 7592 §2.2)",
    )
    .await;
    let updated = app
        .http
        .put(&uri)
        .bearer_auth(&reg)
        .json(&json!({"client_id": id, "client_name": "After", "redirect_uris": [REDIRECT_URI], "grant_types": ["authorization_code", "client_credentials"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(updated.status(), 200);
    let updated: Value = updated.json().await.unwrap();
    assert_eq!(updated["client_name"], "After");
    let rotated = updated["registration_access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(rotated, reg);
    assert_eq!(
        app.http
            .get(&uri)
            .bearer_auth(&reg)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        app.http
            .get(&uri)
            .bearer_auth(&rotated)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // The secret survives an update.
    assert_eq!(
        app.token(&[("grant_type", "client_credentials")], Some(&client))
            .await
            .status(),
        200
    );

    let deleted = app
        .http
        .delete(&uri)
        .bearer_auth(&rotated)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    assert_eq!(
        app.token(&[("grant_type", "client_credentials")], Some(&client))
            .await
            .status(),
        401
    );
    assert_eq!(
        app.http
            .get(&uri)
            .bearer_auth(&rotated)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
}

async fn open_registration_accepts_only_public_loopback_clients_and_is_rate_limited(
    backend: Backend,
) {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let mut settings = test_settings(backend, dir.path());
    settings.registration.open = true;
    settings.registration.open_per_hour = std::num::NonZeroU32::new(3).unwrap();
    let app = TestApp::spawn_with(dir, settings).await;
    let public = json!({
        "client_name": "CLI tool",
        "redirect_uris": ["http://127.0.0.1:53682/callback"],
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "refresh_token"],
        "scope": "openid offline_access",
    });
    let ok = register(&app, None, public.clone()).await;
    assert_eq!(ok.status(), 201);
    let body: Value = ok.json().await.unwrap();
    assert!(body.get("client_secret").is_none());
    assert_eq!(body["token_endpoint_auth_method"], "none");
    let confidential = register(
        &app,
        None,
        json!({"redirect_uris": ["http://127.0.0.1:53682/callback"]}),
    )
    .await;
    assert_json_error(
        confidential,
        400,
        "invalid_client_metadata",
        "Open registration accepts only public clients (token_endpoint_auth_method none)",
    )
    .await;
    // That request counted too: the third anonymous registration is the last allowed.
    let remote = register(
        &app,
        None,
        json!({"redirect_uris": ["http://evil.example/cb"], "token_endpoint_auth_method": "none"}),
    )
    .await;
    assert_json_error(
        remote,
        400,
        "invalid_redirect_uri",
        "redirect URI `http://evil.example/cb` uses http on a non-loopback host; use https",
    )
    .await;
    let limited = register(&app, None, public).await;
    assert_eq!(limited.status(), 429);
    let body: Value = limited.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");
}

async fn api(
    app: &TestApp,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut request = app
        .http
        .request(method, app.url(&format!("/admin/api{path}")))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

async fn the_admin_api_manages_users(backend: Backend) {
    use reqwest::Method;
    let app = TestApp::spawn(backend).await;
    let (_, token) = admin_token(&app).await;
    let created = api(&app, &token, Method::POST, "/users", Some(json!({"username": "ivan", "email": "ivan@example.com", "name": "Ivan", "password": "ivan's long password"}))).await;
    assert_eq!(created.status(), 201);
    let ivan: Value = created.json().await.unwrap();
    assert_eq!(ivan["username"], "ivan");
    assert!(ivan.get("password_hash").is_none());
    let duplicate = api(
        &app,
        &token,
        Method::POST,
        "/users",
        Some(json!({"username": "ivan"})),
    )
    .await;
    assert_json_error(duplicate, 409, "conflict", "user `ivan` already exists").await;
    let bad_name = api(
        &app,
        &token,
        Method::POST,
        "/users",
        Some(json!({"username": "no spaces"})),
    )
    .await;
    assert_json_error(
        bad_name,
        400,
        "invalid_request",
        "a username starts with a letter or digit and uses only letters, digits and . _ @ + -",
    )
    .await;
    let bad_email = api(
        &app,
        &token,
        Method::POST,
        "/users",
        Some(json!({"username": "judy", "email": "judy@"})),
    )
    .await;
    assert_json_error(
        bad_email,
        400,
        "invalid_request",
        "`judy@` is not an email address",
    )
    .await;
    let common = api(
        &app,
        &token,
        Method::POST,
        "/users",
        Some(json!({"username": "judy", "password": "Password123"})),
    )
    .await;
    assert_json_error(
        common,
        400,
        "invalid_request",
        "this password is too easy to guess. This is a very common password. Choose a longer, \
         less predictable one.",
    )
    .await;
    let short = api(
        &app,
        &token,
        Method::POST,
        "/users",
        Some(json!({"username": "judy", "password": "short"})),
    )
    .await;
    assert_json_error(
        short,
        400,
        "invalid_request",
        "a password needs at least 10 characters",
    )
    .await;

    for name in ["kim", "lee", "max", "ned"] {
        let r = api(
            &app,
            &token,
            Method::POST,
            "/users",
            Some(json!({"username": name, "email": format!("{name}@corp.example")})),
        )
        .await;
        assert_eq!(r.status(), 201);
    }
    let page: Value = api(&app, &token, Method::GET, "/users?offset=1&limit=2", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], 5);
    let names: Vec<&str> = page["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["kim", "lee"]);
    let filtered: Value = api(
        &app,
        &token,
        Method::GET,
        "/users?filter=corp.example",
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(filtered["total"], 4);
    let bad_page = api(&app, &token, Method::GET, "/users?limit=1000", None).await;
    assert_json_error(
        bad_page,
        400,
        "invalid_request",
        "offset must be >= 0 and limit from 1 to 200",
    )
    .await;

    let patched: Value = api(
        &app,
        &token,
        Method::PATCH,
        "/users/ivan",
        Some(json!({"name": "Ivan I.", "email": null})),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(patched["name"], "Ivan I.");
    assert_eq!(patched["email"], Value::Null);
    let refused = api(
        &app,
        &token,
        Method::PATCH,
        "/users/ivan",
        Some(json!({"is_admin": true})),
    )
    .await;
    assert_json_error(
        refused,
        400,
        "invalid_request",
        "`is_admin` cannot be changed here",
    )
    .await;

    // A new password works at once; disabling stops logins and refresh tokens.
    let client = app
        .client(
            &[GrantType::Password, GrantType::RefreshToken],
            "openid offline_access",
            false,
        )
        .await;
    let r = api(
        &app,
        &token,
        Method::PUT,
        "/users/ivan/password",
        Some(json!({"password": "a brand new passphrase"})),
    )
    .await;
    assert_eq!(r.status(), 204);
    let login = [
        ("grant_type", "password"),
        ("username", "ivan"),
        ("password", "a brand new passphrase"),
        ("scope", "openid offline_access"),
    ];
    let tokens: Value = app.token(&login, Some(&client)).await.json().await.unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(
        api(&app, &token, Method::POST, "/users/ivan/disable", None)
            .await
            .status(),
        204
    );
    assert_eq!(app.token(&login, Some(&client)).await.status(), 400);
    let refreshed = app
        .token(
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
            Some(&client),
        )
        .await;
    assert_eq!(
        refreshed.status(),
        400,
        "a disabled user's refresh tokens stop working"
    );
    assert_eq!(
        api(&app, &token, Method::POST, "/users/ivan/enable", None)
            .await
            .status(),
        204
    );
    assert_eq!(app.token(&login, Some(&client)).await.status(), 200);
    let revoked: Value = api(&app, &token, Method::DELETE, "/users/ivan/sessions", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(revoked["refresh_tokens_revoked"], 1);

    assert_eq!(
        api(&app, &token, Method::DELETE, "/users/ivan", None)
            .await
            .status(),
        204
    );
    let gone = api(&app, &token, Method::GET, "/users/ivan", None).await;
    assert_json_error(gone, 404, "not_found", "user `ivan` not found").await;
}

async fn the_admin_api_refuses_missing_expired_and_non_admin_tokens(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let none = app
        .http
        .get(app.url("/admin/api/users"))
        .send()
        .await
        .unwrap();
    assert_json_error(
        none,
        401,
        "invalid_token",
        "An access token with scope latchkey:admin is required",
    )
    .await;
    // A person's token with the admin scope, but no admin role…
    let client = app
        .client(&[GrantType::Password], "openid latchkey:admin", false)
        .await;
    app.user("olga", "olga's password").await;
    let body: Value = app
        .token(
            &[
                ("grant_type", "password"),
                ("username", "olga"),
                ("password", "olga's password"),
                ("scope", "latchkey:admin"),
            ],
            Some(&client),
        )
        .await
        .json()
        .await
        .unwrap();
    let user_token = body["access_token"].as_str().unwrap().to_owned();
    let r = api(&app, &user_token, reqwest::Method::GET, "/users", None).await;
    assert_json_error(
        r,
        403,
        "insufficient_scope",
        "The user is not an administrator",
    )
    .await;
    // …until the role is granted.
    let pool = app.state.pool.clone();
    tokio::task::spawn_blocking(move || {
        latchkey::admin::users::set_admin(
            &mut pool.get().unwrap(),
            &crate::helpers::by_cli(NOW),
            "olga",
            true,
        )
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(
        api(&app, &user_token, reqwest::Method::GET, "/users", None)
            .await
            .status(),
        200
    );
    // A token without the scope at all.
    let service = app.service_client().await;
    let body: Value = app
        .token(&[("grant_type", "client_credentials")], Some(&service))
        .await
        .json()
        .await
        .unwrap();
    let r = api(
        &app,
        body["access_token"].as_str().unwrap(),
        reqwest::Method::GET,
        "/users",
        None,
    )
    .await;
    assert_json_error(
        r,
        403,
        "insufficient_scope",
        "The access token needs the scope latchkey:admin",
    )
    .await;
    // Expired.
    app.clock.advance(601);
    let r = api(&app, &user_token, reqwest::Method::GET, "/users", None).await;
    assert_json_error(r, 401, "invalid_token", "The access token has expired").await;
}
