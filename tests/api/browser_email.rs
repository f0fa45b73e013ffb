//! Password reset in a real headless Chromium (no script on the pages): the forgot form, the
//! "check your email" page, the new-password page opened from the emailed link, the done page,
//! the page of a used link, the verification page, the account page's "Verify your email" and
//! an administrator's set-password link, with screenshots at desktop (1280) and phone (390)
//! widths in target/test-artifacts.

use fantoccini::{Client, Locator};
use latchkey::email::links::{self, NewLink, Purpose};
use secrecy::ExposeSecret;

use crate::backend_tests;
use crate::browser::{screenshot, text_of, ChromeDriver};
use crate::browser_admin::sign_in_through_admin;
use crate::browser_second_factor::{click, phone, wait_for_heading};
use crate::helpers::{by_cli, Backend, TestApp, NOW};
use crate::smtp::{spawn_with_mail, Mailbox};

backend_tests!(password_reset_pages_in_chromium_at_desktop_and_phone_widths);

const NEW_PASSWORD: &str = "correct horse battery staple";

async fn type_into(browser: &Client, css: &str, text: &str) {
    let field = browser.find(Locator::Css(css)).await.unwrap();
    field.send_keys(text).await.unwrap();
}

/// The whole reset at one width, the `nth` email; screenshots named `…-{size}-{backend}`.
async fn reset(app: &TestApp, mailbox: &Mailbox, browser: &Client, nth: usize, shot: &str) {
    browser.goto(&app.url("/password/forgot")).await.unwrap();
    wait_for_heading(browser, "Forgot your password?").await;
    screenshot(browser, &format!("password-forgot-{shot}")).await;
    type_into(browser, "#account", "alice").await;
    click(browser, "form button[type=submit]").await;
    wait_for_heading(browser, "Check your email").await;
    screenshot(browser, &format!("password-sent-{shot}")).await;
    let link = crate::password_reset::nth_link(app, mailbox, nth, "/password/reset?token=").await;
    browser.goto(&link).await.unwrap();
    wait_for_heading(browser, "Choose a new password").await;
    assert_eq!(text_of(browser, "#link-username").await, "alice");
    screenshot(browser, &format!("password-new-{shot}")).await;
    type_into(browser, "#password", NEW_PASSWORD).await;
    type_into(browser, "#confirm", "not the same").await;
    click(browser, "form button[type=submit]").await;
    wait_for_heading(browser, "Choose a new password").await;
    assert!(text_of(browser, "#password-error").await.contains("differ"));
    type_into(browser, "#password", NEW_PASSWORD).await;
    type_into(browser, "#confirm", NEW_PASSWORD).await;
    click(browser, "form button[type=submit]").await;
    wait_for_heading(browser, "Your password is changed").await;
    screenshot(browser, &format!("password-done-{shot}")).await;
    browser.goto(&link).await.unwrap();
    wait_for_heading(browser, "This link does not work").await;
    screenshot(browser, &format!("link-invalid-{shot}")).await;
    let width: serde_json::Value = browser
        .execute("return document.documentElement.scrollWidth;", vec![])
        .await
        .unwrap();
    let viewport: serde_json::Value = browser
        .execute("return window.innerWidth;", vec![])
        .await
        .unwrap();
    assert!(width.as_i64() <= viewport.as_i64(), "no sideways scrolling");
}

/// Signs alice (an administrator) in through /admin and shows the account page's verification
/// button and the admin user page's set-password link.
async fn account_and_admin(app: &TestApp, browser: &Client, shot: &str) {
    sign_in_through_admin(browser, app, "alice", NEW_PASSWORD).await;
    wait_for_heading(browser, "Administration").await;
    browser.goto(&app.url("/account")).await.unwrap();
    wait_for_heading(browser, "Your account").await;
    assert!(browser.find(Locator::Css("#verify-email")).await.is_ok());
    screenshot(browser, &format!("account-verify-email-{shot}")).await;
    browser.goto(&app.url("/admin/users/alice")).await.unwrap();
    wait_for_heading(browser, "alice").await;
    click(browser, "#make-password-link").await;
    wait_for_heading(browser, "Set-password link").await;
    let link = text_of(browser, "#password-link").await;
    assert!(
        link.starts_with(&app.url("/password/reset?token=")),
        "{link}"
    );
    screenshot(browser, &format!("admin-password-link-{shot}")).await;
}

/// A verification link for alice, made directly.
async fn verification_link(app: &TestApp, sub: &str) -> String {
    let (pool, base, sub) = (app.state.pool.clone(), app.address.clone(), sub.to_owned());
    tokio::task::spawn_blocking(move || {
        let new = NewLink {
            user_id: &sub,
            purpose: Purpose::Verify,
            email: Some("alice@example.com"),
            requested_from: None,
            ttl_secs: 3600,
        };
        let random = latchkey::random::OsRandom;
        links::issue(&mut pool.get().unwrap(), &random, &base, new, NOW)
    })
    .await
    .unwrap()
    .unwrap()
    .url
    .expose_secret()
    .to_owned()
}

async fn password_reset_pages_in_chromium_at_desktop_and_phone_widths(backend: Backend) {
    let (app, mailbox) = spawn_with_mail(backend).await;
    let sub = app.user("alice", "alice's password").await;
    let pool = app.state.pool.clone();
    tokio::task::spawn_blocking(move || {
        latchkey::admin::users::set_admin(&mut pool.get().unwrap(), &by_cli(NOW), "alice", true)
    })
    .await
    .unwrap()
    .unwrap();
    let driver = ChromeDriver::start().await;
    let name = format!("{backend:?}").to_lowercase();

    let desktop = driver.browser(1280, 900).await;
    reset(&app, &mailbox, &desktop, 1, &format!("desktop-{name}")).await;
    account_and_admin(&app, &desktop, &format!("desktop-{name}")).await;
    desktop
        .goto(&verification_link(&app, &sub).await)
        .await
        .unwrap();
    wait_for_heading(&desktop, "Verify your email address").await;
    screenshot(&desktop, &format!("email-verify-desktop-{name}")).await;
    desktop.close().await.unwrap();

    let mobile = phone(&driver).await;
    reset(&app, &mailbox, &mobile, 2, &format!("phone-{name}")).await;
    account_and_admin(&app, &mobile, &format!("phone-{name}")).await;
    mobile
        .goto(&verification_link(&app, &sub).await)
        .await
        .unwrap();
    wait_for_heading(&mobile, "Verify your email address").await;
    screenshot(&mobile, &format!("email-verify-phone-{name}")).await;
    click(&mobile, "#confirm-email").await;
    wait_for_heading(&mobile, "Your email address is verified").await;
    screenshot(&mobile, &format!("email-verified-phone-{name}")).await;
    mobile.close().await.unwrap();
    drop(driver);
}
