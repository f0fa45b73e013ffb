//! The logs of a real run in JSON: every audit event emitted while serving a request carries that
//! request's id and client address, the CLI writes the events of its changes (actor `cli`) on
//! stderr, the stored trail lists them through the admin API, and no secret the run used appears
//! anywhere in the logs.

use serde_json::Value;

use crate::backend_tests;
use crate::cli::{latchkey, stdout_json};
use crate::helpers::Backend;
use crate::shutdown::{serve, signal, BinaryEnv};

backend_tests!(audit_events_carry_request_id_and_address_and_logs_hold_no_secret);

/// The JSON audit events among `lines`.
fn audit_events(lines: &str) -> Vec<Value> {
    lines
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["target"] == "audit")
        .collect()
}

async fn audit_events_carry_request_id_and_address_and_logs_hold_no_secret(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let env = BinaryEnv::new(backend, dir.path(), "http")
        .with("LATCHKEY__SERVER__WORKERS", "1")
        .with("LATCHKEY__LOG__FORMAT", "json")
        .with("LATCHKEY__AUDIT__STORE", "true");
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
    let cli_log = String::from_utf8_lossy(&added.stderr).into_owned();
    let created = audit_events(&cli_log);
    assert_eq!(created.len(), 1, "{cli_log}");
    assert_eq!(created[0]["event"], "user_created");
    assert_eq!(created[0]["actor"], "cli");
    assert_eq!(created[0]["account"], "alice");
    let added = latchkey(
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
    );
    let client = stdout_json(&added);
    let registered = audit_events(&String::from_utf8_lossy(&added.stderr));
    assert_eq!(registered[0]["event"], "client_registered");
    assert_eq!(registered[0]["actor"], "cli");
    assert_eq!(registered[0]["subject"], client["client_id"]);
    let admin = stdout_json(&latchkey(&envs, &["--json", "admin", "bootstrap"], None));
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
    let admin_token: Value = http
        .post(format!("{issuer}/token"))
        .basic_auth(
            admin["client_id"].as_str().unwrap(),
            admin["client_secret"].as_str(),
        )
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "latchkey:admin"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let admin_token = admin_token["access_token"].as_str().unwrap().to_owned();
    let trail: Value = http
        .get(format!("{issuer}/admin/api/audit?actor=cli"))
        .bearer_auth(&admin_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let by_cli: Vec<&str> = trail["events"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    // The user, the application, the admin client.
    assert_eq!(
        by_cli,
        ["user_created", "client_registered", "client_registered"],
        "{trail}"
    );
    signal(&server, "-TERM");
    let log = crate::helpers::within(std::time::Duration::from_secs(15), || async {
        std::fs::read_to_string(&log_path)
            .unwrap()
            .contains("server stopped")
    })
    .await;
    assert!(log.is_some());
    let log = std::fs::read_to_string(&log_path).unwrap();
    let admin_secret = admin["client_secret"].as_str().unwrap();
    for secret in [
        password,
        wrong,
        &secret,
        &access,
        &refresh,
        admin_secret,
        &admin_token,
    ] {
        assert!(!log.contains(secret), "a secret reached the logs:\n{log}");
        assert!(!cli_log.contains(secret), "a secret reached the CLI's log");
    }
    let events = audit_events(&log);
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
    assert_eq!(failed["client"], id.as_str());
    assert_eq!(failed["actor"], "anonymous");
    assert_eq!(failed["account"], "alice");
    assert_eq!(failed["reason"], "wrong_password");
    assert_eq!(failed["level"], "INFO");
    // The peer (127.0.0.1) is not a trusted proxy: its own address, not the forwarded one.
    assert_eq!(request(&failed)["address"], "127.0.0.1");
    assert_eq!(failed["address"], "127.0.0.1");
    assert_eq!(failed["request_id"], "audit-fail-1");
    let succeeded = find("login_succeeded", "audit-ok-1");
    assert_eq!(
        succeeded["actor"],
        format!("user:{}", succeeded["subject"].as_str().unwrap())
    );
    let issued = find("token_issued", "audit-ok-1");
    assert_eq!(issued["actor"], format!("client:{id}"));
    assert_eq!(issued["grant"], "password");
    assert!(issued["jti"].is_string());
    let revoked = find("token_revoked", "audit-revoke-1");
    assert_eq!(revoked["token_type"], "refresh_token");
    assert_eq!(revoked["count"], 1);
    // The request log line of each request carries the same id.
    assert!(log.contains(r#""request_id":"audit-fail-1""#));
}
