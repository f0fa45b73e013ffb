//! OpenTelemetry trace export: with `telemetry.otlp_endpoint` set, the real binary sends its
//! request spans to `{endpoint}/v1/traces` as OTLP/HTTP protobuf.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use crate::backend_tests;
use crate::helpers::Backend;
use crate::shutdown::{serve, signal, BinaryEnv};

backend_tests!(request_spans_are_exported_to_an_otlp_collector);

/// One request the fake collector received: its request line, content type and body.
#[derive(Debug, Clone)]
struct Received {
    line: String,
    content_type: String,
    body: Vec<u8>,
}

/// A collector that answers every request with 200 and keeps what it received.
fn collector() -> (String, Arc<Mutex<Vec<Received>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let received = Arc::new(Mutex::new(Vec::new()));
    let kept = Arc::clone(&received);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let (mut length, mut content_type) = (0, String::new());
            loop {
                let mut header = String::new();
                reader.read_line(&mut header).unwrap();
                if header.trim().is_empty() {
                    break;
                }
                let (name, value) = header.split_once(':').unwrap();
                match name.to_ascii_lowercase().as_str() {
                    "content-length" => length = value.trim().parse().unwrap(),
                    "content-type" => content_type = value.trim().to_owned(),
                    _ => {}
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            kept.lock().unwrap().push(Received {
                line: line.trim().to_owned(),
                content_type,
                body,
            });
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        }
    });
    (url, received)
}

async fn request_spans_are_exported_to_an_otlp_collector(backend: Backend) {
    let (endpoint, received) = collector();
    let dir = tempfile::tempdir().unwrap();
    let env = BinaryEnv::new(backend, dir.path(), "http")
        .with("LATCHKEY__SERVER__WORKERS", "1")
        .with("LATCHKEY__TELEMETRY__OTLP_ENDPOINT", &endpoint)
        .with("LATCHKEY__TELEMETRY__SERVICE_NAME", "latchkey-under-test");
    let (envs, base) = (env.pairs(), &env.base);
    let http = reqwest::Client::new();
    let log_path = dir.path().join("serve.log");
    let server = serve(&envs, &log_path, &http, base).await;
    for path in ["/healthz", "/.well-known/openid-configuration", "/jwks"] {
        let r = http
            .get(format!("{base}{path}"))
            .header("X-Request-Id", "traced-request-1")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    // Stopping flushes what the batch has not sent yet.
    signal(&server, "-TERM");
    let holds = |needle: &[u8]| {
        let received = received.lock().unwrap();
        received
            .iter()
            .any(|r| r.body.windows(needle.len()).any(|w| w == needle))
    };
    let exported = crate::helpers::within(std::time::Duration::from_secs(20), || async {
        holds(b"traced-request-1")
    })
    .await;
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(exported.is_some(), "no span reached the collector\n{log}");
    let all = received.lock().unwrap().clone();
    let post = all.iter().find(|r| !r.body.is_empty()).unwrap();
    assert_eq!(post.line, "POST /v1/traces HTTP/1.1");
    assert_eq!(post.content_type, "application/x-protobuf");
    // The resource's service name and the request span with its attributes.
    assert!(holds(b"latchkey-under-test"));
    assert!(holds(b"request_id"));
    assert!(holds(b"127.0.0.1"));
}
