//! `grant_type=client_credentials` (RFC 6749 §4.4): a confidential client obtains an access token
//! for itself. `sub` is the client id (RFC 9068 §2.2); no ID token, no user scopes.

use super::{parse_scope, resolve_scope, TokenResponse};
use crate::db;
use crate::domain::client::GrantType;
use crate::domain::scope::Scope;
use crate::oauth::client_auth::{self, Presented};
use crate::oauth::error::OAuthError;
use crate::oauth::issue::{issue, Grant};
use crate::oauth::params::Params;
use crate::state::AppState;

#[derive(Debug)]
pub struct Request {
    pub scope: Option<Scope>,
}

impl Request {
    pub fn parse(params: &Params) -> Result<Self, OAuthError> {
        Ok(Self {
            scope: parse_scope(params)?,
        })
    }
}

#[tracing::instrument(name = "client_credentials", skip_all, fields(client_id = %presented.client_id))]
pub async fn grant(
    state: &AppState,
    presented: Presented,
    request: Request,
) -> Result<TokenResponse, OAuthError> {
    let client = db::run(&state.pool, move |conn| {
        client_auth::authenticate(conn, &presented)
    })
    .await?;
    if client.is_public() {
        // RFC 6749 §4.4: "MUST only be used by confidential clients".
        return Err(OAuthError::new(
            crate::oauth::ErrorCode::UnauthorizedClient,
            "Public clients cannot use the client_credentials grant",
        ));
    }
    client_auth::require_grant(&client, GrantType::ClientCredentials)?;
    let scope = match request.scope {
        Some(s)
            if s.iter()
                .any(|t| crate::domain::scope::USER_SCOPES.contains(&t)) =>
        {
            return Err(OAuthError::invalid_scope(
                "User scopes such as openid need a user; client_credentials has none",
            ))
        }
        Some(s) => resolve_scope(&client, Some(s))?,
        None => client.scope.without_user_scopes(),
    };
    let now = state.clock.now();
    let keys = state.keys.load();
    let issued = issue(
        &state.settings,
        &keys,
        now,
        &Grant {
            subject: &client.id,
            client_id: &client.id,
            scope: &scope,
            auth_time: None,
            nonce: None,
            sid: None,
            algs: client.token_algs(state.settings.tokens.access_token_alg),
        },
    )?;
    tracing::info!(target: "audit", event = "token_issued", grant = "client_credentials", client_id = %client.id, jti = %issued.jti);
    Ok(TokenResponse {
        access_token: issued.access_token,
        token_type: "Bearer",
        expires_in: issued.expires_in,
        scope: (!scope.is_empty()).then(|| scope.to_string()),
        id_token: None,
        refresh_token: None,
    })
}
