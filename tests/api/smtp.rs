//! A tiny SMTP listener for the tests (plain SMTP on loopback, RFC 5321's greeting, EHLO/HELO,
//! MAIL FROM, RCPT TO, DATA, RSET, NOOP, QUIT) that keeps every message it is given, and a
//! [`TestApp`] whose `[email]` points at it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use latchkey::config::email::SmtpTls;
use latchkey::config::Settings;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use crate::helpers::{test_settings, within, Backend, TestApp};

/// One message as the listener received it.
#[derive(Clone, Debug)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    /// Headers and body, dot-unstuffed, lines joined with `\n`.
    pub data: String,
}

impl Mail {
    /// The body, decoded from quoted-printable when it is sent so (RFC 2045 §6.7: soft line
    /// breaks joined, `=XX` decoded).
    pub fn body(&self) -> String {
        let body = self.data.split_once("\n\n").map_or("", |(_, b)| b);
        let quoted = self
            .header("Content-Transfer-Encoding")
            .is_some_and(|e| e.eq_ignore_ascii_case("quoted-printable"));
        if !quoted {
            return body.to_owned();
        }
        let joined = body.replace("=\n", "");
        let mut out = Vec::new();
        let bytes = joined.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let hex = joined
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            match (bytes[i], hex) {
                (b'=', Some(byte)) => {
                    out.push(byte);
                    i += 3;
                }
                (byte, _) => {
                    out.push(byte);
                    i += 1;
                }
            }
        }
        String::from_utf8(out).unwrap()
    }

    /// The first URL in the body that starts with `prefix`, whole.
    pub fn link(&self, prefix: &str) -> String {
        let body = self.body();
        let start = body
            .find(prefix)
            .unwrap_or_else(|| panic!("no {prefix} link in {body}"));
        body[start..].split_whitespace().next().unwrap().to_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        let wanted = format!("{}: ", name.to_ascii_lowercase());
        self.data
            .lines()
            .take_while(|l| !l.is_empty())
            .find(|l| l.to_ascii_lowercase().starts_with(&wanted))
            .map(|l| &l[wanted.len()..])
    }
}

/// The listener and what it received.
#[derive(Clone)]
pub struct Mailbox {
    pub port: u16,
    received: Arc<Mutex<Vec<Mail>>>,
}

impl Mailbox {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let keep = Arc::clone(&received);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(session(stream, Arc::clone(&keep)));
            }
        });
        Self { port, received }
    }

    pub fn all(&self) -> Vec<Mail> {
        self.received.lock().unwrap().clone()
    }

    /// Waits (up to ten seconds) until `count` messages have arrived; returns them all.
    pub async fn wait_for(&self, count: usize) -> Vec<Mail> {
        let arrived = within(Duration::from_secs(10), || {
            let n = self.received.lock().unwrap().len();
            async move { n >= count }
        })
        .await;
        assert!(arrived.is_some(), "only {:?} arrived", self.all());
        self.all()
    }

    /// Asserts that no more than `count` messages arrive within a while.
    pub async fn assert_stays_at(&self, count: usize) {
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(self.all().len(), count, "{:?}", self.all());
    }
}

/// One SMTP session: the commands a client such as lettre sends, one reply each.
async fn session(stream: TcpStream, received: Arc<Mutex<Vec<Mail>>>) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    let (mut from, mut to) = (String::new(), Vec::new());
    if write.write_all(b"220 test ESMTP\r\n").await.is_err() {
        return;
    }
    while let Ok(Some(line)) = lines.next_line().await {
        let upper = line.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") {
            b"250-test greets you\r\n250 8BITMIME\r\n"
        } else if upper.starts_with("HELO") || upper.starts_with("NOOP") {
            b"250 OK\r\n"
        } else if upper.starts_with("RSET") {
            (from, to) = (String::new(), Vec::new());
            b"250 OK\r\n"
        } else if upper.starts_with("MAIL FROM:") {
            from = line[10..].trim().to_owned();
            b"250 OK\r\n"
        } else if upper.starts_with("RCPT TO:") {
            to.push(line[8..].trim().to_owned());
            b"250 OK\r\n"
        } else if upper == "DATA" {
            if write.write_all(b"354 end with .\r\n").await.is_err() {
                return;
            }
            let mut data = Vec::new();
            while let Ok(Some(line)) = lines.next_line().await {
                if line == "." {
                    break;
                }
                data.push(line.strip_prefix('.').unwrap_or(&line).to_owned());
            }
            received.lock().unwrap().push(Mail {
                from: std::mem::take(&mut from),
                to: std::mem::take(&mut to),
                data: data.join("\n"),
            });
            b"250 queued\r\n"
        } else if upper.starts_with("QUIT") {
            let _ = write.write_all(b"221 bye\r\n").await;
            return;
        } else {
            b"502 not implemented\r\n"
        };
        if write.write_all(reply).await.is_err() {
            return;
        }
    }
}

/// A server whose `[email]` sends to a fresh [`Mailbox`] (plain SMTP, no credentials), with the
/// audit trail stored.
pub async fn spawn_with_mail(backend: Backend) -> (TestApp, Mailbox) {
    spawn_with_mail_and(backend, |_| {}).await
}

/// [`spawn_with_mail`], with `adjust` applied to the settings.
pub async fn spawn_with_mail_and(
    backend: Backend,
    adjust: impl FnOnce(&mut Settings),
) -> (TestApp, Mailbox) {
    let mailbox = Mailbox::start().await;
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let mut settings = test_settings(backend, dir.path());
    settings.email.host = "127.0.0.1".into();
    settings.email.port = mailbox.port;
    settings.email.tls = SmtpTls::None;
    settings.email.from = "Latchkey <id@example.com>".into();
    settings.audit.store = true;
    adjust(&mut settings);
    (TestApp::spawn_with(dir, settings).await, mailbox)
}
