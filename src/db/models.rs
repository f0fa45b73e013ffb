//! Row structs: what diesel reads from and writes to each table.

use diesel::prelude::*;

use super::schema::{clients, signing_keys, users};

#[derive(Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: String,
    pub username: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
    pub password_hash: Option<String>,
    pub disabled: bool,
    pub created_at: i64,
    pub updated_at: i64,
    pub is_admin: bool,
    /// The NFKC-normalised, case-folded username, unique (`domain::user::login_key`).
    pub username_normalized: Option<String>,
}

impl std::fmt::Debug for UserRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRow")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("disabled", &self.disabled)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = clients)]
pub struct ClientRow {
    pub id: String,
    pub name: String,
    pub secret_hash: Option<Vec<u8>>,
    pub grant_types: String,
    pub redirect_uris: String,
    pub post_logout_redirect_uris: String,
    pub scope: String,
    pub first_party: bool,
    pub disabled: bool,
    pub created_at: i64,
    pub updated_at: i64,
    pub refresh_token_ttl_secs: Option<i64>,
    pub refresh_token_absolute_ttl_secs: Option<i64>,
    /// RFC 7592 registration access token, SHA-256.
    pub registration_token_hash: Option<Vec<u8>>,
    /// As registered (RFC 7591 §2); confidential clients may use either secret method.
    pub token_endpoint_auth_method: String,
    /// For clients registered over HTTP: `admin`, `registrar` or `open`, which bounds what an
    /// RFC 7592 update may change. `None` for clients made by the CLI or the admin pages.
    pub registered_by: Option<String>,
    /// `alg` of the client's access tokens; `None` follows `tokens.access_token_alg`.
    pub access_token_alg: Option<String>,
    /// RFC 7591 §2 / OIDC Registration §2 `id_token_signed_response_alg`; `None` means RS256.
    pub id_token_signed_response_alg: Option<String>,
    /// Access-token lifetime for this client; `None` follows `tokens.access_token_ttl_secs`.
    pub access_token_ttl_secs: Option<i64>,
    /// Whether ID tokens carry the profile, email and groups claims of the granted scopes.
    pub id_token_claims: bool,
    /// Web origins allowed to call the token, userinfo and revocation endpoints (CORS), JSON.
    pub web_origins: String,
}

#[derive(Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = signing_keys)]
pub struct SigningKeyRow {
    pub kid: String,
    pub alg: String,
    pub state: String,
    pub public_n: Vec<u8>,
    pub public_e: Vec<u8>,
    pub private_key: Vec<u8>,
    pub created_at: i64,
    pub activated_at: Option<i64>,
    pub retired_at: Option<i64>,
    /// For a `next` key: when it may start signing.
    pub activate_after: Option<i64>,
    /// EC and OKP keys: the RFC 7638 canonical public JWK (RSA keys use `public_n`/`public_e`).
    pub public_jwk: Option<String>,
}

impl std::fmt::Debug for SigningKeyRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeyRow")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

use super::schema::{authorization_codes, consents, refresh_tokens, sessions};

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = sessions)]
pub struct SessionRow {
    pub id_hash: Vec<u8>,
    pub sid: String,
    pub user_id: String,
    pub auth_time: i64,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
    /// How the person authenticated (RFC 8176 values, space-separated).
    pub amr: String,
    /// A short summary of the browser it was started from (`domain::device`).
    pub device: Option<String>,
    /// The client address it was started from.
    pub address: Option<String>,
}

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = authorization_codes)]
pub struct AuthorizationCodeRow {
    pub code_hash: Vec<u8>,
    pub family_id: String,
    pub client_id: String,
    pub user_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub auth_time: i64,
    pub sid: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub consumed_at: Option<i64>,
    pub access_token_jti: Option<String>,
    pub access_token_expires_at: Option<i64>,
    /// The resources (RFC 8707) granted, space-separated; empty: the issuer audience.
    pub resources: String,
    /// The session's `amr` when the code was issued; `None` (older rows) means `pwd`.
    pub amr: Option<String>,
}

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = consents)]
pub struct ConsentRow {
    pub user_id: String,
    pub client_id: String,
    pub scope: String,
    pub created_at: i64,
}

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = refresh_tokens)]
pub struct RefreshTokenRow {
    pub token_hash: Vec<u8>,
    pub family_id: String,
    pub client_id: String,
    pub user_id: String,
    pub scope: String,
    pub auth_time: i64,
    pub sid: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    pub family_expires_at: i64,
    pub rotated_at: Option<i64>,
    pub successor_hash: Option<Vec<u8>>,
    pub successor_sealed: Option<Vec<u8>>,
    /// Issued with `offline_access`: outlives the browser session (OIDC Core §11).
    pub offline: bool,
    /// The resources (RFC 8707) granted, space-separated; empty: the issuer audience.
    pub resources: String,
    /// The `amr` of the sign-in the family comes from; `None` (older rows) means `pwd`.
    pub amr: Option<String>,
}

/// A failed-login counter (`login_throttle`): keyed by the SHA-256 of what it counts.
#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = super::schema::login_throttle)]
pub struct LoginThrottleRow {
    pub key_hash: Vec<u8>,
    pub kind: String,
    pub account_hash: Option<Vec<u8>>,
    pub failures: i64,
    pub blocked_until: i64,
    pub updated_at: i64,
    pub expires_at: i64,
    /// Attempts counted but not yet checked (not failures).
    pub in_flight: i64,
}

/// A second factor of a user (`user_factors`); the secret is sealed under the master key.
#[derive(Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = super::schema::user_factors)]
pub struct UserFactorRow {
    pub id: String,
    pub user_id: String,
    pub kind: String,
    pub name: String,
    pub secret: Vec<u8>,
    pub confirmed: bool,
    pub last_step: Option<i64>,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    /// SHA-256 of a passkey's credential id; `None` for other kinds.
    pub credential_hash: Option<Vec<u8>>,
}

impl std::fmt::Debug for UserFactorRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserFactorRow")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("kind", &self.kind)
            .field("confirmed", &self.confirmed)
            .finish_non_exhaustive()
    }
}

/// A single-use recovery code (`recovery_codes`), by its SHA-256.
#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = super::schema::recovery_codes)]
pub struct RecoveryCodeRow {
    pub code_hash: Vec<u8>,
    pub user_id: String,
    pub created_at: i64,
    pub used_at: Option<i64>,
}

/// A one-time link (`email_tokens`), by the SHA-256 of its token.
#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = super::schema::email_tokens)]
pub struct EmailTokenRow {
    pub token_hash: Vec<u8>,
    pub user_id: String,
    /// `reset`, `verify` or `set_password`.
    pub purpose: String,
    /// The address a verification link was sent to.
    pub email: Option<String>,
    /// The SHA-256 of the source address that asked for a reset link.
    pub requested_from: Option<Vec<u8>>,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}
