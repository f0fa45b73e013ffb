//! Latchkey's own sign-ins and second factors on the admin side: the account page and the admin
//! console each sign in through their own built-in client (so the login page names the right
//! one), neither can be changed or removed; the admin user page lists a user's factors (never
//! their secrets) and resets them; `[admin] require_mfa` makes the console's sign-in ask for a
//! second factor, or its enrolment, whatever `[mfa] policy` says.

use std::sync::Arc;

use latchkey::admin::{self, AdminError};
use latchkey::domain::factor::MfaPolicy;

use crate::admin_pages::sign_in;
use crate::backend_tests;
use crate::helpers::{by_cli, hidden, location, test_settings, Backend, Browser, TestApp, NOW};
use crate::second_factor::{code, element, hidden_href, recovery_codes, send_code};

backend_tests!(
    the_account_and_the_admin_sign_ins_each_name_their_own_client,
    the_built_in_account_client_cannot_be_changed_or_removed,
    the_admin_user_page_lists_factors_and_resets_them,
    required_admin_mfa_leads_an_admin_without_a_factor_to_enrolment,
    required_admin_mfa_asks_an_admin_with_totp_for_a_code,
);

/// An app whose `[mfa] policy` is off; with `require_mfa`, the admin console requires one.
async fn spawn(backend: Backend, require_mfa: bool) -> TestApp {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let mut settings = test_settings(backend, dir.path());
    settings.mfa.policy = MfaPolicy::Off;
    settings.admin.require_mfa = require_mfa;
    TestApp::spawn_with(dir, settings).await
}

/// Enrols an authenticator app for `username` (as its first code would); returns its secret.
pub(crate) async fn with_totp(app: &TestApp, username: &str) -> String {
    let (state, now, username) = (app.state.clone(), app.clock_now(), username.to_owned());
    tokio::task::spawn_blocking(move || {
        let mut conn = state.pool.get().unwrap();
        let user = latchkey::db::users::find_by_username(&mut conn, &username)
            .unwrap()
            .unwrap();
        let account = latchkey::oauth::mfa::Account {
            user_id: &user.id,
            username: &user.username,
            issuer_name: "Latchkey",
        };
        let random = &*state.random;
        let started =
            latchkey::oauth::mfa::enrol_start(&mut conn, &state.master_key, random, &account, now)
                .unwrap();
        let first = code(&started.secret_base32, now);
        let (key, factor) = (&state.master_key, &started.factor_id);
        latchkey::oauth::mfa::enrol_confirm(&mut conn, key, random, &user.id, factor, &first, now)
            .unwrap()
            .expect("confirmed");
        started.secret_base32
    })
    .await
    .unwrap()
}

/// Makes `name` (with the password `{name}'s password`) an administrator.
pub(crate) async fn administrator(app: &TestApp, name: &str) {
    app.user(name, &format!("{name}'s password")).await;
    let (pool, name) = (app.state.pool.clone(), name.to_owned());
    tokio::task::spawn_blocking(move || {
        admin::users::set_admin(&mut pool.get().unwrap(), &by_cli(NOW), &name, true)
    })
    .await
    .unwrap()
    .unwrap();
}

/// Follows `page` (a signed-out page) to the login page; returns its URL and HTML.
async fn login_page(browser: &Browser, page: &str) -> (String, String) {
    let authorize = location(&browser.get(page).await);
    assert!(authorize.starts_with("/authorize?"), "{authorize}");
    let login = location(&browser.get(&authorize).await);
    assert!(login.starts_with("/login?request="), "{login}");
    let html = browser.get(&login).await.text().await.unwrap();
    (login, html)
}

async fn the_account_and_the_admin_sign_ins_each_name_their_own_client(backend: Backend) {
    let app = spawn(backend, false).await;
    let browser = app.browser();
    let mut authorize = String::new();
    for (page, client_id, name, not) in [
        (
            "/account",
            "latchkey-account",
            "Your Latchkey account",
            "administration",
        ),
        (
            "/admin",
            "latchkey-admin-console",
            "Latchkey administration",
            "account",
        ),
    ] {
        authorize = location(&browser.get(page).await);
        assert!(
            authorize.contains(&format!("client_id={client_id}&")),
            "{authorize}"
        );
        let (_, html) = login_page(&browser, page).await;
        let lead = &html[html.find("class=\"lead\"").unwrap()..];
        let lead = &lead[..lead.find("</p>").unwrap()];
        assert!(
            lead.contains(&format!("to continue to <strong>{name}</strong>")),
            "{lead}"
        );
        assert!(!html.contains(not), "{html}");
    }
    // Each comes back only to its own page.
    let swapped = authorize.replace("%2Fadmin%2Fcallback", "%2Faccount%2Fcallback");
    assert_ne!(swapped, authorize);
    assert_eq!(browser.get(&swapped).await.status(), 400);
}

async fn the_built_in_account_client_cannot_be_changed_or_removed(backend: Backend) {
    let app = spawn(backend, false).await;
    let pool = app.state.pool.clone();
    let refusals = tokio::task::spawn_blocking(move || {
        let mut conn = pool.get().unwrap();
        let by = by_cli(NOW);
        let removed = admin::clients::remove(&mut conn, &by, "latchkey-account");
        let disabled = admin::clients::set_disabled(&mut conn, &by, "latchkey-account", true);
        let origins =
            admin::client_web::set(&mut conn, &by, "latchkey-account", None, Some(vec![]));
        let still_there = admin::clients::show(&mut conn, "latchkey-account").unwrap();
        (removed, disabled, origins.map(drop), still_there)
    })
    .await
    .unwrap();
    let message = |r: Result<(), AdminError>| match r {
        Err(AdminError::Invalid(m)) => m,
        other => panic!("not refused: {:?}", other.map(|_| ())),
    };
    assert_eq!(
        message(refusals.0),
        "the built-in account page client cannot be removed"
    );
    assert_eq!(
        message(refusals.1),
        "the built-in account page client cannot be disabled"
    );
    assert_eq!(
        message(refusals.2),
        "the built-in account page client cannot be changed"
    );
    assert!(!refusals.3.disabled);
    // Nor does the admin console list or show it.
    let browser = app.browser();
    let html = sign_in(&app, &browser, "root", true)
        .await
        .text()
        .await
        .unwrap();
    assert!(!html.contains("latchkey-account"), "{html}");
    let shown = browser.get("/admin/clients/latchkey-account").await;
    assert_eq!(shown.status(), 404);
}

async fn the_admin_user_page_lists_factors_and_resets_them(backend: Backend) {
    let app = spawn(backend, false).await;
    let browser = app.browser();
    sign_in(&app, &browser, "root", true).await;
    app.user("alice", "alice's password").await;
    let page = browser
        .get("/admin/users/alice")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=\"no-user-factors\""), "{page}");
    assert!(!page.contains("id=\"reset-mfa\""), "nothing to reset");

    let secret = with_totp(&app, "alice").await;
    let page = browser
        .get("/admin/users/alice")
        .await
        .text()
        .await
        .unwrap();
    let table = &page[page.find("id=\"user-factors\"").expect("the factors")..];
    let table = &table[..table.find("</table>").unwrap()];
    assert!(table.contains("Authenticator app (TOTP)"), "{table}");
    // Added and last used (by the code that confirmed it) just now.
    let now = latchkey::views::date(Some(app.clock_now()));
    assert!(
        table.contains(&format!("<td data-label=\"Added\">{now}</td>")),
        "{table}"
    );
    assert!(
        table.contains(&format!("<td data-label=\"Last used\">{now}</td>")),
        "{table}"
    );
    assert_eq!(
        element(&page, "user-recovery-left"),
        "Recovery codes left: 10"
    );
    assert!(!page.contains(&secret), "never the secret");
    let csrf = hidden(&page, "csrf");

    // A reset without this browser's CSRF token is refused and changes nothing.
    let forged = browser
        .post("/admin/users/alice/mfa/reset", &[("csrf", "forged")])
        .await;
    assert_eq!(forged.status(), 403);
    let page = browser
        .get("/admin/users/alice")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=\"user-factors\""), "still there");

    let reset = browser
        .post("/admin/users/alice/mfa/reset", &[("csrf", &csrf)])
        .await;
    assert_eq!(location(&reset), "/admin/users/alice?notice=mfa-reset");
    let page = browser.get(&location(&reset)).await.text().await.unwrap();
    assert_eq!(
        element(&page, "notice"),
        "Second factors reset: every factor and recovery code was removed."
    );
    assert!(page.contains("id=\"no-user-factors\""), "{page}");
    let pool = app.state.pool.clone();
    let left = tokio::task::spawn_blocking(move || {
        admin::factors::list(&mut pool.get().unwrap(), "alice").unwrap()
    })
    .await
    .unwrap();
    assert!(left.factors.is_empty());
    assert_eq!(left.recovery_codes_left, 0);
}

async fn required_admin_mfa_leads_an_admin_without_a_factor_to_enrolment(backend: Backend) {
    let app = spawn(backend, true).await;
    administrator(&app, "root").await;
    // A session signed in with the password alone, at an application: not enough for /admin.
    let client = app.web_client(true, false).await;
    let browser = app.browser();
    let (url, _) = crate::authorization::authorize_url(&app, &client, "");
    let login = location(&browser.get(&url).await);
    let app_login = browser.log_in(&login, "root", "root's password").await;
    assert!(
        location(&app_login).starts_with(crate::helpers::REDIRECT_URI),
        "the application's policy is off"
    );
    // Someone without the admin role is told so at once, whatever their second factor.
    app.user("pat", "pat's own password").await;
    let pat = app.browser();
    let login = location(&pat.get(&url).await);
    let _ = pat.log_in(&login, "pat", "pat's own password").await;
    assert_eq!(pat.get("/admin").await.status(), 403);
    // The admin console sends root to sign in again, and after the password to enrolment.
    let (login, _) = login_page(&browser, "/admin").await;
    let enrol = browser.log_in(&login, "root", "root's password").await;
    assert_eq!(enrol.status(), 200);
    let html = enrol.text().await.unwrap();
    assert!(html.contains("id=\"totp-qr\""), "enrolment: {html}");
    let secret = element(&html, "totp-secret");
    let done = send_code(&browser, &html, &code(&secret, app.clock_now())).await;
    let html = done.text().await.unwrap();
    assert_eq!(recovery_codes(&html).len(), 10);
    let callback = hidden_href(&html);
    assert!(callback.contains("/admin/callback?code="), "{callback}");
    assert_eq!(location(&browser.get(&callback).await), "/admin");
    let admin = browser.get("/admin").await;
    assert_eq!(admin.status(), 200);
    assert!(admin.text().await.unwrap().contains("Signed in as root"));
}

async fn required_admin_mfa_asks_an_admin_with_totp_for_a_code(backend: Backend) {
    let app = spawn(backend, true).await;
    administrator(&app, "root").await;
    let secret = with_totp(&app, "root").await;
    app.clock.advance(30);
    let browser = app.browser();
    let (login, _) = login_page(&browser, "/admin").await;
    let step = browser.log_in(&login, "root", "root's password").await;
    assert_eq!(step.status(), 200);
    let html = step.text().await.unwrap();
    assert!(html.contains("action=\"/login/second-factor\""), "{html}");
    assert!(!html.contains("id=\"totp-qr\""), "no second enrolment");
    let done = send_code(&browser, &html, &code(&secret, app.clock_now())).await;
    let callback = location(&done);
    assert!(callback.contains("/admin/callback?code="), "{callback}");
    assert_eq!(location(&browser.get(&callback).await), "/admin");
    assert_eq!(browser.get("/admin").await.status(), 200);
}
