//! Set-password links made by an administrator, with no email configured: from the CLI, the
//! admin API and the admin user page; each works once, expires, and is audited with the acting
//! administrator.

use reqwest::Method;
use serde_json::{json, Value};

use crate::admin_pages::sign_in as admin_sign_in;
use crate::backend_tests;
use crate::brute_force::admin_token;
use crate::cli::{latchkey, stdout_json};
use crate::helpers::{hidden, test_settings, Backend, TestApp, NOW};
use crate::password_reset::{password_grant, refresh_client, use_link};

backend_tests!(
    a_cli_password_link_sets_the_password_once,
    the_admin_api_and_the_admin_page_make_password_links,
);

const NEW_PASSWORD: &str = "correct horse battery staple";

/// Runs the CLI against `app`'s database and issuer.
async fn cli(app: &TestApp, args: &'static [&'static str]) -> std::process::Output {
    let settings = &app.state.settings;
    let envs = [
        (
            "LATCHKEY__DATABASE__URL".to_owned(),
            settings.database.url.clone(),
        ),
        (
            "LATCHKEY__KEYS__MASTER_KEY_FILE".to_owned(),
            settings.keys.master_key_file.display().to_string(),
        ),
        ("LATCHKEY__ISSUER".to_owned(), app.address.clone()),
    ];
    tokio::task::spawn_blocking(move || {
        let envs: Vec<(&str, &str)> = envs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        latchkey(&envs, args, None)
    })
    .await
    .unwrap()
}

async fn a_cli_password_link_sets_the_password_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user("alice", "alice's password").await;
    let made = stdout_json(&cli(&app, &["user", "password-link", "alice", "--json"]).await);
    assert_eq!(made["username"], "alice");
    assert_eq!(made["expires_in"], 259_200, "email.password_link_ttl_secs");
    let url = made["url"].as_str().unwrap().to_owned();
    assert!(url.starts_with(&app.url("/password/reset?token=")), "{url}");
    let real_now = chrono::Utc::now().timestamp();
    let expires_at = made["expires_at"].as_i64().unwrap();
    assert!((real_now + 259_190..=real_now + 259_200).contains(&expires_at));
    // The CLI stamps the link with the real time, the server under test runs on its own clock
    // (ahead of it): move the link to the server's time.
    shift_links_to(&app, NOW).await;

    let browser = app.browser();
    let page = browser.get(&url).await.text().await.unwrap();
    assert!(page.contains("<h1>Set your password</h1>"), "{page}");
    let done = use_link(&browser, &url, NEW_PASSWORD).await;
    assert_eq!(done.status(), 200);
    assert!(done.text().await.unwrap().contains("Your password is set"));
    assert_eq!(browser.get(&url).await.status(), 400, "once only");
    let client = refresh_client(&app).await;
    assert_eq!(
        password_grant(&app, &client, "alice", NEW_PASSWORD).await.0,
        200
    );

    // The text form prints the link alone on stdout; a lifetime out of range is refused.
    let text = cli(&app, &["user", "password-link", "alice", "--ttl", "600"]).await;
    assert!(text.status.success());
    let printed = String::from_utf8(text.stdout).unwrap();
    assert!(printed
        .trim()
        .starts_with(&app.url("/password/reset?token=")));
    assert_eq!(printed.lines().count(), 1);
    let short = cli(&app, &["user", "password-link", "alice", "--ttl", "10"]).await;
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr)
        .contains("the link's lifetime must be from 60 seconds to 30 days"));
    let unknown = cli(&app, &["user", "password-link", "nobody"]).await;
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("user `nobody` not found"));
}

/// Restamps every stored link as made at `now`, valid for ten minutes.
async fn shift_links_to(app: &TestApp, now: i64) {
    use diesel::{ExpressionMethods, RunQueryDsl};
    use latchkey::db::schema::email_tokens;
    let pool = app.state.pool.clone();
    tokio::task::spawn_blocking(move || {
        diesel::update(email_tokens::table)
            .set((
                email_tokens::created_at.eq(now),
                email_tokens::expires_at.eq(now + 600),
            ))
            .execute(&mut *pool.get().unwrap())
    })
    .await
    .unwrap()
    .unwrap();
}

async fn api(app: &TestApp, token: &str, path: &str, body: Option<Value>) -> reqwest::Response {
    let mut request = app
        .http
        .request(Method::POST, app.url(&format!("/admin/api{path}")))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

async fn the_admin_api_and_the_admin_page_make_password_links(backend: Backend) {
    let dir = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let mut settings = test_settings(backend, dir.path());
    settings.audit.store = true;
    let app = TestApp::spawn_with(dir, settings).await;
    app.user("alice", "alice's password").await;
    let token = admin_token(&app).await;
    let made = api(
        &app,
        &token,
        "/users/alice/password-link",
        Some(json!({"ttl_secs": 120})),
    )
    .await;
    assert_eq!(made.status(), 201);
    assert_eq!(made.headers()["cache-control"], "no-store");
    let made: Value = made.json().await.unwrap();
    assert_eq!(made["expires_in"], 120);
    assert_eq!(made["expires_at"], NOW + 120);
    let short_lived = made["url"].as_str().unwrap().to_owned();
    let default = api(&app, &token, "/users/alice/password-link", None).await;
    let default: Value = default.json().await.unwrap();
    assert_eq!(default["expires_in"], 259_200);
    let refused = api(&app, &token, "/users/nobody/password-link", None).await;
    assert_eq!(refused.status(), 404);
    let bad = api(
        &app,
        &token,
        "/users/alice/password-link",
        Some(json!({"ttl_secs": "x"})),
    )
    .await;
    assert_eq!(bad.status(), 400);
    let body: Value = bad.json().await.unwrap();
    assert_eq!(body["error_description"], "`ttl_secs` must be an integer");
    app.clock.advance(121);
    assert_eq!(
        app.browser().get(&short_lived).await.status(),
        400,
        "expired"
    );

    // The admin page's button shows a link once; it works.
    let browser = app.browser();
    admin_sign_in(&app, &browser, "root", true).await;
    let user_page = browser
        .get("/admin/users/alice")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        user_page.contains("id=\"make-password-link\""),
        "{user_page}"
    );
    let shown = browser
        .post(
            "/admin/users/alice/password-link",
            &[("csrf", &hidden(&user_page, "csrf"))],
        )
        .await;
    assert_eq!(shown.status(), 200);
    let html = shown.text().await.unwrap();
    let url = crate::admin_page_actions::code_text(&html, "password-link");
    let person = app.browser();
    assert_eq!(use_link(&person, &url, NEW_PASSWORD).await.status(), 200);
    // Using one password link spends the others.
    let other = default["url"].as_str().unwrap();
    assert_eq!(person.get(other).await.status(), 400);

    let rows = crate::email_verify::stored(&app).await;
    let root_id = latchkey_user_id(&app, "root").await;
    let by_root = |r: &&latchkey::db::audit_events::AuditEventRow| {
        r.event == "password_link_created" && r.actor == format!("user:{root_id}")
    };
    assert_eq!(rows.iter().filter(by_root).count(), 1);
    assert_eq!(
        rows.iter()
            .filter(|r| r.event == "password_link_created")
            .count(),
        3
    );
}

async fn latchkey_user_id(app: &TestApp, name: &str) -> String {
    let (pool, name) = (app.state.pool.clone(), name.to_owned());
    tokio::task::spawn_blocking(move || {
        latchkey::admin::users::show(&mut pool.get().unwrap(), &name)
    })
    .await
    .unwrap()
    .unwrap()
    .id
}
