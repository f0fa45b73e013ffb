//! Browser apps on their own origin, in a real headless Chromium: a single-page app served from a
//! second 127.0.0.1 port (one HTML page, one script file, a CSP without inline script) signs in
//! with the code flow and PKCE S256 computed by WebCrypto, exchanges the code at `/token` through
//! CORS, refreshes, and reads `/userinfo`; and a Swagger-UI-like password flow (a POST to
//! `/token` with Basic client authentication, so with a preflight) passes CORS.

use std::sync::Arc;

use fantoccini::{Client, Locator};
use latchkey::admin;
use latchkey::domain::client::GrantType;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::backend_tests;
use crate::browser::{is_at, submit_login, wait_for_url, ChromeDriver, PATIENCE};
use crate::helpers::{Backend, TestApp, TestClient};

backend_tests!(
    a_single_page_app_on_another_origin_signs_in_and_refreshes_through_cors,
    a_swagger_ui_like_password_flow_passes_cors,
);

const APP_JS: &str = include_str!("spa/app.js");
const PASSWORD: &str = "a long password";

/// What the page tells its script, as `data-` attributes of `<body>`.
#[derive(Default)]
struct PageConfig {
    issuer: String,
    client_id: String,
    client_secret: String,
    username: String,
    password: String,
}

fn attribute(value: &str) -> String {
    value
        .replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
}

fn page(config: &PageConfig, mode: &str) -> String {
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>SPA</title></head>\
         <body data-mode=\"{mode}\" data-issuer=\"{}\" data-client-id=\"{}\" \
         data-client-secret=\"{}\" data-username=\"{}\" data-password=\"{}\">\
         <pre id=\"result\"></pre><script src=\"/app.js\"></script></body></html>",
        attribute(&config.issuer),
        attribute(&config.client_id),
        attribute(&config.client_secret),
        attribute(&config.username),
        attribute(&config.password),
    )
}

/// Serves the app on `listener`: `/app.js`, `/swagger` (password mode), and the SPA page on every
/// other path (including its `/callback`).
fn serve(listener: tokio::net::TcpListener, config: Arc<PageConfig>) {
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let config = Arc::clone(&config);
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buffer = [0u8; 4096];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buffer[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&request);
                let path = head.split_whitespace().nth(1).unwrap_or("/");
                let (content_type, body) = if path == "/app.js" {
                    ("application/javascript", APP_JS.to_owned())
                } else if path.starts_with("/swagger") {
                    ("text/html; charset=utf-8", page(&config, "password"))
                } else {
                    ("text/html; charset=utf-8", page(&config, "spa"))
                };
                let csp = format!(
                    "default-src 'none'; script-src 'self'; connect-src {}",
                    config.issuer
                );
                let response = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\n\
                     Content-Security-Policy: {csp}\r\nCache-Control: no-store\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
}

/// A listener on another 127.0.0.1 port, and its origin.
async fn second_origin() -> (tokio::net::TcpListener, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    (listener, format!("http://127.0.0.1:{port}"))
}

async fn register(
    app: &TestApp,
    origin: &str,
    grants: Vec<GrantType>,
    public: bool,
    redirect_uris: Vec<String>,
) -> TestClient {
    app.register(admin::clients::NewClient {
        name: "Single-page app".into(),
        grant_types: grants,
        redirect_uris,
        post_logout_redirect_uris: vec![],
        scope: Some("openid profile".into()),
        public,
        first_party: true,
        refresh_token_ttl_secs: None,
        refresh_token_absolute_ttl_secs: None,
        access_token_alg: None,
        id_token_signed_response_alg: None,
        claims_and_origins: admin::clients::ClaimsAndOrigins {
            id_token_claims: true,
            web_origins: vec![origin.to_owned()],
        },
    })
    .await
}

/// Waits for the script's outcome in `#result`.
async fn result(browser: &Client) -> Value {
    let element = browser
        .wait()
        .at_most(PATIENCE)
        .for_element(Locator::Css("#result[data-done]"))
        .await
        .expect("the app's result");
    serde_json::from_str(&element.text().await.unwrap()).expect("JSON result")
}

async fn a_single_page_app_on_another_origin_signs_in_and_refreshes_through_cors(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let sub = app.user("alice", PASSWORD).await;
    let (listener, origin) = second_origin().await;
    let client = register(
        &app,
        &origin,
        vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        true,
        vec![format!("{origin}/callback")],
    )
    .await;
    let config = PageConfig {
        issuer: app.address.clone(),
        client_id: client.id.clone(),
        ..PageConfig::default()
    };
    serve(listener, Arc::new(config));
    let driver = ChromeDriver::start().await;
    let browser = driver.browser(1024, 768).await;
    browser
        .goto(&format!("{origin}/"))
        .await
        .expect("open the app");
    wait_for_url(&browser, "the login page", |u| is_at(u, &app.url("/login"))).await;
    submit_login(&browser, "alice", PASSWORD).await;
    wait_for_url(&browser, "the app's callback", |u| {
        is_at(u, &format!("{origin}/callback"))
    })
    .await;
    let outcome = result(&browser).await;
    assert_eq!(outcome["exchange"], 200, "{outcome}");
    assert_eq!(outcome["id_token"], true, "{outcome}");
    assert_eq!(outcome["refresh_token"], true, "{outcome}");
    assert_eq!(outcome["refresh"], 200, "{outcome}");
    assert_eq!(outcome["new_access_token"], true, "{outcome}");
    assert_eq!(outcome["rotated"], true, "{outcome}");
    assert_eq!(outcome["userinfo"], 200, "{outcome}");
    assert_eq!(outcome["sub"], sub.as_str(), "{outcome}");
    assert_eq!(outcome["preferred_username"], "alice", "{outcome}");
    browser.close().await.expect("end the WebDriver session");
    drop(driver);
}

async fn a_swagger_ui_like_password_flow_passes_cors(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user("alice", PASSWORD).await;
    let (listener, origin) = second_origin().await;
    let client = register(&app, &origin, vec![GrantType::Password], false, vec![]).await;
    let config = PageConfig {
        issuer: app.address.clone(),
        client_id: client.id.clone(),
        client_secret: client.secret.clone().unwrap(),
        username: "alice".into(),
        password: PASSWORD.into(),
    };
    serve(listener, Arc::new(config));
    let driver = ChromeDriver::start().await;
    let browser = driver.browser(1024, 768).await;
    browser
        .goto(&format!("{origin}/swagger"))
        .await
        .expect("open the page");
    let outcome = result(&browser).await;
    assert_eq!(outcome["status"], 200, "{outcome}");
    assert_eq!(outcome["access_token"], true, "{outcome}");
    assert_eq!(outcome["token_type"], "Bearer", "{outcome}");
    browser.close().await.expect("end the WebDriver session");
    drop(driver);
}
