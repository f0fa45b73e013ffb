//! The signing algorithms of a client's tokens: the access-token `alg` and OIDC Registration §2
//! `id_token_signed_response_alg`, checked against `keys.algorithms` and set by
//! `latchkey client update`.

use super::clients::{ClientView, NewClient};
use super::AdminError;
use crate::audit::{By, Kind};
use crate::db::{self, DbConnection};
use crate::domain::client::Client;
use crate::domain::signing_alg::{self as alg, SigningAlg};

impl NewClient {
    /// Refuses a signing algorithm that `keys.algorithms` does not configure.
    pub fn check_algs(&self, configured: &[SigningAlg]) -> Result<(), AdminError> {
        check(
            configured,
            [self.access_token_alg, self.id_token_signed_response_alg],
        )
    }
}

fn check(configured: &[SigningAlg], chosen: [Option<SigningAlg>; 2]) -> Result<(), AdminError> {
    for chosen in chosen.into_iter().flatten() {
        alg::require_configured(configured, chosen).map_err(AdminError::Invalid)?;
    }
    Ok(())
}

/// An algorithm field of the admin pages' client forms: empty for the default, else a
/// configured algorithm.
pub fn from_form(
    value: Option<&str>,
    configured: &[SigningAlg],
) -> Result<Option<SigningAlg>, String> {
    match value.unwrap_or("").trim() {
        "" => Ok(None),
        raw => {
            let chosen = raw.parse()?;
            alg::require_configured(configured, chosen)?;
            Ok(Some(chosen))
        }
    }
}

/// A change to one algorithm: `None` leaves it, `Some(None)` clears it back to the default.
pub type AlgChange = Option<Option<SigningAlg>>;

/// Sets (or clears) a client's signing algorithms, leaving the rest of the client as it is.
pub fn set(
    conn: &mut DbConnection,
    by: &By,
    configured: &[SigningAlg],
    id: &str,
    access_token_alg: AlgChange,
    id_token_signed_response_alg: AlgChange,
) -> Result<ClientView, AdminError> {
    check(
        configured,
        [
            access_token_alg.flatten(),
            id_token_signed_response_alg.flatten(),
        ],
    )?;
    if super::built_in::is_built_in(id) {
        return Err(super::built_in::refusal(id, "changed"));
    }
    db::write_tx(conn, |conn| {
        let mut row = db::clients::find(conn, id)?
            .ok_or_else(|| AdminError::NotFound(format!("client `{id}`")))?;
        let stored = |a: Option<SigningAlg>| a.map(|a| a.as_str().to_owned());
        if let Some(a) = access_token_alg {
            row.access_token_alg = stored(a);
        }
        if let Some(a) = id_token_signed_response_alg {
            row.id_token_signed_response_alg = stored(a);
        }
        row.updated_at = by.now;
        db::clients::replace(conn, &row)?;
        by.record(conn, &by.event(Kind::ClientUpdated).subject(id).client(id))?;
        Client::try_from(row)
            .map(ClientView::from)
            .map_err(|e| AdminError::internal("stored client", e))
    })
}
