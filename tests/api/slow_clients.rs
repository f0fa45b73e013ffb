//! Slow clients holding connections: a body trickled in byte by byte is cut off with 408 and the
//! connection closed, instead of holding a descriptor for ever.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::backend_tests;
use crate::helpers::{test_settings, Backend, TestApp};

backend_tests!(a_body_trickled_byte_by_byte_gets_408_and_the_connection_is_closed);

async fn a_body_trickled_byte_by_byte_gets_408_and_the_connection_is_closed(backend: Backend) {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let mut settings = test_settings(backend, dir.path());
    settings.server.body_timeout_secs = 1;
    let app = TestApp::spawn_with(dir, settings).await;
    let address = app.address.trim_start_matches("http://").to_owned();
    let mut slow = tokio::net::TcpStream::connect(&address).await.unwrap();
    slow.write_all(
        b"POST /token HTTP/1.1\r\nHost: latchkey\r\n\
          Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n",
    )
    .await
    .unwrap();
    let started = Instant::now();
    let trickle = async {
        for byte in b"grant_type=client_credentials" {
            if slow.write_all(&[*byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(3), trickle).await;
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), slow.read_to_end(&mut answer))
        .await
        .expect("the server closes the connection")
        .ok();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.ends_with(
            r#"{"error":"invalid_request","error_description":"The request body did not arrive in time"}"#
        ),
        "{answer}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    // Everyone else is served as usual.
    assert_eq!(app.get("/healthz").await.status(), 200);
}
