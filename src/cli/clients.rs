//! `latchkey client …`: client applications.

use clap::{Args, Subcommand};
use secrecy::ExposeSecret;

use super::{done, now, open, output, WithSecret};
use crate::admin::{self, clients::NewClient};
use crate::config::Settings;
use crate::domain::client::GrantType;

#[derive(Args)]
pub(super) struct ClientAdd {
    /// A name people recognise, shown on the login page.
    name: String,
    /// Allowed grant type (repeatable): authorization_code, refresh_token, client_credentials, password.
    #[arg(long = "grant", required = true, value_parser = parse_grant)]
    grants: Vec<GrantType>,
    /// Allowed redirect URI, matched exactly (repeatable).
    #[arg(long = "redirect-uri")]
    redirect_uris: Vec<String>,
    /// Allowed post-logout redirect URI (repeatable).
    #[arg(long = "post-logout-redirect-uri")]
    post_logout_redirect_uris: Vec<String>,
    /// Space-separated scopes the client may request.
    #[arg(long)]
    scope: Option<String>,
    /// A public client (no secret; PKCE), such as a single-page or native app.
    #[arg(long)]
    public: bool,
    /// Trusted first-party application: skips the consent page.
    #[arg(long)]
    first_party: bool,
    /// Refresh-token idle lifetime in seconds for this client (default: tokens.refresh_token_ttl_secs).
    #[arg(long, value_name = "SECONDS")]
    refresh_token_ttl: Option<i64>,
    /// Refresh-token absolute lifetime in seconds for this client.
    #[arg(long, value_name = "SECONDS")]
    refresh_token_absolute_ttl: Option<i64>,
}

fn parse_grant(raw: &str) -> Result<GrantType, String> {
    raw.parse()
}

#[derive(Subcommand)]
pub(super) enum ClientCommand {
    /// Register a client and print its id and (once) its secret.
    Add(ClientAdd),
    /// List clients.
    List,
    /// Show one client.
    Show { client_id: String },
    /// Replace a confidential client's secret and print the new one (once).
    RotateSecret {
        client_id: String,
        /// Also revoke every refresh token issued to the client.
        #[arg(long)]
        revoke_tokens: bool,
    },
    /// Delete a client.
    Remove { client_id: String },
}

pub(super) fn client(
    command: ClientCommand,
    settings: &Settings,
    json: bool,
) -> anyhow::Result<()> {
    let pool = open(settings)?;
    match command {
        ClientCommand::Add(add) => {
            let registered = admin::clients::add(
                &mut *pool.get()?,
                NewClient {
                    name: add.name,
                    grant_types: add.grants,
                    redirect_uris: add.redirect_uris,
                    post_logout_redirect_uris: add.post_logout_redirect_uris,
                    scope: add.scope,
                    public: add.public,
                    first_party: add.first_party,
                    refresh_token_ttl_secs: add.refresh_token_ttl,
                    refresh_token_absolute_ttl_secs: add.refresh_token_absolute_ttl,
                },
                now(),
            )?;
            let secret = registered.client_secret.as_ref().map(|s| s.expose_secret());
            let shown = WithSecret {
                client: &registered.client,
                client_secret: secret,
            };
            output(json, &shown, || {
                println!("client_id:     {}", registered.client.client_id);
                match secret {
                    Some(s) => {
                        println!("client_secret: {s}");
                        println!("(the secret is shown only now; store it safely)");
                    }
                    None => println!("public client: no secret, use PKCE"),
                }
            })
        }
        ClientCommand::List => {
            let clients = admin::clients::list(&mut *pool.get()?)?;
            output(json, &clients, || {
                for c in &clients {
                    let kind = if c.public { "public" } else { "confidential" };
                    println!(
                        "{}  {:<12} {:<24} {}",
                        c.client_id,
                        kind,
                        c.name,
                        c.grant_types.join(",")
                    );
                }
            })
        }
        ClientCommand::Show { client_id } => {
            let c = admin::clients::show(&mut *pool.get()?, &client_id)?;
            output(json, &c, || {
                println!("client_id:     {}", c.client_id);
                println!("name:          {}", c.name);
                println!(
                    "type:          {}",
                    if c.public { "public" } else { "confidential" }
                );
                println!("grants:        {}", c.grant_types.join(" "));
                println!("scope:         {}", c.scope);
                println!("redirect URIs: {}", c.redirect_uris.join(" "));
                println!("first party:   {}", c.first_party);
                println!("disabled:      {}", c.disabled);
            })
        }
        ClientCommand::RotateSecret {
            client_id,
            revoke_tokens,
        } => {
            let secret =
                admin::clients::rotate_secret(&mut *pool.get()?, &client_id, revoke_tokens, now())?;
            let shown = serde_json::json!({ "client_id": client_id, "client_secret": secret.expose_secret() });
            output(json, &shown, || {
                println!("client_secret: {}", secret.expose_secret());
                println!("(the previous secret no longer works)");
            })
        }
        ClientCommand::Remove { client_id } => {
            admin::clients::remove(&mut *pool.get()?, &client_id)?;
            done(json, &format!("client {client_id} removed"))
        }
    }
}
