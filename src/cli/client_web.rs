//! The `client add` / `client update` options for ID-token claims and CORS web origins.

use clap::Args;

use crate::admin::clients::ClaimsAndOrigins;

fn parse_on_off(raw: &str) -> Result<bool, String> {
    match raw {
        "on" => Ok(true),
        "off" => Ok(false),
        _ => Err("expected `on` or `off`".into()),
    }
}

#[derive(Args, Default)]
pub(super) struct ClaimsCorsArgs {
    /// Profile, email and groups claims of the granted scopes in the ID token too, not only at
    /// userinfo: on (default) or off.
    #[arg(long, value_name = "on|off", value_parser = parse_on_off)]
    id_token_claims: Option<bool>,
    /// A web origin (https://host[:port], or http on a loopback host) whose browser code may call
    /// /token, /userinfo and /revoke (CORS); repeatable. On update, replaces the list.
    #[arg(long = "web-origin", value_name = "ORIGIN")]
    web_origins: Vec<String>,
    /// On update: remove every web origin.
    #[arg(long, conflicts_with = "web_origins")]
    no_web_origins: bool,
}

impl ClaimsCorsArgs {
    /// The settings of a new client.
    pub(super) fn for_new(&self) -> ClaimsAndOrigins {
        ClaimsAndOrigins {
            id_token_claims: self.id_token_claims.unwrap_or(true),
            web_origins: self.web_origins.clone(),
        }
    }

    /// The changes of an update: the claims switch and the new origin list, where given.
    pub(super) fn changes(&self) -> (Option<bool>, Option<Vec<String>>) {
        let origins = if self.no_web_origins {
            Some(Vec::new())
        } else {
            (!self.web_origins.is_empty()).then(|| self.web_origins.clone())
        };
        (self.id_token_claims, origins)
    }
}
