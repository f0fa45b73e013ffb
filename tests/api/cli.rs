//! The `latchkey` command line, run as a real process.

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

use serde_json::Value;

use crate::backend_tests;
use crate::helpers::{test_settings, Backend, TestApp, TestClient};

pub(crate) fn latchkey(envs: &[(&str, &str)], args: &[&str], stdin: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_latchkey"));
    command
        .args(args)
        .env_remove("LATCHKEY_CONFIG")
        .env_remove("LATCHKEY_MASTER_KEY")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in envs {
        command.env(k, v);
    }
    let mut child = command.spawn().expect("run latchkey");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

pub fn stdout_json(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON on stdout")
}

#[test]
fn every_command_has_help() {
    let commands: &[&[&str]] = &[
        &[],
        &["serve"],
        &["migrate"],
        &["config"],
        &["config", "check"],
        &["user"],
        &["user", "add"],
        &["user", "list"],
        &["user", "show"],
        &["user", "passwd"],
        &["user", "disable"],
        &["user", "enable"],
        &["user", "remove"],
        &["user", "revoke-consent"],
        &["user", "grant-admin"],
        &["user", "revoke-admin"],
        &["user", "revoke-sessions"],
        &["user", "mfa"],
        &["user", "mfa-reset"],
        &["user", "update"],
        &["user", "join"],
        &["user", "leave"],
        &["user", "password-link"],
        &["group"],
        &["group", "add"],
        &["group", "remove"],
        &["group", "list"],
        &["group", "show"],
        &["group", "allow-scope"],
        &["group", "disallow-scope"],
        &["keys", "rotate"],
        &["admin"],
        &["admin", "bootstrap"],
        &["client"],
        &["client", "add"],
        &["client", "update"],
        &["client", "list"],
        &["client", "show"],
        &["client", "rotate-secret"],
        &["client", "disable"],
        &["client", "enable"],
        &["client", "remove"],
        &["keys"],
        &["keys", "list"],
        &["resource"],
        &["resource", "add"],
        &["resource", "list"],
        &["resource", "show"],
        &["resource", "remove"],
    ];
    for command in commands {
        let mut args = command.to_vec();
        args.push("--help");
        let output = latchkey(&[], &args, None);
        assert!(output.status.success(), "{args:?} --help failed");
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(text.contains("Usage: latchkey"), "{args:?}: {text}");
    }
}

#[test]
fn config_check_names_the_invalid_value() {
    let cases: &[(&str, &str, &str)] = &[
        ("LATCHKEY__ISSUER", "latchkey.example", "invalid value for `issuer`: not an absolute URL"),
        ("LATCHKEY__TOKENS__ACCESS_TOKEN_TTL_SECS", "-5", "invalid value for `tokens.access_token_ttl_secs`: must be positive"),
        ("LATCHKEY__DATABASE__URL", "mysql://db", "invalid value for `database.url`: expected a URL starting with postgres:// or sqlite://"),
        ("LATCHKEY__SERVER__NO_SUCH_KEY", "1", "unknown field: found `no_such_key`"),
        ("LATCHKEY__TOKENS__ACCESS_TOKEN_ALG", "ES256", "invalid value for `tokens.access_token_alg`: signing algorithm `ES256` is not configured (keys.algorithms: RS256)"),
        ("LATCHKEY__KEYS__ALGORITHMS", r#"["ES256"]"#, "invalid value for `keys.algorithms`: must include RS256, which OpenID Connect requires for ID tokens (Discovery 1.0 §3)"),
        ("LATCHKEY__KEYS__ALGORITHMS", r#"["RS256","HS256"]"#, "unknown variant: found `HS256`"),
    ];
    for (key, value, message) in cases {
        let output = latchkey(&[(key, value)], &["config", "check"], None);
        assert_eq!(output.status.code(), Some(2), "{key}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(message), "{key}: {stderr}");
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("latchkey.toml");
    std::fs::write(
        &file,
        "issuer = \"https://id.example\"\n[tokens]\nlifetime = 5\n",
    )
    .unwrap();
    let output = latchkey(
        &[],
        &["--config", file.to_str().unwrap(), "config", "check"],
        None,
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("unknown field: found `lifetime`"));
    let key = dir.path().join("bad.key");
    std::fs::write(&key, "too short").unwrap();
    let output = latchkey(
        &[("LATCHKEY__KEYS__MASTER_KEY_FILE", key.to_str().unwrap())],
        &["config", "check"],
        None,
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr)
        .contains("invalid value for `keys.master_key_file`"));
}

#[test]
fn config_check_prints_the_effective_configuration_without_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let output = latchkey(
        &[
            (
                "LATCHKEY__DATABASE__URL",
                "postgres://app:hunter2@db.internal/latchkey",
            ),
            ("LATCHKEY__ISSUER", "https://id.example"),
            (
                "LATCHKEY__KEYS__MASTER_KEY_FILE",
                dir.path().join("none.key").to_str().unwrap(),
            ),
        ],
        &["config", "check", "--json"],
        None,
    );
    let config = stdout_json(&output);
    assert_eq!(config["issuer"], "https://id.example");
    assert_eq!(
        config["database"]["url"],
        "postgres://app:REDACTED@db.internal/latchkey"
    );
    assert!(!String::from_utf8_lossy(&output.stdout).contains("hunter2"));
}

#[test]
fn admin_commands_refuse_to_create_a_database_and_name_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("elsewhere.db");
    let url = format!("sqlite://{}", path.display());
    let envs = [("LATCHKEY__DATABASE__URL", url.as_str())];
    for command in [
        &["user", "list"][..],
        &["client", "list"],
        &["keys", "list"],
    ] {
        let output = latchkey(&envs, command, None);
        assert_eq!(output.status.code(), Some(1), "{command:?}: {output:?}");
        assert_eq!(
            String::from_utf8_lossy(&output.stderr),
            format!(
                "error: no database at {} (database.url = {url}); run this command from the \
                 directory where `latchkey serve` runs, pass --config or set \
                 LATCHKEY__DATABASE__URL, or create the database with `latchkey migrate`\n",
                path.display()
            )
        );
        assert!(!path.exists(), "{command:?} created {}", path.display());
    }
    assert!(latchkey(&envs, &["migrate"], None).status.success());
    assert!(path.exists());
    let listed = latchkey(&envs, &["user", "list", "--json"], None);
    assert_eq!(stdout_json(&listed), serde_json::json!([]));
}

backend_tests!(clients_and_users_made_with_the_cli_get_tokens);

async fn clients_and_users_made_with_the_cli_get_tokens(backend: Backend) {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let settings = test_settings(backend, dir.path());
    let key_file = settings.keys.master_key_file.to_str().unwrap().to_owned();
    let database_url = settings.database.url.clone();
    let envs = [
        ("LATCHKEY__DATABASE__URL", database_url.as_str()),
        ("LATCHKEY__KEYS__MASTER_KEY_FILE", key_file.as_str()),
        ("LATCHKEY__PASSWORDS__MEMORY_KIB", "1024"),
        ("LATCHKEY__PASSWORDS__ITERATIONS", "1"),
    ];
    let run = |args: &'static [&'static str], stdin: Option<&'static str>| {
        let envs = envs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<Vec<_>>();
        async move {
            tokio::task::spawn_blocking(move || {
                let envs: Vec<(&str, &str)> =
                    envs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                latchkey(&envs, args, stdin)
            })
            .await
            .unwrap()
        }
    };
    let migrated = run(&["migrate"], None).await;
    assert!(migrated.status.success(), "{migrated:?}");
    let user = stdout_json(
        &run(
            &[
                "user",
                "add",
                "heidi",
                "--email",
                "heidi@example.com",
                "--name",
                "Heidi",
                "--password-stdin",
                "--json",
            ],
            Some("heidi's password\n"),
        )
        .await,
    );
    assert_eq!(user["username"], "heidi");
    assert_eq!(user["has_password"], true);
    assert!(user.get("password_hash").is_none());
    let duplicate = run(
        &["user", "add", "heidi", "--password-stdin"],
        Some("another password\n"),
    )
    .await;
    assert_eq!(duplicate.status.code(), Some(1), "{:?}", duplicate.status);
    assert_eq!(
        String::from_utf8_lossy(&duplicate.stderr),
        "error: user `heidi` already exists\n"
    );
    let short = run(
        &["user", "passwd", "heidi", "--password-stdin"],
        Some("short\n"),
    )
    .await;
    assert_eq!(
        String::from_utf8_lossy(&short.stderr),
        "error: a password needs at least 10 characters\n"
    );
    let client = stdout_json(
        &run(
            &[
                "client",
                "add",
                "Portal",
                "--grant",
                "password",
                "--scope",
                "openid profile",
                "--json",
            ],
            None,
        )
        .await,
    );
    let secret = client["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(client["grant_types"], serde_json::json!(["password"]));
    let listed = stdout_json(&run(&["client", "list", "--json"], None).await);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert!(listed[0].get("client_secret").is_none());
    let bad = run(&["client", "add", "Bad", "--grant", "implicit"], None).await;
    assert_eq!(bad.status.code(), Some(2));
    let bad = run(
        &[
            "client",
            "add",
            "Bad",
            "--grant",
            "authorization_code",
            "--redirect-uri",
            "http://evil.example/cb",
        ],
        None,
    )
    .await;
    assert!(String::from_utf8_lossy(&bad.stderr).contains("uses http on a non-loopback host"));

    let app = TestApp::spawn_with(dir.clone(), settings).await;
    let portal = TestClient {
        id: client["client_id"].as_str().unwrap().to_owned(),
        secret: Some(secret),
    };
    let form = [
        ("grant_type", "password"),
        ("username", "heidi"),
        ("password", "heidi's password"),
    ];
    assert_eq!(app.token(&form, Some(&portal)).await.status(), 200);
    let keys = stdout_json(&run(&["keys", "list", "--json"], None).await);
    assert_eq!(keys[0]["state"], "active");
    assert_eq!(
        keys[0]["kid"],
        app.state.keys.load().active().unwrap().kid.as_str()
    );
    let listed = run(&["keys", "list"], None).await;
    let created = chrono::DateTime::from_timestamp(keys[0]["created_at"].as_i64().unwrap(), 0)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    assert!(
        String::from_utf8_lossy(&listed.stdout).contains(&format!("created {created}")),
        "keys list prints RFC 3339 dates: {listed:?}"
    );

    assert!(run(&["user", "disable", "heidi"], None)
        .await
        .status
        .success());
    assert_eq!(app.token(&form, Some(&portal)).await.status(), 400);
    assert!(run(&["user", "enable", "heidi"], None)
        .await
        .status
        .success());
    assert_eq!(app.token(&form, Some(&portal)).await.status(), 200);
    let rotated =
        stdout_json(&run_owned(&envs, &["client", "rotate-secret", &portal.id, "--json"]).await);
    // Another process changed the client: the server sees it within one change-poll interval.
    let stopped = crate::helpers::within(std::time::Duration::from_secs(2), || async {
        app.token(&form, Some(&portal)).await.status() == 401
    })
    .await;
    assert!(stopped.is_some(), "the old secret kept working");
    let portal = TestClient {
        id: portal.id.clone(),
        secret: Some(rotated["client_secret"].as_str().unwrap().to_owned()),
    };
    assert_eq!(app.token(&form, Some(&portal)).await.status(), 200);
    assert!(run(&["user", "remove", "heidi"], None)
        .await
        .status
        .success());
    assert_eq!(app.token(&form, Some(&portal)).await.status(), 400);
    assert!(run_owned(&envs, &["client", "remove", &portal.id])
        .await
        .status
        .success());
    let refused = crate::helpers::within(std::time::Duration::from_secs(2), || async {
        app.token(&form, Some(&portal)).await.status() == 401
    })
    .await;
    assert!(refused.is_some(), "the removed client kept working");
}

pub(crate) async fn run_owned(envs: &[(&str, &str)], args: &[&str]) -> Output {
    let envs: Vec<(String, String)> = envs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let envs: Vec<(&str, &str)> = envs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        latchkey(&envs, &args, None)
    })
    .await
    .unwrap()
}

#[test]
fn the_image_build_context_leaves_out_build_output_and_the_master_key() {
    let ignored = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/.dockerignore"))
        .expect(".dockerignore beside the Dockerfile");
    let lines: Vec<&str> = ignored.lines().map(str::trim).collect();
    for needed in ["target/", "keys/*", "data/", "*.db"] {
        assert!(
            lines.contains(&needed),
            "{needed} is sent to the image build"
        );
    }
}
