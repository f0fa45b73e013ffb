//! Liveness, readiness and metrics.

use crate::backend_tests;
use crate::helpers::{Backend, TestApp};

backend_tests!(health_readiness_and_metrics_report_the_truth);

async fn health_readiness_and_metrics_report_the_truth(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let r = app.get("/healthz").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), r#"{"status":"ok"}"#);
    let r = app.get("/readyz").await;
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        body,
        serde_json::json!({"status": "ready", "database": true, "signing_key": true})
    );
    let client = app.service_client().await;
    assert_eq!(
        app.token(&[("grant_type", "client_credentials")], Some(&client))
            .await
            .status(),
        200
    );
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains(r#"latchkey_tokens_issued_total{grant_type="client_credentials"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"latchkey_http_requests_total{endpoint="/token",status="2xx"} 1"#),
        "{metrics}"
    );
    let r = app.get("/no/such/path").await;
    assert_eq!(r.status(), 404);
    assert_eq!(r.headers()["x-frame-options"], "DENY");
}
