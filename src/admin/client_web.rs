//! The client settings that shape what browsers and relying parties receive: whether ID tokens
//! carry the profile, email and groups claims, and the web origins allowed by CORS.

use super::clients::ClientView;
use super::AdminError;
use crate::audit::{By, Kind};
use crate::db::{self, DbConnection};
use crate::domain::client::Client;
use crate::domain::origin;

/// Part of a [`super::clients::NewClient`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimsAndOrigins {
    /// ID tokens carry the standard claims of the granted scopes (default on).
    pub id_token_claims: bool,
    /// Origins as given (`--web-origin`, `web_origins`); checked by [`Self::stored_origins`].
    pub web_origins: Vec<String>,
}

impl Default for ClaimsAndOrigins {
    fn default() -> Self {
        Self {
            id_token_claims: true,
            web_origins: Vec::new(),
        }
    }
}

impl ClaimsAndOrigins {
    /// The origins, each checked and serialised as browsers send it, without repeats.
    pub fn origins(&self) -> Result<Vec<String>, AdminError> {
        origin::parse_all(&self.web_origins).map_err(AdminError::Invalid)
    }

    /// The origins as stored in `clients.web_origins` (a JSON array).
    pub fn stored_origins(&self) -> Result<String, AdminError> {
        serde_json::to_string(&self.origins()?).map_err(|e| AdminError::internal("client row", e))
    }
}

/// Sets a client's ID-token claims switch and replaces its web origins, where given, leaving
/// the rest of the client as it is.
pub fn set(
    conn: &mut DbConnection,
    by: &By,
    id: &str,
    id_token_claims: Option<bool>,
    web_origins: Option<Vec<String>>,
) -> Result<ClientView, AdminError> {
    if super::built_in::is_built_in(id) {
        return Err(super::built_in::refusal(id, "changed"));
    }
    let origins = web_origins
        .map(|raw| {
            let parsed = origin::parse_all(&raw).map_err(AdminError::Invalid)?;
            serde_json::to_string(&parsed).map_err(|e| AdminError::internal("client row", e))
        })
        .transpose()?;
    db::write_tx(conn, |conn| {
        let mut row = db::clients::find(conn, id)?
            .ok_or_else(|| AdminError::NotFound(format!("client `{id}`")))?;
        if let Some(on) = id_token_claims {
            row.id_token_claims = on;
        }
        if let Some(origins) = origins {
            row.web_origins = origins;
        }
        row.updated_at = by.now;
        db::clients::replace(conn, &row)?;
        by.record(conn, &by.event(Kind::ClientUpdated).subject(id).client(id))?;
        Client::try_from(row)
            .map(ClientView::from)
            .map_err(|e| AdminError::internal("stored client", e))
    })
}
