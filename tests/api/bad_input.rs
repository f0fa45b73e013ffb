//! Bad input at the token endpoint: every case gets a clear 4xx in RFC 6749 JSON form, never a
//! 500 or a panic, and the server keeps serving afterwards.

use base64::Engine;

use crate::backend_tests;
use crate::helpers::{assert_error, Backend, TestApp};

const FORM: &str = "application/x-www-form-urlencoded";

backend_tests!(bad_input_is_answered_in_rfc6749_form_and_the_server_keeps_serving);

async fn bad_input_is_answered_in_rfc6749_form_and_the_server_keeps_serving(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = app.service_client().await;
    let basic = |raw: &str| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        )
    };

    // A JSON body.
    let r = app
        .token_raw(
            r#"{"grant_type":"client_credentials"}"#,
            "application/json",
            &[],
        )
        .await;
    assert_error(
        r,
        400,
        "invalid_request",
        "The request body must be application/x-www-form-urlencoded",
    )
    .await;

    // No content type at all.
    let r = app
        .http
        .post(app.url("/token"))
        .body("grant_type=password")
        .send()
        .await
        .unwrap();
    assert_error(
        r,
        400,
        "invalid_request",
        "The request body must be application/x-www-form-urlencoded",
    )
    .await;

    // A malformed form body: no `=` anywhere, so no grant_type.
    let r = app.token_raw("grant_type", FORM, &[]).await;
    assert_error(
        r,
        400,
        "invalid_request",
        "Missing required parameter `grant_type`",
    )
    .await;

    // An empty body.
    let r = app.token_raw("", FORM, &[]).await;
    assert_error(
        r,
        400,
        "invalid_request",
        "Missing required parameter `grant_type`",
    )
    .await;

    // Repeated parameters (RFC 6749 §3.2).
    let r = app
        .token_raw(
            "grant_type=client_credentials&grant_type=password",
            FORM,
            &[],
        )
        .await;
    assert_error(
        r,
        400,
        "invalid_request",
        "Parameter `grant_type` is repeated",
    )
    .await;

    // An unknown grant type.
    let r = app
        .token_raw("grant_type=urn%3Aexample%3Amagic", FORM, &[])
        .await;
    assert_error(
        r,
        400,
        "unsupported_grant_type",
        "The grant type `urn:example:magic` is not supported",
    )
    .await;

    // Invalid UTF-8 after percent-decoding, and raw.
    let r = app.token_raw("grant_type=%FF%FE", FORM, &[]).await;
    assert_error(
        r,
        400,
        "invalid_request",
        "The request contains invalid UTF-8",
    )
    .await;
    let r = app
        .token_raw(b"grant_type=\xff\xfe".to_vec(), FORM, &[])
        .await;
    assert_error(
        r,
        400,
        "invalid_request",
        "The request contains invalid UTF-8",
    )
    .await;

    // A NUL byte, which PostgreSQL cannot store.
    let r = app
        .token_raw("grant_type=password&username=a%00b&password=x", FORM, &[])
        .await;
    assert_error(
        r,
        400,
        "invalid_request",
        "The request contains a NUL character",
    )
    .await;

    // A 10 kB parameter value.
    let long = format!("grant_type=password&username={}", "a".repeat(10_000));
    let r = app.token_raw(long, FORM, &[]).await;
    assert_error(
        r,
        400,
        "invalid_request",
        "Parameter `username` is too long",
    )
    .await;

    // An oversized body: 413 in the endpoint's own format.
    let huge = format!("grant_type=password&x={}", "a".repeat(40_000));
    let r = app.token_raw(huge, FORM, &[]).await;
    assert_error(
        r,
        413,
        "invalid_request",
        "The request body exceeds 16384 bytes",
    )
    .await;

    // A Basic header that is not base64.
    let r = app
        .token_raw(
            "grant_type=client_credentials",
            FORM,
            &[("Authorization", "Basic %%%not-base64%%%")],
        )
        .await;
    assert_error(
        r,
        401,
        "invalid_client",
        "The Basic credentials are not valid base64",
    )
    .await;

    // A Basic header without a colon.
    let r = app
        .token_raw(
            "grant_type=client_credentials",
            FORM,
            &[("Authorization", &basic("just-an-id"))],
        )
        .await;
    assert_error(
        r,
        401,
        "invalid_client",
        "The Basic credentials lack a colon",
    )
    .await;

    // Another authentication scheme.
    let r = app
        .token_raw(
            "grant_type=client_credentials",
            FORM,
            &[("Authorization", "Bearer abc")],
        )
        .await;
    assert_error(
        r,
        401,
        "invalid_client",
        "Only the Basic authentication scheme is supported",
    )
    .await;

    // Two authentication methods at once (RFC 6749 §2.3).
    let both = format!(
        "grant_type=client_credentials&client_secret={}",
        client.secret.as_deref().unwrap()
    );
    let header = basic(&format!(
        "{}:{}",
        client.id,
        client.secret.as_deref().unwrap()
    ));
    let r = app
        .token_raw(both, FORM, &[("Authorization", &header)])
        .await;
    assert_error(
        r,
        400,
        "invalid_request",
        "Client credentials were sent both in the Authorization header and in the body",
    )
    .await;

    // Missing password-grant parameters.
    let r = app
        .token_raw(
            "grant_type=password&username=alice",
            FORM,
            &[("Authorization", &header)],
        )
        .await;
    assert_error(
        r,
        400,
        "invalid_request",
        "Missing required parameter `password`",
    )
    .await;

    // A malformed scope.
    let r = app
        .token_raw(
            "grant_type=client_credentials&scope=a%20%20b",
            FORM,
            &[("Authorization", &header)],
        )
        .await;
    assert_error(
        r,
        400,
        "invalid_scope",
        "The scope is malformed: scope contains a character not allowed by RFC 6749 §3.3",
    )
    .await;

    // The wrong method on the endpoint.
    let r = app.get("/token").await;
    assert_eq!(r.status(), 405);

    // After all that, the server still issues tokens.
    let r = app
        .token(&[("grant_type", "client_credentials")], Some(&client))
        .await;
    assert_eq!(r.status(), 200);
}
