//! Many people behind one shared address (an office NAT) signing in at once with their correct
//! passwords: attempts in flight crowd a counter for a moment, but never count as failures, so
//! they never start or lengthen a back-off and leave no block behind.

use std::sync::Arc;
use std::time::Duration;

use crate::authorization::authorize_url;
use crate::backend_tests;
use crate::brute_force::guess as login;
use crate::helpers::{location, test_settings, Backend, TestApp, TestClient};

backend_tests!(
    concurrent_correct_logins_from_one_address_leave_no_block,
    crowding_from_one_address_is_not_counted_as_failures,
    concurrent_wrong_guesses_back_off_only_by_their_real_failures,
    crowding_on_the_login_page_says_busy_and_leaves_no_block,
);

const PASSWORD: &str = "correct horse battery";
const CROWD: usize = 40;

/// An app with one password slot and a long queue: while the slot is held ([`hold_slot`]),
/// every attempt sent is in flight at the same time.
async fn held(backend: Backend) -> TestApp {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let mut settings = test_settings(backend, dir.path());
    settings.passwords.max_concurrent = 1;
    settings.passwords.max_queued = 2 * CROWD;
    let app = TestApp::spawn_with(dir, settings).await;
    app
}

/// Holds the only password slot until the returned sender is used.
async fn hold_slot(app: &TestApp) -> std::sync::mpsc::Sender<()> {
    let (release, slot) = std::sync::mpsc::channel::<()>();
    let passwords = app.state.passwords.clone();
    tokio::spawn(async move { passwords.run(move |_| slot.recv()).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    release
}

/// Logs in until it succeeds; every refusal on the way must be a short "retry in a moment".
async fn login_until_success(app: Arc<TestApp>, client: Arc<TestClient>, username: String) {
    for _ in 0..200 {
        let response = login(&app, &client, &username, PASSWORD).await;
        if response.status() == 200 {
            return;
        }
        let status = response.status().as_u16();
        let wait = response.headers().get("retry-after").cloned();
        let body = response.text().await.unwrap();
        let wait: i64 = wait
            .and_then(|w| w.to_str().ok()?.parse().ok())
            .unwrap_or(i64::MAX);
        assert!(
            status == 503 && wait <= 2,
            "{username}: {status}, retry after {wait} s: {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{username} never got in");
}

/// Twenty wrong passwords on different accounts from this address are answered as wrong, and
/// only then does the address wait its first minute: nothing was counted before.
async fn assert_no_failures_counted(app: &TestApp, client: &TestClient) {
    for n in 0..20 {
        let response = login(app, client, &format!("sprayed{n}"), "Summer2026!").await;
        assert_eq!(response.status(), 400, "guess {n}");
    }
    let response = login(app, client, "user0", PASSWORD).await;
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "60");
}

async fn concurrent_correct_logins_from_one_address_leave_no_block(backend: Backend) {
    let app = held(backend).await;
    let client = Arc::new(app.password_client().await);
    for n in 0..CROWD {
        app.user(&format!("user{n}"), PASSWORD).await;
    }
    let app = Arc::new(app);
    let release = hold_slot(&app).await;
    // Forty different people, and forty logins of one person, all at once from one address.
    let names = (0..CROWD)
        .map(|n| format!("user{n}"))
        .chain((0..CROWD).map(|_| "user0".into()));
    let crowd: Vec<_> = names
        .map(|name| tokio::spawn(login_until_success(app.clone(), client.clone(), name)))
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    release.send(()).unwrap();
    for login in crowd {
        tokio::time::timeout(Duration::from_secs(60), login)
            .await
            .expect("every login ends")
            .unwrap();
    }
    // Right after: no block remains, for a new person or a returning one.
    assert_eq!(login(&app, &client, "user1", PASSWORD).await.status(), 200);
    assert_eq!(login(&app, &client, "user0", PASSWORD).await.status(), 200);
    assert_no_failures_counted(&app, &client).await;
}

async fn crowding_from_one_address_is_not_counted_as_failures(backend: Backend) {
    let app = held(backend).await;
    let client = Arc::new(app.password_client().await);
    for n in 0..25 {
        app.user(&format!("user{n}"), PASSWORD).await;
    }
    let app = Arc::new(app);
    let release = hold_slot(&app).await;
    let sent: Vec<_> = (0..25)
        .map(|n| {
            let (app, client) = (app.clone(), client.clone());
            tokio::spawn(async move { login(&app, &client, &format!("user{n}"), PASSWORD).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    release.send(()).unwrap();
    let mut crowded = 0;
    for response in sent {
        let response = response.await.unwrap();
        match response.status().as_u16() {
            200 => {}
            503 => {
                assert_eq!(response.headers()["retry-after"], "1");
                crowded += 1;
            }
            other => panic!("unexpected {other}"),
        }
    }
    // Twenty (the address's threshold) were checked together; the others were told to retry.
    assert_eq!(crowded, 5);
    assert_no_failures_counted(&app, &client).await;
}

async fn concurrent_wrong_guesses_back_off_only_by_their_real_failures(backend: Backend) {
    let app = held(backend).await;
    let client = Arc::new(app.password_client().await);
    app.user("alice", PASSWORD).await;
    let app = Arc::new(app);
    let release = hold_slot(&app).await;
    let sent: Vec<_> = (0..10)
        .map(|_| {
            let (app, client) = (app.clone(), client.clone());
            tokio::spawn(async move { login(&app, &client, "alice", "a guess").await.status() })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    release.send(()).unwrap();
    let mut statuses = Vec::new();
    for status in sent {
        statuses.push(status.await.unwrap().as_u16());
    }
    statuses.sort_unstable();
    // The pair allows three failures: three guesses were checked, the rest never were.
    assert_eq!(statuses, [400, 400, 400, 503, 503, 503, 503, 503, 503, 503]);
    // Three real failures: the first wait, not a longer one.
    let response = login(&app, &client, "alice", PASSWORD).await;
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "60");
}

async fn crowding_on_the_login_page_says_busy_and_leaves_no_block(backend: Backend) {
    let app = held(backend).await;
    app.user("alice", PASSWORD).await;
    let client = app.web_client(true, false).await;
    let mut pages = Vec::new();
    for _ in 0..5 {
        let browser = app.browser();
        let (url, _) = authorize_url(&app, &client, "");
        let login = location(&browser.get(&url).await);
        pages.push((browser, login));
    }
    let release = hold_slot(&app).await;
    // Five tabs sign alice in at once: three are checked (the pair's threshold), two wait.
    let sent: Vec<_> = pages
        .into_iter()
        .map(|(browser, login)| {
            tokio::spawn(async move {
                let response = browser.log_in(&login, "alice", PASSWORD).await;
                (browser, login, response)
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    release.send(()).unwrap();
    let mut busy = Vec::new();
    for tab in sent {
        let (browser, login, response) = tab.await.unwrap();
        if response.status() == 503 {
            assert_eq!(response.headers()["retry-after"], "1");
            let html = response.text().await.unwrap();
            assert!(html.contains("The service is busy. Please try again in a moment."));
            busy.push((browser, login));
        } else {
            assert!(location(&response).starts_with(crate::helpers::REDIRECT_URI));
        }
    }
    assert_eq!(busy.len(), 2);
    // Retried, the waiting tabs get in at once: nothing was counted against alice.
    for (browser, login) in busy {
        let response = browser.log_in(&login, "alice", PASSWORD).await;
        assert!(location(&response).starts_with(crate::helpers::REDIRECT_URI));
    }
}
