//! `grant_type=authorization_code` (RFC 6749 §4.1.3, RFC 7636 §4.6, OIDC Core §3.1.3). The code is
//! consumed by one atomic update; a replay fails with `invalid_grant` and revokes every token the
//! code issued, committed in its own transaction (RFC 6749 §4.1.2, RFC 9700 §4.5).

use diesel::Connection;
use secrecy::{ExposeSecret, SecretString};

use super::refresh_token::{self, Family};
use super::{Context, TokenResponse};
use crate::audit::{self, Actor, Event, Kind};
use crate::db::models::AuthorizationCodeRow;
use crate::db::refresh_tokens::IssuedAccessToken;
use crate::db::{self, DbConnection};
use crate::domain::client::Client;
use crate::domain::pkce::CodeChallenge;
use crate::domain::scope::Scope;
use crate::domain::secret::SecretHash;
use crate::domain::user::User;
use crate::oauth::claims::{self, Person};
use crate::oauth::error::OAuthError;
use crate::oauth::issue::Grant;
use crate::oauth::params::Params;

pub struct Request {
    pub code: SecretString,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("redirect_uri", &self.redirect_uri)
            .finish_non_exhaustive()
    }
}

impl Request {
    pub fn parse(params: &Params) -> Result<Self, OAuthError> {
        Ok(Self {
            code: SecretString::from(params.require("code")?.to_owned()),
            redirect_uri: params.get("redirect_uri").map(str::to_owned),
            code_verifier: params.get("code_verifier").map(str::to_owned),
        })
    }
}

/// What presenting the code came to.
pub enum Outcome {
    Issued(TokenResponse),
    /// The code was used before: revoke what it issued ([`revoke_issued`], committed in its own
    /// transaction), then answer [`replayed`].
    Replayed {
        code_hash: Vec<u8>,
    },
}

/// The answer to a replayed code.
pub fn replayed() -> OAuthError {
    OAuthError::invalid_grant("The authorization code has already been used")
}

fn invalid_code() -> OAuthError {
    OAuthError::invalid_grant("The authorization code is invalid or expired")
}

/// Every check on the code that does not change anything.
fn check(
    client: &Client,
    row: &AuthorizationCodeRow,
    request: &Request,
    now: i64,
) -> Result<(), OAuthError> {
    if row.client_id != client.id {
        return Err(invalid_code());
    }
    if row.expires_at <= now {
        return Err(invalid_code());
    }
    // RFC 6749 §4.1.3: identical to the authorization request's redirect_uri.
    let redirect_uri = request
        .redirect_uri
        .as_deref()
        .ok_or_else(|| OAuthError::invalid_request("Missing required parameter `redirect_uri`"))?;
    let redirect_ok = redirect_uri == row.redirect_uri;
    if !redirect_ok {
        return Err(OAuthError::invalid_grant(
            "redirect_uri does not match the authorization request",
        ));
    }
    match (&row.code_challenge, &request.code_verifier) {
        (Some(challenge), Some(verifier)) => {
            if !CodeChallenge::from_stored(challenge.clone()).verify(verifier) {
                return Err(OAuthError::invalid_grant(
                    "code_verifier does not match the code_challenge",
                ));
            }
        }
        (Some(_), None) => {
            return Err(OAuthError::invalid_request(
                "Missing required parameter `code_verifier`",
            ))
        }
        (None, Some(_)) => {
            return Err(OAuthError::invalid_grant(
                "code_verifier was sent but the authorization request had no code_challenge",
            ))
        }
        (None, None) => {}
    }
    Ok(())
}

/// Redeems the code for `client`.
#[tracing::instrument(name = "authorization_code", skip_all, fields(client_id = %client.id))]
pub fn grant(
    ctx: &Context<'_>,
    conn: &mut DbConnection,
    client: &Client,
    request: Request,
) -> Result<Outcome, OAuthError> {
    let code_hash = SecretHash::of(&request.code).as_bytes().to_vec();
    let row = db::codes::find(conn, &code_hash)?.ok_or_else(invalid_code)?;
    // Only the client the code was issued to can set off the replay response; anyone
    // else presenting it learns nothing and revokes nothing.
    if row.client_id != client.id {
        return Err(invalid_code());
    }
    if row.consumed_at.is_some() {
        return Ok(Outcome::Replayed { code_hash });
    }
    check(client, &row, &request, ctx.now)?;
    let user = db::users::find_by_id(conn, &row.user_id)?
        .map(User::from)
        .filter(|u| !u.disabled)
        .ok_or_else(invalid_code)?;
    let scope = Scope::parse(&row.scope).unwrap_or_default();
    let person = claims::for_person(conn, ctx.settings.claims.groups, client, user, &scope)?;
    conn.transaction(|conn| redeem(conn, ctx, client, &person, &row))
}

/// Consumes the code and issues the tokens, in one transaction.
fn redeem(
    conn: &mut DbConnection,
    ctx: &Context<'_>,
    client: &Client,
    person: &Person,
    row: &AuthorizationCodeRow,
) -> Result<Outcome, OAuthError> {
    let (user, scope) = (&person.user, &person.scope);
    if !db::codes::consume(conn, &row.code_hash, ctx.now)? {
        return Ok(Outcome::Replayed {
            code_hash: row.code_hash.clone(),
        });
    }
    let issued = ctx.issue(&Grant {
        subject: &user.id,
        client_id: &client.id,
        scope,
        auth_time: Some(row.auth_time),
        nonce: row.nonce.as_deref(),
        sid: row.sid.as_deref(),
        algs: client.token_algs(ctx.settings.tokens.access_token_alg),
        person: Some(&person.released),
    })?;
    db::codes::record_access_token(conn, &row.code_hash, &issued.jti, issued.expires_at)?;
    db::refresh_tokens::record_family_access_token(
        conn,
        &IssuedAccessToken {
            jti: &issued.jti,
            family_id: &row.family_id,
            client_id: &client.id,
            user_id: &user.id,
            expires_at: issued.expires_at,
        },
    )?;
    let refresh_token = refresh_token::issue_first(
        conn,
        ctx.settings,
        ctx.random,
        client,
        &Family {
            family_id: &row.family_id,
            user_id: &user.id,
            scope,
            auth_time: row.auth_time,
            sid: row.sid.as_deref(),
        },
        ctx.now,
    )?
    .map(|t| t.expose_secret().to_owned());
    // Logged only, never stored: a token request does not wait on the audit table.
    Event::new(Kind::TokenIssued, Actor::Client(client.id.clone()))
        .subject(&user.id)
        .client(&client.id)
        .grant("authorization_code")
        .jti(&issued.jti)
        .log();
    Ok(Outcome::Issued(TokenResponse::new(
        issued,
        scope,
        refresh_token,
    )))
}

/// A replayed code: revokes the refresh tokens and access token it issued. Run it in its own
/// transaction, committed before the `invalid_grant` answer goes out.
pub fn revoke_issued(
    conn: &mut DbConnection,
    store: bool,
    code_hash: &[u8],
    now: i64,
) -> Result<(), OAuthError> {
    let Some(row) = db::codes::find(conn, code_hash)? else {
        return Ok(());
    };
    let revoked = db::refresh_tokens::revoke_family(conn, &row.family_id, now)?;
    if let (Some(jti), Some(exp)) = (&row.access_token_jti, row.access_token_expires_at) {
        db::refresh_tokens::deny_access_token(conn, jti, exp)?;
    }
    let replayed = Event::new(Kind::CodeReplayed, Actor::Client(row.client_id.clone()))
        .subject(&row.user_id)
        .client(&row.client_id)
        .count(revoked);
    audit::record(conn, store, now, &replayed)?;
    Ok(())
}
