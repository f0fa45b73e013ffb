//! Key material per algorithm (DESIGN.md §5): generation (RSA with the `rsa` crate, P-256 and
//! Ed25519 through josekit and OpenSSL), the RFC 7638 thumbprint that is each key's `kid`, the
//! public JWK (RFC 7517 §4, RFC 7518 §6, RFC 8037 §2) and the signer and verifier of a stored key.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use josekit::jwk::alg::ed::EdCurve;
use josekit::jwk::{Jwk, KeyPair};
use josekit::jws::{EdDSA, JwsSigner, JwsVerifier, ES256, RS256};
use rsa::pkcs8::EncodePrivateKey;
use rsa::traits::PublicKeyParts;
use rsa::RsaPrivateKey;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::alg::SigningAlg;
use super::KeyError;
use crate::db::models::SigningKeyRow;

/// A freshly generated key: its public parts as stored, and the PKCS#8 DER of the private key.
pub struct Generated {
    pub kid: String,
    /// RSA modulus and exponent (big-endian); empty for other key types.
    pub public_n: Vec<u8>,
    pub public_e: Vec<u8>,
    /// For EC and OKP keys: the RFC 7638 canonical public JWK (`crv`, `kty`, `x`[, `y`]).
    pub public_jwk: Option<String>,
    pub der: Zeroizing<Vec<u8>>,
}

/// RFC 7638 thumbprint of an RSA public key: SHA-256 over `{"e":…,"kty":"RSA","n":…}`.
pub fn thumbprint(n: &[u8], e: &[u8]) -> String {
    let canonical = format!(
        r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
        URL_SAFE_NO_PAD.encode(e),
        URL_SAFE_NO_PAD.encode(n)
    );
    thumbprint_of(&canonical)
}

/// SHA-256 of an RFC 7638 canonical JWK (required members only, sorted, no whitespace).
fn thumbprint_of(canonical: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

/// The RFC 7638 canonical form of an EC or OKP public key from its JWK members.
fn canonical(jwk: &Jwk, alg: SigningAlg) -> Result<String, KeyError> {
    let member = |name: &str| {
        jwk.parameter(name)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| KeyError::Generate(format!("generated {alg} key has no `{name}`")))
    };
    let x = member("x")?;
    Ok(match alg {
        SigningAlg::ES256 => {
            let y = member("y")?;
            format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#)
        }
        _ => format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#),
    })
}

/// Generates a key for `alg`.
pub fn generate(alg: SigningAlg, rsa_bits: usize) -> Result<Generated, KeyError> {
    let failed = |e: &dyn std::fmt::Display| KeyError::Generate(format!("{alg}: {e}"));
    let (jwk, der) = match alg {
        SigningAlg::RS256 => {
            let key =
                RsaPrivateKey::new(&mut rand::rngs::OsRng, rsa_bits).map_err(|e| failed(&e))?;
            let (n, e) = (key.n().to_bytes_be(), key.e().to_bytes_be());
            let der = key.to_pkcs8_der().map_err(|e| failed(&e))?;
            return Ok(Generated {
                kid: thumbprint(&n, &e),
                public_n: n,
                public_e: e,
                public_jwk: None,
                der: Zeroizing::new(der.as_bytes().to_vec()),
            });
        }
        SigningAlg::ES256 => {
            let pair = ES256.generate_key_pair().map_err(|e| failed(&e))?;
            (pair.to_jwk_public_key(), pair.to_der_private_key())
        }
        SigningAlg::EdDSA => {
            let pair = EdDSA
                .generate_key_pair(EdCurve::Ed25519)
                .map_err(|e| failed(&e))?;
            (pair.to_jwk_public_key(), pair.to_der_private_key())
        }
    };
    let canonical = canonical(&jwk, alg)?;
    Ok(Generated {
        kid: thumbprint_of(&canonical),
        public_n: Vec::new(),
        public_e: Vec::new(),
        public_jwk: Some(canonical),
        der: Zeroizing::new(der),
    })
}

/// The algorithm a stored row signs with.
pub fn row_alg(row: &SigningKeyRow) -> Result<SigningAlg, KeyError> {
    row.alg.parse().map_err(|reason| KeyError::Unusable {
        kid: row.kid.clone(),
        reason,
    })
}

/// The public JWK of a stored key as published: key members plus `use`, `alg` and `kid`.
pub fn public_jwk(row: &SigningKeyRow, alg: SigningAlg) -> Result<Map<String, Value>, KeyError> {
    let unusable = |reason: String| KeyError::Unusable {
        kid: row.kid.clone(),
        reason,
    };
    let mut members = match (alg, &row.public_jwk) {
        (SigningAlg::RS256, _) => {
            let mut m = Map::new();
            m.insert("kty".into(), "RSA".into());
            m.insert("n".into(), URL_SAFE_NO_PAD.encode(&row.public_n).into());
            m.insert("e".into(), URL_SAFE_NO_PAD.encode(&row.public_e).into());
            m
        }
        (_, Some(json)) => serde_json::from_str(json).map_err(|e| unusable(e.to_string()))?,
        (_, None) => return Err(unusable("no public key stored".into())),
    };
    if members.get("kty").and_then(Value::as_str) != Some(alg.key_type()) {
        return Err(unusable(format!("the stored key is not an {alg} key")));
    }
    members.insert("use".into(), "sig".into());
    members.insert("alg".into(), alg.as_str().into());
    members.insert("kid".into(), row.kid.clone().into());
    Ok(members)
}

/// The verifier of a published key, for `alg` only.
pub fn verifier(
    jwk: &Map<String, Value>,
    alg: SigningAlg,
) -> Result<Box<dyn JwsVerifier>, josekit::JoseError> {
    let jwk = Jwk::from_map(jwk.clone())?;
    Ok(match alg {
        SigningAlg::RS256 => Box::new(RS256.verifier_from_jwk(&jwk)?),
        SigningAlg::ES256 => Box::new(ES256.verifier_from_jwk(&jwk)?),
        SigningAlg::EdDSA => Box::new(EdDSA.verifier_from_jwk(&jwk)?),
    })
}

/// The signer of a key from its PKCS#8 DER, with `kid` set for the JWS header.
pub fn signer(
    der: &[u8],
    alg: SigningAlg,
    kid: &str,
) -> Result<Box<dyn JwsSigner>, josekit::JoseError> {
    Ok(match alg {
        SigningAlg::RS256 => {
            let mut s = RS256.signer_from_der(der)?;
            s.set_key_id(kid);
            Box::new(s)
        }
        SigningAlg::ES256 => {
            let mut s = ES256.signer_from_der(der)?;
            s.set_key_id(kid);
            Box::new(s)
        }
        SigningAlg::EdDSA => {
            let mut s = EdDSA.signer_from_der(der)?;
            s.set_key_id(kid);
            Box::new(s)
        }
    })
}
