//! The mixed-load part of `drill replicas`: client credentials, password grants, code flows and
//! refresh chains hopping over every replica, each access token verified against every live
//! replica's JWKS (RFC 7517), while `keys rotate --immediately` runs a third of the way in and
//! the script SIGKILLs a replica two thirds of the way in (the others must keep answering).

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::Rng;

use crate::args::Args;
use crate::flows::Tokens;
use crate::net::{unix_ms, worker_address, Failure};
use crate::replicas::Ctx;
use crate::report::{self, name};
use crate::verify::Unverified;

/// Every access token: when, from which replica, signed with which key; how long other replicas'
/// JWKS took to serve its key.
#[derive(Default)]
struct Seen {
    tokens: Vec<(Instant, usize, String)>,
    late: u64,
    slowest: Duration,
    while_down: u64,
}

struct Run<'a> {
    ctx: &'a Ctx,
    until: Instant,
    bound: Duration,
    seen: Mutex<Seen>,
}

impl Run<'_> {
    /// Checks `tokens` (issued by `replica`, already verified there) on every other live replica,
    /// allowing a JWKS that lacks the key `bound` to catch up.
    async fn everywhere(&self, tokens: Option<Tokens>, replica: usize) -> Option<Tokens> {
        let tokens = tokens?;
        let net = &self.ctx.net;
        let kid = jsonwebtoken::decode_header(&tokens.access).ok()?.kid?;
        let mut slowest = Duration::ZERO;
        for other in (0..net.targets.len()).filter(|&r| r != replica && !net.is_down(r)) {
            let base = &net.targets[other];
            match net
                .keys
                .verify(base, other, &tokens.access, self.bound)
                .await
            {
                Ok(verified) => slowest = slowest.max(verified.waited),
                Err(Unverified::Invalid(why)) => net.tally(|t| t.unverifiable.push(why)),
                Err(Unverified::Unreachable) => net.tally(|t| t.unreachable += 1),
            }
        }
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.tokens.push((Instant::now(), replica, kid));
        seen.late += u64::from(slowest > Duration::ZERO);
        seen.slowest = seen.slowest.max(slowest);
        seen.while_down += u64::from((0..net.targets.len()).any(|r| net.is_down(r)));
        Some(tokens)
    }

    async fn worker(&self, id: usize) {
        let (net, setup) = (&self.ctx.net, &self.ctx.setup);
        let mut chain: Option<String> = None;
        let mut turn = id;
        let (user, source) = (&setup.users[id % setup.users.len()], worker_address(id));
        while Instant::now() < self.until {
            turn += 1;
            let replica = turn % net.targets.len();
            let roll = rand::thread_rng().gen_range(0..100);
            match (roll, chain.take()) {
                (0..=39, kept) => {
                    chain = kept;
                    let tokens = net.client_credentials(&setup.service, replica).await;
                    self.everywhere(tokens, replica).await;
                }
                (40..=74, Some(refresh)) => {
                    let answer = net.refresh(&setup.password, &refresh, replica).await;
                    let tokens = answer.field("access_token").map(|access| Tokens {
                        access,
                        refresh: answer.field("refresh_token"),
                    });
                    if tokens.is_none() {
                        net.unexpected("token:refresh", &answer);
                    }
                    chain = self
                        .everywhere(tokens, answer.replica)
                        .await
                        .and_then(|t| t.refresh);
                }
                (75..=84, kept) => {
                    chain = kept;
                    let hops: Vec<usize> =
                        (0..3).map(|k| (replica + k) % net.targets.len()).collect();
                    let tokens = net.code_flow(&setup.web, user, &hops, Some(source)).await;
                    self.everywhere(tokens, hops[0]).await;
                }
                _ => {
                    let tokens = net
                        .password(&setup.password, user, replica, Some(source))
                        .await;
                    chain = self
                        .everywhere(tokens, replica)
                        .await
                        .and_then(|t| t.refresh);
                }
            }
        }
    }
}

pub async fn run(ctx: &mut Ctx, args: &Args, bound: Duration) -> anyhow::Result<()> {
    let duration = args.seconds("duration", 30)?;
    let concurrency = usize::try_from(args.number("concurrency", 16)?)?.max(1);
    let pid_files: Vec<_> = args.all("pid-file").into_iter().map(Into::into).collect();
    let before = report::snapshot(&pid_files);
    if let Some(ready) = args.opt("ready-file") {
        std::fs::write(ready, b"")?;
    }
    let (started, started_ms) = (Instant::now(), unix_ms());
    let load = Run {
        ctx,
        until: started + duration,
        bound,
        seen: Mutex::default(),
    };
    let cli = ctx.cli.clone();
    let rotate = async move {
        tokio::time::sleep(duration / 3).await;
        let asked = Instant::now();
        let rotate = move || crate::replicas::cli_json(&cli, &["keys", "rotate", "--immediately"]);
        let printed = tokio::task::spawn_blocking(rotate).await;
        (asked, Instant::now(), printed)
    };
    let workers = futures_util::future::join_all((0..concurrency).map(|id| load.worker(id)));
    let ((asked, rotated, printed), _) = tokio::join!(rotate, workers);
    printed??;
    let after = report::snapshot(&pid_files);
    let seen = load.seen.into_inner().unwrap_or_else(|e| e.into_inner());
    let events = report::events(args.opt("events").map(Into::into));
    let tally = ctx.net.tally(std::mem::take);
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "  mixed load: {seconds:.0} s at concurrency {concurrency}, each step on the next replica; `keys rotate --immediately` run at +{:.1} s, returned at +{:.1} s",
        (asked - started).as_secs_f64(),
        (rotated - started).as_secs_f64()
    );
    println!(
        "  requests: {} ({:.0}/s)",
        tally.requests,
        tally.requests as f64 / seconds.max(0.001)
    );
    report::print_outcomes(&tally);
    let old: BTreeSet<&str> = seen
        .tokens
        .iter()
        .filter(|t| t.0 < rotated)
        .map(|t| t.2.as_str())
        .collect();
    let mut switched = Vec::new();
    for replica in 0..ctx.replicas() {
        let last_old = seen
            .tokens
            .iter()
            .filter(|t| t.1 == replica && t.0 >= rotated && old.contains(t.2.as_str()))
            .map(|t| t.0 - rotated)
            .max();
        let new = seen
            .tokens
            .iter()
            .filter(|t| t.1 == replica && !old.contains(t.2.as_str()))
            .count();
        println!(
            "  replica {}: {new} tokens signed with the new key; last token with the old key {} after the CLI returned",
            name(replica),
            last_old.map_or("none".into(), |d| format!("{} ms", d.as_millis()))
        );
        switched.push(new > 0 && last_old.is_none_or(|d| d <= bound));
    }
    println!(
        "  {} access tokens checked on every live replica's JWKS: {} needed a replica to catch up on a new key (slowest {} ms, bound {} ms), {} unverifiable",
        seen.tokens.len(),
        seen.late,
        seen.slowest.as_millis(),
        bound.as_millis(),
        tally.unverifiable.len()
    );
    let killed = report::event(&events, "killed");
    let refused: Vec<usize> = tally
        .failures
        .iter()
        .filter(|f| matches!(f.what, Failure::Refused | Failure::Broken))
        .map(|f| f.replica)
        .collect();
    let server_errors = tally.count(Failure::ServerError) + tally.count(Failure::Unavailable);
    println!(
        "  replica {} SIGKILLed at {}: {} connection errors (all on replicas {:?}), every step retried on another replica; {} tokens issued while it was down; 5xx: {server_errors}",
        name(ctx.replicas() - 1),
        killed.map_or("(no event)".into(), |at| format!("+{:.1} s", (at as f64 - started_ms as f64) / 1000.0)),
        refused.len(),
        refused.iter().copied().collect::<BTreeSet<_>>(),
        seen.while_down,
    );
    report::print_resources(&before, &after);
    let last = ctx.replicas() - 1;
    let goals = &mut ctx.goals;
    goals.check(
        "every replica signs with the new key, and stops using the old one within the bound",
        switched.iter().all(|s| *s),
    );
    goals.check(
        "every access token verifies on every replica's JWKS",
        tally.unverifiable.is_empty(),
    );
    goals.check(
        "zero 5xx, and no unexpected answer",
        server_errors == 0 && tally.unexpected == 0,
    );
    goals.check(
        "the killed replica was killed mid-load, the others kept answering",
        killed.is_some() && seen.while_down > 0 && refused.iter().all(|r| *r == last),
    );
    Ok(())
}
