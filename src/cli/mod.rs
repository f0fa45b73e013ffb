//! The `latchkey` command line (clap): `serve`, `migrate`, `config check`, and the admin commands for
//! users, clients and keys. Every command has `--help`; every command takes `--json`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use crate::admin;
use crate::audit;
use crate::clock::{Clock, SystemClock};
use crate::config::Settings;
use crate::crypto::master_key::MasterKey;
use crate::db::{self, Backend, Pool};
use crate::domain::signing_alg::SigningAlg;
use crate::random::OsRandom;
use crate::startup::Application;
use crate::state::AppState;
use crate::telemetry;
use clap::{Parser, Subcommand};
use secrecy::ExposeSecret;
use serde::Serialize;

mod client_web;
mod clients;
mod groups;
mod users;

use clients::ClientCommand;
use groups::GroupCommand;
use users::UserCommand;

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
    /// Manage groups of users and the scopes restricted to them.
    #[command(subcommand)]
    Group(GroupCommand),
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
enum KeysCommand {
    /// List signing keys with their state and dates.
    List,
    /// Publish a new signing key now; it signs after keys.publication_lead_secs.
    Rotate {
        /// Rotate only the keys of this algorithm (RS256, ES256, EdDSA); default: every
        /// algorithm in keys.algorithms.
        #[arg(long, value_name = "ALG", value_parser = parse_alg)]
        alg: Option<SigningAlg>,
        /// Sign with the new key at once and retire the current one (suspected compromise).
        #[arg(long)]
        immediately: bool,
    },
}

/// Parses the command line, loads the configuration and runs the command.
pub fn main() -> ExitCode {
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
    if !matches!(cli.command, Command::Serve) {
        // Results go to stdout; warnings and the audit events of the change go to stderr.
        telemetry::init_cli(&settings.log);
    }
    match cli.command {
        Command::Serve => serve(settings),
        Command::Config(ConfigCommand::Check) => config_check(&settings, json),
        Command::Migrate => {
            let pool = open_or_create(&settings)?;
            println!("database {} is up to date", describe(&settings));
            drop(pool);
            Ok(())
        }
        Command::User(command) => users::user(command, &settings, json),
        Command::Client(command) => clients::client(command, &settings, json),
        Command::Group(command) => groups::group(command, &settings, json),
        Command::Admin(AdminCommand::Bootstrap) => {
            let pool = open(&settings)?;
            match admin::clients::bootstrap(&mut *pool.get()?, &by(&settings), &OsRandom)? {
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
                    let existing = admin::clients::list(&mut *pool.get()?)?
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
        Command::Keys(KeysCommand::Rotate { alg, immediately }) => {
            let pool = open(&settings)?;
            let (master, _) = MasterKey::load(&settings.keys.master_key_file, true, &OsRandom)?;
            let changes = admin::keys::force_rotation(
                &pool,
                &settings,
                &master,
                &OsRandom,
                alg,
                immediately,
                &by(&settings),
            )?;
            output(json, &changes, || {
                for kid in &changes.published {
                    println!("published new key {kid}");
                }
                for kid in &changes.activated {
                    println!("key {kid} now signs");
                }
                for kid in &changes.retired {
                    println!("key {kid} retired (still published until its tokens expire)");
                }
                if changes.activated.is_empty() {
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
                        "next" => format!("signs from {}", date(k.activate_after)),
                        "active" => format!("signing since {}", date(k.activated_at)),
                        _ => format!(
                            "retired {}, removed after {}",
                            date(k.retired_at),
                            date(k.delete_after)
                        ),
                    };
                    println!(
                        "{}  {:<8} {:<6} {}-bit  created {}  {when}",
                        k.kid,
                        k.state,
                        k.alg,
                        k.bits,
                        date(Some(k.created_at))
                    );
                }
            })
        }
    }
}

/// Parses `--alg`/`--access-token-alg` values: JWS `alg` names, exactly.
fn parse_alg(raw: &str) -> Result<SigningAlg, String> {
    raw.parse()
}

fn describe(settings: &Settings) -> String {
    Backend::from_url(&settings.database.url).map_or_else(|e| e, |b| b.describe())
}

fn serve(settings: Settings) -> anyhow::Result<()> {
    // Before the runtime: the trace exporter's HTTP client is a blocking one.
    let traces = telemetry::init(&settings.log, &settings.telemetry)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let served = runtime.block_on(async move {
        for warning in settings.development_warnings() {
            tracing::warn!("DEVELOPMENT CONVENIENCE: {warning}");
        }
        if let Some(mismatch) = settings.issuer_port_mismatch() {
            tracing::warn!("{mismatch}");
        }
        let issuer = settings.issuer.clone();
        let data = describe(&settings);
        let state = AppState::build(settings, Arc::new(SystemClock), Arc::new(OsRandom)).await?;
        let app = Application::build(state)?;
        tracing::info!(issuer = %issuer, data = %data, bind = %app.state().settings.server.bind, "latchkey is serving");
        app.run_until_stopped().await?;
        Ok(())
    });
    drop(runtime);
    // Sends the spans of the last requests.
    traces.shutdown();
    served
}

fn config_check(settings: &Settings, json: bool) -> anyhow::Result<()> {
    // A missing key file is fine (`serve` creates it); one that exists must be usable.
    let from_env = std::env::var_os(crate::crypto::master_key::ENV_VAR).is_some();
    if from_env || settings.keys.master_key_file.exists() {
        MasterKey::load(&settings.keys.master_key_file, false, &OsRandom)
            .map_err(|e| anyhow::anyhow!("invalid value for `keys.master_key_file`: {e}"))?;
    }
    let redacted = settings.redacted();
    if json {
        println!("{}", serde_json::to_string_pretty(&redacted)?);
    } else {
        print!("{}", toml::to_string_pretty(&redacted)?);
        if let Some(mismatch) = settings.issuer_port_mismatch() {
            eprintln!("warning: {mismatch}");
        }
        eprintln!("configuration is valid");
    }
    Ok(())
}

/// A Unix time as an RFC 3339 date in UTC (`2026-12-01T11:00:00Z`), for people reading the CLI.
fn date(unix: Option<i64>) -> String {
    unix.map_or_else(|| "-".to_owned(), crate::clock::rfc3339)
}

/// Opens an existing database and applies pending migrations. Refuses to create a SQLite file: a
/// command run from the wrong directory would otherwise work on a new, empty database and print
/// nothing. Only `serve` and `migrate` create one.
fn open(settings: &Settings) -> anyhow::Result<Pool> {
    if let Ok(Backend::Sqlite(path)) = Backend::from_url(&settings.database.url) {
        if !path.exists() {
            let shown = std::path::absolute(&path).unwrap_or_else(|_| path.clone());
            anyhow::bail!(
                "no database at {} (database.url = {}); run this command from the directory \
                 where `latchkey serve` runs, pass --config or set LATCHKEY__DATABASE__URL, or \
                 create the database with `latchkey migrate`",
                shown.display(),
                settings.database.url
            );
        }
    }
    open_or_create(settings)
}

/// Opens the pool, creating a SQLite database when there is none, and applies pending migrations.
fn open_or_create(settings: &Settings) -> anyhow::Result<Pool> {
    let pool = db::cli_pool(&settings.database)?;
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

/// The CLI as the actor of an admin operation, now.
fn by(settings: &Settings) -> audit::By {
    audit::By::new(audit::Actor::Cli, settings.audit.store, now())
}

fn now() -> i64 {
    SystemClock.now()
}

/// The password from stdin (`--password-stdin`), a no-echo prompt on a terminal, or none.
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
