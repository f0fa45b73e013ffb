//! The account page (`/account`): signing in to it through the login page, adding an
//! authenticator app (confirmed by a code computed here), regenerating recovery codes, removing
//! the app, and its forms refusing a missing CSRF token.

use std::sync::Arc;

use latchkey::domain::factor::MfaPolicy;

use crate::backend_tests;
use crate::helpers::{hidden, location, test_settings, Backend, Browser, TestApp};
use crate::second_factor::{code, element, recovery_codes};

backend_tests!(
    the_account_page_needs_a_sign_in_through_the_login_page,
    an_authenticator_app_added_on_the_account_page_is_asked_for_at_sign_in,
    account_forms_without_the_csrf_token_are_refused,
    ending_a_session_and_disconnecting_an_application_revoke_their_access,
);

pub(crate) const PASSWORD: &str = "alice's password";

async fn spawn(backend: Backend) -> TestApp {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let mut settings = test_settings(backend, dir.path());
    settings.mfa.policy = MfaPolicy::Optional;
    TestApp::spawn_with(dir, settings).await
}

/// Signs in to the account page; returns its HTML.
pub(crate) async fn sign_in(browser: &Browser) -> String {
    let to_login = location(&browser.get("/account").await);
    let login = location(&browser.get(&to_login).await);
    assert!(login.starts_with("/login?request="), "{login}");
    let callback = location(&browser.log_in(&login, "alice", PASSWORD).await);
    assert!(callback.contains("/account/callback?code="), "{callback}");
    assert_eq!(location(&browser.get(&callback).await), "/account");
    let page = browser.get("/account").await;
    assert_eq!(page.status(), 200);
    page.text().await.unwrap()
}

async fn the_account_page_needs_a_sign_in_through_the_login_page(backend: Backend) {
    let app = spawn(backend).await;
    app.user("alice", PASSWORD).await;
    let browser = app.browser();
    let first = browser.get("/account").await;
    assert!(location(&first).starts_with("/authorize?"), "to the login");
    let html = sign_in(&browser).await;
    assert_eq!(element(&html, "profile-username"), "alice");
    assert!(html.contains("id=\"no-factors\""));
}

async fn an_authenticator_app_added_on_the_account_page_is_asked_for_at_sign_in(backend: Backend) {
    let app = spawn(backend).await;
    let client = app.web_client(true, false).await;
    app.user("alice", PASSWORD).await;
    let browser = app.browser();
    let html = sign_in(&browser).await;
    let csrf = hidden(&html, "csrf");
    let enrol = browser.post("/account/totp", &[("csrf", &csrf)]).await;
    assert_eq!(enrol.status(), 200);
    let enrol = enrol.text().await.unwrap();
    assert!(enrol.contains("<svg"), "QR code");
    let secret = element(&enrol, "totp-secret");
    let factor = hidden(&enrol, "factor");
    let wrong = browser
        .post(
            "/account/totp/confirm",
            &[("csrf", &csrf), ("factor", &factor), ("code", "000000")],
        )
        .await;
    assert!(wrong
        .text()
        .await
        .unwrap()
        .contains("That code is not valid"));
    let right = code(&secret, app.clock_now());
    let done = browser
        .post(
            "/account/totp/confirm",
            &[("csrf", &csrf), ("factor", &factor), ("code", &right)],
        )
        .await;
    let codes = recovery_codes(&done.text().await.unwrap());
    assert_eq!(codes.len(), 10);
    // New codes replace the old ones.
    let renewed = browser
        .post("/account/recovery-codes", &[("csrf", &csrf)])
        .await;
    let renewed = recovery_codes(&renewed.text().await.unwrap());
    assert_eq!(renewed.len(), 10);
    assert!(codes.iter().all(|c| !renewed.contains(c)));
    // Another browser signing in to the application is asked for a code now.
    let (url, _) = crate::authorization::authorize_url(&app, &client, "");
    let other = app.browser();
    let login = location(&other.get(&url).await);
    let second = other.log_in(&login, "alice", PASSWORD).await;
    assert_eq!(second.status(), 200);
    let second = second.text().await.unwrap();
    assert!(
        second.contains("action=\"/login/second-factor\""),
        "{second}"
    );
    let old = crate::second_factor::send_code(&other, &second, &codes[0]).await;
    assert!(
        old.text().await.unwrap().contains("That code is not valid"),
        "old recovery code"
    );
    // Removed: the password is enough again.
    let page = browser.get("/account").await.text().await.unwrap();
    let end = page.find("/remove\"").unwrap() + "/remove".len();
    let start = page[..end].rfind("action=\"").unwrap() + "action=\"".len();
    let action = &page[start..end];
    let removed = browser.post(action, &[("csrf", &csrf)]).await;
    assert_eq!(location(&removed), "/account?notice=factor-removed");
    let third = app.browser();
    let login = location(&third.get(&url).await);
    let back = third.log_in(&login, "alice", PASSWORD).await;
    assert!(location(&back).starts_with(crate::helpers::REDIRECT_URI));
}

async fn account_forms_without_the_csrf_token_are_refused(backend: Backend) {
    let app = spawn(backend).await;
    app.user("alice", PASSWORD).await;
    let browser = app.browser();
    sign_in(&browser).await;
    for path in ["/account/totp", "/account/recovery-codes"] {
        let refused = browser.post(path, &[("csrf", "forged")]).await;
        assert_eq!(refused.status(), 403, "{path}");
    }
}

/// The `action` of the first form whose action starts with `prefix`.
pub(crate) fn action(html: &str, prefix: &str) -> String {
    let start = html.find(&format!("action=\"{prefix}")).unwrap() + "action=\"".len();
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

/// A browser signed in (with consent) to `client`, and the refresh token the client got.
pub(crate) async fn signed_in_to_the_app(
    app: &TestApp,
    client: &crate::helpers::TestClient,
) -> (Browser, String) {
    let browser = app.browser();
    let (url, verifier) = crate::authorization::authorize_url(app, client, "");
    let login = location(&browser.get(&url).await);
    let consent = location(&browser.log_in(&login, "alice", PASSWORD).await);
    let callback = location(&browser.consent(&consent, true).await);
    let code = crate::helpers::query(&callback, "code").unwrap();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", crate::helpers::REDIRECT_URI),
        ("code_verifier", verifier.as_str()),
    ];
    let tokens: serde_json::Value = app.token(&form, Some(client)).await.json().await.unwrap();
    let refresh_token = tokens["refresh_token"]
        .as_str()
        .expect("refresh token")
        .to_owned();
    (browser, refresh_token)
}

async fn ending_a_session_and_disconnecting_an_application_revoke_their_access(backend: Backend) {
    let app = spawn(backend).await;
    let client = app.web_client(false, false).await;
    app.user("alice", PASSWORD).await;
    // Browser A signs in to the application (with consent) and it gets a refresh token.
    let (a, refresh_token) = signed_in_to_the_app(&app, &client).await;
    // Browser B, on the account page: two sessions, one application.
    let b = app.browser();
    let html = sign_in(&b).await;
    let csrf = hidden(&html, "csrf");
    assert!(html.contains("Web App"), "{html}");
    let end = b
        .post(&action(&html, "/account/sessions/"), &[("csrf", &csrf)])
        .await;
    assert_eq!(location(&end), "/account?notice=session-ended");
    assert!(
        location(&a.get("/account").await).starts_with("/authorize?"),
        "A is signed out"
    );
    assert_eq!(b.get("/account").await.status(), 200, "B is not");
    let revoke = b
        .post(&action(&html, "/account/apps/"), &[("csrf", &csrf)])
        .await;
    assert_eq!(location(&revoke), "/account?notice=app-revoked");
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
    let html = b.get("/account").await.text().await.unwrap();
    assert!(html.contains("id=\"no-apps\""));
}
