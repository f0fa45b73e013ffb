//! Sending one step of a flow to one replica, the way a careful client behind a load balancer
//! does: a refused connection goes to the next replica, a 503 is retried after its `Retry-After`
//! (RFC 9110 §10.2.3), and every attempt is tallied by endpoint, status and OAuth `error`.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use reqwest::Method;
use serde_json::Value;

use crate::setup::Credentials;
use crate::verify::Verifier;

/// A step retried this long (through an outage) is given up and counted as unexpected.
const GIVE_UP: Duration = Duration::from_secs(30);
/// What hyper says when a server writes on a connection with no request in flight.
const UNSOLICITED: &str = "received unexpected message from connection";
/// Longest wait honoured from a `Retry-After`.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(3);

/// Milliseconds since the Unix epoch: the clock the scripts write their events with.
pub fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// What went wrong with one attempt, for the outage timeline.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Failure {
    /// 503 `temporarily_unavailable` (or the busy page) with `Retry-After`: the designed answer.
    Unavailable,
    /// Any other 5xx: never acceptable.
    ServerError,
    /// The connection was refused: nothing reached the server.
    Refused,
    /// The connection broke after the request was sent: it may or may not have been served.
    Broken,
    /// A pooled connection the client had opened but not used yet was closed by the server's
    /// request timeout (a 408 on an idle connection): the request was never sent. Happens when
    /// the machine is too busy for the client to use a connection within 5 s of opening it.
    Stale,
}

/// One failed attempt: when (Unix ms), on which replica, at which endpoint, what.
pub struct Failed {
    pub at: u64,
    pub replica: usize,
    pub kind: &'static str,
    pub what: Failure,
}

/// Everything counted during a run.
#[derive(Default)]
pub struct Tally {
    pub requests: u64,
    /// "endpoint status error" → attempts.
    pub outcomes: BTreeMap<String, u64>,
    /// Every failed attempt.
    pub failures: Vec<Failed>,
    pub unexpected: u64,
    pub samples: Vec<String>,
    pub verified: u64,
    pub unverifiable: Vec<String>,
    /// Verifications skipped because the replica's JWKS could not be fetched (it was down).
    pub unreachable: u64,
}

impl Tally {
    pub fn count(&self, what: Failure) -> usize {
        self.failures.iter().filter(|f| f.what == what).count()
    }

    fn sample(&mut self, line: String) {
        if self.samples.len() < 8 {
            self.samples.push(line);
        }
    }
}

/// One step of a flow.
pub struct Call<'a> {
    pub kind: &'static str,
    pub method: Method,
    pub path: String,
    pub form: Option<Vec<(String, String)>>,
    /// `client_secret_basic` when the client has a secret.
    pub client: Option<&'a Credentials>,
    pub bearer: Option<&'a str>,
    pub replica: usize,
}

impl<'a> Call<'a> {
    pub fn get(kind: &'static str, path: String, replica: usize) -> Self {
        Self {
            kind,
            method: Method::GET,
            path,
            form: None,
            client: None,
            bearer: None,
            replica,
        }
    }

    pub fn post(
        kind: &'static str,
        path: &str,
        form: Vec<(String, String)>,
        replica: usize,
    ) -> Self {
        Self {
            method: Method::POST,
            form: Some(form),
            ..Self::get(kind, path.to_owned(), replica)
        }
    }

    pub fn by(mut self, client: &'a Credentials) -> Self {
        if client.secret.is_none() {
            if let Some(form) = &mut self.form {
                form.push(("client_id".into(), client.client_id.clone()));
            }
        }
        self.client = Some(client);
        self
    }
}

/// The final answer to a step (`status` 0: given up).
pub struct Answer {
    pub status: u16,
    pub location: Option<String>,
    /// `Retry-After` in seconds.
    pub retry_after: Option<u64>,
    pub body: String,
    pub json: Value,
    /// An earlier attempt may have been served (a broken connection or a 503).
    pub ambiguous: bool,
    pub replica: usize,
}

impl Answer {
    pub fn error(&self) -> &str {
        self.json["error"].as_str().unwrap_or("")
    }

    pub fn field(&self, name: &str) -> Option<String> {
        self.json[name].as_str().map(str::to_owned)
    }
}

/// The replicas driven, their key sets, and the tally.
pub struct Net {
    pub targets: Vec<String>,
    pub issuer: String,
    pub keys: Verifier,
    pub tally: Mutex<Tally>,
    /// Replicas that refused a connection: killed, as far as the drill can tell.
    down: Vec<AtomicBool>,
    plain: reqwest::Client,
}

impl Net {
    pub fn new(targets: Vec<String>, issuer: String) -> anyhow::Result<Self> {
        Ok(Self {
            keys: Verifier::new(targets.len(), &issuer),
            down: targets.iter().map(|_| AtomicBool::new(false)).collect(),
            targets,
            issuer,
            tally: Mutex::default(),
            plain: browser(false, None)?,
        })
    }

    pub fn is_down(&self, replica: usize) -> bool {
        self.down
            .get(replica)
            .is_some_and(|d| d.load(Ordering::Relaxed))
    }

    pub fn tally<T>(&self, f: impl FnOnce(&mut Tally) -> T) -> T {
        f(&mut self.tally.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// An answer the flow did not expect: counted, and the first few kept for the report.
    pub fn unexpected(&self, kind: &str, answer: &Answer) {
        let mut body = answer.body.clone();
        body.truncate(160);
        self.tally(|t| {
            t.unexpected += 1;
            t.sample(format!(
                "{kind} on replica {}: {} {body}",
                answer.replica, answer.status
            ));
        });
    }

    /// Sends `call` without cookies.
    pub async fn send(&self, call: Call<'_>) -> Answer {
        self.send_with(&self.plain, call).await
    }

    /// Sends `call` with `http` (a browser's cookie jar), retrying as a client behind a load
    /// balancer would, until an answer other than 503 arrives or [`GIVE_UP`] has passed.
    pub async fn send_with(&self, http: &reqwest::Client, call: Call<'_>) -> Answer {
        let give_up = Instant::now() + GIVE_UP;
        let mut replica = call.replica % self.targets.len();
        let mut ambiguous = false;
        while Instant::now() < give_up {
            let mut request = http.request(
                call.method.clone(),
                format!("{}{}", self.targets[replica], call.path),
            );
            if let Some(form) = &call.form {
                request = request.form(form);
            }
            if let Some(
                client @ Credentials {
                    secret: Some(secret),
                    ..
                },
            ) = call.client
            {
                request = request.basic_auth(&client.client_id, Some(secret));
            }
            if let Some(token) = call.bearer {
                request = request.bearer_auth(token);
            }
            match self.attempt(call.kind, replica, request).await {
                Ok(answer) if answer.status == 503 => {
                    ambiguous = true;
                    tokio::time::sleep(retry_after(&answer)).await;
                }
                // RFC 9110 §15.5.9: the server timed out waiting for the request; repeat it.
                Ok(answer) if answer.status == 408 => {}
                Ok(mut answer) => {
                    answer.ambiguous = ambiguous;
                    return answer;
                }
                Err(Failure::Stale) => {}
                Err(failure) => {
                    ambiguous |= failure == Failure::Broken;
                    replica = (replica + 1) % self.targets.len();
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
        let answer = Answer {
            status: 0,
            location: None,
            retry_after: None,
            body: format!("given up after {} s of retries", GIVE_UP.as_secs()),
            json: Value::Null,
            ambiguous,
            replica,
        };
        self.unexpected(call.kind, &answer);
        answer
    }

    /// One attempt; `Err` says how the connection failed.
    async fn attempt(
        &self,
        kind: &'static str,
        replica: usize,
        request: reqwest::RequestBuilder,
    ) -> Result<Answer, Failure> {
        let sent = request.send().await;
        let response = match sent {
            Ok(response) => response,
            Err(e) => return Err(self.broken(kind, replica, &e)),
        };
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let (location, retry) = (header("location"), header("retry-after"));
        let body = match response.text().await {
            Ok(body) => body,
            Err(e) => return Err(self.broken(kind, replica, &e)),
        };
        let json: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        let error = json["error"].as_str().unwrap_or("");
        let failure = match status {
            503 if retry.is_some() && (error == "temporarily_unavailable" || json.is_null()) => {
                Some(Failure::Unavailable)
            }
            500..=599 => Some(Failure::ServerError),
            _ => None,
        };
        self.tally(|t| {
            t.requests += 1;
            *t.outcomes
                .entry(format!("{kind} {status} {error}"))
                .or_default() += 1;
            if let Some(failure) = failure {
                t.failures.push(Failed {
                    at: unix_ms(),
                    replica,
                    kind,
                    what: failure,
                });
            }
            if failure == Some(Failure::ServerError) {
                t.sample(format!("{kind} on replica {replica}: {status} {body:.160}"));
            }
        });
        Ok(Answer {
            status,
            location,
            retry_after: retry.and_then(|v| v.trim().parse().ok()),
            body,
            json,
            ambiguous: false,
            replica,
        })
    }

    fn broken(&self, kind: &'static str, replica: usize, error: &reqwest::Error) -> Failure {
        let text = chain(error);
        let failure = if error.is_connect() {
            Failure::Refused
        } else if text.contains(UNSOLICITED) {
            Failure::Stale
        } else {
            Failure::Broken
        };
        if let (Failure::Refused, Some(down)) = (failure, self.down.get(replica)) {
            down.store(true, Ordering::Relaxed);
        }
        let what = match failure {
            Failure::Refused => "connection refused",
            Failure::Stale => "unused connection timed out",
            _ => "connection broken",
        };
        self.tally(|t| {
            t.requests += 1;
            *t.outcomes.entry(format!("{kind} {what}")).or_default() += 1;
            if failure != Failure::Stale {
                t.failures.push(Failed {
                    at: unix_ms(),
                    replica,
                    kind,
                    what: failure,
                });
            }
            if failure == Failure::Broken {
                t.sample(format!("{kind} on replica {replica}: {text}"));
            }
        });
        failure
    }
}

/// The wait a 503 asks for, at most [`MAX_RETRY_AFTER`].
fn retry_after(answer: &Answer) -> Duration {
    Duration::from_secs(answer.retry_after.unwrap_or(1)).min(MAX_RETRY_AFTER)
}

/// An HTTP client that never follows redirects (each step is sent by hand), with a cookie jar
/// when it plays a browser, from `source` when given (a person on a machine of their own).
/// Every request goes on a new connection: a pooled one can be closed by the server's keep-alive
/// or request timeout (5 s) just as the client sends on it, and on a machine busy enough for the
/// client to stall that race would be counted as a broken connection that is no fault of the
/// server's.
/// Cookies are kept per host, not per port, so one jar serves every replica on 127.0.0.1, as one
/// would behind a load balancer.
pub fn browser(cookies: bool, source: Option<IpAddr>) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .cookie_store(cookies)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(0)
        .local_address(source)
        .build()?)
}

/// The loopback address client `id` sends its logins from: people log in from many addresses,
/// and the login throttle counts attempts in flight per address (and per account), so 64 clients
/// logging in at once from one address would be throttled as a guessing attack.
pub fn worker_address(id: usize) -> IpAddr {
    let [hi, lo] = u16::try_from(id % 60_000 + 1).unwrap_or(1).to_be_bytes();
    IpAddr::V4(Ipv4Addr::new(127, 1, hi, lo))
}

/// An error with its causes, outermost first.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        text.push_str(&format!(": {inner}"));
        cause = inner.source();
    }
    text
}
