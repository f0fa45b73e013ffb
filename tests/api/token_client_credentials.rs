//! `grant_type=client_credentials` (RFC 6749 §4.4) and client authentication (§2.3).

use base64::Engine;
use latchkey::domain::client::GrantType;
use openidconnect::core::{CoreClient, CoreProviderMetadata};
use openidconnect::{ClientId, ClientSecret, IssuerUrl, OAuth2TokenResponse, Scope};
use serde_json::Value;

use crate::backend_tests;
use crate::helpers::{assert_error, Backend, TestApp, TestClient};

backend_tests!(
    an_oidc_client_gets_a_verifiable_rfc9068_access_token,
    client_secret_post_authenticates,
    percent_encoded_basic_credentials_are_decoded,
    a_wrong_secret_is_invalid_client_with_a_basic_challenge,
    an_unknown_client_is_indistinguishable_from_a_wrong_secret,
    a_client_not_registered_for_the_grant_is_unauthorized_client,
    a_public_client_cannot_use_client_credentials,
    a_scope_beyond_the_registration_is_invalid_scope,
    a_rotated_secret_stops_the_old_one,
);

async fn an_oidc_client_gets_a_verifiable_rfc9068_access_token(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = app.service_client().await;
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
    let response = rp
        .exchange_client_credentials()
        .unwrap()
        .add_scope(Scope::new("api:read".into()))
        .request_async(&app.http)
        .await
        .expect("token response");
    assert_eq!(
        response.scopes().unwrap(),
        &vec![Scope::new("api:read".into())]
    );
    assert_eq!(response.expires_in().unwrap().as_secs(), 600);
    let token = response.access_token().secret();
    let (header, claims) = app.verify(token, &app.address).await;
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    assert_eq!(claims["iss"], app.address.as_str());
    assert_eq!(claims["sub"], client.id.as_str());
    assert_eq!(claims["client_id"], client.id.as_str());
    assert_eq!(claims["scope"], "api:read");
    assert_eq!(claims["iat"], crate::helpers::NOW);
    assert_eq!(claims["exp"], crate::helpers::NOW + 600);
    assert!(claims["jti"].as_str().unwrap().len() >= 16);
}

async fn client_secret_post_authenticates(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = app
        .client_with_method(
            &[GrantType::ClientCredentials],
            "api:read api:write",
            "client_secret_post",
        )
        .await;
    let response = app
        .token(
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &client.id),
                ("client_secret", client.secret.as_deref().unwrap()),
            ],
            None,
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["pragma"], "no-cache");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    // No scope requested: the registered scope.
    assert_eq!(body["scope"], "api:read api:write");
    app.verify(body["access_token"].as_str().unwrap(), &app.address)
        .await;
}

async fn percent_encoded_basic_credentials_are_decoded(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = app.service_client().await;
    // RFC 6749 §2.3.1: id and secret are form-encoded before Basic; encode every byte.
    let encode = |s: &str| s.bytes().map(|b| format!("%{b:02X}")).collect::<String>();
    let credentials = format!(
        "{}:{}",
        encode(&client.id),
        encode(client.secret.as_deref().unwrap())
    );
    let header = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(credentials)
    );
    let response = app
        .token_raw(
            "grant_type=client_credentials",
            "application/x-www-form-urlencoded",
            &[("Authorization", &header)],
        )
        .await;
    assert_eq!(response.status(), 200);
}

async fn a_wrong_secret_is_invalid_client_with_a_basic_challenge(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = app.service_client().await;
    let wrong = TestClient {
        id: client.id.clone(),
        secret: Some("not-the-secret".into()),
    };
    let response = app
        .token(&[("grant_type", "client_credentials")], Some(&wrong))
        .await;
    assert_eq!(
        response.headers()["www-authenticate"].to_str().unwrap(),
        "Basic realm=\"latchkey\""
    );
    assert_error(
        response,
        401,
        "invalid_client",
        "Client authentication failed",
    )
    .await;
}

async fn an_unknown_client_is_indistinguishable_from_a_wrong_secret(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let unknown = TestClient {
        id: "no-such-client".into(),
        secret: Some("whatever".into()),
    };
    let response = app
        .token(&[("grant_type", "client_credentials")], Some(&unknown))
        .await;
    assert_error(
        response,
        401,
        "invalid_client",
        "Client authentication failed",
    )
    .await;
    let no_auth = app
        .token(&[("grant_type", "client_credentials")], None)
        .await;
    assert_error(
        no_auth,
        401,
        "invalid_client",
        "Client authentication failed",
    )
    .await;
}

async fn a_client_not_registered_for_the_grant_is_unauthorized_client(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = app.password_client().await;
    let response = app
        .token(&[("grant_type", "client_credentials")], Some(&client))
        .await;
    assert_error(
        response,
        400,
        "unauthorized_client",
        "The client is not allowed the client_credentials grant",
    )
    .await;
}

async fn a_public_client_cannot_use_client_credentials(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = app
        .client(&[GrantType::AuthorizationCode], "openid", true)
        .await;
    let response = app
        .token(
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &client.id),
            ],
            None,
        )
        .await;
    assert_error(
        response,
        400,
        "unauthorized_client",
        "Public clients cannot use the client_credentials grant",
    )
    .await;
}

async fn a_scope_beyond_the_registration_is_invalid_scope(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = app.service_client().await;
    let response = app
        .token(
            &[
                ("grant_type", "client_credentials"),
                ("scope", "api:read admin"),
            ],
            Some(&client),
        )
        .await;
    assert_error(
        response,
        400,
        "invalid_scope",
        "The requested scope exceeds the scope registered for the client",
    )
    .await;
    let openid = app
        .token(
            &[("grant_type", "client_credentials"), ("scope", "openid")],
            Some(&client),
        )
        .await;
    assert_error(
        openid,
        400,
        "invalid_scope",
        "User scopes such as openid need a user; client_credentials has none",
    )
    .await;
}

async fn a_rotated_secret_stops_the_old_one(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = app.service_client().await;
    let pool = app.state.pool.clone();
    let id = client.id.clone();
    let new_secret = tokio::task::spawn_blocking(move || {
        latchkey::admin::clients::rotate_secret(
            &mut pool.get().unwrap(),
            &crate::helpers::by_cli(crate::helpers::NOW),
            &latchkey::random::OsRandom,
            &id,
            false,
        )
    })
    .await
    .unwrap()
    .unwrap();
    let old = app
        .token(&[("grant_type", "client_credentials")], Some(&client))
        .await;
    assert_eq!(old.status(), 401);
    let rotated = TestClient {
        id: client.id.clone(),
        secret: Some(secrecy::ExposeSecret::expose_secret(&new_secret).to_owned()),
    };
    let new = app
        .token(&[("grant_type", "client_credentials")], Some(&rotated))
        .await;
    assert_eq!(new.status(), 200);
}
