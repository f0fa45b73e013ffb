//! Key chains of several algorithms (DESIGN.md §5): rotated together or one at a time, retired
//! when their algorithm leaves `keys.algorithms`.

use std::sync::Arc;

use latchkey::admin;
use latchkey::admin::keys::Changes;
use latchkey::config::Settings;
use latchkey::domain::client::GrantType;
use latchkey::domain::signing_alg::SigningAlg;
use serde_json::{json, Value};

use crate::backend_tests;
use crate::helpers::{Backend, TestApp, TestClient};
use crate::signing_algs::{client_with, introspect, service_token};

backend_tests!(
    keys_of_several_algorithms_rotate_at_once_and_old_tokens_still_verify,
    removing_an_algorithm_retires_its_keys_until_their_tokens_expire,
);

/// The short lifetimes of the rotation tests (a key signs 100 s, published 30 s before, retired
/// keys stay 60 + 20 + 10 = 90 s), with keys of `algorithms`.
pub fn small_settings(
    backend: Backend,
    dir: &std::path::Path,
    algorithms: &[SigningAlg],
) -> Settings {
    let mut settings = crate::rotation::small_settings(backend, dir);
    settings.keys.algorithms = algorithms.to_vec();
    settings
}

pub async fn spawn_small(backend: Backend, algorithms: &[SigningAlg]) -> TestApp {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let settings = small_settings(backend, dir.path(), algorithms);
    TestApp::spawn_with(dir, settings).await
}

pub fn active_kid(app: &TestApp, alg: SigningAlg) -> Option<String> {
    app.state.keys.load().active_for(alg).map(|k| k.kid.clone())
}

/// Whether `token` verifies against the JWKS served now, by the key's own algorithm.
async fn verifies(app: &TestApp, token: &str) -> bool {
    crate::rotation::verify_against_jwks(app, token)
        .await
        .is_ok()
}

async fn force(app: &TestApp, settings: &Settings, alg: Option<SigningAlg>) -> Changes {
    let (pool, settings) = (app.state.pool.clone(), settings.clone());
    let (master, now) = (app.state.master_key.clone(), app.clock_now());
    tokio::task::spawn_blocking(move || {
        admin::keys::force_rotation(
            &pool,
            &settings,
            &master,
            &latchkey::random::OsRandom,
            alg,
            true,
            &crate::helpers::by_cli(now),
        )
    })
    .await
    .unwrap()
    .expect("force rotation")
}

/// A rotation pass under `settings` (which may differ from the server's), then a reload.
async fn pass(app: &TestApp, settings: &Settings) {
    let (pool, settings) = (app.state.pool.clone(), settings.clone());
    let (master, now) = (app.state.master_key.clone(), app.clock_now());
    tokio::task::spawn_blocking(move || {
        admin::keys::rotate_if_due(&pool, &settings, &master, &latchkey::random::OsRandom, now)
    })
    .await
    .unwrap()
    .expect("rotation pass");
    app.state.refresh_keys().await.unwrap();
}

async fn stored_states(app: &TestApp) -> Vec<(String, String, String)> {
    let (pool, settings) = (app.state.pool.clone(), app.state.settings.clone());
    let mut keys: Vec<_> = tokio::task::spawn_blocking(move || admin::keys::list(&pool, &settings))
        .await
        .unwrap()
        .unwrap()
        .into_iter()
        .map(|k| (k.alg, k.state, k.kid))
        .collect();
    keys.sort();
    keys
}

async fn keys_of_several_algorithms_rotate_at_once_and_old_tokens_still_verify(backend: Backend) {
    let app = spawn_small(backend, &SigningAlg::ALL).await;
    let grants = [GrantType::ClientCredentials];
    let mut clients: Vec<(SigningAlg, TestClient, String)> = Vec::new();
    for alg in SigningAlg::ALL {
        let client = client_with(&app, &grants, "api:read", Some(alg), None).await;
        let token = service_token(&app, &client).await;
        clients.push((alg, client, token));
    }
    let before: Vec<String> = SigningAlg::ALL
        .iter()
        .map(|&a| active_kid(&app, a).unwrap())
        .collect();
    // All chains at once (`keys rotate --immediately`).
    let changes = force(&app, &app.state.settings, None).await;
    assert_eq!(changes.published.len(), 3, "{changes:?}");
    assert_eq!(changes.activated, changes.published);
    let mut retired = changes.retired.clone();
    retired.sort();
    let mut expected = before.clone();
    expected.sort();
    assert_eq!(retired, expected);
    app.state.refresh_keys().await.unwrap();
    for (alg, client, old_token) in &clients {
        let new_token = service_token(&app, client).await;
        let (header, _) = app.verify(&new_token, &app.address).await;
        assert_eq!(header.kid, active_kid(&app, *alg), "{alg}");
        assert!(!before.contains(&header.kid.unwrap()));
        // Tokens of the retired keys still verify, for relying parties and for Latchkey.
        assert!(verifies(&app, old_token).await, "old {alg} token");
        assert_eq!(introspect(&app, client, old_token).await["active"], true);
    }
    // On schedule, every chain publishes its successor 30 s ahead and switches at 100 s.
    let current: Vec<String> = SigningAlg::ALL
        .iter()
        .map(|&a| active_kid(&app, a).unwrap())
        .collect();
    app.clock.advance(70);
    pass(&app, &app.state.settings).await;
    let states = stored_states(&app).await;
    for alg in SigningAlg::ALL {
        let next = states
            .iter()
            .filter(|(a, s, _)| a == alg.as_str() && s == "next");
        assert_eq!(next.count(), 1, "{alg}: {states:?}");
    }
    app.clock.advance(30);
    pass(&app, &app.state.settings).await;
    for (i, alg) in SigningAlg::ALL.iter().enumerate() {
        assert_ne!(active_kid(&app, *alg).unwrap(), current[i], "{alg} rotated");
    }
    // One algorithm alone (`keys rotate --alg ES256 --immediately`): the others keep their keys.
    let others = [SigningAlg::RS256, SigningAlg::EdDSA].map(|a| active_kid(&app, a));
    let es256 = active_kid(&app, SigningAlg::ES256).unwrap();
    let changes = force(&app, &app.state.settings, Some(SigningAlg::ES256)).await;
    assert_eq!(changes.retired, vec![es256]);
    app.state.refresh_keys().await.unwrap();
    assert_eq!(
        active_kid(&app, SigningAlg::ES256).as_ref(),
        changes.activated.first()
    );
    assert_eq!(
        [SigningAlg::RS256, SigningAlg::EdDSA].map(|a| active_kid(&app, a)),
        others
    );
}

async fn removing_an_algorithm_retires_its_keys_until_their_tokens_expire(backend: Backend) {
    // The server runs with RS256 only; ES256 and EdDSA keys come from an earlier configuration.
    // Its own background pass (every refresh_interval_secs) must not run in between: an hour.
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let mut settings = small_settings(backend, dir.path(), &[SigningAlg::RS256]);
    settings.keys.refresh_interval_secs = 3600;
    settings.keys.publication_lead_secs = 3620;
    settings.keys.rotation_period_secs = 7200;
    let app = TestApp::spawn_with(dir, settings).await;
    let mut earlier = app.state.settings.clone();
    earlier.keys.algorithms = SigningAlg::ALL.to_vec();
    let grants = [GrantType::ClientCredentials];
    let client = client_with(&app, &grants, "api:read", Some(SigningAlg::EdDSA), None).await;
    // The server's own background pass runs once right after start (then hourly): if it lands
    // between the earlier configuration's pass and the token request it retires the new keys
    // first, and the next attempt makes fresh ones that nothing else touches.
    let mut attempts = 0;
    let (token, eddsa, es256) = loop {
        pass(&app, &earlier).await;
        let eddsa = active_kid(&app, SigningAlg::EdDSA).expect("an EdDSA key");
        let es256 = active_kid(&app, SigningAlg::ES256).expect("an ES256 key");
        let response = app
            .token(&[("grant_type", "client_credentials")], Some(&client))
            .await;
        if response.status() == 200 {
            let body: Value = response.json().await.unwrap();
            break (
                body["access_token"].as_str().unwrap().to_owned(),
                eddsa,
                es256,
            );
        }
        attempts += 1;
        assert!(
            attempts < 3,
            "no EdDSA token: {}",
            response.text().await.unwrap()
        );
    };
    // The configured set (RS256 only) retires both chains at the next pass.
    pass(&app, &app.state.settings).await;
    let states = stored_states(&app).await;
    for (alg, kid) in [("EdDSA", &eddsa), ("ES256", &es256)] {
        assert!(
            states.contains(&(alg.into(), "retired".into(), kid.clone())),
            "{states:?}"
        );
    }
    assert_eq!(active_kid(&app, SigningAlg::EdDSA), None);
    // Still published: what they signed keeps verifying until it expires.
    assert!(verifies(&app, &token).await);
    assert_eq!(introspect(&app, &client, &token).await["active"], true);
    // A client still asking for EdDSA gets no token rather than one in another algorithm.
    let refused = app
        .token(&[("grant_type", "client_credentials")], Some(&client))
        .await;
    assert_eq!(refused.status(), 503);
    assert_eq!(
        refused.json::<Value>().await.unwrap(),
        json!({
            "error": "temporarily_unavailable",
            "error_description": "No signing key is available; retry later",
        })
    );
    // After the retention (60 + 20 + 3600 s) they are gone.
    app.clock.advance(3680);
    pass(&app, &app.state.settings).await;
    let states = stored_states(&app).await;
    assert!(
        states.iter().all(|(alg, _, _)| alg == "RS256"),
        "{states:?}"
    );
    assert!(!verifies(&app, &token).await);
}
