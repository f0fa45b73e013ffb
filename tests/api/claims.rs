//! What tokens say about a person: groups and group-restricted scopes, the profile and email
//! claims in the ID token (verified by the openidconnect crate as a relying party), the
//! per-client switch, `claims_supported`, and the editable `email_verified`.

use latchkey::admin::{self, AdminError};
use latchkey::db::DbConnection;
use latchkey::domain::client::GrantType;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, PkceCodeChallenge,
    RedirectUrl, Scope,
};
use serde_json::{json, Value};

use crate::authorization::authorize_url_with_scope;
use crate::backend_tests;
use crate::cli::{run_owned, stdout_json};
use crate::helpers::{location, query, Backend, TestApp, TestClient, NOW, REDIRECT_URI};

backend_tests!(
    groups_claim_in_id_token_userinfo_and_access_token,
    a_user_outside_the_group_is_not_granted_the_restricted_scope,
    profile_claims_in_the_id_token_verified_by_openidconnect,
    id_token_claims_can_be_turned_off_per_client,
    claims_supported_lists_served_claims,
    email_verified_is_editable,
);

const SCOPE: &str = "openid profile email groups offline_access invoices:write";

/// Runs an admin operation on the app's database.
pub(crate) async fn admin_op<T: Send + 'static>(
    app: &TestApp,
    f: impl FnOnce(&mut DbConnection) -> Result<T, AdminError> + Send + 'static,
) -> T {
    let pool = app.state.pool.clone();
    tokio::task::spawn_blocking(move || f(&mut pool.get().unwrap()))
        .await
        .unwrap()
        .expect("admin operation")
}

/// A confidential code-flow client allowed [`SCOPE`] and the password grant.
async fn claims_client(app: &TestApp, first_party: bool, id_token_claims: bool) -> TestClient {
    app.register(admin::clients::NewClient {
        name: "Claims App".into(),
        grant_types: vec![
            GrantType::AuthorizationCode,
            GrantType::RefreshToken,
            GrantType::Password,
        ],
        redirect_uris: vec![REDIRECT_URI.into()],
        post_logout_redirect_uris: vec![],
        scope: Some(SCOPE.into()),
        public: false,
        first_party,
        refresh_token_ttl_secs: None,
        refresh_token_absolute_ttl_secs: None,
        access_token_alg: None,
        id_token_signed_response_alg: None,
        claims_and_origins: admin::clients::ClaimsAndOrigins {
            id_token_claims,
            web_origins: vec![],
        },
    })
    .await
}

/// Signs `username` in through the pages for `scope`, approving consent when asked; returns the
/// token response and the consent page's HTML (empty when none was shown).
async fn sign_in(
    app: &TestApp,
    client: &TestClient,
    username: &str,
    scope: &str,
) -> (Value, String) {
    let browser = app.browser();
    let (url, verifier) = authorize_url_with_scope(app, client, scope, "");
    let login = location(&browser.get(&url).await);
    let mut next = location(&browser.log_in(&login, username, "a long password").await);
    let mut consent = String::new();
    if next.starts_with("/consent?") {
        consent = browser.get(&next).await.text().await.unwrap();
        next = location(&browser.consent(&next, true).await);
    }
    assert!(next.starts_with(REDIRECT_URI), "{next}");
    let code = query(&next, "code").expect("code");
    let response = app
        .token(
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT_URI),
                ("code_verifier", &verifier),
            ],
            Some(client),
        )
        .await;
    assert_eq!(response.status(), 200, "code exchange");
    (response.json().await.unwrap(), consent)
}

async fn userinfo(app: &TestApp, access_token: &str) -> Value {
    let response = app
        .http
        .get(app.url("/userinfo"))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn groups_claim_in_id_token_userinfo_and_access_token(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = claims_client(&app, true, true).await;
    app.user("alice", "a long password").await;
    app.user("bob", "a long password").await;
    admin_op(&app, |conn| {
        let random = latchkey::random::OsRandom;
        admin::groups::add(
            conn,
            &random,
            &crate::helpers::by_cli(NOW),
            "staff",
            Some("Everyone"),
        )?;
        admin::groups::add(conn, &random, &crate::helpers::by_cli(NOW), "admins", None)?;
        admin::groups::join(conn, &crate::helpers::by_cli(NOW), "alice", "staff")?;
        admin::groups::join(conn, &crate::helpers::by_cli(NOW), "alice", "admins")
    })
    .await;

    let (tokens, _) = sign_in(&app, &client, "alice", "openid groups offline_access").await;
    let (_, id) = app
        .verify(tokens["id_token"].as_str().unwrap(), &client.id)
        .await;
    assert_eq!(id["groups"], json!(["admins", "staff"]));
    let access_token = tokens["access_token"].as_str().unwrap();
    let (_, access) = app.verify(access_token, &app.address).await;
    assert_eq!(access["groups"], json!(["admins", "staff"]));
    assert_eq!(
        userinfo(&app, access_token).await["groups"],
        json!(["admins", "staff"])
    );

    // Leaving a group shows at the next refresh; without the scope there is no claim.
    admin_op(&app, |conn| {
        admin::groups::leave(conn, &crate::helpers::by_cli(NOW), "alice", "admins")
    })
    .await;
    let refreshed: Value = app
        .token(
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
            ],
            Some(&client),
        )
        .await
        .json()
        .await
        .unwrap();
    let (_, access) = app
        .verify(refreshed["access_token"].as_str().unwrap(), &app.address)
        .await;
    assert_eq!(access["groups"], json!(["staff"]));
    let (tokens, _) = sign_in(&app, &client, "bob", "openid profile").await;
    let (_, id) = app
        .verify(tokens["id_token"].as_str().unwrap(), &client.id)
        .await;
    assert!(id.get("groups").is_none(), "{id}");
    let info = userinfo(&app, tokens["access_token"].as_str().unwrap()).await;
    assert!(info.get("groups").is_none(), "{info}");
}

async fn a_user_outside_the_group_is_not_granted_the_restricted_scope(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = claims_client(&app, false, true).await;
    app.user("alice", "a long password").await;
    app.user("bob", "a long password").await;
    admin_op(&app, |conn| {
        let random = latchkey::random::OsRandom;
        admin::groups::add(conn, &random, &crate::helpers::by_cli(NOW), "finance", None)?;
        admin::groups::allow_scope(
            conn,
            &crate::helpers::by_cli(NOW),
            "finance",
            "invoices:write",
        )?;
        admin::groups::join(conn, &crate::helpers::by_cli(NOW), "bob", "finance")
    })
    .await;

    // Alice is not in finance: the consent page never mentions the scope and she does not get it.
    let (tokens, consent) = sign_in(&app, &client, "alice", "openid invoices:write").await;
    assert!(consent.contains("Know who you are"), "{consent}");
    assert!(!consent.contains("invoices:write"), "{consent}");
    assert_eq!(tokens["scope"], "openid");
    let (_, access) = app
        .verify(tokens["access_token"].as_str().unwrap(), &app.address)
        .await;
    assert_eq!(access["scope"], "openid");
    // Nor through the password grant.
    let form = [
        ("grant_type", "password"),
        ("username", "alice"),
        ("password", "a long password"),
        ("scope", "openid invoices:write"),
    ];
    let direct: Value = app.token(&form, Some(&client)).await.json().await.unwrap();
    assert_eq!(direct["scope"], "openid");

    // Bob is: he is asked, and granted it.
    let (tokens, consent) = sign_in(&app, &client, "bob", "openid invoices:write").await;
    assert!(consent.contains("invoices:write"), "{consent}");
    assert_eq!(tokens["scope"], "openid invoices:write");
    // Removing a group that alone carries a scope would open the scope to everyone: refused.
    let pool = app.state.pool.clone();
    let refused = tokio::task::spawn_blocking(move || {
        admin::groups::remove(
            &mut pool.get().unwrap(),
            &crate::helpers::by_cli(NOW),
            "finance",
        )
    })
    .await
    .unwrap();
    assert!(
        matches!(refused, Err(AdminError::Invalid(_))),
        "{refused:?}"
    );
}

async fn profile_claims_in_the_id_token_verified_by_openidconnect(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = claims_client(&app, true, true).await;
    let sub = app.user("alice", "a long password").await;
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
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT_URI.into()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, _, nonce) = rp
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .set_pkce_challenge(challenge)
        .url();
    let browser = app.browser();
    let login = location(&browser.get(url.as_str()).await);
    let callback = location(&browser.log_in(&login, "alice", "a long password").await);
    let code = query(&callback, "code").unwrap();
    let response = rp
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&app.http)
        .await
        .expect("code exchange");
    let id_token = openidconnect::TokenResponse::id_token(&response).expect("ID token");
    let verifier = rp
        .id_token_verifier()
        .set_time_fn(|| chrono::DateTime::from_timestamp(NOW, 0).unwrap());
    let claims = id_token
        .claims(&verifier, &nonce)
        .expect("ID token verifies");
    assert_eq!(claims.subject().as_str(), sub);
    assert_eq!(claims.preferred_username().unwrap().as_str(), "alice");
    assert_eq!(
        claims.name().and_then(|n| n.get(None)).unwrap().as_str(),
        "Test User"
    );
    assert_eq!(claims.email().unwrap().as_str(), "alice@example.com");
    assert_eq!(claims.email_verified(), Some(false));
    assert_eq!(claims.updated_at().unwrap().timestamp(), NOW);
}

async fn id_token_claims_can_be_turned_off_per_client(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = claims_client(&app, true, false).await;
    app.user("alice", "a long password").await;
    let (tokens, _) = sign_in(&app, &client, "alice", "openid profile email").await;
    let (_, id) = app
        .verify(tokens["id_token"].as_str().unwrap(), &client.id)
        .await;
    for claim in [
        "email",
        "email_verified",
        "name",
        "preferred_username",
        "updated_at",
    ] {
        assert!(id.get(claim).is_none(), "{claim} in {id}");
    }
    // Userinfo still answers them.
    let info = userinfo(&app, tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(info["email"], "alice@example.com");
    assert_eq!(info["preferred_username"], "alice");

    // Switched on with the CLI, the next ID token carries them.
    let settings = &app.state.settings;
    let key_file = settings.keys.master_key_file.to_str().unwrap().to_owned();
    let envs = [
        ("LATCHKEY__DATABASE__URL", settings.database.url.as_str()),
        ("LATCHKEY__KEYS__MASTER_KEY_FILE", key_file.as_str()),
    ];
    let shown = stdout_json(
        &run_owned(
            &envs,
            &[
                "client",
                "update",
                &client.id,
                "--id-token-claims",
                "on",
                "--json",
            ],
        )
        .await,
    );
    assert_eq!(shown["id_token_claims"], true);
    let on = crate::helpers::within(std::time::Duration::from_secs(5), || async {
        let (tokens, _) = sign_in(&app, &client, "alice", "openid email").await;
        let (_, id) = app
            .verify(tokens["id_token"].as_str().unwrap(), &client.id)
            .await;
        id["email"] == "alice@example.com"
    })
    .await;
    assert!(on.is_some(), "the switch did not take effect");
}

async fn claims_supported_lists_served_claims(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let discovery: Value = app
        .get("/.well-known/openid-configuration")
        .await
        .json()
        .await
        .unwrap();
    let supported: Vec<&str> = discovery["claims_supported"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert!(discovery["scopes_supported"]
        .as_array()
        .unwrap()
        .contains(&json!("groups")));
    // Every claim an ID token and userinfo carry for every scope is listed.
    let client = claims_client(&app, true, true).await;
    app.user("alice", "a long password").await;
    admin_op(&app, |conn| {
        admin::groups::add(
            conn,
            &latchkey::random::OsRandom,
            &crate::helpers::by_cli(NOW),
            "staff",
            None,
        )?;
        admin::groups::join(conn, &crate::helpers::by_cli(NOW), "alice", "staff")
    })
    .await;
    let (tokens, _) = sign_in(&app, &client, "alice", "openid profile email groups").await;
    let (_, id) = app
        .verify(tokens["id_token"].as_str().unwrap(), &client.id)
        .await;
    let info = userinfo(&app, tokens["access_token"].as_str().unwrap()).await;
    let served: Vec<&String> = id
        .as_object()
        .unwrap()
        .keys()
        .chain(info.as_object().unwrap().keys())
        .collect();
    for claim in &served {
        assert!(
            supported.contains(&claim.as_str()),
            "{claim} served, not listed"
        );
    }
    for claim in [
        "name",
        "preferred_username",
        "updated_at",
        "email",
        "email_verified",
        "groups",
    ] {
        assert!(
            served.iter().any(|c| c.as_str() == claim),
            "{claim} listed, not served"
        );
    }

    // With the groups scope switched off, neither the scope nor the claim is advertised.
    let dir = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let mut settings = crate::helpers::test_settings(backend, dir.path());
    settings.claims.groups = false;
    let off = TestApp::spawn_with(dir, settings).await;
    let discovery: Value = off
        .get("/.well-known/openid-configuration")
        .await
        .json()
        .await
        .unwrap();
    assert!(!discovery["claims_supported"]
        .as_array()
        .unwrap()
        .contains(&json!("groups")));
    assert!(!discovery["scopes_supported"]
        .as_array()
        .unwrap()
        .contains(&json!("groups")));
}

async fn email_verified_is_editable(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = claims_client(&app, true, true).await;
    app.user("alice", "a long password").await;
    let settings = &app.state.settings;
    let key_file = settings.keys.master_key_file.to_str().unwrap().to_owned();
    let envs = [
        ("LATCHKEY__DATABASE__URL", settings.database.url.as_str()),
        ("LATCHKEY__KEYS__MASTER_KEY_FILE", key_file.as_str()),
    ];
    let updated = stdout_json(
        &run_owned(
            &envs,
            &[
                "user",
                "update",
                "alice",
                "--email-verified",
                "true",
                "--json",
            ],
        )
        .await,
    );
    assert_eq!(updated["email_verified"], true);
    let (tokens, _) = sign_in(&app, &client, "alice", "openid email").await;
    let (_, id) = app
        .verify(tokens["id_token"].as_str().unwrap(), &client.id)
        .await;
    assert_eq!(id["email_verified"], true);
    // A new address is unverified again until said otherwise.
    let changed = stdout_json(
        &run_owned(
            &envs,
            &[
                "user",
                "update",
                "alice",
                "--email",
                "alice@new.example",
                "--json",
            ],
        )
        .await,
    );
    assert_eq!(changed["email_verified"], false);
    // `user add --email-verified` and the admin function agree.
    let added = stdout_json(
        &run_owned(
            &envs,
            &[
                "user",
                "add",
                "carol",
                "--email",
                "carol@example.com",
                "--email-verified",
                "--json",
            ],
        )
        .await,
    );
    assert_eq!(added["email_verified"], true);
    let view = admin_op(&app, |conn| {
        admin::users::update_profile(
            conn,
            &crate::helpers::by_cli(NOW),
            "carol",
            admin::users::ProfileUpdate {
                email: None,
                email_verified: Some(false),
                name: None,
            },
        )
    })
    .await;
    assert!(!view.email_verified);
}
