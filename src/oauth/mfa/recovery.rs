//! Recovery codes: ten single-use codes of 80 random bits each, shown once and stored only as
//! SHA-256 hashes (they are random, not chosen by people, so a fast hash is enough).

use crate::db::models::RecoveryCodeRow;
use crate::db::{self, DbConnection};
use crate::domain::secret::SecretHash;
use crate::random::Random;

/// Codes per set.
pub const COUNT: usize = 10;
const BYTES: usize = 10;

/// How a code is compared: upper case, without spaces or dashes.
fn normalize(presented: &str) -> String {
    presented
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// One code: 16 base32 characters in groups of four.
fn generate_one(random: &dyn Random) -> String {
    let mut bytes = [0u8; BYTES];
    random.fill(&mut bytes);
    let encoded = super::totp::base32(&bytes);
    encoded
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

/// Replaces a user's recovery codes with a new set; returns the codes (shown once).
pub fn regenerate(
    conn: &mut DbConnection,
    random: &dyn Random,
    user_id: &str,
    now: i64,
) -> Result<Vec<String>, diesel::result::Error> {
    let codes: Vec<String> = (0..COUNT).map(|_| generate_one(random)).collect();
    let rows: Vec<RecoveryCodeRow> = codes
        .iter()
        .map(|code| RecoveryCodeRow {
            code_hash: SecretHash::of_str(&normalize(code)).as_bytes().to_vec(),
            user_id: user_id.to_owned(),
            created_at: now,
            used_at: None,
        })
        .collect();
    db::user_factors::delete_recovery_codes(conn, user_id)?;
    db::user_factors::insert_recovery_codes(conn, &rows)?;
    Ok(codes)
}

/// Spends `presented` if it is one of the user's unused codes.
pub fn spend(
    conn: &mut DbConnection,
    user_id: &str,
    presented: &str,
    now: i64,
) -> Result<bool, diesel::result::Error> {
    let normalized = normalize(presented);
    if normalized.len() != 16 {
        return Ok(false);
    }
    let hash = SecretHash::of_str(&normalized);
    Ok(db::user_factors::use_recovery_code(conn, user_id, hash.as_bytes(), now)? == 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SeededRandom;

    #[test]
    fn codes_are_grouped_base32_and_compare_loosely() {
        let code = generate_one(&SeededRandom::new(1));
        assert_eq!(code.len(), 19);
        assert_eq!(
            normalize(&code.to_lowercase().replace('-', " ")),
            code.replace('-', "")
        );
    }
}
