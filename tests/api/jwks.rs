//! The JWKS (RFC 7517): public members only, `kid` = RFC 7638 thumbprint, caching headers.

use serde_json::Value;

use crate::backend_tests;
use crate::helpers::{thumbprint, Backend, TestApp};

backend_tests!(
    the_jwks_publishes_public_rsa_keys_with_thumbprint_kids,
    a_matching_etag_gets_304_not_modified
);

async fn the_jwks_publishes_public_rsa_keys_with_thumbprint_kids(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let response = app.get("/jwks").await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["cache-control"].to_str().unwrap(),
        "public, max-age=300"
    );
    assert!(response.headers().contains_key("etag"));
    let jwks: Value = response.json().await.unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    let key = keys[0].as_object().unwrap();
    let mut members: Vec<&str> = key.keys().map(String::as_str).collect();
    members.sort_unstable();
    assert_eq!(members, ["alg", "e", "kid", "kty", "n", "use"]);
    assert_eq!(key["kty"], "RSA");
    assert_eq!(key["use"], "sig");
    assert_eq!(key["alg"], "RS256");
    assert_eq!(key["e"], "AQAB");
    let expected = thumbprint(key["n"].as_str().unwrap(), key["e"].as_str().unwrap());
    assert_eq!(key["kid"], expected.as_str());
    // 2048-bit modulus: 256 bytes, 342 base64url characters.
    assert_eq!(key["n"].as_str().unwrap().len(), 342);
}

async fn a_matching_etag_gets_304_not_modified(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let first = app.get("/jwks").await;
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    let cached = app
        .http
        .get(app.url("/jwks"))
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(cached.status(), 304);
    assert_eq!(cached.headers()["etag"].to_str().unwrap(), etag);
    assert!(cached.bytes().await.unwrap().is_empty());
    let stale = app
        .http
        .get(app.url("/jwks"))
        .header("If-None-Match", "\"something-else\"")
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 200);
}
