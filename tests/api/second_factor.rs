//! Second factors at sign-in: TOTP enrolment (when required or asked for by `acr_values`) and
//! login with codes computed here from the enrolled secret (RFC 6238 through totp-rs), replay
//! and skew, recovery codes, throttling, and `amr`/`acr`/`auth_time` in ID tokens verified by
//! the openidconnect crate as a relying party.

use std::sync::Arc;

use latchkey::domain::factor::MfaPolicy;
use openidconnect::core::{CoreAuthenticationFlow, CoreIdTokenClaims};
use openidconnect::{
    AuthorizationCode, CsrfToken, Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    TokenResponse,
};

use crate::backend_tests;
use crate::helpers::{
    hidden, location, query, test_settings, Backend, Browser, RelyingParty, TestApp, TestClient,
    NOW, REDIRECT_URI,
};

backend_tests!(
    totp_enrolment_at_sign_in_then_login_with_a_code,
    a_replayed_totp_code_is_refused,
    a_totp_code_one_step_off_is_accepted,
    a_recovery_code_works_once,
    acr_values_triggers_step_up,
    max_age_forces_reauthentication,
    wrong_second_factor_codes_are_throttled,
    a_second_factor_form_without_the_sealed_password_step_is_refused,
    the_cli_lists_and_resets_factors_and_sets_a_clients_policy,
    the_admin_api_lists_and_resets_factors,
);

const PASSWORD: &str = "alice's password";
const MFA: &str = "urn:latchkey:acr:mfa";

async fn spawn(backend: Backend, policy: MfaPolicy) -> TestApp {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let mut settings = test_settings(backend, dir.path());
    settings.mfa.policy = policy;
    TestApp::spawn_with(dir, settings).await
}

/// An app that requires a second factor, a client, alice, and an authorization URL.
async fn required(backend: Backend) -> (TestApp, TestClient, String) {
    let app = spawn(backend, MfaPolicy::Required).await;
    let client = app.web_client(true, false).await;
    app.user("alice", PASSWORD).await;
    let (_, url) = rp_start(&app, &client, &[]).await;
    (app, client, url)
}

/// RFC 6238 codes, computed here from the secret the enrolment page showed.
pub(crate) fn code(secret_base32: &str, at: i64) -> String {
    let secret = totp_rs::Secret::Encoded(secret_base32.to_owned())
        .to_bytes()
        .unwrap();
    totp_rs::TOTP::new_unchecked(totp_rs::Algorithm::SHA1, 6, 0, 30, secret).generate(at as u64)
}

/// The text of the element with `id` in a page.
pub(crate) fn element(html: &str, id: &str) -> String {
    let start = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in {html}"));
    let open = html[start..].find('>').unwrap() + start + 1;
    let end = html[open..].find('<').unwrap() + open;
    html[open..end].to_owned()
}

/// Sends a code on the second-factor page `html`.
pub(crate) async fn send_code(browser: &Browser, html: &str, code: &str) -> reqwest::Response {
    browser
        .post(
            "/login/second-factor",
            &[
                ("request", &hidden(html, "request")),
                ("csrf", &hidden(html, "csrf")),
                ("state", &hidden(html, "state")),
                ("code", code),
            ],
        )
        .await
}

/// Starts a sign-in at `authorize` and gives the right password: the second-factor page.
async fn password_step(browser: &Browser, authorize: &str) -> String {
    let login = location(&browser.get(authorize).await);
    assert!(login.starts_with("/login?request="), "{login}");
    let page = browser.log_in(&login, "alice", PASSWORD).await;
    assert_eq!(page.status(), 200, "second-factor page");
    page.text().await.unwrap()
}

/// Enrols at sign-in (the page must offer enrolment): returns the secret, the recovery codes
/// and the callback URL.
async fn enrol(app: &TestApp, browser: &Browser, authorize: &str) -> (String, Vec<String>, String) {
    let page = password_step(browser, authorize).await;
    assert!(page.contains("id=\"totp-qr\""), "QR code shown: {page}");
    assert!(page.contains("<svg"), "the QR code is inline SVG");
    let secret = element(&page, "totp-secret");
    let done = send_code(browser, &page, &code(&secret, app.clock_now())).await;
    assert_eq!(done.status(), 200, "recovery codes page");
    let html = done.text().await.unwrap();
    let codes = recovery_codes(&html);
    assert_eq!(codes.len(), 10, "ten recovery codes");
    let onward = hidden_href(&html);
    (secret, codes, onward)
}

/// The recovery codes a page shows.
pub(crate) fn recovery_codes(html: &str) -> Vec<String> {
    html.split("<li><code>")
        .skip(1)
        .map(|s| s[..s.find('<').unwrap()].to_owned())
        .collect()
}

pub(crate) fn hidden_href(html: &str) -> String {
    let start = html.find("id=\"onward\" href=\"").unwrap() + "id=\"onward\" href=\"".len();
    let end = html[start..].find('"').unwrap() + start;
    html[start..end].replace("&amp;", "&")
}

/// A relying party (the openidconnect crate) for `client`, and its request's secrets.
struct Rp {
    client: RelyingParty,
    nonce: Nonce,
    verifier: PkceCodeVerifier,
}

async fn rp_start(app: &TestApp, client: &TestClient, extra: &[(&str, &str)]) -> (Rp, String) {
    let rp = app
        .relying_party(client)
        .await
        .set_redirect_uri(RedirectUrl::new(REDIRECT_URI.into()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = rp
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .set_pkce_challenge(challenge);
    for (name, value) in extra {
        request = request.add_extra_param(*name, *value);
    }
    let (url, _, nonce) = request.url();
    (
        Rp {
            client: rp,
            nonce,
            verifier,
        },
        url.to_string(),
    )
}

/// Exchanges the code of `callback` and verifies the ID token.
async fn rp_finish(app: &TestApp, rp: Rp, callback: &str) -> CoreIdTokenClaims {
    assert!(callback.starts_with(REDIRECT_URI), "{callback}");
    let code = query(callback, "code").expect("code");
    let response = rp
        .client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(rp.verifier)
        .request_async(&app.http)
        .await
        .expect("code exchange");
    let now = app.clock_now();
    let verifier = rp
        .client
        .id_token_verifier()
        .set_time_fn(move || chrono::DateTime::from_timestamp(now, 0).unwrap());
    response
        .id_token()
        .expect("ID token")
        .claims(&verifier, &rp.nonce)
        .expect("ID token verifies")
        .clone()
}

fn amr(claims: &CoreIdTokenClaims) -> Vec<String> {
    claims
        .auth_method_refs()
        .map(|v| v.iter().map(|m| m.as_str().to_owned()).collect())
        .unwrap_or_default()
}

fn acr(claims: &CoreIdTokenClaims) -> String {
    claims
        .auth_context_ref()
        .map(|a| a.as_str().to_owned())
        .unwrap_or_default()
}

async fn totp_enrolment_at_sign_in_then_login_with_a_code(backend: Backend) {
    let app = spawn(backend, MfaPolicy::Required).await;
    let client = app.web_client(true, false).await;
    app.user("alice", PASSWORD).await;
    let (rp, url) = rp_start(&app, &client, &[]).await;
    let (secret, _, callback) = enrol(&app, &app.browser(), &url).await;
    let claims = rp_finish(&app, rp, &callback).await;
    assert_eq!(amr(&claims), ["pwd", "otp", "mfa"]);
    assert_eq!(acr(&claims), MFA);
    // Later, another browser: the password, then a code of the enrolled app.
    app.clock.advance(30);
    let (rp, url) = rp_start(&app, &client, &[]).await;
    let browser = app.browser();
    let page = password_step(&browser, &url).await;
    assert!(!page.contains("totp-qr"), "no second enrolment");
    let done = send_code(&browser, &page, &code(&secret, app.clock_now())).await;
    let claims = rp_finish(&app, rp, &location(&done)).await;
    assert_eq!(amr(&claims), ["pwd", "otp", "mfa"]);
    assert_eq!(claims.auth_time().unwrap().timestamp(), app.clock_now());
}

async fn a_replayed_totp_code_is_refused(backend: Backend) {
    let (app, _, url) = required(backend).await;
    let (secret, _, _) = enrol(&app, &app.browser(), &url).await;
    // The enrolment's own code, again within its window: refused.
    let used = code(&secret, app.clock_now());
    let browser = app.browser();
    let page = password_step(&browser, &url).await;
    let again = send_code(&browser, &page, &used).await;
    assert_eq!(again.status(), 200);
    let html = again.text().await.unwrap();
    assert!(html.contains("That code is not valid"), "{html}");
    // The next step's code works once, and not a second time in another browser.
    app.clock.advance(30);
    let next = code(&secret, app.clock_now());
    let ok = send_code(&browser, &html, &next).await;
    assert!(location(&ok).starts_with(REDIRECT_URI));
    let other = app.browser();
    let page = password_step(&other, &url).await;
    let replayed = send_code(&other, &page, &next).await;
    assert!(replayed
        .text()
        .await
        .unwrap()
        .contains("That code is not valid"));
}

async fn a_totp_code_one_step_off_is_accepted(backend: Backend) {
    let (app, _, url) = required(backend).await;
    let (secret, _, _) = enrol(&app, &app.browser(), &url).await;
    app.clock.advance(300);
    let now = app.clock_now();
    let browser = app.browser();
    // Two steps off: refused. One step behind: accepted.
    let page = password_step(&browser, &url).await;
    let far = send_code(&browser, &page, &code(&secret, now - 60)).await;
    let html = far.text().await.unwrap();
    assert!(html.contains("That code is not valid"), "{html}");
    let behind = send_code(&browser, &html, &code(&secret, now - 30)).await;
    assert!(location(&behind).starts_with(REDIRECT_URI));
    // One step ahead (a phone's clock running fast): accepted too.
    let other = app.browser();
    let page = password_step(&other, &url).await;
    let ahead = send_code(&other, &page, &code(&secret, now + 30)).await;
    assert!(location(&ahead).starts_with(REDIRECT_URI));
}

async fn a_recovery_code_works_once(backend: Backend) {
    let (app, client, url) = required(backend).await;
    let (_, codes, _) = enrol(&app, &app.browser(), &url).await;
    let (rp, url) = rp_start(&app, &client, &[]).await;
    let browser = app.browser();
    let page = password_step(&browser, &url).await;
    // Typed loosely: lower case, spaces for dashes.
    let typed = codes[3].to_lowercase().replace('-', " ");
    let done = send_code(&browser, &page, &typed).await;
    let claims = rp_finish(&app, rp, &location(&done)).await;
    assert_eq!(acr(&claims), MFA);
    let other = app.browser();
    let page = password_step(&other, &url).await;
    let again = send_code(&other, &page, &codes[3]).await;
    assert!(again
        .text()
        .await
        .unwrap()
        .contains("That code is not valid"));
}

async fn acr_values_triggers_step_up(backend: Backend) {
    let app = spawn(backend, MfaPolicy::Optional).await;
    let client = app.web_client(true, false).await;
    app.user("alice", PASSWORD).await;
    let browser = app.browser();
    // A password is enough for a plain request.
    let (rp, url) = rp_start(&app, &client, &[]).await;
    let login = location(&browser.get(&url).await);
    let callback = location(&browser.log_in(&login, "alice", PASSWORD).await);
    let claims = rp_finish(&app, rp, &callback).await;
    assert_eq!(amr(&claims), ["pwd"]);
    assert_eq!(acr(&claims), "urn:latchkey:acr:pwd");
    // acr_values asking for a second factor: the password session is not enough; sign in
    // again, and (having none) enrol one.
    app.clock.advance(30);
    let (rp, url) = rp_start(&app, &client, &[("acr_values", MFA)]).await;
    let (_, _, callback) = enrol(&app, &browser, &url).await;
    let claims = rp_finish(&app, rp, &callback).await;
    assert_eq!(amr(&claims), ["pwd", "otp", "mfa"]);
    assert_eq!(acr(&claims), MFA);
    assert_eq!(claims.auth_time().unwrap().timestamp(), NOW + 30);
    // The session is now multi-factor: the next such request needs no sign-in.
    let (rp, url) = rp_start(&app, &client, &[("acr_values", MFA)]).await;
    let callback = location(&browser.get(&url).await);
    assert_eq!(acr(&rp_finish(&app, rp, &callback).await), MFA);
}

async fn max_age_forces_reauthentication(backend: Backend) {
    let app = spawn(backend, MfaPolicy::Optional).await;
    let client = app.web_client(true, false).await;
    app.user("alice", PASSWORD).await;
    let browser = app.browser();
    let (_, url) = rp_start(&app, &client, &[]).await;
    let login = location(&browser.get(&url).await);
    location(&browser.log_in(&login, "alice", PASSWORD).await);
    app.clock.advance(120);
    let (rp, url) = rp_start(&app, &client, &[("max_age", "60")]).await;
    let login = location(&browser.get(&url).await);
    assert!(login.starts_with("/login?request="), "{login}");
    let callback = location(&browser.log_in(&login, "alice", PASSWORD).await);
    let claims = rp_finish(&app, rp, &callback).await;
    assert_eq!(claims.auth_time().unwrap().timestamp(), NOW + 120);
}

async fn wrong_second_factor_codes_are_throttled(backend: Backend) {
    let (app, _, url) = required(backend).await;
    let (secret, _, _) = enrol(&app, &app.browser(), &url).await;
    app.clock.advance(30);
    let browser = app.browser();
    let mut html = password_step(&browser, &url).await;
    for _ in 0..3 {
        let wrong = send_code(&browser, &html, "000000").await;
        assert_eq!(wrong.status(), 200);
        html = wrong.text().await.unwrap();
    }
    // Past the threshold even the right code waits.
    let throttled = send_code(&browser, &html, &code(&secret, app.clock_now())).await;
    assert_eq!(throttled.status(), 429);
    assert!(throttled.headers().contains_key("retry-after"));
}

async fn a_second_factor_form_without_the_sealed_password_step_is_refused(backend: Backend) {
    let app = spawn(backend, MfaPolicy::Required).await;
    let client = app.web_client(true, false).await;
    app.user("alice", PASSWORD).await;
    let (_, url) = rp_start(&app, &client, &[]).await;
    let browser = app.browser();
    let login = location(&browser.get(&url).await);
    let html = browser.get(&login).await.text().await.unwrap();
    // The login form's fields, with a made-up state: no way around the password.
    let forged = browser
        .post(
            "/login/second-factor",
            &[
                ("request", &hidden(&html, "request")),
                ("csrf", &hidden(&html, "csrf")),
                ("state", "AAAA"),
                ("code", "123456"),
            ],
        )
        .await;
    assert_eq!(forged.status(), 403);
}

/// Runs the CLI against the app's database and master key.
async fn cli(app: &TestApp, args: &[&str]) -> std::process::Output {
    let url = app.state.settings.database.url.clone();
    let key = app
        .state
        .settings
        .keys
        .master_key_file
        .display()
        .to_string();
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let envs = [
            ("LATCHKEY__DATABASE__URL", url.as_str()),
            ("LATCHKEY__KEYS__MASTER_KEY_FILE", key.as_str()),
        ];
        crate::cli::latchkey(&envs, &args, None)
    })
    .await
    .unwrap()
}

async fn the_cli_lists_and_resets_factors_and_sets_a_clients_policy(backend: Backend) {
    let (app, client, url) = required(backend).await;
    enrol(&app, &app.browser(), &url).await;
    let listed = crate::cli::stdout_json(&cli(&app, &["user", "mfa", "alice", "--json"]).await);
    assert_eq!(listed["factors"][0]["kind"], "totp");
    assert_eq!(listed["factors"][0]["confirmed"], true);
    assert_eq!(listed["recovery_codes_left"], 10);
    assert!(!listed.to_string().contains("secret"), "{listed}");
    let reset = cli(&app, &["user", "mfa-reset", "alice"]).await;
    assert!(reset.status.success(), "{reset:?}");
    let listed = crate::cli::stdout_json(&cli(&app, &["user", "mfa", "alice", "--json"]).await);
    assert_eq!(listed["factors"], serde_json::json!([]));
    assert_eq!(listed["recovery_codes_left"], 0);
    // Reset: the next sign-in enrols again.
    let (_, url) = rp_start(&app, &client, &[]).await;
    let page = password_step(&app.browser(), &url).await;
    assert!(page.contains("totp-qr"), "enrolment again");
    // The client's own policy replaces the global one.
    let updated = cli(&app, &["client", "update", &client.id, "--mfa", "off"]).await;
    assert!(updated.status.success(), "{updated:?}");
    let browser = app.browser();
    let login = location(&browser.get(&url).await);
    let done = browser.log_in(&login, "alice", PASSWORD).await;
    assert!(location(&done).starts_with(REDIRECT_URI));
}

async fn the_admin_api_lists_and_resets_factors(backend: Backend) {
    let (app, _, url) = required(backend).await;
    enrol(&app, &app.browser(), &url).await;
    let (_, token) = crate::admin::admin_token(&app).await;
    let mfa = app.url("/admin/api/users/alice/mfa");
    let listed: serde_json::Value = app
        .http
        .get(&mfa)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["factors"][0]["kind"], "totp");
    assert!(!listed.to_string().contains("secret"), "{listed}");
    let reset = app
        .http
        .delete(&mfa)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), 200);
    let page = password_step(&app.browser(), &url).await;
    assert!(page.contains("totp-qr"), "enrolment again after the reset");
    let anonymous = app.http.get(&mfa).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
}
