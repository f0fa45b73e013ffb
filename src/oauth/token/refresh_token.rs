//! `grant_type=refresh_token` (RFC 6749 §6) with rotation and reuse detection (RFC 9700 §4.14):
//! every use returns a new refresh token and retires the old one. Reusing a retired token revokes
//! the whole family (every token descended from the same grant), except within a short grace
//! window, where a retry after a lost response gets the same successor back. Two concurrent uses
//! of one token never yield two valid successors: the rotation is one conditional update.

use diesel::Connection;
use secrecy::{ExposeSecret, SecretString};

use super::{parse_scope, Context, TokenResponse};
use crate::audit::{self, Actor, Event, Kind};
use crate::config::Settings;
use crate::db::models::RefreshTokenRow;
use crate::db::refresh_tokens::IssuedAccessToken;
use crate::db::{self, DbConnection};
use crate::domain::client::{Client, GrantType};
use crate::domain::scope::Scope;
use crate::domain::secret::{self, SecretHash};
use crate::domain::user::User;
use crate::oauth::claims;
use crate::oauth::error::OAuthError;
use crate::oauth::issue::Grant;
use crate::oauth::params::Params;
use crate::random::Random;

pub struct Request {
    pub refresh_token: SecretString,
    pub scope: Option<Scope>,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

impl Request {
    pub fn parse(params: &Params) -> Result<Self, OAuthError> {
        Ok(Self {
            refresh_token: SecretString::from(params.require("refresh_token")?.to_owned()),
            scope: parse_scope(params)?,
        })
    }
}

/// What a new refresh token belongs to.
pub struct Family<'a> {
    pub family_id: &'a str,
    pub user_id: &'a str,
    pub scope: &'a Scope,
    pub auth_time: i64,
    pub sid: Option<&'a str>,
}

/// `(idle, absolute)` refresh-token lifetimes for `client`.
fn lifetimes(settings: &Settings, client: &Client) -> (i64, i64) {
    (
        client
            .refresh_token_ttl_secs
            .unwrap_or(settings.tokens.refresh_token_ttl_secs),
        client
            .refresh_token_absolute_ttl_secs
            .unwrap_or(settings.tokens.refresh_token_absolute_ttl_secs),
    )
}

/// Stores and returns the first refresh token of a new family, when the client may refresh.
pub fn issue_first(
    conn: &mut DbConnection,
    settings: &Settings,
    random: &dyn Random,
    client: &Client,
    family: &Family<'_>,
    now: i64,
) -> Result<Option<SecretString>, OAuthError> {
    if !client.allows(GrantType::RefreshToken) {
        return Ok(None);
    }
    let (idle, absolute) = lifetimes(settings, client);
    let token = secret::generate(random);
    db::refresh_tokens::insert(
        conn,
        &RefreshTokenRow {
            token_hash: SecretHash::of(&token).as_bytes().to_vec(),
            family_id: family.family_id.to_owned(),
            client_id: client.id.clone(),
            user_id: family.user_id.to_owned(),
            scope: family.scope.to_string(),
            auth_time: family.auth_time,
            sid: family.sid.map(str::to_owned),
            created_at: now,
            expires_at: now + idle.min(absolute),
            revoked_at: None,
            family_expires_at: now + absolute,
            rotated_at: None,
            successor_hash: None,
            successor_sealed: None,
            // Without a browser session there is nothing to outlive.
            offline: family.scope.contains("offline_access") || family.sid.is_none(),
        },
    )?;
    Ok(Some(token))
}

fn invalid() -> OAuthError {
    OAuthError::invalid_grant("The refresh token is invalid or expired")
}

enum Step {
    Issued(TokenResponse),
    /// The token was rotated already: look at the grace window.
    AlreadyRotated,
}

/// Rotates the refresh token `client` presented and issues new tokens.
#[tracing::instrument(name = "refresh_token", skip_all, fields(client_id = %client.id))]
pub fn grant(
    ctx: &Context<'_>,
    conn: &mut DbConnection,
    client: &Client,
    request: Request,
) -> Result<TokenResponse, OAuthError> {
    let hash = SecretHash::of(&request.refresh_token).as_bytes().to_vec();
    let row = db::refresh_tokens::find(conn, &hash)?
        .filter(|r| r.client_id == client.id)
        .ok_or_else(invalid)?;
    let step = if row.rotated_at.is_some() {
        Step::AlreadyRotated
    } else {
        check_live(conn, ctx.settings, &row, ctx.now)?;
        conn.transaction(|conn| rotate(conn, ctx, client, &row, request.scope.as_ref()))?
    };
    match step {
        Step::Issued(response) => Ok(response),
        Step::AlreadyRotated => retry_or_revoke(conn, ctx, client, &hash, request.scope.as_ref()),
    }
}

/// Refuses revoked and expired tokens, disabled users, and session-bound tokens whose session
/// has ended.
fn check_live(
    conn: &mut DbConnection,
    settings: &Settings,
    row: &RefreshTokenRow,
    now: i64,
) -> Result<User, OAuthError> {
    if row.revoked_at.is_some() || row.expires_at <= now || row.family_expires_at <= now {
        return Err(invalid());
    }
    let user = db::users::find_by_id(conn, &row.user_id)?
        .map(User::from)
        .filter(|u| !u.disabled)
        .ok_or_else(invalid)?;
    if !session_alive(conn, settings, row, now)? {
        return Err(OAuthError::invalid_grant(
            "The session this refresh token belongs to has ended",
        ));
    }
    Ok(user)
}

/// Whether the browser session a token is bound to still lives; always true for offline tokens
/// (OIDC Core §11). Introspection asks the same question as the grant.
pub fn session_alive(
    conn: &mut DbConnection,
    settings: &Settings,
    row: &RefreshTokenRow,
    now: i64,
) -> Result<bool, OAuthError> {
    match (row.offline, &row.sid) {
        (false, Some(sid)) => Ok(db::sessions::find_by_sid(conn, sid)?.is_some_and(|s| {
            s.expires_at > now && s.last_seen_at + settings.sessions.idle_timeout_secs > now
        })),
        _ => Ok(true),
    }
}

/// The scope of the new access token: the token's own, or a narrower one (RFC 6749 §6).
fn narrowed(row: &RefreshTokenRow, requested: Option<&Scope>) -> Result<Scope, OAuthError> {
    let granted = Scope::parse(&row.scope).unwrap_or_default();
    match requested {
        None => Ok(granted),
        Some(scope) if scope.is_subset_of(&granted) => Ok(scope.clone()),
        Some(_) => Err(OAuthError::invalid_scope(
            "The requested scope exceeds the scope originally granted",
        )),
    }
}

fn rotate(
    conn: &mut DbConnection,
    ctx: &Context<'_>,
    client: &Client,
    row: &RefreshTokenRow,
    requested: Option<&Scope>,
) -> Result<Step, OAuthError> {
    let now = ctx.now;
    let scope = narrowed(row, requested)?;
    let successor = secret::generate(ctx.random);
    let successor_hash = SecretHash::of(&successor).as_bytes().to_vec();
    let sealed = ctx
        .master_key
        .encrypt(
            ctx.random,
            successor.expose_secret().as_bytes(),
            &successor_hash,
        )
        .map_err(|e| OAuthError::internal("sealing a refresh token", &e))?;
    if !db::refresh_tokens::rotate(conn, &row.token_hash, now, &successor_hash, &sealed)? {
        return Ok(Step::AlreadyRotated);
    }
    let (idle, _) = lifetimes(ctx.settings, client);
    db::refresh_tokens::insert(
        conn,
        &RefreshTokenRow {
            token_hash: successor_hash,
            created_at: now,
            expires_at: (now + idle).min(row.family_expires_at),
            revoked_at: None,
            rotated_at: None,
            successor_hash: None,
            successor_sealed: None,
            ..row.clone()
        },
    )?;
    let response = respond(conn, ctx, client, row, &scope, successor)?;
    Ok(Step::Issued(response))
}

/// The presented token was rotated before. Within the grace window the same successor comes back
/// (with a fresh access token); otherwise the whole family is revoked, in its own transaction.
fn retry_or_revoke(
    conn: &mut DbConnection,
    ctx: &Context<'_>,
    client: &Client,
    hash: &[u8],
    requested: Option<&Scope>,
) -> Result<TokenResponse, OAuthError> {
    let now = ctx.now;
    let row = db::refresh_tokens::find(conn, hash)?.ok_or_else(invalid)?;
    if row.rotated_at.is_none() {
        // The conditional rotation lost to a concurrent revocation, not to another rotation.
        return Err(invalid());
    }
    let grace = ctx.settings.tokens.refresh_token_reuse_grace_secs;
    let in_grace = row.revoked_at.is_none() && row.rotated_at.is_some_and(|at| now - at <= grace);
    if in_grace {
        if let (Some(next_hash), Some(sealed)) = (&row.successor_hash, &row.successor_sealed) {
            let successor = db::refresh_tokens::find(conn, next_hash)?;
            if let Some(successor) =
                successor.filter(|s| s.rotated_at.is_none() && s.revoked_at.is_none())
            {
                check_live(conn, ctx.settings, &successor, now)?;
                let plain = ctx
                    .master_key
                    .decrypt(sealed, next_hash)
                    .map_err(|e| OAuthError::internal("unsealing a refresh token", &e))?;
                let token = String::from_utf8(plain)
                    .map_err(|e| OAuthError::internal("unsealing a refresh token", &e))?;
                let scope = narrowed(&row, requested)?;
                return respond(
                    conn,
                    ctx,
                    client,
                    &successor,
                    &scope,
                    SecretString::from(token),
                );
            }
        }
    }
    let revoked =
        conn.transaction(|conn| db::refresh_tokens::revoke_family(conn, &row.family_id, now))?;
    let reused = Event::new(Kind::RefreshTokenReused, Actor::Client(client.id.clone()))
        .subject(&row.user_id)
        .client(&client.id)
        .count(revoked);
    audit::record(conn, ctx.settings.audit.store, now, &reused)?;
    Err(OAuthError::invalid_grant(
        "The refresh token has already been used",
    ))
}

/// Issues the access (and ID) token that goes with `refresh_token`, recorded in the family. The
/// scope is narrowed again to what the user's groups allow now.
fn respond(
    conn: &mut DbConnection,
    ctx: &Context<'_>,
    client: &Client,
    row: &RefreshTokenRow,
    scope: &Scope,
    refresh_token: SecretString,
) -> Result<TokenResponse, OAuthError> {
    let user = db::users::find_by_id(conn, &row.user_id)?
        .map(User::from)
        .filter(|u| !u.disabled)
        .ok_or_else(invalid)?;
    let person = claims::for_person(conn, ctx.settings.claims.groups, client, user, scope)?;
    let scope = &person.scope;
    let issued = ctx.issue(&Grant {
        subject: &row.user_id,
        client_id: &client.id,
        scope,
        auth_time: Some(row.auth_time),
        nonce: None,
        sid: row.sid.as_deref(),
        algs: client.token_algs(ctx.settings.tokens.access_token_alg),
        person: Some(&person.released),
    })?;
    db::refresh_tokens::record_family_access_token(
        conn,
        &IssuedAccessToken {
            jti: &issued.jti,
            family_id: &row.family_id,
            client_id: &client.id,
            user_id: &row.user_id,
            expires_at: issued.expires_at,
        },
    )?;
    // Logged only, never stored: a token request does not wait on the audit table.
    Event::new(Kind::TokenRefreshed, Actor::Client(client.id.clone()))
        .subject(&row.user_id)
        .client(&client.id)
        .grant("refresh_token")
        .jti(&issued.jti)
        .log();
    Ok(TokenResponse::new(
        issued,
        scope,
        Some(refresh_token.expose_secret().to_owned()),
    ))
}
