//! Unit tests of key generation, thumbprints and the key-set snapshot.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

use super::*;
use crate::random::OsRandom;

#[test]
fn thumbprint_matches_rfc7638_example() {
    // RFC 7638 §3.1.
    let n = URL_SAFE_NO_PAD.decode("0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw").unwrap();
    let e = URL_SAFE_NO_PAD.decode("AQAB").unwrap();
    assert_eq!(
        thumbprint(&n, &e),
        "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    );
}

#[test]
fn key_set_publishes_public_parts_only_and_signs() {
    let master = MasterKey::from_bytes([3; 32]);
    let row = generate(
        SigningAlg::RS256,
        2048,
        &master,
        &OsRandom,
        state::ACTIVE,
        1_700_000_000,
    )
    .unwrap();
    let set = KeySet::build(std::slice::from_ref(&row), &master).unwrap();
    let jwks: serde_json::Value = serde_json::from_slice(set.jwks()).unwrap();
    let key = &jwks["keys"][0];
    assert_eq!(key["kid"], row.kid.as_str());
    assert_eq!(key["kty"], "RSA");
    assert_eq!(key["use"], "sig");
    assert_eq!(key["alg"], "RS256");
    for private in ["d", "p", "q", "dp", "dq", "qi"] {
        assert!(key.get(private).is_none(), "{private} leaked");
    }
    assert_eq!(set.active().unwrap().kid, row.kid);
    assert!(KeySet::build(&[row], &MasterKey::from_bytes([4; 32])).is_err());
}

/// The `kid` of EC and OKP keys is the RFC 7638 thumbprint over exactly the required members.
#[test]
fn ec_and_okp_kids_are_rfc7638_thumbprints_of_the_published_key() {
    let master = MasterKey::from_bytes([5; 32]);
    for (alg, kty, crv, members) in [
        (
            SigningAlg::ES256,
            "EC",
            "P-256",
            &["crv", "kty", "x", "y"][..],
        ),
        (
            SigningAlg::EdDSA,
            "OKP",
            "Ed25519",
            &["crv", "kty", "x"][..],
        ),
    ] {
        let row = generate(alg, 2048, &master, &OsRandom, state::ACTIVE, 1_700_000_000).unwrap();
        assert!(row.public_n.is_empty() && row.public_e.is_empty());
        let set = KeySet::build(std::slice::from_ref(&row), &master).unwrap();
        let jwks: serde_json::Value = serde_json::from_slice(set.jwks()).unwrap();
        let key = &jwks["keys"][0];
        assert_eq!(key["kty"], kty);
        assert_eq!(key["crv"], crv);
        assert_eq!(key["alg"], alg.as_str());
        assert_eq!(key["use"], "sig");
        assert!(key.get("d").is_none(), "private part leaked");
        let canonical = format!(
            "{{{}}}",
            members
                .iter()
                .map(|m| format!("\"{m}\":\"{}\"", key[*m].as_str().unwrap()))
                .collect::<Vec<_>>()
                .join(",")
        );
        let expected = URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()));
        assert_eq!(key["kid"], expected.as_str());
        assert_eq!(row.kid, expected);
        assert_eq!(set.active_for(alg).unwrap().kid, row.kid);
        assert!(set.active().is_none());
        let (published_alg, _) = set.verifier(&row.kid).unwrap();
        assert_eq!(published_alg, alg);
    }
}

/// A row whose stored `alg` does not match its key type is refused, never published.
#[test]
fn a_key_stored_under_another_algorithm_is_refused() {
    let master = MasterKey::from_bytes([6; 32]);
    let mut row = generate(SigningAlg::ES256, 2048, &master, &OsRandom, state::NEXT, 1).unwrap();
    row.alg = "EdDSA".into();
    let err = KeySet::build(&[row], &master).unwrap_err().to_string();
    assert!(err.ends_with("the stored key is not an EdDSA key"), "{err}");
}
