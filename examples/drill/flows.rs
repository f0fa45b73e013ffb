//! The flows a drill drives, one function each: client credentials (RFC 6749 §4.4), password
//! (§4.3), authorization code with PKCE through the hosted login and consent forms (§4.1,
//! RFC 7636), refresh (§6), introspection (RFC 7662), revocation (RFC 7009), JWKS (RFC 7517).
//! Each step names the replica it goes to; every access token received is verified.

use std::net::IpAddr;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::net::{browser, Answer, Call, Net};
use crate::setup::{Credentials, User, REDIRECT_URI};
use crate::verify::Unverified;

/// 256 random bits, base64url: PKCE verifiers, `state`, `nonce`, passwords.
pub fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

/// What a token response handed out.
#[derive(Clone)]
pub struct Tokens {
    pub access: String,
    pub refresh: Option<String>,
}

fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

impl Net {
    /// Verifies an access token against the JWKS of the replica that issued it: that replica
    /// signs only with keys it serves, so a miss after one refetch is a failure.
    pub async fn check(&self, token: &str, replica: usize, wait: Duration) -> bool {
        let base = &self.targets[replica];
        match self.keys.verify(base, replica, token, wait).await {
            Ok(_) => {
                self.tally(|t| t.verified += 1);
                true
            }
            Err(Unverified::Invalid(why)) => {
                self.tally(|t| t.unverifiable.push(why));
                false
            }
            Err(Unverified::Unreachable) => {
                self.tally(|t| t.unreachable += 1);
                true
            }
        }
    }

    /// A token response: 200 with a verifiable access token.
    async fn tokens(&self, kind: &str, answer: Answer) -> Option<Tokens> {
        match (answer.status, answer.field("access_token")) {
            (200, Some(access)) => {
                self.check(&access, answer.replica, Duration::ZERO).await;
                Some(Tokens {
                    access,
                    refresh: answer.field("refresh_token"),
                })
            }
            _ => {
                self.unexpected(kind, &answer);
                None
            }
        }
    }

    pub async fn client_credentials(&self, client: &Credentials, replica: usize) -> Option<Tokens> {
        let call = Call::post(
            "token:cc",
            "/token",
            form(&[("grant_type", "client_credentials")]),
            replica,
        );
        let answer = self.send(call.by(client)).await;
        self.tokens("token:cc", answer).await
    }

    /// The password grant, sent from `source` when given.
    pub async fn password(
        &self,
        client: &Credentials,
        user: &User,
        replica: usize,
        source: Option<IpAddr>,
    ) -> Option<Tokens> {
        let answer = self.password_raw(client, user, replica, source).await;
        self.tokens("token:password", answer).await
    }

    pub async fn password_raw(
        &self,
        client: &Credentials,
        user: &User,
        replica: usize,
        source: Option<std::net::IpAddr>,
    ) -> Answer {
        let pairs = [
            ("grant_type", "password"),
            ("username", user.username.as_str()),
            ("password", user.password.as_str()),
            ("scope", "openid offline_access"),
        ];
        let call = Call::post("token:password", "/token", form(&pairs), replica).by(client);
        match source.map(|ip| browser(false, Some(ip))) {
            Some(Ok(http)) => self.send_with(&http, call).await,
            _ => self.send(call).await,
        }
    }

    /// RFC 6749 §6 with rotation: the answer, for the caller to account the chain.
    pub async fn refresh(&self, client: &Credentials, token: &str, replica: usize) -> Answer {
        let pairs = [("grant_type", "refresh_token"), ("refresh_token", token)];
        let call = Call::post("token:refresh", "/token", form(&pairs), replica).by(client);
        let answer = self.send(call).await;
        if let (200, Some(access)) = (answer.status, answer.field("access_token")) {
            self.check(&access, answer.replica, Duration::ZERO).await;
        }
        answer
    }

    /// Introspects the client's own `token`; `Some(active)` on a 200.
    pub async fn introspect(
        &self,
        client: &Credentials,
        token: &str,
        replica: usize,
    ) -> Option<bool> {
        let call = Call::post(
            "introspect",
            "/introspect",
            form(&[("token", token)]),
            replica,
        );
        let answer = self.send(call.by(client)).await;
        if answer.status == 200 {
            return Some(answer.json["active"].as_bool() == Some(true));
        }
        self.unexpected("introspect", &answer);
        None
    }

    pub async fn revoke(&self, client: &Credentials, token: &str, replica: usize) -> bool {
        let call = Call::post("revoke", "/revoke", form(&[("token", token)]), replica);
        let answer = self.send(call.by(client)).await;
        if answer.status != 200 {
            self.unexpected("revoke", &answer);
        }
        answer.status == 200
    }

    pub async fn jwks(&self, replica: usize) -> bool {
        let answer = self.send(Call::get("jwks", "/jwks".into(), replica)).await;
        let ok = answer.status == 200 && answer.json["keys"].is_array();
        if !ok {
            self.unexpected("jwks", &answer);
        }
        ok
    }

    /// The authorization-code flow with PKCE through a fresh browser: GET /authorize, the login
    /// form (every hidden field posted back, cookies kept), consent when asked, then the code
    /// exchange. Step `n` goes to replica `hops[n % hops.len()]`.
    pub async fn code_flow(
        &self,
        client: &Credentials,
        user: &User,
        hops: &[usize],
        source: Option<IpAddr>,
    ) -> Option<Tokens> {
        let http = browser(true, source).ok()?;
        let verifier = random_token();
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        let state = random_token();
        let query = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("response_type", "code"),
                ("client_id", client.client_id.as_str()),
                ("redirect_uri", REDIRECT_URI),
                ("scope", "openid profile offline_access"),
                ("state", state.as_str()),
                ("nonce", random_token().as_str()),
                ("code_challenge", challenge.as_str()),
                ("code_challenge_method", "S256"),
            ])
            .finish();
        let mut call = Call::get("authorize", format!("/authorize?{query}"), hops[0]);
        for step in 1..12 {
            let kind = call.kind;
            let answer = self.send_with(&http, call).await;
            let next = hops[step % hops.len()];
            call = match (answer.status, answer.location.as_deref()) {
                (302 | 303, Some(location)) if location.starts_with(REDIRECT_URI) => {
                    let code = returned_code(location, &state);
                    let Some(code) = code else {
                        self.unexpected("authorize", &answer);
                        return None;
                    };
                    return self.exchange(client, &code, &verifier, next).await;
                }
                (302 | 303, Some(location)) => match self.relative(location) {
                    Some(path) => Call::get(page_kind(&path), path, next),
                    None => break,
                },
                (200, _) => match fill_form(&answer.body, user) {
                    Some((action, fields)) => Call::post(page_kind(&action), &action, fields, next),
                    None => {
                        self.unexpected(kind, &answer);
                        return None;
                    }
                },
                _ => {
                    self.unexpected(kind, &answer);
                    return None;
                }
            };
        }
        None
    }

    async fn exchange(
        &self,
        client: &Credentials,
        code: &str,
        verifier: &str,
        replica: usize,
    ) -> Option<Tokens> {
        let pairs = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", verifier),
        ];
        let call = Call::post("token:code", "/token", form(&pairs), replica).by(client);
        let answer = self.send(call).await;
        self.tokens("token:code", answer).await
    }

    /// A redirect inside Latchkey, as a path: relative, or absolute on the issuer or a replica.
    fn relative(&self, location: &str) -> Option<String> {
        if location.starts_with('/') {
            return Some(location.to_owned());
        }
        std::iter::once(&self.issuer)
            .chain(&self.targets)
            .find_map(|base| location.strip_prefix(base.as_str()))
            .filter(|rest| rest.starts_with('/'))
            .map(str::to_owned)
    }
}

fn page_kind(path: &str) -> &'static str {
    if path.starts_with("/login") {
        "login"
    } else if path.starts_with("/consent") {
        "consent"
    } else {
        "authorize"
    }
}

/// The code of a redirect back to the client, when its `state` is ours.
fn returned_code(location: &str, state: &str) -> Option<String> {
    let url = url::Url::parse(location).ok()?;
    let get = |name: &str| {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    (get("state").as_deref() == Some(state))
        .then(|| get("code"))
        .flatten()
}

/// The first form of a page: its action and every named input with its value, filled in as a
/// person would (username and password on the login form, "approve" on the consent form).
fn fill_form(html: &str, user: &User) -> Option<(String, Vec<(String, String)>)> {
    let start = html.find("<form")?;
    let form = &html[start..start + html[start..].find("</form>")?];
    let action = attribute(form, "action")?;
    let mut fields = Vec::new();
    for tag in form.split("<input").skip(1) {
        let tag = &tag[..tag.find('>')?];
        let Some(name) = attribute(tag, "name") else {
            continue;
        };
        let value = match name.as_str() {
            "username" => user.username.clone(),
            "password" => user.password.clone(),
            _ => attribute(tag, "value").unwrap_or_default(),
        };
        fields.push((name, value));
    }
    if form.contains("name=\"decision\"") {
        fields.push(("decision".into(), "approve".into()));
    }
    Some((action, fields))
}

/// The value of `name="…"` in a tag, HTML entities decoded.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let marker = format!(" {name}=\"");
    let start = tag.find(&marker)? + marker.len();
    let value = &tag[start..start + tag[start..].find('"')?];
    Some(
        value
            .replace("&quot;", "\"")
            .replace("&#x27;", "'")
            .replace("&#39;", "'")
            .replace("&#x2f;", "/")
            .replace("&#x2F;", "/")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}
