//! Direct TLS with rustls (`server.tls.cert_file`, `server.tls.key_file`): the PEM certificate
//! chain and private key are read at start and again on SIGHUP or when the files change (their
//! modification times and sizes are polled every `server.tls.watch_secs`), and swapped for new
//! handshakes without dropping a connection; a reload that fails keeps serving the previous pair
//! and says why.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::Context;
use arc_swap::ArcSwap;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::ServerConfig;

use crate::config::TlsSettings;

/// The certificate and key in use, and where they are read from.
pub struct Certificates {
    cert_file: PathBuf,
    key_file: PathBuf,
    current: ArcSwap<CertifiedKey>,
}

impl std::fmt::Debug for Certificates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Certificates")
            .field("cert_file", &self.cert_file)
            .field("key_file", &self.key_file)
            .finish_non_exhaustive()
    }
}

impl ResolvesServerCert for Certificates {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.load_full())
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Reads a certificate chain (leaf first) and its private key (PKCS#8, PKCS#1 or SEC1), and
/// checks that they belong together.
fn read_pair(cert_file: &Path, key_file: &Path) -> anyhow::Result<CertifiedKey> {
    let chain = CertificateDer::pem_file_iter(cert_file)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .with_context(|| format!("cannot read certificates from {}", cert_file.display()))?;
    anyhow::ensure!(
        !chain.is_empty(),
        "{} holds no PEM certificate",
        cert_file.display()
    );
    let key = PrivateKeyDer::from_pem_file(key_file)
        .with_context(|| format!("cannot read a private key from {}", key_file.display()))?;
    CertifiedKey::from_der(chain, key, &provider()).with_context(|| {
        format!(
            "the key in {} does not suit the certificate in {}",
            key_file.display(),
            cert_file.display()
        )
    })
}

impl Certificates {
    /// Reads the configured pair; `None` when TLS is off (both paths empty).
    pub fn load(settings: &TlsSettings) -> anyhow::Result<Option<Arc<Self>>> {
        if !settings.enabled() {
            return Ok(None);
        }
        let pair = read_pair(&settings.cert_file, &settings.key_file)
            .context("invalid value for `server.tls`")?;
        Ok(Some(Arc::new(Self {
            cert_file: settings.cert_file.clone(),
            key_file: settings.key_file.clone(),
            current: ArcSwap::from_pointee(pair),
        })))
    }

    /// Reads the files again and uses them for new handshakes; on error the previous pair stays.
    pub fn reload(&self) -> anyhow::Result<()> {
        let pair = read_pair(&self.cert_file, &self.key_file)?;
        self.current.store(Arc::new(pair));
        Ok(())
    }

    /// The leaf certificate in use.
    pub fn leaf(&self) -> Option<CertificateDer<'static>> {
        self.current.load().cert.first().cloned()
    }

    /// A rustls server configuration (TLS 1.3 and 1.2, HTTP/1.1) resolving to these certificates.
    pub fn server_config(self: &Arc<Self>) -> anyhow::Result<ServerConfig> {
        let mut config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_cert_resolver(Arc::clone(self) as Arc<dyn ResolvesServerCert>);
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(config)
    }
}

/// What tells one version of the files from another: each file's modification time and size
/// (`None` while a file cannot be read).
type Stamp = [Option<(SystemTime, u64)>; 2];

impl Certificates {
    fn stamp(&self) -> Stamp {
        let of = |path: &Path| {
            let meta = std::fs::metadata(path).ok()?;
            Some((meta.modified().ok()?, meta.len()))
        };
        [of(&self.cert_file), of(&self.key_file)]
    }

    /// Reloads, and logs how it went; `trigger` says why.
    fn reload_logged(&self, trigger: &str) {
        match self.reload() {
            Ok(()) => tracing::info!(
                cert_file = %self.cert_file.display(),
                trigger,
                "TLS certificate reloaded"
            ),
            Err(e) => tracing::error!(
                error = %format!("{e:#}"),
                trigger,
                "TLS certificate reload failed; still serving the previous one"
            ),
        }
    }
}

/// Which change of the files to reload on: one seen at two polls in a row, so that a pair being
/// written (the certificate renewed, its key not yet) is not read half-way.
#[derive(Debug)]
struct Watch {
    loaded: Stamp,
    pending: Option<Stamp>,
}

impl Watch {
    /// Whether `now` (the files' stamp at this poll) should be loaded.
    fn settled(&mut self, now: Stamp) -> bool {
        if now == self.loaded {
            self.pending = None;
            return false;
        }
        if self.pending == Some(now) {
            self.loaded = now;
            self.pending = None;
            return true;
        }
        self.pending = Some(now);
        false
    }
}

/// Reloads the certificates on every SIGHUP and, with `poll`, when the files change, until the
/// server stops.
pub async fn reload_on_change(certificates: Arc<Certificates>, poll: Option<Duration>) {
    use tokio::signal::unix::{signal, SignalKind};
    let mut hangups = signal(SignalKind::hangup())
        .inspect_err(|e| tracing::warn!(error = %e, "cannot listen for SIGHUP; TLS certificates are reloaded on file change only"))
        .ok();
    let mut ticks = poll.map(tokio::time::interval);
    let mut watch = Watch {
        loaded: certificates.stamp(),
        pending: None,
    };
    loop {
        let hangup = async {
            match hangups.as_mut() {
                Some(h) => h.recv().await,
                None => std::future::pending().await,
            }
        };
        let tick = async {
            match ticks.as_mut() {
                Some(t) => t.tick().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            received = hangup => {
                if received.is_none() {
                    hangups = None;
                    continue;
                }
                watch.loaded = certificates.stamp();
                certificates.reload_logged("SIGHUP");
            }
            _ = tick => {
                if watch.settled(certificates.stamp()) {
                    certificates.reload_logged("file change");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_pair(dir: &Path) -> rcgen::CertifiedKey {
        let pair = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        std::fs::write(dir.join("cert.pem"), pair.cert.pem()).unwrap();
        std::fs::write(dir.join("key.pem"), pair.key_pair.serialize_pem()).unwrap();
        pair
    }

    fn settings(dir: &Path) -> TlsSettings {
        TlsSettings {
            cert_file: dir.join("cert.pem"),
            key_file: dir.join("key.pem"),
            watch_secs: 0,
        }
    }

    #[test]
    fn a_reload_swaps_the_certificate_and_a_broken_one_keeps_the_old() {
        let dir = tempfile::tempdir().unwrap();
        let first = write_pair(dir.path());
        let certs = Certificates::load(&settings(dir.path())).unwrap().unwrap();
        assert_eq!(certs.leaf().unwrap().as_ref(), first.cert.der().as_ref());
        let second = write_pair(dir.path());
        certs.reload().unwrap();
        assert_eq!(certs.leaf().unwrap().as_ref(), second.cert.der().as_ref());
        std::fs::write(dir.path().join("key.pem"), "not a key").unwrap();
        assert!(certs.reload().is_err());
        assert_eq!(certs.leaf().unwrap().as_ref(), second.cert.der().as_ref());
    }

    #[test]
    fn a_change_is_loaded_once_it_is_seen_twice() {
        let t = |s| Some((SystemTime::UNIX_EPOCH + Duration::from_secs(s), 1));
        let mut watch = Watch {
            loaded: [t(1), t(1)],
            pending: None,
        };
        assert!(!watch.settled([t(1), t(1)]));
        // The certificate is renewed, the key not yet: wait.
        assert!(!watch.settled([t(2), t(1)]));
        assert!(!watch.settled([t(2), t(2)]));
        assert!(watch.settled([t(2), t(2)]));
        assert!(!watch.settled([t(2), t(2)]));
    }

    #[test]
    fn a_key_that_does_not_match_the_certificate_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        write_pair(dir.path());
        let other = rcgen::KeyPair::generate().unwrap();
        std::fs::write(dir.path().join("key.pem"), other.serialize_pem()).unwrap();
        let err = Certificates::load(&settings(dir.path())).unwrap_err();
        assert!(format!("{err:#}").contains("does not suit"), "{err:#}");
    }
}
