//! The account page and the admin user page in a real headless Chromium (no script on the
//! pages): signing in to the account names the account, the profile and password forms, the
//! sessions with their device and address, and an administrator resetting a user's second
//! factors, with screenshots at desktop (1280) and phone (390) widths in target/test-artifacts.

use fantoccini::{Client, Locator};

use crate::admin_second_factors::{administrator, with_totp};
use crate::backend_tests;
use crate::browser::{is_at, screenshot, submit_login, text_of, wait_for_url, ChromeDriver};
use crate::browser_admin::{click_button, fill, wait_for_text};
use crate::helpers::{Backend, TestApp};
use crate::second_factor::code;

backend_tests!(the_account_and_admin_user_pages_in_chromium_at_desktop_and_phone_widths);

const PASSWORD: &str = "alice's password";

/// Opens `page` signed out, signs in as `username` on the login page (checking it names
/// `client_name`) and waits to be back on `page`.
async fn sign_in_at(
    browser: &Client,
    app: &TestApp,
    page: &str,
    who: (&str, &str),
    client_name: &str,
) {
    browser.goto(&app.url(page)).await.unwrap();
    wait_for_url(browser, "the login page", |u| is_at(u, &app.url("/login"))).await;
    assert_eq!(text_of(browser, ".lead strong").await, client_name);
    submit_login(browser, who.0, who.1).await;
    wait_for_url(browser, page, |u| u.path() == page).await;
}

/// Scrolls the element at `css` to the top of the viewport (for a screenshot of it).
async fn scroll_to(browser: &Client, css: &str) {
    let script = format!("document.querySelector({css:?}).scrollIntoView();");
    browser.execute(&script, vec![]).await.unwrap();
}

async fn phone_browser(driver: &ChromeDriver) -> Client {
    let browser = driver.browser(390, 844).await;
    browser.set_window_size(390, 844).await.expect("phone size");
    browser
}

async fn no_sideways_scrolling(browser: &Client) {
    let width: serde_json::Value = browser
        .execute("return document.documentElement.scrollWidth;", vec![])
        .await
        .unwrap();
    assert!(
        width.as_i64().unwrap() <= 390,
        "sideways scrolling: {width}"
    );
}

async fn the_account_and_admin_user_pages_in_chromium_at_desktop_and_phone_widths(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    app.user("alice", PASSWORD).await;
    administrator(&app, "root").await;
    let driver = ChromeDriver::start().await;
    let name = format!("{backend:?}").to_lowercase();

    // Desktop: the account sign-in, then the profile and password forms.
    let desktop = driver.browser(1280, 1600).await;
    desktop.goto(&app.url("/account")).await.unwrap();
    wait_for_url(&desktop, "the login page", |u| is_at(u, &app.url("/login"))).await;
    screenshot(&desktop, &format!("account-login-desktop-{name}")).await;
    assert_eq!(
        text_of(&desktop, ".lead strong").await,
        "Your Latchkey account"
    );
    submit_login(&desktop, "alice", PASSWORD).await;
    wait_for_text(&desktop, "h1", "the account page", |t| t == "Your account").await;
    let secret = with_totp(&app, "alice").await;
    fill(&desktop, "#profile-name", "Alice Liddell").await;
    fill(&desktop, "#profile-email", "alice@wonderland.example").await;
    click_button(&desktop, "Save profile").await;
    let notice = wait_for_text(&desktop, "#notice", "the notice", |t| !t.is_empty()).await;
    assert_eq!(notice, "Your profile was saved.");
    assert!(text_of(&desktop, "#email-status")
        .await
        .starts_with("Not verified."));
    assert!(text_of(&desktop, "#factors")
        .await
        .contains("Authenticator app"));
    let sessions = text_of(&desktop, "#sessions").await;
    assert!(sessions.contains("Chrome on Linux"), "{sessions}");
    assert!(sessions.contains("this session") && sessions.contains("127.0.0.1"));
    screenshot(&desktop, &format!("account-desktop-{name}")).await;
    fill(&desktop, "#current-password", "not my password").await;
    fill(&desktop, "#new-password", "a brand new passphrase").await;
    fill(&desktop, "#new-password-again", "a brand new passphrase").await;
    click_button(&desktop, "Change password").await;
    let refused = wait_for_text(&desktop, "#password-error", "the refusal", |t| {
        !t.is_empty()
    })
    .await;
    assert_eq!(refused, "Your current password is not correct.");
    scroll_to(&desktop, "#password-error").await;
    screenshot(
        &desktop,
        &format!("account-password-refused-desktop-{name}"),
    )
    .await;

    desktop.close().await.unwrap();

    // The administrator's view of alice, desktop: her factor.
    let desktop = driver.browser(1280, 1600).await;
    sign_in_at(
        &desktop,
        &app,
        "/admin",
        ("root", "root's password"),
        "Latchkey administration",
    )
    .await;
    desktop.goto(&app.url("/admin/users/alice")).await.unwrap();
    wait_for_text(&desktop, "h1", "the user page", |t| t == "alice").await;
    let factors = text_of(&desktop, "#user-factors").await;
    assert!(factors.contains("Authenticator app (TOTP)"), "{factors}");
    assert_eq!(
        text_of(&desktop, "#user-recovery-left").await,
        "Recovery codes left: 10"
    );
    screenshot(&desktop, &format!("admin-user-desktop-{name}")).await;
    desktop.close().await.unwrap();

    // Phone: alice's account page with two sessions (her app asks for a code now).
    app.clock.advance(30);
    let phone = phone_browser(&driver).await;
    phone.goto(&app.url("/account")).await.unwrap();
    wait_for_url(&phone, "the login page", |u| is_at(u, &app.url("/login"))).await;
    submit_login(&phone, "alice", PASSWORD).await;
    fill(&phone, "#code", &code(&secret, app.clock_now())).await;
    click_button(&phone, "Continue").await;
    wait_for_text(&phone, "h1", "the account page", |t| t == "Your account").await;
    no_sideways_scrolling(&phone).await;
    screenshot(&phone, &format!("account-phone-{name}")).await;
    scroll_to(&phone, "#password-form").await;
    screenshot(&phone, &format!("account-password-phone-{name}")).await;
    scroll_to(&phone, "#sessions").await;
    let sessions = phone.find(Locator::Css("#sessions")).await.unwrap();
    assert_eq!(
        sessions.find_all(Locator::Css("li")).await.unwrap().len(),
        2
    );
    screenshot(&phone, &format!("account-sessions-phone-{name}")).await;
    phone.close().await.unwrap();

    // The admin user page on a phone, and the reset.
    let phone = phone_browser(&driver).await;
    sign_in_at(
        &phone,
        &app,
        "/admin",
        ("root", "root's password"),
        "Latchkey administration",
    )
    .await;
    phone.goto(&app.url("/admin/users/alice")).await.unwrap();
    wait_for_text(&phone, "h1", "the user page", |t| t == "alice").await;
    no_sideways_scrolling(&phone).await;
    scroll_to(&phone, "#user-factors").await;
    screenshot(&phone, &format!("admin-user-phone-{name}")).await;
    click_button(&phone, "Reset second factors").await;
    let notice = wait_for_text(&phone, "#notice", "the notice", |t| !t.is_empty()).await;
    assert!(notice.starts_with("Second factors reset"), "{notice}");
    assert!(phone.find(Locator::Css("#no-user-factors")).await.is_ok());
    screenshot(&phone, &format!("admin-user-reset-phone-{name}")).await;
    phone.close().await.unwrap();
    drop(driver);
}
