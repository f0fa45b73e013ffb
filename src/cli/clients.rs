//! `latchkey client …`: client applications.

use crate::domain::factor::MfaPolicy;
use clap::{Args, Subcommand};
use secrecy::ExposeSecret;

use super::client_web::ClaimsCorsArgs;
use super::resources::AccessArgs;
use super::{done, open, output, parse_alg, WithSecret};
use crate::admin::{self, clients::NewClient};
use crate::config::Settings;
use crate::db;
use crate::domain::client::GrantType;
use crate::domain::signing_alg::SigningAlg;
use crate::random::OsRandom;

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
    /// How the client authenticates at the token endpoint (RFC 7591): client_secret_basic
    /// (default for confidential clients), client_secret_post, or none (public clients). Any
    /// other method is refused.
    #[arg(long, value_name = "METHOD")]
    token_endpoint_auth_method: Option<String>,
    /// `alg` of its access tokens, one of keys.algorithms (default: tokens.access_token_alg).
    #[arg(long, value_name = "ALG", value_parser = parse_alg)]
    access_token_alg: Option<SigningAlg>,
    /// `alg` of its ID tokens, one of keys.algorithms (default: RS256).
    #[arg(long, value_name = "ALG", value_parser = parse_alg)]
    id_token_signed_response_alg: Option<SigningAlg>,
    #[command(flatten)]
    access: AccessArgs,
    #[command(flatten)]
    claims_cors: ClaimsCorsArgs,
}

/// An algorithm to set, or `default` to clear the client's own choice.
#[derive(Clone, Copy, Debug)]
pub(super) struct AlgSetting(Option<SigningAlg>);

fn parse_alg_setting(raw: &str) -> Result<AlgSetting, String> {
    match raw {
        "default" => Ok(AlgSetting(None)),
        _ => parse_alg(raw).map(|a| AlgSetting(Some(a))),
    }
}

/// A client's second-factor policy, or `default` to follow `[mfa] policy`.
#[derive(Clone, Copy, Debug)]
pub(super) struct MfaSetting(Option<MfaPolicy>);

fn parse_mfa_setting(raw: &str) -> Result<MfaSetting, String> {
    match raw {
        "default" => Ok(MfaSetting(None)),
        _ => MfaPolicy::parse(raw)
            .map(|p| MfaSetting(Some(p)))
            .ok_or_else(|| "expected required, optional, off or default".to_owned()),
    }
}

fn parse_grant(raw: &str) -> Result<GrantType, String> {
    raw.parse()
}

#[derive(Subcommand)]
pub(super) enum ClientCommand {
    /// Register a client and print its id and (once) its secret.
    Add(ClientAdd),
    /// Change a client's token signing algorithms, ID-token claims, web origins, resources
    /// and access-token lifetime.
    Update {
        client_id: String,
        #[command(flatten)]
        access: AccessArgs,
        /// `alg` of its access tokens, one of keys.algorithms; `default` follows
        /// tokens.access_token_alg.
        #[arg(long, value_name = "ALG", value_parser = parse_alg_setting)]
        access_token_alg: Option<AlgSetting>,
        /// `alg` of its ID tokens, one of keys.algorithms; `default` is RS256.
        #[arg(long, value_name = "ALG", value_parser = parse_alg_setting)]
        id_token_signed_response_alg: Option<AlgSetting>,
        #[command(flatten)]
        claims_cors: ClaimsCorsArgs,
        /// Second factor at sign-in to this client: `required`, `optional`, `off`, or `default`
        /// (the global [mfa] policy).
        #[arg(long, value_name = "POLICY", value_parser = parse_mfa_setting)]
        mfa: Option<MfaSetting>,
    },
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
    /// Disable a client: it can no longer authenticate, and its tokens stop working.
    Disable { client_id: String },
    /// Enable a disabled client again.
    Enable { client_id: String },
    /// Delete a client.
    Remove { client_id: String },
}

pub(super) fn client(
    command: ClientCommand,
    settings: &Settings,
    json: bool,
) -> anyhow::Result<()> {
    let pool = open(settings)?;
    let by = &super::by(settings);
    match command {
        ClientCommand::Add(add) => {
            let new = NewClient {
                name: add.name,
                grant_types: add.grants,
                redirect_uris: add.redirect_uris,
                post_logout_redirect_uris: add.post_logout_redirect_uris,
                scope: add.scope,
                public: add.public,
                first_party: add.first_party,
                refresh_token_ttl_secs: add.refresh_token_ttl,
                refresh_token_absolute_ttl_secs: add.refresh_token_absolute_ttl,
                access_token_alg: add.access_token_alg,
                id_token_signed_response_alg: add.id_token_signed_response_alg,
                claims_and_origins: add.claims_cors.for_new(),
            };
            new.check_algs(&settings.keys.algorithms)?;
            let access = add.access.to_access();
            let registered = db::transaction(&pool, |conn| {
                let (mut registered, _unused_registration_token) = admin::clients::add_with(
                    conn,
                    by,
                    &OsRandom,
                    new,
                    add.token_endpoint_auth_method.as_deref(),
                    None,
                )?;
                let id = registered.client.client_id.clone();
                admin::resources::set_client_access(conn, by, &id, &access, false)?;
                registered.client = admin::clients::show(conn, &id)?;
                Ok::<_, admin::AdminError>(registered)
            })?;
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
        ClientCommand::Update {
            client_id,
            access,
            access_token_alg,
            id_token_signed_response_alg,
            claims_cors,
            mfa,
        } => {
            if let Some(MfaSetting(policy)) = mfa {
                admin::factors::set_client_policy(&mut *pool.get()?, by, &client_id, policy)?;
            }
            let (claims, origins) = claims_cors.changes();
            let c = db::transaction(&pool, |conn| {
                if access_token_alg.is_some() || id_token_signed_response_alg.is_some() {
                    admin::client_algs::set(
                        conn,
                        by,
                        &settings.keys.algorithms,
                        &client_id,
                        access_token_alg.map(|a| a.0),
                        id_token_signed_response_alg.map(|a| a.0),
                    )?;
                }
                if claims.is_some() || origins.is_some() {
                    admin::client_web::set(conn, by, &client_id, claims, origins)?;
                }
                admin::resources::set_client_access(
                    conn,
                    by,
                    &client_id,
                    &access.to_access(),
                    false,
                )?;
                admin::clients::show(conn, &client_id)
            })?;
            output(json, &c, || {
                println!("client {} updated", c.client_id);
                print_algs(settings, &c);
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
                println!("resources:     {}", c.resources.join(" "));
                if let Some(d) = &c.default_resource {
                    println!("default resource: {d}");
                }
                if let Some(ttl) = c.access_token_ttl_secs {
                    println!("access-token TTL: {ttl} s");
                }
                println!("disabled:      {}", c.disabled);
                println!("web origins:   {}", c.web_origins.join(" "));
                println!(
                    "ID-token claims: {}",
                    if c.id_token_claims { "on" } else { "off" }
                );
                print_algs(settings, &c);
            })
        }
        ClientCommand::RotateSecret {
            client_id,
            revoke_tokens,
        } => {
            let secret = admin::clients::rotate_secret(
                &mut *pool.get()?,
                by,
                &OsRandom,
                &client_id,
                revoke_tokens,
            )?;
            let shown = serde_json::json!({ "client_id": client_id, "client_secret": secret.expose_secret() });
            output(json, &shown, || {
                println!("client_secret: {}", secret.expose_secret());
                println!("(the previous secret no longer works)");
            })
        }
        ClientCommand::Disable { client_id } => {
            admin::clients::set_disabled(&mut *pool.get()?, by, &client_id, true)?;
            done(json, &format!("client {client_id} disabled"))
        }
        ClientCommand::Enable { client_id } => {
            admin::clients::set_disabled(&mut *pool.get()?, by, &client_id, false)?;
            done(json, &format!("client {client_id} enabled"))
        }
        ClientCommand::Remove { client_id } => {
            admin::clients::remove(&mut *pool.get()?, by, &client_id)?;
            done(json, &format!("client {client_id} removed"))
        }
    }
}

/// The signing algorithms of a client's tokens, defaults spelled out.
fn print_algs(settings: &Settings, c: &admin::clients::ClientView) {
    match c.access_token_alg {
        Some(a) => println!("access tokens: {a}"),
        None => println!(
            "access tokens: {} (tokens.access_token_alg)",
            settings.tokens.access_token_alg
        ),
    }
    match c.id_token_signed_response_alg {
        Some(a) => println!("ID tokens:     {a}"),
        None => println!("ID tokens:     RS256 (default)"),
    }
}
