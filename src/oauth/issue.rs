//! Token issuing: RFC 9068 access tokens and OIDC Core §2 ID tokens, each signed with the active
//! key of the algorithm the client's tokens use (`tokens.access_token_alg` or the client's own
//! choice; `id_token_signed_response_alg`, OIDC Registration §2).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Serialize;
use sha2::{Digest, Sha256, Sha512};

use super::claims::Released;
use super::error::OAuthError;
use super::resource::Target;
use crate::config::Settings;
use crate::crypto::jwt::{self, TYP_ACCESS_TOKEN, TYP_JWT};
use crate::crypto::keys::{ActiveKey, KeySet};
use crate::domain::client::TokenAlgs;
use crate::domain::factor::Amr;
use crate::domain::scope::Scope;
use crate::domain::signing_alg::SigningAlg;
use crate::random::Random;

/// `aud` (RFC 7519 §4.1.3): one string, or an array when several resources are granted.
#[derive(Serialize)]
#[serde(untagged)]
enum Audience<'a> {
    One(&'a str),
    Many(Vec<&'a str>),
}

impl<'a> Audience<'a> {
    /// The resources of `target`, or `default` (the issuer audience) when it names none.
    fn of(target: &'a Target, default: &'a str) -> Self {
        match target.audience.as_slice() {
            [] => Self::One(default),
            [one] => Self::One(one.as_str()),
            many => Self::Many(many.iter().map(|r| r.as_str()).collect()),
        }
    }
}

/// RFC 9068 §2.2 claims.
#[derive(Serialize)]
struct AccessTokenClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: Audience<'a>,
    client_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<&'a str>,
    iat: i64,
    exp: i64,
    jti: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_time: Option<i64>,
    /// How the person authenticated (RFC 9068 §2.2.1, RFC 8176), so that an API can ask for a
    /// second factor (RFC 9470) without another round trip.
    #[serde(skip_serializing_if = "Option::is_none")]
    amr: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    acr: Option<&'a str>,
    /// The person's groups, with the `groups` scope.
    #[serde(skip_serializing_if = "Option::is_none")]
    groups: Option<&'a [String]>,
}

/// OIDC Core §2 claims.
#[derive(Serialize)]
struct IdTokenClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    exp: i64,
    iat: i64,
    auth_time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    nonce: Option<&'a str>,
    at_hash: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    sid: Option<&'a str>,
    /// RFC 8176 authentication methods.
    #[serde(skip_serializing_if = "Option::is_none")]
    amr: Option<&'a [String]>,
    /// OIDC Core §2 authentication context class.
    #[serde(skip_serializing_if = "Option::is_none")]
    acr: Option<&'a str>,
    /// The standard claims of the granted scopes (`oauth::claims`).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    person: Option<&'a serde_json::Map<String, serde_json::Value>>,
}

/// Who the tokens are for and what they allow.
pub struct Grant<'a> {
    /// `sub`: the user's opaque id, or the client id when no person is involved.
    pub subject: &'a str,
    pub client_id: &'a str,
    pub scope: &'a Scope,
    /// When the person authenticated; `None` for client-only grants.
    pub auth_time: Option<i64>,
    pub nonce: Option<&'a str>,
    /// The browser session the tokens come from (`sid`, OIDC Front-Channel Logout §3).
    pub sid: Option<&'a str>,
    /// How the person authenticated (`amr`, and the `acr` it satisfies); `None` for grants
    /// without a browser sign-in.
    pub amr: Option<&'a Amr>,
    /// What the client's tokens are signed with (`Client::token_algs`).
    pub algs: TokenAlgs,
    /// The access token's audience and lifetime (RFC 8707, `oauth::resource::target`).
    pub target: &'a Target,
    /// What the tokens say about the person (`oauth::claims::for_person`); `None` for
    /// client-only grants.
    pub person: Option<&'a Released>,
}

/// Signed tokens, ready for the token response.
pub struct Issued {
    pub access_token: String,
    pub expires_in: i64,
    /// `exp` of the access token.
    pub expires_at: i64,
    pub id_token: Option<String>,
    pub jti: String,
}

/// `at_hash` (OIDC Core §3.1.3.6): the left half of the hash of the access token that goes with
/// the ID token's `alg`, base64url: SHA-256 for RS256 and ES256, SHA-512 for EdDSA over Ed25519
/// (as relying-party libraries compute it).
pub fn at_hash(access_token: &str, id_token_alg: SigningAlg) -> String {
    match id_token_alg {
        SigningAlg::RS256 | SigningAlg::ES256 => {
            URL_SAFE_NO_PAD.encode(&Sha256::digest(access_token.as_bytes())[..16])
        }
        SigningAlg::EdDSA => URL_SAFE_NO_PAD.encode(&Sha512::digest(access_token.as_bytes())[..32]),
    }
}

/// The active key of `alg`; none while the first key of a newly configured algorithm is being
/// made, or when a client asks for an algorithm no longer configured.
fn signing_key(keys: &KeySet, alg: SigningAlg) -> Result<&ActiveKey, OAuthError> {
    keys.active_for(alg).ok_or_else(|| {
        tracing::warn!(%alg, "no active signing key for this algorithm");
        OAuthError::new(
            super::ErrorCode::TemporarilyUnavailable,
            "No signing key is available; retry later",
        )
    })
}

/// Signs an access token, and an ID token when `openid` is in scope and a person is involved.
pub fn issue(
    settings: &Settings,
    keys: &KeySet,
    random: &dyn Random,
    now: i64,
    grant: &Grant<'_>,
) -> Result<Issued, OAuthError> {
    let key = signing_key(keys, grant.algs.access_token)?;
    let scope_text = grant.scope.to_string();
    let jti = random.jti();
    let ttl = grant
        .target
        .ttl_secs
        .unwrap_or(settings.tokens.access_token_ttl_secs);
    let claims = AccessTokenClaims {
        iss: &settings.issuer,
        sub: grant.subject,
        aud: Audience::of(grant.target, settings.access_token_audience()),
        client_id: grant.client_id,
        scope: (!scope_text.is_empty()).then_some(scope_text.as_str()),
        iat: now,
        exp: now + ttl,
        jti: &jti,
        auth_time: grant.auth_time,
        amr: grant.amr.map(Amr::values),
        acr: grant.amr.map(Amr::acr),
        groups: grant.person.and_then(|p| p.groups.as_deref()),
    };
    let access_token = jwt::sign(key, TYP_ACCESS_TOKEN, &claims)
        .map_err(|e| OAuthError::internal("signing an access token", &e))?;
    let id_token = match grant.auth_time {
        Some(auth_time) if grant.scope.contains("openid") => {
            let hash = at_hash(&access_token, grant.algs.id_token);
            let claims = IdTokenClaims {
                iss: &settings.issuer,
                sub: grant.subject,
                aud: grant.client_id,
                exp: now + settings.tokens.id_token_ttl_secs,
                iat: now,
                auth_time,
                nonce: grant.nonce,
                at_hash: &hash,
                sid: grant.sid,
                amr: grant.amr.map(Amr::values),
                acr: grant.amr.map(Amr::acr),
                person: grant.person.map(|p| &p.id_token),
            };
            Some(
                jwt::sign(signing_key(keys, grant.algs.id_token)?, TYP_JWT, &claims)
                    .map_err(|e| OAuthError::internal("signing an ID token", &e))?,
            )
        }
        _ => None,
    };
    Ok(Issued {
        access_token,
        expires_in: ttl,
        expires_at: now + ttl,
        id_token,
        jti,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::keys::{self, state};
    use crate::crypto::master_key::MasterKey;
    use crate::random::{OsRandom, SeededRandom};

    #[test]
    fn an_injected_seeded_source_makes_the_jti_reproducible() {
        let settings = Settings::defaults().unwrap();
        let master = MasterKey::from_bytes([7; 32]);
        let row = keys::generate(
            SigningAlg::ES256,
            2048,
            &master,
            &OsRandom,
            state::ACTIVE,
            1_000,
        )
        .unwrap();
        let set = KeySet::build(std::slice::from_ref(&row), &master).unwrap();
        let scope = Scope::parse("openid").unwrap();
        let grant = Grant {
            subject: "user-1",
            client_id: "client-1",
            scope: &scope,
            auth_time: None,
            nonce: None,
            sid: None,
            amr: None,
            algs: TokenAlgs {
                access_token: SigningAlg::ES256,
                id_token: SigningAlg::ES256,
            },
            target: &Target::default(),
            person: None,
        };
        let jti = |seed| {
            issue(&settings, &set, &SeededRandom::new(seed), 1_000, &grant)
                .unwrap()
                .jti
        };
        assert_eq!(jti(1), jti(1));
        assert_ne!(jti(1), jti(2));
    }
}
