//! The token endpoint's hot path without the database: the client cache, its invalidation in this
//! process and from other processes (the CLI), the change signal that carries key-set changes,
//! and the enforcement of each client's registered `token_endpoint_auth_method`.

use std::time::Duration;

use latchkey::domain::client::GrantType;
use serde_json::Value;

use crate::backend_tests;
use crate::cli::run_owned;
use crate::helpers::{assert_error, test_settings, within, Backend, TestApp, TestClient, NOW};

backend_tests!(
    the_client_credentials_hot_path_runs_no_database_query,
    a_client_disabled_in_this_process_stops_at_once,
    a_client_removed_in_this_process_stops_at_once,
    a_client_disabled_from_the_cli_stops_within_the_poll_bound,
    a_secret_rotated_from_the_cli_stops_the_old_one_and_the_new_one_works_at_once,
    an_immediate_rotation_from_the_cli_reaches_the_server_within_a_second,
    a_client_registered_for_basic_cannot_authenticate_with_post,
    a_client_registered_for_post_authenticates_with_post_only,
);

/// The environment the CLI needs to reach `app`'s database and master key.
fn cli_env(app: &TestApp) -> Vec<(&'static str, String)> {
    let settings = &app.state.settings;
    vec![
        ("LATCHKEY__DATABASE__URL", settings.database.url.clone()),
        (
            "LATCHKEY__KEYS__MASTER_KEY_FILE",
            settings.keys.master_key_file.display().to_string(),
        ),
    ]
}

async fn cli(app: &TestApp, args: &[&str]) {
    let env = cli_env(app);
    let envs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let output = run_owned(&envs, args).await;
    assert!(
        output.status.success(),
        "latchkey {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

async fn client_credentials(app: &TestApp, client: &TestClient) -> reqwest::Response {
    app.token(&[("grant_type", "client_credentials")], Some(client))
        .await
}

async fn the_client_credentials_hot_path_runs_no_database_query(backend: Backend) {
    let dir = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let mut settings = test_settings(backend, dir.path());
    // No key-rotation pass (background pool work) and no scheduled poll during the measurement:
    // the test confirms the cache itself, as a poll would, so a slow test machine cannot let the
    // confirmation lapse.
    settings.keys.refresh_interval_secs = 3600;
    settings.keys.publication_lead_secs = 3900;
    settings.database.change_poll_interval_ms = 60_000;
    let app = TestApp::spawn_with(dir, settings).await;
    let client = app.service_client().await;
    let generations = latchkey::db::run(&app.state.pool, |conn| {
        latchkey::db::change_generations::current(conn).map_err(latchkey::db::DbError::from)
    })
    .await
    .unwrap();
    app.state.observe(generations).await.unwrap();
    // The first request reads the client once and the cache holds it.
    assert_eq!(client_credentials(&app, &client).await.status(), 200);
    let before = app.state.pool.queries();
    for _ in 0..1000 {
        let response = client_credentials(&app, &client).await;
        assert_eq!(response.status(), 200);
    }
    let queries = app.state.pool.queries() - before;
    assert_eq!(
        queries, 0,
        "database statements over 1,000 client_credentials tokens"
    );
}

async fn a_client_disabled_in_this_process_stops_at_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = app.service_client().await;
    assert_eq!(client_credentials(&app, &client).await.status(), 200);
    let (pool, id) = (app.state.pool.clone(), client.id.clone());
    tokio::task::spawn_blocking(move || {
        latchkey::admin::clients::set_disabled(
            &mut pool.get().unwrap(),
            &crate::helpers::by_cli(NOW),
            &id,
            true,
        )
    })
    .await
    .unwrap()
    .unwrap();
    assert_error(
        client_credentials(&app, &client).await,
        401,
        "invalid_client",
        "Client authentication failed",
    )
    .await;
    let (pool, id) = (app.state.pool.clone(), client.id.clone());
    tokio::task::spawn_blocking(move || {
        latchkey::admin::clients::set_disabled(
            &mut pool.get().unwrap(),
            &crate::helpers::by_cli(NOW),
            &id,
            false,
        )
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(client_credentials(&app, &client).await.status(), 200);
}

async fn a_client_removed_in_this_process_stops_at_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = app.service_client().await;
    assert_eq!(client_credentials(&app, &client).await.status(), 200);
    let (pool, id) = (app.state.pool.clone(), client.id.clone());
    tokio::task::spawn_blocking(move || {
        latchkey::admin::clients::remove(&mut pool.get().unwrap(), &crate::helpers::by_cli(0), &id)
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(client_credentials(&app, &client).await.status(), 401);
}

/// The stated bound: one change-poll interval (500 ms by default), plus the poll itself. A second
/// leaves room for a loaded test machine; anything near it would still be a failure of design.
const BOUND: Duration = Duration::from_secs(2);

async fn a_client_disabled_from_the_cli_stops_within_the_poll_bound(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = app.service_client().await;
    assert_eq!(client_credentials(&app, &client).await.status(), 200);
    cli(&app, &["client", "disable", &client.id]).await;
    let took = within(BOUND, || async {
        client_credentials(&app, &client).await.status() == 401
    })
    .await;
    assert!(took.is_some(), "a client disabled by the CLI kept working");
    cli(&app, &["client", "enable", &client.id]).await;
    // Enabling reaches the server at once: a failed check against the cache asks the database.
    assert_eq!(client_credentials(&app, &client).await.status(), 200);
    cli(&app, &["client", "remove", &client.id]).await;
    let took = within(BOUND, || async {
        client_credentials(&app, &client).await.status() == 401
    })
    .await;
    assert!(took.is_some(), "a client removed by the CLI kept working");
}

async fn a_secret_rotated_from_the_cli_stops_the_old_one_and_the_new_one_works_at_once(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let client = app.service_client().await;
    assert_eq!(client_credentials(&app, &client).await.status(), 200);
    let env = cli_env(&app);
    let envs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let output = run_owned(&envs, &["client", "rotate-secret", &client.id, "--json"]).await;
    let rotated: Value = crate::cli::stdout_json(&output);
    let fresh = TestClient {
        id: client.id.clone(),
        secret: Some(rotated["client_secret"].as_str().unwrap().to_owned()),
    };
    assert_eq!(client_credentials(&app, &fresh).await.status(), 200);
    let took = within(BOUND, || async {
        client_credentials(&app, &client).await.status() == 401
    })
    .await;
    assert!(took.is_some(), "the old secret kept working");
    assert_eq!(client_credentials(&app, &fresh).await.status(), 200);
}

async fn an_immediate_rotation_from_the_cli_reaches_the_server_within_a_second(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = app.service_client().await;
    let before = app.state.keys.load().active().unwrap().kid.clone();
    cli(&app, &["keys", "rotate", "--immediately"]).await;
    let took = within(BOUND, || async {
        let response = client_credentials(&app, &client).await;
        let body: Value = response.json().await.unwrap();
        let token = body["access_token"].as_str().unwrap();
        let kid = jsonwebtoken::decode_header(token).unwrap().kid.unwrap();
        // Whatever key signs is one this server's own JWKS already serves.
        let jwks: Value = app.get("/jwks").await.json().await.unwrap();
        assert!(
            jwks["keys"]
                .as_array()
                .unwrap()
                .iter()
                .any(|k| k["kid"] == kid.as_str()),
            "a token was signed by {kid}, which the JWKS does not serve"
        );
        kid != before
    })
    .await;
    assert!(
        took.is_some(),
        "the server kept signing with the replaced key"
    );
}

/// `POST /token` with the client's credentials in the form body (`client_secret_post`).
async fn with_post(app: &TestApp, client: &TestClient) -> reqwest::Response {
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", client.id.as_str()),
        ("client_secret", client.secret.as_deref().unwrap()),
    ];
    app.token(&form, None).await
}

async fn a_client_registered_for_basic_cannot_authenticate_with_post(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = app.service_client().await;
    assert_error(
        with_post(&app, &client).await,
        401,
        "invalid_client",
        "The client is registered for token_endpoint_auth_method client_secret_basic",
    )
    .await;
}

async fn a_client_registered_for_post_authenticates_with_post_only(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = app
        .client_with_method(
            &[GrantType::ClientCredentials],
            "api:read",
            "client_secret_post",
        )
        .await;
    assert_eq!(with_post(&app, &client).await.status(), 200);
    assert_error(
        client_credentials(&app, &client).await,
        401,
        "invalid_client",
        "The client is registered for token_endpoint_auth_method client_secret_post",
    )
    .await;
}
