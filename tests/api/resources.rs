//! API resources (RFC 8707): `resource` at `/authorize` and `/token`, the access token's `aud`
//! bound to exactly the resources granted, scopes limited to theirs, `invalid_target`, refresh
//! narrowing, per-resource and per-client access-token lifetimes, introspection, the client
//! cache on the hot path. Their management (CLI, admin API and pages, registration) is in
//! `resources_admin`.

use latchkey::admin::resources::{ClientAccess, NewResource};
use latchkey::domain::client::GrantType;
use serde_json::{json, Value};

use crate::backend_tests;
use crate::helpers::{
    assert_error, location, query, test_settings, Backend, TestApp, TestClient, NOW, REDIRECT_URI,
};
use crate::refresh::code_flow_for;

backend_tests!(
    a_token_for_one_resource_is_not_valid_for_another,
    scopes_are_limited_to_the_resource,
    an_unknown_resource_is_invalid_target,
    a_client_not_allowed_a_resource_gets_invalid_target,
    a_refresh_can_narrow_but_not_widen_resources,
    introspection_returns_aud,
    per_client_access_token_lifetime,
    client_credentials_with_a_resource_touches_no_database,
    the_consent_page_lists_resource_scopes_with_their_descriptions,
);

pub(crate) const ORDERS: &str = "https://orders.example/api";
pub(crate) const BILLING: &str = "https://billing.example/";
pub(crate) const OTHER: &str = "urn:example:other";
const PASSWORD: &str = "alice's password";

/// Registers an API resource with `scope` and an optional access-token lifetime.
pub(crate) async fn api(app: &TestApp, identifier: &str, scope: &str, ttl: Option<i64>) {
    let pool = app.state.pool.clone();
    let new = NewResource {
        identifier: identifier.into(),
        scope: scope.into(),
        descriptions: vec![],
        access_token_ttl_secs: ttl,
        public: false,
    };
    tokio::task::spawn_blocking(move || {
        latchkey::admin::resources::add(
            &mut pool.get().unwrap(),
            &crate::helpers::by_cli(NOW),
            &new,
        )
    })
    .await
    .unwrap()
    .expect("add resource");
}

/// Allows `client` the `resources` (the first one by default) and sets its lifetime.
async fn allow(app: &TestApp, client: &TestClient, resources: &[&str], ttl: Option<i64>) {
    let pool = app.state.pool.clone();
    let id = client.id.clone();
    let access = ClientAccess {
        resources: Some(resources.iter().map(|r| (*r).to_owned()).collect()),
        default_resource: None,
        access_token_ttl_secs: Some(ttl),
    };
    tokio::task::spawn_blocking(move || {
        latchkey::db::write_tx(&mut pool.get().unwrap(), |conn| {
            latchkey::admin::resources::set_client_access(
                conn,
                &crate::helpers::by_cli(NOW),
                &id,
                &access,
                false,
            )
        })
    })
    .await
    .unwrap()
    .expect("allow resources");
}

/// Two APIs, and a service client allowed both with `api:read` of its own.
async fn setup(backend: Backend) -> (TestApp, TestClient) {
    let app = TestApp::spawn(backend).await;
    api(&app, ORDERS, "orders:read orders:write", None).await;
    api(&app, BILLING, "billing:read", None).await;
    api(&app, OTHER, "other:read", None).await;
    let client = app
        .client(
            &[GrantType::ClientCredentials],
            "orders:read billing:read api:read",
            false,
        )
        .await;
    allow(&app, &client, &[ORDERS, BILLING], None).await;
    (app, client)
}

pub(crate) async fn client_credentials(
    app: &TestApp,
    client: &TestClient,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let mut form = vec![("grant_type", "client_credentials")];
    form.extend_from_slice(extra);
    app.token(&form, Some(client)).await
}

/// The claims of an access token (its signature is checked by [`TestApp::verify`] where it matters).
pub(crate) fn claims(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

pub(crate) async fn access_token(response: reqwest::Response) -> (String, Value) {
    assert_eq!(response.status(), 200, "token response");
    let body: Value = response.json().await.unwrap();
    (body["access_token"].as_str().unwrap().to_owned(), body)
}

async fn a_token_for_one_resource_is_not_valid_for_another(backend: Backend) {
    let (app, client) = setup(backend).await;
    let (token, _) =
        access_token(client_credentials(&app, &client, &[("resource", ORDERS)]).await).await;
    let (_, verified) = app.verify(&token, ORDERS).await;
    assert_eq!(
        verified["aud"],
        json!(ORDERS),
        "one resource: aud is that string"
    );
    // An API verifying its own audience refuses the token.
    let jwks: Value = app.get("/jwks").await.json().await.unwrap();
    let (key, alg) = crate::helpers::decoding_key(&jwks["keys"][0]);
    let mut validation = jsonwebtoken::Validation::new(alg);
    validation.set_audience(&[BILLING]);
    validation.validate_exp = false;
    assert!(jsonwebtoken::decode::<Value>(&token, &key, &validation).is_err());
    // Nor is it a token for Latchkey itself.
    let userinfo = app
        .http
        .get(app.url("/userinfo"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(userinfo.status(), 401);
    // Two resources: aud is exactly both.
    let (token, _) = access_token(
        client_credentials(
            &app,
            &client,
            &[("resource", ORDERS), ("resource", BILLING)],
        )
        .await,
    )
    .await;
    assert_eq!(claims(&token)["aud"], json!([ORDERS, BILLING]));
    // No resource and no default: the issuer audience, as before.
    let (token, _) = access_token(client_credentials(&app, &client, &[]).await).await;
    assert_eq!(claims(&token)["aud"], json!(app.address));
}

async fn scopes_are_limited_to_the_resource(backend: Backend) {
    let (app, client) = setup(backend).await;
    // The registered scope, limited to what the resource defines.
    let (token, body) =
        access_token(client_credentials(&app, &client, &[("resource", ORDERS)]).await).await;
    assert_eq!(body["scope"], "orders:read");
    assert_eq!(claims(&token)["scope"], "orders:read");
    // A scope the resource defines may be asked for by a client allowed the resource.
    let (_, body) = access_token(
        client_credentials(
            &app,
            &client,
            &[("resource", ORDERS), ("scope", "orders:write")],
        )
        .await,
    )
    .await;
    assert_eq!(body["scope"], "orders:write");
    // The client's own scope of another API is not granted for this one.
    assert_error(
        client_credentials(
            &app,
            &client,
            &[("resource", ORDERS), ("scope", "billing:read")],
        )
        .await,
        400,
        "invalid_scope",
        "The requested scope is not defined by the requested resource",
    )
    .await;
    // Nor is a scope of a resource the request does not name.
    assert_error(
        client_credentials(
            &app,
            &client,
            &[("resource", BILLING), ("scope", "orders:write")],
        )
        .await,
        400,
        "invalid_scope",
        "The requested scope exceeds the scope registered for the client",
    )
    .await;
}

async fn an_unknown_resource_is_invalid_target(backend: Backend) {
    let (app, client) = setup(backend).await;
    assert_error(
        client_credentials(&app, &client, &[("resource", "https://unknown.example/")]).await,
        400,
        "invalid_target",
        "The resource is unknown or not allowed for this client",
    )
    .await;
    for malformed in ["not a uri", "/relative", "https://orders.example/api#frag"] {
        assert_error(
            client_credentials(&app, &client, &[("resource", malformed)]).await,
            400,
            "invalid_target",
            "The resource must be an absolute URI without a fragment",
        )
        .await;
    }
    // At /authorize the refusal goes back to the client, with its state.
    let web = app.web_client(true, false).await;
    let url = format!(
        "/authorize?response_type=code&client_id={}&redirect_uri={REDIRECT_URI}&scope=openid&state=s1&resource=https%3A%2F%2Funknown.example%2F",
        web.id
    );
    let to = location(&app.browser().get(&url).await);
    assert!(to.starts_with(REDIRECT_URI), "{to}");
    assert_eq!(query(&to, "error").as_deref(), Some("invalid_target"));
    assert_eq!(query(&to, "state").as_deref(), Some("s1"));
}

async fn a_client_not_allowed_a_resource_gets_invalid_target(backend: Backend) {
    let (app, client) = setup(backend).await;
    // OTHER exists, but this client is not allowed it.
    assert_error(
        client_credentials(&app, &client, &[("resource", ORDERS), ("resource", OTHER)]).await,
        400,
        "invalid_target",
        "The resource is unknown or not allowed for this client",
    )
    .await;
    // The password grant too.
    app.user("alice", PASSWORD).await;
    let password_client = app.password_client().await;
    let response = app
        .token(
            &[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", PASSWORD),
                ("resource", ORDERS),
            ],
            Some(&password_client),
        )
        .await;
    assert_error(
        response,
        400,
        "invalid_target",
        "The resource is unknown or not allowed for this client",
    )
    .await;
}

async fn a_refresh_can_narrow_but_not_widen_resources(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    api(&app, ORDERS, "orders:read orders:write", None).await;
    api(&app, BILLING, "billing:read", None).await;
    api(&app, OTHER, "other:read", None).await;
    app.user("alice", PASSWORD).await;
    let web = app.web_client(true, false).await;
    allow(&app, &web, &[ORDERS, BILLING, OTHER], None).await;
    let browser = app.browser();
    let response = code_flow_for(
        &app,
        &browser,
        &web,
        "openid offline_access orders:read billing:read",
        &[ORDERS, BILLING],
    )
    .await;
    let (token, body) = access_token(response).await;
    assert_eq!(claims(&token)["aud"], json!([ORDERS, BILLING]));
    assert_eq!(
        body["scope"],
        "openid offline_access orders:read billing:read"
    );
    let refresh = |token: String, extra: Vec<(&'static str, &'static str)>| {
        let (app, web) = (&app, &web);
        async move {
            let mut form = vec![
                ("grant_type", "refresh_token"),
                ("refresh_token", token.as_str()),
            ];
            form.extend(extra);
            app.token(&form, Some(web)).await
        }
    };
    // Narrowed to one resource: its aud and its scopes only.
    let rt = body["refresh_token"].as_str().unwrap().to_owned();
    let (token, body) = access_token(refresh(rt, vec![("resource", BILLING)]).await).await;
    assert_eq!(claims(&token)["aud"], json!(BILLING));
    assert_eq!(body["scope"], "openid offline_access billing:read");
    // The family keeps both: the next refresh without `resource` gets both back.
    let rt = body["refresh_token"].as_str().unwrap().to_owned();
    let (token, body) = access_token(refresh(rt, vec![]).await).await;
    assert_eq!(claims(&token)["aud"], json!([ORDERS, BILLING]));
    // Never wider: a resource the client may have but was not granted is invalid_target.
    let rt = body["refresh_token"].as_str().unwrap().to_owned();
    assert_error(
        refresh(rt, vec![("resource", OTHER)]).await,
        400,
        "invalid_target",
        "The resource was not part of the original grant",
    )
    .await;
}

async fn introspection_returns_aud(backend: Backend) {
    let (app, client) = setup(backend).await;
    let (token, _) = access_token(
        client_credentials(
            &app,
            &client,
            &[("resource", ORDERS), ("resource", BILLING)],
        )
        .await,
    )
    .await;
    let response = app
        .http
        .post(app.url("/introspect"))
        .basic_auth(&client.id, client.secret.as_deref())
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["active"], true);
    assert_eq!(body["aud"], json!([ORDERS, BILLING]));
    assert_eq!(body["scope"], "orders:read billing:read");
}

async fn per_client_access_token_lifetime(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    api(&app, ORDERS, "orders:read", Some(60)).await;
    api(&app, BILLING, "billing:read", None).await;
    let client = app.service_client().await;
    allow(&app, &client, &[ORDERS, BILLING], Some(120)).await;
    let expiry = |body: &Value, token: &str| {
        let c = claims(token);
        (
            body["expires_in"].as_i64().unwrap(),
            c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(),
        )
    };
    // The client's lifetime, for its own tokens and for a resource without one.
    for extra in [vec![], vec![("resource", BILLING)]] {
        let (token, body) = access_token(client_credentials(&app, &client, &extra).await).await;
        assert_eq!(expiry(&body, &token), (120, 120));
    }
    // The resource's own lifetime wins over the client's.
    let (token, body) =
        access_token(client_credentials(&app, &client, &[("resource", ORDERS)]).await).await;
    assert_eq!(expiry(&body, &token), (60, 60));
    // A client without its own lifetime gets the global one.
    let other = app.service_client().await;
    let (token, body) = access_token(client_credentials(&app, &other, &[]).await).await;
    let global = app.state.settings.tokens.access_token_ttl_secs;
    assert_eq!(expiry(&body, &token), (global, global));
    // Every grant: the password grant too.
    app.user("alice", PASSWORD).await;
    let password_client = app.password_client().await;
    allow(&app, &password_client, &[], Some(300)).await;
    let form = [
        ("grant_type", "password"),
        ("username", "alice"),
        ("password", PASSWORD),
    ];
    let (token, body) = access_token(app.token(&form, Some(&password_client)).await).await;
    assert_eq!(expiry(&body, &token), (300, 300));
}

async fn client_credentials_with_a_resource_touches_no_database(backend: Backend) {
    let dir = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let mut settings = test_settings(backend, dir.path());
    // As in the client-cache test: no background pool work during the measurement.
    settings.keys.refresh_interval_secs = 3600;
    settings.keys.publication_lead_secs = 3900;
    settings.database.change_poll_interval_ms = 60_000;
    let app = TestApp::spawn_with(dir, settings).await;
    api(&app, ORDERS, "orders:read orders:write", Some(60)).await;
    let client = app.service_client().await;
    allow(&app, &client, &[ORDERS], None).await;
    let generations = latchkey::db::run(&app.state.pool, |conn| {
        latchkey::db::change_generations::current(conn).map_err(latchkey::db::DbError::from)
    })
    .await
    .unwrap();
    app.state.observe(generations).await.unwrap();
    let extra = [("resource", ORDERS), ("scope", "orders:write")];
    assert_eq!(
        client_credentials(&app, &client, &extra).await.status(),
        200
    );
    let before = app.state.pool.queries();
    for _ in 0..200 {
        let (token, _) = access_token(client_credentials(&app, &client, &extra).await).await;
        assert_eq!(claims(&token)["aud"], json!(ORDERS));
    }
    assert_eq!(
        app.state.pool.queries() - before,
        0,
        "database statements over 200 client_credentials tokens with a resource"
    );
}

async fn the_consent_page_lists_resource_scopes_with_their_descriptions(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let pool = app.state.pool.clone();
    tokio::task::spawn_blocking(move || {
        let new = NewResource {
            identifier: ORDERS.into(),
            scope: "orders:read".into(),
            descriptions: vec![("orders:read".into(), "See your orders".into())],
            access_token_ttl_secs: None,
            public: false,
        };
        latchkey::admin::resources::add(
            &mut pool.get().unwrap(),
            &crate::helpers::by_cli(NOW),
            &new,
        )
    })
    .await
    .unwrap()
    .unwrap();
    app.user("alice", PASSWORD).await;
    let web = app.web_client(false, false).await;
    allow(&app, &web, &[ORDERS], None).await;
    let browser = app.browser();
    let url = format!(
        "/authorize?response_type=code&client_id={}&redirect_uri={REDIRECT_URI}&scope=openid+orders%3Aread&resource=https%3A%2F%2Forders.example%2Fapi",
        web.id
    );
    let login = location(&browser.get(&url).await);
    let consent = location(&browser.log_in(&login, "alice", PASSWORD).await);
    let html = browser.get(&consent).await.text().await.unwrap();
    assert!(
        html.contains(&format!("See your orders ({ORDERS})")),
        "{html}"
    );
    // Approving issues a code bound to the resource.
    let callback = location(&browser.consent(&consent, true).await);
    assert!(query(&callback, "code").is_some(), "{callback}");
}
