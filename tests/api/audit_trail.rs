//! The stored audit trail (`audit.store = true`): each action from each surface — the hosted
//! pages, the protocol endpoints, the admin pages, the admin API, registration, key rotation —
//! leaves one row with its actor, subject, client, address and request id, in the action's own
//! transaction; the admin API and pages list the rows filtered and paged; old rows are purged in
//! batches.

use std::sync::Arc;

use latchkey::audit::{Actor, By};
use latchkey::db::audit_events::{self, AuditEventRow, Filter, NewAuditEvent};
use serde_json::{json, Value};

use crate::admin_page_actions::code_text;
use crate::admin_pages::sign_in;
use crate::authorization::{authorize_url, exchange};
use crate::backend_tests;
use crate::brute_force::admin_token;
use crate::helpers::{hidden, location, query, test_settings, Backend, TestApp, REDIRECT_URI};

backend_tests!(
    the_admin_pages_record_user_and_client_changes_with_the_administrator_as_actor,
    the_admin_api_records_user_changes_and_lists_them_filtered_and_paged,
    logins_consent_code_replay_and_logout_are_recorded_with_their_origin,
    registration_and_key_rotation_are_recorded_with_their_actor,
    group_changes_are_recorded_with_the_group_and_scope,
    stored_events_past_their_retention_are_purged_in_batches,
);

async fn storing(backend: Backend) -> TestApp {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let mut settings = test_settings(backend, dir.path());
    settings.audit.store = true;
    TestApp::spawn_with(dir, settings).await
}

/// Every stored event, newest first.
async fn stored(app: &TestApp) -> Vec<AuditEventRow> {
    let pool = app.state.pool.clone();
    tokio::task::spawn_blocking(move || {
        audit_events::page(&mut pool.get().unwrap(), &Filter::default(), 200)
    })
    .await
    .unwrap()
    .unwrap()
}

/// The names of `rows` (newest first) that `keep` selects, oldest first.
fn names(rows: &[AuditEventRow], keep: impl Fn(&AuditEventRow) -> bool) -> Vec<String> {
    rows.iter()
        .rev()
        .filter(|r| keep(r))
        .map(|r| r.event.clone())
        .collect()
}

fn find<'a>(rows: &'a [AuditEventRow], event: &str) -> &'a AuditEventRow {
    rows.iter()
        .find(|r| r.event == event)
        .unwrap_or_else(|| panic!("no {event} in {:?}", names(rows, |_| true)))
}

async fn user_id(app: &TestApp, name: &'static str) -> String {
    let pool = app.state.pool.clone();
    tokio::task::spawn_blocking(move || {
        latchkey::admin::users::show(&mut pool.get().unwrap(), name)
    })
    .await
    .unwrap()
    .unwrap()
    .id
}

async fn the_admin_pages_record_user_and_client_changes_with_the_administrator_as_actor(
    backend: Backend,
) {
    let app = storing(backend).await;
    let browser = app.browser();
    let html = sign_in(&app, &browser, "root", true)
        .await
        .text()
        .await
        .unwrap();
    let csrf = hidden(&html, "csrf");
    let form = [
        ("csrf", csrf.as_str()),
        ("username", "dana"),
        ("password", "dana's long password"),
    ];
    browser.post("/admin/users", &form).await;
    for action in ["disable", "enable", "grant-admin", "revoke-admin", "unlock"] {
        let path = format!("/admin/users/dana/{action}");
        assert_eq!(browser.post(&path, &[("csrf", &csrf)]).await.status(), 303);
    }
    let password = [
        ("csrf", csrf.as_str()),
        ("password", "another long password"),
    ];
    browser.post("/admin/users/dana/password", &password).await;
    let client_form = [
        ("csrf", csrf.as_str()),
        ("name", "Reports"),
        ("grant_types", "client_credentials"),
        ("scope", "reports:read"),
    ];
    let shown = browser.post("/admin/clients", &client_form).await;
    let client_id = code_text(&shown.text().await.unwrap(), "client-id");
    let base = format!("/admin/clients/{client_id}");
    browser
        .post(&format!("{base}/secret"), &[("csrf", &csrf)])
        .await;
    browser
        .post(&format!("{base}/delete"), &[("csrf", &csrf)])
        .await;

    let (rows, root, dana) = (
        stored(&app).await,
        user_id(&app, "root").await,
        user_id(&app, "dana").await,
    );
    let admin = format!("user:{root}");
    let by_admin = names(&rows, |r| {
        r.actor == admin && !["login_succeeded", "code_issued"].contains(&r.event.as_str())
    });
    assert_eq!(
        by_admin,
        [
            "user_created",
            "user_disabled",
            "user_enabled",
            "admin_granted",
            "admin_revoked",
            "account_unlocked",
            "password_changed",
            "client_registered",
            "client_secret_rotated",
            "client_removed",
        ]
    );
    for row in rows.iter().filter(|r| r.actor == admin) {
        assert_eq!(row.address.as_deref(), Some("127.0.0.1"), "{row:?}");
        assert!(row.request_id.as_deref().is_some_and(|id| !id.is_empty()));
    }
    assert_eq!(
        find(&rows, "user_disabled").subject.as_deref(),
        Some(dana.as_str())
    );
    let removed = find(&rows, "client_removed");
    assert_eq!(removed.subject.as_deref(), Some(client_id.as_str()));
    assert_eq!(removed.client_id.as_deref(), Some(client_id.as_str()));
    // The signing-in itself: the administrator's login, on the console client.
    let login = find(&rows, "login_succeeded");
    assert_eq!(login.actor, admin);
    assert_eq!(login.client_id.as_deref(), Some("latchkey-admin-console"));

    // The audit page lists them, filtered by event.
    let page = browser.get("/admin/audit?event=user_disabled").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert_eq!(
        html.matches("<code>user_disabled</code>").count(),
        1,
        "{html}"
    );
    assert_eq!(html.matches("<code>client_removed</code>").count(), 0);
    assert!(html.contains(&dana));
    let all = browser.get("/admin/audit").await.text().await.unwrap();
    assert!(all.contains("<code>client_removed</code>"));
    assert_eq!(browser.get("/admin/audit?event=nope").await.status(), 400);
    assert_eq!(browser.get("/admin/audit?since=soon").await.status(), 400);
    // Nobody else reads it.
    let stranger = app.browser().get("/admin/audit").await;
    assert!(location(&stranger).starts_with("/authorize?"));
}

async fn api(
    app: &TestApp,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut request = app
        .http
        .request(method, app.url(path))
        .bearer_auth(token)
        .header("X-Request-Id", format!("api-{path}"));
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

/// Sends each admin API request in turn; each must succeed.
async fn run_all(
    app: &TestApp,
    token: &str,
    steps: impl IntoIterator<Item = (reqwest::Method, &str, Option<Value>)>,
) {
    for (method, path, body) in steps {
        let response = api(app, token, method, path, body).await;
        let status = response.status();
        assert!(status.is_success(), "{path}: {status}");
    }
}

async fn listed(app: &TestApp, token: &str, query: &str) -> Value {
    let response = api(
        app,
        token,
        reqwest::Method::GET,
        &format!("/admin/api/audit?{query}"),
        None,
    )
    .await;
    assert_eq!(response.status(), 200, "{query}");
    response.json().await.unwrap()
}

async fn the_admin_api_records_user_changes_and_lists_them_filtered_and_paged(backend: Backend) {
    use reqwest::Method;
    let app = storing(backend).await;
    let token = admin_token(&app).await;
    let created = api(
        &app,
        &token,
        Method::POST,
        "/admin/api/users",
        Some(json!({ "username": "erin", "password": "erin's long password" })),
    )
    .await;
    assert_eq!(created.status(), 201);
    let id = created.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let steps = [
        (
            Method::PATCH,
            "/admin/api/users/erin",
            Some(json!({ "name": "Erin" })),
        ),
        (
            Method::PUT,
            "/admin/api/users/erin/password",
            Some(json!({ "password": "a new long password" })),
        ),
        (Method::POST, "/admin/api/users/erin/disable", None),
        (Method::POST, "/admin/api/users/erin/enable", None),
        (Method::POST, "/admin/api/users/erin/unlock", None),
        (Method::DELETE, "/admin/api/users/erin/sessions", None),
        (Method::DELETE, "/admin/api/users/erin", None),
    ];
    run_all(&app, &token, steps).await;
    let all = listed(&app, &token, &format!("subject={id}&limit=200")).await;
    assert_eq!(all["stored"], true);
    assert_eq!(all["next"], Value::Null);
    let events = all["events"].as_array().unwrap();
    let order: Vec<&str> = events
        .iter()
        .rev()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        order,
        [
            "user_created",
            "user_updated",
            "password_changed",
            "user_disabled",
            "user_enabled",
            "account_unlocked",
            "session_ended",
            "token_revoked",
            "user_removed",
        ]
    );
    let actor = events[0]["actor"].as_str().unwrap();
    assert!(actor.starts_with("client:"), "{actor}");
    for e in events {
        assert_eq!(e["actor"], actor);
        assert_eq!(e["address"], "127.0.0.1");
        assert!(e["request_id"]
            .as_str()
            .unwrap()
            .starts_with("api-/admin/api/users"));
    }
    assert_eq!(events[0]["request_id"], "api-/admin/api/users/erin");
    // Pages of four, newest first, by the `next` cursor.
    let mut paged = Vec::new();
    let mut before = String::new();
    loop {
        let page = listed(&app, &token, &format!("subject={id}&limit=4{before}")).await;
        paged.extend(
            page["events"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["id"].clone()),
        );
        match page["next"].as_i64() {
            Some(next) => before = format!("&before={next}"),
            None => break,
        }
    }
    let ids: Vec<Value> = events.iter().map(|e| e["id"].clone()).collect();
    assert_eq!(paged, ids);
    // Filters: by event, by actor, by time.
    let disabled = listed(&app, &token, "event=user_disabled").await;
    assert_eq!(disabled["events"].as_array().unwrap().len(), 1);
    let by_actor = listed(&app, &token, &format!("actor={actor}&limit=200")).await;
    assert_eq!(by_actor["events"].as_array().unwrap().len(), events.len());
    let at = events[0]["at"].as_i64().unwrap();
    let later = listed(&app, &token, &format!("since={}", at + 1)).await;
    assert_eq!(later["events"], json!([]));
    // Bad filters are refused in the API's own error format; no token, no trail.
    for bad in ["event=nope", "limit=0", "limit=201", "since=5&until=5"] {
        let r = api(
            &app,
            &token,
            Method::GET,
            &format!("/admin/api/audit?{bad}"),
            None,
        )
        .await;
        assert_eq!(r.status(), 400, "{bad}");
        assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_request");
    }
    let anonymous = app
        .http
        .get(app.url("/admin/api/audit"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}

async fn group_changes_are_recorded_with_the_group_and_scope(backend: Backend) {
    use reqwest::Method;
    let app = storing(backend).await;
    let token = admin_token(&app).await;
    let frank = app.user("frank", "frank's long password").await;
    let body = Some(json!({ "name": "finance" }));
    let steps = [
        (Method::POST, "/admin/api/groups", body),
        (Method::PUT, "/admin/api/groups/finance/members/frank", None),
        (
            Method::PUT,
            "/admin/api/groups/finance/scopes/invoices:write",
            None,
        ),
        (
            Method::DELETE,
            "/admin/api/groups/finance/scopes/invoices:write",
            None,
        ),
        (
            Method::DELETE,
            "/admin/api/groups/finance/members/frank",
            None,
        ),
        (Method::DELETE, "/admin/api/groups/finance", None),
    ];
    run_all(&app, &token, steps).await;
    let rows = stored(&app).await;
    let groups: Vec<&AuditEventRow> = rows
        .iter()
        .rev()
        .filter(|r| r.event.starts_with("group_"))
        .collect();
    let order: Vec<&str> = groups.iter().map(|r| r.event.as_str()).collect();
    assert_eq!(
        order,
        [
            "group_created",
            "group_member_added",
            "group_scope_allowed",
            "group_scope_disallowed",
            "group_member_removed",
            "group_removed",
        ]
    );
    assert!(groups.iter().all(|r| r.actor.starts_with("client:")));
    assert_eq!(groups[0].subject.as_deref(), Some("finance"));
    assert_eq!(groups[1].subject.as_deref(), Some(frank.as_str()));
    assert_eq!(groups[1].detail.as_deref(), Some(r#"{"group":"finance"}"#));
    assert_eq!(
        groups[2].detail.as_deref(),
        Some(r#"{"scope":"invoices:write"}"#)
    );
}

async fn logins_consent_code_replay_and_logout_are_recorded_with_their_origin(backend: Backend) {
    let app = storing(backend).await;
    let client = app.web_client(false, false).await;
    let alice = app.user("alice", "alice's password").await;
    let browser = app.browser();
    let (url, verifier) = authorize_url(&app, &client, "");
    let login = location(&browser.get(&url).await);
    assert_eq!(
        browser
            .log_in(&login, "alice", "a wrong guess")
            .await
            .status(),
        200
    );
    assert_eq!(
        browser
            .log_in(&login, "nobody", "a wrong guess")
            .await
            .status(),
        200
    );
    let consent = location(&browser.log_in(&login, "alice", "alice's password").await);
    let callback = location(&browser.consent(&consent, true).await);
    assert!(callback.starts_with(REDIRECT_URI), "{callback}");
    let code = query(&callback, "code").unwrap();
    assert_eq!(
        exchange(&app, &client, &code, &verifier).await.status(),
        200
    );
    assert_eq!(
        exchange(&app, &client, &code, &verifier).await.status(),
        400
    );
    let confirm = browser.get("/logout").await.text().await.unwrap();
    let csrf = hidden(&confirm, "csrf");
    browser
        .post("/logout", &[("confirm", "yes"), ("csrf", &csrf)])
        .await;

    let rows = stored(&app).await;
    assert_eq!(
        names(&rows, |_| true),
        [
            // The first signing key, made by the server at start.
            "key_published",
            "key_activated",
            "login_failed",
            "login_failed",
            "login_succeeded",
            "consent_given",
            "code_issued",
            "code_replayed",
            "session_ended",
        ],
        "token issuance is logged, never stored"
    );
    let failed: Vec<&AuditEventRow> = rows.iter().filter(|r| r.event == "login_failed").collect();
    assert_eq!(failed[1].reason.as_deref(), Some("wrong_password"));
    assert_eq!(failed[1].detail.as_deref(), Some(r#"{"account":"alice"}"#));
    assert_eq!(failed[0].reason.as_deref(), Some("unknown_account"));
    for row in &failed {
        assert_eq!(row.actor, "anonymous");
        assert_eq!(row.client_id.as_deref(), Some(client.id.as_str()));
        assert_eq!(row.address.as_deref(), Some("127.0.0.1"));
        assert!(row.request_id.is_some());
    }
    let user = format!("user:{alice}");
    for event in [
        "login_succeeded",
        "consent_given",
        "code_issued",
        "session_ended",
    ] {
        let row = find(&rows, event);
        assert_eq!(row.actor, user, "{event}");
        assert_eq!(row.subject.as_deref(), Some(alice.as_str()), "{event}");
    }
    assert_eq!(find(&rows, "key_activated").actor, "system");
    let replayed = find(&rows, "code_replayed");
    assert_eq!(replayed.actor, format!("client:{}", client.id));
    assert_eq!(
        find(&rows, "session_ended").reason.as_deref(),
        Some("logout")
    );
}

async fn registration_and_key_rotation_are_recorded_with_their_actor(backend: Backend) {
    let app = storing(backend).await;
    let token = admin_token(&app).await;
    let response = app
        .http
        .post(app.url("/register"))
        .bearer_auth(&token)
        .json(&json!({
            "client_name": "Registered App",
            "redirect_uris": [REDIRECT_URI],
            "grant_types": ["authorization_code"],
            "response_types": ["code"],
            "scope": "openid",
            "token_endpoint_auth_method": "client_secret_basic",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    let id = body["client_id"].as_str().unwrap().to_owned();
    let deleted = app
        .http
        .delete(app.url(&format!("/register/{id}")))
        .bearer_auth(body["registration_access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    let (pool, settings, master) = (
        app.state.pool.clone(),
        app.state.settings.clone(),
        app.state.master_key.clone(),
    );
    let by = By::new(Actor::Cli, true, app.clock_now());
    let changes = tokio::task::spawn_blocking(move || {
        latchkey::admin::keys::force_rotation(
            &pool,
            &settings,
            &master,
            &latchkey::random::OsRandom,
            None,
            false,
            &by,
        )
    })
    .await
    .unwrap()
    .unwrap();

    let rows = stored(&app).await;
    let registered = find(&rows, "client_registered");
    assert!(registered.actor.starts_with("client:"), "{registered:?}");
    assert_ne!(registered.actor, format!("client:{id}"));
    assert_eq!(registered.subject.as_deref(), Some(id.as_str()));
    assert_eq!(registered.reason.as_deref(), Some("registration"));
    let removed = find(&rows, "client_removed");
    assert_eq!(removed.actor, format!("client:{id}"));
    let published = find(&rows, "key_published");
    assert_eq!(published.actor, "cli");
    assert_eq!(published.subject.as_ref(), changes.published.first());
    assert_eq!(published.address, None);
}

async fn stored_events_past_their_retention_are_purged_in_batches(backend: Backend) {
    let app = storing(backend).await;
    let pool = app.state.pool.clone();
    let left = tokio::task::spawn_blocking(move || {
        let conn = &mut pool.get().unwrap();
        for at in [10, 10, 10, 10, 10, 10, 10, 1_000] {
            let row = NewAuditEvent {
                at,
                event: "user_created".into(),
                actor: "cli".into(),
                subject: None,
                client_id: None,
                address: None,
                request_id: None,
                reason: None,
                detail: None,
            };
            audit_events::insert(conn, &row).unwrap();
        }
        let batches: Vec<usize> = (0..4)
            .map(|_| audit_events::purge_before(conn, 500, 3).unwrap())
            .collect();
        assert_eq!(batches, [3, 3, 1, 0]);
        // (The keys made at start were recorded too, at the test clock's time.)
        let mine = Filter {
            until: Some(1_001),
            ..Filter::default()
        };
        audit_events::page(conn, &mine, 10).unwrap()
    })
    .await
    .unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].at, 1_000);
}
