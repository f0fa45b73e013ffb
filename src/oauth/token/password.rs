//! `grant_type=password` (RFC 6749 §4.3): only for confidential clients explicitly allowed it. An
//! unknown user, a disabled user and a wrong password give the same `invalid_grant` after the
//! same argon2 work ([`crate::oauth::credentials`], run by the caller without a connection held).

use secrecy::SecretString;

use super::refresh_token::{self, Family};
use super::{parse_scope, Context, TokenResponse};
use crate::audit::{Actor, Event, Kind};
use crate::db::{self, DbConnection};
use crate::domain::client::{Client, GrantType};
use crate::domain::scope::Scope;
use crate::domain::user::User;
use crate::oauth::claims;
use crate::oauth::credentials;
use crate::oauth::error::OAuthError;
use crate::oauth::issue::Grant;
use crate::oauth::params::Params;
use crate::oauth::throttle::{self, Attempt, Refusal};

pub struct Request {
    pub username: String,
    pub password: SecretString,
    pub scope: Option<Scope>,
    /// The peer address, for login throttling (set by the route).
    pub source: Option<std::net::IpAddr>,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("username", &self.username)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

impl Request {
    pub fn parse(params: &Params) -> Result<Self, OAuthError> {
        Ok(Self {
            username: params.require("username")?.to_owned(),
            password: SecretString::from(params.require("password")?.to_owned()),
            scope: parse_scope(params)?,
            source: None,
        })
    }
}

/// Before the password is checked: the user the request names, and the attempt counted against
/// its throttling counters — or the refusal when one of them is blocked, before any argon2 work
/// (answer it with [`throttle::refusal_error`]). Check the password with
/// [`throttle::check_password`], without a connection held.
pub fn begin(
    conn: &mut DbConnection,
    ctx: &Context<'_>,
    client: &Client,
    request: &Request,
) -> Result<Result<(Option<User>, Attempt), Refusal>, OAuthError> {
    let user = credentials::find_user(conn, &request.username, ctx.settings.login.by_email)?;
    // Failures count against the account the name resolved to (by username or email alike).
    let account = user
        .as_ref()
        .map_or(request.username.as_str(), |u| &u.username);
    let source = throttle::Source {
        username: account,
        address: request.source,
        request: None,
        client_id: &client.id,
        audit_store: ctx.settings.audit.store,
    };
    let attempt = throttle::begin(conn, &ctx.settings.login_throttle, &source, ctx.now)?;
    Ok(attempt.map(|attempt| (user, attempt)))
}

/// The audit event of a failed password check; `reason` from [`credentials::failure_reason`].
pub fn failed(client: &Client, username: &str, reason: &'static str) -> Event {
    Event::new(Kind::LoginFailed, Actor::Anonymous)
        .client(&client.id)
        .account(username)
        .grant("password")
        .reason(reason)
}

/// The one answer to a failed password check.
pub fn refused() -> OAuthError {
    OAuthError::invalid_grant(credentials::INVALID_CREDENTIALS)
}

/// Issues the tokens for `user`, whose password was checked, with `scope` narrowed to what the
/// user's groups allow. A client that may refresh stores the first refresh token of a new grant
/// through `conn`: run it inside one transaction; for any other client nothing is written.
#[tracing::instrument(name = "password", skip_all, fields(client_id = %client.id))]
pub fn grant(
    ctx: &Context<'_>,
    conn: &mut DbConnection,
    client: &Client,
    user: User,
    scope: &Scope,
) -> Result<TokenResponse, OAuthError> {
    let person = claims::for_person(conn, ctx.settings.claims.groups, client, user, scope)?;
    let (user, scope) = (&person.user, &person.scope);
    let issued = ctx.issue(&Grant {
        subject: &user.id,
        client_id: &client.id,
        scope,
        auth_time: Some(ctx.now),
        nonce: None,
        sid: None,
        algs: client.token_algs(ctx.settings.tokens.access_token_alg),
        person: Some(&person.released),
    })?;
    let refresh_token = if client.allows(GrantType::RefreshToken) {
        let family_id = ctx.random.uuid();
        let family = Family {
            family_id: &family_id,
            user_id: &user.id,
            scope,
            auth_time: ctx.now,
            sid: None,
        };
        let token =
            refresh_token::issue_first(conn, ctx.settings, ctx.random, client, &family, ctx.now)?;
        db::refresh_tokens::record_family_access_token(
            conn,
            &db::refresh_tokens::IssuedAccessToken {
                jti: &issued.jti,
                family_id: &family_id,
                client_id: &client.id,
                user_id: &user.id,
                expires_at: issued.expires_at,
            },
        )?;
        token.map(|t| secrecy::ExposeSecret::expose_secret(&t).to_owned())
    } else {
        None
    };
    // Logged only, never stored: a token request does not wait on the audit table.
    Event::new(Kind::TokenIssued, Actor::Client(client.id.clone()))
        .subject(&user.id)
        .client(&client.id)
        .grant("password")
        .jti(&issued.jti)
        .log();
    Ok(TokenResponse::new(issued, scope, refresh_token))
}
