//! `drill soak`: mixed load at a fixed concurrency for a fixed time, spread over the replicas
//! given, then an account of every refresh token handed out (RFC 6749 §6, with rotation and
//! reuse detection, RFC 9700 §4.14): each chain's last token must still work, unless the
//! client revoked it (then it must be refused) or a retry the client could not tell apart from
//! a reuse revoked it. The outage, if any, is done by the script; its events are read afterwards.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::Rng;

use crate::args::Args;
use crate::net::{unix_ms, worker_address, Failed, Failure, Net};
use crate::report::{self, Goals};
use crate::setup::{Credentials, Setup};

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Live,
    /// Revoked by the client (RFC 7009): must be refused from then on.
    Revoked,
    /// Refused after a step whose answer was lost or retried: a detected reuse.
    Reused,
    /// Refused with no reason the client knows of.
    Lost,
}

/// One refresh chain: the last refresh token handed out, and how many came before it.
struct Chain {
    web: bool,
    refresh: String,
    access: String,
    handed_out: u64,
    ambiguous: bool,
    state: State,
}

struct Load {
    net: Net,
    setup: Setup,
    until: Instant,
}

impl Load {
    fn client(&self, chain: &Chain) -> &Credentials {
        if chain.web {
            &self.setup.web
        } else {
            &self.setup.password
        }
    }

    /// A new chain for client `id`, through a code flow (`web`) or the password grant.
    async fn new_chain(&self, web: bool, id: usize, turn: usize) -> Option<Chain> {
        let users = &self.setup.users;
        let (user, source) = (&users[id % users.len()], Some(worker_address(id)));
        let replicas = self.net.targets.len();
        let tokens = if web {
            let hops: Vec<usize> = (0..replicas).map(|n| (turn + n) % replicas).collect();
            self.net
                .code_flow(&self.setup.web, user, &hops, source)
                .await?
        } else {
            let password = &self.setup.password;
            self.net.password(password, user, turn, source).await?
        };
        Some(Chain {
            web,
            refresh: tokens.refresh?,
            access: tokens.access,
            handed_out: 1,
            ambiguous: false,
            state: State::Live,
        })
    }

    /// Rotates `chain` once; answers nothing, records what happened to the chain.
    async fn refresh(&self, chain: &mut Chain, replica: usize) {
        let answer = self
            .net
            .refresh(self.client(chain), &chain.refresh, replica)
            .await;
        match (answer.status, answer.field("refresh_token")) {
            (200, Some(next)) => {
                chain.refresh = next;
                chain.access = answer.field("access_token").unwrap_or_default();
                chain.handed_out += 1;
                chain.ambiguous = false;
            }
            (400, _) if answer.error() == "invalid_grant" => {
                chain.state = if answer.ambiguous || chain.ambiguous {
                    State::Reused
                } else {
                    self.net.unexpected("token:refresh", &answer);
                    State::Lost
                };
            }
            (0, _) => chain.ambiguous = true,
            _ => self.net.unexpected("token:refresh", &answer),
        }
    }

    async fn worker(self: Arc<Self>, id: usize) -> Vec<Chain> {
        let mut chains: Vec<Chain> = Vec::new();
        let mut turn = id;
        while Instant::now() < self.until {
            turn += 1;
            let replica = turn % self.net.targets.len();
            let roll = rand::thread_rng().gen_range(0..100);
            let live: Vec<usize> = (0..chains.len())
                .filter(|&n| chains[n].state == State::Live)
                .collect();
            let pick = (!live.is_empty()).then(|| live[turn % live.len()]);
            match (roll, pick) {
                (0..=29, _) => {
                    self.net
                        .client_credentials(&self.setup.service, replica)
                        .await;
                }
                (30..=44, _) => {
                    self.net.jwks(replica).await;
                }
                (45..=69, Some(n)) => self.refresh(&mut chains[n], replica).await,
                (70..=81, Some(n)) => {
                    let chain = &chains[n];
                    self.net
                        .introspect(self.client(chain), &chain.access, replica)
                        .await;
                }
                (82..=85, Some(n)) => {
                    let chain = &mut chains[n];
                    if self
                        .net
                        .revoke(self.client(chain), &chain.refresh, replica)
                        .await
                    {
                        chain.state = State::Revoked;
                    }
                }
                (86..=92, _) => chains.extend(self.new_chain(true, id, turn).await),
                _ => chains.extend(self.new_chain(false, id, turn).await),
            }
        }
        chains
    }

    /// After the load: each chain's last token used once more.
    async fn account(&self, chain: &mut Chain, replica: usize) -> bool {
        match chain.state {
            State::Live => {
                self.refresh(chain, replica).await;
                true
            }
            State::Revoked => {
                let answer = self
                    .net
                    .refresh(self.client(chain), &chain.refresh, replica)
                    .await;
                answer.status == 400 && answer.error() == "invalid_grant"
            }
            State::Reused | State::Lost => true,
        }
    }
}

pub async fn run(args: &Args) -> anyhow::Result<bool> {
    let phase = args.opt("phase").unwrap_or_else(|| "soak".into());
    let outage = args.opt("outage").unwrap_or_else(|| "none".into());
    let duration = args.seconds("duration", 60)?;
    let concurrency = usize::try_from(args.number("concurrency", 64)?)?.max(1);
    let recovery_goal = args.seconds("recovery-goal", 5)?;
    let pid_files: Vec<_> = args.all("pid-file").into_iter().map(Into::into).collect();
    let load = Arc::new(Load {
        net: Net::new(args.targets()?, args.one("issuer")?)?,
        setup: Setup::load(args)?,
        until: Instant::now() + duration,
    });
    let before = report::snapshot(&pid_files);
    let (started, started_ms) = (Instant::now(), unix_ms());
    let workers: Vec<_> = (0..concurrency)
        .map(|id| tokio::spawn(load.clone().worker(id)))
        .collect();
    let mut chains = Vec::new();
    for worker in workers {
        chains.extend(worker.await?);
    }
    let seconds = started.elapsed().as_secs_f64();
    let during_load = load.net.tally(|t| t.requests);
    let mut revocations_lost = 0;
    for (n, chain) in chains.iter_mut().enumerate() {
        if !load.account(chain, n).await {
            revocations_lost += 1;
        }
    }
    let after = report::snapshot(&pid_files);
    let events = report::events(args.opt("events").map(Into::into));
    let count = |state| chains.iter().filter(|c| c.state == state).count();
    let handed_out: u64 = chains.iter().map(|c| c.handed_out).sum();
    let lost = count(State::Lost);

    println!(
        "== phase {phase}: {:.0} s at concurrency {concurrency} over {} replica(s), outage: {outage}",
        seconds,
        load.net.targets.len()
    );
    let mut goals = Goals::default();
    let tally = load.net.tally(std::mem::take);
    println!(
        "  requests: {during_load} during the load ({:.0}/s), {} in the final account of the refresh chains",
        during_load as f64 / seconds.max(0.001),
        tally.requests - during_load
    );
    report::print_outcomes(&tally);
    let server_errors = tally.count(Failure::ServerError);
    let unavailable = tally.count(Failure::Unavailable);
    let connection = tally.count(Failure::Refused) + tally.count(Failure::Broken);
    println!(
        "  5xx: {} ({unavailable} × 503 temporarily_unavailable with Retry-After, {server_errors} other); connection errors: {connection}",
        unavailable + server_errors
    );
    println!(
        "  refresh tokens handed out: {handed_out} in {} chains: {} rotated by the client, {} still work, {} revoked by the client (and refused), {} revoked by a detected reuse, {lost} lost",
        chains.len(),
        handed_out - chains.len() as u64,
        count(State::Live),
        count(State::Revoked),
        count(State::Reused),
    );
    report::print_resources(&before, &after);
    for (name, at) in &events {
        println!(
            "  event {name} at +{:.1} s",
            (*at as f64 - started_ms as f64) / 1000.0
        );
    }
    goals.check(
        "no server error other than 503 temporarily_unavailable with Retry-After",
        server_errors == 0,
    );
    goals.check(format!("zero lost refresh chains ({lost})"), lost == 0);
    goals.check(
        format!("every revoked refresh token refused ({revocations_lost} accepted)"),
        revocations_lost == 0,
    );
    goals.check(
        format!(
            "every access token verifies ({} did not)",
            tally.unverifiable.len()
        ),
        tally.unverifiable.is_empty(),
    );
    goals.check(
        format!("no unexpected answer ({})", tally.unexpected),
        tally.unexpected == 0,
    );
    match outage.as_str() {
        "none" => goals.check(
            format!(
                "steady state: zero 5xx ({}) and zero connection errors ({connection})",
                unavailable + server_errors
            ),
            unavailable + server_errors + connection == 0,
        ),
        _ => outage_goals(&mut goals, &tally.failures, &events, recovery_goal, &outage),
    }
    Ok(goals.print())
}

/// During an outage only 503s (database) or refused connections to the killed replica
/// (replica), and none later than the recovery goal after the script saw the server back.
fn outage_goals(
    goals: &mut Goals,
    failures: &[Failed],
    events: &[(String, u64)],
    recovery_goal: Duration,
    outage: &str,
) {
    let (Some(down), Some(up)) = (report::event(events, "down"), report::event(events, "up"))
    else {
        goals.check("the script recorded the outage (down and up events)", false);
        return;
    };
    let allowed = |f: &Failed| match outage {
        "database" => f.what == Failure::Unavailable,
        _ => matches!(f.what, Failure::Refused | Failure::Broken) && f.replica == 1,
    };
    let mut strays: BTreeMap<String, usize> = BTreeMap::new();
    for f in failures
        .iter()
        .filter(|f| !allowed(f) && f.what != Failure::ServerError)
    {
        let key = format!("{:?} on {} at {}", f.what, report::name(f.replica), f.kind);
        *strays.entry(key).or_default() += 1;
    }
    let stray: usize = strays.values().sum();
    let own = || failures.iter().filter(|f| allowed(f)).map(|f| f.at);
    let last = own().max().unwrap_or(up).max(up);
    let first = own().min().unwrap_or(down);
    let recovery = Duration::from_millis(last - up);
    println!(
        "  outage: down for {:.1} s; its failures from {:+.1} s after it began to {:.1} s after its end (recovery)",
        (up.saturating_sub(down)) as f64 / 1000.0,
        (first as f64 - down as f64) / 1000.0,
        recovery.as_secs_f64()
    );
    for (what, count) in &strays {
        println!("    not the outage's own: {count} × {what}");
    }
    goals.check(
        format!("only the outage's own failures ({stray} others)"),
        stray == 0,
    );
    goals.check(
        format!(
            "none before the outage began ({} early)",
            failures.iter().filter(|f| f.at + 500 < down).count()
        ),
        failures.iter().all(|f| f.at + 500 >= down),
    );
    goals.check(
        format!(
            "recovery within {} s of the return ({:.1} s)",
            recovery_goal.as_secs(),
            recovery.as_secs_f64()
        ),
        recovery <= recovery_goal,
    );
}
