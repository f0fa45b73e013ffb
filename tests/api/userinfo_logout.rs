//! `/userinfo` (OIDC Core §5.3, RFC 6750) and `/logout` (OIDC RP-Initiated Logout 1.0).

use serde_json::Value;

use crate::backend_tests;
use crate::helpers::{location, query, Backend, Browser, TestApp, TestClient, REDIRECT_URI};

backend_tests!(
    userinfo_returns_claims_by_scope_for_get_and_post,
    userinfo_refuses_missing_forged_expired_and_foreign_tokens,
    logout_with_a_valid_hint_ends_the_session_and_returns_to_the_client,
    logout_without_a_hint_asks_the_user_first,
    logout_never_redirects_to_an_unregistered_uri,
    the_signed_out_page_leads_back_to_the_application,
);

/// Runs the whole flow for alice (approving the consent page if one is shown) and returns the
/// token response.
pub(crate) async fn tokens(
    app: &TestApp,
    browser: &Browser,
    client: &TestClient,
    scope: &str,
) -> Value {
    let verifier = "v".repeat(50);
    let challenge = {
        use base64::Engine;
        use sha2::Digest;
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(sha2::Sha256::digest(verifier.as_bytes()))
    };
    let url = format!(
        "/authorize?response_type=code&client_id={}&redirect_uri={REDIRECT_URI}&scope={scope}&code_challenge={challenge}&code_challenge_method=S256",
        client.id
    );
    let to = location(&browser.get(&url).await);
    let mut callback = if to.starts_with("/login") {
        location(&browser.log_in(&to, "alice", "alice's password").await)
    } else {
        to
    };
    if callback.starts_with("/consent") {
        callback = location(&browser.consent(&callback, true).await);
    }
    let code = query(&callback, "code").expect("code");
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", REDIRECT_URI),
        ("code_verifier", &verifier),
    ];
    // A public client names itself in the form; a confidential one authenticates with Basic.
    if client.secret.is_none() {
        form.push(("client_id", &client.id));
    }
    app.token(&form, client.secret.is_some().then_some(client))
        .await
        .json()
        .await
        .unwrap()
}

async fn userinfo_returns_claims_by_scope_for_get_and_post(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = app.web_client(true, false).await;
    let sub = app.user("alice", "alice's password").await;
    let browser = app.browser();
    let full = tokens(&app, &browser, &client, "openid%20profile%20email").await;
    let token = full["access_token"].as_str().unwrap();
    let got: Value = app
        .http
        .get(app.url("/userinfo"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        got,
        serde_json::json!({
            "sub": sub,
            "name": "Test User",
            "preferred_username": "alice",
            "updated_at": crate::helpers::NOW,
            "email": "alice@example.com",
            "email_verified": false,
        })
    );
    let posted = app
        .http
        .post(app.url("/userinfo"))
        .form(&[("access_token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 200);
    assert_eq!(posted.json::<Value>().await.unwrap()["sub"], sub.as_str());
    let narrow = tokens(&app, &browser, &client, "openid").await;
    let got: Value = app
        .http
        .get(app.url("/userinfo"))
        .bearer_auth(narrow["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got, serde_json::json!({ "sub": sub }));
}

async fn userinfo_refuses_missing_forged_expired_and_foreign_tokens(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = app.web_client(true, false).await;
    app.user("alice", "alice's password").await;
    let browser = app.browser();
    let issued = tokens(&app, &browser, &client, "openid").await;
    let token = issued["access_token"].as_str().unwrap().to_owned();

    let none = app.get("/userinfo").await;
    assert_eq!(none.status(), 401);
    assert_eq!(
        none.headers()["www-authenticate"],
        r#"Bearer realm="latchkey""#
    );

    let challenge = |description: &str| {
        format!(
            r#"Bearer realm="latchkey", error="invalid_token", error_description="{description}""#
        )
    };
    // A forged signature: the payload changed, the signature kept.
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    parts[1] = parts[1].chars().rev().collect();
    for bad in [
        parts.join("."),
        "not-a-jwt".to_owned(),
        issued["id_token"].as_str().unwrap().to_owned(),
    ] {
        let r = app
            .http
            .get(app.url("/userinfo"))
            .bearer_auth(&bad)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        assert_eq!(
            r.headers()["www-authenticate"].to_str().unwrap(),
            challenge("The access token is invalid")
        );
    }
    // A client-credentials token has no openid scope and no user.
    let service = app.service_client().await;
    let cc: Value = app
        .token(&[("grant_type", "client_credentials")], Some(&service))
        .await
        .json()
        .await
        .unwrap();
    let r = app
        .http
        .get(app.url("/userinfo"))
        .bearer_auth(cc["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // Expired, on the test clock.
    app.clock.advance(601);
    let r = app
        .http
        .get(app.url("/userinfo"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.headers()["www-authenticate"].to_str().unwrap(),
        challenge("The access token has expired")
    );
}

async fn logout_with_a_valid_hint_ends_the_session_and_returns_to_the_client(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = app.web_client(true, false).await;
    app.user("alice", "alice's password").await;
    let browser = app.browser();
    let issued = tokens(&app, &browser, &client, "openid").await;
    let hint = issued["id_token"].as_str().unwrap();
    let r = browser
        .get(&format!(
            "/logout?id_token_hint={hint}&post_logout_redirect_uri=http://127.0.0.1:9999/bye&state=s3"
        ))
        .await;
    assert_eq!(location(&r), "http://127.0.0.1:9999/bye?state=s3");
    // The session is gone: the next authorization shows the login page again.
    let url = format!(
        "/authorize?response_type=code&client_id={}&redirect_uri={REDIRECT_URI}&scope=openid",
        client.id
    );
    assert!(location(&browser.get(&url).await).starts_with("/login?request="));
}

async fn logout_without_a_hint_asks_the_user_first(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = app.web_client(true, false).await;
    app.user("alice", "alice's password").await;
    let browser = app.browser();
    tokens(&app, &browser, &client, "openid").await;
    let page = browser
        .get(&format!(
            "/logout?client_id={}&post_logout_redirect_uri=http://127.0.0.1:9999/bye",
            client.id
        ))
        .await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Sign out?"));
    let csrf = crate::helpers::hidden(&html, "csrf");
    // A forged confirmation (no matching token) is refused and the session survives.
    let forged = app
        .browser()
        .post("/logout", &[("confirm", "yes"), ("csrf", &csrf)])
        .await;
    assert_eq!(forged.status(), 403);
    let url = format!(
        "/authorize?response_type=code&client_id={}&redirect_uri={REDIRECT_URI}&scope=openid",
        client.id
    );
    assert!(location(&browser.get(&url).await).starts_with(REDIRECT_URI));
    let confirmed = browser
        .post(
            "/logout",
            &[
                ("confirm", "yes"),
                ("csrf", &csrf),
                ("client_id", &client.id),
                ("post_logout_redirect_uri", "http://127.0.0.1:9999/bye"),
            ],
        )
        .await;
    assert_eq!(location(&confirmed), "http://127.0.0.1:9999/bye");
    assert!(location(&browser.get(&url).await).starts_with("/login?request="));
}

async fn logout_never_redirects_to_an_unregistered_uri(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = app.web_client(true, false).await;
    let browser = app.browser();
    for query in [
        format!(
            "client_id={}&post_logout_redirect_uri=https://evil.example/",
            client.id
        ),
        "post_logout_redirect_uri=http://127.0.0.1:9999/bye".to_owned(),
        "id_token_hint=forged.token.value".to_owned(),
    ] {
        let r = browser.get(&format!("/logout?{query}")).await;
        assert_eq!(r.status(), 400, "{query}");
        assert!(r.headers().get("location").is_none());
    }
}

async fn the_signed_out_page_leads_back_to_the_application(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = app.web_client(true, false).await;
    app.user("alice", "alice's password").await;
    let browser = app.browser();
    let issued = tokens(&app, &browser, &client, "openid").await;
    let hint = issued["id_token"].as_str().unwrap();
    let page = browser.get(&format!("/logout?id_token_hint={hint}")).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("You are signed out"), "{html}");
    assert!(
        html.contains(
            r#"<a class="onward" id="onward" href="http://127.0.0.1:9999/">Back to Web App</a>"#
        ),
        "{html}"
    );
    // Without a known application the page says how to go on.
    let anonymous = app.browser();
    let confirm = anonymous.get("/logout").await.text().await.unwrap();
    let csrf = crate::helpers::hidden(&confirm, "csrf");
    let done = anonymous
        .post("/logout", &[("confirm", "yes"), ("csrf", &csrf)])
        .await;
    assert_eq!(done.status(), 200);
    let html = done.text().await.unwrap();
    assert!(
        html.contains("To sign in again, open the application you were using"),
        "{html}"
    );
}
