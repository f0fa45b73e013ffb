//! A flood of password checks: a fixed set of workers behind a bounded queue; beyond it, 503
//! `temporarily_unavailable` (or the login page's "busy") at once, and nothing is counted.

use std::sync::Arc;
use std::time::Duration;

use crate::authorization::authorize_url;
use crate::backend_tests;
use crate::helpers::{assert_error, hidden, location, test_settings, Backend, TestApp};

backend_tests!(
    a_password_flood_beyond_the_queue_gets_503_at_once_and_is_not_counted,
    the_login_page_says_busy_during_a_password_flood,
);

/// A server with one password worker and one waiting place, the worker held until `release`.
async fn flooded(backend: Backend) -> (TestApp, std::sync::mpsc::Sender<()>) {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let mut settings = test_settings(backend, dir.path());
    settings.passwords.max_concurrent = 1;
    settings.passwords.max_queued = 1;
    let app = TestApp::spawn_with(dir, settings).await;
    let (release, held) = std::sync::mpsc::channel::<()>();
    let passwords = app.state.passwords.clone();
    tokio::spawn(async move { passwords.run(move |_| held.recv()).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    (app, release)
}

async fn a_password_flood_beyond_the_queue_gets_503_at_once_and_is_not_counted(backend: Backend) {
    let (app, release) = flooded(backend).await;
    let client = app.password_client().await;
    app.user("alice", "correct horse battery").await;
    let guess = |username: &'static str, password: &'static str| {
        let form = [
            ("grant_type", "password"),
            ("username", username),
            ("password", password),
        ];
        let request = app
            .http
            .post(app.url("/token"))
            .basic_auth(&client.id, client.secret.as_deref())
            .form(&form);
        async move { request.send().await.unwrap() }
    };
    // One check takes the only waiting place…
    let queued = tokio::spawn(guess("bob", "a guess"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    // …so every further one is refused at once.
    for _ in 0..3 {
        let refused = tokio::time::timeout(Duration::from_secs(5), guess("alice", "wrong"))
            .await
            .expect("refused at once, not queued");
        assert_eq!(refused.headers()["retry-after"], "1");
        assert_error(
            refused,
            503,
            "temporarily_unavailable",
            "The service is busy; retry in a moment",
        )
        .await;
    }
    // An admin setting a password waits in the same queue, and is refused the same way.
    let token = crate::brute_force::admin_token(&app).await;
    let reset = app
        .http
        .put(app.url("/admin/api/users/alice/password"))
        .bearer_auth(&token)
        .json(&serde_json::json!({ "password": "a brand new passphrase" }))
        .send()
        .await
        .unwrap();
    assert_error(
        reset,
        503,
        "temporarily_unavailable",
        "The service is busy; retry in a moment",
    )
    .await;
    release.send(()).unwrap();
    assert_eq!(queued.await.unwrap().status(), 400);
    // The refused attempts were never checked, so they count as nothing: alice still has her
    // three tries before the first wait.
    for _ in 0..3 {
        assert_eq!(guess("alice", "wrong").await.status(), 400);
    }
    assert_eq!(guess("alice", "correct horse battery").await.status(), 429);
}

async fn the_login_page_says_busy_during_a_password_flood(backend: Backend) {
    let (app, release) = flooded(backend).await;
    app.user("alice", "alice's password").await;
    let client = app.web_client(true, false).await;
    let browser = app.browser();
    let (url, _) = authorize_url(&app, &client, "");
    let login = location(&browser.get(&url).await);
    let waiting = app.browser();
    let (url, _) = authorize_url(&app, &client, "");
    let other_login = location(&waiting.get(&url).await);
    let queued = tokio::spawn(async move { waiting.log_in(&other_login, "bob", "a guess").await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let response = browser.log_in(&login, "alice", "alice's password").await;
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "1");
    let html = response.text().await.unwrap();
    assert!(html.contains("The service is busy. Please try again in a moment."));
    assert!(
        !hidden(&html, "csrf").is_empty(),
        "the form is offered again"
    );
    release.send(()).unwrap();
    assert_eq!(queued.await.unwrap().status(), 200);
    let response = browser.log_in(&login, "alice", "alice's password").await;
    assert!(location(&response).starts_with(crate::helpers::REDIRECT_URI));
}
