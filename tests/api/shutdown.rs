//! Graceful shutdown of the real binary: SIGTERM while requests are in flight stops accepting new
//! connections, lets those requests finish, and exits 0.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::backend_tests;
use crate::cli::{latchkey, stdout_json};
use crate::helpers::{fresh_database, Backend};

backend_tests!(sigterm_lets_requests_in_flight_finish_and_exits_zero);

/// Kills the server if the test fails before it exits by itself.
pub struct Server(pub Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts `latchkey serve` with `envs`, logging to `log`, and waits until `base`/healthz answers.
pub async fn serve(
    envs: &[(&str, &str)],
    log: &std::path::Path,
    http: &reqwest::Client,
    base: &str,
) -> Server {
    let log = std::fs::File::create(log).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_latchkey"));
    command
        .arg("serve")
        .env_remove("LATCHKEY_CONFIG")
        .env_remove("LATCHKEY_MASTER_KEY")
        .stdout(Stdio::null())
        .stderr(Stdio::from(log));
    for (k, v) in envs {
        command.env(k, v);
    }
    let server = Server(command.spawn().unwrap());
    let started = Instant::now();
    loop {
        let up = http.get(format!("{base}/healthz")).send().await;
        if up.is_ok_and(|r| r.status() == 200) {
            return server;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "server never came up"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The environment of a real `latchkey` process on a free loopback port over a fresh database in
/// `dir`, with cheap argon2 and `info` logs; [`Self::with`] adds or overrides variables.
pub struct BinaryEnv {
    pub bind: String,
    /// `scheme://127.0.0.1:PORT`, also the issuer.
    pub base: String,
    vars: Vec<(String, String)>,
}

impl BinaryEnv {
    pub fn new(backend: Backend, dir: &std::path::Path, scheme: &str) -> Self {
        let port = free_port();
        let bind = format!("127.0.0.1:{port}");
        let base = format!("{scheme}://{bind}");
        let vars = [
            ("LATCHKEY__DATABASE__URL", fresh_database(backend, dir)),
            (
                "LATCHKEY__KEYS__MASTER_KEY_FILE",
                dir.join("master.key").display().to_string(),
            ),
            ("LATCHKEY__SERVER__BIND", bind.clone()),
            ("LATCHKEY__ISSUER", base.clone()),
            ("LATCHKEY__PASSWORDS__MEMORY_KIB", "1024".into()),
            ("LATCHKEY__PASSWORDS__ITERATIONS", "1".into()),
            ("LATCHKEY__LOG__LEVEL", "info".into()),
        ];
        Self {
            bind,
            base,
            vars: vars.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
        }
    }

    pub fn with(mut self, key: &str, value: &str) -> Self {
        self.vars.retain(|(k, _)| k != key);
        self.vars.push((key.to_owned(), value.to_owned()));
        self
    }

    pub fn pairs(&self) -> Vec<(&str, &str)> {
        self.vars
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }
}

/// Sends `signal` (`-TERM`, `-HUP`) to the server.
pub fn signal(server: &Server, signal: &str) {
    let pid = server.0.id().to_string();
    let sent = Command::new("kill").args([signal, &pid]).status().unwrap();
    assert!(sent.success());
}

async fn sigterm_lets_requests_in_flight_finish_and_exits_zero(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let env = BinaryEnv::new(backend, dir.path(), "http")
        .with("LATCHKEY__SERVER__WORKERS", "2")
        .with("LATCHKEY__SERVER__SHUTDOWN_GRACE_SECS", "10");
    let (envs, bind, issuer) = (env.pairs(), &env.bind, &env.base);
    let migrated = latchkey(&envs, &["migrate"], None);
    assert!(migrated.status.success(), "{migrated:?}");
    let added = latchkey(
        &envs,
        &[
            "--json",
            "client",
            "add",
            "svc",
            "--grant",
            "client_credentials",
        ],
        None,
    );
    let client = stdout_json(&added);
    let basic = STANDARD.encode(format!(
        "{}:{}",
        client["client_id"].as_str().unwrap(),
        client["client_secret"].as_str().unwrap()
    ));
    let http = reqwest::Client::new();
    let mut server = serve(&envs, &dir.path().join("serve.log"), &http, issuer).await;

    // Three token requests in flight: headers and half of each body sent.
    let body = "grant_type=client_credentials";
    let mut in_flight = Vec::new();
    for _ in 0..3 {
        let mut conn = TcpStream::connect(bind).await.unwrap();
        let head = format!(
            "POST /token HTTP/1.1\r\nHost: {bind}\r\nAuthorization: Basic {basic}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{}",
            body.len(),
            &body[..12]
        );
        conn.write_all(head.as_bytes()).await.unwrap();
        in_flight.push(conn);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    signal(&server, "-TERM");
    // Longer than actix's one-second shutdown poll, so a missing grace period would show.
    tokio::time::sleep(Duration::from_millis(1500)).await;

    // No new connection is accepted…
    assert!(
        TcpStream::connect(bind).await.is_err(),
        "the server still accepts connections after SIGTERM"
    );
    // …and every request in flight completes.
    for mut conn in in_flight {
        conn.write_all(&body.as_bytes()[12..]).await.unwrap();
        let mut response = String::new();
        tokio::time::timeout(Duration::from_secs(10), conn.read_to_string(&mut response))
            .await
            .expect("the response arrives within the grace period")
            .unwrap();
        assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
        assert!(response.contains(r#""access_token":""#), "{response}");
    }
    let started = Instant::now();
    let status = loop {
        if let Some(status) = server.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "the server did not exit after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let log = std::fs::read_to_string(dir.path().join("serve.log")).unwrap();
    assert_eq!(status.code(), Some(0), "{log}");
    assert!(
        log.contains("server stopped; stopping background tasks"),
        "{log}"
    );
}
