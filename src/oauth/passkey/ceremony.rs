//! WebAuthn ceremony state between a page and its answer (the challenge and what the crate must
//! check the answer against). Nothing is stored for it: the state travels in the page, sealed
//! with AES-256-GCM under the master key, bound to its purpose and to what it belongs to (the
//! pending login, or the session that registers), and it expires. A sign-in's state belongs to
//! one pending login, which is used up when the sign-in succeeds, so a challenge is answered once.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::crypto::master_key::MasterKey;
use crate::oauth::OAuthError;
use crate::random::Random;

/// What a ceremony is for; a state sealed for one purpose opens for no other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Adding a passkey on the account page.
    Register,
    /// Signing in with a passkey alone, no username.
    SignIn,
    /// A passkey as the second step after a password.
    SecondFactor,
}

impl Purpose {
    fn label(self) -> &'static [u8] {
        match self {
            Self::Register => b"latchkey passkey registration\0",
            Self::SignIn => b"latchkey passkey sign-in\0",
            Self::SecondFactor => b"latchkey passkey second factor\0",
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Envelope<T> {
    expires_at: i64,
    state: T,
}

fn context(purpose: Purpose, binding: &str) -> Vec<u8> {
    [purpose.label(), binding.as_bytes()].concat()
}

/// Seals `state` for `purpose` and `binding` until `expires_at`: base64url, for a form field.
pub fn seal<T: Serialize>(
    master: &MasterKey,
    random: &dyn Random,
    (purpose, binding): (Purpose, &str),
    expires_at: i64,
    state: T,
) -> Result<String, OAuthError> {
    let plain = serde_json::to_vec(&Envelope { expires_at, state })
        .map_err(|e| OAuthError::internal("sealing a passkey ceremony", &e))?;
    let sealed = master
        .encrypt(random, &plain, &context(purpose, binding))
        .map_err(|e| OAuthError::internal("sealing a passkey ceremony", &e))?;
    Ok(URL_SAFE_NO_PAD.encode(sealed))
}

/// Opens a sealed state; `None` when it was sealed for another purpose or binding, was altered,
/// or has expired.
pub fn open<T: DeserializeOwned>(
    master: &MasterKey,
    (purpose, binding): (Purpose, &str),
    sealed: &str,
    now: i64,
) -> Option<T> {
    let bytes = URL_SAFE_NO_PAD.decode(sealed.as_bytes()).ok()?;
    let plain = master.decrypt(&bytes, &context(purpose, binding)).ok()?;
    let envelope: Envelope<T> = serde_json::from_slice(&plain).ok()?;
    (envelope.expires_at > now).then_some(envelope.state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::OsRandom;

    fn master() -> MasterKey {
        MasterKey::from_bytes([7u8; 32])
    }

    #[test]
    fn a_sealed_ceremony_opens_only_for_its_purpose_binding_and_time() {
        let master = master();
        let sealed = seal(&master, &OsRandom, (Purpose::SignIn, "req-1"), 100, "s").unwrap();
        let open_as =
            |purpose, binding, now| open::<String>(&master, (purpose, binding), &sealed, now);
        assert_eq!(open_as(Purpose::SignIn, "req-1", 99).as_deref(), Some("s"));
        assert_eq!(open_as(Purpose::SignIn, "req-2", 99), None);
        assert_eq!(open_as(Purpose::SecondFactor, "req-1", 99), None);
        assert_eq!(open_as(Purpose::SignIn, "req-1", 100), None);
        let mut altered = sealed.clone().into_bytes();
        altered[5] ^= 1;
        let altered = String::from_utf8(altered).unwrap();
        assert_eq!(
            open::<String>(&master, (Purpose::SignIn, "req-1"), &altered, 1),
            None
        );
    }
}
