//! The authorization-code flow (RFC 6749 §4.1, RFC 7636, OIDC Core §3.1), driven by the
//! openidconnect crate as a real relying party and by a cookie-keeping HTTP client as the browser.

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreUserInfoClaims,
};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};
use serde_json::Value;

use crate::backend_tests;
use crate::helpers::{
    assert_error, location, query, Backend, Browser, TestApp, TestClient, NOW, REDIRECT_URI,
};

backend_tests!(
    an_oidc_client_completes_the_flow_and_verifies_the_id_token,
    single_sign_on_skips_the_login_page_until_prompt_login_or_max_age,
    consent_is_asked_once_and_remembered,
    consent_denied_redirects_access_denied,
    a_replayed_code_revokes_the_tokens_it_issued,
    a_wrong_or_missing_code_verifier_is_refused,
    plain_pkce_is_refused,
    a_public_client_without_pkce_is_refused,
    a_redirect_uri_mismatch_at_authorize_shows_an_error_page_and_never_redirects,
    a_redirect_uri_mismatch_at_token_is_refused,
    a_code_used_by_another_client_is_refused,
    a_csrf_token_missing_or_from_another_request_is_refused,
    a_login_form_replayed_from_another_browser_is_refused,
    an_expired_code_is_refused,
    prompt_none_without_a_session_is_login_required,
    a_disabled_user_cannot_log_in,
    a_failed_login_says_only_invalid_username_or_password,
    authorize_errors_after_redirect_validation_go_back_to_the_client,
    hosted_pages_carry_the_security_headers,
);

/// A plain authorization URL with PKCE; returns (url, verifier).
pub(crate) fn authorize_url(app: &TestApp, client: &TestClient, extra: &str) -> (String, String) {
    authorize_url_with_scope(app, client, "openid profile email", extra)
}

/// An authorization URL with PKCE asking for `scope`; returns (url, verifier).
pub(crate) fn authorize_url_with_scope(
    app: &TestApp,
    client: &TestClient,
    scope: &str,
    extra: &str,
) -> (String, String) {
    let verifier = format!("verifier-{}", uuid::Uuid::new_v4().simple()) + "-0123456789";
    let challenge = {
        use base64::Engine;
        use sha2::Digest;
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(sha2::Sha256::digest(verifier.as_bytes()))
    };
    let url = format!(
        "{}/authorize?response_type=code&client_id={}&redirect_uri={}&scope={}&state=st&nonce=n0&code_challenge={challenge}&code_challenge_method=S256{extra}",
        app.address,
        client.id,
        urlencode(REDIRECT_URI),
        urlencode(scope)
    );
    (url, verifier)
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Logs in through the pages and returns the code (asserting state and iss).
async fn code_for(
    app: &TestApp,
    browser: &Browser,
    client: &TestClient,
    extra: &str,
) -> (String, String) {
    let (url, verifier) = authorize_url(app, client, extra);
    let to_login = browser.get(&url).await;
    let login = location(&to_login);
    assert!(login.starts_with("/login?request="), "{login}");
    let back = browser.log_in(&login, "alice", "alice's password").await;
    let callback = location(&back);
    assert!(callback.starts_with(REDIRECT_URI), "{callback}");
    assert_eq!(query(&callback, "state").as_deref(), Some("st"));
    assert_eq!(
        query(&callback, "iss").as_deref(),
        Some(app.address.as_str())
    );
    (query(&callback, "code").expect("code"), verifier)
}

pub(crate) async fn exchange(
    app: &TestApp,
    client: &TestClient,
    code: &str,
    verifier: &str,
) -> reqwest::Response {
    app.token(
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", verifier),
        ],
        Some(client),
    )
    .await
}

async fn an_oidc_client_completes_the_flow_and_verifies_the_id_token(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = app.web_client(true, false).await;
    let sub = app.user("alice", "alice's password").await;
    let metadata = CoreProviderMetadata::discover_async(
        IssuerUrl::new(app.address.clone()).unwrap(),
        &app.http,
    )
    .await
    .unwrap();
    let rp = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(client.id.clone()),
        Some(ClientSecret::new(client.secret.clone().unwrap())),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT_URI.into()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf, nonce) = rp
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .set_pkce_challenge(challenge)
        .url();
    let browser = app.browser();
    let login = location(&browser.get(url.as_str()).await);
    let callback = location(&browser.log_in(&login, "alice", "alice's password").await);
    assert_eq!(
        query(&callback, "state").as_deref(),
        Some(csrf.secret().as_str())
    );
    let code = query(&callback, "code").unwrap();
    let response = rp
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&app.http)
        .await
        .expect("code exchange");
    assert!(response.refresh_token().is_some());
    let id_token = response.id_token().expect("ID token");
    let verifier = rp
        .id_token_verifier()
        .set_time_fn(|| chrono::DateTime::from_timestamp(NOW, 0).unwrap());
    let claims = id_token
        .claims(&verifier, &nonce)
        .expect("ID token verifies");
    assert_eq!(claims.subject().as_str(), sub);
    assert_eq!(claims.auth_time().unwrap().timestamp(), NOW);
    let signing_key = id_token.signing_key(&verifier).unwrap();
    let expected = AccessTokenHash::from_token(
        response.access_token(),
        id_token.signing_alg().unwrap(),
        signing_key,
    )
    .unwrap();
    assert_eq!(claims.access_token_hash(), Some(&expected));
    let (_, access) = app
        .verify(response.access_token().secret(), &app.address)
        .await;
    assert_eq!(access["sub"], sub.as_str());
    assert_eq!(access["scope"], "openid profile email");
    let userinfo: CoreUserInfoClaims = rp
        .user_info(response.access_token().clone(), None)
        .unwrap()
        .request_async(&app.http)
        .await
        .expect("userinfo");
    assert_eq!(userinfo.subject(), claims.subject());
    assert_eq!(userinfo.email().unwrap().as_str(), "alice@example.com");
    assert_eq!(userinfo.preferred_username().unwrap().as_str(), "alice");
}

async fn single_sign_on_skips_the_login_page_until_prompt_login_or_max_age(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let first = app.web_client(true, false).await;
    let second = app.web_client(true, false).await;
    app.user("alice", "alice's password").await;
    let browser = app.browser();
    code_for(&app, &browser, &first, "").await;
    // Another application, same browser: straight back with a code.
    let (url, _) = authorize_url(&app, &second, "");
    let callback = location(&browser.get(&url).await);
    assert!(
        callback.starts_with(REDIRECT_URI) && query(&callback, "code").is_some(),
        "{callback}"
    );
    // prompt=login and an exceeded max_age both demand a fresh login.
    app.clock.advance(120);
    for extra in ["&prompt=login", "&max_age=60"] {
        let (url, _) = authorize_url(&app, &second, extra);
        let to = location(&browser.get(&url).await);
        assert!(to.starts_with("/login?request="), "{extra}: {to}");
    }
    let (url, _) = authorize_url(&app, &second, "&max_age=600");
    assert!(location(&browser.get(&url).await).starts_with(REDIRECT_URI));
    // A fresh browser has no session.
    let other = app.browser();
    assert!(location(&other.get(&url).await).starts_with("/login?request="));
}

async fn consent_is_asked_once_and_remembered(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = app.web_client(false, false).await;
    app.user("alice", "alice's password").await;
    let browser = app.browser();
    let (url, verifier) = authorize_url(&app, &client, "");
    let login = location(&browser.get(&url).await);
    let consent = location(&browser.log_in(&login, "alice", "alice's password").await);
    assert!(consent.starts_with("/consent?request="), "{consent}");
    let page = browser.get(&consent).await.text().await.unwrap();
    assert!(page.contains("Web App"));
    assert!(page.contains("See your email address"));
    let callback = location(&browser.consent(&consent, true).await);
    let code = query(&callback, "code").unwrap();
    assert_eq!(
        exchange(&app, &client, &code, &verifier).await.status(),
        200
    );
    // Remembered: the next request goes straight back; prompt=consent asks again.
    let (url, _) = authorize_url(&app, &client, "");
    assert!(location(&browser.get(&url).await).starts_with(REDIRECT_URI));
    let (url, _) = authorize_url(&app, &client, "&prompt=consent");
    assert!(location(&browser.get(&url).await).starts_with("/consent?request="));
    // Revoking the consent brings the page back.
    let pool = app.state.pool.clone();
    tokio::task::spawn_blocking(move || {
        latchkey::admin::users::revoke_consent(
            &mut pool.get().unwrap(),
            &crate::helpers::by_cli(0),
            "alice",
            None,
        )
    })
    .await
    .unwrap()
    .unwrap();
    let (url, _) = authorize_url(&app, &client, "");
    assert!(location(&browser.get(&url).await).starts_with("/consent?request="));
}

async fn consent_denied_redirects_access_denied(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = app.web_client(false, false).await;
    app.user("alice", "alice's password").await;
    let browser = app.browser();
    let (url, _) = authorize_url(&app, &client, "");
    let login = location(&browser.get(&url).await);
    let consent = location(&browser.log_in(&login, "alice", "alice's password").await);
    let callback = location(&browser.consent(&consent, false).await);
    assert_eq!(query(&callback, "error").as_deref(), Some("access_denied"));
    assert_eq!(query(&callback, "state").as_deref(), Some("st"));
    assert_eq!(
        query(&callback, "iss").as_deref(),
        Some(app.address.as_str())
    );
    assert!(query(&callback, "code").is_none());
    // prompt=none now reports consent_required instead of showing a page.
    let (url, _) = authorize_url(&app, &client, "&prompt=none");
    let callback = location(&browser.get(&url).await);
    assert_eq!(
        query(&callback, "error").as_deref(),
        Some("consent_required")
    );
}

async fn a_replayed_code_revokes_the_tokens_it_issued(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = app.web_client(true, false).await;
    app.user("alice", "alice's password").await;
    let browser = app.browser();
    let (code, verifier) = code_for(&app, &browser, &client, "").await;
    let first: Value = exchange(&app, &client, &code, &verifier)
        .await
        .json()
        .await
        .unwrap();
    let access = first["access_token"].as_str().unwrap().to_owned();
    let userinfo = |token: String| {
        let app = &app;
        async move {
            app.http
                .get(app.url("/userinfo"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(userinfo(access.clone()).await.status(), 200);
    let replay = exchange(&app, &client, &code, &verifier).await;
    assert_error(
        replay,
        400,
        "invalid_grant",
        "The authorization code has already been used",
    )
    .await;
    // The access token the code issued is now refused, and its refresh token revoked.
    let refused = userinfo(access).await;
    assert_eq!(refused.status(), 401);
    assert_eq!(
        refused.headers()["www-authenticate"].to_str().unwrap(),
        r#"Bearer realm="latchkey", error="invalid_token", error_description="The access token has been revoked""#
    );
    let refresh = first["refresh_token"].as_str().unwrap().to_owned();
    let pool = app.state.pool.clone();
    let revoked = tokio::task::spawn_blocking(move || {
        let mut conn = pool.get().unwrap();
        let hash = latchkey::domain::secret::SecretHash::of_str(&refresh);
        latchkey::db::refresh_tokens::find(&mut conn, hash.as_bytes())
            .unwrap()
            .unwrap()
            .revoked_at
    })
    .await
    .unwrap();
    assert!(revoked.is_some());
}

async fn a_wrong_or_missing_code_verifier_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = app.web_client(true, false).await;
    app.user("alice", "alice's password").await;
    let browser = app.browser();
    let (code, verifier) = code_for(&app, &browser, &client, "").await;
    let wrong = exchange(
        &app,
        &client,
        &code,
        "a-verifier-that-is-long-enough-but-wrong-0123456789",
    )
    .await;
    assert_error(
        wrong,
        400,
        "invalid_grant",
        "code_verifier does not match the code_challenge",
    )
    .await;
    let missing = app
        .token(
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT_URI),
            ],
            Some(&client),
        )
        .await;
    assert_error(
        missing,
        400,
        "invalid_request",
        "Missing required parameter `code_verifier`",
    )
    .await;
    // Failed attempts did not consume the code.
    assert_eq!(
        exchange(&app, &client, &code, &verifier).await.status(),
        200
    );
}

async fn plain_pkce_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = app.web_client(true, true).await;
    let url = format!(
        "{}/authorize?response_type=code&client_id={}&redirect_uri={}&scope=openid&state=s1&code_challenge=abcdefghijabcdefghijabcdefghijabcdefghij123&code_challenge_method=plain",
        app.address,
        client.id,
        urlencode(REDIRECT_URI)
    );
    let callback = location(&app.browser().get(&url).await);
    assert_eq!(
        query(&callback, "error").as_deref(),
        Some("invalid_request")
    );
    assert_eq!(
        query(&callback, "error_description").as_deref(),
        Some("code_challenge_method must be S256; plain is not accepted")
    );
    assert_eq!(query(&callback, "state").as_deref(), Some("s1"));
}

async fn a_public_client_without_pkce_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = app.web_client(true, true).await;
    let url = format!(
        "{}/authorize?response_type=code&client_id={}&redirect_uri={}&scope=openid",
        app.address,
        client.id,
        urlencode(REDIRECT_URI)
    );
    let callback = location(&app.browser().get(&url).await);
    assert_eq!(
        query(&callback, "error_description").as_deref(),
        Some("Public clients must use PKCE (code_challenge with S256)")
    );
    // With PKCE a public client completes the flow without a secret.
    app.user("alice", "alice's password").await;
    let browser = app.browser();
    let (code, verifier) = code_for(&app, &browser, &client, "").await;
    let response = app
        .token(
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT_URI),
                ("code_verifier", &verifier),
                ("client_id", &client.id),
            ],
            None,
        )
        .await;
    assert_eq!(response.status(), 200);
}

async fn a_redirect_uri_mismatch_at_authorize_shows_an_error_page_and_never_redirects(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let client = app.web_client(true, false).await;
    let browser = app.browser();
    for (client_id, redirect) in [
        (client.id.as_str(), "https://evil.example/callback"),
        (client.id.as_str(), "http://127.0.0.1:9999/callback/extra"),
        (client.id.as_str(), "http://127.0.0.1:9999/CALLBACK"),
        ("unknown-client", REDIRECT_URI),
    ] {
        let url = format!(
            "{}/authorize?response_type=code&client_id={client_id}&redirect_uri={}&scope=openid&state=x",
            app.address,
            urlencode(redirect)
        );
        let response = browser.get(&url).await;
        assert_eq!(response.status(), 400, "{client_id} {redirect}");
        assert!(response.headers().get("location").is_none());
        assert_eq!(
            response.headers()["content-type"],
            "text/html; charset=utf-8"
        );
        let page = response.text().await.unwrap();
        assert!(page.contains("invalid_request"), "{page}");
        assert!(!page.contains("evil.example"));
    }
}

async fn a_redirect_uri_mismatch_at_token_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = app.web_client(true, false).await;
    app.user("alice", "alice's password").await;
    let (code, verifier) = code_for(&app, &app.browser(), &client, "").await;
    let response = app
        .token(
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", "http://127.0.0.1:9999/other"),
                ("code_verifier", &verifier),
            ],
            Some(&client),
        )
        .await;
    assert_error(
        response,
        400,
        "invalid_grant",
        "redirect_uri does not match the authorization request",
    )
    .await;
}

async fn a_code_used_by_another_client_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = app.web_client(true, false).await;
    let thief = app.web_client(true, false).await;
    app.user("alice", "alice's password").await;
    let (code, verifier) = code_for(&app, &app.browser(), &client, "").await;
    let stolen = exchange(&app, &thief, &code, &verifier).await;
    assert_error(
        stolen,
        400,
        "invalid_grant",
        "The authorization code is invalid or expired",
    )
    .await;
    assert_eq!(
        exchange(&app, &client, &code, &verifier).await.status(),
        200
    );
}

async fn a_csrf_token_missing_or_from_another_request_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = app.web_client(true, false).await;
    app.user("alice", "alice's password").await;
    let browser = app.browser();
    let (first_url, _) = authorize_url(&app, &client, "");
    let first_login = location(&browser.get(&first_url).await);
    let first_page = browser.get(&first_login).await.text().await.unwrap();
    let first_request = crate::helpers::hidden(&first_page, "request");
    let first_csrf = crate::helpers::hidden(&first_page, "csrf");
    let (second_url, _) = authorize_url(&app, &client, "");
    let second_login = location(&browser.get(&second_url).await);
    let second_page = browser.get(&second_login).await.text().await.unwrap();
    let second_request = crate::helpers::hidden(&second_page, "request");
    for (request, csrf) in [
        (first_request.as_str(), ""),
        (second_request.as_str(), first_csrf.as_str()),
        (first_request.as_str(), "forged-token"),
    ] {
        let mut form = vec![
            ("request", request),
            ("username", "alice"),
            ("password", "alice's password"),
        ];
        if !csrf.is_empty() {
            form.push(("csrf", csrf));
        }
        let response = browser.post("/login", &form).await;
        assert_eq!(response.status(), 403, "{request} {csrf}");
        assert!(response.headers().get("location").is_none());
    }
    // The genuine pair still works.
    let ok = browser
        .post(
            "/login",
            &[
                ("request", &first_request),
                ("csrf", &first_csrf),
                ("username", "alice"),
                ("password", "alice's password"),
            ],
        )
        .await;
    assert!(location(&ok).starts_with(REDIRECT_URI));
}

async fn a_login_form_replayed_from_another_browser_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = app.web_client(true, false).await;
    app.user("mallory", "mallory's password").await;
    // The attacker starts a login and hands the form to a victim's browser (login CSRF).
    let attacker = app.browser();
    let (url, _) = authorize_url(&app, &client, "");
    let login = location(&attacker.get(&url).await);
    let page = attacker.get(&login).await.text().await.unwrap();
    let victim = app.browser();
    let response = victim
        .post(
            "/login",
            &[
                ("request", &crate::helpers::hidden(&page, "request")),
                ("csrf", &crate::helpers::hidden(&page, "csrf")),
                ("username", "mallory"),
                ("password", "mallory's password"),
            ],
        )
        .await;
    assert_eq!(response.status(), 403);
    assert!(response.cookies().all(|c| !c.name().contains("session")));
}

async fn an_expired_code_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = app.web_client(true, false).await;
    app.user("alice", "alice's password").await;
    let (code, verifier) = code_for(&app, &app.browser(), &client, "").await;
    app.clock.advance(61);
    let response = exchange(&app, &client, &code, &verifier).await;
    assert_error(
        response,
        400,
        "invalid_grant",
        "The authorization code is invalid or expired",
    )
    .await;
}

async fn prompt_none_without_a_session_is_login_required(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = app.web_client(true, false).await;
    let (url, _) = authorize_url(&app, &client, "&prompt=none");
    let callback = location(&app.browser().get(&url).await);
    assert!(callback.starts_with(REDIRECT_URI));
    assert_eq!(query(&callback, "error").as_deref(), Some("login_required"));
    assert_eq!(query(&callback, "state").as_deref(), Some("st"));
}

async fn a_disabled_user_cannot_log_in(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = app.web_client(true, false).await;
    app.user("alice", "alice's password").await;
    let browser = app.browser();
    code_for(&app, &browser, &client, "").await;
    let pool = app.state.pool.clone();
    tokio::task::spawn_blocking(move || {
        latchkey::admin::users::set_disabled(
            &mut pool.get().unwrap(),
            &crate::helpers::by_cli(NOW),
            "alice",
            true,
        )
    })
    .await
    .unwrap()
    .unwrap();
    // The live session ends with the account…
    let (url, _) = authorize_url(&app, &client, "");
    let login = location(&browser.get(&url).await);
    assert!(login.starts_with("/login?request="), "{login}");
    // …and the right password no longer opens a new one.
    let response = browser.log_in(&login, "alice", "alice's password").await;
    assert_eq!(response.status(), 200);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("Invalid username or password"));
}

async fn a_failed_login_says_only_invalid_username_or_password(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = app.web_client(true, false).await;
    app.user("alice", "alice's password").await;
    let browser = app.browser();
    let (url, _) = authorize_url(&app, &client, "&login_hint=alice");
    let login = location(&browser.get(&url).await);
    let page = browser.get(&login).await.text().await.unwrap();
    assert!(
        page.contains(r#"value="alice""#),
        "login_hint pre-fills the username"
    );
    let mut bodies = Vec::new();
    for (username, password) in [
        ("alice", "wrong password"),
        ("nobody", "alice's password"),
        ("<script>", "x"),
    ] {
        let response = browser.log_in(&login, username, password).await;
        assert_eq!(response.status(), 200);
        let html = response.text().await.unwrap();
        assert!(html.contains(
            r#"<p class="error" role="alert" id="login-error">Invalid username or password</p>"#
        ));
        assert!(!html.contains("<script>"), "input is escaped");
        bodies.push(
            html.replace(username, "USER")
                .split("name=\"csrf\"")
                .next()
                .unwrap()
                .to_owned(),
        );
    }
    assert_eq!(
        bodies[0], bodies[1],
        "unknown user and wrong password look the same"
    );
}

async fn authorize_errors_after_redirect_validation_go_back_to_the_client(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = app.web_client(true, false).await;
    let browser = app.browser();
    let base = format!(
        "{}/authorize?client_id={}&redirect_uri={}&state=s9",
        app.address,
        client.id,
        urlencode(REDIRECT_URI)
    );
    for (extra, error, description) in [
        (
            "&response_type=token",
            "unsupported_response_type",
            "Only response_type=code is supported",
        ),
        (
            "",
            "invalid_request",
            "Missing required parameter `response_type`",
        ),
        (
            "&response_type=code&scope=openid%20admin",
            "invalid_scope",
            "The requested scope exceeds the scope registered for the client",
        ),
        (
            "&response_type=code&response_mode=fragment",
            "invalid_request",
            "Only response_mode=query is supported",
        ),
        (
            "&response_type=code&prompt=none%20login",
            "invalid_request",
            "prompt=none cannot be combined with other values",
        ),
        (
            "&response_type=code&max_age=-1",
            "invalid_request",
            "max_age must be a non-negative integer",
        ),
        (
            "&response_type=code&request=eyJ",
            "request_not_supported",
            "Request objects are not supported",
        ),
    ] {
        let callback = location(&browser.get(&format!("{base}{extra}")).await);
        assert!(callback.starts_with(REDIRECT_URI), "{extra}");
        assert_eq!(query(&callback, "error").as_deref(), Some(error), "{extra}");
        assert_eq!(
            query(&callback, "error_description").as_deref(),
            Some(description),
            "{extra}"
        );
        assert_eq!(query(&callback, "state").as_deref(), Some("s9"));
        assert_eq!(
            query(&callback, "iss").as_deref(),
            Some(app.address.as_str())
        );
    }
    // A repeated parameter is caught before anything is trusted: an error page.
    let response = browser
        .get(&format!("{base}&response_type=code&state=again"))
        .await;
    assert_eq!(response.status(), 400);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("Parameter <code>state</code> is repeated"));
}

async fn hosted_pages_carry_the_security_headers(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = app.web_client(true, false).await;
    let browser = app.browser();
    let (url, _) = authorize_url(&app, &client, "");
    let redirect = browser.get(&url).await;
    let cookie = redirect.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/"),
        "{cookie}"
    );
    let page = browser.get(&location(&redirect)).await;
    let headers = page.headers();
    assert_eq!(
        headers["content-security-policy"],
        "default-src 'none'; style-src 'self'; img-src 'self' https:; frame-ancestors 'none'; base-uri 'none'"
    );
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["cache-control"], "no-store");
    let html = page.text().await.unwrap();
    assert!(!html.contains("<script"), "no script on the login page");
    assert!(
        html.contains(r#"<label for="username">"#) && html.contains(r#"<label for="password">"#)
    );
    let css = browser.get("/assets/theme.css").await.text().await.unwrap();
    assert_eq!(css, ":root { --accent: #2952cc; }\n");
}
