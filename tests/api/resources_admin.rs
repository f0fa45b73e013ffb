//! Managing API resources (RFC 8707): the CLI, the admin API, the admin pages, and registration
//! metadata that binds resources (any with the admin token, only public ones without).

use latchkey::admin::resources::NewResource;
use serde_json::{json, Value};

use crate::backend_tests;
use crate::cli::{run_owned, stdout_json};
use crate::helpers::{location, test_settings, Backend, TestApp, TestClient, NOW, REDIRECT_URI};
use crate::resources::{access_token, api, claims, client_credentials, BILLING, ORDERS, OTHER};

backend_tests!(
    resources_are_managed_with_the_cli,
    the_admin_api_manages_resources,
    registration_binds_only_public_resources_without_the_admin_token,
    the_admin_pages_manage_resources,
);

async fn resources_are_managed_with_the_cli(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let settings = &app.state.settings;
    let (url, key) = (
        settings.database.url.clone(),
        settings.keys.master_key_file.display().to_string(),
    );
    let envs = [
        ("LATCHKEY__DATABASE__URL", url.as_str()),
        ("LATCHKEY__KEYS__MASTER_KEY_FILE", key.as_str()),
    ];
    let added = stdout_json(
        &run_owned(
            &envs,
            &[
                "resource",
                "add",
                ORDERS,
                "--scope",
                "orders:read orders:write",
                "--scope-description",
                "orders:read=See your orders",
                "--access-token-ttl",
                "90",
                "--json",
            ],
        )
        .await,
    );
    assert_eq!(added["resource"], ORDERS);
    assert_eq!(added["access_token_ttl_secs"], 90);
    assert_eq!(
        added["scopes"][0],
        json!({"scope": "orders:read", "description": "See your orders"})
    );
    let refused = run_owned(&envs, &["resource", "add", "not-a-uri", "--scope", "x"]).await;
    assert!(!refused.status.success());
    let client = stdout_json(
        &run_owned(
            &envs,
            &[
                "client",
                "add",
                "Worker",
                "--grant",
                "client_credentials",
                "--scope",
                "orders:read",
                "--resource",
                ORDERS,
                "--default-resource",
                ORDERS,
                "--access-token-ttl",
                "600",
                "--json",
            ],
        )
        .await,
    );
    assert_eq!(client["resources"], json!([ORDERS]));
    assert_eq!(client["default_resource"], ORDERS);
    assert_eq!(client["access_token_ttl_secs"], 600);
    let worker = TestClient {
        id: client["client_id"].as_str().unwrap().to_owned(),
        secret: Some(client["client_secret"].as_str().unwrap().to_owned()),
    };
    // No `resource`: the client's default resource, with its lifetime.
    let (token, body) = access_token(client_credentials(&app, &worker, &[]).await).await;
    assert_eq!(claims(&token)["aud"], json!(ORDERS));
    assert_eq!(body["expires_in"], 90);
    let shown = stdout_json(&run_owned(&envs, &["resource", "show", ORDERS, "--json"]).await);
    assert_eq!(shown["clients"], json!([worker.id]));
    let listed = stdout_json(&run_owned(&envs, &["resource", "list", "--json"]).await);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let updated = stdout_json(
        &run_owned(
            &envs,
            &[
                "client",
                "update",
                &worker.id,
                "--resource",
                "none",
                "--json",
            ],
        )
        .await,
    );
    assert_eq!(updated["resources"], json!([]));
    assert!(run_owned(&envs, &["resource", "remove", ORDERS])
        .await
        .status
        .success());
    let listed = stdout_json(&run_owned(&envs, &["resource", "list", "--json"]).await);
    assert_eq!(listed, json!([]));
}

async fn the_admin_api_manages_resources(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, token) = crate::admin::admin_token(&app).await;
    let http = &app.http;
    let call = |method: reqwest::Method, path: String, body: Option<Value>| {
        let request = http.request(method, app.url(&path)).bearer_auth(&token);
        let request = match body {
            Some(body) => request.json(&body),
            None => request,
        };
        async move { request.send().await.unwrap() }
    };
    use reqwest::Method;
    let list = "/admin/api/resources".to_owned();
    let created = call(
        Method::POST,
        list.clone(),
        Some(json!({
            "resource": ORDERS,
            "scope": "orders:read",
            "scope_descriptions": {"orders:read": "See your orders"},
            "access_token_ttl_secs": 120
        })),
    )
    .await;
    assert_eq!(created.status(), 201);
    let again = Some(json!({"resource": ORDERS, "scope": "orders:read"}));
    assert_eq!(call(Method::POST, list.clone(), again).await.status(), 409);
    let encoded: String = url::form_urlencoded::byte_serialize(ORDERS.as_bytes()).collect();
    let item = format!("/admin/api/resources/{encoded}");
    let shown: Value = call(Method::GET, item.clone(), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(shown["resource"], ORDERS);
    assert_eq!(shown["access_token_ttl_secs"], 120);
    let client = app.service_client().await;
    let binding = format!("/admin/api/clients/{}/resources", client.id);
    let body = Some(json!({"resources": [ORDERS], "default_resource": ORDERS}));
    let bound: Value = call(Method::PUT, binding.clone(), body)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(bound["resources"], json!([ORDERS]));
    let (token_for_api, _) = access_token(client_credentials(&app, &client, &[]).await).await;
    assert_eq!(claims(&token_for_api)["aud"], json!(ORDERS));
    let unknown = Some(json!({"resources": [BILLING]}));
    assert_eq!(call(Method::PUT, binding, unknown).await.status(), 400);
    assert_eq!(call(Method::DELETE, item, None).await.status(), 204);
    let listed: Value = call(Method::GET, list, None).await.json().await.unwrap();
    assert_eq!(listed, json!({"resources": []}));
    // Without the admin token: refused.
    let anonymous = http
        .get(app.url("/admin/api/resources"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}

async fn registration_binds_only_public_resources_without_the_admin_token(backend: Backend) {
    let dir = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let mut settings = test_settings(backend, dir.path());
    settings.registration.open = true;
    let app = TestApp::spawn_with(dir, settings).await;
    api(&app, ORDERS, "orders:read", None).await;
    let pool = app.state.pool.clone();
    tokio::task::spawn_blocking(move || {
        let new = NewResource {
            identifier: OTHER.into(),
            scope: "other:read".into(),
            public: true,
            ..NewResource::default()
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
    let metadata = |resource: &str| {
        json!({
            "client_name": "Agent",
            "redirect_uris": [REDIRECT_URI],
            "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code"],
            "resources": [resource],
            "default_resource": resource,
        })
    };
    // Open registration may not bind a resource that is not public.
    let refused = crate::admin::register(&app, None, metadata(ORDERS)).await;
    assert_eq!(refused.status(), 400);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client_metadata");
    assert_eq!(
        body["error_description"],
        format!("resource `{ORDERS}` is not open to registered clients")
    );
    // A public resource it may.
    let open = crate::admin::register(&app, None, metadata(OTHER)).await;
    assert_eq!(open.status(), 201);
    let body: Value = open.json().await.unwrap();
    assert_eq!(body["resources"], json!([OTHER]));
    assert_eq!(body["default_resource"], OTHER);
    // The admin token may bind any resource.
    let (_, token) = crate::admin::admin_token(&app).await;
    let admin = crate::admin::register(&app, Some(&token), metadata(ORDERS)).await;
    assert_eq!(admin.status(), 201);
    let body: Value = admin.json().await.unwrap();
    assert_eq!(body["resources"], json!([ORDERS]));
    rfc7592_updates_keep_only_held_or_public_resources(&app, &body).await;
}

/// An RFC 7592 update with the client's own token: naming no resources keeps them; it may keep a
/// resource an administrator gave and add public ones, never add one that is not public.
async fn rfc7592_updates_keep_only_held_or_public_resources(app: &TestApp, registered: &Value) {
    let id = registered["client_id"].as_str().unwrap().to_owned();
    let mut token = registered["registration_access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let update = |token: &str, resources: Option<Value>| {
        let mut metadata = json!({
            "client_id": id,
            "client_name": "Agent, renamed",
            "redirect_uris": [REDIRECT_URI],
            "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code"],
        });
        if let Some(resources) = resources {
            metadata["resources"] = resources;
        }
        let request = app
            .http
            .put(app.url(&format!("/register/{id}")))
            .bearer_auth(token)
            .json(&metadata);
        async move { request.send().await.unwrap() }
    };
    let kept = update(&token, None).await;
    assert_eq!(kept.status(), 200);
    let body: Value = kept.json().await.unwrap();
    assert_eq!(body["client_name"], "Agent, renamed");
    assert_eq!(body["resources"], json!([ORDERS]));
    token = body["registration_access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let widened = update(&token, Some(json!([ORDERS, OTHER]))).await;
    assert_eq!(widened.status(), 200);
    let body: Value = widened.json().await.unwrap();
    assert_eq!(body["resources"], json!([ORDERS, OTHER]));
    token = body["registration_access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let narrowed = update(&token, Some(json!([OTHER]))).await;
    assert_eq!(narrowed.status(), 200);
    let body: Value = narrowed.json().await.unwrap();
    assert_eq!(body["resources"], json!([OTHER]));
    token = body["registration_access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    // Given up, the administrator's resource cannot be taken back by the client itself.
    let refused = update(&token, Some(json!([ORDERS]))).await;
    assert_eq!(refused.status(), 400);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client_metadata");
    let shown = app
        .http
        .get(app.url(&format!("/register/{id}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let body: Value = shown.json().await.unwrap();
    assert_eq!(
        body["resources"],
        json!([OTHER]),
        "the refused update changed nothing"
    );
}

async fn the_admin_pages_manage_resources(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let browser = app.browser();
    let html = crate::admin_pages::sign_in(&app, &browser, "root", true)
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains(r#"href="/admin/resources""#), "{html}");
    let csrf = crate::helpers::hidden(&html, "csrf");
    let page = browser.get("/admin/resources").await.text().await.unwrap();
    assert!(page.contains("No API resources yet."), "{page}");
    let added = browser
        .post(
            "/admin/resources",
            &[
                ("csrf", csrf.as_str()),
                ("resource", ORDERS),
                ("scope", "orders:read"),
                ("access_token_ttl", "60"),
            ],
        )
        .await;
    assert_eq!(location(&added), "/admin/resources");
    let page = browser.get("/admin/resources").await.text().await.unwrap();
    assert!(page.contains(ORDERS), "{page}");
    let client = app.service_client().await;
    let bound = browser
        .post(
            "/admin/resources/client",
            &[
                ("csrf", csrf.as_str()),
                ("client_id", client.id.as_str()),
                ("resources", ORDERS),
                ("default_resource", ORDERS),
            ],
        )
        .await;
    assert_eq!(location(&bound), "/admin/resources");
    let (token, body) = access_token(client_credentials(&app, &client, &[]).await).await;
    assert_eq!(claims(&token)["aud"], json!(ORDERS));
    assert_eq!(body["expires_in"], 60);
    // A form without the CSRF token changes nothing.
    let forged = browser
        .post("/admin/resources/remove", &[("resource", ORDERS)])
        .await;
    assert!(forged.status().is_client_error(), "{}", forged.status());
    let removed = browser
        .post(
            "/admin/resources/remove",
            &[("csrf", csrf.as_str()), ("resource", ORDERS)],
        )
        .await;
    assert_eq!(location(&removed), "/admin/resources");
    let page = browser.get("/admin/resources").await.text().await.unwrap();
    assert!(page.contains("No API resources yet."), "{page}");
}
