//! The hosted login page in a real headless Chromium driven through WebDriver (DESIGN.md §7, §8):
//! sign in after a failed attempt, single sign-on, logout, and the page at a phone's size.
//! chromedriver and Chromium come from Debian's `chromium-driver` and `chromium` (installed by
//! scripts/test.sh); when they are missing the tests fail, they never skip.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use fantoccini::{Client, ClientBuilder, Locator};
use latchkey::admin;
use latchkey::domain::client::GrantType;
use serde_json::{json, Value};
use sha2::Digest;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::backend_tests;
use crate::helpers::{query, Backend, TestApp, TestClient};

backend_tests!(a_person_logs_in_through_the_hosted_page_in_chromium);

const CLIENT_NAME: &str = "Browser Test App";
const USERNAME: &str = "alice";
const PASSWORD: &str = "a long password";
/// How long to wait for chromedriver to answer, or for a page to reach an expected state.
pub(crate) const PATIENCE: Duration = Duration::from_secs(30);

/// chromedriver in its own process group, killed with every browser it started when dropped.
pub(crate) struct ChromeDriver {
    child: Child,
    url: String,
    /// Chromium's profile; declared after `child` so it is removed once the browser is gone.
    profile: tempfile::TempDir,
}

impl ChromeDriver {
    pub(crate) async fn start() -> Self {
        let path = std::env::var("LATCHKEY_TEST_CHROMEDRIVER")
            .unwrap_or_else(|_| "/usr/bin/chromedriver".into());
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("pick a free port for chromedriver")
            .port();
        let child = {
            use std::os::unix::process::CommandExt;
            Command::new(&path)
                .arg(format!("--port={port}"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .process_group(0)
                .spawn()
                .unwrap_or_else(|e| {
                    panic!(
                        "cannot start chromedriver at {path} ({e}); install Debian's chromium and \
                         chromium-driver (scripts/test.sh does) or set LATCHKEY_TEST_CHROMEDRIVER"
                    )
                })
        };
        let mut driver = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
            profile: tempfile::tempdir().expect("tempdir for the Chromium profile"),
        };
        driver.wait_until_ready(&path).await;
        driver
    }

    async fn wait_until_ready(&mut self, path: &str) {
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(2))
            .build()
            .expect("HTTP client");
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().expect("poll chromedriver") {
                panic!("chromedriver at {path} exited before answering: {status}");
            }
            if let Ok(response) = http.get(format!("{}/status", self.url)).send().await {
                if let Ok(body) = response.json::<Value>().await {
                    if body["value"]["ready"] == true {
                        return;
                    }
                }
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver at {path} did not answer on {} within {PATIENCE:?}",
                self.url
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A new headless Chromium session with a fresh profile and the given window size.
    pub(crate) async fn browser(&self, width: u32, height: u32) -> Client {
        let binary =
            std::env::var("LATCHKEY_TEST_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        assert!(
            Path::new(&binary).exists(),
            "Chromium is not installed at {binary}; install Debian's chromium (scripts/test.sh does) \
             or set LATCHKEY_TEST_CHROMIUM"
        );
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": binary,
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    format!("--window-size={width},{height}"),
                    format!("--user-data-dir={}", self.profile.path().display()),
                ],
            },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!("a JSON object")
        };
        let connector = ClientBuilder::native()
            .capabilities(capabilities)
            .connect(&self.url)
            .await;
        connector
            .unwrap_or_else(|e| panic!("chromedriver could not start Chromium at {binary}: {e}"))
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        // The negative id signals the whole group: chromedriver and the Chromium it started.
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A redirect URI on a port of our own that answers every request with `200 ok`, so the browser
/// really lands there and `current_url` is the redirect with its parameters.
pub(crate) async fn callback_listener() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the callback listener");
    let port = listener.local_addr().expect("callback address").port();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buffer = [0u8; 4096];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buffer[..n]),
                    }
                }
                let response = "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n\
                                Content-Length: 2\r\nConnection: close\r\n\r\nok";
                let _ = stream.write_all(response.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    format!("http://127.0.0.1:{port}/callback")
}

/// A first-party public client (no consent page, PKCE required) redirecting to `redirect_uri`.
pub(crate) async fn browser_client(app: &TestApp, redirect_uri: &str) -> TestClient {
    let new = admin::clients::NewClient {
        name: CLIENT_NAME.into(),
        grant_types: vec![GrantType::AuthorizationCode],
        redirect_uris: vec![redirect_uri.into()],
        post_logout_redirect_uris: vec![],
        scope: Some("openid profile".into()),
        public: true,
        first_party: true,
        refresh_token_ttl_secs: None,
        refresh_token_absolute_ttl_secs: None,
        access_token_alg: None,
        id_token_signed_response_alg: None,
        claims_and_origins: Default::default(),
    };
    app.register(new).await
}

/// An authorization URL with an S256 challenge; returns (url, verifier).
pub(crate) fn authorize_url(
    app: &TestApp,
    client: &TestClient,
    redirect_uri: &str,
    state: &str,
) -> (String, String) {
    let verifier = format!(
        "{}.{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let challenge = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()));
    let mut url = url::Url::parse(&app.url("/authorize")).unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &client.id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("scope", "openid profile")
        .append_pair("state", state)
        .append_pair("nonce", "n1")
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    (url.into(), verifier)
}

/// Polls the browser's URL until `wanted` holds for it; returns that URL.
pub(crate) async fn wait_for_url(
    browser: &Client,
    what: &str,
    wanted: impl Fn(&url::Url) -> bool,
) -> url::Url {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let current = browser.current_url().await.expect("current URL");
        if wanted(&current) {
            return current;
        }
        assert!(
            Instant::now() < deadline,
            "the browser never reached {what}; it is at {current}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub(crate) fn is_at(url: &url::Url, prefix: &str) -> bool {
    url.as_str().starts_with(prefix)
}

pub(crate) async fn text_of(browser: &Client, css: &str) -> String {
    browser
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no `{css}` on the page: {e}"))
        .text()
        .await
        .expect("element text")
}

/// Saves a PNG of the viewport to target/test-artifacts/NAME.png; returns the path.
pub(crate) async fn screenshot(browser: &Client, name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-artifacts");
    std::fs::create_dir_all(&dir).expect("create target/test-artifacts");
    let png = browser.screenshot().await.expect("screenshot");
    assert!(png.starts_with(b"\x89PNG"), "the screenshot is not a PNG");
    let path = dir.join(format!("{name}.png"));
    std::fs::write(&path, png).expect("write the screenshot");
    path
}

/// Asserts the browser shows the login page for our client and returns nothing else.
async fn assert_login_page(browser: &Client, app: &TestApp) {
    let url = wait_for_url(browser, "the login page", |u| is_at(u, &app.url("/login"))).await;
    assert!(
        query(url.as_str(), "code").is_none(),
        "a code before login: {url}"
    );
    let title = browser.title().await.expect("title");
    assert!(title.contains("Sign in"), "title: {title:?}");
    assert_eq!(text_of(browser, "h1").await, "Sign in");
    assert_eq!(text_of(browser, ".lead strong").await, CLIENT_NAME);
    let csrf = browser
        .find(Locator::Css("form input[type=hidden][name=csrf]"))
        .await
        .expect("a hidden csrf input in the form")
        .attr("value")
        .await
        .expect("csrf value")
        .unwrap_or_default();
    assert!(csrf.len() >= 32, "csrf token too short: {csrf:?}");
    for field in ["#username", "#password", "button[type=submit]"] {
        let element = browser
            .find(Locator::Css(field))
            .await
            .unwrap_or_else(|e| panic!("no `{field}` on the login page: {e}"));
        assert!(element.is_displayed().await.unwrap(), "`{field}` is hidden");
    }
}

/// Types into the login form and submits it with the button, as a person would.
pub(crate) async fn submit_login(browser: &Client, username: &str, password: &str) {
    let user_field = browser.find(Locator::Css("#username")).await.unwrap();
    user_field.clear().await.unwrap();
    user_field.send_keys(username).await.unwrap();
    let password_field = browser.find(Locator::Css("#password")).await.unwrap();
    password_field.clear().await.unwrap();
    password_field.send_keys(password).await.unwrap();
    browser
        .find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

async fn a_person_logs_in_through_the_hosted_page_in_chromium(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let sub = app.user(USERNAME, PASSWORD).await;
    let callback = callback_listener().await;
    let client = browser_client(&app, &callback).await;
    let driver = ChromeDriver::start().await;
    let browser = driver.browser(1280, 900).await;
    let backend_name = format!("{backend:?}").to_lowercase();

    // The application sends the person to /authorize; with no session they see the login page.
    let (url, verifier) = authorize_url(&app, &client, &callback, "xyz");
    browser.goto(&url).await.expect("open /authorize");
    assert_login_page(&browser, &app).await;
    screenshot(&browser, &format!("login-page-{backend_name}")).await;

    // A wrong password: the page says exactly the one message, and no code goes anywhere.
    submit_login(&browser, USERNAME, "not the password").await;
    let error = browser
        .wait()
        .at_most(PATIENCE)
        .for_element(Locator::Css("#login-error"))
        .await
        .expect("the login error");
    assert_eq!(error.text().await.unwrap(), "Invalid username or password");
    screenshot(&browser, &format!("login-error-{backend_name}")).await;
    let url = browser.current_url().await.unwrap();
    assert!(is_at(&url, &app.address), "left the login page: {url}");
    assert!(
        query(url.as_str(), "code").is_none(),
        "a code after a failed login: {url}"
    );
    let kept = browser.find(Locator::Css("#username")).await.unwrap();
    assert_eq!(kept.prop("value").await.unwrap().as_deref(), Some(USERNAME));

    // The right password: back at the application with a code, the state and the issuer.
    submit_login(&browser, USERNAME, PASSWORD).await;
    let landed = wait_for_url(&browser, "the redirect URI", |u| is_at(u, &callback)).await;
    assert_eq!(
        text_of(&browser, "body").await,
        "ok",
        "the callback page did not load"
    );
    let code = query(landed.as_str(), "code").unwrap_or_else(|| panic!("no code in {landed}"));
    assert_eq!(query(landed.as_str(), "state").as_deref(), Some("xyz"));
    assert_eq!(
        query(landed.as_str(), "iss").as_deref(),
        Some(app.address.as_str())
    );
    assert!(query(landed.as_str(), "error").is_none(), "{landed}");
    // The code is a real one: the application exchanges it for tokens about this person.
    let response = app
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
        .await;
    assert_eq!(response.status(), 200, "code exchange");
    let tokens: Value = response.json().await.unwrap();
    let id_token = tokens["id_token"].as_str().expect("an ID token");
    let (_, claims) = app.verify(id_token, &client.id).await;
    assert_eq!(claims["sub"], sub.as_str());
    assert_eq!(claims["nonce"], "n1");

    // Single sign-on: a second request goes straight back to the application.
    let (url, _) = authorize_url(&app, &client, &callback, "second");
    browser.goto(&url).await.expect("open /authorize again");
    let landed = wait_for_url(&browser, "the redirect URI", |u| is_at(u, &callback)).await;
    assert!(
        query(landed.as_str(), "code").is_some(),
        "no code in {landed}"
    );
    assert_eq!(query(landed.as_str(), "state").as_deref(), Some("second"));
    assert_eq!(
        query(landed.as_str(), "iss").as_deref(),
        Some(app.address.as_str())
    );

    // Logout: confirm on the page, then the next request asks for the password again.
    browser
        .goto(&app.url("/logout"))
        .await
        .expect("open /logout");
    let confirm = browser
        .find(Locator::Css("button[name=confirm]"))
        .await
        .expect("the Sign out button");
    assert_eq!(confirm.text().await.unwrap(), "Sign out");
    confirm.click().await.unwrap();
    browser
        .wait()
        .at_most(PATIENCE)
        .for_element(Locator::XPath(
            "//h1[normalize-space()='You are signed out']",
        ))
        .await
        .expect("the signed-out page");
    screenshot(&browser, &format!("signed-out-{backend_name}")).await;
    let (url, _) = authorize_url(&app, &client, &callback, "third");
    browser
        .goto(&url)
        .await
        .expect("open /authorize after logout");
    assert_login_page(&browser, &app).await;

    browser.close().await.expect("end the WebDriver session");
    drop(driver);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_login_page_fits_a_phone_screen_in_chromium() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let callback = callback_listener().await;
    let client = browser_client(&app, &callback).await;
    let driver = ChromeDriver::start().await;
    let browser = driver.browser(390, 844).await;
    // Chromium widens a --window-size under 500px at launch; WebDriver's resize does not.
    browser
        .set_window_size(390, 844)
        .await
        .expect("resize the window to a phone's");

    let (url, _) = authorize_url(&app, &client, &callback, "phone");
    browser.goto(&url).await.expect("open /authorize");
    assert_login_page(&browser, &app).await;
    let path = screenshot(&browser, "login-page-phone").await;

    // Really a phone-sized viewport, nothing wider than it, the button on the first screen.
    let size = browser
        .execute(
            "return [window.innerWidth, window.innerHeight, document.documentElement.scrollWidth];",
            vec![],
        )
        .await
        .expect("viewport size");
    let [width, height, scroll_width] = [0, 1, 2].map(|i| size[i].as_f64().expect("a number"));
    assert!(
        width <= 400.0,
        "the viewport is {width}px wide, not a phone's"
    );
    assert!(
        scroll_width <= width,
        "the page scrolls sideways: {scroll_width}px in {width}px"
    );
    let button = browser
        .find(Locator::Css("button[type=submit]"))
        .await
        .unwrap();
    assert!(
        button.is_displayed().await.unwrap(),
        "the Sign in button is hidden"
    );
    let (x, y, w, h) = button.rectangle().await.expect("button position");
    assert!(
        x >= 0.0 && x + w <= width && y + h <= height,
        "the Sign in button ({x},{y} {w}x{h}) is not on the first {width}x{height} screen ({})",
        path.display()
    );
    // WCAG 2.2 §2.5.8 (AA): a target of at least 24 by 24 CSS pixels.
    assert!(
        w >= 24.0 && h >= 24.0,
        "the Sign in button is too small to tap: {w}x{h}"
    );

    // The login page opened directly says what happened and what to do.
    browser.goto(&app.url("/login")).await.expect("open /login");
    let title = browser
        .wait()
        .at_most(PATIENCE)
        .for_element(Locator::Css("h1"))
        .await
        .expect("a heading")
        .text()
        .await
        .unwrap();
    assert_eq!(title, "No sign-in in progress");
    screenshot(&browser, "login-direct-phone").await;
    // A developer-facing error names the parameter as code, without backticks.
    browser
        .goto(&app.url(&format!(
            "/authorize?response_type=code&client_id={}",
            client.id
        )))
        .await
        .expect("open /authorize without redirect_uri");
    let alert = browser
        .wait()
        .at_most(PATIENCE)
        .for_element(Locator::Css("[role=alert] code"))
        .await
        .expect("the parameter as code");
    assert_eq!(alert.text().await.unwrap(), "redirect_uri");
    screenshot(&browser, "error-page-phone").await;

    browser.close().await.expect("end the WebDriver session");
    drop(driver);
}
