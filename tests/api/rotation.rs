//! Signing-key rotation (DESIGN.md §5): next → active → retired → deleted on the test clock,
//! forced rotation, several servers sharing one PostgreSQL, and `latchkey keys` on the CLI.

use std::sync::Arc;

use latchkey::admin;
use latchkey::admin::keys::Changes;
use latchkey::config::Settings;
use serde_json::Value;

use crate::backend_tests;
use crate::helpers::{test_settings, Backend, TestApp, TestClient, NOW};

backend_tests!(
    a_new_key_is_published_before_it_signs_and_leaves_after_its_tokens_expire,
    a_forced_rotation_immediately_switches_signing_at_once,
    a_forced_rotation_without_immediately_waits_for_the_publication_lead,
    concurrent_rotation_passes_neither_fail_nor_make_two_keys,
);

mod two_servers_on_one_database_agree_on_the_active_key {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::two_servers_on_one_database_agree_on_the_active_key().await
    }
}

mod the_cli_rotates_and_lists_keys {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::the_cli_rotates_and_lists_keys(crate::helpers::Backend::Sqlite).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::the_cli_rotates_and_lists_keys(crate::helpers::Backend::Postgres).await
    }
}

/// Short lifetimes: tokens live 60 s, the JWKS is cached 20 s and replicas refresh every 10 s, a
/// key signs for 100 s and is published 30 s (20 + 10) before; a retired key stays
/// 60 + 20 + 10 = 90 s. The background pass uses the same test clock, so a pass it happens to run
/// changes nothing the test's own passes would not.
pub fn small_settings(backend: Backend, dir: &std::path::Path) -> Settings {
    let mut settings = test_settings(backend, dir);
    settings.tokens.access_token_ttl_secs = 60;
    settings.tokens.id_token_ttl_secs = 60;
    settings.keys.jwks_max_age_secs = 20;
    settings.keys.publication_lead_secs = 30;
    settings.keys.rotation_period_secs = 100;
    settings.keys.refresh_interval_secs = 10;
    settings
}

async fn spawn_small(backend: Backend) -> TestApp {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let settings = small_settings(backend, dir.path());
    TestApp::spawn_with(dir, settings).await
}

fn active_kid(app: &TestApp) -> String {
    app.state
        .keys
        .load()
        .active()
        .expect("active key")
        .kid
        .clone()
}

/// The kids in the served JWKS, sorted.
async fn served_kids(app: &TestApp) -> Vec<String> {
    let jwks: Value = app.get("/jwks").await.json().await.unwrap();
    let mut kids: Vec<String> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect();
    kids.sort();
    kids
}

fn sorted(kids: &[&str]) -> Vec<String> {
    let mut kids: Vec<String> = kids.iter().map(|k| (*k).to_owned()).collect();
    kids.sort();
    kids
}

/// A fresh client-credentials access token.
async fn access_token(app: &TestApp, client: &TestClient) -> String {
    let response = app
        .token(&[("grant_type", "client_credentials")], Some(client))
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

fn kid_of(token: &str) -> String {
    jsonwebtoken::decode_header(token)
        .unwrap()
        .kid
        .expect("kid")
}

/// Verifies `token` against the JWKS `app` serves now, like an independent relying party;
/// `Err` says why not. Expiry is not checked here.
pub async fn verify_against_jwks(app: &TestApp, token: &str) -> Result<(), String> {
    let kid = kid_of(token);
    let jwks: Value = app.get("/jwks").await.json().await.unwrap();
    let Some(key) = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
    else {
        return Err(format!("kid {kid} is not in the JWKS"));
    };
    let (decoding, algorithm) = crate::helpers::decoding_key(key);
    let mut validation = jsonwebtoken::Validation::new(algorithm);
    validation.validate_exp = false;
    validation.validate_aud = false;
    jsonwebtoken::decode::<Value>(token, &decoding, &validation)
        .map(drop)
        .map_err(|e| e.to_string())
}

async fn rotate(app: &TestApp) {
    app.state.rotate_keys().await.expect("rotation pass");
}

async fn stored_keys(app: &TestApp) -> Vec<admin::keys::KeyView> {
    let pool = app.state.pool.clone();
    let settings = app.state.settings.clone();
    tokio::task::spawn_blocking(move || admin::keys::list(&pool, &settings))
        .await
        .unwrap()
        .expect("list keys")
}

/// The one kid of a change list.
fn only(kids: &[String]) -> Option<String> {
    match kids {
        [kid] => Some(kid.clone()),
        _ => None,
    }
}

async fn force(app: &TestApp, immediately: bool) -> Changes {
    let pool = app.state.pool.clone();
    let settings = app.state.settings.clone();
    let master = app.state.master_key.clone();
    let now = app.clock_now();
    tokio::task::spawn_blocking(move || {
        admin::keys::force_rotation(
            &pool,
            &settings,
            &master,
            &latchkey::random::OsRandom,
            None,
            immediately,
            &crate::helpers::by_cli(now),
        )
    })
    .await
    .unwrap()
    .expect("force rotation")
}

async fn a_new_key_is_published_before_it_signs_and_leaves_after_its_tokens_expire(
    backend: Backend,
) {
    let app = spawn_small(backend).await;
    let service = app.service_client().await;
    let a = active_kid(&app);
    assert_eq!(served_kids(&app).await, sorted(&[&a]));
    let first_etag = app.get("/jwks").await.headers()["etag"].clone();

    // NOW+69: the active key has 31 s left, more than the publication lead: nothing yet.
    app.clock.advance(69);
    rotate(&app).await;
    assert_eq!(served_kids(&app).await, sorted(&[&a]));

    // NOW+70: the successor is published, but the old key still signs.
    app.clock.advance(1);
    rotate(&app).await;
    let keys = stored_keys(&app).await;
    let next = keys.iter().find(|k| k.state == "next").expect("a next key");
    let b = next.kid.clone();
    assert_eq!(next.created_at, NOW + 70);
    assert_eq!(next.activate_after, Some(NOW + 100));
    assert!(
        next.activate_after.unwrap() - next.created_at
            >= app.state.settings.keys.publication_lead_secs
    );
    assert_eq!(served_kids(&app).await, sorted(&[&a, &b]));
    let jwks = app.get("/jwks").await;
    assert_eq!(
        jwks.headers()["cache-control"].to_str().unwrap(),
        "public, max-age=20"
    );
    assert_ne!(
        jwks.headers()["etag"],
        first_etag,
        "a new key changes the ETag"
    );
    let early = access_token(&app, &service).await;
    assert_eq!(kid_of(&early), a);

    // NOW+99: still the old key.
    app.clock.advance(29);
    rotate(&app).await;
    let late = access_token(&app, &service).await;
    assert_eq!(kid_of(&late), a);

    // NOW+100: the successor signs; the old key is retired but still published.
    app.clock.advance(1);
    rotate(&app).await;
    assert_eq!(active_kid(&app), b);
    let fresh = access_token(&app, &service).await;
    assert_eq!(kid_of(&fresh), b);
    app.verify(&fresh, &app.address).await;
    app.verify(&early, &app.address).await;
    app.verify(&late, &app.address).await;
    let keys = stored_keys(&app).await;
    let retired = keys.iter().find(|k| k.kid == a).unwrap();
    assert_eq!(retired.state, "retired");
    assert_eq!(retired.retired_at, Some(NOW + 100));
    assert_eq!(
        retired.delete_after,
        Some(NOW + 100 + app.state.settings.retired_key_retention_secs())
    );

    // NOW+158: the last token the old key signed (at NOW+99, valid 60 s) is still good.
    app.clock.advance(58);
    rotate(&app).await;
    app.verify(&late, &app.address).await;
    let introspected: Value = app
        .http
        .post(app.url("/introspect"))
        .basic_auth(&service.id, service.secret.as_deref())
        .form(&[("token", late.as_str())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(introspected["active"], true);

    // NOW+189: one second before the end of the retention (NOW+100+90), still published. The
    // next successor (due NOW+200) has been published meanwhile.
    app.clock.advance(31);
    rotate(&app).await;
    let kids = served_kids(&app).await;
    assert_eq!(kids.len(), 3, "{kids:?}");
    assert!(kids.contains(&a));
    assert!(verify_against_jwks(&app, &late).await.is_ok());

    // NOW+190: the retired key is gone, and what it signed no longer verifies.
    app.clock.advance(1);
    rotate(&app).await;
    let kids = served_kids(&app).await;
    assert!(!kids.contains(&a), "{kids:?}");
    assert!(kids.contains(&b));
    assert_eq!(
        verify_against_jwks(&app, &late).await,
        Err(format!("kid {a} is not in the JWKS"))
    );
    assert!(stored_keys(&app).await.iter().all(|k| k.kid != a));
    let refused = app
        .http
        .get(app.url("/userinfo"))
        .bearer_auth(&late)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    // The current key keeps working.
    let now_token = access_token(&app, &service).await;
    assert_eq!(kid_of(&now_token), b);
    app.verify(&now_token, &app.address).await;
}

async fn a_forced_rotation_immediately_switches_signing_at_once(backend: Backend) {
    let app = spawn_small(backend).await;
    let service = app.service_client().await;
    let a = active_kid(&app);
    let before = access_token(&app, &service).await;
    let changes = force(&app, true).await;
    let b = only(&changes.published).expect("a new key");
    assert_eq!(
        changes,
        Changes {
            published: vec![b.clone()],
            activated: vec![b.clone()],
            retired: vec![a.clone()],
            deleted: vec![],
        }
    );
    // The change signal may have reloaded the set already; either way it is loaded now.
    app.state.refresh_keys().await.unwrap();
    let after = access_token(&app, &service).await;
    assert_eq!(kid_of(&after), b);
    assert_eq!(served_kids(&app).await, sorted(&[&a, &b]));
    // Tokens of the compromised key still verify until they expire; that is the trade-off.
    app.verify(&before, &app.address).await;
    app.verify(&after, &app.address).await;
    let keys = stored_keys(&app).await;
    let states: Vec<(&str, &str)> = keys
        .iter()
        .map(|k| (k.kid.as_str(), k.state.as_str()))
        .collect();
    assert!(states.contains(&(b.as_str(), "active")), "{states:?}");
    assert!(states.contains(&(a.as_str(), "retired")), "{states:?}");
    assert_eq!(states.len(), 2);
    // A second immediate rotation right away works the same way.
    let again = force(&app, true).await;
    assert_eq!(again.retired, vec![b.clone()]);
    app.state.refresh_keys().await.unwrap();
    assert_eq!(
        kid_of(&access_token(&app, &service).await),
        only(&again.activated).unwrap()
    );
}

async fn a_forced_rotation_without_immediately_waits_for_the_publication_lead(backend: Backend) {
    let app = spawn_small(backend).await;
    let service = app.service_client().await;
    let a = active_kid(&app);
    app.clock.advance(10);
    let changes = force(&app, false).await;
    let b = only(&changes.published).expect("a new key");
    assert!(changes.activated.is_empty());
    assert!(changes.retired.is_empty());
    app.state.refresh_keys().await.unwrap();
    assert_eq!(served_kids(&app).await, sorted(&[&a, &b]));
    assert_eq!(kid_of(&access_token(&app, &service).await), a);
    let next = stored_keys(&app).await;
    let next = next.iter().find(|k| k.kid == b).unwrap();
    assert_eq!(next.state, "next");
    assert_eq!(next.activate_after, Some(NOW + 10 + 30));
    // Asking again while a key waits publishes nothing more.
    let again = force(&app, false).await;
    assert!(again.published.is_empty());
    assert_eq!(stored_keys(&app).await.len(), 2);

    app.clock.advance(29);
    rotate(&app).await;
    assert_eq!(kid_of(&access_token(&app, &service).await), a);
    app.clock.advance(1);
    rotate(&app).await;
    assert_eq!(kid_of(&access_token(&app, &service).await), b);
}

async fn two_servers_on_one_database_agree_on_the_active_key() {
    let first = spawn_small(Backend::Postgres).await;
    let second = TestApp::spawn_with(first.dir.clone(), first.state.settings.clone()).await;
    let service = first.service_client().await;
    let a = active_kid(&first);
    assert_eq!(
        active_kid(&second),
        a,
        "the second server reuses the stored key"
    );
    assert_eq!(served_kids(&second).await, served_kids(&first).await);

    // A forced rotation on the first server reaches the second through the database's change
    // counter within one change-poll interval, with no explicit refresh.
    let b = only(&force(&first, true).await.activated).expect("activated");
    first.state.refresh_keys().await.unwrap();
    assert_eq!(active_kid(&first), b);
    let reached = crate::helpers::within(std::time::Duration::from_secs(2), || async {
        active_kid(&second) == b
    })
    .await;
    assert!(
        reached.is_some(),
        "the second server kept signing with the replaced key"
    );
    assert!(!second.state.refresh_keys().await.unwrap(), "nothing new");
    assert_eq!(served_kids(&second).await, served_kids(&first).await);
    let from_second = access_token(&second, &service).await;
    assert_eq!(kid_of(&from_second), b);
    assert!(verify_against_jwks(&first, &from_second).await.is_ok());

    // A scheduled rotation, due on both servers at once: exactly one successor is published.
    for app in [&first, &second] {
        app.clock.advance(70);
    }
    let (x, y) = tokio::join!(first.state.rotate_keys(), second.state.rotate_keys());
    x.unwrap();
    y.unwrap();
    let keys = stored_keys(&first).await;
    let next: Vec<&str> = keys
        .iter()
        .filter(|k| k.state == "next")
        .map(|k| k.kid.as_str())
        .collect();
    assert_eq!(next.len(), 1, "{next:?}");
    let c = next[0].to_owned();
    first.state.refresh_keys().await.unwrap();
    second.state.refresh_keys().await.unwrap();
    assert_eq!(served_kids(&first).await, served_kids(&second).await);
    // Both activate it at its date, whichever runs the pass.
    for app in [&first, &second] {
        app.clock.advance(30);
    }
    let (x, y) = tokio::join!(second.state.rotate_keys(), first.state.rotate_keys());
    x.unwrap();
    y.unwrap();
    first.state.refresh_keys().await.unwrap();
    second.state.refresh_keys().await.unwrap();
    assert_eq!(active_kid(&first), c);
    assert_eq!(active_kid(&second), c);
    let keys = stored_keys(&first).await;
    assert_eq!(keys.iter().filter(|k| k.state == "active").count(), 1);

    // A third server whose background loop runs every second picks up a change by itself.
    let mut settings = first.state.settings.clone();
    settings.keys.refresh_interval_secs = 1;
    let third = TestApp::spawn_with(first.dir.clone(), settings).await;
    assert_eq!(active_kid(&third), c);
    let d = only(&force(&first, true).await.activated).expect("activated");
    let mut waited = 0;
    while active_kid(&third) != d {
        assert!(waited < 50, "the third server never picked up the new key");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        waited += 1;
    }
}

async fn the_cli_rotates_and_lists_keys(backend: Backend) {
    let app = spawn_small(backend).await;
    let settings = &app.state.settings;
    let envs = vec![
        (
            "LATCHKEY__DATABASE__URL".to_owned(),
            settings.database.url.clone(),
        ),
        (
            "LATCHKEY__KEYS__MASTER_KEY_FILE".to_owned(),
            settings.keys.master_key_file.to_str().unwrap().to_owned(),
        ),
        (
            "LATCHKEY__KEYS__JWKS_MAX_AGE_SECS".to_owned(),
            "20".to_owned(),
        ),
        (
            "LATCHKEY__KEYS__REFRESH_INTERVAL_SECS".to_owned(),
            "10".to_owned(),
        ),
        (
            "LATCHKEY__KEYS__PUBLICATION_LEAD_SECS".to_owned(),
            "30".to_owned(),
        ),
        (
            "LATCHKEY__KEYS__ROTATION_PERIOD_SECS".to_owned(),
            "100".to_owned(),
        ),
    ];
    let cli = |args: &'static [&'static str]| {
        let envs = envs.clone();
        async move {
            let output = tokio::task::spawn_blocking(move || {
                std::process::Command::new(env!("CARGO_BIN_EXE_latchkey"))
                    .args(args)
                    .env_remove("LATCHKEY_CONFIG")
                    .env_remove("LATCHKEY_MASTER_KEY")
                    .envs(envs)
                    .output()
                    .expect("run latchkey")
            })
            .await
            .unwrap();
            assert!(
                output.status.success(),
                "{args:?}: {:?} {}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            );
            serde_json::from_slice::<Value>(&output.stdout).expect("JSON on stdout")
        }
    };
    let a = active_kid(&app);
    let listed = cli(&["keys", "list", "--json"]).await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["kid"], a.as_str());
    assert_eq!(listed[0]["state"], "active");
    assert_eq!(listed[0]["alg"], "RS256");
    assert_eq!(listed[0]["bits"], 2048);

    let rotated = cli(&["keys", "rotate", "--json"]).await;
    let b = rotated["published"][0]
        .as_str()
        .expect("published")
        .to_owned();
    assert_eq!(rotated["published"].as_array().unwrap().len(), 1);
    assert_eq!(rotated["activated"], serde_json::json!([]));
    assert_eq!(rotated["retired"], serde_json::json!([]));
    assert_eq!(rotated["deleted"], serde_json::json!([]));
    let listed = cli(&["keys", "list", "--json"]).await;
    let next = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == b.as_str())
        .expect("the new key is listed");
    assert_eq!(next["state"], "next");
    let created = next["created_at"].as_i64().unwrap();
    assert_eq!(next["activate_after"].as_i64(), Some(created + 30));
    // The running server publishes it within one change-poll interval, and keeps signing with
    // the old key.
    let published = crate::helpers::within(std::time::Duration::from_secs(2), || async {
        served_kids(&app).await == sorted(&[&a, &b])
    })
    .await;
    assert!(published.is_some(), "the new key was not published");
    assert_eq!(active_kid(&app), a);

    let urgent = cli(&["keys", "rotate", "--immediately", "--json"]).await;
    // The waiting key is the one that takes over; no third key is made.
    assert_eq!(urgent["published"], serde_json::json!([]));
    assert_eq!(urgent["activated"], serde_json::json!([b]));
    assert_eq!(urgent["retired"], serde_json::json!([a]));
    let switched = crate::helpers::within(std::time::Duration::from_secs(2), || async {
        active_kid(&app) == b
    })
    .await;
    assert!(
        switched.is_some(),
        "the server kept signing with the replaced key"
    );
    let listed = cli(&["keys", "list", "--json"]).await;
    let states: Vec<(&str, &str)> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|k| (k["kid"].as_str().unwrap(), k["state"].as_str().unwrap()))
        .collect();
    assert_eq!(states.len(), 2, "{states:?}");
    assert!(states.contains(&(b.as_str(), "active")));
    assert!(states.contains(&(a.as_str(), "retired")));
}

/// Runs five rotation passes at once, as replicas, the background loop and the CLI may.
async fn concurrent_passes(app: &TestApp, what: &str) {
    let passes: Vec<_> = (0..5)
        .map(|_| {
            let state = app.state.clone();
            tokio::spawn(async move { state.rotate_keys().await })
        })
        .collect();
    for pass in passes {
        pass.await
            .unwrap()
            .unwrap_or_else(|e| panic!("{what}: a pass failed: {e:#}"));
    }
}

async fn states(app: &TestApp) -> (usize, usize, usize) {
    let keys = stored_keys(app).await;
    let count = |state: &str| keys.iter().filter(|k| k.state == state).count();
    (count("next"), count("active"), keys.len())
}

/// Concurrent passes serialise on the key-change lock: none fails ("database is locked" on
/// SQLite), and each change (publication, activation, deletion) happens once.
async fn concurrent_rotation_passes_neither_fail_nor_make_two_keys(backend: Backend) {
    let app = spawn_small(backend).await;
    // The successor is due to be published: five passes race to publish it.
    app.clock.advance(70);
    concurrent_passes(&app, "publication").await;
    let (next, active, _) = states(&app).await;
    assert_eq!((next, active), (1, 1));
    for round in 0..10 {
        // The waiting key is due to sign: five passes race to activate it.
        app.clock.advance(30);
        concurrent_passes(&app, &format!("activation {round}")).await;
        let (next, active, total) = states(&app).await;
        assert_eq!((next, active), (0, 1), "round {round}");
        app.state.refresh_keys().await.unwrap();
        assert_eq!(served_kids(&app).await.len(), total, "round {round}");
        // Retired keys leave after 90 s: at most the active one and three retired ones remain.
        assert!(total <= 4, "round {round}: {total} keys");
        force(&app, false).await;
    }
}
