//! Second factors in a real headless Chromium (no script on the pages): TOTP enrolment at
//! sign-in and login with a code, the account page, with screenshots of every new page at
//! desktop and phone widths in target/test-artifacts.

use std::sync::Arc;

use fantoccini::{Client, Locator};
use latchkey::domain::factor::MfaPolicy;

use crate::backend_tests;
use crate::browser::{
    authorize_url, browser_client, callback_listener, is_at, screenshot, submit_login, text_of,
    wait_for_url, ChromeDriver,
};
use crate::helpers::{query, test_settings, Backend, TestApp};
use crate::second_factor::code;

backend_tests!(totp_enrolment_and_login_in_chromium_at_desktop_and_phone_widths);

const PASSWORD: &str = "a long password";

pub(crate) async fn click(browser: &Client, css: &str) {
    browser
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no `{css}`: {e}"))
        .click()
        .await
        .unwrap();
}

/// Waits until the page's heading reads `wanted` (a form's answer has loaded).
pub(crate) async fn wait_for_heading(browser: &Client, wanted: &str) {
    let deadline = std::time::Instant::now() + crate::browser::PATIENCE;
    loop {
        if let Ok(h1) = browser.find(Locator::Css("h1")).await {
            if h1.text().await.is_ok_and(|t| t == wanted) {
                return;
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never saw the heading {wanted:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

async fn type_code(browser: &Client, code: &str) {
    let field = browser.find(Locator::Css("#code")).await.unwrap();
    field.send_keys(code).await.unwrap();
    click(browser, "form button[type=submit]").await;
}

pub(crate) async fn phone(driver: &ChromeDriver) -> Client {
    let browser = driver.browser(390, 844).await;
    browser.set_window_size(390, 844).await.expect("phone size");
    browser
}

async fn totp_enrolment_and_login_in_chromium_at_desktop_and_phone_widths(backend: Backend) {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let mut settings = test_settings(backend, dir.path());
    settings.mfa.policy = MfaPolicy::Required;
    let app = TestApp::spawn_with(dir, settings).await;
    app.user("alice", PASSWORD).await;
    let callback = callback_listener().await;
    let client = browser_client(&app, &callback).await;
    let driver = ChromeDriver::start().await;
    let name = format!("{backend:?}").to_lowercase();

    // Desktop: the password, then enrolment (QR code, key), then the recovery codes.
    let desktop = driver.browser(1280, 900).await;
    let (url, _) = authorize_url(&app, &client, &callback, "d");
    desktop.goto(&url).await.unwrap();
    wait_for_url(&desktop, "the login page", |u| is_at(u, &app.url("/login"))).await;
    submit_login(&desktop, "alice", PASSWORD).await;
    wait_for_heading(&desktop, "Set up an authenticator app").await;
    let secret = text_of(&desktop, "#totp-secret").await;
    assert!(
        desktop.find(Locator::Css("#totp-qr svg")).await.is_ok(),
        "QR code"
    );
    screenshot(&desktop, &format!("mfa-enrol-desktop-{name}")).await;
    type_code(&desktop, &code(&secret, app.clock_now())).await;
    wait_for_heading(&desktop, "Save your recovery codes").await;
    screenshot(&desktop, &format!("mfa-recovery-codes-desktop-{name}")).await;
    click(&desktop, "#onward").await;
    let back = wait_for_url(&desktop, "the application", |u| is_at(u, &callback)).await;
    assert!(query(back.as_str(), "code").is_some());

    // The account page, desktop.
    desktop.goto(&app.url("/account")).await.unwrap();
    wait_for_heading(&desktop, "Your account").await;
    screenshot(&desktop, &format!("account-desktop-{name}")).await;
    click(&desktop, "#add-totp").await;
    wait_for_heading(&desktop, "Add an authenticator app").await;
    screenshot(&desktop, &format!("account-totp-desktop-{name}")).await;
    desktop.close().await.unwrap();

    // Phone: the password, then a code of the enrolled app.
    app.clock.advance(30);
    let mobile = phone(&driver).await;
    let (url, _) = authorize_url(&app, &client, &callback, "p");
    mobile.goto(&url).await.unwrap();
    wait_for_url(&mobile, "the login page", |u| is_at(u, &app.url("/login"))).await;
    submit_login(&mobile, "alice", PASSWORD).await;
    wait_for_heading(&mobile, "Second step").await;
    screenshot(&mobile, &format!("mfa-code-phone-{name}")).await;
    type_code(&mobile, "000000").await;
    wait_for_url(&mobile, "the answer to the code", |u| {
        u.path() == "/login/second-factor"
    })
    .await;
    assert!(text_of(&mobile, "#otp-error").await.contains("not valid"));
    type_code(&mobile, &code(&secret, app.clock_now())).await;
    wait_for_url(&mobile, "the application", |u| is_at(u, &callback)).await;

    // The account page and its forms, phone.
    mobile.goto(&app.url("/account")).await.unwrap();
    wait_for_heading(&mobile, "Your account").await;
    screenshot(&mobile, &format!("account-phone-{name}")).await;
    let width: serde_json::Value = mobile
        .execute("return document.documentElement.scrollWidth;", vec![])
        .await
        .unwrap();
    assert!(
        width.as_i64().unwrap() <= 390,
        "no sideways scrolling: {width}"
    );
    click(&mobile, "form[action='/account/recovery-codes'] button").await;
    wait_for_heading(&mobile, "Save your recovery codes").await;
    screenshot(&mobile, &format!("mfa-recovery-codes-phone-{name}")).await;
    mobile.goto(&app.url("/account")).await.unwrap();
    click(&mobile, "#add-totp").await;
    wait_for_heading(&mobile, "Add an authenticator app").await;
    screenshot(&mobile, &format!("account-totp-phone-{name}")).await;
    mobile.close().await.unwrap();
    drop(driver);
}
