//! `[admin] require_mfa` on the admin API and admin registration: a person's `latchkey:admin`
//! token must come from a sign-in with a second factor (its `amr`, which access tokens carry
//! per RFC 9068 §2.2.1); otherwise 401 `insufficient_user_authentication` (RFC 9470) naming
//! the `acr_values` to ask for. A client's own admin token is no person's and is unaffected.

use std::sync::Arc;

use latchkey::admin::clients::NewClient;
use latchkey::domain::client::GrantType;
use latchkey::domain::factor::MfaPolicy;
use serde_json::{json, Value};

use crate::admin_second_factors::{administrator, with_totp};
use crate::authorization::authorize_url_with_scope;
use crate::backend_tests;
use crate::helpers::{location, query, test_settings, Backend, TestApp, REDIRECT_URI};
use crate::second_factor::{code, send_code};

backend_tests!(a_persons_admin_token_needs_a_second_factor_when_admins_must_use_one);

fn admin_client(grants: Vec<GrantType>, public: bool) -> NewClient {
    NewClient {
        name: "Admin tool".into(),
        grant_types: grants,
        redirect_uris: vec![REDIRECT_URI.into()],
        scope: Some("openid latchkey:admin".into()),
        public,
        first_party: true,
        post_logout_redirect_uris: Vec::new(),
        refresh_token_ttl_secs: None,
        refresh_token_absolute_ttl_secs: None,
        access_token_alg: None,
        id_token_signed_response_alg: None,
        claims_and_origins: Default::default(),
    }
}

async fn users(app: &TestApp, token: &str) -> reqwest::Response {
    app.http
        .get(app.url("/admin/api/users"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

fn claims(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

async fn a_persons_admin_token_needs_a_second_factor_when_admins_must_use_one(backend: Backend) {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let mut settings = test_settings(backend, dir.path());
    settings.mfa.policy = MfaPolicy::Optional;
    settings.admin.require_mfa = true;
    let app = TestApp::spawn_with(dir, settings).await;
    administrator(&app, "root").await;
    let secret = with_totp(&app, "root").await;
    app.clock.advance(30);

    // The password grant: a person's token without a second factor.
    let password_client = app
        .register(admin_client(vec![GrantType::Password], false))
        .await;
    let token: Value = app
        .token(
            &[
                ("grant_type", "password"),
                ("username", "root"),
                ("password", "root's password"),
                ("scope", "latchkey:admin"),
            ],
            Some(&password_client),
        )
        .await
        .json()
        .await
        .unwrap();
    let weak = token["access_token"].as_str().unwrap();
    assert!(claims(weak).get("amr").is_none(), "{}", claims(weak));
    let refused = users(&app, weak).await;
    assert_eq!(refused.status(), 401);
    let challenge = refused.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        challenge.contains(r#"error="insufficient_user_authentication""#)
            && challenge.contains(r#"acr_values="urn:latchkey:acr:mfa""#),
        "{challenge}"
    );
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "insufficient_user_authentication");
    // Nor may it register clients as an administrator.
    let registered = crate::admin::register(
        &app,
        Some(weak),
        json!({"redirect_uris": [REDIRECT_URI], "client_name": "x"}),
    )
    .await;
    assert_eq!(registered.status(), 401);

    // The authorization-code flow with the authenticator app: amr and acr in the access token.
    let web = app
        .register(admin_client(vec![GrantType::AuthorizationCode], true))
        .await;
    let browser = app.browser();
    let (url, verifier) = authorize_url_with_scope(&app, &web, "openid latchkey:admin", "");
    let login = location(&browser.get(&url).await);
    let step = browser.log_in(&login, "root", "root's password").await;
    assert_eq!(step.status(), 200);
    let html = step.text().await.unwrap();
    let done = send_code(&browser, &html, &code(&secret, app.clock_now())).await;
    let callback = location(&done);
    let code = query(&callback, "code").unwrap();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT_URI),
        ("code_verifier", verifier.as_str()),
        ("client_id", web.id.as_str()),
    ];
    let issued: Value = app.token(&form, None).await.json().await.unwrap();
    let strong = issued["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("{issued}"));
    let strong_claims = claims(strong);
    assert_eq!(
        strong_claims["acr"], "urn:latchkey:acr:mfa",
        "{strong_claims}"
    );
    assert!(
        strong_claims["amr"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m == "mfa"),
        "{strong_claims}"
    );
    assert_eq!(users(&app, strong).await.status(), 200);

    // A client's own admin token involves no person.
    let (_, service) = crate::admin::admin_token(&app).await;
    assert_eq!(users(&app, &service).await.status(), 200);
}
