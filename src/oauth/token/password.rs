//! `grant_type=password` (RFC 6749 §4.3): only for clients explicitly allowed it. An unknown user,
//! a disabled user and a wrong password give the same `invalid_grant` after the same argon2 work.

use secrecy::SecretString;

use super::refresh_token::{self, Family};
use super::{parse_scope, resolve_scope, TokenResponse};
use crate::db;
use crate::domain::client::GrantType;
use crate::domain::scope::Scope;
use crate::oauth::client_auth::{self, Presented};
use crate::oauth::credentials;
use crate::oauth::error::OAuthError;
use crate::oauth::issue::{issue, Grant};
use crate::oauth::params::Params;
use crate::oauth::throttle;
use crate::state::AppState;

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

#[tracing::instrument(name = "password", skip_all, fields(client_id = %presented.client_id))]
pub async fn grant(
    state: &AppState,
    presented: Presented,
    request: Request,
) -> Result<TokenResponse, OAuthError> {
    let Request {
        username,
        password,
        scope,
        source,
    } = request;
    let (throttling, now) = (state.settings.login_throttle.clone(), state.clock.now());
    // Phase 1, one database round trip: client, grant, scope, user, throttling.
    let (client, scope, user, attempt) = db::run(&state.pool, move |conn| {
        let client = client_auth::authenticate(conn, &presented)?;
        client_auth::require_grant(&client, GrantType::Password)?;
        if client.is_public() {
            return Err(OAuthError::new(
                crate::oauth::ErrorCode::UnauthorizedClient,
                "Public clients cannot use the password grant",
            ));
        }
        let scope = resolve_scope(&client, scope)?;
        let user = credentials::find_user(conn, &username)?;
        let source = throttle::Source {
            username: &username,
            address: source,
            request: None,
            client_id: &client.id,
        };
        let attempt =
            throttle::begin(conn, &throttling, &source, now)?.map_err(throttle::refusal_error)?;
        Ok::<_, OAuthError>((client, scope, user, attempt))
    })
    .await?;
    // Phase 2, no connection held: the password check behind the semaphore.
    let Some(user) = throttle::check_password(state, attempt, user, password).await? else {
        tracing::info!(target: "audit", event = "login_failed", grant = "password", client_id = %client.id);
        return Err(OAuthError::invalid_grant(credentials::INVALID_CREDENTIALS));
    };
    let keys = state.keys.load();
    let issued = issue(
        &state.settings,
        &keys,
        now,
        &Grant {
            subject: &user.id,
            client_id: &client.id,
            scope: &scope,
            auth_time: Some(now),
            nonce: None,
            sid: None,
        },
    )?;
    let refresh_token = if client.allows(GrantType::RefreshToken) {
        let settings = state.settings.clone();
        let (client, user_id, scope) = (client.clone(), user.id.clone(), scope.clone());
        let (jti, expires_at) = (issued.jti.clone(), issued.expires_at);
        db::run_tx(&state.pool, move |conn| {
            let family_id = uuid::Uuid::new_v4().to_string();
            let family = Family {
                family_id: &family_id,
                user_id: &user_id,
                scope: &scope,
                auth_time: now,
                sid: None,
            };
            let token = refresh_token::issue_first(conn, &settings, &client, &family, now)?;
            let record = db::refresh_tokens::IssuedAccessToken {
                jti: &jti,
                family_id: &family_id,
                client_id: &client.id,
                user_id: &user_id,
                expires_at,
            };
            db::refresh_tokens::record_family_access_token(conn, &record)?;
            Ok::<_, OAuthError>(token)
        })
        .await?
        .map(|t| secrecy::ExposeSecret::expose_secret(&t).to_owned())
    } else {
        None
    };
    tracing::info!(target: "audit", event = "token_issued", grant = "password", client_id = %client.id, sub = %user.id, jti = %issued.jti);
    Ok(TokenResponse {
        access_token: issued.access_token,
        token_type: "Bearer",
        expires_in: issued.expires_in,
        scope: (!scope.is_empty()).then(|| scope.to_string()),
        id_token: issued.id_token,
        refresh_token,
    })
}
