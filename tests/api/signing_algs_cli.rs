//! Signing algorithms from the CLI: `client add|update --access-token-alg`, `keys rotate --alg`,
//! `keys list` with each key's algorithm.

use latchkey::domain::signing_alg::SigningAlg;
use serde_json::{json, Value};

use crate::backend_tests;
use crate::helpers::{Backend, TestClient};
use crate::signing_algs::service_token;
use crate::signing_algs_rotation::{active_kid, spawn_small};

backend_tests!(the_cli_chooses_client_algorithms_and_rotates_one_algorithm);

async fn the_cli_chooses_client_algorithms_and_rotates_one_algorithm(backend: Backend) {
    let app = spawn_small(backend, &SigningAlg::ALL).await;
    let settings = &app.state.settings;
    let envs: Vec<(String, String)> = vec![
        (
            "LATCHKEY__DATABASE__URL".into(),
            settings.database.url.clone(),
        ),
        (
            "LATCHKEY__KEYS__MASTER_KEY_FILE".into(),
            settings.keys.master_key_file.to_str().unwrap().to_owned(),
        ),
        (
            "LATCHKEY__KEYS__ALGORITHMS".into(),
            r#"["RS256","ES256","EdDSA"]"#.into(),
        ),
    ];
    let cli = |args: Vec<String>| {
        let envs = envs.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                std::process::Command::new(env!("CARGO_BIN_EXE_latchkey"))
                    .args(args)
                    .env_remove("LATCHKEY_CONFIG")
                    .env_remove("LATCHKEY_MASTER_KEY")
                    .envs(envs)
                    .output()
                    .expect("run latchkey")
            })
            .await
            .unwrap()
        }
    };
    let json = |output: std::process::Output| -> Value {
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).expect("JSON on stdout")
    };
    let args = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let added = json(
        cli(args(&[
            "client",
            "add",
            "svc",
            "--grant",
            "client_credentials",
            "--scope",
            "api:read",
            "--access-token-alg",
            "ES256",
            "--json",
        ]))
        .await,
    );
    assert_eq!(added["access_token_alg"], "ES256");
    assert_eq!(added["id_token_signed_response_alg"], Value::Null);
    let id = added["client_id"].as_str().unwrap().to_owned();
    let client = TestClient {
        id: id.clone(),
        secret: added["client_secret"].as_str().map(str::to_owned),
    };
    let token = service_token(&app, &client).await;
    let (header, _) = app.verify(&token, &app.address).await;
    assert_eq!(header.alg, jsonwebtoken::Algorithm::ES256);

    let updated = json(
        cli(args(&[
            "client",
            "update",
            &id,
            "--access-token-alg",
            "EdDSA",
            "--json",
        ]))
        .await,
    );
    assert_eq!(updated["access_token_alg"], "EdDSA");
    // The CLI is another process: the server sees the change within one change-poll interval.
    let switched = crate::helpers::within(std::time::Duration::from_secs(2), || async {
        let (header, _) = app
            .verify(&service_token(&app, &client).await, &app.address)
            .await;
        header.alg == jsonwebtoken::Algorithm::EdDSA
    })
    .await;
    assert!(switched.is_some(), "tokens kept their old algorithm");
    let cleared = json(
        cli(args(&[
            "client",
            "update",
            &id,
            "--access-token-alg",
            "default",
            "--json",
        ]))
        .await,
    );
    assert_eq!(cleared["access_token_alg"], Value::Null);

    let refused = cli(args(&[
        "client",
        "update",
        &id,
        "--access-token-alg",
        "ES384",
    ]))
    .await;
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr)
        .contains("signing algorithm `ES384` is not supported (supported: RS256, ES256, EdDSA)"));

    let es256 = active_kid(&app, SigningAlg::ES256).unwrap();
    let rotated = json(
        cli(args(&[
            "keys",
            "rotate",
            "--alg",
            "ES256",
            "--immediately",
            "--json",
        ]))
        .await,
    );
    assert_eq!(rotated["retired"], json!([es256]));
    assert_eq!(rotated["published"], rotated["activated"]);
    let listed = json(cli(args(&["keys", "list", "--json"])).await);
    let mut seen: Vec<(String, String, i64)> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["alg"].as_str().unwrap().to_owned(),
                k["state"].as_str().unwrap().to_owned(),
                k["bits"].as_i64().unwrap(),
            )
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        vec![
            ("ES256".into(), "active".into(), 256),
            ("ES256".into(), "retired".into(), 256),
            ("EdDSA".into(), "active".into(), 256),
            ("RS256".into(), "active".into(), 2048),
        ]
    );
    // An algorithm that is not configured cannot be rotated.
    let mut only_rs256 = envs.clone();
    only_rs256.retain(|(k, _)| k != "LATCHKEY__KEYS__ALGORITHMS");
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_latchkey"))
            .args(["keys", "rotate", "--alg", "EdDSA"])
            .env_remove("LATCHKEY_CONFIG")
            .env_remove("LATCHKEY_MASTER_KEY")
            .envs(only_rs256)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains("signing algorithm `EdDSA` is not configured (keys.algorithms: RS256)"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
