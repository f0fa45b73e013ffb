//! JWT signing (RFC 7515 compact serialisation; RS256, ES256 and EdDSA, RFC 7518 §3 and RFC 8037
//! §3.1) through josekit and OpenSSL, which signs in constant time; the `rsa` crate never signs
//! (RUSTSEC-2023-0071). Verification picks the published key by `kid` and accepts only that key's
//! own algorithm, whatever the header claims (RFC 8725 §3.1).

use josekit::jws::JwsHeader;
use serde::Serialize;

use super::keys::{ActiveKey, KeySet};

/// `typ` of access tokens, RFC 9068 §2.1.
pub const TYP_ACCESS_TOKEN: &str = "at+jwt";
/// `typ` of ID tokens.
pub const TYP_JWT: &str = "JWT";

#[derive(Debug, thiserror::Error)]
pub enum JwtError {
    #[error("claims could not be serialised: {0}")]
    Claims(#[from] serde_json::Error),
    #[error("signing failed: {0}")]
    Sign(#[from] josekit::JoseError),
    #[error("the token is not a valid JWT signed by a published key")]
    Invalid,
    #[error("the token has the wrong type")]
    WrongType,
}

/// Signs `claims` with `key`; the header carries its `alg` and `kid`, and `typ`.
pub fn sign<C: Serialize>(key: &ActiveKey, typ: &str, claims: &C) -> Result<String, JwtError> {
    let payload = serde_json::to_vec(claims)?;
    let mut header = JwsHeader::new();
    header.set_token_type(typ);
    Ok(josekit::jws::serialize_compact(
        &payload,
        &header,
        key.signer(),
    )?)
}

/// Verifies a compact JWS against the published keys (by `kid`, with the header's `alg` equal to
/// that key's algorithm) and its `typ`; returns the payload bytes. Claims are checked by the
/// caller.
pub fn verify(keys: &KeySet, token: &str, typ: &str) -> Result<Vec<u8>, JwtError> {
    if token.len() > 8192 || token.split('.').count() != 3 {
        return Err(JwtError::Invalid);
    }
    let (payload, header) = josekit::jws::deserialize_compact_with_selector(token, |header| {
        let verifier = header
            .key_id()
            .and_then(|kid| keys.verifier(kid))
            .filter(|(alg, _)| header.algorithm() == Some(alg.as_str()))
            .map(|(_, verifier)| verifier);
        Ok(verifier)
    })
    .map_err(|_| JwtError::Invalid)?;
    let typ_ok = header.token_type().is_some_and(|t| {
        t.eq_ignore_ascii_case(typ) || t.eq_ignore_ascii_case(&format!("application/{typ}"))
    });
    if !typ_ok {
        return Err(JwtError::WrongType);
    }
    Ok(payload)
}
