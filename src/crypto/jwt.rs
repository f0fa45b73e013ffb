//! JWT signing (RFC 7515 compact serialisation, RS256) through josekit and OpenSSL, which signs in
//! constant time; the `rsa` crate never signs (RUSTSEC-2023-0071).

use josekit::jws::JwsHeader;
use serde::Serialize;

use super::keys::ActiveKey;

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
}

/// Signs `claims` with the active key; the header carries `alg`, `kid` and `typ`.
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
