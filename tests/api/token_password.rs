//! `grant_type=password` (RFC 6749 §4.3): only for allowed clients, one answer for every failure.

use latchkey::domain::client::GrantType;
use openidconnect::core::{CoreClient, CoreProviderMetadata};
use openidconnect::{
    ClientId, ClientSecret, IssuerUrl, Nonce, OAuth2TokenResponse, ResourceOwnerPassword,
    ResourceOwnerUsername, Scope,
};
use serde_json::Value;

use crate::backend_tests;
use crate::helpers::{assert_error, Backend, TestApp};

backend_tests!(
    an_oidc_client_logs_a_user_in_and_verifies_the_id_token,
    unknown_user_wrong_password_and_disabled_user_get_the_same_answer,
    a_client_not_allowed_the_password_grant_is_refused,
    sql_looking_usernames_are_just_wrong_credentials,
    the_subject_is_an_opaque_id_not_the_username,
    an_outdated_password_hash_is_upgraded_at_login,
);

async fn password_form<'a>(
    username: &'a str,
    password: &'a str,
    scope: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("grant_type", "password"),
        ("username", username),
        ("password", password),
        ("scope", scope),
    ]
}

async fn an_oidc_client_logs_a_user_in_and_verifies_the_id_token(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = app.password_client().await;
    let sub = app.user("alice", "correct horse battery").await;
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
    let username = ResourceOwnerUsername::new("alice".into());
    let password = ResourceOwnerPassword::new("correct horse battery".into());
    let response = rp
        .exchange_password(&username, &password)
        .unwrap()
        .add_scope(Scope::new("openid".into()))
        .request_async(&app.http)
        .await
        .expect("token response");
    let id_token = response.extra_fields().id_token().expect("an ID token");
    // openidconnect checks signature (by kid from the JWKS), iss, aud, exp and at the test's
    // clock; there is no nonce in the password grant.
    let verifier = rp
        .id_token_verifier()
        .set_time_fn(|| chrono_like(crate::helpers::NOW));
    let claims = id_token
        .claims(&verifier, |_: Option<&Nonce>| Ok(()))
        .expect("ID token verifies");
    assert_eq!(claims.subject().as_str(), sub);
    assert_eq!(claims.auth_time().unwrap().timestamp(), crate::helpers::NOW);
    let (_, access) = app
        .verify(response.access_token().secret(), &app.address)
        .await;
    assert_eq!(access["sub"], sub.as_str());
    assert_eq!(access["client_id"], client.id.as_str());
    // at_hash binds the ID token to this access token; computed by openidconnect, not Latchkey.
    let key = &rp_jwks(&app).await;
    let expected = openidconnect::AccessTokenHash::from_token(
        response.access_token(),
        &openidconnect::core::CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        key,
    )
    .unwrap();
    assert_eq!(claims.access_token_hash(), Some(&expected));
}

async fn rp_jwks(app: &TestApp) -> openidconnect::core::CoreJsonWebKey {
    let set: openidconnect::core::CoreJsonWebKeySet = app.get("/jwks").await.json().await.unwrap();
    set.keys()[0].clone()
}

fn chrono_like(secs: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(secs, 0).unwrap()
}

async fn unknown_user_wrong_password_and_disabled_user_get_the_same_answer(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = app.password_client().await;
    app.user("bob", "bob's password").await;
    app.user("carol", "carol's password").await;
    let pool = app.state.pool.clone();
    tokio::task::spawn_blocking(move || {
        latchkey::admin::users::set_disabled(
            &mut pool.get().unwrap(),
            &crate::helpers::by_cli(0),
            "carol",
            true,
        )
    })
    .await
    .unwrap()
    .unwrap();
    for (username, password) in [
        ("nobody", "whatever-password"),
        ("bob", "wrong password"),
        ("carol", "carol's password"),
    ] {
        let form = password_form(username, password, "openid").await;
        let response = app.token(&form, Some(&client)).await;
        assert_error(
            response,
            400,
            "invalid_grant",
            "Invalid username or password",
        )
        .await;
    }
    let form = password_form("bob", "bob's password", "openid").await;
    assert_eq!(app.token(&form, Some(&client)).await.status(), 200);
}

async fn a_client_not_allowed_the_password_grant_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = app.service_client().await;
    app.user("dave", "dave's password").await;
    let form = password_form("dave", "dave's password", "api:read").await;
    let response = app.token(&form, Some(&client)).await;
    assert_error(
        response,
        400,
        "unauthorized_client",
        "The client is not allowed the password grant",
    )
    .await;
}

async fn sql_looking_usernames_are_just_wrong_credentials(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = app.password_client().await;
    app.user("erin", "erin's password").await;
    for username in [
        "' OR '1'='1",
        "erin'--",
        "erin\"; DROP TABLE users; --",
        "%",
        "erin\u{1}",
        "érin",
    ] {
        let form = password_form(username, "' OR '1'='1", "openid").await;
        let response = app.token(&form, Some(&client)).await;
        assert_error(
            response,
            400,
            "invalid_grant",
            "Invalid username or password",
        )
        .await;
    }
    // The table is intact and the server still serves.
    let form = password_form("erin", "erin's password", "openid").await;
    assert_eq!(app.token(&form, Some(&client)).await.status(), 200);
}

async fn the_subject_is_an_opaque_id_not_the_username(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = app
        .client(&[GrantType::Password], "openid profile", false)
        .await;
    let sub = app.user("frank", "frank's password").await;
    let form = password_form("frank", "frank's password", "profile").await;
    let body: Value = app.token(&form, Some(&client)).await.json().await.unwrap();
    // No openid scope: no ID token.
    assert!(body.get("id_token").is_none());
    let (_, claims) = app
        .verify(body["access_token"].as_str().unwrap(), &app.address)
        .await;
    assert_eq!(claims["sub"], sub.as_str());
    assert_ne!(claims["sub"], "frank");
    assert_eq!(claims["auth_time"], crate::helpers::NOW);
    assert_eq!(claims["scope"], "profile");
}

async fn an_outdated_password_hash_is_upgraded_at_login(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = app.password_client().await;
    // Hash with other parameters than the server's, as after a configuration change.
    let old = latchkey::crypto::password::Passwords::new(&latchkey::config::PasswordSettings {
        memory_kib: 2048,
        iterations: 1,
        parallelism: 1,
        max_concurrent: 1,
        max_queued: 4,
        min_strength: 3,
        min_length: 10,
    })
    .unwrap();
    let pool = app.state.pool.clone();
    tokio::task::spawn_blocking(move || {
        let prepared = latchkey::admin::users::prepare(
            &old,
            &latchkey::random::OsRandom,
            latchkey::admin::users::NewUser {
                username: "grace".into(),
                email: None,
                email_verified: false,
                name: None,
                password: Some(secrecy::SecretString::from("grace's password".to_owned())),
            },
            0,
        )?;
        latchkey::admin::users::add(
            &mut pool.get().unwrap(),
            &crate::helpers::by_cli(0),
            prepared,
        )
    })
    .await
    .unwrap()
    .unwrap();
    let stored = |app: &TestApp| {
        let pool = app.state.pool.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                let mut conn = pool.get().unwrap();
                latchkey::db::users::find_by_username(&mut conn, "grace")
                    .unwrap()
                    .unwrap()
                    .password_hash
                    .unwrap()
            })
            .await
            .unwrap()
        }
    };
    assert!(stored(&app).await.contains("m=2048"));
    let form = password_form("grace", "grace's password", "openid").await;
    assert_eq!(app.token(&form, Some(&client)).await.status(), 200);
    let upgraded = stored(&app).await;
    assert!(upgraded.contains("m=1024,t=1,p=1"), "{upgraded}");
    assert_eq!(app.token(&form, Some(&client)).await.status(), 200);
}
