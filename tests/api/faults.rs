//! Faults answer 503 fast: a full SQLite database, and PostgreSQL known to be down.

use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::RunQueryDsl;
use serde_json::{json, Value};

use crate::helpers::{test_settings, Backend, TestApp};
use crate::resilience::{cut_off, postgres_app, reconnect};

const UNAVAILABLE: &str = "The service is temporarily unavailable; retry later";

/// Caps every pooled SQLite connection's database at its current size (`max_page_count` cannot go
/// below it): the first write that needs a new page fails with SQLITE_FULL, as on a full disk.
fn fill_disk(app: &TestApp) {
    let pool = &app.state.pool;
    let conns: Vec<_> = (0..pool.max_size()).map(|_| pool.get().unwrap()).collect();
    for mut conn in conns {
        if let latchkey::db::DbConnection::Sqlite(lite) = &mut *conn {
            diesel::sql_query("PRAGMA max_page_count = 1")
                .execute(lite)
                .unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_sqlite_disk_answers_503_with_retry_after_not_500() {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let mut settings = test_settings(Backend::Sqlite, dir.path());
    settings.registration.open = true;
    settings.registration.open_per_hour = std::num::NonZeroU32::new(10_000).unwrap();
    let app = TestApp::spawn_with(dir, settings).await;
    let register = || async {
        app.http
            .post(app.url("/register"))
            .json(&json!({"redirect_uris": ["http://127.0.0.1:5000/cb"], "token_endpoint_auth_method": "none"}))
            .send()
            .await
            .unwrap()
    };
    assert_eq!(register().await.status(), 201);
    fill_disk(&app);
    // Writes that still fit in free pages succeed; the first that needs a page gets a 503.
    let mut attempts = 0;
    let r = loop {
        let r = register().await;
        if r.status() != 201 {
            break r;
        }
        attempts += 1;
        assert!(attempts < 500, "the database never filled up");
    };
    assert_eq!(r.status(), 503);
    assert_eq!(r.headers()["retry-after"], "2");
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body,
        json!({"error": "temporarily_unavailable", "error_description": UNAVAILABLE})
    );
    // Reads still work.
    assert_eq!(app.get("/jwks").await.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_postgres_is_known_down_requests_fail_fast_until_it_returns() {
    let (app, database, client) = postgres_app(5).await;
    let form = [("grant_type", "client_credentials")];
    cut_off(&database).await;
    // The change poller finds the database refusing connections within one interval.
    let known = crate::helpers::within(Duration::from_secs(5), || async {
        app.state.pool.is_down()
    })
    .await;
    assert!(known.is_some(), "the outage was not noticed");
    let started = Instant::now();
    for _ in 0..20 {
        let r = app.token(&form, Some(&client)).await;
        assert_eq!(r.status(), 503);
        assert_eq!(r.headers()["retry-after"], "2");
    }
    // Twenty answers without one connection timeout (5 s) among them.
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "503s took {:?}",
        started.elapsed()
    );
    reconnect(&database).await;
    let seen = std::sync::Mutex::new(Vec::new());
    let recovered = crate::helpers::within(Duration::from_secs(10), || async {
        let status = app.token(&form, Some(&client)).await.status();
        seen.lock()
            .unwrap()
            .push((status.as_u16(), app.state.pool.is_down()));
        status == 200
    })
    .await;
    assert!(
        recovered.is_some_and(|t| t < Duration::from_secs(3)),
        "recovery took {recovered:?}; answers (status, known down): {:?}",
        seen.lock().unwrap()
    );
}
