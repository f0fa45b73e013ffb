//! Signing-key inspection for admins.

use serde::Serialize;

use super::AdminError;
use crate::db::{self, Pool};

/// A key's public facts and lifecycle dates.
#[derive(Debug, Serialize)]
pub struct KeyView {
    pub kid: String,
    pub alg: String,
    pub state: String,
    pub bits: usize,
    pub created_at: i64,
    pub activated_at: Option<i64>,
    pub retired_at: Option<i64>,
}

pub fn list(pool: &Pool) -> Result<Vec<KeyView>, AdminError> {
    let mut conn = pool.get().map_err(db::DbError::from)?;
    Ok(db::keys::list(&mut conn)?
        .into_iter()
        .map(|row| KeyView {
            bits: row.public_n.len() * 8,
            kid: row.kid,
            alg: row.alg,
            state: row.state,
            created_at: row.created_at,
            activated_at: row.activated_at,
            retired_at: row.retired_at,
        })
        .collect())
}
