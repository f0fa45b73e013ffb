//! `latchkey user …`: people who log in.

use std::io::{BufRead, IsTerminal};

use clap::Subcommand;
use secrecy::SecretString;

use super::{done, now, open, output};
use crate::admin::{self, users::NewUser};
use crate::config::Settings;
use crate::crypto::password::Passwords;
use crate::random::OsRandom;

#[derive(Subcommand)]
pub(super) enum UserCommand {
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
        /// The email address is known to belong to the user (the `email_verified` claim).
        #[arg(long, requires = "email")]
        email_verified: bool,
    },
    /// Change a user's email address, name or email_verified flag (a new address is unverified
    /// unless --email-verified true is given too).
    Update {
        username: String,
        /// The new email address; an empty value removes it.
        #[arg(long)]
        email: Option<String>,
        /// The new full name (the `name` claim); an empty value removes it.
        #[arg(long)]
        name: Option<String>,
        /// Whether the address is verified: true or false.
        #[arg(long, value_name = "true|false")]
        email_verified: Option<bool>,
    },
    /// Add a user to a group.
    Join { username: String, group: String },
    /// Remove a user from a group.
    Leave { username: String, group: String },
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
    /// Print a one-time link with which the user sets their own password (shown only now).
    PasswordLink {
        username: String,
        /// How long the link works, in seconds (default: email.password_link_ttl_secs).
        #[arg(long, value_name = "SECONDS")]
        ttl: Option<i64>,
    },
    /// List a user's second factors (never their secrets).
    Mfa { username: String },
    /// Remove every second factor and recovery code of a user; they enrol again.
    MfaReset { username: String },
    /// Clear a user's login lockout and back-offs after failed attempts.
    Unlock { username: String },
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

pub(super) fn user(command: UserCommand, settings: &Settings, json: bool) -> anyhow::Result<()> {
    let pool = open(settings)?;
    let passwords = || Passwords::new(&settings.passwords);
    let by = &super::by(settings);
    match command {
        UserCommand::Add {
            username,
            email,
            name,
            password_stdin,
            email_verified,
        } => {
            let password = read_password(password_stdin, false)?;
            let prepared = admin::users::prepare(
                &passwords()?,
                &OsRandom,
                NewUser {
                    username,
                    email,
                    email_verified,
                    name,
                    password,
                },
                now(),
            )?;
            let user = admin::users::add(&mut *pool.get()?, by, prepared)?;
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
        UserCommand::Update {
            username,
            email,
            name,
            email_verified,
        } => {
            let clear = |v: String| (!v.is_empty()).then_some(v);
            let update = admin::users::ProfileUpdate {
                email: email.map(clear),
                email_verified,
                name: name.map(clear),
            };
            let user = admin::users::update_profile(&mut *pool.get()?, by, &username, update)?;
            output(json, &user, || {
                println!("user {} updated", user.username);
                println!("email:      {}", user.email.as_deref().unwrap_or("-"));
                println!("verified:   {}", user.email_verified);
                println!("name:       {}", user.name.as_deref().unwrap_or("-"));
            })
        }
        UserCommand::Join { username, group } => {
            let added = admin::groups::join(&mut *pool.get()?, by, &username, &group)?;
            let text = if added {
                format!("{username} joined group {group}")
            } else {
                format!("{username} already belongs to group {group}")
            };
            done(json, &text)
        }
        UserCommand::Leave { username, group } => {
            let removed = admin::groups::leave(&mut *pool.get()?, by, &username, &group)?;
            let text = if removed {
                format!("{username} left group {group}")
            } else {
                format!("{username} did not belong to group {group}")
            };
            done(json, &text)
        }
        UserCommand::List => {
            let users = admin::users::list(&mut *pool.get()?)?;
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
            let user = admin::users::show(&mut *pool.get()?, &username)?;
            output(json, &user, || {
                println!("username:   {}", user.username);
                println!("sub:        {}", user.id);
                println!("email:      {}", user.email.as_deref().unwrap_or("-"));
                println!("verified:   {}", user.email_verified);
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
            let hash = admin::users::hash_password(&passwords()?, &password)?;
            admin::users::set_password_hash(&mut *pool.get()?, by, &username, &hash)?;
            done(json, &format!("password of {username} changed"))
        }
        UserCommand::PasswordLink { username, ttl } => {
            let ttl = ttl.unwrap_or(settings.email.password_link_ttl_secs);
            let link = admin::password_links::create(
                &mut *pool.get()?,
                by,
                &OsRandom,
                settings.base_url(),
                &username,
                ttl,
            )?;
            output(json, &link, || {
                println!("{}", link.url);
                eprintln!(
                    "one-time link for {} to set their password, until {} (shown only now)",
                    link.username,
                    super::date(Some(link.expires_at))
                );
            })
        }
        UserCommand::Unlock { username } => {
            let cleared = admin::users::unlock(&mut *pool.get()?, by, &username)?;
            done(
                json,
                &format!("user {username} unlocked ({cleared} login counter(s) cleared)"),
            )
        }
        UserCommand::Mfa { username } => {
            let listed = admin::factors::list(&mut *pool.get()?, &username)?;
            output(json, &listed, || {
                if listed.factors.is_empty() {
                    println!("{username} has no second factor");
                }
                for f in &listed.factors {
                    let state = if f.confirmed { "active" } else { "enrolling" };
                    println!(
                        "{:<8} {:<10} {}  added {}  last used {}",
                        f.kind,
                        state,
                        f.id,
                        super::date(Some(f.created_at)),
                        super::date(f.last_used_at)
                    );
                }
                println!("recovery codes left: {}", listed.recovery_codes_left);
            })
        }
        UserCommand::MfaReset { username } => {
            let removed = admin::factors::reset(&mut *pool.get()?, by, &username)?;
            done(
                json,
                &format!(
                    "second factors of {username} reset ({removed} factor(s) and code(s) removed)"
                ),
            )
        }
        UserCommand::Disable { username } => {
            admin::users::set_disabled(&mut *pool.get()?, by, &username, true)?;
            done(json, &format!("user {username} disabled"))
        }
        UserCommand::Enable { username } => {
            admin::users::set_disabled(&mut *pool.get()?, by, &username, false)?;
            done(json, &format!("user {username} enabled"))
        }
        UserCommand::Remove { username } => {
            admin::users::remove(&mut *pool.get()?, by, &username)?;
            done(json, &format!("user {username} removed"))
        }
        UserCommand::GrantAdmin { username } => {
            admin::users::set_admin(&mut *pool.get()?, by, &username, true)?;
            done(json, &format!("user {username} is an administrator"))
        }
        UserCommand::RevokeAdmin { username } => {
            admin::users::set_admin(&mut *pool.get()?, by, &username, false)?;
            done(
                json,
                &format!("user {username} is no longer an administrator"),
            )
        }
        UserCommand::RevokeSessions { username } => {
            let (sessions, tokens) =
                admin::users::revoke_sessions(&mut *pool.get()?, by, &username)?;
            done(json, &format!("ended {sessions} session(s) and revoked {tokens} refresh token(s) of {username}"))
        }
        UserCommand::RevokeConsent { username, client } => {
            let n =
                admin::users::revoke_consent(&mut *pool.get()?, by, &username, client.as_deref())?;
            done(json, &format!("{n} consent(s) of {username} revoked"))
        }
    }
}
