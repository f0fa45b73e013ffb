//! The admin pages (`/admin`) in a real headless Chromium driven through WebDriver: an
//! administrator signs in through the hosted login page, creates and disables users, registers a
//! confidential client whose secret is shown once (and works), and a person without the admin role
//! is refused. Reuses the ChromeDriver harness of `browser.rs`; never skips.

use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};
use latchkey::admin;

use crate::backend_tests;
use crate::browser::{
    is_at, screenshot, submit_login, text_of, wait_for_url, ChromeDriver, PATIENCE,
};
use crate::helpers::{self, Backend, TestApp, TestClient};

backend_tests!(an_admin_manages_users_and_clients_in_chromium);

const ADMIN: &str = "root";
const ADMIN_PASSWORD: &str = "root's password";
const PAT: &str = "pat";
const PAT_PASSWORD: &str = "pat's password";

/// Polls until the element at `css` exists and its text satisfies `wanted`; returns the text.
pub(crate) async fn wait_for_text(
    browser: &Client,
    css: &str,
    what: &str,
    wanted: impl Fn(&str) -> bool,
) -> String {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let mut last = None;
        if let Ok(element) = browser.find(Locator::Css(css)).await {
            if let Ok(text) = element.text().await {
                if wanted(&text) {
                    return text;
                }
                last = Some(text);
            }
        }
        if Instant::now() >= deadline {
            let url = browser.current_url().await.expect("current URL");
            panic!("never saw {what} in `{css}` at {url}; last text: {last:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Polls until the page's title contains `wanted`; returns the title.
async fn wait_for_title(browser: &Client, wanted: &str) -> String {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let title = browser.title().await.expect("title");
        if title.contains(wanted) {
            return title;
        }
        if Instant::now() >= deadline {
            let url = browser.current_url().await.expect("current URL");
            panic!("the title never contained {wanted:?} at {url}; it is {title:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Replaces the text of the input at `css` with `value`, as a person would.
pub(crate) async fn fill(browser: &Client, css: &str, value: &str) {
    let field = browser
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no `{css}` on the page: {e}"));
    assert!(
        field.is_displayed().await.expect("displayed"),
        "`{css}` is hidden"
    );
    field.clear().await.expect("clear the field");
    if !value.is_empty() {
        field.send_keys(value).await.expect("type into the field");
    }
}

/// Clicks the button whose visible text is `label`.
pub(crate) async fn click_button(browser: &Client, label: &str) {
    let xpath = format!("//button[normalize-space()='{label}']");
    let button = browser
        .find(Locator::XPath(&xpath))
        .await
        .unwrap_or_else(|e| panic!("no button {label:?} on the page: {e}"));
    assert!(
        button.is_displayed().await.expect("displayed"),
        "the button {label:?} is hidden"
    );
    button.click().await.expect("click the button");
}

/// The visible text of the users' or clients' table row whose first cell starts with `first`.
async fn row_text(browser: &Client, first: &str) -> String {
    let xpath = format!("//tbody/tr[starts-with(normalize-space(td[1]), '{first}')]");
    browser
        .find(Locator::XPath(&xpath))
        .await
        .unwrap_or_else(|e| panic!("no table row for {first:?}: {e}"))
        .text()
        .await
        .expect("row text")
}

/// Opens /admin with no session, follows the redirect to the hosted login page and signs in.
pub(crate) async fn sign_in_through_admin(
    browser: &Client,
    app: &TestApp,
    username: &str,
    password: &str,
) {
    browser.goto(&app.url("/admin")).await.expect("open /admin");
    let url = wait_for_url(browser, "the login page", |u| is_at(u, &app.url("/login"))).await;
    assert_eq!(
        helpers::query(url.as_str(), "code"),
        None,
        "a code before login: {url}"
    );
    let title = browser.title().await.expect("title");
    assert!(title.contains("Sign in"), "login page title: {title:?}");
    submit_login(browser, username, password).await;
}

async fn an_admin_manages_users_and_clients_in_chromium(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user(ADMIN, ADMIN_PASSWORD).await;
    let pool = app.state.pool.clone();
    tokio::task::spawn_blocking(move || {
        admin::users::set_admin(
            &mut pool.get().unwrap(),
            &helpers::by_cli(helpers::NOW),
            ADMIN,
            true,
        )
    })
    .await
    .unwrap()
    .expect("give root the admin role");
    app.user(PAT, PAT_PASSWORD).await;
    let backend_name = format!("{backend:?}").to_lowercase();
    let driver = ChromeDriver::start().await;
    let browser = driver.browser(1280, 900).await;

    // With no session, /admin goes through /authorize to the login page, then back to /admin.
    sign_in_through_admin(&browser, &app, ADMIN, ADMIN_PASSWORD).await;
    let title = wait_for_title(&browser, "Administration").await;
    let url = browser.current_url().await.unwrap();
    assert_eq!(url.as_str(), app.url("/admin"), "title {title:?}");
    assert_eq!(text_of(&browser, "h1").await, "Administration");
    let body = text_of(&browser, "body").await;
    assert!(body.contains("Signed in as root"), "{body}");
    assert!(
        !body.contains("latchkey-admin-console"),
        "the built-in console client is listed: {body}"
    );

    // Create a user with the form.
    fill(&browser, "#new-username", "quinn").await;
    fill(&browser, "#new-email", "quinn@example.org").await;
    fill(&browser, "#new-name", "Quinn Example").await;
    fill(&browser, "#new-password", "quinn's rather long password").await;
    click_button(&browser, "Create user").await;
    wait_for_text(&browser, "#notice", "the user-created notice", |t| {
        t == "User created."
    })
    .await;
    let url = browser.current_url().await.unwrap();
    assert_eq!(url.as_str(), app.url("/admin?notice=user-created"));
    let quinn = row_text(&browser, "quinn").await;
    assert!(
        quinn.contains("quinn@example.org") && quinn.contains("active"),
        "quinn's row: {quinn:?}"
    );
    let pool = app.state.pool.clone();
    let created =
        tokio::task::spawn_blocking(move || admin::users::show(&mut pool.get().unwrap(), "quinn"))
            .await
            .unwrap()
            .expect("quinn exists");
    assert_eq!(created.email.as_deref(), Some("quinn@example.org"));
    assert!(!created.disabled && !created.is_admin);

    // Disable pat with the button in pat's row.
    let pat_row = row_text(&browser, PAT).await;
    assert!(pat_row.contains("active"), "pat's row: {pat_row:?}");
    browser
        .find(Locator::Css("button[aria-label='Disable pat']"))
        .await
        .expect("the Disable pat button")
        .click()
        .await
        .expect("click Disable pat");
    wait_for_text(&browser, "#notice", "the user-disabled notice", |t| {
        t == "User disabled; their sessions and refresh tokens were revoked."
    })
    .await;
    let pat_row = row_text(&browser, PAT).await;
    assert!(pat_row.contains("disabled"), "pat's row: {pat_row:?}");
    browser
        .find(Locator::Css("button[aria-label='Enable pat']"))
        .await
        .expect("pat's row now offers Enable");
    let pool = app.state.pool.clone();
    let pat =
        tokio::task::spawn_blocking(move || admin::users::show(&mut pool.get().unwrap(), PAT))
            .await
            .unwrap()
            .expect("pat exists");
    assert!(pat.disabled, "pat is disabled in the database");
    screenshot(&browser, &format!("admin-notice-{backend_name}")).await;

    // Register a confidential client for client_credentials; its secret is shown once.
    fill(&browser, "#client-name", "Reports").await;
    fill(&browser, "#client-grants", "client_credentials").await;
    fill(&browser, "#client-scope", "reports:read").await;
    fill(&browser, "#client-redirects", "").await;
    click_button(&browser, "Register client").await;
    let secret = wait_for_text(&browser, "#client-secret", "the client secret", |t| {
        !t.is_empty()
    })
    .await;
    assert_eq!(secret.len(), 43, "secret {secret:?}");
    assert!(
        secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "the secret is not base64url: {secret:?}"
    );
    let client_id = text_of(&browser, "#client-id").await;
    assert!(!client_id.is_empty(), "no client id shown");
    let body = text_of(&browser, "body").await;
    assert!(
        body.contains("shown only once"),
        "no shown-once warning: {body}"
    );
    let warning = text_of(&browser, "[role=alert]").await;
    assert!(warning.contains("shown only once"), "{warning:?}");
    screenshot(&browser, &format!("admin-client-secret-{backend_name}")).await;

    // Back on the admin page the client is listed, and its secret is nowhere.
    browser
        .find(Locator::LinkText("Back to administration"))
        .await
        .expect("a link back to the admin page")
        .click()
        .await
        .unwrap();
    wait_for_url(&browser, "the admin page", |u| {
        u.as_str() == app.url("/admin")
    })
    .await;
    wait_for_title(&browser, "Administration").await;
    let reports = row_text(&browser, "Reports").await;
    assert!(
        reports.contains(&client_id) && reports.contains("client_credentials"),
        "the Reports row: {reports:?}"
    );
    let source = browser.source().await.expect("page source");
    assert!(
        !source.contains(&secret),
        "the secret is shown again on /admin"
    );
    let body = text_of(&browser, "body").await;
    assert!(
        !body.contains(&secret),
        "the secret is shown again on /admin"
    );

    // The secret really is the client's: client_credentials with HTTP Basic succeeds.
    let client = TestClient {
        id: client_id.clone(),
        secret: Some(secret.clone()),
    };
    let response = app
        .token(&[("grant_type", "client_credentials")], Some(&client))
        .await;
    assert_eq!(response.status(), 200, "client_credentials with the secret");
    let tokens: serde_json::Value = response.json().await.unwrap();
    assert_eq!(tokens["scope"], "reports:read", "{tokens}");
    let wrong = TestClient {
        id: client_id,
        secret: Some("x".repeat(43)),
    };
    let response = app
        .token(&[("grant_type", "client_credentials")], Some(&wrong))
        .await;
    assert_eq!(response.status(), 401, "a wrong secret is refused");

    // The whole admin page in one picture: the window made as tall as the page.
    let height = browser
        .execute("return document.documentElement.scrollHeight;", vec![])
        .await
        .expect("page height")
        .as_f64()
        .expect("a number");
    let height = u32::try_from(height.ceil() as i64)
        .unwrap_or(900)
        .clamp(900, 4000);
    browser
        .set_window_size(1280, height + 140)
        .await
        .expect("make the window as tall as the page");
    screenshot(&browser, &format!("admin-page-{backend_name}")).await;

    // Deleting asks first: the list's Delete link opens a confirmation page; Cancel keeps it.
    browser
        .find(Locator::Css("a[aria-label='Delete Reports']"))
        .await
        .expect("the Delete Reports link")
        .click()
        .await
        .expect("click Delete Reports");
    wait_for_text(&browser, "h1", "the confirmation", |t| {
        t == "Delete Reports?"
    })
    .await;
    screenshot(&browser, &format!("admin-delete-confirm-{backend_name}")).await;
    browser
        .find(Locator::LinkText("Cancel"))
        .await
        .expect("a Cancel link")
        .click()
        .await
        .expect("click Cancel");
    wait_for_title(&browser, "Administration").await;
    row_text(&browser, "Reports").await;

    // At a phone's width the tables fit: nothing scrolls sideways.
    browser
        .set_window_size(390, 844)
        .await
        .expect("resize the window to a phone's");
    browser.goto(&app.url("/admin")).await.expect("open /admin");
    wait_for_title(&browser, "Administration").await;
    let size = browser
        .execute(
            "return [window.innerWidth, document.documentElement.scrollWidth, document.documentElement.scrollHeight];",
            vec![],
        )
        .await
        .expect("viewport size");
    let [width, scroll_width, page_height] = [0, 1, 2].map(|i| size[i].as_f64().expect("a number"));
    assert!(
        width <= 400.0,
        "the viewport is {width}px wide, not a phone's"
    );
    assert!(
        scroll_width <= width,
        "the admin page scrolls sideways: {scroll_width}px in {width}px"
    );
    screenshot(&browser, &format!("admin-page-phone-{backend_name}")).await;
    let tall = u32::try_from(page_height.ceil() as i64)
        .unwrap_or(844)
        .clamp(844, 5000);
    browser
        .set_window_size(390, tall + 140)
        .await
        .expect("make the window as tall as the page");
    screenshot(&browser, &format!("admin-page-phone-full-{backend_name}")).await;
    browser
        .set_window_size(1280, 900)
        .await
        .expect("back to a desktop window");
    browser
        .goto(&app.url("/admin?q=rep"))
        .await
        .expect("search");
    wait_for_title(&browser, "Administration").await;
    screenshot(&browser, &format!("admin-search-{backend_name}")).await;
    let reports_id = text_of(&browser, "td code").await;
    browser
        .goto(&app.url(&format!("/admin/clients/{reports_id}")))
        .await
        .expect("open the edit page");
    wait_for_title(&browser, "Edit Reports").await;
    screenshot(&browser, &format!("admin-client-edit-{backend_name}")).await;

    browser.close().await.expect("end the WebDriver session");
    drop(driver);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_admin_is_refused_the_admin_pages_in_chromium() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    app.user(PAT, PAT_PASSWORD).await;
    let driver = ChromeDriver::start().await;
    let browser = driver.browser(1280, 900).await;

    sign_in_through_admin(&browser, &app, PAT, PAT_PASSWORD).await;
    wait_for_text(&browser, "h1", "the refusal", |t| {
        t == "Administrators only"
    })
    .await;
    let url = browser.current_url().await.unwrap();
    assert_eq!(url.as_str(), app.url("/admin"));
    let body = text_of(&browser, "body").await;
    assert!(
        body.contains("Your account does not have the admin role."),
        "{body}"
    );
    for absent in ["Create a user", "Register a client", "Signed in as"] {
        assert!(!body.contains(absent), "{absent:?} shown to a non-admin");
    }
    assert!(
        browser
            .find(Locator::Css("input[name=csrf]"))
            .await
            .is_err(),
        "an admin form is on the refusal page"
    );
    screenshot(&browser, "admin-refused-sqlite").await;

    browser.close().await.expect("end the WebDriver session");
    drop(driver);
}
