//! Signing keys at rest and across restarts (DESIGN.md §5).

use std::sync::Arc;

use latchkey::clock::ManualClock;
use latchkey::state::AppState;
use rsa::pkcs8::DecodePrivateKey;

use crate::backend_tests;
use crate::helpers::{Backend, TestApp, NOW};

backend_tests!(
    a_restart_reuses_the_same_signing_key,
    signing_keys_are_encrypted_at_rest,
    a_wrong_master_key_stops_the_start_instead_of_replacing_keys,
);

async fn a_restart_reuses_the_same_signing_key(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let first = app.state.keys.load().active().unwrap().kid.clone();
    let again = AppState::build(
        app.state.settings.clone(),
        Arc::new(ManualClock::new(NOW)),
        Arc::new(latchkey::random::OsRandom),
    )
    .await
    .unwrap();
    assert_eq!(again.keys.load().active().unwrap().kid, first);
    let pool = app.state.pool.clone();
    let settings = app.state.settings.clone();
    let stored = tokio::task::spawn_blocking(move || latchkey::admin::keys::list(&pool, &settings))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].state, "active");
    assert_eq!(stored[0].bits, 2048);
}

async fn signing_keys_are_encrypted_at_rest(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let pool = app.state.pool.clone();
    let rows = tokio::task::spawn_blocking(move || {
        let mut conn = pool.get().unwrap();
        latchkey::db::keys::list(&mut conn).unwrap()
    })
    .await
    .unwrap();
    let row = &rows[0];
    assert!(rsa::RsaPrivateKey::from_pkcs8_der(&row.private_key).is_err());
    // PKCS#8 DER of an RSA key starts with SEQUENCE (0x30 0x82); ciphertext must not.
    assert_ne!(&row.private_key[..2], &[0x30, 0x82]);
    let der = app
        .state
        .master_key
        .decrypt(&row.private_key, row.kid.as_bytes())
        .unwrap();
    assert!(rsa::RsaPrivateKey::from_pkcs8_der(&der).is_ok());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&app.state.settings.keys.master_key_file)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

async fn a_wrong_master_key_stops_the_start_instead_of_replacing_keys(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut settings = app.state.settings.clone();
    let other = app.dir.path().join("other.key");
    std::fs::write(&other, "ab".repeat(32)).unwrap();
    settings.keys.master_key_file = other;
    let error = AppState::build(
        settings,
        Arc::new(ManualClock::new(NOW)),
        Arc::new(latchkey::random::OsRandom),
    )
    .await
    .err()
    .expect("start must fail");
    assert_eq!(
        error.to_string(),
        "a signing key could not be decrypted: wrong master key or corrupt data"
    );
}
