//! Authorization requests waiting for the login or consent page (DESIGN.md §2, §5b): sealed, not
//! stored, so that an unauthenticated `/authorize` writes nothing and any replica holding the same
//! master key can finish them.
//!
//! A sealed request is `base64url(id ‖ nonce ‖ AES-256-GCM(request))`: `id` is 32 random bytes,
//! and the key is derived from the master key with HKDF under a label of its own and `id` as the
//! salt, so every value is sealed under a key of its own (anyone may have values sealed at will;
//! no nonce is ever reused under one key). Inside: the validated request, its expiry
//! (`sessions.login_timeout_secs`), the hash of the browser-binding cookie and, at the consent
//! step, the session it belongs to. The random id names the request where state is needed: its
//! failed-login counter (`oauth::throttle`) and its used-up mark (`db::used_requests`).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};

use super::error::{ErrorCode, OAuthError};
use super::params::MAX_SEALED_LEN;
use super::request::{load_client, AuthorizationRequest, Context, Prompt};
use super::session::Session;
use crate::crypto::master_key::MasterKey;
use crate::db::{self, DbConnection};
use crate::domain::pkce::CodeChallenge;
use crate::domain::resource;
use crate::domain::scope::Scope;
use crate::domain::secret::SecretHash;

/// HKDF label of the sealing keys: no other use of the master key shares it.
const LABEL: &[u8] = b"latchkey pending authorization request v1";
const ID_LEN: usize = 32;

/// What is sealed: the validated request and what binds it.
#[derive(Serialize, Deserialize)]
struct Sealed {
    browser_hash: String,
    client_id: String,
    redirect_uri: String,
    scope: String,
    state: Option<String>,
    nonce: Option<String>,
    code_challenge: Option<String>,
    prompt: Option<String>,
    max_age: Option<i64>,
    login_hint: Option<String>,
    user_id: Option<String>,
    sid: Option<String>,
    expires_at: i64,
    /// The resources (RFC 8707) the code will be bound to, space-separated.
    #[serde(default)]
    resources: String,
    /// `acr_values` as requested (OIDC Core §3.1.2.1).
    #[serde(default)]
    acr_values: Option<String>,
}

/// An opened sealed request, not yet checked against the browser, the clock or the database.
pub struct Opened {
    /// The sealed value as presented, carried on in the next form.
    pub token: String,
    /// The random id, base64url: names the request's failed-login counter.
    pub id: String,
    sealed: Sealed,
}

impl std::fmt::Debug for Opened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opened")
            .field("client_id", &self.sealed.client_id)
            .field("expires_at", &self.sealed.expires_at)
            .finish_non_exhaustive()
    }
}

impl Opened {
    /// The key of its used-up mark: SHA-256 of the random id.
    pub fn id_hash(&self) -> Vec<u8> {
        SecretHash::of_str(&self.id).as_bytes().to_vec()
    }

    pub fn expires_at(&self) -> i64 {
        self.sealed.expires_at
    }

    /// The hash of the browser-binding cookie it was sealed for.
    pub fn browser_hash(&self) -> Vec<u8> {
        URL_SAFE_NO_PAD
            .decode(&self.sealed.browser_hash)
            .unwrap_or_default()
    }

    /// Whether the browser-binding cookie `browser` is the one the request was sealed for
    /// (constant-time).
    pub fn belongs_to(&self, browser: &str) -> bool {
        SecretHash::from_bytes(&self.browser_hash()).is_some_and(|h| h.matches(browser))
    }

    /// Whether it waits for the consent of this very session.
    pub fn belongs_to_session(&self, session: &Session) -> bool {
        self.sealed.user_id.as_deref() == Some(session.user.id.as_str())
            && self.sealed.sid.as_deref() == Some(session.sid.as_str())
    }

    /// Whether a login or consent already used it up (or it ran out of tries).
    pub fn is_used(&self, conn: &mut DbConnection) -> Result<bool, db::DbError> {
        Ok(db::used_requests::is_used(conn, &self.id_hash())?)
    }

    /// Marks it used up; `false` when it already was.
    pub fn mark_used(&self, conn: &mut DbConnection) -> Result<bool, db::DbError> {
        Ok(db::used_requests::mark(
            conn,
            &self.id_hash(),
            self.sealed.expires_at,
        )?)
    }
}

/// Seals `request` for the browser whose binding cookie hashes to `browser_hash`; with
/// `session`, for that session's consent. A request whose parameters make the sealed value
/// longer than a page form may carry is refused back to the client.
pub fn seal(
    ctx: &Context<'_>,
    request: &AuthorizationRequest,
    browser_hash: &[u8],
    session: Option<&Session>,
) -> Result<String, OAuthError> {
    let sealed = Sealed {
        browser_hash: URL_SAFE_NO_PAD.encode(browser_hash),
        client_id: request.client.id.clone(),
        redirect_uri: request.redirect_uri.clone(),
        scope: request.scope.to_string(),
        state: request.state.clone(),
        nonce: request.nonce.clone(),
        code_challenge: request
            .code_challenge
            .as_ref()
            .map(|c| c.as_str().to_owned()),
        prompt: request.prompt.to_stored(),
        max_age: request.max_age,
        login_hint: request.login_hint.clone(),
        user_id: session.map(|s| s.user.id.clone()),
        sid: session.map(|s| s.sid.clone()),
        expires_at: ctx.now + ctx.settings.sessions.login_timeout_secs,
        resources: resource::join(&request.resources),
        acr_values: request.acr_values.clone(),
    };
    let plain = serde_json::to_vec(&sealed).map_err(|e| OAuthError::internal("sealing", &e))?;
    let mut id = [0u8; ID_LEN];
    ctx.random.fill(&mut id);
    let body = key_for(ctx.master_key, &id)
        .encrypt(ctx.random, &plain, LABEL)
        .map_err(|e| OAuthError::internal("sealing a pending request", &e))?;
    let token = URL_SAFE_NO_PAD.encode([id.as_slice(), &body].concat());
    if token.len() > MAX_SEALED_LEN {
        return Err(OAuthError::new(
            ErrorCode::InvalidRequest,
            "The request parameters are too long",
        ));
    }
    Ok(token)
}

fn key_for(master_key: &MasterKey, id: &[u8]) -> MasterKey {
    master_key.derive(LABEL, id)
}

/// Opens a sealed value; `None` when it is not one this master key sealed, or was altered.
pub fn open(master_key: &MasterKey, token: &str) -> Option<Opened> {
    if token.len() > MAX_SEALED_LEN {
        return None;
    }
    let raw = URL_SAFE_NO_PAD.decode(token).ok()?;
    if raw.len() <= ID_LEN {
        return None;
    }
    let (id, body) = raw.split_at(ID_LEN);
    let plain = key_for(master_key, id).decrypt(body, LABEL).ok()?;
    let sealed: Sealed = serde_json::from_slice(&plain).ok()?;
    Some(Opened {
        token: token.to_owned(),
        id: URL_SAFE_NO_PAD.encode(id),
        sealed,
    })
}

/// Rebuilds the sealed request; `None` when it expired or its client is gone or disabled.
pub fn restore(
    conn: &mut DbConnection,
    opened: &Opened,
    now: i64,
) -> Result<Option<AuthorizationRequest>, OAuthError> {
    let sealed = &opened.sealed;
    if sealed.expires_at <= now {
        return Ok(None);
    }
    let Some(client) = load_client(conn, &sealed.client_id)?.filter(|c| !c.disabled) else {
        return Ok(None);
    };
    let scope = if sealed.scope.is_empty() {
        Scope::empty()
    } else {
        Scope::parse(&sealed.scope).map_err(|e| OAuthError::internal("sealed request", &e))?
    };
    Ok(Some(AuthorizationRequest {
        client,
        redirect_uri: sealed.redirect_uri.clone(),
        scope,
        state: sealed.state.clone(),
        nonce: sealed.nonce.clone(),
        code_challenge: sealed
            .code_challenge
            .clone()
            .map(CodeChallenge::from_stored),
        prompt: Prompt::parse(sealed.prompt.as_deref()).unwrap_or_default(),
        max_age: sealed.max_age,
        login_hint: sealed.login_hint.clone(),
        resources: resource::split(&sealed.resources),
        acr_values: sealed.acr_values.clone(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> MasterKey {
        MasterKey::from_bytes([9; 32])
    }

    fn sealed_value(key: &MasterKey) -> String {
        let sealed = Sealed {
            browser_hash: URL_SAFE_NO_PAD.encode(SecretHash::of_str("browser").as_bytes()),
            client_id: "client".into(),
            redirect_uri: "https://app.example/cb".into(),
            scope: "openid".into(),
            state: Some("s".into()),
            nonce: None,
            code_challenge: None,
            prompt: None,
            max_age: None,
            login_hint: None,
            user_id: None,
            sid: None,
            expires_at: 100,
            resources: String::new(),
            acr_values: None,
        };
        let id = [1u8; ID_LEN];
        let body = key_for(key, &id)
            .encrypt(
                &crate::random::OsRandom,
                &serde_json::to_vec(&sealed).unwrap(),
                LABEL,
            )
            .unwrap();
        URL_SAFE_NO_PAD.encode([id.as_slice(), &body].concat())
    }

    #[test]
    fn a_sealed_request_opens_only_under_its_master_key_and_unaltered() {
        let token = sealed_value(&key());
        let opened = open(&key(), &token).unwrap();
        assert!(opened.belongs_to("browser"));
        assert!(!opened.belongs_to("another browser"));
        assert_eq!(opened.expires_at(), 100);
        assert!(open(&MasterKey::from_bytes([8; 32]), &token).is_none());
        let mut raw = URL_SAFE_NO_PAD.decode(&token).unwrap();
        // Another id derives another key; a flipped ciphertext bit fails the tag.
        for at in [0, raw.len() - 1, ID_LEN + 20] {
            raw[at] ^= 1;
            assert!(
                open(&key(), &URL_SAFE_NO_PAD.encode(&raw)).is_none(),
                "{at}"
            );
            raw[at] ^= 1;
        }
        assert!(open(&key(), "gone").is_none());
        assert!(open(&key(), &"A".repeat(MAX_SEALED_LEN + 1)).is_none());
    }
}
