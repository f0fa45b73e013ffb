//! Client ID metadata documents (MCP authorization spec): a `client_id` that is a URL whose JSON
//! document Latchkey fetches, validates and keeps. The documents come from a small HTTP server
//! on 127.0.0.1, which the settings allow as a development host (plain http, private address).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::backend_tests;
use crate::helpers::{location, test_settings, Backend, TestApp, TestClient, REDIRECT_URI};
use crate::refresh::code_flow_for;

backend_tests!(
    a_good_metadata_document_signs_a_person_in,
    a_redirect_uri_on_another_origin_is_refused,
    a_document_on_a_private_address_is_refused,
    an_oversized_document_is_refused,
    a_slow_document_times_out,
    a_document_is_fetched_once_for_two_authorizations,
    a_document_client_nobody_signed_in_to_expires,
);

/// A document server: answers every request with the document `make(url)` builds for its own
/// URL, after `delay`, and counts the requests.
struct DocServer {
    url: String,
    hits: Arc<AtomicUsize>,
}

async fn serve(make: impl Fn(&str) -> String, delay: Duration) -> DocServer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/client.json");
    let body = Arc::new(make(&url));
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&hits);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let (body, counter) = (Arc::clone(&body), Arc::clone(&counter));
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(delay).await;
                let response = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nCache-Control: max-age=300\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
            });
        }
    });
    DocServer { url, hits }
}

fn document(url: &str, redirect_uri: &str) -> String {
    json!({
        "client_id": url,
        "client_name": "MCP Inspector",
        "redirect_uris": [redirect_uri],
        "grant_types": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_method": "none",
        "scope": "openid profile"
    })
    .to_string()
}

/// A server that accepts documents from 127.0.0.1 (development setting), with a fetch time limit.
async fn spawn(backend: Backend, private_allowed: bool, timeout_ms: u32) -> TestApp {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let mut settings = test_settings(backend, dir.path());
    let cimd = &mut settings.client_id_metadata;
    cimd.enabled = true;
    cimd.allowed_hosts = vec!["127.0.0.1".into(), "localhost".into()];
    if private_allowed {
        cimd.allow_private_hosts = vec!["127.0.0.1".into()];
    }
    cimd.timeout_ms = std::num::NonZeroU32::new(timeout_ms).unwrap();
    TestApp::spawn_with(dir, settings).await
}

fn authorize_url(client_id: &str, redirect_uri: &str) -> String {
    let mut url = reqwest::Url::parse("http://x/authorize").unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("scope", "openid")
        .append_pair(
            "code_challenge",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        )
        .append_pair("code_challenge_method", "S256");
    format!("/authorize?{}", url.query().unwrap())
}

/// The error page `/authorize` answers with, which must say `reason`.
async fn refused_with(app: &TestApp, client_id: &str, redirect_uri: &str, reason: &str) {
    let response = app
        .browser()
        .get(&authorize_url(client_id, redirect_uri))
        .await;
    assert_eq!(response.status(), 400);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("The client metadata document cannot be used"),
        "{html}"
    );
    assert!(html.contains(reason), "{reason}: {html}");
}

async fn a_good_metadata_document_signs_a_person_in(backend: Backend) {
    let app = spawn(backend, true, 3000).await;
    let discovery: Value = app
        .get("/.well-known/openid-configuration")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(discovery["client_id_metadata_document_supported"], true);
    let server = serve(|url| document(url, REDIRECT_URI), Duration::ZERO).await;
    app.user("alice", "alice's password").await;
    let client = TestClient {
        id: server.url.clone(),
        secret: None,
    };
    let browser = app.browser();
    let response = code_flow_for(&app, &browser, &client, "openid", &[]).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let (_, id_token) = app
        .verify(body["id_token"].as_str().unwrap(), &server.url)
        .await;
    assert_eq!(id_token["aud"], server.url.as_str());
    assert!(body["refresh_token"].is_string());
}

async fn a_redirect_uri_on_another_origin_is_refused(backend: Backend) {
    let app = spawn(backend, true, 3000).await;
    let evil = "https://evil.example/cb";
    let server = serve(|url| document(url, evil), Duration::ZERO).await;
    refused_with(&app, &server.url, evil, "is neither on the document").await;
}

async fn a_document_on_a_private_address_is_refused(backend: Backend) {
    // 127.0.0.1 is an allowed host but not allowed private addresses: https only, public only.
    let app = spawn(backend, false, 3000).await;
    let server = serve(|url| document(url, REDIRECT_URI), Duration::ZERO).await;
    refused_with(&app, &server.url, REDIRECT_URI, "must use https").await;
    let https = server.url.replace("http://", "https://");
    refused_with(&app, &https, REDIRECT_URI, "address may not be fetched").await;
    // A name resolving to loopback is refused by the resolver, before any connection.
    let named = https.replace("127.0.0.1", "localhost");
    refused_with(&app, &named, REDIRECT_URI, "it could not be fetched").await;
    assert_eq!(
        server.hits.load(Ordering::SeqCst),
        0,
        "nothing reached the server"
    );
}

async fn an_oversized_document_is_refused(backend: Backend) {
    let app = spawn(backend, true, 3000).await;
    let server = serve(
        |url| {
            let mut doc: Value = serde_json::from_str(&document(url, REDIRECT_URI)).unwrap();
            doc["padding"] = json!("x".repeat(6000));
            doc.to_string()
        },
        Duration::ZERO,
    )
    .await;
    refused_with(&app, &server.url, REDIRECT_URI, "it is too large").await;
}

async fn a_slow_document_times_out(backend: Backend) {
    let app = spawn(backend, true, 300).await;
    let server = serve(|url| document(url, REDIRECT_URI), Duration::from_secs(5)).await;
    let started = Instant::now();
    refused_with(&app, &server.url, REDIRECT_URI, "it could not be fetched").await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

async fn a_document_is_fetched_once_for_two_authorizations(backend: Backend) {
    let app = spawn(backend, true, 3000).await;
    let server = serve(|url| document(url, REDIRECT_URI), Duration::ZERO).await;
    for _ in 0..2 {
        let to = location(
            &app.browser()
                .get(&authorize_url(&server.url, REDIRECT_URI))
                .await,
        );
        assert!(to.starts_with("/login"), "{to}");
    }
    assert_eq!(server.hits.load(Ordering::SeqCst), 1);
    assert_eq!(app.state.metadata.fetches(), 1);
}

async fn a_document_client_nobody_signed_in_to_expires(backend: Backend) {
    let app = spawn(backend, true, 3000).await;
    let unused = serve(|url| document(url, REDIRECT_URI), Duration::ZERO).await;
    let used = serve(|url| document(url, REDIRECT_URI), Duration::ZERO).await;
    let to = location(
        &app.browser()
            .get(&authorize_url(&unused.url, REDIRECT_URI))
            .await,
    );
    assert!(to.starts_with("/login"), "{to}");
    app.user("alice", "alice's password").await;
    let client = TestClient {
        id: used.url.clone(),
        secret: None,
    };
    let response = code_flow_for(&app, &app.browser(), &client, "openid", &[]).await;
    assert_eq!(response.status(), 200);
    let expire = |app: &TestApp| {
        let (pool, state, now) = (app.state.pool.clone(), app.state.clone(), app.clock_now());
        tokio::task::spawn_blocking(move || {
            latchkey::oauth::registration::open::expire_unused_documents(
                &mut pool.get().unwrap(),
                &state.settings.client_id_metadata,
                now,
            )
            .unwrap()
        })
    };
    let kept = i64::from(app.state.settings.client_id_metadata.max_cache_secs.get());
    app.clock.advance(kept + 3600 - 1);
    assert_eq!(
        expire(&app).await.unwrap(),
        0,
        "not while a sign-in may be under way"
    );
    app.clock.advance(2);
    assert_eq!(
        expire(&app).await.unwrap(),
        1,
        "only the client nobody signed in to"
    );
    assert_eq!(expire(&app).await.unwrap(), 0);
    // Asked for again, the document is fetched again.
    let to = location(
        &app.browser()
            .get(&authorize_url(&unused.url, REDIRECT_URI))
            .await,
    );
    assert!(to.starts_with("/login"), "{to}");
    assert_eq!(unused.hits.load(Ordering::SeqCst), 2);
}
