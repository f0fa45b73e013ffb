//! `drill replicas`: three replicas on one PostgreSQL, each step of every flow on a different
//! one — authorization code with PKCE (RFC 6749 §4.1, RFC 7636), refresh chains hopping (§6),
//! dynamic registration on one used on the others (RFC 7591/7592), a CLI change seen by all
//! within the documented bound, one login lockout shared by all — then mixed load during which
//! the keys are rotated at once (`keys rotate --immediately`) and the script kills a replica
//! ([`crate::rotation`]).

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::args::Args;
use crate::net::{Call, Net};
use crate::report::{name, Goals};
use crate::setup::{self, Credentials, Setup, User, REDIRECT_URI};

/// What the checks share.
pub struct Ctx {
    pub net: Net,
    pub setup: Setup,
    pub cli: PathBuf,
    pub goals: Goals,
}

/// Runs the `latchkey` CLI with `--json` and returns what it printed.
pub fn cli_json(cli: &Path, args: &[&str]) -> anyhow::Result<Value> {
    let mut command = Command::new(cli);
    command.args(args).arg("--json");
    Ok(serde_json::from_slice(&setup::output(command, None)?)?)
}

impl Ctx {
    pub fn cli_json(&self, args: &[&str]) -> anyhow::Result<Value> {
        cli_json(&self.cli, args)
    }

    pub fn replicas(&self) -> usize {
        self.net.targets.len()
    }

    /// Verifies `access` against every replica's JWKS now (no cache period to wait for).
    async fn verify_everywhere(&self, access: &str) -> bool {
        let mut all = true;
        for replica in 0..self.replicas() {
            all &= self.net.check(access, replica, Duration::ZERO).await;
        }
        all
    }
}

pub async fn run(args: &Args) -> anyhow::Result<bool> {
    let mut ctx = Ctx {
        net: Net::new(args.targets()?, args.one("issuer")?)?,
        setup: Setup::load(args)?,
        cli: args.path("latchkey")?,
        goals: Goals::default(),
    };
    anyhow::ensure!(
        ctx.replicas() >= 3,
        "drill replicas needs three --target URLs"
    );
    let names: Vec<String> = (0..ctx.replicas())
        .map(|r| format!("{} {}", name(r), ctx.net.targets[r]))
        .collect();
    println!(
        "== replicas: {}, issuer {}",
        names.join(", "),
        ctx.net.issuer
    );
    code_flows(&mut ctx).await;
    registration(&mut ctx).await?;
    let bound = Duration::from_millis(args.number("change-bound-ms", 1500)?);
    cli_change(&mut ctx, bound).await?;
    lockout(&mut ctx, args.number("lockout", 20)?).await?;
    let checks = ctx.net.tally(std::mem::take);
    println!(
        "  these checks: {} requests, {} failed attempts (5xx or broken connections), {} unexpected answers, {} unverifiable tokens",
        checks.requests,
        checks.failures.len(),
        checks.unexpected,
        checks.unverifiable.len()
    );
    for sample in &checks.samples {
        println!("    e.g. {sample}");
    }
    ctx.goals.check(
        "the checks above met no 5xx, connection error, unexpected answer or unverifiable token",
        checks.failures.is_empty() && checks.unexpected == 0 && checks.unverifiable.is_empty(),
    );
    crate::rotation::run(&mut ctx, args, bound).await?;
    println!("== replicas: goals");
    Ok(ctx.goals.print())
}

/// Authorization-code flows whose steps go round the replicas, then refresh chains hopping.
async fn code_flows(ctx: &mut Ctx) {
    let n = ctx.replicas();
    let (mut flows, mut refreshes, mut userinfo) = (0, 0, 0);
    for start in 0..n {
        let hops: Vec<usize> = (0..n).map(|k| (start + k) % n).collect();
        let user = &ctx.setup.users[start % ctx.setup.users.len()];
        let Some(tokens) = ctx.net.code_flow(&ctx.setup.web, user, &hops, None).await else {
            continue;
        };
        flows += usize::from(ctx.verify_everywhere(&tokens.access).await);
        refreshes += hop_chain(ctx, &ctx.setup.web, tokens.refresh, start, 2 * n).await;
        for replica in 0..n {
            let call = Call::get("userinfo", "/userinfo".into(), replica);
            let answer = ctx
                .net
                .send(Call {
                    bearer: Some(&tokens.access),
                    ..call
                })
                .await;
            userinfo += usize::from(answer.status == 200 && answer.json["sub"].is_string());
        }
    }
    println!(
        "  authorization code + PKCE, steps going round the replicas (authorize on one, login form on the next, consent and code exchange on the others): {flows}/{n} flows, access tokens verified on every replica's JWKS"
    );
    println!(
        "  refresh chains hopping replica to replica: {refreshes}/{} rotations",
        2 * n * n
    );
    println!(
        "  userinfo on every replica with each access token: {userinfo}/{}",
        n * n
    );
    ctx.goals.check("code flows across replicas", flows == n);
    ctx.goals.check(
        "refresh chains hopping across replicas",
        refreshes == 2 * n * n,
    );
    ctx.goals
        .check("userinfo on every replica", userinfo == n * n);
}

/// Rotates `refresh` `times` times, each on the next replica; the count of rotations that worked.
async fn hop_chain(
    ctx: &Ctx,
    client: &Credentials,
    mut refresh: Option<String>,
    start: usize,
    times: usize,
) -> usize {
    let mut done = 0;
    for k in 0..times {
        let Some(token) = refresh.take() else { break };
        let answer = ctx.net.refresh(client, &token, start + k + 1).await;
        refresh = answer.field("refresh_token");
        if answer.status == 200 && refresh.is_some() {
            done += 1;
        } else {
            ctx.net.unexpected("token:refresh", &answer);
        }
    }
    done
}

/// RFC 7591 registration on the first replica; RFC 7592 read, a code flow and refreshes on the
/// others.
async fn registration(ctx: &mut Ctx) -> anyhow::Result<()> {
    let metadata = json!({
        "client_name": "Drill registered app",
        "redirect_uris": [REDIRECT_URI],
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "scope": "openid profile offline_access",
    });
    let http = reqwest::Client::new();
    let target = |r: usize| ctx.net.targets[r % ctx.replicas()].clone();
    let response = http
        .post(format!("{}/register", target(0)))
        .json(&metadata)
        .send()
        .await?;
    let status = response.status().as_u16();
    let registered: Value = response.json().await.unwrap_or(Value::Null);
    let (Some(client_id), Some(access), Some(uri)) = (
        registered["client_id"].as_str(),
        registered["registration_access_token"].as_str(),
        registered["registration_client_uri"].as_str(),
    ) else {
        println!("  registration on A: {status} {registered}");
        ctx.goals
            .check("dynamic registration on one replica", false);
        return Ok(());
    };
    let path = uri.find("/register").map_or(uri, |at| &uri[at..]);
    let read = http
        .get(format!("{}{path}", target(1)))
        .bearer_auth(access)
        .send()
        .await?
        .status()
        .as_u16();
    let client = Credentials {
        client_id: client_id.to_owned(),
        secret: None,
    };
    let user = ctx.setup.users[0].clone();
    let tokens = ctx.net.code_flow(&client, &user, &[1, 2, 0], None).await;
    let verified = match &tokens {
        Some(t) => ctx.verify_everywhere(&t.access).await,
        None => false,
    };
    let refreshes = hop_chain(ctx, &client, tokens.and_then(|t| t.refresh), 1, 3).await;
    println!(
        "  registration: registered on A ({status}), read on B with its registration token ({read}), code flow on B, C, A ({}), refreshed on C, A, B ({refreshes}/3)",
        if verified { "tokens verified on every replica" } else { "FAILED" }
    );
    ctx.goals.check(
        "a client registered on one replica works on the others",
        status == 201 && read == 200 && verified && refreshes == 3,
    );
    Ok(())
}

/// `client rotate-secret` from the CLI: the new secret works on every replica at once, the old
/// one stops working on every replica within `bound`.
async fn cli_change(ctx: &mut Ctx, bound: Duration) -> anyhow::Result<()> {
    let old = ctx.setup.rotated.clone();
    let mut before = 0;
    for replica in 0..ctx.replicas() {
        before += usize::from(ctx.net.client_credentials(&old, replica).await.is_some());
    }
    let printed = ctx.cli_json(&["client", "rotate-secret", &old.client_id])?;
    let changed = Instant::now();
    let new = Credentials {
        client_id: old.client_id.clone(),
        secret: printed["client_secret"].as_str().map(str::to_owned),
    };
    let mut at_once = 0;
    let mut stopped = Vec::new();
    for replica in 0..ctx.replicas() {
        at_once += usize::from(ctx.net.client_credentials(&new, replica).await.is_some());
    }
    for replica in 0..ctx.replicas() {
        loop {
            let call = Call::post(
                "token:cc",
                "/token",
                vec![("grant_type".into(), "client_credentials".into())],
                replica,
            );
            let answer = ctx.net.send(call.by(&old)).await;
            if answer.status == 401 && answer.error() == "invalid_client" {
                stopped.push(changed.elapsed());
                break;
            }
            if changed.elapsed() > bound * 4 {
                stopped.push(changed.elapsed());
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
    let slowest = stopped.iter().max().copied().unwrap_or_default();
    let shown: Vec<String> = stopped
        .iter()
        .enumerate()
        .map(|(r, d)| format!("{} {} ms", name(r), d.as_millis()))
        .collect();
    println!(
        "  CLI `client rotate-secret`: old secret worked on {before}/{n} before; new secret worked at once on {at_once}/{n}; old secret refused after {} (bound {} ms)",
        shown.join(", "),
        bound.as_millis(),
        n = ctx.replicas()
    );
    ctx.goals.check(
        "a CLI change reaches every replica within the bound",
        before == ctx.replicas() && at_once == ctx.replicas() && slowest <= bound,
    );
    Ok(())
}

/// Wrong passwords spread over the replicas (each from its own loopback address, so only the
/// per-account counter adds up) lock the account on every replica; `user unlock` frees it.
async fn lockout(ctx: &mut Ctx, failures: u64) -> anyhow::Result<()> {
    let n = ctx.replicas();
    let victim = ctx.setup.victim.clone();
    let wrong = User {
        password: format!("{} but wrong", victim.password),
        ..victim.clone()
    };
    let mut per_replica = vec![0u64; n];
    let mut refused_wrong = 0;
    for k in 0..failures {
        let replica = usize::try_from(k).unwrap_or(0) % n;
        let answer = ctx
            .net
            .password_raw(&ctx.setup.password, &wrong, replica, Some(source(10, k)))
            .await;
        per_replica[replica] += 1;
        refused_wrong += u64::from(matches!(answer.status, 400 | 429));
    }
    let locked = right_password_everywhere(ctx, &victim, 20).await;
    ctx.cli_json(&["user", "unlock", &victim.username])?;
    let unlocked = right_password_everywhere(ctx, &victim, 30).await;
    println!(
        "  shared lockout: {failures} wrong passwords spread over the replicas ({per_replica:?}, each from its own address) all refused ({refused_wrong}); then the right password answered {locked:?} on A, B, C; after `user unlock` (CLI): {unlocked:?}"
    );
    ctx.goals.check(
        "wrong passwords on different replicas add up to one shared lockout",
        refused_wrong == failures && locked.iter().all(|s| *s == 429),
    );
    ctx.goals.check(
        "a CLI unlock frees the account on every replica",
        unlocked.iter().all(|s| *s == 200),
    );
    Ok(())
}

/// A loopback source address of its own for attempt `k` of a series (`block`).
fn source(block: u8, k: u64) -> IpAddr {
    let low = u8::try_from(k % 200 + 2).unwrap_or(2);
    IpAddr::V4(Ipv4Addr::new(
        127,
        block,
        u8::try_from(k / 200).unwrap_or(0),
        low,
    ))
}

/// The right password of `user` on every replica, each from a new address: the statuses.
async fn right_password_everywhere(ctx: &Ctx, user: &User, block: u8) -> Vec<u16> {
    let mut statuses = Vec::new();
    for replica in 0..ctx.replicas() {
        let k = u64::try_from(replica).unwrap_or(0);
        let answer = ctx
            .net
            .password_raw(&ctx.setup.password, user, replica, Some(source(block, k)))
            .await;
        statuses.push(answer.status);
    }
    statuses
}
