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
}

impl std::fmt::Debug for SigningKeyRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeyRow")
            .field("kid", &self.kid)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}
