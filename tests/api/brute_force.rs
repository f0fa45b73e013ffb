//! Brute force and credential stuffing against the password grant and the login page: counters
//! per (account, address), per address and per account, in the database, on the test clock.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use crate::authorization::authorize_url;
use crate::backend_tests;
use crate::cli::run_owned;
use crate::helpers::{assert_error, hidden, location, test_settings, Backend, TestApp, TestClient};

backend_tests!(
    password_guessing_from_one_address_backs_off_exponentially_until_a_success,
    a_throttled_guess_is_refused_at_once_without_a_password_check,
    password_spraying_from_one_address_is_throttled,
    guessing_from_many_addresses_soft_locks_the_account_until_an_admin_unlocks_it,
    the_cli_unlocks_a_throttled_account,
    an_admin_unlocks_a_throttled_account_from_the_admin_pages,
    login_form_guessing_shows_only_a_generic_wait,
    one_login_page_allows_a_bounded_number_of_failures,
    throttled_and_locked_attempts_are_counted_in_the_login_metrics,
);

const PASSWORD: &str = "correct horse battery";

/// A password-grant login (a guess, or the right password) from the test's own address.
pub(crate) async fn guess(
    app: &TestApp,
    client: &TestClient,
    username: &str,
    password: &str,
) -> reqwest::Response {
    let form = [
        ("grant_type", "password"),
        ("username", username),
        ("password", password),
    ];
    app.token(&form, Some(client)).await
}

/// A guess sent from another loopback address (all of 127.0.0.0/8 reaches the server).
async fn guess_from(
    app: &TestApp,
    client: &TestClient,
    from: &str,
    username: &str,
    password: &str,
) -> reqwest::Response {
    let http = reqwest::Client::builder()
        .local_address(from.parse::<IpAddr>().ok())
        .build()
        .unwrap();
    http.post(app.url("/token"))
        .basic_auth(&client.id, client.secret.as_deref())
        .form(&[
            ("grant_type", "password"),
            ("username", username),
            ("password", password),
        ])
        .send()
        .await
        .expect("POST /token")
}

async fn assert_wrong(response: reqwest::Response) {
    assert_error(
        response,
        400,
        "invalid_grant",
        "Invalid username or password",
    )
    .await;
}

async fn assert_throttled(response: reqwest::Response, retry_after: &str) {
    assert_eq!(
        response
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap()),
        Some(retry_after)
    );
    assert_error(
        response,
        429,
        "invalid_grant",
        "Too many failed attempts; retry later",
    )
    .await;
}

/// The three wrong guesses from one address that one account allows before the first wait.
async fn three_wrong_guesses(app: &TestApp, client: &TestClient) {
    for _ in 0..3 {
        assert_wrong(guess(app, client, "alice", "wrong guess").await).await;
    }
}

/// Three wrong guesses, then even the right password waits a minute.
async fn guess_until_throttled(app: &TestApp, client: &TestClient) {
    three_wrong_guesses(app, client).await;
    assert_throttled(guess(app, client, "alice", PASSWORD).await, "60").await;
}

async fn password_guessing_from_one_address_backs_off_exponentially_until_a_success(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let client = app.password_client().await;
    app.user("alice", PASSWORD).await;
    three_wrong_guesses(&app, &client).await;
    // Even the right password is refused while the pair waits: no answer tells a guess apart.
    assert_throttled(guess(&app, &client, "alice", PASSWORD).await, "60").await;
    assert_throttled(guess(&app, &client, "ALICE", PASSWORD).await, "60").await;
    app.clock.advance(60);
    assert_wrong(guess(&app, &client, "alice", "wrong again").await).await;
    assert_throttled(guess(&app, &client, "alice", PASSWORD).await, "120").await;
    app.clock.advance(119);
    assert_throttled(guess(&app, &client, "alice", PASSWORD).await, "1").await;
    app.clock.advance(1);
    assert_eq!(guess(&app, &client, "alice", PASSWORD).await.status(), 200);
    // The success cleared the account's counters: three fresh tries, then the first wait.
    guess_until_throttled(&app, &client).await;
}

async fn a_throttled_guess_is_refused_at_once_without_a_password_check(backend: Backend) {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let mut settings = test_settings(backend, dir.path());
    settings.passwords.max_concurrent = 1;
    let app = TestApp::spawn_with(dir, settings).await;
    let client = app.password_client().await;
    app.user("alice", PASSWORD).await;
    three_wrong_guesses(&app, &client).await;
    // Hold the only password slot: any request that needs argon2 now waits.
    let (release, held) = std::sync::mpsc::channel::<()>();
    let passwords = app.state.passwords.clone();
    let holder = tokio::spawn(async move { passwords.run(move |_| held.recv()).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let unthrottled = tokio::time::timeout(
        Duration::from_millis(500),
        guess(&app, &client, "bob", "a first guess"),
    )
    .await;
    assert!(unthrottled.is_err(), "a password check waits for the slot");
    let throttled = tokio::time::timeout(
        Duration::from_secs(5),
        guess(&app, &client, "alice", "another guess"),
    )
    .await
    .expect("a throttled guess is answered without a password slot");
    assert_throttled(throttled, "60").await;
    release.send(()).unwrap();
    holder.await.unwrap().unwrap().unwrap();
}

async fn password_spraying_from_one_address_is_throttled(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = app.password_client().await;
    app.user("alice", PASSWORD).await;
    for n in 0..20 {
        let response = guess(&app, &client, &format!("user{n}"), "Summer2026!").await;
        assert_wrong(response).await;
    }
    assert_throttled(guess(&app, &client, "alice", PASSWORD).await, "60").await;
    // Another address is not affected by this one's spraying.
    let other = guess_from(&app, &client, "127.0.0.2", "alice", PASSWORD).await;
    assert_eq!(other.status(), 200);
}

pub(crate) async fn admin_token(app: &TestApp) -> String {
    let pool = app.state.pool.clone();
    let registered = tokio::task::spawn_blocking(move || {
        latchkey::admin::clients::bootstrap(
            &mut pool.get().unwrap(),
            &crate::helpers::by_cli(crate::helpers::NOW),
            &latchkey::random::OsRandom,
        )
    })
    .await
    .unwrap()
    .unwrap()
    .expect("a new admin client");
    let client = TestClient {
        id: registered.client.client_id,
        secret: registered
            .client_secret
            .map(|s| secrecy::ExposeSecret::expose_secret(&s).to_owned()),
    };
    let form = [
        ("grant_type", "client_credentials"),
        ("scope", "latchkey:admin"),
    ];
    let body: Value = app.token(&form, Some(&client)).await.json().await.unwrap();
    body["access_token"]
        .as_str()
        .expect("admin token")
        .to_owned()
}

async fn guessing_from_many_addresses_soft_locks_the_account_until_an_admin_unlocks_it(
    backend: Backend,
) {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let mut settings = test_settings(backend, dir.path());
    settings.login_throttle.account_lockout_failures = 6;
    let app = TestApp::spawn_with(dir, settings).await;
    let client = app.password_client().await;
    app.user("alice", PASSWORD).await;
    for from in ["127.0.0.2", "127.0.0.3", "127.0.0.4"] {
        for _ in 0..2 {
            let response = guess_from(&app, &client, from, "alice", "a guess").await;
            assert_wrong(response).await;
        }
    }
    // Locked for every address, with the right password too.
    let locked = guess_from(&app, &client, "127.0.0.5", "alice", PASSWORD).await;
    assert_throttled(locked, "900").await;
    let token = admin_token(&app).await;
    let unlock = |name: &'static str| {
        app.http
            .post(app.url(&format!("/admin/api/users/{name}/unlock")))
            .bearer_auth(&token)
            .send()
    };
    let missing = unlock("nobody").await.unwrap();
    assert_eq!(missing.status(), 404);
    let unlocked = unlock("alice").await.unwrap();
    assert_eq!(unlocked.status(), 200);
    // The account's own counter and its three per-address ones.
    let body: Value = unlocked.json().await.unwrap();
    assert_eq!(body, json!({ "counters_cleared": 4 }));
    let response = guess_from(&app, &client, "127.0.0.5", "alice", PASSWORD).await;
    assert_eq!(response.status(), 200);
}

async fn the_cli_unlocks_a_throttled_account(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = app.password_client().await;
    app.user("alice", PASSWORD).await;
    guess_until_throttled(&app, &client).await;
    let settings = &app.state.settings;
    let key_file = settings.keys.master_key_file.to_str().unwrap().to_owned();
    let envs = [
        ("LATCHKEY__DATABASE__URL", settings.database.url.as_str()),
        ("LATCHKEY__KEYS__MASTER_KEY_FILE", key_file.as_str()),
    ];
    let output = run_owned(&envs, &["user", "unlock", "alice", "--json"]).await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        printed,
        json!({ "ok": true, "message": "user alice unlocked (2 login counter(s) cleared)" })
    );
    assert_eq!(guess(&app, &client, "alice", PASSWORD).await.status(), 200);
}

async fn an_admin_unlocks_a_throttled_account_from_the_admin_pages(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = app.password_client().await;
    app.user("alice", PASSWORD).await;
    guess_until_throttled(&app, &client).await;
    let browser = app.browser();
    let page = crate::admin_pages::sign_in(&app, &browser, "root", true).await;
    let csrf = hidden(&page.text().await.unwrap(), "csrf");
    let unlocked = browser
        .post("/admin/users/alice/unlock", &[("csrf", &csrf)])
        .await;
    assert_eq!(location(&unlocked), "/admin?notice=user-unlocked");
    let forged = browser.post("/admin/users/alice/unlock", &[]).await;
    assert_eq!(forged.status(), 403);
    assert_eq!(guess(&app, &client, "alice", PASSWORD).await.status(), 200);
}

/// Opens the login page of a fresh authorization request; returns its URL.
async fn login_page(app: &TestApp, browser: &crate::helpers::Browser) -> String {
    let client = app.web_client(true, false).await;
    let (url, _) = authorize_url(app, &client, "");
    location(&browser.get(&url).await)
}

async fn login_form_guessing_shows_only_a_generic_wait(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user("alice", "alice's password").await;
    let browser = app.browser();
    let login = login_page(&app, &browser).await;
    for _ in 0..3 {
        let response = browser.log_in(&login, "alice", "a wrong guess").await;
        assert_eq!(response.status(), 200);
        assert!(response
            .text()
            .await
            .unwrap()
            .contains("Invalid username or password"));
    }
    let response = browser.log_in(&login, "alice", "alice's password").await;
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "60");
    let html = response.text().await.unwrap();
    assert!(
        html.contains("Too many attempts. Try again in 1 minute."),
        "{html}"
    );
    assert!(!html.contains("Invalid username or password"));
    app.clock.advance(60);
    let response = browser.log_in(&login, "alice", "alice's password").await;
    assert!(location(&response).starts_with(crate::helpers::REDIRECT_URI));
}

async fn one_login_page_allows_a_bounded_number_of_failures(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user("alice", "alice's password").await;
    let browser = app.browser();
    let login = login_page(&app, &browser).await;
    // A different name each time: no per-account counter is reached, only the page's own.
    for n in 1..5 {
        let response = browser.log_in(&login, &format!("user{n}"), "a guess").await;
        assert_eq!(response.status(), 200);
    }
    let response = browser.log_in(&login, "user5", "a guess").await;
    assert_eq!(response.status(), 429);
    let html = response.text().await.unwrap();
    assert!(html.contains("Too many failed attempts"), "{html}");
    // The pending login is gone: the person starts again from the application.
    let page = browser.get(&login).await;
    assert_eq!(page.status(), 400);
    let html = page.text().await.unwrap();
    assert!(html.contains("This sign-in has expired"), "{html}");
    assert!(!html.contains("name=\"csrf\""));
}

/// `latchkey_login_attempts_total{outcome}`: an attempt refused while its pair waits is
/// `throttled`, one refused because the account itself is locked is `locked`.
async fn throttled_and_locked_attempts_are_counted_in_the_login_metrics(backend: Backend) {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let mut settings = test_settings(backend, dir.path());
    settings.login_throttle.account_address_max_failures = 2;
    settings.login_throttle.account_lockout_failures = 3;
    let app = TestApp::spawn_with(dir, settings).await;
    let client = app.password_client().await;
    app.user("alice", PASSWORD).await;
    let outcome = |metrics: &str, outcome: &str| -> f64 {
        let series = format!(r#"latchkey_login_attempts_total{{outcome="{outcome}"}} "#);
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(series.as_str()))
            .unwrap_or_else(|| panic!("{series} missing:\n{metrics}"))
            .parse()
            .unwrap()
    };
    let scrape = || async { app.get("/metrics").await.text().await.unwrap() };
    let before = scrape().await;
    assert_eq!(outcome(&before, "throttled"), 0.0);
    assert_eq!(outcome(&before, "locked"), 0.0);
    for _ in 0..2 {
        assert_wrong(guess(&app, &client, "alice", "a guess").await).await;
    }
    // The pair waits: throttled, not locked.
    assert_throttled(guess(&app, &client, "alice", PASSWORD).await, "60").await;
    // A third failure, from elsewhere, locks the account for every address.
    assert_wrong(guess_from(&app, &client, "127.0.0.2", "alice", "a guess").await).await;
    assert_throttled(
        guess_from(&app, &client, "127.0.0.3", "alice", PASSWORD).await,
        "900",
    )
    .await;
    let after = scrape().await;
    assert_eq!(outcome(&after, "failure"), 3.0);
    assert_eq!(outcome(&after, "throttled"), 1.0);
    assert_eq!(outcome(&after, "locked"), 1.0);
    assert_eq!(outcome(&after, "success"), 0.0);
}
