//! Passkeys in a real headless Chromium with a virtual authenticator (the W3C WebAuthn
//! extension commands of WebDriver): add one on the account page, sign in with it alone and as
//! the step after a password (amr/acr checked in the verified ID token), rename it, remove it
//! (then it signs no one in). Screenshots of every new or changed page at desktop and phone
//! widths in target/test-artifacts. The issuer is `http://localhost:PORT`: browsers refuse an
//! IP address as a relying-party id.

use std::sync::Arc;

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, Locator};
use serde_json::{json, Value};

use crate::backend_tests;
use crate::browser::{
    authorize_url, browser_client, callback_listener, is_at, screenshot, submit_login, text_of,
    wait_for_url, ChromeDriver, PATIENCE,
};
use crate::helpers::{query, test_settings, Backend, TestApp, TestClient};

backend_tests!(passkeys_in_chromium_with_a_virtual_authenticator);

const PASSWORD: &str = "a long password";

/// A command of the WebDriver WebAuthn extension (W3C Web Authentication §11).
#[derive(Debug)]
struct WebAuthn {
    path: String,
    method: http::Method,
    body: Option<Value>,
}

impl WebDriverCompatibleCommand for WebAuthn {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/webauthn/{}",
            session.unwrap_or_default(),
            self.path
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (
            self.method.clone(),
            self.body.as_ref().map(Value::to_string),
        )
    }
}

/// Adds a CTAP2 platform authenticator with resident keys that verifies the user; its id.
async fn virtual_authenticator(browser: &Client) -> String {
    let added = browser
        .issue_cmd(WebAuthn {
            path: "authenticator".into(),
            method: http::Method::POST,
            body: Some(json!({
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": true,
                "hasUserVerification": true,
                "isUserVerified": true,
            })),
        })
        .await
        .expect("add a virtual authenticator");
    added.as_str().expect("authenticator id").to_owned()
}

async fn credentials(browser: &Client, authenticator: &str) -> Vec<Value> {
    let listed = browser
        .issue_cmd(WebAuthn {
            path: format!("authenticator/{authenticator}/credentials"),
            method: http::Method::GET,
            body: None,
        })
        .await
        .expect("list the authenticator's credentials");
    listed.as_array().cloned().unwrap_or_default()
}

async fn click(browser: &Client, css: &str) {
    browser
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no `{css}`: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("cannot click `{css}`: {e}"));
}

async fn wait_for(browser: &Client, css: &str) -> fantoccini::elements::Element {
    let deadline = std::time::Instant::now() + PATIENCE;
    loop {
        if let Ok(found) = browser.find(Locator::Css(css)).await {
            if found.is_displayed().await.unwrap_or(false) {
                return found;
            }
        }
        let at = browser.current_url().await.unwrap();
        assert!(
            std::time::Instant::now() < deadline,
            "never saw `{css}` (at {at})"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// The page at desktop width, then at a phone's, then back.
async fn shots(browser: &Client, name: &str) {
    screenshot(browser, &format!("{name}-desktop")).await;
    browser.set_window_size(390, 844).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    screenshot(browser, &format!("{name}-phone")).await;
    let width: Value = browser
        .execute("return document.documentElement.scrollWidth;", vec![])
        .await
        .unwrap();
    assert!(width.as_i64().unwrap() <= 390, "{name}: sideways scrolling");
    browser.set_window_size(1280, 900).await.unwrap();
}

/// Opens the application's sign-in in a browser without cookies; returns the verifier.
async fn start_without_waiting(
    browser: &Client,
    app: &TestApp,
    client: &TestClient,
    callback: &str,
) -> String {
    browser
        .goto(&app.url("/assets/latchkey.css"))
        .await
        .unwrap();
    browser.delete_all_cookies().await.unwrap();
    let (url, verifier) = authorize_url(app, client, callback, "s");
    browser.goto(&url).await.unwrap();
    verifier
}

/// Starts a sign-in at the application in a browser without cookies; returns the verifier.
async fn start(browser: &Client, app: &TestApp, client: &TestClient, callback: &str) -> String {
    // Cookies are deleted for the page's own host: Latchkey's.
    let verifier = start_without_waiting(browser, app, client, callback).await;
    wait_for_url(browser, "the login page", |u| is_at(u, &app.url("/login"))).await;
    verifier
}

/// Waits for the application's callback, exchanges its code and returns the verified ID token's
/// claims.
async fn signed_in(
    browser: &Client,
    app: &TestApp,
    client: &TestClient,
    callback: &str,
    verifier: &str,
) -> Value {
    let back = wait_for_url(browser, "the application", |u| is_at(u, callback)).await;
    let code = query(back.as_str(), "code").expect("a code");
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", callback),
        ("client_id", client.id.as_str()),
        ("code_verifier", verifier),
    ];
    let response: Value = app.token(&form, None).await.json().await.unwrap();
    let id_token = response["id_token"].as_str().expect("an ID token");
    app.verify(id_token, &client.id).await.1
}

async fn passkeys_in_chromium_with_a_virtual_authenticator(backend: Backend) {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let settings = test_settings(backend, dir.path());
    let app = TestApp::spawn_at(dir, settings, "localhost").await;
    app.user("alice", PASSWORD).await;
    let callback = callback_listener().await;
    let client = browser_client(&app, &callback).await;
    let driver = ChromeDriver::start().await;
    let name = format!("{backend:?}").to_lowercase();
    let browser = driver.browser(1280, 900).await;
    let authenticator = virtual_authenticator(&browser).await;

    // The login page offers a passkey (the script shows it); the password signs in as before.
    let verifier = start(&browser, &app, &client, &callback).await;
    wait_for(&browser, "#passkey-sign-in").await;
    let autocomplete = browser
        .find(Locator::Css("#username"))
        .await
        .unwrap()
        .attr("autocomplete")
        .await
        .unwrap();
    assert_eq!(autocomplete.as_deref(), Some("username webauthn"));
    shots(&browser, &format!("passkey-login-{name}")).await;
    submit_login(&browser, "alice", PASSWORD).await;
    let claims = signed_in(&browser, &app, &client, &callback, &verifier).await;
    assert_eq!(claims["amr"], json!(["pwd"]));

    // The account page: add a passkey; the first factor brings the recovery codes.
    browser.goto(&app.url("/account")).await.unwrap();
    wait_for(&browser, "#add-passkey").await;
    shots(&browser, &format!("passkey-account-empty-{name}")).await;
    let field = browser.find(Locator::Css("#passkey-name")).await.unwrap();
    field.send_keys("Work laptop").await.unwrap();
    click(&browser, "#add-passkey").await;
    wait_for(&browser, "#create-passkey").await;
    shots(&browser, &format!("passkey-add-{name}")).await;
    click(&browser, "#create-passkey").await;
    wait_for(&browser, "#onward").await;
    assert_eq!(text_of(&browser, "h1").await, "Save your recovery codes");
    let stored = credentials(&browser, &authenticator).await;
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(
        stored[0]["isResidentCredential"], true,
        "a discoverable credential"
    );
    click(&browser, "#onward").await;
    wait_for(&browser, "li[data-kind=passkey]").await;
    assert!(text_of(&browser, "li[data-kind=passkey]")
        .await
        .contains("Work laptop"));
    shots(&browser, &format!("passkey-account-{name}")).await;

    // Rename it.
    let rename = browser
        .find(Locator::Css(
            "li[data-kind=passkey] form.rename input[name=name]",
        ))
        .await
        .unwrap();
    rename.clear().await.unwrap();
    rename.send_keys("My laptop").await.unwrap();
    click(&browser, "li[data-kind=passkey] form.rename button").await;
    wait_for(&browser, "#notice").await;
    assert_eq!(text_of(&browser, "#notice").await, "The name was changed.");
    assert!(text_of(&browser, "li[data-kind=passkey] .factor-name").await == "My laptop");

    // Sign in with the passkey alone: the username field's autofill (conditional UI) offers it,
    // and the virtual authenticator picks it at once. A hardware-bound key, user verified, two
    // factors.
    let stored = credentials(&browser, &authenticator).await;
    let verifier = start_without_waiting(&browser, &app, &client, &callback).await;
    let claims = signed_in(&browser, &app, &client, &callback, &verifier).await;
    assert_eq!(claims["amr"], json!(["hwk", "user", "mfa"]));
    assert_eq!(claims["acr"], "urn:latchkey:acr:mfa");

    // The password, then the passkey as the second step: in another browser whose authenticator
    // holds the same key as a non-discoverable credential (so autofill offers nothing).
    let other_driver = ChromeDriver::start().await;
    let second = other_driver.browser(1280, 900).await;
    let other = virtual_authenticator(&second).await;
    let key = &stored[0];
    second
        .issue_cmd(WebAuthn {
            path: format!("authenticator/{other}/credential"),
            method: http::Method::POST,
            body: Some(json!({
                "credentialId": key["credentialId"],
                "isResidentCredential": false,
                "rpId": key["rpId"],
                "privateKey": key["privateKey"],
                "signCount": key["signCount"].as_u64().unwrap_or(0) + 10,
            })),
        })
        .await
        .expect("copy the credential");
    let verifier = start(&second, &app, &client, &callback).await;
    submit_login(&second, "alice", PASSWORD).await;
    wait_for(&second, "#passkey-second-factor").await;
    assert_eq!(text_of(&second, "h1").await, "Second step");
    shots(&second, &format!("passkey-second-step-{name}")).await;
    click(&second, "#passkey-second-factor").await;
    let claims = signed_in(&second, &app, &client, &callback, &verifier).await;
    assert_eq!(claims["amr"], json!(["pwd", "hwk", "user", "mfa"]));
    assert_eq!(claims["acr"], "urn:latchkey:acr:mfa");

    // Remove it: the passkey still in the authenticator signs no one in (the autofill offers it
    // and it is refused; the page says so and offers it only on request now).
    second.goto(&app.url("/account")).await.unwrap();
    click(&second, "li[data-kind=passkey] button.danger").await;
    wait_for(&second, "#no-factors").await;
    second.close().await.unwrap();
    start_without_waiting(&browser, &app, &client, &callback).await;
    wait_for(&browser, "#login-error").await;
    assert_eq!(
        text_of(&browser, "#login-error").await,
        "That passkey could not sign you in."
    );
    assert!(is_at(
        &browser.current_url().await.unwrap(),
        &app.url("/login")
    ));
    shots(&browser, &format!("passkey-login-refused-{name}")).await;
    browser.close().await.unwrap();
    drop(other_driver);
    drop(driver);
}
