//! `grant_type=refresh_token` (RFC 6749 §6) with rotation and reuse detection (RFC 9700 §4.14),
//! scope narrowing, idle and absolute lifetimes, session-bound tokens (OIDC Core §11), and the
//! admin actions that revoke refresh tokens.

use openidconnect::core::{CoreClient, CoreProviderMetadata};
use openidconnect::{
    ClientId, ClientSecret, IssuerUrl, Nonce, OAuth2TokenResponse, RefreshToken, TokenResponse,
};
use serde_json::Value;

use crate::backend_tests;
use crate::helpers::{
    assert_error, location, query, Backend, Browser, TestApp, TestClient, NOW, REDIRECT_URI,
};
use latchkey::admin;
use latchkey::domain::client::GrantType;
use secrecy::ExposeSecret;

backend_tests!(
    an_oidc_client_refreshes_and_gets_a_new_access_and_refresh_token,
    a_rotated_refresh_token_reused_after_the_grace_window_revokes_the_family,
    a_retry_within_the_grace_window_gets_the_same_successor,
    concurrent_refreshes_of_one_token_yield_at_most_one_successor,
    a_refresh_may_narrow_the_scope_but_never_widen_it,
    an_idle_refresh_token_expires,
    no_refresh_token_outlives_the_absolute_lifetime,
    a_refresh_token_without_offline_access_dies_with_the_browser_session,
    disabling_a_user_revokes_their_refresh_tokens,
    rotating_a_client_secret_with_revoke_tokens_revokes_its_refresh_tokens,
    a_refresh_token_presented_by_another_client_is_invalid_grant,
);

const PASSWORD: &str = "alice's password";
const FULL: &str = "openid profile email offline_access";

/// Runs the code flow with PKCE for alice in `browser` (logging in when needed); returns the token
/// response.
pub(crate) async fn code_flow(
    app: &TestApp,
    browser: &Browser,
    client: &TestClient,
    scope: &str,
) -> Value {
    let verifier = "v".repeat(50);
    let challenge = {
        use base64::Engine;
        use sha2::Digest;
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(sha2::Sha256::digest(verifier.as_bytes()))
    };
    let scope: String = url::form_urlencoded::byte_serialize(scope.as_bytes()).collect();
    let url = format!(
        "/authorize?response_type=code&client_id={}&redirect_uri={REDIRECT_URI}&scope={scope}&code_challenge={challenge}&code_challenge_method=S256",
        client.id
    );
    let to = location(&browser.get(&url).await);
    let callback = if to.starts_with("/login") {
        location(&browser.log_in(&to, "alice", PASSWORD).await)
    } else {
        to
    };
    let code = query(&callback, "code").expect("code");
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT_URI),
        ("code_verifier", verifier.as_str()),
    ];
    // A public client identifies itself with client_id alone (`none`).
    let basic = match client.secret {
        Some(_) => Some(client),
        None => {
            form.push(("client_id", client.id.as_str()));
            None
        }
    };
    let response = app.token(&form, basic).await;
    assert_eq!(response.status(), 200, "code exchange");
    response.json().await.unwrap()
}

/// A confidential client allowed password + refresh_token, with optional lifetime overrides.
async fn refresh_client(app: &TestApp, idle: Option<i64>, absolute: Option<i64>) -> TestClient {
    let new = admin::clients::NewClient {
        name: "Refreshing App".into(),
        grant_types: vec![GrantType::Password, GrantType::RefreshToken],
        redirect_uris: vec![],
        post_logout_redirect_uris: vec![],
        scope: Some(FULL.into()),
        public: false,
        first_party: true,
        refresh_token_ttl_secs: idle,
        refresh_token_absolute_ttl_secs: absolute,
        access_token_alg: None,
        id_token_signed_response_alg: None,
        claims_and_origins: Default::default(),
    };
    app.register(new).await
}

/// Tokens for alice through the password grant (no browser session: the family is offline).
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
    let body: Value = response.json().await.unwrap();
    assert!(body["refresh_token"].is_string(), "{body}");
    body
}

async fn refresh(
    app: &TestApp,
    client: &TestClient,
    token: &str,
    scope: Option<&str>,
) -> reqwest::Response {
    let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", token)];
    if let Some(scope) = scope {
        form.push(("scope", scope));
    }
    app.token(&form, Some(client)).await
}

/// A refresh that must succeed; returns the token response.
async fn refresh_ok(app: &TestApp, client: &TestClient, token: &str, scope: Option<&str>) -> Value {
    let response = refresh(app, client, token, scope).await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "refresh: {body}");
    body
}

fn refresh_token_of(body: &Value) -> String {
    body["refresh_token"]
        .as_str()
        .expect("refresh_token")
        .to_owned()
}

async fn assert_refresh_refused(app: &TestApp, client: &TestClient, token: &str, why: &str) {
    assert_error(
        refresh(app, client, token, None).await,
        400,
        "invalid_grant",
        why,
    )
    .await;
}

const INVALID: &str = "The refresh token is invalid or expired";
const USED: &str = "The refresh token has already been used";

async fn an_oidc_client_refreshes_and_gets_a_new_access_and_refresh_token(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = app.web_client(true, false).await;
    let sub = app.user("alice", PASSWORD).await;
    let first = code_flow(&app, &app.browser(), &client, FULL).await;
    let metadata = CoreProviderMetadata::discover_async(
        IssuerUrl::new(app.address.clone()).unwrap(),
        &app.http,
    )
    .await
    .unwrap();
    let rp = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(client.id.clone()),
        Some(ClientSecret::new(client.secret.clone().unwrap())),
    );
    let old = RefreshToken::new(refresh_token_of(&first));
    app.clock.advance(30);
    let response = rp
        .exchange_refresh_token(&old)
        .unwrap()
        .request_async(&app.http)
        .await
        .expect("refresh through the openidconnect client");
    let new = response.refresh_token().expect("a rotated refresh token");
    assert_ne!(new.secret(), old.secret());
    assert_ne!(
        response.access_token().secret(),
        first["access_token"].as_str().unwrap()
    );
    let (_, claims) = app
        .verify(response.access_token().secret(), &app.address)
        .await;
    assert_eq!(claims["sub"], sub.as_str());
    assert_eq!(claims["client_id"], client.id.as_str());
    assert_eq!(claims["scope"], FULL);
    assert_eq!(claims["iat"], NOW + 30);
    // The person authenticated at the start, not at the refresh.
    assert_eq!(claims["auth_time"], NOW);
    // A refreshed ID token, verified by the RP (no nonce on a refresh, OIDC Core §12.2).
    let id_token = response.id_token().expect("ID token on refresh");
    let verifier = rp
        .id_token_verifier()
        .set_time_fn(|| chrono::DateTime::from_timestamp(NOW + 30, 0).unwrap());
    let id_claims = id_token
        .claims(&verifier, |_: Option<&Nonce>| Ok(()))
        .expect("refreshed ID token verifies");
    assert_eq!(id_claims.subject().as_str(), sub);
    assert_eq!(id_claims.auth_time().unwrap().timestamp(), NOW);
    // The successor works in turn, through the same client.
    let again = rp
        .exchange_refresh_token(new)
        .unwrap()
        .request_async(&app.http)
        .await
        .expect("second refresh");
    assert_ne!(again.refresh_token().unwrap().secret(), new.secret());
}

async fn a_rotated_refresh_token_reused_after_the_grace_window_revokes_the_family(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let client = refresh_client(&app, None, None).await;
    app.user("alice", PASSWORD).await;
    let r0 = refresh_token_of(&password_tokens(&app, &client, FULL).await);
    let r1 = refresh_token_of(&refresh_ok(&app, &client, &r0, None).await);
    assert_ne!(r0, r1);
    app.clock.advance(6);
    let r2 = refresh_token_of(&refresh_ok(&app, &client, &r1, None).await);
    app.clock.advance(6);
    // The first token again, long after its rotation: a stolen copy is being replayed.
    assert_refresh_refused(&app, &client, &r0, USED).await;
    // The whole family is gone, including the newest token the legitimate client holds.
    assert_refresh_refused(&app, &client, &r2, INVALID).await;
    assert_refresh_refused(&app, &client, &r1, USED).await;
    // Another grant of the same user is not affected.
    let other = refresh_token_of(&password_tokens(&app, &client, FULL).await);
    refresh_ok(&app, &client, &other, None).await;
}

async fn a_retry_within_the_grace_window_gets_the_same_successor(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = refresh_client(&app, None, None).await;
    app.user("alice", PASSWORD).await;
    let r0 = refresh_token_of(&password_tokens(&app, &client, FULL).await);
    let first = refresh_ok(&app, &client, &r0, None).await;
    let r1 = refresh_token_of(&first);
    // The response was lost; the client retries at the edge of the 5 s window.
    app.clock.advance(5);
    let retry = refresh_ok(&app, &client, &r0, None).await;
    assert_eq!(refresh_token_of(&retry), r1);
    let access = retry["access_token"].as_str().unwrap();
    assert_ne!(access, first["access_token"].as_str().unwrap());
    let (_, claims) = app.verify(access, &app.address).await;
    assert_eq!(claims["iat"], NOW + 5);
    assert_eq!(retry["scope"], FULL);
    // The successor is still good, and the family still alive.
    let r2 = refresh_token_of(&refresh_ok(&app, &client, &r1, None).await);
    refresh_ok(&app, &client, &r2, None).await;
}

async fn concurrent_refreshes_of_one_token_yield_at_most_one_successor(backend: Backend) {
    const PARALLEL: usize = 4;
    let app = TestApp::spawn(backend).await;
    let client = refresh_client(&app, None, None).await;
    app.user("alice", PASSWORD).await;
    for iteration in 0..20 {
        let r0 = refresh_token_of(&password_tokens(&app, &client, FULL).await);
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(PARALLEL));
        let tasks: Vec<_> = (0..PARALLEL)
            .map(|_| {
                let request = app
                    .http
                    .post(app.url("/token"))
                    .basic_auth(&client.id, client.secret.as_deref())
                    .form(&[("grant_type", "refresh_token"), ("refresh_token", &r0)]);
                let barrier = barrier.clone();
                tokio::spawn(async move {
                    barrier.wait().await;
                    let response = request.send().await.expect("POST /token");
                    let status = response.status().as_u16();
                    (status, response.json::<Value>().await.expect("JSON"))
                })
            })
            .collect();
        let mut successors = std::collections::BTreeSet::new();
        let mut outcomes = Vec::new();
        for task in tasks {
            let (status, body) = task.await.unwrap();
            if status == 200 {
                successors.insert(refresh_token_of(&body));
            }
            outcomes.push((status, body));
        }
        assert!(
            successors.len() <= 1,
            "iteration {iteration}: {} distinct successors: {outcomes:?}",
            successors.len()
        );
        // A concurrent duplicate is a retry within the grace window: it gets the same answer.
        for (status, body) in &outcomes {
            assert_eq!(*status, 200, "iteration {iteration}: {body} ({outcomes:?})");
        }
        let successor = successors.into_iter().next().expect("one successor");
        refresh_ok(&app, &client, &successor, None).await;
    }
}

async fn a_refresh_may_narrow_the_scope_but_never_widen_it(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = refresh_client(&app, None, None).await;
    app.user("alice", PASSWORD).await;
    let r0 = refresh_token_of(&password_tokens(&app, &client, FULL).await);
    let narrow = refresh_ok(&app, &client, &r0, Some("openid")).await;
    assert_eq!(narrow["scope"], "openid");
    let (_, claims) = app
        .verify(narrow["access_token"].as_str().unwrap(), &app.address)
        .await;
    assert_eq!(claims["scope"], "openid");
    // The refresh token keeps the scope originally granted.
    let full = refresh_ok(&app, &client, &refresh_token_of(&narrow), None).await;
    assert_eq!(full["scope"], FULL);
    let (_, claims) = app
        .verify(full["access_token"].as_str().unwrap(), &app.address)
        .await;
    assert_eq!(claims["scope"], FULL);

    // A grant of `openid` only cannot be refreshed into more, even within the client's scope.
    let small = refresh_token_of(&password_tokens(&app, &client, "openid offline_access").await);
    for wider in ["openid offline_access profile", "email", "openid admin"] {
        assert_error(
            refresh(&app, &client, &small, Some(wider)).await,
            400,
            "invalid_scope",
            "The requested scope exceeds the scope originally granted",
        )
        .await;
    }
    // The refused request did not use the token up.
    let kept = refresh_ok(&app, &client, &small, None).await;
    assert_eq!(kept["scope"], "openid offline_access");
}

async fn an_idle_refresh_token_expires(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = refresh_client(&app, Some(60), None).await;
    app.user("alice", PASSWORD).await;
    let r0 = refresh_token_of(&password_tokens(&app, &client, FULL).await);
    // Each use starts a new idle period.
    app.clock.advance(59);
    let r1 = refresh_token_of(&refresh_ok(&app, &client, &r0, None).await);
    app.clock.advance(59);
    let r2 = refresh_token_of(&refresh_ok(&app, &client, &r1, None).await);
    app.clock.advance(60);
    assert_refresh_refused(&app, &client, &r2, INVALID).await;
    // Another client without an override keeps the default (30 days) idle lifetime.
    let lasting = refresh_client(&app, None, None).await;
    let t = refresh_token_of(&password_tokens(&app, &lasting, FULL).await);
    app.clock.advance(3600);
    refresh_ok(&app, &lasting, &t, None).await;
}

async fn no_refresh_token_outlives_the_absolute_lifetime(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = refresh_client(&app, Some(100), Some(250)).await;
    app.user("alice", PASSWORD).await;
    let mut token = refresh_token_of(&password_tokens(&app, &client, FULL).await);
    // Used well within the idle lifetime every time: NOW+90, +180, +249.
    for step in [90, 90, 69] {
        app.clock.advance(step);
        token = refresh_token_of(&refresh_ok(&app, &client, &token, None).await);
    }
    // NOW+250: the grant is 250 s old; its last token had 100 s of idle time left on paper.
    app.clock.advance(1);
    assert_refresh_refused(&app, &client, &token, INVALID).await;
}

async fn a_refresh_token_without_offline_access_dies_with_the_browser_session(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = app.web_client(true, false).await;
    app.user("alice", PASSWORD).await;
    let browser = app.browser();
    let online = code_flow(&app, &browser, &client, "openid profile").await;
    let offline = code_flow(&app, &browser, &client, "openid offline_access").await;
    // While the session lives, both refresh.
    let online_rt =
        refresh_token_of(&refresh_ok(&app, &client, &refresh_token_of(&online), None).await);
    let offline_rt =
        refresh_token_of(&refresh_ok(&app, &client, &refresh_token_of(&offline), None).await);
    let hint = online["id_token"].as_str().unwrap();
    let out = browser
        .get(&format!(
            "/logout?id_token_hint={hint}&post_logout_redirect_uri=http://127.0.0.1:9999/bye"
        ))
        .await;
    assert_eq!(location(&out), "http://127.0.0.1:9999/bye");
    assert_refresh_refused(
        &app,
        &client,
        &online_rt,
        "The session this refresh token belongs to has ended",
    )
    .await;
    let survived = refresh_ok(&app, &client, &offline_rt, None).await;
    assert_eq!(survived["scope"], "openid offline_access");
}

async fn disabling_a_user_revokes_their_refresh_tokens(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = refresh_client(&app, None, None).await;
    app.user("alice", PASSWORD).await;
    let first = refresh_token_of(&password_tokens(&app, &client, FULL).await);
    let second = refresh_token_of(&password_tokens(&app, &client, "openid").await);
    let bob_sub = app.user("bob", "bob's password!").await;
    let bob: Value = app
        .token(
            &[
                ("grant_type", "password"),
                ("username", "bob"),
                ("password", "bob's password!"),
            ],
            Some(&client),
        )
        .await
        .json()
        .await
        .unwrap();
    let set_disabled = |disabled: bool| {
        let pool = app.state.pool.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                admin::users::set_disabled(
                    &mut pool.get().unwrap(),
                    &crate::helpers::by_cli(NOW),
                    "alice",
                    disabled,
                )
            })
            .await
            .unwrap()
            .expect("set_disabled")
        }
    };
    set_disabled(true).await;
    assert_refresh_refused(&app, &client, &first, INVALID).await;
    // Enabling the account again does not bring the tokens back.
    set_disabled(false).await;
    assert_refresh_refused(&app, &client, &second, INVALID).await;
    assert_refresh_refused(&app, &client, &first, INVALID).await;
    // Other users keep theirs.
    let bob_next = refresh_ok(&app, &client, &refresh_token_of(&bob), None).await;
    let (_, claims) = app
        .verify(bob_next["access_token"].as_str().unwrap(), &app.address)
        .await;
    assert_eq!(claims["sub"], bob_sub.as_str());
}

async fn rotating_a_client_secret_with_revoke_tokens_revokes_its_refresh_tokens(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = refresh_client(&app, None, None).await;
    let bystander = refresh_client(&app, None, None).await;
    app.user("alice", PASSWORD).await;
    let kept = refresh_token_of(&password_tokens(&app, &client, FULL).await);
    let rotate = |revoke_tokens: bool| {
        let pool = app.state.pool.clone();
        let id = client.id.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                admin::clients::rotate_secret(
                    &mut pool.get().unwrap(),
                    &crate::helpers::by_cli(NOW),
                    &latchkey::random::OsRandom,
                    &id,
                    revoke_tokens,
                )
            })
            .await
            .unwrap()
            .expect("rotate secret")
            .expose_secret()
            .to_owned()
        }
    };
    // Without revoke_tokens the old secret dies but the tokens live on with the new one.
    let secret = rotate(false).await;
    assert_error(
        refresh(&app, &client, &kept, None).await,
        401,
        "invalid_client",
        "Client authentication failed",
    )
    .await;
    let client = TestClient {
        id: client.id.clone(),
        secret: Some(secret),
    };
    let kept = refresh_token_of(&refresh_ok(&app, &client, &kept, None).await);
    let other = refresh_token_of(&password_tokens(&app, &bystander, FULL).await);

    let client = TestClient {
        id: client.id.clone(),
        secret: Some(rotate(true).await),
    };
    assert_refresh_refused(&app, &client, &kept, INVALID).await;
    // Tokens of other clients are untouched.
    refresh_ok(&app, &bystander, &other, None).await;
}

async fn a_refresh_token_presented_by_another_client_is_invalid_grant(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner = refresh_client(&app, None, None).await;
    let thief = refresh_client(&app, None, None).await;
    app.user("alice", PASSWORD).await;
    let token = refresh_token_of(&password_tokens(&app, &owner, FULL).await);
    assert_refresh_refused(&app, &thief, &token, INVALID).await;
    // With a narrower scope, too: the ownership check comes first.
    assert_error(
        refresh(&app, &thief, &token, Some("openid")).await,
        400,
        "invalid_grant",
        INVALID,
    )
    .await;
    // The owner's token was neither used up nor revoked by the attempt.
    refresh_ok(&app, &owner, &token, None).await;
}
