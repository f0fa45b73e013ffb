//! `latchkey resource …`: API resources (RFC 8707) that access tokens are bound to, and the
//! `client add/update` options that allow clients to ask for them.

use clap::{Args, Subcommand};

use super::{done, open, output};
use crate::admin::resources::{self, ClientAccess, NewResource, ResourceView};
use crate::config::Settings;

#[derive(Subcommand)]
pub(super) enum ResourceCommand {
    /// Register an API: its identifier (an absolute URI, the tokens' `aud`) and the scopes it defines.
    Add {
        /// The resource identifier, an absolute URI without fragment (RFC 8707 §2), for example
        /// https://api.example.com/.
        resource: String,
        /// Space-separated scopes the API defines (repeatable).
        #[arg(long = "scope", required = true, value_name = "SCOPES")]
        scopes: Vec<String>,
        /// The words the consent page shows for a scope, as SCOPE=TEXT (repeatable).
        #[arg(long = "scope-description", value_name = "SCOPE=TEXT", value_parser = parse_description)]
        descriptions: Vec<(String, String)>,
        /// Lifetime in seconds of access tokens for this API (default: the client's, else
        /// tokens.access_token_ttl_secs).
        #[arg(long = "access-token-ttl", value_name = "SECONDS")]
        access_token_ttl: Option<i64>,
        /// Clients registered over HTTP (registrar token or open registration) may ask for it.
        #[arg(long)]
        public: bool,
    },
    /// List API resources.
    List,
    /// Show one API resource and the clients allowed it.
    Show { resource: String },
    /// Remove an API resource; clients lose it, issued tokens keep their `aud` until they expire.
    Remove { resource: String },
}

fn parse_description(raw: &str) -> Result<(String, String), String> {
    raw.split_once('=')
        .map(|(s, t)| (s.trim().to_owned(), t.to_owned()))
        .filter(|(s, _)| !s.is_empty())
        .ok_or_else(|| "expected SCOPE=TEXT".to_owned())
}

/// The `client add/update` options for resources and the access-token lifetime.
#[derive(Args, Debug, Default)]
pub(super) struct AccessArgs {
    /// An API resource the client may ask for (repeatable; replaces the list). `none` clears it.
    #[arg(long = "resource", value_name = "URI")]
    resources: Vec<String>,
    /// The resource a request without `resource` gets (one of --resource), or `none` for the issuer.
    #[arg(long = "default-resource", value_name = "URI")]
    default_resource: Option<String>,
    /// Lifetime in seconds of the client's access tokens, or `default` for tokens.access_token_ttl_secs.
    #[arg(long = "access-token-ttl", value_name = "SECONDS", value_parser = parse_ttl)]
    access_token_ttl: Option<TtlSetting>,
}

/// A lifetime to set, or `default` to clear the client's own.
#[derive(Clone, Copy, Debug)]
pub(super) struct TtlSetting(Option<i64>);

fn parse_ttl(raw: &str) -> Result<TtlSetting, String> {
    match raw {
        "default" => Ok(TtlSetting(None)),
        _ => raw
            .parse::<i64>()
            .map(|t| TtlSetting(Some(t)))
            .map_err(|_| "expected a number of seconds or `default`".to_owned()),
    }
}

impl AccessArgs {
    pub(super) fn to_access(&self) -> ClientAccess {
        let none = |v: &str| v == "none";
        ClientAccess {
            resources: (!self.resources.is_empty()).then(|| {
                self.resources
                    .iter()
                    .filter(|r| !none(r))
                    .cloned()
                    .collect()
            }),
            default_resource: self
                .default_resource
                .as_ref()
                .map(|d| (!none(d)).then(|| d.clone())),
            access_token_ttl_secs: self.access_token_ttl.map(|t| t.0),
        }
    }
}

fn print(r: &ResourceView) {
    println!("resource:         {}", r.resource);
    for s in &r.scopes {
        match &s.description {
            Some(text) => println!("scope:            {}  ({text})", s.scope),
            None => println!("scope:            {}", s.scope),
        }
    }
    match r.access_token_ttl_secs {
        Some(ttl) => println!("access-token TTL: {ttl} s"),
        None => println!("access-token TTL: the client's, else tokens.access_token_ttl_secs"),
    }
    println!("public:           {}", r.public);
    if let Some(clients) = &r.clients {
        println!("clients:          {}", clients.join(" "));
    }
}

pub(super) fn resource(
    command: ResourceCommand,
    settings: &Settings,
    json: bool,
) -> anyhow::Result<()> {
    let pool = open(settings)?;
    let mut conn = pool.get()?;
    match command {
        ResourceCommand::Add {
            resource,
            scopes,
            descriptions,
            access_token_ttl,
            public,
        } => {
            let new = NewResource {
                identifier: resource,
                scope: scopes.join(" "),
                descriptions,
                access_token_ttl_secs: access_token_ttl,
                public,
            };
            let view = resources::add(&mut conn, &super::by(settings), &new)?;
            output(json, &view, || print(&view))
        }
        ResourceCommand::List => {
            let list = resources::list(&mut conn)?;
            output(json, &list, || {
                for r in &list {
                    let scopes: Vec<&str> = r.scopes.iter().map(|s| s.scope.as_str()).collect();
                    println!("{}  {}", r.resource, scopes.join(" "));
                }
            })
        }
        ResourceCommand::Show { resource } => {
            let view = resources::show(&mut conn, &resource)?;
            output(json, &view, || print(&view))
        }
        ResourceCommand::Remove { resource } => {
            resources::remove(&mut conn, &super::by(settings), &resource)?;
            done(json, &format!("resource {resource} removed"))
        }
    }
}
