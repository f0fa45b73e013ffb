//! The database going away (DESIGN.md §6): 503 `temporarily_unavailable` with `Retry-After`,
//! never a hang, a panic or a 500, and recovery without a restart when it comes back.

use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::{Connection, RunQueryDsl};
use serde_json::Value;

use crate::helpers::{postgres_admin_url, test_settings, Backend, TestApp, TestClient};

pub fn admin_sql(sql: &str) {
    let mut conn = diesel::PgConnection::establish(&postgres_admin_url()).unwrap();
    diesel::sql_query(sql).execute(&mut conn).unwrap();
}

/// A server on a fresh PostgreSQL database with `connect_timeout_secs`, its database name and a
/// service client that has already obtained a token.
pub async fn postgres_app(connect_timeout_secs: u64) -> (TestApp, String, TestClient) {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let mut settings = test_settings(Backend::Postgres, dir.path());
    settings.database.connect_timeout_secs =
        std::num::NonZeroU64::new(connect_timeout_secs).expect("a positive timeout");
    let database = settings.database.url.rsplit('/').next().unwrap().to_owned();
    let app = TestApp::spawn_with(dir, settings).await;
    let client = app.service_client().await;
    let form = [("grant_type", "client_credentials")];
    assert_eq!(app.token(&form, Some(&client)).await.status(), 200);
    (app, database, client)
}

/// Takes PostgreSQL away from one database: new connections refused, open ones terminated.
pub async fn cut_off(database: &str) {
    let name = database.to_owned();
    tokio::task::spawn_blocking(move || {
        admin_sql(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false"));
        admin_sql(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
        ));
    })
    .await
    .unwrap();
}

/// Gives the database back.
pub async fn reconnect(database: &str) {
    let name = database.to_owned();
    tokio::task::spawn_blocking(move || {
        admin_sql(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"))
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_database_answers_503_and_the_server_recovers() {
    let (app, database, client) = postgres_app(1).await;
    let form = [("grant_type", "client_credentials")];
    cut_off(&database).await;

    // Client authentication is served from the client cache while the change poller confirms it;
    // its next poll fails (within one 500 ms interval) and from then on every request needs the
    // database again.
    let down = crate::helpers::within(Duration::from_secs(3), || async {
        app.token(&form, Some(&client)).await.status() == 503
    })
    .await;
    assert!(down.is_some(), "tokens kept coming without a database");
    for _ in 0..3 {
        let started = Instant::now();
        let r = app.token(&form, Some(&client)).await;
        assert!(started.elapsed() < Duration::from_secs(5), "no hang");
        assert_eq!(r.status(), 503);
        assert_eq!(r.headers()["retry-after"], "2");
        let body: Value = r.json().await.unwrap();
        assert_eq!(
            body,
            serde_json::json!({
                "error": "temporarily_unavailable",
                "error_description": "The service is temporarily unavailable; retry later"
            })
        );
    }
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 503);
    assert_eq!(app.get("/healthz").await.status(), 200);

    reconnect(&database).await;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let status = app.token(&form, Some(&client)).await.status();
        if status == 200 {
            break;
        }
        assert_eq!(status, 503, "only 503 while recovering");
        assert!(Instant::now() < deadline, "the server did not recover");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(app.get("/readyz").await.status(), 200);
}

crate::backend_tests!(expired_rows_are_purged);

async fn expired_rows_are_purged(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = app.web_client(true, false).await;
    app.user("alice", "alice's password").await;
    let browser = app.browser();
    let url = format!(
        "/authorize?response_type=code&client_id={}&redirect_uri={}&scope=openid&code_challenge={}&code_challenge_method=S256",
        client.id,
        crate::helpers::REDIRECT_URI,
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    );
    let login = crate::helpers::location(&browser.get(&url).await);
    browser.log_in(&login, "alice", "alice's password").await;
    let count = |app: &TestApp| {
        let pool = app.state.pool.clone();
        async move {
            let now = crate::helpers::NOW + 30 * 86_400;
            let batching = latchkey::db::purge::Batching::default();
            let purged = latchkey::db::purge::purge_expired(&pool, now, batching).await;
            purged.unwrap().rows
        }
    };
    // A month later the session, the code and the used-up mark of the sealed request are
    // gone; a second pass finds nothing.
    assert_eq!(count(&app).await, 3);
    assert_eq!(count(&app).await, 0);
}

crate::backend_tests!(expired_rows_are_purged_in_batches);

async fn expired_rows_are_purged_in_batches(backend: Backend) {
    use diesel::QueryDsl;
    use latchkey::db::models::LoginThrottleRow;
    use latchkey::db::purge::{purge_expired, Batching};
    use latchkey::db::schema::{login_throttle, used_requests};

    let app = TestApp::spawn(backend).await;
    let now = crate::helpers::NOW + 3600;
    let pool = app.state.pool.clone();
    // 1,200 used-up marks and 700 throttle counters expired; 20 of each still live.
    let expiry = move |n: usize| if n < 20 { now + 60 } else { now - 60 };
    tokio::task::spawn_blocking(move || {
        let conn = &mut *pool.get().unwrap();
        conn.transaction(|conn| {
            for n in 0..1220_u32 {
                let hash = n.to_be_bytes().to_vec();
                latchkey::db::used_requests::mark(conn, &hash, expiry(n as usize))?;
            }
            for n in 0..720_u32 {
                let row = LoginThrottleRow {
                    key_hash: n.to_be_bytes().to_vec(),
                    kind: "address".into(),
                    account_hash: None,
                    failures: 1,
                    blocked_until: 0,
                    updated_at: now - 120,
                    expires_at: expiry(n as usize),
                    in_flight: 0,
                };
                diesel::insert_into(login_throttle::table)
                    .values(&row)
                    .execute(conn)?;
            }
            Ok::<_, diesel::result::Error>(())
        })
        .unwrap();
    })
    .await
    .unwrap();
    let batching = Batching {
        rows: 500,
        pause: Duration::from_millis(1),
    };
    let purged = purge_expired(&app.state.pool, now, batching).await.unwrap();
    assert_eq!(purged.rows, 1200 + 700);
    // Used-up marks: 500, 500, 200; counters: 500, 200; one empty batch for each other table.
    assert_eq!(purged.batches, 3 + 2 + 6);
    let pool = app.state.pool.clone();
    let left = tokio::task::spawn_blocking(move || {
        let conn = &mut *pool.get().unwrap();
        let live = |c: i64| c > now;
        let marks: Vec<i64> = used_requests::table
            .select(used_requests::expires_at)
            .load(conn)
            .unwrap();
        let counters: Vec<i64> = login_throttle::table
            .select(login_throttle::expires_at)
            .load(conn)
            .unwrap();
        (
            marks.len(),
            marks.into_iter().all(live),
            counters.len(),
            counters.into_iter().all(live),
        )
    })
    .await
    .unwrap();
    assert_eq!(left, (20, true, 20, true), "nothing unexpired is touched");
    let again = purge_expired(&app.state.pool, now, batching).await.unwrap();
    assert_eq!(again.rows, 0);
}
