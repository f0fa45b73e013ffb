//! "Forgot your password?": the emailed link arrives through a real SMTP exchange (the test
//! listener of `smtp`), works once, expires on the test clock, ends every session and refresh
//! token; an unknown account gets the identical answer and no email; requests beyond the hourly
//! limits per account and per address get the same answer and no email.

use latchkey::domain::client::GrantType;
use serde_json::Value;

use crate::account::{sign_in, PASSWORD};
use crate::backend_tests;
use crate::helpers::{hidden, location, Backend, Browser, TestApp};
use crate::smtp::{spawn_with_mail, spawn_with_mail_and, Mailbox};

backend_tests!(
    a_reset_link_works_once_and_ends_every_session_and_refresh_token,
    an_expired_reset_link_is_refused,
    an_unknown_account_gets_the_identical_answer_and_no_email,
    reset_requests_beyond_the_hourly_limits_send_nothing,
    the_login_page_offers_a_reset_only_when_email_is_configured,
    a_refused_new_password_keeps_the_link_and_forms_need_their_csrf_cookie,
    a_relay_that_cannot_starttls_gets_nothing_when_starttls_is_required,
);

const NEW_PASSWORD: &str = "correct horse battery staple";

/// Asks for a reset link for `typed` from a fresh forgot page; the answer's status and body.
pub(crate) async fn ask(browser: &Browser, typed: &str) -> (u16, String) {
    let page = browser.get("/password/forgot").await;
    assert_eq!(page.status(), 200);
    let csrf = hidden(&page.text().await.unwrap(), "csrf");
    let answer = browser
        .post("/password/forgot", &[("csrf", &csrf), ("account", typed)])
        .await;
    (answer.status().as_u16(), answer.text().await.unwrap())
}

/// The link of the `nth` (1-based) message, once it has arrived.
pub(crate) async fn nth_link(app: &TestApp, mailbox: &Mailbox, nth: usize, path: &str) -> String {
    let mail = mailbox.wait_for(nth).await[nth - 1].clone();
    mail.link(&app.url(path))
}

/// Opens `link` and saves `password` (typed twice) with it.
pub(crate) async fn use_link(browser: &Browser, link: &str, password: &str) -> reqwest::Response {
    let page = browser.get(link).await;
    assert_eq!(page.status(), 200, "the link's page");
    let html = page.text().await.unwrap();
    let form = [
        ("csrf", hidden(&html, "csrf")),
        ("token", hidden(&html, "token")),
        ("password", password.to_owned()),
        ("confirm", password.to_owned()),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    browser.post("/password/reset", &form).await
}

/// A password grant for `username`: its status and body.
pub(crate) async fn password_grant(
    app: &TestApp,
    client: &crate::helpers::TestClient,
    username: &str,
    password: &str,
) -> (u16, Value) {
    let form = [
        ("grant_type", "password"),
        ("username", username),
        ("password", password),
        ("scope", "openid offline_access"),
    ];
    let answer = app.token(&form, Some(client)).await;
    (answer.status().as_u16(), answer.json().await.unwrap())
}

pub(crate) async fn refresh_client(app: &TestApp) -> crate::helpers::TestClient {
    let grants = [GrantType::Password, GrantType::RefreshToken];
    app.client(&grants, "openid offline_access", false).await
}

async fn a_reset_link_works_once_and_ends_every_session_and_refresh_token(backend: Backend) {
    let (app, mailbox) = spawn_with_mail(backend).await;
    let sub = app.user("alice", PASSWORD).await;
    let client = refresh_client(&app).await;
    let (status, tokens) = password_grant(&app, &client, "alice", PASSWORD).await;
    assert_eq!(status, 200);
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let signed_in = app.browser();
    sign_in(&signed_in).await;

    let browser = app.browser();
    let (status, body) = ask(&browser, "alice").await;
    assert_eq!(status, 200);
    assert!(body.contains("id=\"sent\""), "{body}");
    let mail = mailbox.wait_for(1).await.remove(0);
    assert_eq!(mail.to, ["<alice@example.com>"]);
    assert_eq!(mail.from, "<id@example.com>");
    assert_eq!(
        mail.header("Subject"),
        Some("Latchkey: reset your password")
    );
    let link = mail.link(&app.url("/password/reset?token="));
    let token = link.split("token=").nth(1).unwrap();
    assert_eq!(token.len(), 43, "a 256-bit token, base64url");

    let page = browser.get(&link).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("<h1>Choose a new password</h1>"), "{html}");
    assert!(html.contains(">alice</strong>"));
    let done = use_link(&browser, &link, NEW_PASSWORD).await;
    assert_eq!(done.status(), 200);
    let html = done.text().await.unwrap();
    assert!(html.contains("<h1>Your password is changed</h1>"), "{html}");

    // Once only, whether opened or posted again.
    let again = browser.get(&link).await;
    assert_eq!(again.status(), 400);
    assert!(again
        .text()
        .await
        .unwrap()
        .contains("This link does not work"));
    let replay = browser
        .post(
            "/password/reset",
            &[("token", token), ("password", "x"), ("confirm", "x")],
        )
        .await;
    assert_eq!(
        replay.status(),
        403,
        "no CSRF value: refused before anything"
    );

    assert_eq!(
        password_grant(&app, &client, "alice", PASSWORD).await.0,
        400
    );
    assert_eq!(
        password_grant(&app, &client, "alice", NEW_PASSWORD).await.0,
        200
    );
    let refreshed = app
        .token(
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
            Some(&client),
        )
        .await;
    assert_eq!(refreshed.status(), 400, "the old refresh token is revoked");
    let to_login = location(&signed_in.get("/account").await);
    assert!(to_login.starts_with("/authorize?"), "the session ended");

    let rows = crate::email_verify::stored(&app).await;
    let reset = rows.iter().find(|r| r.event == "password_reset").unwrap();
    assert_eq!(reset.actor, format!("user:{sub}"));
    assert_eq!(reset.reason.as_deref(), Some("reset"));
    assert!(rows
        .iter()
        .any(|r| r.event == "password_reset_requested" && r.actor == "anonymous"));
}

async fn an_expired_reset_link_is_refused(backend: Backend) {
    let (app, mailbox) = spawn_with_mail(backend).await;
    app.user("alice", PASSWORD).await;
    let browser = app.browser();
    ask(&browser, "alice").await;
    let link = nth_link(&app, &mailbox, 1, "/password/reset?token=").await;
    let page = browser.get(&link).await.text().await.unwrap();
    app.clock.advance(1801);
    assert_eq!(browser.get(&link).await.status(), 400);
    let form = [
        ("csrf", hidden(&page, "csrf")),
        ("token", hidden(&page, "token")),
        ("password", NEW_PASSWORD.to_owned()),
        ("confirm", NEW_PASSWORD.to_owned()),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let late = browser.post("/password/reset", &form).await;
    assert_eq!(late.status(), 400);
    assert!(late.text().await.unwrap().contains("It has expired"));
    let client = refresh_client(&app).await;
    assert_eq!(
        password_grant(&app, &client, "alice", PASSWORD).await.0,
        200
    );
    // The background purge keeps a link an hour past its expiry (the hourly limits count it),
    // then deletes it.
    assert_eq!(purge_links(&app).await, 0);
    app.clock.advance(3600);
    assert_eq!(purge_links(&app).await, 1);
}

/// Runs the background purge at the test clock's time; how many links it deleted.
async fn purge_links(app: &TestApp) -> i64 {
    let count = |pool: latchkey::db::Pool| async move {
        use diesel::{QueryDsl, RunQueryDsl};
        tokio::task::spawn_blocking(move || {
            latchkey::db::schema::email_tokens::table
                .count()
                .get_result::<i64>(&mut *pool.get().unwrap())
        })
        .await
        .unwrap()
        .unwrap()
    };
    let before = count(app.state.pool.clone()).await;
    let batching = latchkey::db::purge::Batching::default();
    latchkey::db::purge::purge_expired(&app.state.pool, app.clock_now(), batching)
        .await
        .unwrap();
    before - count(app.state.pool.clone()).await
}

async fn an_unknown_account_gets_the_identical_answer_and_no_email(backend: Backend) {
    let (app, mailbox) = spawn_with_mail(backend).await;
    app.user("alice", PASSWORD).await;
    let browser = app.browser();
    let known = ask(&browser, "alice").await;
    mailbox.wait_for(1).await;
    let unknown = ask(&browser, "nobody").await;
    let unknown_address = ask(&browser, "nobody@example.com").await;
    assert_eq!(known, unknown, "the same status and page");
    assert_eq!(known, unknown_address);
    mailbox.assert_stays_at(1).await;
    // An address finds its account too, without regard to case.
    assert_eq!(ask(&browser, "ALICE@example.com").await, known);
    let mails = mailbox.wait_for(2).await;
    assert_eq!(mails[1].to, ["<alice@example.com>"]);
}

async fn reset_requests_beyond_the_hourly_limits_send_nothing(backend: Backend) {
    let (app, mailbox) = spawn_with_mail_and(backend, |s| {
        s.email.per_account_per_hour = 3;
        s.email.per_address_per_hour = 4;
    })
    .await;
    app.user("alice", PASSWORD).await;
    app.user("bob", "bob's password").await;
    app.user("carol", "carol's password").await;
    let browser = app.browser();
    let first = ask(&browser, "alice").await;
    for _ in 0..4 {
        assert_eq!(ask(&browser, "alice").await, first, "the same answer");
    }
    mailbox.wait_for(3).await;
    mailbox.assert_stays_at(3).await;
    ask(&browser, "bob").await;
    mailbox.wait_for(4).await;
    assert_eq!(ask(&browser, "carol").await, first);
    mailbox.assert_stays_at(4).await;
    // An hour later both limits have room again.
    app.clock.advance(3601);
    ask(&browser, "carol").await;
    let mails = mailbox.wait_for(5).await;
    assert_eq!(mails[4].to, ["<carol@example.com>"]);
    let rows = crate::email_verify::stored(&app).await;
    let throttled = rows
        .iter()
        .filter(|r| {
            r.event == "password_reset_requested" && r.reason.as_deref() == Some("throttled")
        })
        .count();
    assert_eq!(throttled, 3);
}

async fn the_login_page_offers_a_reset_only_when_email_is_configured(backend: Backend) {
    let (app, _mailbox) = spawn_with_mail(backend).await;
    let client = app.web_client(true, false).await;
    let browser = app.browser();
    let to_login = location(
        &browser
            .get(&crate::authorization::authorize_url(&app, &client, "").0)
            .await,
    );
    let html = browser.get(&to_login).await.text().await.unwrap();
    let request = hidden(&html, "request");
    let forgot = format!("/password/forgot?request={request}");
    assert!(html.contains(&format!("href=\"{forgot}\"")), "{html}");
    let page = browser.get(&forgot).await.text().await.unwrap();
    let back = format!("/login?request={request}");
    assert!(
        page.contains(&format!("href=\"{back}\"")),
        "back to the same sign-in"
    );
    assert_eq!(browser.get(&back).await.status(), 200);

    let plain = TestApp::spawn(backend).await;
    let client = plain.web_client(true, false).await;
    let browser = plain.browser();
    let to_login = location(
        &browser
            .get(&crate::authorization::authorize_url(&plain, &client, "").0)
            .await,
    );
    let html = browser.get(&to_login).await.text().await.unwrap();
    assert!(!html.contains("Forgot your password?"));
    assert_eq!(browser.get("/password/forgot").await.status(), 404);
}

async fn a_refused_new_password_keeps_the_link_and_forms_need_their_csrf_cookie(backend: Backend) {
    let (app, mailbox) = spawn_with_mail(backend).await;
    app.user("alice", PASSWORD).await;
    let browser = app.browser();
    let stranger = app.browser();
    let page = stranger.get("/password/forgot").await.text().await.unwrap();
    let foreign = browser
        .post(
            "/password/forgot",
            &[("csrf", &hidden(&page, "csrf")), ("account", "alice")],
        )
        .await;
    assert_eq!(foreign.status(), 403, "a CSRF value from another browser");
    ask(&browser, "alice").await;
    let link = nth_link(&app, &mailbox, 1, "/password/reset?token=").await;
    let weak = use_link(&browser, &link, "password").await;
    assert_eq!(weak.status(), 400);
    assert!(weak.text().await.unwrap().contains("id=\"password-error\""));
    let html = browser.get(&link).await.text().await.unwrap();
    let mismatch = browser
        .post(
            "/password/reset",
            &[
                ("csrf", &hidden(&html, "csrf")),
                ("token", &hidden(&html, "token")),
                ("password", NEW_PASSWORD),
                ("confirm", "something else entirely"),
            ],
        )
        .await;
    assert_eq!(mismatch.status(), 400);
    assert!(mismatch
        .text()
        .await
        .unwrap()
        .contains("The two passwords differ."));
    assert_eq!(use_link(&browser, &link, NEW_PASSWORD).await.status(), 200);
}

async fn a_relay_that_cannot_starttls_gets_nothing_when_starttls_is_required(backend: Backend) {
    let (app, mailbox) = spawn_with_mail_and(backend, |s| {
        s.email.tls = latchkey::config::email::SmtpTls::Starttls;
    })
    .await;
    app.user("alice", PASSWORD).await;
    let (status, body) = ask(&app.browser(), "alice").await;
    assert_eq!(status, 200, "the same answer");
    assert!(body.contains("id=\"sent\""));
    mailbox.assert_stays_at(0).await;
}
