//! The logs of a real run in JSON: every audit event emitted while serving a request carries that
//! request's id and client address, and no secret the run used appears anywhere in the logs.

use serde_json::Value;

use crate::backend_tests;
use crate::cli::{latchkey, stdout_json};
use crate::helpers::Backend;
use crate::shutdown::{serve, signal, BinaryEnv};

backend_tests!(audit_events_carry_request_id_and_address_and_logs_hold_no_secret);

async fn audit_events_carry_request_id_and_address_and_logs_hold_no_secret(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let env = BinaryEnv::new(backend, dir.path(), "http")
        .with("LATCHKEY__SERVER__WORKERS", "1")
        .with("LATCHKEY__LOG__FORMAT", "json");
    let (envs, issuer) = (env.pairs(), &env.base);
    assert!(latchkey(&envs, &["migrate"], None).status.success());
    let password = "correct horse battery staple";
    let wrong = "tr0ub4dor and 3";
    let added = latchkey(
        &envs,
        &["user", "add", "alice", "--password-stdin"],
        Some(password),
    );
    assert!(added.status.success(), "{added:?}");
    let client = stdout_json(&latchkey(
        &envs,
        &[
            "--json",
            "client",
            "add",
            "app",
            "--grant",
            "password",
            "--grant",
            "refresh_token",
            "--scope",
            "openid offline_access",
        ],
        None,
    ));
    let (id, secret) = (
        client["client_id"].as_str().unwrap().to_owned(),
        client["client_secret"].as_str().unwrap().to_owned(),
    );
    let log_path = dir.path().join("serve.log");
    let http = reqwest::Client::new();
    let server = serve(&envs, &log_path, &http, issuer).await;
    let token = |pw: &'static str, request_id: &'static str| {
        http.post(format!("{issuer}/token"))
            .basic_auth(&id, Some(&secret))
            .header("X-Request-Id", request_id)
            .header("X-Forwarded-For", "203.0.113.50")
            .form(&[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", pw),
                ("scope", "openid offline_access"),
            ])
            .send()
    };
    assert_eq!(token(wrong, "audit-fail-1").await.unwrap().status(), 400);
    let issued: Value = token(password, "audit-ok-1")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access = issued["access_token"].as_str().unwrap().to_owned();
    let refresh = issued["refresh_token"].as_str().unwrap().to_owned();
    let revoked = http
        .post(format!("{issuer}/revoke"))
        .basic_auth(&id, Some(&secret))
        .header("X-Request-Id", "audit-revoke-1")
        .form(&[("token", refresh.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    signal(&server, "-TERM");
    let log = crate::helpers::within(std::time::Duration::from_secs(15), || async {
        std::fs::read_to_string(&log_path)
            .unwrap()
            .contains("server stopped")
    })
    .await;
    assert!(log.is_some());
    let log = std::fs::read_to_string(&log_path).unwrap();
    for secret in [password, wrong, &secret, &access, &refresh] {
        assert!(!log.contains(secret), "a secret reached the logs:\n{log}");
    }
    let events: Vec<Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["target"] == "audit")
        .collect();
    // The outermost span is the request's: its id and client address.
    let request = |e: &Value| e["spans"][0].clone();
    let find = |event: &str, request_id: &str| {
        events
            .iter()
            .find(|e| e["event"] == event && request(e)["request_id"] == request_id)
            .unwrap_or_else(|| panic!("no {event} for {request_id} in:\n{log}"))
            .clone()
    };
    let failed = find("login_failed", "audit-fail-1");
    assert_eq!(failed["client_id"], id.as_str());
    // The peer (127.0.0.1) is not a trusted proxy: its own address, not the forwarded one.
    assert_eq!(request(&failed)["address"], "127.0.0.1");
    find("token_issued", "audit-ok-1");
    find("refresh_token_revoked", "audit-revoke-1");
    // The request log line of each request carries the same id.
    assert!(log.contains(r#""request_id":"audit-fail-1""#));
}
