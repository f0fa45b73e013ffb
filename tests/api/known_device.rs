//! Known devices: a browser where a person signed in before gets its password checks into the
//! password workers' priority lane, so a flood that fills the ordinary queue (503 "busy" for
//! everyone else) does not keep that person out; the cookie names no one and grants nothing else.

use std::sync::Arc;

use crate::authorization::authorize_url;
use crate::backend_tests;
use crate::helpers::{location, test_settings, Backend, Browser, TestApp, TestClient};

backend_tests!(
    a_known_device_signs_in_while_a_flood_fills_the_password_queue,
    a_known_device_still_needs_the_right_password,
);

const PASSWORD: &str = "alice's long password";

/// One password worker behind a queue of one.
async fn spawn(backend: Backend) -> (TestApp, TestClient) {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let mut settings = test_settings(backend, dir.path());
    settings.passwords.max_concurrent = 1;
    settings.passwords.max_queued = 1;
    let app = TestApp::spawn_with(dir, settings).await;
    app.user("alice", PASSWORD).await;
    let client = app.web_client(true, false).await;
    (app, client)
}

/// Opens the login page of a fresh authorization request (`prompt=login`) and signs in.
async fn sign_in(
    app: &TestApp,
    client: &TestClient,
    browser: &Browser,
    password: &str,
) -> reqwest::Response {
    let (url, _) = authorize_url(app, client, "&prompt=login");
    let login = location(&browser.get(&url).await);
    browser.log_in(&login, "alice", password).await
}

/// Occupies the only password worker until the returned sender is dropped or sent to, and
/// fills the ordinary queue behind it.
async fn flood(
    app: &TestApp,
) -> (
    std::sync::mpsc::Sender<()>,
    Vec<tokio::task::JoinHandle<()>>,
) {
    let (release, held) = std::sync::mpsc::channel::<()>();
    let held = Arc::new(std::sync::Mutex::new(held));
    let mut jobs = Vec::new();
    for _ in 0..2 {
        let (passwords, held) = (app.state.passwords.clone(), Arc::clone(&held));
        jobs.push(tokio::spawn(async move {
            let _ = passwords
                .run(move |_| {
                    let _ = held.lock().map(|h| h.recv());
                })
                .await;
        }));
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    (release, jobs)
}

async fn a_known_device_signs_in_while_a_flood_fills_the_password_queue(backend: Backend) {
    let (app, client) = spawn(backend).await;
    let home = app.browser();
    let first = sign_in(&app, &client, &home, PASSWORD).await;
    assert_eq!(first.status(), 303);
    let cookies: Vec<String> = first
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let device = cookies
        .iter()
        .find(|c| c.contains("latchkey_device="))
        .unwrap_or_else(|| panic!("no known-device cookie: {cookies:?}"));
    assert!(
        device.contains("HttpOnly") && device.contains("Max-Age=7776000"),
        "{device}"
    );
    assert!(!device.contains("alice"), "{device}");

    let (release, jobs) = flood(&app).await;
    // Elsewhere, the same right password meets a full queue: busy, at once.
    let stranger = app.browser();
    let busy = sign_in(&app, &client, &stranger, PASSWORD).await;
    assert_eq!(busy.status(), 503);
    assert_eq!(busy.headers()["retry-after"], "1");
    // From the known device it waits in the priority lane and gets through.
    let (home, app2, client2) = (Arc::new(home), Arc::new(app), client.id.clone());
    let waiting = {
        let (home, app) = (Arc::clone(&home), Arc::clone(&app2));
        tokio::spawn(async move {
            let client = TestClient {
                id: client2,
                secret: None,
            };
            sign_in(&app, &client, &home, PASSWORD).await.status()
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        !waiting.is_finished(),
        "it waits for the worker, never refused"
    );
    drop(release);
    assert_eq!(waiting.await.unwrap(), 303, "the known device signed in");
    for job in jobs {
        job.await.unwrap();
    }
}

async fn a_known_device_still_needs_the_right_password(backend: Backend) {
    let (app, client) = spawn(backend).await;
    let home = app.browser();
    assert_eq!(sign_in(&app, &client, &home, PASSWORD).await.status(), 303);
    let wrong = sign_in(&app, &client, &home, "not alice's password").await;
    assert_eq!(wrong.status(), 200);
    let html = wrong.text().await.unwrap();
    assert!(html.contains("Invalid username or password"), "{html}");
    // The cookie is alice's: for another person it is no known device (no priority).
    app.user("bob", "bob's long password!").await;
    let (release, jobs) = flood(&app).await;
    let (url, _) = authorize_url(&app, &client, "&prompt=login");
    let login = location(&home.get(&url).await);
    let bob = home.log_in(&login, "bob", "bob's long password!").await;
    assert_eq!(
        bob.status(),
        503,
        "bob's check waits in the ordinary lane, which is full"
    );
    drop(release);
    for job in jobs {
        job.await.unwrap();
    }
}
