//! `/metrics`: logins, password queue, database pool, signing-key age and process figures; a
//! bearer token guarding it; a listener of its own.

use crate::backend_tests;
use crate::helpers::{Backend, TestApp};

backend_tests!(
    metrics_report_logins_the_password_queue_the_pool_keys_and_the_process,
    metrics_behind_a_bearer_token_refuse_everyone_else,
    metrics_on_their_own_listener_leave_the_main_one,
);

async fn scrape(app: &TestApp) -> String {
    let r = app.get("/metrics").await;
    assert_eq!(r.status(), 200);
    r.text().await.unwrap()
}

fn value(metrics: &str, series: &str) -> f64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("{series} missing from:\n{metrics}"))
        .parse()
        .unwrap()
}

async fn metrics_report_logins_the_password_queue_the_pool_keys_and_the_process(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = app.password_client().await;
    app.user("alice", "alice's long password").await;
    let before = scrape(&app).await;
    assert_eq!(
        value(
            &before,
            r#"latchkey_login_attempts_total{outcome="failure"}"#
        ),
        0.0
    );
    for password in ["alice's long password", "wrong password", "wrong again"] {
        app.token(
            &[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", password),
                ("scope", "openid"),
            ],
            Some(&client),
        )
        .await;
    }
    let m = scrape(&app).await;
    assert_eq!(
        value(&m, r#"latchkey_login_attempts_total{outcome="success"}"#),
        1.0
    );
    assert_eq!(
        value(&m, r#"latchkey_login_attempts_total{outcome="failure"}"#),
        2.0
    );
    assert_eq!(
        value(&m, r#"latchkey_login_attempts_total{outcome="throttled"}"#),
        0.0
    );
    // Three checks at the token endpoint (creating the user hashed outside the queue's count).
    assert!(value(&m, "latchkey_password_queue_wait_seconds_count") >= 3.0);
    // The gauges fall when a worker lets go of a check, which may be just after the answer left.
    let settled = crate::helpers::within(std::time::Duration::from_secs(5), || async {
        let m = scrape(&app).await;
        value(&m, "latchkey_password_queue_waiting") == 0.0
            && value(&m, "latchkey_password_slots_busy") == 0.0
    })
    .await;
    assert!(
        settled.is_some(),
        "the password queue gauges never settled at 0"
    );
    assert!(value(&m, "latchkey_password_slots") >= 1.0);
    assert_eq!(value(&m, "latchkey_db_pool_max_connections"), 4.0);
    assert_eq!(value(&m, "latchkey_db_pool_waiting"), 0.0);
    assert!(value(&m, "latchkey_db_pool_in_use") >= 0.0);
    assert!(value(&m, "latchkey_db_query_duration_seconds_count") >= 3.0);
    assert!(value(&m, "latchkey_db_pool_wait_seconds_count") >= 3.0);
    // The key was activated at the test clock's start; the clock moves, the age follows.
    let age = value(&m, r#"latchkey_signing_key_age_seconds{alg="RS256"}"#);
    app.clock.advance(100);
    let later = value(
        &scrape(&app).await,
        r#"latchkey_signing_key_age_seconds{alg="RS256"}"#,
    );
    assert_eq!(later - age, 100.0);
    assert!(value(&m, "process_resident_memory_bytes") > 1e6);
    assert!(value(&m, "process_open_fds") > 0.0);
    assert!(value(&m, "process_max_fds") > 0.0);
    assert!(value(&m, "process_start_time_seconds") > 1.6e9);
    assert!(value(&m, "process_cpu_seconds_total") >= 0.0);
}

async fn metrics_behind_a_bearer_token_refuse_everyone_else(backend: Backend) {
    let dir = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let mut settings = crate::helpers::test_settings(backend, dir.path());
    let token_file = dir.path().join("metrics.token");
    std::fs::write(&token_file, "scrape-me-0123456789\n").unwrap();
    settings.metrics.bearer_token_file = token_file;
    let app = TestApp::spawn_with(dir, settings).await;
    for presented in [
        None,
        Some("scrape-me-012345678"),
        Some("scrape-me-0123456789x"),
    ] {
        let mut request = app.http.get(app.url("/metrics"));
        if let Some(token) = presented {
            request = request.bearer_auth(token);
        }
        let r = request.send().await.unwrap();
        assert_eq!(r.status(), 401, "{presented:?}");
        assert_eq!(r.headers()["www-authenticate"], r#"Bearer realm="metrics""#);
        assert_eq!(
            r.text().await.unwrap(),
            r#"{"error":"invalid_token","error_description":"A valid bearer token is required"}"#
        );
    }
    let r = app
        .http
        .get(app.url("/metrics"))
        .bearer_auth("scrape-me-0123456789")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("latchkey_http_requests_total"));
}

async fn metrics_on_their_own_listener_leave_the_main_one(backend: Backend) {
    let dir = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let mut settings = crate::helpers::test_settings(backend, dir.path());
    settings.metrics.bind = "127.0.0.1:0".into();
    let app = TestApp::spawn_with(dir, settings).await;
    assert_eq!(app.get("/metrics").await.status(), 404);
    let port = app.metrics_port.expect("a metrics listener");
    let r = app
        .http
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("process_open_fds"));
    let r = app
        .http
        .get(format!("http://127.0.0.1:{port}/token"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}
