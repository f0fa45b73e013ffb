//! Login by email address (`login.by_email`): on the login page and in the password grant, when
//! exactly one user has the address; an address two users share logs nobody in, with the same
//! answer as an unknown name.

use latchkey::admin;
use serde_json::Value;

use crate::authorization::authorize_url;
use crate::backend_tests;
use crate::claims::admin_op;
use crate::helpers::{assert_error, location, Backend, TestApp, NOW, REDIRECT_URI};

backend_tests!(login_by_email_when_unique, an_ambiguous_email_cannot_log_in);

const INVALID: &str =
    r#"<p class="error" role="alert" id="login-error">Invalid username or password</p>"#;

fn password_form<'a>(username: &'a str, password: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("grant_type", "password"),
        ("username", username),
        ("password", password),
        ("scope", "openid"),
    ]
}

/// The login page's answer to `username` and `password`: the redirect target, or the page.
async fn page_login(app: &TestApp, username: &str, password: &str) -> Result<String, String> {
    let client = app.web_client(true, false).await;
    let browser = app.browser();
    let (url, _) = authorize_url(app, &client, "");
    let login = location(&browser.get(&url).await);
    let response = browser.log_in(&login, username, password).await;
    if response.status().is_redirection() {
        Ok(location(&response))
    } else {
        Err(response.text().await.unwrap())
    }
}

async fn set_email(app: &TestApp, username: &'static str, email: &'static str) {
    admin_op(app, move |conn| {
        admin::users::update_profile(
            conn,
            &crate::helpers::by_cli(NOW),
            username,
            admin::users::ProfileUpdate {
                email: Some(Some(email.into())),
                email_verified: None,
                name: None,
            },
        )
    })
    .await;
}

async fn login_by_email_when_unique(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let sub = app.user("alice", "a long password").await;
    // Any ASCII case of the address.
    let landed = page_login(&app, "Alice@Example.COM", "a long password").await;
    assert!(
        landed.as_ref().is_ok_and(|l| l.starts_with(REDIRECT_URI)),
        "{landed:?}"
    );
    let client = app.password_client().await;
    let form = password_form("alice@example.com", "a long password");
    let response = app.token(&form, Some(&client)).await;
    assert_eq!(response.status(), 200);
    let tokens: Value = response.json().await.unwrap();
    let (_, access) = app
        .verify(tokens["access_token"].as_str().unwrap(), &app.address)
        .await;
    assert_eq!(access["sub"], sub.as_str());
    // A wrong password by email is the one failure message.
    let form = password_form("alice@example.com", "wrong password");
    let response = app.token(&form, Some(&client)).await;
    assert_error(
        response,
        400,
        "invalid_grant",
        "Invalid username or password",
    )
    .await;

    // Switched off, the address is just an unknown username.
    let dir = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let mut settings = crate::helpers::test_settings(backend, dir.path());
    settings.login.by_email = false;
    let off = TestApp::spawn_with(dir, settings).await;
    off.user("alice", "a long password").await;
    let refused = page_login(&off, "alice@example.com", "a long password").await;
    assert!(
        refused.as_ref().is_err_and(|html| html.contains(INVALID)),
        "{refused:?}"
    );
    let client = off.password_client().await;
    let form = password_form("alice@example.com", "a long password");
    let response = off.token(&form, Some(&client)).await;
    assert_error(
        response,
        400,
        "invalid_grant",
        "Invalid username or password",
    )
    .await;
}

async fn an_ambiguous_email_cannot_log_in(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user("bob", "a long password").await;
    app.user("carol", "a long password").await;
    set_email(&app, "bob", "shared@example.com").await;
    set_email(&app, "carol", "Shared@example.com").await;
    let refused = page_login(&app, "shared@example.com", "a long password").await;
    assert!(
        refused.as_ref().is_err_and(|html| html.contains(INVALID)),
        "{refused:?}"
    );
    let client = app.password_client().await;
    let form = password_form("shared@example.com", "a long password");
    let response = app.token(&form, Some(&client)).await;
    assert_error(
        response,
        400,
        "invalid_grant",
        "Invalid username or password",
    )
    .await;
    // Each still logs in by username.
    let form = password_form("carol", "a long password");
    assert_eq!(app.token(&form, Some(&client)).await.status(), 200);
    let landed = page_login(&app, "bob", "a long password").await;
    assert!(landed.is_ok(), "{landed:?}");
}
