//! Direct TLS: HTTPS served with a certificate generated here, plain http refused on that port,
//! and the https-issuer rule.

use std::sync::Arc;

use crate::backend_tests;
use crate::helpers::{test_settings, Backend, TestApp};

backend_tests!(
    https_is_served_with_the_configured_certificate,
    sighup_reloads_a_renewed_certificate,
    a_renewed_certificate_file_is_picked_up_without_a_signal,
);

fn write_pair(dir: &std::path::Path) -> rcgen::CertifiedKey {
    let pair =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    std::fs::write(dir.join("cert.pem"), pair.cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), pair.key_pair.serialize_pem()).unwrap();
    pair
}

/// A client that trusts only `pair`'s certificate.
fn trusting(pair: &rcgen::CertifiedKey) -> reqwest::Client {
    reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(pair.cert.pem().as_bytes()).unwrap())
        .tls_built_in_root_certs(false)
        .build()
        .unwrap()
}

async fn sighup_reloads_a_renewed_certificate(backend: Backend) {
    use crate::shutdown::{serve, signal, BinaryEnv};
    let dir = tempfile::tempdir().unwrap();
    let first = write_pair(dir.path());
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let env = BinaryEnv::new(backend, dir.path(), "https")
        .with("LATCHKEY__SERVER__WORKERS", "1")
        .with(
            "LATCHKEY__SERVER__TLS__CERT_FILE",
            &cert.display().to_string(),
        )
        .with(
            "LATCHKEY__SERVER__TLS__KEY_FILE",
            &key.display().to_string(),
        );
    let (envs, base) = (env.pairs(), &env.base);
    let old_client = trusting(&first);
    let server = serve(&envs, &dir.path().join("serve.log"), &old_client, base).await;
    let renewed = write_pair(dir.path());
    let new_client = trusting(&renewed);
    assert!(new_client
        .get(format!("{base}/healthz"))
        .send()
        .await
        .is_err());
    signal(&server, "-HUP");
    let reloaded = crate::helpers::within(std::time::Duration::from_secs(5), || async {
        new_client
            .get(format!("{base}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
    })
    .await;
    let log = std::fs::read_to_string(dir.path().join("serve.log")).unwrap();
    assert!(reloaded.is_some(), "{log}");
    // New handshakes get the renewed certificate.
    let fresh_old_client = trusting(&first);
    assert!(fresh_old_client
        .get(format!("{base}/healthz"))
        .send()
        .await
        .is_err());
    // A broken pair on the next SIGHUP keeps the renewed one.
    std::fs::write(dir.path().join("key.pem"), "not a key").unwrap();
    signal(&server, "-HUP");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let r = new_client
        .get(format!("{base}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let log = std::fs::read_to_string(dir.path().join("serve.log")).unwrap();
    assert!(log.contains("TLS certificate reloaded"), "{log}");
    assert!(
        log.contains("TLS certificate reload failed; still serving the previous one"),
        "{log}"
    );
}

async fn a_renewed_certificate_file_is_picked_up_without_a_signal(backend: Backend) {
    use crate::shutdown::{serve, BinaryEnv};
    let dir = tempfile::tempdir().unwrap();
    let first = write_pair(dir.path());
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let env = BinaryEnv::new(backend, dir.path(), "https")
        .with("LATCHKEY__SERVER__WORKERS", "1")
        .with("LATCHKEY__SERVER__TLS__WATCH_SECS", "1")
        .with(
            "LATCHKEY__SERVER__TLS__CERT_FILE",
            &cert.display().to_string(),
        )
        .with(
            "LATCHKEY__SERVER__TLS__KEY_FILE",
            &key.display().to_string(),
        );
    let (envs, base) = (env.pairs(), &env.base);
    let log_path = dir.path().join("serve.log");
    let _server = serve(&envs, &log_path, &trusting(&first), base).await;
    let served = |client: reqwest::Client| async move {
        client
            .get(format!("{base}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
    };
    // A key that does not parse: logged, and the old pair keeps serving.
    std::fs::write(&key, "not a key").unwrap();
    let refused = crate::helpers::within(std::time::Duration::from_secs(10), || async {
        std::fs::read_to_string(&log_path)
            .unwrap()
            .contains("TLS certificate reload failed; still serving the previous one")
    })
    .await;
    assert!(
        refused.is_some(),
        "{}",
        std::fs::read_to_string(&log_path).unwrap()
    );
    assert!(served(trusting(&first)).await);
    // A renewed pair written in place is served within a few polls, with no SIGHUP.
    let renewed = write_pair(dir.path());
    let reloaded = crate::helpers::within(std::time::Duration::from_secs(10), || {
        served(trusting(&renewed))
    })
    .await;
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(reloaded.is_some(), "{log}");
    assert!(log.contains("file change"), "{log}");
    assert!(!served(trusting(&first)).await);
}

async fn https_is_served_with_the_configured_certificate(backend: Backend) {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let pair =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let (cert_file, key_file) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_file, pair.cert.pem()).unwrap();
    std::fs::write(&key_file, pair.key_pair.serialize_pem()).unwrap();
    let mut settings = test_settings(backend, dir.path());
    settings.server.tls.cert_file = cert_file;
    settings.server.tls.key_file = key_file;
    let app = TestApp::spawn_with(dir, settings).await;
    let https = trusting(&pair);
    let url = app.url("/jwks").replace("http://", "https://");
    let r = https.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let jwks: serde_json::Value = r.json().await.unwrap();
    assert!(!jwks["keys"].as_array().unwrap().is_empty());
    // A client that does not trust the certificate is refused by its own TLS check…
    assert!(reqwest::Client::new().get(&url).send().await.is_err());
    // …and plain http on the TLS port gets no HTTP answer.
    let plain = app.http.get(app.url("/healthz")).send().await;
    assert!(plain.is_err(), "{plain:?}");
}

#[test]
fn a_plain_http_issuer_outside_loopback_is_refused_unless_overridden() {
    let mut settings = latchkey::config::Settings::defaults().unwrap();
    settings.issuer = "http://id.example.com".parse().unwrap();
    assert_eq!(
        settings.validate().unwrap_err().to_string(),
        "invalid value for `issuer`: must use https outside loopback (set \
         server.allow_http_issuer = true to serve plain http anyway, for development only)"
    );
    settings.server.allow_http_issuer = true;
    assert!(settings.validate().is_ok());
    settings.server.allow_http_issuer = false;
    for ok in [
        "https://id.example.com",
        "http://localhost:8080",
        "http://127.0.0.1:8080",
        "http://[::1]:8080",
    ] {
        settings.issuer = ok.parse().unwrap();
        assert!(settings.validate().is_ok(), "{ok}");
    }
}

#[test]
fn a_tls_certificate_without_its_key_is_refused() {
    let mut settings = latchkey::config::Settings::defaults().unwrap();
    settings.server.tls.cert_file = "Cargo.toml".into();
    assert_eq!(
        settings.validate().unwrap_err().to_string(),
        "invalid value for `server.tls`: cert_file and key_file are set together or not at all"
    );
}
