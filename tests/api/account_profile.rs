//! The account page's own changes: the profile (a new email address is no longer verified, a bad
//! or taken one is refused with a clear message), the password (the current one checked and
//! counted like a login, the policy applied, every other session and refresh token ended), and
//! the sessions listed with the device and address they started from.

use std::sync::Arc;

use latchkey::db::audit_events::{self, AuditEventRow, Filter};
use latchkey::db::models::UserRow;

use crate::account::{action, sign_in, signed_in_to_the_app, PASSWORD};
use crate::backend_tests;
use crate::helpers::{hidden, location, test_settings, Backend, Browser, TestApp};
use crate::second_factor::element;

backend_tests!(
    a_saved_profile_with_a_new_email_address_is_no_longer_verified,
    a_bad_or_taken_email_address_is_refused_with_a_clear_message,
    a_wrong_current_password_is_refused_and_counted_like_a_failed_login,
    a_new_password_follows_the_policy_and_is_typed_twice,
    a_changed_password_ends_every_other_session_and_refresh_token,
    sessions_are_listed_with_their_device_and_address,
    profile_and_password_forms_without_the_csrf_token_are_refused,
);

const NEW_PASSWORD: &str = "a brand new passphrase for alice";
const CHROME_ON_LINUX: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";

async fn spawn(backend: Backend) -> TestApp {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let mut settings = test_settings(backend, dir.path());
    settings.audit.store = true;
    settings.server.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    TestApp::spawn_with(dir, settings).await
}

async fn stored_user(app: &TestApp, username: &str) -> UserRow {
    let (pool, username) = (app.state.pool.clone(), username.to_owned());
    tokio::task::spawn_blocking(move || {
        latchkey::db::users::find_by_username(&mut pool.get().unwrap(), &username)
    })
    .await
    .unwrap()
    .unwrap()
    .expect("the user")
}

/// Every stored audit event named `event`, newest first.
async fn events(app: &TestApp, event: &str) -> Vec<AuditEventRow> {
    let pool = app.state.pool.clone();
    let rows = tokio::task::spawn_blocking(move || {
        audit_events::page(&mut pool.get().unwrap(), &Filter::default(), 500)
    })
    .await
    .unwrap()
    .unwrap();
    rows.into_iter().filter(|r| r.event == event).collect()
}

/// Sends the profile form.
async fn save_profile(browser: &Browser, csrf: &str, name: &str, email: &str) -> reqwest::Response {
    browser
        .post(
            "/account/profile",
            &[("csrf", csrf), ("name", name), ("email", email)],
        )
        .await
}

/// Sends the password form.
async fn change_password(
    browser: &Browser,
    csrf: &str,
    current: &str,
    new: &str,
    again: &str,
) -> reqwest::Response {
    browser
        .post(
            "/account/password",
            &[
                ("csrf", csrf),
                ("current_password", current),
                ("new_password", new),
                ("new_password_again", again),
            ],
        )
        .await
}

async fn a_saved_profile_with_a_new_email_address_is_no_longer_verified(backend: Backend) {
    let app = spawn(backend).await;
    let sub = app.user("alice", PASSWORD).await;
    let (pool, by) = (app.state.pool.clone(), crate::helpers::by_cli(0));
    tokio::task::spawn_blocking(move || {
        let verified = latchkey::admin::users::ProfileUpdate {
            email_verified: Some(true),
            ..Default::default()
        };
        latchkey::admin::users::update_profile(&mut pool.get().unwrap(), &by, "alice", verified)
    })
    .await
    .unwrap()
    .unwrap();
    let browser = app.browser();
    let html = sign_in(&browser).await;
    assert_eq!(
        element(&html, "email-status").trim_start(),
        "Verified. A new address is not verified until it is confirmed again."
    );
    let csrf = hidden(&html, "csrf");

    // The name alone: the address stays verified.
    let saved = save_profile(&browser, &csrf, "Alice Liddell", "alice@example.com").await;
    assert_eq!(location(&saved), "/account?notice=profile-saved");
    let user = stored_user(&app, "alice").await;
    assert_eq!(user.name.as_deref(), Some("Alice Liddell"));
    assert!(user.email_verified, "the same address stays verified");

    // A new address: stored, no longer verified.
    let saved = save_profile(
        &browser,
        &csrf,
        "Alice Liddell",
        " alice@wonderland.example ",
    )
    .await;
    assert_eq!(location(&saved), "/account?notice=profile-saved");
    let user = stored_user(&app, "alice").await;
    assert_eq!(user.email.as_deref(), Some("alice@wonderland.example"));
    assert!(!user.email_verified, "a changed address is not verified");
    let page = browser
        .get("/account?notice=profile-saved")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(element(&page, "notice"), "Your profile was saved.");
    assert!(page.contains("value=\"alice@wonderland.example\""));
    assert!(page.contains("Not verified."));

    let updates = events(&app, "profile_updated").await;
    let reasons: Vec<_> = updates
        .iter()
        .map(|e| e.reason.as_deref().unwrap())
        .collect();
    assert_eq!(reasons, ["email", "name"]);
    assert_eq!(updates[0].actor, format!("user:{sub}"));
    assert_eq!(updates[0].subject.as_deref(), Some(sub.as_str()));
}

async fn a_bad_or_taken_email_address_is_refused_with_a_clear_message(backend: Backend) {
    let app = spawn(backend).await;
    app.user("alice", PASSWORD).await;
    app.user("bob", "bob's own password").await;
    let browser = app.browser();
    let csrf = hidden(&sign_in(&browser).await, "csrf");

    let bad = save_profile(&browser, &csrf, "Alice", "alice at example").await;
    assert_eq!(bad.status(), 400);
    let html = bad.text().await.unwrap();
    assert_eq!(
        element(&html, "profile-error"),
        "That is not an email address. Check it and try again."
    );
    assert!(
        html.contains("value=\"alice at example\""),
        "what was typed is kept"
    );

    // With login by email on (the default), two accounts cannot share an address.
    let taken = save_profile(&browser, &csrf, "Alice", "BOB@example.com").await;
    assert_eq!(taken.status(), 400);
    assert_eq!(
        element(&taken.text().await.unwrap(), "profile-error"),
        "Another account already uses that email address. Use a different one."
    );

    let bidi = save_profile(&browser, &csrf, "admin\u{202E}nimda", "alice@example.com").await;
    assert_eq!(bidi.status(), 400);
    assert_eq!(
        element(&bidi.text().await.unwrap(), "profile-error"),
        "A name has at most 200 printable characters."
    );

    let user = stored_user(&app, "alice").await;
    assert_eq!(
        user.email.as_deref(),
        Some("alice@example.com"),
        "unchanged"
    );
    assert_eq!(user.name.as_deref(), Some("Test User"), "unchanged");
    assert!(events(&app, "profile_updated").await.is_empty());
}

async fn a_wrong_current_password_is_refused_and_counted_like_a_failed_login(backend: Backend) {
    let app = spawn(backend).await;
    let sub = app.user("alice", PASSWORD).await;
    let browser = app.browser();
    let csrf = hidden(&sign_in(&browser).await, "csrf");
    let threshold = app
        .state
        .settings
        .login_throttle
        .account_address_max_failures;
    for _ in 0..threshold {
        let wrong = change_password(
            &browser,
            &csrf,
            "not my password",
            NEW_PASSWORD,
            NEW_PASSWORD,
        )
        .await;
        assert_eq!(wrong.status(), 400);
        assert_eq!(
            element(&wrong.text().await.unwrap(), "password-error"),
            "Your current password is not correct."
        );
    }
    // Past the threshold, even the right password waits, unchecked, like a login would.
    let throttled = change_password(&browser, &csrf, PASSWORD, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(throttled.status(), 429);
    assert!(throttled.headers().contains_key("retry-after"));
    let message = element(&throttled.text().await.unwrap(), "password-error");
    assert!(message.contains("Too many"), "{message}");
    let other = app.browser();
    let (url, _) =
        crate::authorization::authorize_url(&app, &app.web_client(true, false).await, "");
    let login = location(&other.get(&url).await);
    assert_eq!(
        other.log_in(&login, "alice", PASSWORD).await.status(),
        429,
        "the login page counts the same failures"
    );

    let failed = events(&app, "password_change_failed").await;
    assert_eq!(failed.len(), usize::try_from(threshold).unwrap());
    assert_eq!(failed[0].actor, format!("user:{sub}"));
    assert_eq!(failed[0].reason.as_deref(), Some("wrong_password"));
    assert_eq!(events(&app, "login_backoff").await.len(), 1);
    assert!(events(&app, "password_changed").await.is_empty());
    // Once the wait is over, the old password still works: nothing was changed.
    app.clock
        .advance(app.state.settings.login_throttle.max_backoff_secs + 1);
    let login = location(&other.get(&url).await);
    assert!(location(&other.log_in(&login, "alice", PASSWORD).await)
        .starts_with(crate::helpers::REDIRECT_URI));
}

async fn a_new_password_follows_the_policy_and_is_typed_twice(backend: Backend) {
    let app = spawn(backend).await;
    app.user("alice", PASSWORD).await;
    let browser = app.browser();
    let csrf = hidden(&sign_in(&browser).await, "csrf");

    let mismatch = change_password(
        &browser,
        &csrf,
        PASSWORD,
        NEW_PASSWORD,
        "a brand new passphrase for alicE",
    )
    .await;
    assert_eq!(mismatch.status(), 400);
    assert_eq!(
        element(&mismatch.text().await.unwrap(), "password-error"),
        "The new password and its repetition are not the same."
    );
    let min = app.state.settings.passwords.min_length;
    let short = change_password(&browser, &csrf, PASSWORD, "short", "short").await;
    assert_eq!(short.status(), 400);
    let html = short.text().await.unwrap();
    assert_eq!(
        element(&html, "password-error"),
        format!("A password needs at least {min} characters.")
    );
    assert!(
        !html.contains("value=\"short\""),
        "a password is never sent back"
    );
    let weak = change_password(
        &browser,
        &csrf,
        PASSWORD,
        "passwordpassword",
        "passwordpassword",
    )
    .await;
    assert_eq!(weak.status(), 400);
    let message = element(&weak.text().await.unwrap(), "password-error");
    assert!(
        message.starts_with("This password is too easy to guess."),
        "{message}"
    );
    // None of these checked the current password, so none counted as a failure.
    assert!(events(&app, "password_change_failed").await.is_empty());
    assert!(events(&app, "login_backoff").await.is_empty());
}

async fn a_changed_password_ends_every_other_session_and_refresh_token(backend: Backend) {
    let app = spawn(backend).await;
    let client = app.web_client(false, false).await;
    let sub = app.user("alice", PASSWORD).await;
    let (elsewhere, refresh_token) = signed_in_to_the_app(&app, &client).await;
    let browser = app.browser();
    let csrf = hidden(&sign_in(&browser).await, "csrf");
    assert_eq!(
        elsewhere.get("/account").await.status(),
        200,
        "one sign-in serves every page"
    );

    let changed = change_password(&browser, &csrf, PASSWORD, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(location(&changed), "/account?notice=password-changed");
    let page = browser.get("/account?notice=password-changed").await;
    assert_eq!(page.status(), 200, "this session stays");
    assert_eq!(
        element(&page.text().await.unwrap(), "notice"),
        "Your password was changed; every other session was ended."
    );
    // The other browser's session is gone: the application's sign-in asks for a password again.
    assert!(location(&elsewhere.get("/account").await).starts_with("/authorize?"));
    let (url, _) = crate::authorization::authorize_url(&app, &client, "");
    let login = location(&elsewhere.get(&url).await);
    assert!(login.starts_with("/login?request="), "{login}");
    let refreshed = app
        .token(
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &refresh_token),
            ],
            Some(&client),
        )
        .await;
    assert_eq!(refreshed.status(), 400, "the refresh token is revoked");
    // The old password no longer signs in; the new one does.
    let old = elsewhere.log_in(&login, "alice", PASSWORD).await;
    assert_eq!(old.status(), 200);
    assert!(old
        .text()
        .await
        .unwrap()
        .contains("Invalid username or password"));
    let login = location(&elsewhere.get(&url).await);
    let new = elsewhere.log_in(&login, "alice", NEW_PASSWORD).await;
    assert!(location(&new).starts_with(crate::helpers::REDIRECT_URI));

    let changed = events(&app, "password_changed").await;
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0].actor, format!("user:{sub}"));
    assert_eq!(changed[0].reason.as_deref(), Some("self_service"));
    let revoked = events(&app, "token_revoked").await;
    assert_eq!(revoked[0].reason.as_deref(), Some("password_changed"));
}

async fn sessions_are_listed_with_their_device_and_address(backend: Backend) {
    let app = spawn(backend).await;
    app.user("alice", PASSWORD).await;
    // Behind the trusted proxy (127.0.0.1), the address it vouches for is the client's.
    let phone = app.browser_with(&[
        ("user-agent", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1"),
        ("x-forwarded-for", "203.0.113.7"),
    ]);
    sign_in(&phone).await;
    let desktop = app.browser_with(&[("user-agent", CHROME_ON_LINUX)]);
    app.clock.advance(120);
    let html = sign_in(&desktop).await;
    let list = &html[html.find("id=\"sessions\"").unwrap()..];
    let list = &list[..list.find("</ul>").unwrap()];
    let items: Vec<&str> = list.split("<li>").skip(1).collect();
    assert_eq!(items.len(), 2, "{list}");
    // Most recently seen first: this browser, then the phone.
    assert!(
        items[0].contains("<strong>Chrome on Linux</strong>"),
        "{}",
        items[0]
    );
    assert!(items[0].contains("this session"));
    assert!(
        items[0].contains("<span class=\"address\">127.0.0.1</span>"),
        "{}",
        items[0]
    );
    assert!(
        items[1].contains("<strong>Safari on iPhone</strong>"),
        "{}",
        items[1]
    );
    assert!(
        items[1].contains("<span class=\"address\">203.0.113.7</span>"),
        "{}",
        items[1]
    );
    assert!(!items[1].contains("this session"));
    assert!(items[1].contains("signed in ") && items[1].contains("last seen "));
    assert!(action(&html, "/account/sessions/").ends_with("/end"));
}

async fn profile_and_password_forms_without_the_csrf_token_are_refused(backend: Backend) {
    let app = spawn(backend).await;
    app.user("alice", PASSWORD).await;
    let browser = app.browser();
    sign_in(&browser).await;
    let profile = save_profile(&browser, "forged", "Mallory", "mallory@example.com").await;
    assert_eq!(profile.status(), 403);
    let password = change_password(&browser, "forged", PASSWORD, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(password.status(), 403);
    let user = stored_user(&app, "alice").await;
    assert_eq!(user.email.as_deref(), Some("alice@example.com"));
    // Signed out, the forms lead nowhere but to the sign-in.
    let stranger = app.browser();
    let refused = save_profile(&stranger, "forged", "Mallory", "mallory@example.com").await;
    assert!(location(&refused).starts_with("/authorize?"));
}
