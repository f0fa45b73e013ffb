//! Email: the SMTP sender ([`Mailer`], lettre's async transport on tokio with rustls), the
//! messages it sends ([`message`]) and the one-time links they carry ([`links`]): password
//! reset, email verification and an administrator's set-password link. Sending never blocks an
//! actix worker and never holds up a page: pages hand a send to [`Mailer::spawn`], bounded by a
//! semaphore, and answer at once.

pub mod links;
pub mod message;
pub mod requests;

use std::sync::Arc;
use std::time::Duration;

use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use secrecy::ExposeSecret;
use tokio::sync::Semaphore;

use crate::config::email::{EmailSettings, SmtpTls};

/// Sends that may be under way at once; beyond it a send is dropped (and logged), never queued
/// without bound.
const MAX_SENDING: usize = 32;

/// A message ready to go: to whom, the subject and the plain-text body.
#[derive(Clone)]
pub struct Outgoing {
    pub to: String,
    pub subject: String,
    pub body: String,
}

impl std::fmt::Debug for Outgoing {
    /// The body carries a one-time link: never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outgoing")
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// How Latchkey names itself in EHLO: an address literal for an IP issuer, else its host name.
fn client_id(host: &str) -> ClientId {
    match host.trim_matches(['[', ']']).parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(v4)) => ClientId::Ipv4(v4),
        Ok(std::net::IpAddr::V6(v6)) => ClientId::Ipv6(v6),
        Err(_) => ClientId::Domain(host.to_owned()),
    }
}

/// The configured relay, built once at start.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    sending: Arc<Semaphore>,
}

impl Mailer {
    /// The relay of `settings`, or `None` when email is off. `hello` is the name Latchkey gives
    /// itself in EHLO (the issuer's host).
    pub fn new(settings: &EmailSettings, hello: &str) -> anyhow::Result<Option<Self>> {
        if !settings.enabled() {
            return Ok(None);
        }
        let host = settings.host.trim().to_owned();
        let tls = |host: &str| TlsParameters::new(host.to_owned());
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&host)
            .port(settings.port)
            .timeout(Some(Duration::from_secs(settings.timeout_secs)))
            .hello_name(client_id(hello));
        builder = match settings.tls {
            SmtpTls::None => builder.tls(Tls::None),
            SmtpTls::Starttls => builder.tls(Tls::Required(tls(&host)?)),
            SmtpTls::Tls => builder.tls(Tls::Wrapper(tls(&host)?)),
        };
        if let Some(password) = settings.password.secret() {
            builder = builder.credentials(Credentials::new(
                settings.username.clone(),
                password.expose_secret().to_owned(),
            ));
        }
        let from = settings
            .from
            .parse()
            .map_err(|e| anyhow::anyhow!("invalid value for `email.from`: {e}"))?;
        Ok(Some(Self {
            transport: builder.build(),
            from,
            sending: Arc::new(Semaphore::new(MAX_SENDING)),
        }))
    }

    /// Sends `message` now; the error says what failed, never with the message's link.
    pub async fn send(&self, message: &Outgoing) -> anyhow::Result<()> {
        let to: Mailbox = message
            .to
            .parse()
            .map_err(|e| anyhow::anyhow!("the recipient address is not usable: {e}"))?;
        let email = lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(message.subject.clone())
            .header(lettre::message::header::ContentType::TEXT_PLAIN)
            .body(message.body.clone())?;
        self.transport.send(email).await?;
        Ok(())
    }

    /// A place among the sends under way, or `None` when [`MAX_SENDING`] are.
    fn slot(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        Arc::clone(&self.sending).try_acquire_owned().ok()
    }

    /// Runs `work` (which decides what to send, then sends it) in the background, in the
    /// request's origin (its audit events keep their address), within the send bound. The
    /// caller answers at once, whatever `work` finds.
    pub fn spawn<F>(&self, work: F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        let Some(slot) = self.slot() else {
            tracing::warn!("too many emails being sent at once; this one is dropped");
            return;
        };
        let origin = crate::origin::Origin::current();
        tokio::spawn(crate::origin::in_scope(origin, async move {
            work.await;
            drop(slot);
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ip_issuer_says_ehlo_with_an_address_literal() {
        assert_eq!(client_id("127.0.0.1").to_string(), "[127.0.0.1]");
        assert_eq!(client_id("[::1]").to_string(), "[IPv6:::1]");
        assert_eq!(client_id("id.example.com").to_string(), "id.example.com");
    }
}
