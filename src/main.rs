//! The `latchkey` command line: `serve`, `migrate`, `config check`, and the admin commands for
//! users, clients and keys. Every command has `--help`; every command takes `--json`.

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use latchkey::admin::{self, clients::NewClient, users::NewUser};
use latchkey::clock::{Clock, SystemClock};
use latchkey::config::Settings;
use latchkey::crypto::master_key::MasterKey;
use latchkey::crypto::password::Passwords;
use latchkey::db::{self, Backend, Pool};
use latchkey::domain::client::GrantType;
use latchkey::startup::{AppState, Application};
use latchkey::telemetry;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

/// Latchkey, a standalone OpenID Connect provider.
#[derive(Parser)]
#[command(name = "latchkey", version, about, propagate_version = true)]
struct Cli {
    /// Configuration file (TOML) layered over the defaults; also LATCHKEY_CONFIG.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the OpenID Connect provider (creates the database and keys on first start).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Inspect the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Manage users (people who log in).
    #[command(subcommand)]
    User(UserCommand),
    /// Manage client applications.
    #[command(subcommand)]
    Client(ClientCommand),
    /// Inspect and rotate signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Set up administration.
    #[command(subcommand)]
    Admin(AdminCommand),
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create the admin client (client_credentials, scope latchkey:admin) and print its secret
    /// once. Does nothing when it already exists.
    Bootstrap,
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print the effective configuration with secrets redacted; fail on an invalid value.
    Check,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user. The password is read from stdin or prompted for, never an argument.
    Add {
        username: String,
        #[arg(long)]
        email: Option<String>,
        /// Full name (the `name` claim).
        #[arg(long)]
        name: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List users.
    List,
    /// Show one user.
    Show { username: String },
    /// Set a user's password (prompted, or from stdin with --password-stdin).
    Passwd {
        username: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Prevent a user from logging in.
    Disable { username: String },
    /// Allow a disabled user to log in again.
    Enable { username: String },
    /// Delete a user.
    Remove { username: String },
    /// Give a user the admin role (admin pages and admin API).
    GrantAdmin { username: String },
    /// Take the admin role away.
    RevokeAdmin { username: String },
    /// End every session of a user and revoke their refresh tokens.
    RevokeSessions { username: String },
    /// Forget the consents a user gave, so the consent page is shown again.
    RevokeConsent {
        username: String,
        /// Only the consent given to this client.
        #[arg(long)]
        client: Option<String>,
    },
}

#[derive(Args)]
struct ClientAdd {
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
enum ClientCommand {
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

#[derive(Subcommand)]
enum KeysCommand {
    /// List signing keys with their state and dates.
    List,
    /// Publish a new signing key now; it signs after keys.publication_lead_secs.
    Rotate {
        /// Sign with the new key at once and retire the current one (suspected compromise).
        #[arg(long)]
        immediately: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: invalid configuration: {e}");
            return ExitCode::from(2);
        }
    };
    match run(cli, settings) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli, settings: Settings) -> anyhow::Result<()> {
    let json = cli.json;
    match cli.command {
        Command::Serve => serve(settings),
        Command::Config(ConfigCommand::Check) => config_check(&settings, json),
        Command::Migrate => {
            let pool = open(&settings)?;
            println!("database {} is up to date", describe(&settings));
            drop(pool);
            Ok(())
        }
        Command::User(command) => user(command, &settings, json),
        Command::Client(command) => client(command, &settings, json),
        Command::Admin(AdminCommand::Bootstrap) => {
            let pool = open(&settings)?;
            match admin::clients::bootstrap(&pool, now())? {
                Some(registered) => {
                    let secret = registered.client_secret.as_ref().map(|s| s.expose_secret());
                    let shown = WithSecret {
                        client: &registered.client,
                        client_secret: secret,
                    };
                    output(json, &shown, || {
                        println!("admin client created");
                        println!("client_id:     {}", registered.client.client_id);
                        println!("client_secret: {}", secret.unwrap_or("-"));
                        println!("(shown only now; get an admin token with the client_credentials grant and scope latchkey:admin)");
                    })
                }
                None => {
                    let existing = admin::clients::list(&pool)?
                        .into_iter()
                        .find(|c| c.name == admin::clients::BOOTSTRAP_NAME);
                    let id = existing.map(|c| c.client_id).unwrap_or_default();
                    output(
                        json,
                        &serde_json::json!({ "client_id": id, "created": false }),
                        || {
                            println!("the admin client already exists: {id}");
                            println!("use `latchkey client rotate-secret {id}` for a new secret");
                        },
                    )
                }
            }
        }
        Command::Keys(KeysCommand::Rotate { immediately }) => {
            let pool = open(&settings)?;
            let (master, _) = MasterKey::load(&settings.keys.master_key_file, true)?;
            let changes =
                admin::keys::force_rotation(&pool, &settings, &master, immediately, now())?;
            output(json, &changes, || {
                if let Some(kid) = &changes.published {
                    println!("published new key {kid}");
                }
                if let Some(kid) = &changes.activated {
                    println!("key {kid} now signs");
                }
                if let Some(kid) = &changes.retired {
                    println!("key {kid} retired (still published until its tokens expire)");
                }
                if changes.activated.is_none() {
                    println!(
                        "the new key signs after {} s; running servers pick it up by themselves",
                        settings.keys.publication_lead_secs
                    );
                }
            })
        }
        Command::Keys(KeysCommand::List) => {
            let keys = admin::keys::list(&open(&settings)?, &settings)?;
            output(json, &keys, || {
                for k in &keys {
                    let when = match k.state.as_str() {
                        "next" => format!("signs from {}", k.activate_after.unwrap_or_default()),
                        "active" => format!("signing since {}", k.activated_at.unwrap_or_default()),
                        _ => format!(
                            "retired {}, removed after {}",
                            k.retired_at.unwrap_or_default(),
                            k.delete_after.unwrap_or_default()
                        ),
                    };
                    println!(
                        "{}  {:<8} {} {}-bit  created {}  {when}",
                        k.kid, k.state, k.alg, k.bits, k.created_at
                    );
                }
            })
        }
    }
}

fn describe(settings: &Settings) -> String {
    Backend::from_url(&settings.database.url).map_or_else(|e| e, |b| b.describe())
}

fn serve(settings: Settings) -> anyhow::Result<()> {
    telemetry::init(&settings.log);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        for warning in settings.development_warnings() {
            tracing::warn!("DEVELOPMENT CONVENIENCE: {warning}");
        }
        let issuer = settings.issuer.clone();
        let data = describe(&settings);
        let state = AppState::build(settings, Arc::new(SystemClock)).await?;
        let app = Application::build(state)?;
        tracing::info!(issuer = %issuer, data = %data, bind = %app.state().settings.server.bind, "latchkey is serving");
        app.run_until_stopped().await?;
        Ok(())
    })
}

fn config_check(settings: &Settings, json: bool) -> anyhow::Result<()> {
    latchkey::crypto::master_key::MasterKey::load(&settings.keys.master_key_file, false)
        .map_err(|e| anyhow::anyhow!("invalid value for `keys.master_key_file`: {e}"))
        .or_else(|e| {
            // A missing file is fine: `serve` creates it. Anything else is an error.
            if settings.keys.master_key_file.exists()
                || std::env::var_os("LATCHKEY_MASTER_KEY").is_some()
            {
                Err(e)
            } else {
                Ok((
                    latchkey::crypto::master_key::MasterKey::from_bytes([0; 32]),
                    latchkey::crypto::master_key::Source::Environment,
                ))
            }
        })?;
    let redacted = settings.redacted();
    if json {
        println!("{}", serde_json::to_string_pretty(&redacted)?);
    } else {
        print!("{}", toml::to_string_pretty(&redacted)?);
        eprintln!("configuration is valid");
    }
    Ok(())
}

/// Opens the pool and applies pending migrations, so every admin command works on a fresh database.
fn open(settings: &Settings) -> anyhow::Result<Pool> {
    let pool = db::pool(&settings.database)?;
    let mut conn = pool
        .get()
        .map_err(|e| anyhow::anyhow!("cannot reach the database ({}): {e}", describe(settings)))?;
    db::migrate(&mut conn)?;
    drop(conn);
    Ok(pool)
}

fn output<T: Serialize + ?Sized>(json: bool, value: &T, text: impl FnOnce()) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(value)?);
    } else {
        text();
    }
    Ok(())
}

fn now() -> i64 {
    SystemClock.now()
}

/// The password from stdin (`--password-stdin`), a no-echo prompt on a terminal, or none.
fn read_password(from_stdin: bool, required: bool) -> anyhow::Result<Option<SecretString>> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        let password = line.trim_end_matches(['\r', '\n']).to_owned();
        anyhow::ensure!(!password.is_empty(), "no password on standard input");
        return Ok(Some(SecretString::from(password)));
    }
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ")?;
        let second = rpassword::prompt_password("Repeat password: ")?;
        anyhow::ensure!(first == second, "the passwords differ");
        return Ok(Some(SecretString::from(first)));
    }
    anyhow::ensure!(!required, "no terminal to prompt on: use --password-stdin");
    Ok(None)
}

fn user(command: UserCommand, settings: &Settings, json: bool) -> anyhow::Result<()> {
    let pool = open(settings)?;
    let passwords = || Passwords::new(&settings.passwords);
    match command {
        UserCommand::Add {
            username,
            email,
            name,
            password_stdin,
        } => {
            let password = read_password(password_stdin, false)?;
            let user = admin::users::add(
                &pool,
                &passwords()?,
                NewUser {
                    username,
                    email,
                    name,
                    password,
                },
                now(),
            )?;
            output(json, &user, || {
                println!("created user {} (sub {})", user.username, user.id);
                if !user.has_password {
                    println!(
                        "no password set: run `latchkey user passwd {}`",
                        user.username
                    );
                }
            })
        }
        UserCommand::List => {
            let users = admin::users::list(&pool)?;
            output(json, &users, || {
                for u in &users {
                    let state = if u.disabled { "disabled" } else { "active" };
                    println!(
                        "{:<24} {:<8} {}  {}",
                        u.username,
                        state,
                        u.id,
                        u.email.as_deref().unwrap_or("-")
                    );
                }
            })
        }
        UserCommand::Show { username } => {
            let user = admin::users::show(&pool, &username)?;
            output(json, &user, || {
                println!("username:   {}", user.username);
                println!("sub:        {}", user.id);
                println!("email:      {}", user.email.as_deref().unwrap_or("-"));
                println!("name:       {}", user.name.as_deref().unwrap_or("-"));
                println!("disabled:   {}", user.disabled);
                println!(
                    "password:   {}",
                    if user.has_password { "set" } else { "not set" }
                );
            })
        }
        UserCommand::Passwd {
            username,
            password_stdin,
        } => {
            let password = read_password(password_stdin, true)?
                .ok_or_else(|| anyhow::anyhow!("no password given"))?;
            admin::users::set_password(&pool, &passwords()?, &username, &password, now())?;
            done(json, &format!("password of {username} changed"))
        }
        UserCommand::Disable { username } => {
            admin::users::set_disabled(&pool, &username, true, now())?;
            done(json, &format!("user {username} disabled"))
        }
        UserCommand::Enable { username } => {
            admin::users::set_disabled(&pool, &username, false, now())?;
            done(json, &format!("user {username} enabled"))
        }
        UserCommand::Remove { username } => {
            admin::users::remove(&pool, &username)?;
            done(json, &format!("user {username} removed"))
        }
        UserCommand::GrantAdmin { username } => {
            admin::users::set_admin(&pool, &username, true, now())?;
            done(json, &format!("user {username} is an administrator"))
        }
        UserCommand::RevokeAdmin { username } => {
            admin::users::set_admin(&pool, &username, false, now())?;
            done(
                json,
                &format!("user {username} is no longer an administrator"),
            )
        }
        UserCommand::RevokeSessions { username } => {
            let (sessions, tokens) = admin::users::revoke_sessions(&pool, &username, now())?;
            done(json, &format!("ended {sessions} session(s) and revoked {tokens} refresh token(s) of {username}"))
        }
        UserCommand::RevokeConsent { username, client } => {
            let n = admin::users::revoke_consent(&pool, &username, client.as_deref())?;
            done(json, &format!("{n} consent(s) of {username} revoked"))
        }
    }
}

fn done(json: bool, message: &str) -> anyhow::Result<()> {
    output(
        json,
        &serde_json::json!({ "ok": true, "message": message }),
        || println!("{message}"),
    )
}

#[derive(Serialize)]
struct WithSecret<'a, T: Serialize> {
    #[serde(flatten)]
    client: &'a T,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret: Option<&'a str>,
}

fn client(command: ClientCommand, settings: &Settings, json: bool) -> anyhow::Result<()> {
    let pool = open(settings)?;
    match command {
        ClientCommand::Add(add) => {
            let registered = admin::clients::add(
                &pool,
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
            let clients = admin::clients::list(&pool)?;
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
            let c = admin::clients::show(&pool, &client_id)?;
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
            let secret = admin::clients::rotate_secret(&pool, &client_id, revoke_tokens, now())?;
            let shown = serde_json::json!({ "client_id": client_id, "client_secret": secret.expose_secret() });
            output(json, &shown, || {
                println!("client_secret: {}", secret.expose_secret());
                println!("(the previous secret no longer works)");
            })
        }
        ClientCommand::Remove { client_id } => {
            admin::clients::remove(&pool, &client_id)?;
            done(json, &format!("client {client_id} removed"))
        }
    }
}
