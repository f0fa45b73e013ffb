//! Pending authorization requests travel sealed (DESIGN.md §2, §5b): an unauthenticated
//! `/authorize` writes nothing, and a sealed request works only unaltered, unexpired, in the
//! browser that started it, and within its bound on failed tries.

use diesel::{QueryDsl, RunQueryDsl};
use latchkey::db::schema;

use crate::authorization::authorize_url;
use crate::backend_tests;
use crate::helpers::{hidden, location, Backend, Browser, TestApp, TestClient, REDIRECT_URI};

backend_tests!(
    an_unauthenticated_authorize_writes_no_row,
    a_sealed_request_from_another_browser_is_refused,
    a_tampered_sealed_request_is_refused,
    an_expired_sealed_request_is_refused,
    replaying_a_sealed_request_does_not_reset_its_failed_tries,
    concurrent_authorize_login_and_token_requests_never_answer_5xx_but_503,
    parameters_too_long_to_seal_go_back_to_the_client,
);

/// The number of rows in every table.
async fn row_counts(app: &TestApp) -> Vec<(&'static str, i64)> {
    let pool = app.state.pool.clone();
    tokio::task::spawn_blocking(move || {
        let conn = &mut *pool.get().unwrap();
        macro_rules! counts {
            ($($table:ident),*) => {
                vec![$((
                    stringify!($table),
                    schema::$table::table.count().get_result::<i64>(conn).unwrap(),
                )),*]
            };
        }
        counts!(
            users,
            clients,
            signing_keys,
            sessions,
            used_requests,
            authorization_codes,
            consents,
            refresh_tokens,
            revoked_access_tokens,
            family_access_tokens,
            change_generations,
            login_throttle
        )
    })
    .await
    .unwrap()
}

/// The login page of a fresh request in `browser`: (login URL, sealed request, CSRF token).
async fn login_form(app: &TestApp, browser: &Browser, client_id: &str) -> (String, String, String) {
    let client = TestClient {
        id: client_id.to_owned(),
        secret: None,
    };
    let (url, _) = authorize_url(app, &client, "");
    let login = location(&browser.get(&url).await);
    let page = browser.get(&login).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    (login, hidden(&html, "request"), hidden(&html, "csrf"))
}

/// A server with a web client and the user alice.
async fn with_alice(backend: Backend) -> (TestApp, TestClient) {
    let app = TestApp::spawn(backend).await;
    let client = app.web_client(true, false).await;
    app.user("alice", "alice's password").await;
    (app, client)
}

async fn post_login_as(
    browser: &Browser,
    request: &str,
    csrf: &str,
    user: &str,
    password: &str,
) -> reqwest::Response {
    let form = [
        ("request", request),
        ("csrf", csrf),
        ("username", user),
        ("password", password),
    ];
    browser.post("/login", &form).await
}

/// Alice's login form, sent back with her password.
async fn post_login(browser: &Browser, request: &str, csrf: &str, user: &str) -> reqwest::Response {
    post_login_as(browser, request, csrf, user, "alice's password").await
}

/// Refused with `status`, and no session started.
fn assert_refused(response: &reqwest::Response, status: u16) {
    assert_eq!(response.status(), status);
    assert!(response.cookies().all(|c| !c.name().contains("session")));
}

async fn an_unauthenticated_authorize_writes_no_row(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = app.web_client(true, false).await;
    let before = row_counts(&app).await;
    // Large but legal parameters, from fresh browsers (no cookies) and from one browser.
    let large = format!(
        "state={}&nonce={}&login_hint={}",
        "s".repeat(4000),
        "n".repeat(500),
        "h".repeat(200)
    );
    let (url, _) = authorize_url(&app, &client, "");
    let url = url.replace("state=st&nonce=n0", &large);
    let browser = app.browser();
    for n in 0..20 {
        let response = if n % 2 == 0 {
            app.browser().get(&url).await
        } else {
            browser.get(&url).await
        };
        assert!(location(&response).starts_with("/login?request="));
    }
    // The login page itself reads, and writes nothing either.
    let login = location(&browser.get(&url).await);
    assert_eq!(browser.get(&login).await.status(), 200);
    assert_eq!(row_counts(&app).await, before);
}

async fn parameters_too_long_to_seal_go_back_to_the_client(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = app.web_client(true, false).await;
    // Each value within its own limit, but quotes double in the sealed form: too long to carry.
    let quotes = |n: usize| "%22".repeat(n);
    let large = format!(
        "state={}&nonce={}&login_hint={}",
        quotes(4096),
        quotes(512),
        quotes(256)
    );
    let (url, _) = authorize_url(&app, &client, "");
    let before = row_counts(&app).await;
    let to = location(
        &app.browser()
            .get(&url.replace("state=st&nonce=n0", &large))
            .await,
    );
    assert!(to.starts_with(REDIRECT_URI), "{to}");
    assert_eq!(
        crate::helpers::query(&to, "error").as_deref(),
        Some("invalid_request")
    );
    assert_eq!(
        crate::helpers::query(&to, "error_description").as_deref(),
        Some("The request parameters are too long")
    );
    assert_eq!(row_counts(&app).await, before);
}

async fn a_sealed_request_from_another_browser_is_refused(backend: Backend) {
    let (app, client) = with_alice(backend).await;
    let owner = app.browser();
    let (login, request, csrf) = login_form(&app, &owner, &client.id).await;
    // Another browser, with or without a binding cookie of its own.
    let stranger = app.browser();
    assert_eq!(stranger.get(&login).await.status(), 403);
    login_form(&app, &stranger, &client.id).await;
    assert_eq!(stranger.get(&login).await.status(), 403);
    let response = post_login(&stranger, &request, &csrf, "alice").await;
    assert_refused(&response, 403);
    // The browser that started it still can.
    let ok = post_login(&owner, &request, &csrf, "alice").await;
    assert!(location(&ok).starts_with(REDIRECT_URI));
}

async fn a_tampered_sealed_request_is_refused(backend: Backend) {
    let (app, client) = with_alice(backend).await;
    let browser = app.browser();
    let (_, request, csrf) = login_form(&app, &browser, &client.id).await;
    let flip = |at: usize| {
        let mut chars: Vec<char> = request.chars().collect();
        chars[at] = if chars[at] == 'A' { 'B' } else { 'A' };
        chars.into_iter().collect::<String>()
    };
    let truncated = request[..request.len() - 4].to_owned();
    // The random id, the ciphertext, the tag, and a cut.
    for tampered in [
        flip(3),
        flip(request.len() / 2),
        flip(request.len() - 2),
        truncated,
    ] {
        let page = browser.get(&format!("/login?request={tampered}")).await;
        assert_eq!(page.status(), 400);
        let html = page.text().await.unwrap();
        assert!(html.contains("This sign-in has expired"), "{html}");
        assert!(!html.contains("name=\"csrf\""));
        let response = post_login(&browser, &tampered, &csrf, "alice").await;
        assert_refused(&response, 400);
    }
    let ok = post_login(&browser, &request, &csrf, "alice").await;
    assert!(location(&ok).starts_with(REDIRECT_URI));
}

async fn an_expired_sealed_request_is_refused(backend: Backend) {
    let (app, client) = with_alice(backend).await;
    let browser = app.browser();
    let (login, request, csrf) = login_form(&app, &browser, &client.id).await;
    let lifetime = app.state.settings.sessions.login_timeout_secs;
    app.clock.advance(lifetime - 1);
    assert_eq!(browser.get(&login).await.status(), 200, "still alive");
    app.clock.advance(1);
    let page = browser.get(&login).await;
    assert_eq!(page.status(), 400);
    assert!(page
        .text()
        .await
        .unwrap()
        .contains("This sign-in has expired"));
    let response = post_login(&browser, &request, &csrf, "alice").await;
    assert_refused(&response, 400);
}

async fn replaying_a_sealed_request_does_not_reset_its_failed_tries(backend: Backend) {
    let (app, client) = with_alice(backend).await;
    let browser = app.browser();
    // The attacker keeps the first form as it came, and replays it between failures.
    let (login, request, csrf) = login_form(&app, &browser, &client.id).await;
    let wrong = |n: usize| {
        let (browser, request, csrf) = (&browser, request.clone(), csrf.clone());
        async move { post_login_as(browser, &request, &csrf, &format!("user{n}"), "a guess").await }
    };
    for n in 1..3 {
        assert_eq!(wrong(n).await.status(), 200);
    }
    // The page the last failure rendered carries the very same sealed value.
    let again = browser.log_in(&login, "user3", "a guess").await;
    assert_eq!(hidden(&again.text().await.unwrap(), "request"), request);
    assert_eq!(wrong(4).await.status(), 200);
    let fifth = wrong(5).await;
    assert_eq!(fifth.status(), 429);
    assert!(fifth
        .text()
        .await
        .unwrap()
        .contains("Too many failed attempts"));
    // Replayed after the end, the sealed value is refused before any password check, even
    // with the right password.
    let replayed = post_login(&browser, &request, &csrf, "alice").await;
    assert_refused(&replayed, 400);
    assert_eq!(browser.get(&login).await.status(), 400);
    // A new request from the application starts a new count.
    let (_, request, csrf) = login_form(&app, &browser, &client.id).await;
    let ok = post_login(&browser, &request, &csrf, "alice").await;
    assert!(location(&ok).starts_with(REDIRECT_URI));
}

async fn concurrent_authorize_login_and_token_requests_never_answer_5xx_but_503(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = app.web_client(true, false).await;
    let service = app.service_client().await;
    app.user("alice", "alice's password").await;
    let (url, _) = authorize_url(&app, &client, "");
    let token_url = app.url("/token");
    let secret = service.secret.clone().unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..32 {
        let (browser, url, token_url) = (app.browser(), url.clone(), token_url.clone());
        let (service_id, secret) = (service.id.clone(), secret.clone());
        tasks.spawn(async move {
            let mut statuses = Vec::new();
            match n % 3 {
                // A whole login: /authorize, the login page, the password.
                0 => {
                    let login = browser.get(&url).await;
                    statuses.push(login.status());
                    let page = browser.get(&location(&login)).await;
                    statuses.push(page.status());
                    let html = page.text().await.unwrap();
                    let (request, csrf) = (hidden(&html, "request"), hidden(&html, "csrf"));
                    statuses.push(
                        post_login(&browser, &request, &csrf, "alice")
                            .await
                            .status(),
                    );
                }
                // Unauthenticated /authorize.
                1 => {
                    for _ in 0..4 {
                        statuses.push(browser.get(&url).await.status());
                    }
                }
                // An unrelated service's tokens.
                _ => {
                    for _ in 0..2 {
                        let response = browser
                            .http
                            .post(&token_url)
                            .basic_auth(&service_id, Some(&secret))
                            .form(&[("grant_type", "client_credentials")])
                            .send()
                            .await
                            .unwrap();
                        statuses.push(response.status());
                    }
                }
            }
            statuses
        });
    }
    let statuses: Vec<_> = tasks.join_all().await.into_iter().flatten().collect();
    assert!(statuses.len() >= 32);
    for status in statuses {
        assert!(status.as_u16() < 500 || status.as_u16() == 503, "{status}");
    }
}
