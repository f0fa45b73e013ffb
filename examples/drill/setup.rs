//! `drill setup`: registers the drill's clients and users with the `latchkey` CLI (`--json`) and
//! writes them to a JSON file the load steps read. The CLI writes the database the environment
//! names (`LATCHKEY__DATABASE__URL`), exactly as an operator's commands would.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::args::Args;

/// Where the authorization-code flows are sent back: never followed, only read.
pub const REDIRECT_URI: &str = "http://127.0.0.1:9/callback";

/// A registered client's credentials (`secret` is `None` for a public client).
#[derive(Clone, Serialize, Deserialize)]
pub struct Credentials {
    pub client_id: String,
    pub secret: Option<String>,
}

#[derive(Clone, Serialize, Deserialize)]
pub struct User {
    pub username: String,
    pub password: String,
}

/// Everything the load steps need.
#[derive(Clone, Serialize, Deserialize)]
pub struct Setup {
    /// client_credentials only.
    pub service: Credentials,
    /// password + refresh_token.
    pub password: Credentials,
    /// authorization_code + refresh_token, confidential, not first-party (consent is shown).
    pub web: Credentials,
    /// client_credentials, whose secret `drill replicas` rotates with the CLI.
    pub rotated: Credentials,
    pub users: Vec<User>,
    /// Used by the shared-lockout check.
    pub victim: User,
}

impl Setup {
    pub fn load(args: &Args) -> anyhow::Result<Self> {
        let path = args.path("setup")?;
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        Ok(serde_json::from_str(&text)?)
    }
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let cli = args.path("latchkey")?;
    let out = args.path("out")?;
    let setup = Setup {
        service: client(&cli, "drill-service", &["client_credentials"], &[])?,
        password: client(
            &cli,
            "drill-password",
            &["password", "refresh_token"],
            &["--scope", "openid offline_access"],
        )?,
        web: client(
            &cli,
            "drill-web",
            &["authorization_code", "refresh_token"],
            &[
                "--redirect-uri",
                REDIRECT_URI,
                "--scope",
                "openid profile offline_access",
            ],
        )?,
        rotated: client(&cli, "drill-rotated", &["client_credentials"], &[])?,
        users: (0..args.number("users", 8)?)
            .map(|n| user(&cli, &format!("drill-user-{n}")))
            .collect::<anyhow::Result<_>>()?,
        victim: user(&cli, "drill-victim")?,
    };
    std::fs::write(&out, serde_json::to_vec_pretty(&setup)?)
        .with_context(|| format!("writing {}", out.display()))?;
    Ok(())
}

fn client(cli: &Path, name: &str, grants: &[&str], extra: &[&str]) -> anyhow::Result<Credentials> {
    let mut command = Command::new(cli);
    command.args(["client", "add", name, "--json"]);
    for grant in grants {
        command.args(["--grant", grant]);
    }
    command.args(extra);
    let printed: Value = serde_json::from_slice(&output(command, None)?)?;
    Ok(Credentials {
        client_id: printed["client_id"]
            .as_str()
            .context("client add printed no client_id")?
            .to_owned(),
        secret: printed["client_secret"].as_str().map(str::to_owned),
    })
}

fn user(cli: &Path, username: &str) -> anyhow::Result<User> {
    let password = format!(
        "drill {} correct horse battery",
        crate::flows::random_token()
    );
    let mut command = Command::new(cli);
    command.args(["user", "add", username, "--password-stdin"]);
    output(command, Some(&password))?;
    Ok(User {
        username: username.to_owned(),
        password,
    })
}

/// Runs a CLI command (stdin fed when given) and returns its standard output.
pub fn output(mut command: Command, stdin: Option<&str>) -> anyhow::Result<Vec<u8>> {
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().context("starting the latchkey CLI")?;
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        writeln!(pipe, "{text}")?;
    }
    let done = child.wait_with_output()?;
    if !done.status.success() {
        bail!(
            "{:?} failed: {}",
            command.get_args().collect::<Vec<_>>(),
            String::from_utf8_lossy(&done.stderr).trim()
        );
    }
    Ok(done.stdout)
}
