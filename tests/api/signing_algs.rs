//! ES256 and EdDSA beside RS256 (RFC 7518 §3.4, RFC 8037): tokens of every configured algorithm
//! verified through the served JWKS by independent libraries (jsonwebtoken, and openidconnect as
//! a relying party for ID tokens), per-client choices, discovery, registration metadata, and the
//! algorithm-confusion attack on Latchkey's own token checks.

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use latchkey::admin;
use latchkey::domain::client::GrantType;
use latchkey::domain::signing_alg::SigningAlg;
use openidconnect::core::{
    CoreClient, CoreJsonWebKey, CoreJsonWebKeySet, CoreJwsSigningAlgorithm, CoreProviderMetadata,
};
use openidconnect::{
    ClientId, ClientSecret, IssuerUrl, Nonce, OAuth2TokenResponse, ResourceOwnerPassword,
    ResourceOwnerUsername, Scope,
};
use serde_json::{json, Value};

use crate::backend_tests;
use crate::helpers::{test_settings, Backend, TestApp, TestClient, NOW};

backend_tests!(
    es256_and_eddsa_access_tokens_verify_through_the_served_jwks,
    es256_and_eddsa_id_tokens_verify_with_an_openidconnect_relying_party,
    a_token_whose_header_names_another_algorithm_than_its_key_is_refused,
    discovery_and_jwks_list_exactly_the_configured_algorithms,
    registration_accepts_only_configured_id_token_algorithms,
);

/// A server with keys of every algorithm.
pub async fn spawn_all(backend: Backend) -> TestApp {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let mut settings = test_settings(backend, dir.path());
    settings.keys.algorithms = SigningAlg::ALL.to_vec();
    TestApp::spawn_with(dir, settings).await
}

/// Registers a client whose tokens use the given algorithms (`None`: the defaults).
pub async fn client_with(
    app: &TestApp,
    grants: &[GrantType],
    scope: &str,
    access_token_alg: Option<SigningAlg>,
    id_token_signed_response_alg: Option<SigningAlg>,
) -> TestClient {
    app.register(admin::clients::NewClient {
        name: "Algorithm test".into(),
        grant_types: grants.to_vec(),
        redirect_uris: vec![],
        post_logout_redirect_uris: vec![],
        scope: Some(scope.into()),
        public: false,
        first_party: true,
        refresh_token_ttl_secs: None,
        refresh_token_absolute_ttl_secs: None,
        access_token_alg,
        id_token_signed_response_alg,
        claims_and_origins: Default::default(),
    })
    .await
}

/// A client_credentials access token.
pub async fn service_token(app: &TestApp, client: &TestClient) -> String {
    let body: Value = app
        .token(&[("grant_type", "client_credentials")], Some(client))
        .await
        .json()
        .await
        .unwrap();
    body["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no access token: {body}"))
        .to_owned()
}

/// `POST /introspect` by `client` (RFC 7662): Latchkey's own verification of its tokens.
pub async fn introspect(app: &TestApp, client: &TestClient, token: &str) -> Value {
    app.http
        .post(app.url("/introspect"))
        .basic_auth(&client.id, client.secret.as_deref())
        .form(&[("token", token)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn active_kid(app: &TestApp, alg: SigningAlg) -> String {
    app.state.keys.load().active_for(alg).unwrap().kid.clone()
}

async fn es256_and_eddsa_access_tokens_verify_through_the_served_jwks(backend: Backend) {
    let app = spawn_all(backend).await;
    let grants = [GrantType::ClientCredentials];
    let default = client_with(&app, &grants, "api:read", None, None).await;
    let rs256_token = service_token(&app, &default).await;
    let (header, _) = app.verify(&rs256_token, &app.address).await;
    assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
    for (alg, expected) in [
        (SigningAlg::ES256, jsonwebtoken::Algorithm::ES256),
        (SigningAlg::EdDSA, jsonwebtoken::Algorithm::EdDSA),
    ] {
        let client = client_with(&app, &grants, "api:read", Some(alg), None).await;
        let token = service_token(&app, &client).await;
        let (header, claims) = app.verify(&token, &app.address).await;
        assert_eq!(header.alg, expected);
        assert_eq!(header.kid.as_deref(), Some(active_kid(&app, alg).as_str()));
        assert_eq!(header.typ.as_deref(), Some("at+jwt"));
        assert_eq!(claims["client_id"], client.id.as_str());
        assert_eq!(claims["scope"], "api:read");
        // A third of the size of an RS256 token (a 64-byte signature instead of 256 bytes).
        assert!(token.len() < rs256_token.len() - 200, "{alg}: {token}");
        // Latchkey's own checks accept every published algorithm.
        let introspected = introspect(&app, &client, &token).await;
        assert_eq!(introspected["active"], true, "{alg}: {introspected}");
        assert_eq!(introspected["client_id"], client.id.as_str());
    }
}

/// The served key the relying party verifies with, as the openidconnect crate reads it.
async fn rp_key(app: &TestApp, kid: &str) -> CoreJsonWebKey {
    let set: CoreJsonWebKeySet = app.get("/jwks").await.json().await.unwrap();
    set.keys()
        .iter()
        .find(|k| openidconnect::JsonWebKey::key_id(*k).map(|id| id.as_str()) == Some(kid))
        .expect("kid in the JWKS")
        .clone()
}

async fn es256_and_eddsa_id_tokens_verify_with_an_openidconnect_relying_party(backend: Backend) {
    let app = spawn_all(backend).await;
    let sub = app.user("alice", "correct horse battery").await;
    let metadata = CoreProviderMetadata::discover_async(
        IssuerUrl::new(app.address.clone()).unwrap(),
        &app.http,
    )
    .await
    .unwrap();
    for (alg, rp_alg) in [
        (SigningAlg::ES256, CoreJwsSigningAlgorithm::EcdsaP256Sha256),
        (SigningAlg::EdDSA, CoreJwsSigningAlgorithm::EdDsa),
    ] {
        // The access token uses the other algorithm: the two choices are independent.
        let access_alg = match alg {
            SigningAlg::ES256 => SigningAlg::EdDSA,
            _ => SigningAlg::ES256,
        };
        let client = client_with(
            &app,
            &[GrantType::Password],
            "openid profile",
            Some(access_alg),
            Some(alg),
        )
        .await;
        let rp = CoreClient::from_provider_metadata(
            metadata.clone(),
            ClientId::new(client.id.clone()),
            Some(ClientSecret::new(client.secret.clone().unwrap())),
        );
        let response = rp
            .exchange_password(
                &ResourceOwnerUsername::new("alice".into()),
                &ResourceOwnerPassword::new("correct horse battery".into()),
            )
            .unwrap()
            .add_scope(Scope::new("openid".into()))
            .request_async(&app.http)
            .await
            .expect("token response");
        let id_token = response.extra_fields().id_token().expect("an ID token");
        let verifier = rp
            .id_token_verifier()
            .set_allowed_algs(vec![rp_alg.clone()])
            .set_time_fn(|| chrono::DateTime::from_timestamp(NOW, 0).unwrap());
        let claims = id_token
            .claims(&verifier, |_: Option<&Nonce>| Ok(()))
            .unwrap_or_else(|e| panic!("{alg} ID token does not verify: {e}"));
        assert_eq!(claims.subject().as_str(), sub);
        // at_hash as the relying party computes it for this algorithm (SHA-512 for Ed25519).
        let kid = active_kid(&app, alg);
        let expected = openidconnect::AccessTokenHash::from_token(
            response.access_token(),
            &rp_alg,
            &rp_key(&app, &kid).await,
        )
        .unwrap();
        assert_eq!(claims.access_token_hash(), Some(&expected), "{alg}");
        // The same ID token through jsonwebtoken, and the access token in its own algorithm.
        let (header, _) = app.verify(&id_token.to_string(), &client.id).await;
        assert_eq!(header.kid.as_deref(), Some(kid.as_str()));
        let (header, access) = app
            .verify(response.access_token().secret(), &app.address)
            .await;
        assert_eq!(
            header.kid.as_deref(),
            Some(active_kid(&app, access_alg).as_str())
        );
        assert_eq!(access["sub"], sub.as_str());
        // The access token works at userinfo, which verifies it with Latchkey's own code.
        let userinfo = app
            .http
            .get(app.url("/userinfo"))
            .bearer_auth(response.access_token().secret())
            .send()
            .await
            .unwrap();
        assert_eq!(
            userinfo.status(),
            200,
            "{access_alg} access token at userinfo"
        );
    }
}

/// Replaces the `alg` of a compact JWS header, keeping its payload and signature.
fn with_header_alg(token: &str, alg: &str) -> String {
    let (header, rest) = token.split_once('.').unwrap();
    let mut header: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
    header["alg"] = json!(alg);
    format!(
        "{}.{rest}",
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).unwrap())
    )
}

/// Algorithm confusion (RFC 8725 §2.1, §3.1): a token whose header names another algorithm than
/// the key its `kid` names is refused, whichever algorithms are published.
async fn a_token_whose_header_names_another_algorithm_than_its_key_is_refused(backend: Backend) {
    let app = spawn_all(backend).await;
    let grants = [GrantType::ClientCredentials];
    let client = client_with(&app, &grants, "api:read", Some(SigningAlg::ES256), None).await;
    let token = service_token(&app, &client).await;
    assert_eq!(introspect(&app, &client, &token).await["active"], true);
    for forged in ["RS256", "EdDSA", "HS256", "none", "ES384"] {
        let forged_token = with_header_alg(&token, forged);
        assert_eq!(
            introspect(&app, &client, &forged_token).await,
            json!({"active": false}),
            "header alg {forged}"
        );
    }
}

async fn discovery_and_jwks_list_exactly_the_configured_algorithms(backend: Backend) {
    for (app, expected) in [
        (TestApp::spawn(backend).await, json!(["RS256"])),
        (spawn_all(backend).await, json!(["RS256", "ES256", "EdDSA"])),
    ] {
        let discovery: Value = app
            .get("/.well-known/openid-configuration")
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(discovery["id_token_signing_alg_values_supported"], expected);
        // Userinfo and introspection answers are plain JSON: no signing algorithms to list.
        assert!(discovery
            .get("userinfo_signing_alg_values_supported")
            .is_none());
        assert!(discovery
            .get("introspection_signing_alg_values_supported")
            .is_none());
        let jwks: Value = app.get("/jwks").await.json().await.unwrap();
        let mut served: Vec<(String, String, Option<String>)> = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| {
                assert_eq!(k["use"], "sig");
                (
                    k["alg"].as_str().unwrap().to_owned(),
                    k["kty"].as_str().unwrap().to_owned(),
                    k["crv"].as_str().map(str::to_owned),
                )
            })
            .collect();
        served.sort();
        let mut wanted: Vec<(String, String, Option<String>)> = expected
            .as_array()
            .unwrap()
            .iter()
            .map(|a| match a.as_str().unwrap() {
                "RS256" => ("RS256".into(), "RSA".into(), None),
                "ES256" => ("ES256".into(), "EC".into(), Some("P-256".into())),
                _ => ("EdDSA".into(), "OKP".into(), Some("Ed25519".into())),
            })
            .collect();
        wanted.sort();
        assert_eq!(served, wanted);
    }
}

const REDIRECT: &str = "https://app.example/cb";

async fn registration_accepts_only_configured_id_token_algorithms(backend: Backend) {
    for (app, configured) in [
        (TestApp::spawn(backend).await, "RS256"),
        (spawn_all(backend).await, "RS256, ES256, EdDSA"),
    ] {
        let registrar = client_with(
            &app,
            &[GrantType::ClientCredentials],
            "latchkey:register",
            None,
            None,
        )
        .await;
        let token = service_token(&app, &registrar).await;
        let register = |metadata: Value| {
            app.http
                .post(app.url("/register"))
                .bearer_auth(&token)
                .json(&metadata)
                .send()
        };
        let with_alg =
            |alg: &str| json!({"redirect_uris": [REDIRECT], "id_token_signed_response_alg": alg});
        let refused = register(with_alg("ES384")).await.unwrap();
        assert_eq!(refused.status(), 400);
        assert_eq!(
            refused.json::<Value>().await.unwrap(),
            json!({
                "error": "invalid_client_metadata",
                "error_description": "id_token_signed_response_alg: signing algorithm `ES384` is \
                    not supported (supported: RS256, ES256, EdDSA)",
            })
        );
        let eddsa = register(with_alg("EdDSA")).await.unwrap();
        if configured == "RS256" {
            assert_eq!(eddsa.status(), 400);
            assert_eq!(
                eddsa.json::<Value>().await.unwrap(),
                json!({
                    "error": "invalid_client_metadata",
                    "error_description": "id_token_signed_response_alg: signing algorithm \
                        `EdDSA` is not configured (keys.algorithms: RS256)",
                })
            );
            let default = register(json!({"redirect_uris": [REDIRECT]}))
                .await
                .unwrap();
            let default: Value = default.json().await.unwrap();
            assert_eq!(default["id_token_signed_response_alg"], "RS256");
        } else {
            assert_eq!(eddsa.status(), 201);
            let body: Value = eddsa.json().await.unwrap();
            assert_eq!(body["id_token_signed_response_alg"], "EdDSA");
            let read: Value = app
                .http
                .get(body["registration_client_uri"].as_str().unwrap())
                .bearer_auth(body["registration_access_token"].as_str().unwrap())
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert_eq!(read["id_token_signed_response_alg"], "EdDSA");
        }
    }
}
