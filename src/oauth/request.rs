//! A validated authorization request (RFC 6749 §4.1.1, OIDC Core §3.1.2.1) and its `prompt`: what
//! the authorization endpoint checked, what a pending login or consent keeps, and what the code
//! is bound to.

use super::error::OAuthError;
use crate::config::Settings;
use crate::crypto::master_key::MasterKey;
use crate::db::{self, DbConnection};
use crate::domain::client::Client;
use crate::domain::pkce::CodeChallenge;
use crate::domain::resource::ResourceUri;
use crate::domain::scope::Scope;
use crate::random::Random;

/// What the authorization steps (authorize, login, consent) share: settings, the master key
/// (which seals pending requests, `oauth::pending`), the source of random values and the time.
#[derive(Clone, Copy)]
pub struct Context<'a> {
    pub settings: &'a Settings,
    pub master_key: &'a MasterKey,
    pub random: &'a dyn Random,
    pub now: i64,
}

/// `prompt` (OIDC Core §3.1.2.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Prompt {
    pub none: bool,
    pub login: bool,
    pub consent: bool,
}

impl Prompt {
    pub fn parse(raw: Option<&str>) -> Result<Self, &'static str> {
        let mut prompt = Self::default();
        for value in raw.unwrap_or("").split(' ').filter(|v| !v.is_empty()) {
            match value {
                "none" => prompt.none = true,
                "login" => prompt.login = true,
                "consent" => prompt.consent = true,
                "select_account" => {}
                _ => return Err("prompt has an unsupported value"),
            }
        }
        if prompt.none && (prompt.login || prompt.consent) {
            return Err("prompt=none cannot be combined with other values");
        }
        Ok(prompt)
    }

    pub fn to_stored(self) -> Option<String> {
        let values: Vec<&str> = [
            (self.none, "none"),
            (self.login, "login"),
            (self.consent, "consent"),
        ]
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, v)| *v)
        .collect();
        (!values.is_empty()).then(|| values.join(" "))
    }
}

/// A validated authorization request.
#[derive(Debug, Clone)]
pub struct AuthorizationRequest {
    pub client: Client,
    pub redirect_uri: String,
    pub scope: Scope,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<CodeChallenge>,
    pub prompt: Prompt,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
    /// The API resources (RFC 8707) the code will be bound to; empty: the issuer audience.
    pub resources: Vec<ResourceUri>,
    /// `acr_values` (OIDC Core §3.1.2.1), as sent.
    pub acr_values: Option<String>,
}

/// The client `client_id`, enabled or not, with the API resources it may ask for; `None` when
/// there is none.
pub fn load_client(conn: &mut DbConnection, client_id: &str) -> Result<Option<Client>, OAuthError> {
    let row = db::clients::find(conn, client_id)?;
    let Some(mut client) = row
        .map(Client::try_from)
        .transpose()
        .map_err(|e| OAuthError::internal("client lookup", &e))?
    else {
        return Ok(None);
    };
    client.resources = db::resources::for_client(conn, client_id)?;
    Ok(Some(client))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_values_parse_and_round_trip() {
        let prompt = Prompt::parse(Some("login consent select_account")).unwrap();
        assert!(prompt.login && prompt.consent && !prompt.none);
        assert_eq!(prompt.to_stored().as_deref(), Some("login consent"));
        assert_eq!(Prompt::parse(None).unwrap().to_stored(), None);
        assert_eq!(
            Prompt::parse(Some("none login")),
            Err("prompt=none cannot be combined with other values")
        );
        assert_eq!(
            Prompt::parse(Some("popup")),
            Err("prompt has an unsupported value")
        );
    }
}
