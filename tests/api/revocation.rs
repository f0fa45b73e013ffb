//! `POST /revoke` (RFC 7009) and `POST /introspect` (RFC 7662).

use serde_json::{json, Value};

use crate::backend_tests;
use crate::helpers::{assert_error, Backend, TestApp, TestClient, NOW};
use latchkey::admin;
use latchkey::domain::client::GrantType;

backend_tests!(
    revoking_a_refresh_token_revokes_its_family,
    a_revoked_access_token_is_refused_at_userinfo_and_inactive_at_introspection,
    unknown_or_garbage_tokens_are_accepted_silently_and_a_wrong_hint_still_revokes,
    a_client_cannot_revoke_another_clients_token,
    revocation_and_introspection_authenticate_the_client,
    a_public_client_may_revoke_but_not_introspect,
    introspection_returns_the_rfc7662_fields_of_active_tokens,
    expired_tokens_introspect_as_inactive,
    another_clients_token_is_inactive_unless_the_caller_may_introspect_all,
    a_session_bound_refresh_token_is_inactive_once_the_session_ends,
    tokens_of_a_disabled_or_removed_user_are_inactive,
);

const PASSWORD: &str = "alice's password";
const FULL: &str = "openid profile email offline_access";

async fn register(app: &TestApp, grants: &[GrantType], scope: &str, public: bool) -> TestClient {
    let new = admin::clients::NewClient {
        name: "Revoking App".into(),
        grant_types: grants.to_vec(),
        redirect_uris: if grants.contains(&GrantType::AuthorizationCode) {
            vec![crate::helpers::REDIRECT_URI.into()]
        } else {
            vec![]
        },
        post_logout_redirect_uris: vec![],
        scope: Some(scope.into()),
        public,
        first_party: true,
        refresh_token_ttl_secs: None,
        refresh_token_absolute_ttl_secs: None,
        access_token_alg: None,
        id_token_signed_response_alg: None,
        claims_and_origins: Default::default(),
    };
    app.register(new).await
}

/// A confidential client allowed password + refresh_token.
async fn refresh_client(app: &TestApp) -> TestClient {
    register(
        app,
        &[GrantType::Password, GrantType::RefreshToken],
        FULL,
        false,
    )
    .await
}

async fn password_tokens(app: &TestApp, client: &TestClient, scope: &str) -> Value {
    let response = app
        .token(
            &[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", PASSWORD),
                ("scope", scope),
            ],
            Some(client),
        )
        .await;
    assert_eq!(response.status(), 200, "password grant");
    response.json().await.unwrap()
}

fn text(body: &Value, name: &str) -> String {
    body[name].as_str().expect(name).to_owned()
}

/// POSTs `form` to `path`, authenticating with Basic (confidential) or `client_id` (public).
async fn post(
    app: &TestApp,
    path: &str,
    client: &TestClient,
    form: &[(&str, &str)],
) -> reqwest::Response {
    let mut form = form.to_vec();
    let mut request = app.http.post(app.url(path));
    match &client.secret {
        Some(secret) => request = request.basic_auth(&client.id, Some(secret)),
        None => form.push(("client_id", &client.id)),
    }
    request.form(&form).send().await.expect("POST")
}

async fn revoke(
    app: &TestApp,
    client: &TestClient,
    token: &str,
    hint: Option<&str>,
) -> reqwest::Response {
    let mut form = vec![("token", token)];
    if let Some(hint) = hint {
        form.push(("token_type_hint", hint));
    }
    post(app, "/revoke", client, &form).await
}

/// RFC 7009 §2.2: 200 with an empty body, not cacheable.
async fn assert_revoked(response: reqwest::Response) {
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert!(response.bytes().await.unwrap().is_empty());
}

async fn introspect(app: &TestApp, client: &TestClient, token: &str) -> Value {
    let response = post(app, "/introspect", client, &[("token", token)]).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["pragma"], "no-cache");
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    response.json().await.unwrap()
}

fn inactive() -> Value {
    json!({ "active": false })
}

async fn refresh(app: &TestApp, client: &TestClient, token: &str) -> reqwest::Response {
    app.token(
        &[("grant_type", "refresh_token"), ("refresh_token", token)],
        Some(client),
    )
    .await
}

async fn userinfo(app: &TestApp, token: &str) -> reqwest::Response {
    app.http
        .get(app.url("/userinfo"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

async fn revoking_a_refresh_token_revokes_its_family(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = refresh_client(&app).await;
    app.user("alice", PASSWORD).await;
    let r0 = text(&password_tokens(&app, &client, FULL).await, "refresh_token");
    let next: Value = refresh(&app, &client, &r0).await.json().await.unwrap();
    let r1 = text(&next, "refresh_token");
    assert_eq!(introspect(&app, &client, &r1).await["active"], true);
    // Revoking the newest token kills the grant, ancestors included.
    assert_revoked(revoke(&app, &client, &r1, Some("refresh_token")).await).await;
    assert_error(
        refresh(&app, &client, &r1).await,
        400,
        "invalid_grant",
        "The refresh token is invalid or expired",
    )
    .await;
    assert_eq!(introspect(&app, &client, &r1).await, inactive());
    assert_eq!(introspect(&app, &client, &r0).await, inactive());

    // Revoking an ancestor (already rotated) kills its live descendant too.
    let s0 = text(&password_tokens(&app, &client, FULL).await, "refresh_token");
    let s1 = text(
        &refresh(&app, &client, &s0)
            .await
            .json::<Value>()
            .await
            .unwrap(),
        "refresh_token",
    );
    assert_revoked(revoke(&app, &client, &s0, None).await).await;
    assert_error(
        refresh(&app, &client, &s1).await,
        400,
        "invalid_grant",
        "The refresh token is invalid or expired",
    )
    .await;
    assert_eq!(introspect(&app, &client, &s1).await, inactive());
    // Revoking twice is still a success (RFC 7009 §2.2).
    assert_revoked(revoke(&app, &client, &s1, None).await).await;
}

async fn a_revoked_access_token_is_refused_at_userinfo_and_inactive_at_introspection(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let client = refresh_client(&app).await;
    app.user("alice", PASSWORD).await;
    let issued = password_tokens(&app, &client, "openid profile").await;
    let access = text(&issued, "access_token");
    assert_eq!(userinfo(&app, &access).await.status(), 200);
    assert_eq!(introspect(&app, &client, &access).await["active"], true);
    assert_revoked(revoke(&app, &client, &access, Some("access_token")).await).await;
    let refused = userinfo(&app, &access).await;
    assert_eq!(refused.status(), 401);
    assert_eq!(
        refused.headers()["www-authenticate"].to_str().unwrap(),
        r#"Bearer realm="latchkey", error="invalid_token", error_description="The access token has been revoked""#
    );
    assert_eq!(introspect(&app, &client, &access).await, inactive());
    // RFC 7009 leaves the refresh token alone when an access token is revoked.
    assert_eq!(
        refresh(&app, &client, &text(&issued, "refresh_token"))
            .await
            .status(),
        200
    );
}

async fn unknown_or_garbage_tokens_are_accepted_silently_and_a_wrong_hint_still_revokes(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let client = refresh_client(&app).await;
    app.user("alice", PASSWORD).await;
    let unknown_refresh = "A".repeat(43);
    let forged_jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
    let long = "x".repeat(2000);
    for token in [
        "garbage",
        unknown_refresh.as_str(),
        forged_jwt,
        "a.b.c",
        "%%%",
        long.as_str(),
    ] {
        for hint in [
            None,
            Some("access_token"),
            Some("refresh_token"),
            Some("bogus"),
        ] {
            assert_revoked(revoke(&app, &client, token, hint).await).await;
        }
        assert_eq!(introspect(&app, &client, token).await, inactive());
    }
    // The hint says "access token" but it is a refresh token: revoked all the same.
    let issued = password_tokens(&app, &client, FULL).await;
    let refresh_token = text(&issued, "refresh_token");
    assert_revoked(revoke(&app, &client, &refresh_token, Some("access_token")).await).await;
    assert_eq!(introspect(&app, &client, &refresh_token).await, inactive());
    assert_eq!(refresh(&app, &client, &refresh_token).await.status(), 400);
    // And the other way round.
    let access = text(&issued, "access_token");
    assert_revoked(revoke(&app, &client, &access, Some("refresh_token")).await).await;
    assert_eq!(introspect(&app, &client, &access).await, inactive());
    assert_eq!(userinfo(&app, &access).await.status(), 401);
}

async fn a_client_cannot_revoke_another_clients_token(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner = refresh_client(&app).await;
    let other = refresh_client(&app).await;
    app.user("alice", PASSWORD).await;
    let issued = password_tokens(&app, &owner, FULL).await;
    let (access, refresh_token) = (
        text(&issued, "access_token"),
        text(&issued, "refresh_token"),
    );
    // Answered like an unknown token, so the caller learns nothing, and nothing is revoked.
    assert_revoked(revoke(&app, &other, &access, None).await).await;
    assert_revoked(revoke(&app, &other, &refresh_token, None).await).await;
    assert_eq!(introspect(&app, &owner, &access).await["active"], true);
    assert_eq!(
        introspect(&app, &owner, &refresh_token).await["active"],
        true
    );
    assert_eq!(userinfo(&app, &access).await.status(), 200);
    assert_eq!(refresh(&app, &owner, &refresh_token).await.status(), 200);
}

async fn revocation_and_introspection_authenticate_the_client(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = refresh_client(&app).await;
    app.user("alice", PASSWORD).await;
    let issued = password_tokens(&app, &client, FULL).await;
    let refresh_token = text(&issued, "refresh_token");
    let impostor = TestClient {
        id: client.id.clone(),
        secret: Some("not-the-secret".into()),
    };
    let unknown = TestClient {
        id: "no-such-client".into(),
        secret: Some("whatever".into()),
    };
    for path in ["/revoke", "/introspect"] {
        for who in [&impostor, &unknown] {
            let response = post(&app, path, who, &[("token", &refresh_token)]).await;
            assert_eq!(
                response.headers()["www-authenticate"].to_str().unwrap(),
                r#"Basic realm="latchkey""#,
                "{path}"
            );
            assert_error(
                response,
                401,
                "invalid_client",
                "Client authentication failed",
            )
            .await;
        }
        // No credentials at all.
        let response = app
            .http
            .post(app.url(path))
            .form(&[("token", refresh_token.as_str())])
            .send()
            .await
            .unwrap();
        assert_error(
            response,
            401,
            "invalid_client",
            "Client authentication failed",
        )
        .await;
        // Authenticated, but no token.
        assert_error(
            post(&app, path, &client, &[("token_type_hint", "refresh_token")]).await,
            400,
            "invalid_request",
            "Missing required parameter `token`",
        )
        .await;
    }
    // The failed attempts revoked nothing.
    assert_eq!(
        introspect(&app, &client, &refresh_token).await["active"],
        true
    );
}

async fn a_public_client_may_revoke_but_not_introspect(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let public = register(
        &app,
        &[GrantType::AuthorizationCode, GrantType::RefreshToken],
        FULL,
        true,
    )
    .await;
    let confidential = refresh_client(&app).await;
    app.user("alice", PASSWORD).await;
    let issued = password_tokens(&app, &confidential, FULL).await;
    assert_error(
        post(
            &app,
            "/introspect",
            &public,
            &[("token", &text(&issued, "access_token"))],
        )
        .await,
        400,
        "unauthorized_client",
        "Public clients cannot introspect tokens",
    )
    .await;
    // RFC 7009 §5: a public client identifies itself with client_id; a token of another client
    // is not touched…
    assert_revoked(revoke(&app, &public, &text(&issued, "refresh_token"), None).await).await;
    assert_eq!(
        introspect(&app, &confidential, &text(&issued, "refresh_token")).await["active"],
        true
    );
    // …and its own is revoked.
    let own = crate::refresh::code_flow(&app, &app.browser(), &public, FULL).await;
    let own_refresh = text(&own, "refresh_token");
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", own_refresh.as_str()),
        ("client_id", public.id.as_str()),
    ];
    assert_revoked(revoke(&app, &public, &own_refresh, None).await).await;
    assert_error(
        app.token(&form, None).await,
        400,
        "invalid_grant",
        "The refresh token is invalid or expired",
    )
    .await;
}

async fn introspection_returns_the_rfc7662_fields_of_active_tokens(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = refresh_client(&app).await;
    let sub = app.user("alice", PASSWORD).await;
    let issued = password_tokens(&app, &client, "openid profile offline_access").await;
    let access = text(&issued, "access_token");
    let (_, claims) = app.verify(&access, &app.address).await;
    assert_eq!(
        introspect(&app, &client, &access).await,
        json!({
            "active": true,
            "token_type": "Bearer",
            "scope": "openid profile offline_access",
            "client_id": client.id,
            "sub": sub,
            "username": "alice",
            "exp": NOW + 600,
            "iat": NOW,
            "iss": app.address,
            "aud": app.address,
            "jti": claims["jti"],
        })
    );
    assert_eq!(
        introspect(&app, &client, &text(&issued, "refresh_token")).await,
        json!({
            "active": true,

            "scope": "openid profile offline_access",
            "client_id": client.id,
            "sub": sub,
            "username": "alice",
            "exp": NOW + 2_592_000,
            "iat": NOW,
            "iss": app.address,
        })
    );
    // A client-credentials token: the client is the subject, there is no username.
    let service = app.service_client().await;
    let cc: Value = app
        .token(&[("grant_type", "client_credentials")], Some(&service))
        .await
        .json()
        .await
        .unwrap();
    let got = introspect(&app, &service, &text(&cc, "access_token")).await;
    assert_eq!(got["active"], true);
    assert_eq!(got["sub"], service.id.as_str());
    assert_eq!(got["client_id"], service.id.as_str());
    assert_eq!(got["scope"], "api:read api:write");
    assert!(got.get("username").is_none(), "{got}");
}

async fn expired_tokens_introspect_as_inactive(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = refresh_client(&app).await;
    app.user("alice", PASSWORD).await;
    let issued = password_tokens(&app, &client, FULL).await;
    let access = text(&issued, "access_token");
    let refresh_token = text(&issued, "refresh_token");
    app.clock.advance(599);
    assert_eq!(introspect(&app, &client, &access).await["active"], true);
    app.clock.advance(1);
    assert_eq!(introspect(&app, &client, &access).await, inactive());
    assert_eq!(
        introspect(&app, &client, &refresh_token).await["active"],
        true
    );
    // The default idle lifetime of a refresh token is 30 days.
    app.clock.advance(2_592_000 - 600);
    assert_eq!(introspect(&app, &client, &refresh_token).await, inactive());
}

async fn another_clients_token_is_inactive_unless_the_caller_may_introspect_all(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner = refresh_client(&app).await;
    let other = refresh_client(&app).await;
    let resource_server = register(
        &app,
        &[GrantType::ClientCredentials],
        "latchkey:introspect",
        false,
    )
    .await;
    let sub = app.user("alice", PASSWORD).await;
    let issued = password_tokens(&app, &owner, FULL).await;
    let access = text(&issued, "access_token");
    let refresh_token = text(&issued, "refresh_token");
    assert_eq!(introspect(&app, &other, &access).await, inactive());
    assert_eq!(introspect(&app, &other, &refresh_token).await, inactive());
    for token in [&access, &refresh_token] {
        let got = introspect(&app, &resource_server, token).await;
        assert_eq!(got["active"], true, "{got}");
        assert_eq!(got["client_id"], owner.id.as_str());
        assert_eq!(got["sub"], sub.as_str());
    }
    // The privilege lies in the registered scope, not in a token that merely asks for it.
    let asking = register(&app, &[GrantType::ClientCredentials], "api:read", false).await;
    let response = app
        .token(
            &[
                ("grant_type", "client_credentials"),
                ("scope", "latchkey:introspect"),
            ],
            Some(&asking),
        )
        .await;
    assert_eq!(response.status(), 400);
    assert_eq!(introspect(&app, &asking, &access).await, inactive());
}

async fn a_session_bound_refresh_token_is_inactive_once_the_session_ends(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = app.web_client(true, false).await;
    app.user("alice", PASSWORD).await;
    let browser = app.browser();
    let online = crate::refresh::code_flow(&app, &browser, &client, "openid").await;
    let offline = crate::refresh::code_flow(&app, &browser, &client, "openid offline_access").await;
    let (online_rt, offline_rt) = (
        text(&online, "refresh_token"),
        text(&offline, "refresh_token"),
    );
    assert_eq!(introspect(&app, &client, &online_rt).await["active"], true);
    let hint = text(&online, "id_token");
    let out = browser.get(&format!("/logout?id_token_hint={hint}")).await;
    assert_eq!(out.status(), 200);
    // The refresh grant refuses it now; introspection must not call it active.
    assert_eq!(refresh(&app, &client, &online_rt).await.status(), 400);
    assert_eq!(introspect(&app, &client, &online_rt).await, inactive());
    assert_eq!(introspect(&app, &client, &offline_rt).await["active"], true);
}

async fn tokens_of_a_disabled_or_removed_user_are_inactive(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = refresh_client(&app).await;
    app.user("alice", PASSWORD).await;
    let issued = password_tokens(&app, &client, FULL).await;
    let (access, refresh_token) = (
        text(&issued, "access_token"),
        text(&issued, "refresh_token"),
    );
    let pool = app.state.pool.clone();
    tokio::task::spawn_blocking(move || {
        admin::users::set_disabled(
            &mut pool.get().unwrap(),
            &crate::helpers::by_cli(NOW),
            "alice",
            true,
        )
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(introspect(&app, &client, &access).await, inactive());
    assert_eq!(introspect(&app, &client, &refresh_token).await, inactive());
    let pool = app.state.pool.clone();
    tokio::task::spawn_blocking(move || {
        admin::users::set_disabled(
            &mut pool.get().unwrap(),
            &crate::helpers::by_cli(NOW),
            "alice",
            false,
        )
    })
    .await
    .unwrap()
    .unwrap();
    let issued = password_tokens(&app, &client, FULL).await;
    let (access, refresh_token) = (
        text(&issued, "access_token"),
        text(&issued, "refresh_token"),
    );
    assert_eq!(introspect(&app, &client, &access).await["active"], true);
    let pool = app.state.pool.clone();
    tokio::task::spawn_blocking(move || {
        admin::users::remove(
            &mut pool.get().unwrap(),
            &crate::helpers::by_cli(0),
            "alice",
        )
    })
    .await
    .unwrap()
    .unwrap();
    // A user's token dies with the account, like the refresh token that cascaded away.
    assert_eq!(introspect(&app, &client, &refresh_token).await, inactive());
    assert_eq!(introspect(&app, &client, &access).await, inactive());
}

backend_tests!(
    revoking_a_grant_also_denies_the_access_tokens_issued_within_it,
    reusing_a_rotated_refresh_token_denies_the_grants_access_tokens
);

/// A client allowed password + refresh_token, and alice's first tokens.
async fn first_grant(app: &TestApp) -> (TestClient, Value) {
    let client = app
        .client(
            &[GrantType::Password, GrantType::RefreshToken],
            "openid offline_access",
            false,
        )
        .await;
    app.user("alice", "alice's password").await;
    let login = [
        ("grant_type", "password"),
        ("username", "alice"),
        ("password", "alice's password"),
        ("scope", "openid offline_access"),
    ];
    let tokens: Value = app.token(&login, Some(&client)).await.json().await.unwrap();
    (client, tokens)
}

async fn use_refresh(app: &TestApp, client: &TestClient, token: &str) -> reqwest::Response {
    app.token(
        &[("grant_type", "refresh_token"), ("refresh_token", token)],
        Some(client),
    )
    .await
}

async fn revoking_a_grant_also_denies_the_access_tokens_issued_within_it(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (client, first) = first_grant(&app).await;
    let second: Value = use_refresh(&app, &client, first["refresh_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    for tokens in [&first, &second] {
        let active = introspect(&app, &client, tokens["access_token"].as_str().unwrap()).await;
        assert_eq!(active["active"], true);
    }
    assert_revoked(
        revoke(
            &app,
            &client,
            second["refresh_token"].as_str().unwrap(),
            None,
        )
        .await,
    )
    .await;
    for tokens in [&first, &second] {
        let access = tokens["access_token"].as_str().unwrap();
        assert_eq!(
            introspect(&app, &client, access).await,
            json!({ "active": false })
        );
    }
}

async fn reusing_a_rotated_refresh_token_denies_the_grants_access_tokens(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (client, first) = first_grant(&app).await;
    let second: Value = use_refresh(&app, &client, first["refresh_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    app.clock.advance(10);
    let reuse = use_refresh(&app, &client, first["refresh_token"].as_str().unwrap()).await;
    assert_error(
        reuse,
        400,
        "invalid_grant",
        "The refresh token has already been used",
    )
    .await;
    let r = app
        .http
        .get(app.url("/userinfo"))
        .bearer_auth(second["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        401,
        "the stolen grant's newest access token is dead too"
    );
}
