//! The README's snippets keep working: the Rust token verification is `examples/verify_token.rs`
//! word for word, and that example verifies a real access token and refuses an ID token.

#[allow(dead_code)]
#[path = "../../examples/verify_token.rs"]
mod verify_token;

use crate::backend_tests;
use crate::helpers::{Backend, TestApp};

backend_tests!(the_readme_rust_snippet_verifies_an_access_token_and_refuses_an_id_token);

const README: &str = include_str!("../../README.md");
const EXAMPLE: &str = include_str!("../../examples/verify_token.rs");

#[test]
fn the_readme_rust_snippet_is_the_tested_example() {
    let section = README
        .split_once("In Rust with the `jsonwebtoken` crate")
        .expect("the Rust verification section")
        .1;
    let snippet = section
        .split_once("```rust\n")
        .and_then(|(_, rest)| rest.split_once("```"))
        .expect("a rust code block")
        .0;
    assert!(snippet.lines().count() > 20, "{snippet}");
    assert!(
        EXAMPLE.contains(snippet.trim()),
        "README.md's Rust snippet differs from examples/verify_token.rs:\n{snippet}"
    );
}

async fn the_readme_rust_snippet_verifies_an_access_token_and_refuses_an_id_token(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    // jsonwebtoken checks `exp` against the real clock: never let the test clock lag behind it.
    let real_now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    if real_now > app.clock_now() {
        app.clock.advance(real_now - app.clock_now());
    }
    app.user("ursula", "ursula's password").await;
    let client = app.password_client().await;
    let form = [
        ("grant_type", "password"),
        ("username", "ursula"),
        ("password", "ursula's password"),
        ("scope", "openid profile"),
    ];
    let tokens: serde_json::Value = app.token(&form, Some(&client)).await.json().await.unwrap();
    let access_token = tokens["access_token"].as_str().unwrap();
    let claims = verify_token::verify(&app.address, access_token)
        .await
        .unwrap();
    assert_eq!(claims["scope"], "openid profile");
    assert_eq!(claims["client_id"], client.id.as_str());
    let id_token = tokens["id_token"].as_str().unwrap();
    let refused = verify_token::verify(&app.address, id_token)
        .await
        .unwrap_err();
    assert_eq!(refused.to_string(), "not an access token");
}
