//! The consent and sign-out pages of an openly registered client in a real headless Chromium:
//! both name the host the person will be sent to (RFC 9700 §4.11), and sign-out goes there only
//! after the person confirms. Reuses the ChromeDriver harness of `browser.rs`; never skips.

use std::sync::Arc;

use fantoccini::{Client, Locator};
use serde_json::{json, Value};

use crate::browser::{
    authorize_url, callback_listener, is_at, screenshot, submit_login, text_of, wait_for_url,
    ChromeDriver, PATIENCE,
};
use crate::helpers::{query, test_settings, Backend, TestApp, TestClient};

/// Clicks the button at `css` once the page shows it.
async fn click(browser: &Client, css: &str) {
    browser
        .wait()
        .at_most(PATIENCE)
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"))
        .click()
        .await
        .unwrap();
}

/// Waits for the line that names where the person will be sent.
async fn wait_for_destination(browser: &Client) {
    browser
        .wait()
        .at_most(PATIENCE)
        .for_element(Locator::Css("#destination"))
        .await
        .expect("the destination line");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_openly_registered_clients_consent_and_sign_out_pages_name_its_host_in_chromium() {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let mut settings = test_settings(Backend::Sqlite, dir.path());
    settings.registration.open = true;
    let app = TestApp::spawn_with(dir, settings).await;
    app.user("alice", "a long password").await;
    let callback = callback_listener().await;
    let bye = callback.replace("/callback", "/bye");
    let registered: Value = app
        .http
        .post(app.url("/register"))
        .json(&json!({
            "client_name": "Your Bank",
            "redirect_uris": [callback],
            "post_logout_redirect_uris": [bye],
            "token_endpoint_auth_method": "none",
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let client = TestClient {
        id: registered["client_id"].as_str().unwrap().to_owned(),
        secret: None,
    };
    let driver = ChromeDriver::start().await;
    let browser = driver.browser(1280, 900).await;

    // Consent: the page says where the answer goes.
    let (url, verifier) = authorize_url(&app, &client, &callback, "xyz");
    browser.goto(&url).await.expect("open /authorize");
    submit_login(&browser, "alice", "a long password").await;
    wait_for_destination(&browser).await;
    assert_eq!(
        text_of(&browser, "#destination").await,
        "Your answer will be sent to 127.0.0.1. Anyone can register an application under any \
         name here: allow only if you know this site."
    );
    screenshot(&browser, "consent-open-client").await;
    click(&browser, "button[value=approve]").await;
    let landed = wait_for_url(&browser, "the redirect URI", |u| is_at(u, &callback)).await;
    let code = query(landed.as_str(), "code").expect("a code");
    let tokens: Value = app
        .token(
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", &callback),
                ("client_id", &client.id),
                ("code_verifier", &verifier),
            ],
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    let hint = tokens["id_token"].as_str().expect("an ID token");

    // Sign-out with a valid hint: a page that names the host, and the redirect only on click.
    let mut logout = url::Url::parse(&app.url("/logout")).unwrap();
    logout
        .query_pairs_mut()
        .append_pair("id_token_hint", hint)
        .append_pair("post_logout_redirect_uri", &bye)
        .append_pair("state", "s3");
    browser.goto(logout.as_str()).await.expect("open /logout");
    wait_for_destination(&browser).await;
    assert_eq!(
        text_of(&browser, "#destination").await,
        "You will then be sent to 127.0.0.1."
    );
    screenshot(&browser, "logout-open-client").await;
    click(&browser, "button[name=confirm]").await;
    let landed = wait_for_url(&browser, "the post-logout URI", |u| is_at(u, &bye)).await;
    assert_eq!(query(landed.as_str(), "state").as_deref(), Some("s3"));

    browser.close().await.expect("end the WebDriver session");
    drop(driver);
}
