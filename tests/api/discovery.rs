//! Discovery (OIDC Discovery 1.0 §4) as a certified client library sees it.

use openidconnect::core::{CoreGrantType, CoreProviderMetadata};
use openidconnect::{IssuerUrl, JsonWebKey};
use serde_json::Value;

use crate::backend_tests;
use crate::helpers::{Backend, TestApp};

backend_tests!(
    an_oidc_client_discovers_the_issuer_and_its_keys,
    the_document_advertises_only_what_is_implemented
);

async fn an_oidc_client_discovers_the_issuer_and_its_keys(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let issuer = IssuerUrl::new(app.address.clone()).unwrap();
    // discover_async checks that `issuer` matches exactly and fetches the JWKS.
    let metadata = CoreProviderMetadata::discover_async(issuer, &app.http)
        .await
        .expect("discovery");
    assert_eq!(metadata.issuer().as_str(), app.address);
    assert_eq!(
        metadata.token_endpoint().unwrap().as_str(),
        format!("{}/token", app.address)
    );
    assert_eq!(metadata.jwks().keys().len(), 1);
    let kid = app.state.keys.load().active().unwrap().kid.clone();
    assert_eq!(metadata.jwks().keys()[0].key_id().unwrap().as_str(), kid);
    assert_eq!(
        metadata.grant_types_supported().unwrap(),
        &vec![
            CoreGrantType::AuthorizationCode,
            CoreGrantType::ClientCredentials,
            CoreGrantType::Password,
            CoreGrantType::RefreshToken
        ]
    );
}

async fn the_document_advertises_only_what_is_implemented(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let response = app.get("/.well-known/openid-configuration").await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "application/json"
    );
    let doc: Value = response.json().await.unwrap();
    assert_eq!(doc["issuer"], app.address.as_str());
    assert_eq!(doc["jwks_uri"], format!("{}/jwks", app.address).as_str());
    assert_eq!(
        doc["id_token_signing_alg_values_supported"],
        serde_json::json!(["RS256"])
    );
    assert_eq!(
        doc["token_endpoint_auth_methods_supported"],
        serde_json::json!(["client_secret_basic", "client_secret_post", "none"])
    );
    assert_eq!(
        doc["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(
        doc["subject_types_supported"],
        serde_json::json!(["public"])
    );
    assert_eq!(doc["response_types_supported"], serde_json::json!(["code"]));
    let base = &app.address;
    assert_eq!(
        doc["authorization_endpoint"],
        format!("{base}/authorize").as_str()
    );
    assert_eq!(
        doc["userinfo_endpoint"],
        format!("{base}/userinfo").as_str()
    );
    assert_eq!(
        doc["end_session_endpoint"],
        format!("{base}/logout").as_str()
    );
    assert_eq!(
        doc["response_modes_supported"],
        serde_json::json!(["query"])
    );
    assert_eq!(
        doc["prompt_values_supported"],
        serde_json::json!(["none", "login", "consent"])
    );
    assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
    assert_eq!(
        doc["revocation_endpoint"],
        format!("{base}/revoke").as_str()
    );
    assert_eq!(
        doc["introspection_endpoint"],
        format!("{base}/introspect").as_str()
    );
    assert_eq!(
        doc["registration_endpoint"],
        format!("{base}/register").as_str()
    );
    // RFC 8414: the same document at the OAuth well-known path.
    let oauth: Value = app
        .get("/.well-known/oauth-authorization-server")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(oauth, doc);
    assert!(doc["claims_supported"]
        .as_array()
        .unwrap()
        .contains(&"sub".into()));
}
