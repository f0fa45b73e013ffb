//! `grant_type=client_credentials` (RFC 6749 §4.4): a confidential client obtains an access token
//! for itself. `sub` is the client id (RFC 9068 §2.2); no ID token, no user scopes.

use super::{parse_scope, resolve_scope, Context, TokenResponse};
use crate::audit::{Actor, Event, Kind};
use crate::domain::client::Client;
use crate::domain::scope::Scope;
use crate::oauth::error::OAuthError;
use crate::oauth::issue::Grant;
use crate::oauth::params::Params;

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

/// Issues the client's own access token (the client was admitted: confidential, registered for
/// this grant). Touches no database: the client comes authenticated
/// (from the client cache in the steady state) and signing uses the key snapshot.
#[tracing::instrument(name = "client_credentials", skip_all, fields(client_id = %client.id))]
pub fn grant(
    ctx: &Context<'_>,
    client: &Client,
    request: Request,
) -> Result<TokenResponse, OAuthError> {
    let scope = match request.scope {
        Some(s)
            if s.iter()
                .any(|t| crate::domain::scope::USER_SCOPES.contains(&t)) =>
        {
            return Err(OAuthError::invalid_scope(
                "User scopes such as openid need a user; client_credentials has none",
            ))
        }
        Some(s) => resolve_scope(client, Some(s))?,
        None => client.scope.without_user_scopes(),
    };
    let issued = ctx.issue(&Grant {
        subject: &client.id,
        client_id: &client.id,
        scope: &scope,
        auth_time: None,
        nonce: None,
        sid: None,
        algs: client.token_algs(ctx.settings.tokens.access_token_alg),
        person: None,
    })?;
    // Logged only, never stored: a token request does not wait on the audit table.
    Event::new(Kind::TokenIssued, Actor::Client(client.id.clone()))
        .subject(&client.id)
        .client(&client.id)
        .grant("client_credentials")
        .jti(&issued.jti)
        .log();
    Ok(TokenResponse::new(issued, &scope, None))
}
