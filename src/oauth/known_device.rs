//! Known devices (the OWASP "device cookie"): after a person signs in, their browser keeps a
//! cookie that says "this person signed in here before" without naming them: the time it was
//! issued and a MAC, under a key derived from the master key, of that time and the user's id.
//! A later password check for the same user from that browser waits in the password workers'
//! priority lane (`crypto::password::Lane`), so a flood of guesses from elsewhere that fills the
//! ordinary queue does not keep people out of their own accounts. The cookie grants nothing
//! else: the password is still checked and failures still count.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use subtle::ConstantTimeEq;

use crate::crypto::master_key::MasterKey;
use crate::crypto::password::Lane;

/// The cookie's base name (the configured prefix applies as to every cookie).
pub const COOKIE: &str = "latchkey_device";

const LABEL: &[u8] = b"latchkey known device\0";
/// Bytes of the MAC kept in the cookie.
const TAG: usize = 16;

fn tag(master: &MasterKey, issued_at: i64, user_id: &str) -> [u8; TAG] {
    let message = [&issued_at.to_be_bytes()[..], user_id.as_bytes()].concat();
    let mac = master.mac(LABEL, &message);
    let mut tag = [0u8; TAG];
    tag.copy_from_slice(&mac[..TAG]);
    tag
}

/// The cookie value for `user_id`, issued `now`.
pub fn issue(master: &MasterKey, user_id: &str, now: i64) -> String {
    let value = [&now.to_be_bytes()[..], &tag(master, now, user_id)[..]].concat();
    URL_SAFE_NO_PAD.encode(value)
}

/// Whether `cookie` was issued to `user_id` less than `ttl_secs` ago.
pub fn recognises(
    master: &MasterKey,
    cookie: Option<&str>,
    user_id: &str,
    now: i64,
    ttl_secs: i64,
) -> bool {
    let Some(bytes) = cookie.and_then(|c| URL_SAFE_NO_PAD.decode(c).ok()) else {
        return false;
    };
    let Some((issued, presented)) = bytes.split_first_chunk::<8>() else {
        return false;
    };
    let issued_at = i64::from_be_bytes(*issued);
    let fresh = issued_at <= now && now - issued_at < ttl_secs;
    fresh && presented.len() == TAG && bool::from(presented.ct_eq(&tag(master, issued_at, user_id)))
}

/// The password workers' lane for a check of `user_id`'s password from a browser that
/// presented `cookie`.
pub fn lane(
    master: &MasterKey,
    cookie: Option<&str>,
    user_id: Option<&str>,
    now: i64,
    ttl_secs: i64,
) -> Lane {
    match user_id {
        Some(id) if recognises(master, cookie, id, now, ttl_secs) => Lane::Priority,
        _ => Lane::Ordinary,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;

    #[test]
    fn a_cookie_names_its_user_only_while_fresh() {
        let master = MasterKey::from_bytes([3; 32]);
        let cookie = issue(&master, "user-a", 1_000);
        let ok = |c: &str, user: &str, now: i64| recognises(&master, Some(c), user, now, DAY);
        assert!(ok(&cookie, "user-a", 1_000 + DAY - 1));
        assert!(!ok(&cookie, "user-a", 1_000 + DAY), "expired");
        assert!(!ok(&cookie, "user-a", 999), "issued in the future");
        assert!(!ok(&cookie, "user-b", 1_000), "another user");
        assert!(!cookie.contains("user"), "the cookie names no one");
        let other_key = MasterKey::from_bytes([4; 32]);
        assert!(!recognises(&other_key, Some(&cookie), "user-a", 1_000, DAY));
        let mut forged = URL_SAFE_NO_PAD.decode(&cookie).unwrap();
        forged[..8].copy_from_slice(&2_000i64.to_be_bytes());
        assert!(
            !ok(&URL_SAFE_NO_PAD.encode(&forged), "user-a", 2_000),
            "moved in time"
        );
        for junk in ["", "!!", "AAAA", &cookie[..10]] {
            assert!(!ok(junk, "user-a", 1_000), "{junk:?}");
        }
        assert_eq!(
            lane(&master, Some(&cookie), Some("user-a"), 1_000, DAY),
            Lane::Priority
        );
        assert_eq!(
            lane(&master, Some(&cookie), None, 1_000, DAY),
            Lane::Ordinary
        );
        assert_eq!(
            lane(&master, None, Some("user-a"), 1_000, DAY),
            Lane::Ordinary
        );
    }
}
