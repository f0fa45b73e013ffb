//! Verifying a Latchkey access token offline in a Rust backend (RFC 9068, RFC 7517, OIDC
//! Discovery 1.0 §4): the code the README shows, compiled with the crate and run against a real
//! server by the integration tests (`tests/api/readme.rs`).
//!
//! `cargo run --example verify_token -- ISSUER ACCESS_TOKEN`
//!
//! Dependencies: `jsonwebtoken = { version = "10", features = ["rust_crypto"] }` (version 10 needs
//! one crypto backend, `rust_crypto` or `aws_lc_rs`; without one it fails at run time with "Could
//! not automatically determine the process-level CryptoProvider"), `reqwest = { version = "0.12",
//! features = ["json"] }`, `serde_json`, `anyhow`, `tokio = { version = "1", features = ["full"] }`.

use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde_json::Value;

/// Verifies `token` against `issuer`'s published keys and returns its claims.
pub async fn verify(issuer: &str, token: &str) -> anyhow::Result<Value> {
    let discovery_uri = format!("{issuer}/.well-known/openid-configuration");
    let discovery: Value = reqwest::get(discovery_uri).await?.json().await?;
    let jwks_uri = discovery["jwks_uri"].as_str().unwrap_or_default();
    let jwks: Value = reqwest::get(jwks_uri).await?.json().await?;
    let header = decode_header(token)?;
    anyhow::ensure!(
        header.typ.as_deref() == Some("at+jwt"),
        "not an access token"
    );
    let key = jwks["keys"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|k| k["kid"].as_str() == header.kid.as_deref())
        .ok_or_else(|| anyhow::anyhow!("unknown kid: refresh the JWKS"))?;
    let part = |name: &str| key[name].as_str().unwrap_or_default();
    // The algorithm comes from the key Latchkey published, never from the token's header.
    let (key, alg) = match key["alg"].as_str() {
        Some("RS256") => (
            DecodingKey::from_rsa_components(part("n"), part("e"))?,
            Algorithm::RS256,
        ),
        Some("ES256") => (
            DecodingKey::from_ec_components(part("x"), part("y"))?,
            Algorithm::ES256,
        ),
        Some("EdDSA") => (
            DecodingKey::from_ed_components(part("x"))?,
            Algorithm::EdDSA,
        ),
        other => anyhow::bail!("unexpected key algorithm {other:?}"),
    };
    let mut validation = Validation::new(alg);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[issuer]);
    Ok(decode::<Value>(token, &key, &validation)?.claims)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(issuer), Some(token)) = (args.next(), args.next()) else {
        anyhow::bail!("usage: verify_token ISSUER ACCESS_TOKEN");
    };
    let claims = verify(&issuer, &token).await?;
    let scopes: Vec<&str> = claims["scope"].as_str().unwrap_or("").split(' ').collect();
    println!("{} may use {scopes:?}", claims["sub"]);
    Ok(())
}
