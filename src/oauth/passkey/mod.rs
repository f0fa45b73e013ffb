//! Passkeys: WebAuthn Level 3 public-key credentials (W3C Web Authentication), through the
//! `webauthn-rs` crate. The relying-party id is the issuer's host and the only accepted origin
//! is the issuer's origin (an issuer on an IP address has no passkeys: browsers refuse IP
//! addresses as RP ids). A passkey is a second factor of kind `passkey` in `user_factors`: its
//! credential (public key, signature counter, backup flags) sealed under the master key like a
//! TOTP secret, found by the SHA-256 of its credential id. Registration ([`register`]) requires
//! user verification and asks for a discoverable credential; [`sign_in`] checks one alone (no
//! username, conditional UI) or as the step after a password. Ceremony state travels sealed in
//! the page ([`ceremony`]).

pub mod ceremony;
pub mod register;
pub mod sign_in;

use sha2::{Digest, Sha256};
use webauthn_rs::prelude::{Passkey, Url, Uuid};
use webauthn_rs::{Webauthn, WebauthnBuilder};

use crate::crypto::master_key::MasterKey;
use crate::db::models::UserFactorRow;
use crate::oauth::OAuthError;
use crate::random::Random;

/// How long a page's ceremony may take, in seconds (WebAuthn's recommended 5 minutes).
pub const CEREMONY_SECS: i64 = 300;

/// The WebAuthn relying party Latchkey is: built once at start from the issuer.
pub struct RelyingParty {
    webauthn: Webauthn,
    id: String,
}

impl std::fmt::Debug for RelyingParty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelyingParty")
            .field("id", &self.id)
            .finish()
    }
}

impl RelyingParty {
    /// The relying party of `issuer` (its host is the RP id, its origin the one allowed origin),
    /// shown to people as `name`. `None` when the issuer's host is an IP address or missing.
    pub fn for_issuer(issuer: &str, name: &str) -> Option<Self> {
        let issuer = Url::parse(issuer).ok()?;
        let host = issuer.domain()?.to_owned();
        let origin = Url::parse(&issuer.origin().ascii_serialization()).ok()?;
        let webauthn = WebauthnBuilder::new(&host, &origin)
            .ok()?
            .rp_name(name)
            .build()
            .ok()?;
        Some(Self { webauthn, id: host })
    }

    /// The relying-party id (the issuer's host).
    pub fn id(&self) -> &str {
        &self.id
    }

    pub(crate) fn webauthn(&self) -> &Webauthn {
        &self.webauthn
    }
}

/// What a page's script needs for one ceremony: the options for `navigator.credentials` (JSON)
/// and the sealed state the answer is posted back with.
#[derive(Clone)]
pub struct Prompt {
    pub options: String,
    pub state: String,
}

impl std::fmt::Debug for Prompt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prompt").finish_non_exhaustive()
    }
}

/// The WebAuthn user handle of a user: their id, which Latchkey makes as a UUID.
pub fn user_handle(user_id: &str) -> Option<Uuid> {
    Uuid::parse_str(user_id).ok()
}

/// The lookup key of a credential id: its SHA-256.
pub fn credential_hash(credential_id: &[u8]) -> Vec<u8> {
    Sha256::digest(credential_id).to_vec()
}

/// The master-key context of a stored passkey: a domain-separation label and the factor id.
fn seal_context(factor_id: &str) -> Vec<u8> {
    [
        b"latchkey passkey credential\0".as_slice(),
        factor_id.as_bytes(),
    ]
    .concat()
}

fn seal_passkey(
    master: &MasterKey,
    random: &dyn Random,
    factor_id: &str,
    passkey: &Passkey,
) -> Result<Vec<u8>, OAuthError> {
    let plain =
        serde_json::to_vec(passkey).map_err(|e| OAuthError::internal("sealing a passkey", &e))?;
    master
        .encrypt(random, &plain, &seal_context(factor_id))
        .map_err(|e| OAuthError::internal("sealing a passkey", &e))
}

fn open_passkey(master: &MasterKey, row: &UserFactorRow) -> Result<Passkey, OAuthError> {
    let plain = master
        .decrypt(&row.secret, &seal_context(&row.id))
        .map_err(|e| OAuthError::internal("opening a passkey", &e))?;
    serde_json::from_slice(&plain).map_err(|e| OAuthError::internal("opening a passkey", &e))
}

/// A passkey's name as a person typed it: trimmed, at most 64 characters, never empty.
pub fn clean_name(raw: &str) -> String {
    let name: String = raw
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(64)
        .collect();
    if name.is_empty() {
        "Passkey".to_owned()
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_relying_party_is_the_issuer_host_and_never_an_ip_address() {
        let rp = RelyingParty::for_issuer("https://id.example.com/tenant", "Example").unwrap();
        assert_eq!(rp.id(), "id.example.com");
        assert_eq!(
            RelyingParty::for_issuer("http://localhost:8080", "x").map(|r| r.id),
            Some("localhost".to_owned())
        );
        assert!(RelyingParty::for_issuer("http://127.0.0.1:8080", "x").is_none());
        assert!(RelyingParty::for_issuer("http://[::1]:8080", "x").is_none());
    }

    #[test]
    fn names_are_trimmed_bounded_and_never_empty() {
        assert_eq!(clean_name("  Laptop \n"), "Laptop");
        assert_eq!(clean_name("   "), "Passkey");
        assert_eq!(clean_name(&"x".repeat(100)).chars().count(), 64);
        assert_eq!(clean_name("a\u{0}b"), "ab");
    }
}
