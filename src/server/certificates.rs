//! The server certificate of DoT, DoH and DoQ, and the TLS settings the three listeners share.
//!
//! The certificate is looked up at every handshake ([`Certificates`] is the rustls certificate
//! resolver), so a reload that loads renewed files (certbot's) affects new handshakes only:
//! connections already open keep the session they negotiated. A file that does not load keeps
//! the certificate in use, and says why.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::{ServerConfig, version};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use thiserror::Error;

/// ALPN of DNS over TLS, as IANA's ALPN registry names it (RFC 7858 predates it; clients such as
/// kdig and Android offer it).
pub const ALPN_DOT: &[u8] = b"dot";
/// ALPN of DoH: HTTP/2 (RFC 8484 §5.2 recommends it) and HTTP/1.1.
pub const ALPN_H2: &[u8] = b"h2";
pub const ALPN_HTTP1: &[u8] = b"http/1.1";
/// ALPN of DNS over QUIC (RFC 9250 §4.1).
pub const ALPN_DOQ: &[u8] = b"doq";

#[derive(Debug, Error)]
pub enum CertificateError {
    #[error("--tls-listen, --https-listen and --quic-listen need --tls-certificate and --tls-key")]
    NotConfigured,
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("{path}: not PEM: {message}")]
    Pem { path: PathBuf, message: String },
    #[error("{path} holds no certificate")]
    NoCertificate { path: PathBuf },
    #[error("{path}: the key cannot be used: {source}")]
    Key {
        path: PathBuf,
        source: rustls::Error,
    },
    #[error("cannot set up TLS: {0}")]
    Tls(rustls::Error),
}

/// The files a certificate is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateFiles {
    pub chain: PathBuf,
    pub key: PathBuf,
}

impl CertificateFiles {
    pub fn of(config: &crate::Config) -> Option<Self> {
        match (&config.tls_certificate, &config.tls_key) {
            (Some(chain), Some(key)) => Some(CertificateFiles {
                chain: chain.clone(),
                key: key.clone(),
            }),
            _ => None,
        }
    }
}

/// The crypto of every TLS connection ferret makes or takes: rustls with ring.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Reads a PEM certificate chain (the server's certificate first) and its private key
/// (PKCS#8, PKCS#1 or SEC1), and checks that they belong together.
pub fn load(files: &CertificateFiles) -> Result<CertifiedKey, CertificateError> {
    let pem_error = |path: &Path, error: rustls_pki_types::pem::Error| match error {
        rustls_pki_types::pem::Error::Io(source) => CertificateError::Read {
            path: path.to_path_buf(),
            source,
        },
        other => CertificateError::Pem {
            path: path.to_path_buf(),
            message: other.to_string(),
        },
    };
    let chain = CertificateDer::pem_file_iter(&files.chain)
        .map_err(|e| pem_error(&files.chain, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(&files.chain, e))?;
    if chain.is_empty() {
        return Err(CertificateError::NoCertificate {
            path: files.chain.clone(),
        });
    }
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| pem_error(&files.key, e))?;
    CertifiedKey::from_der(chain, key, &provider()).map_err(|source| CertificateError::Key {
        path: files.key.clone(),
        source,
    })
}

/// The certificate handed to every new TLS client, replaceable while serving.
pub struct Certificates {
    current: RwLock<Arc<CertifiedKey>>,
    files: RwLock<CertificateFiles>,
}

impl fmt::Debug for Certificates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificates")
            .field(
                "files",
                &*self.files.read().unwrap_or_else(|p| p.into_inner()),
            )
            .finish_non_exhaustive()
    }
}

impl Certificates {
    pub fn load(files: &CertificateFiles) -> Result<Self, CertificateError> {
        Ok(Certificates {
            current: RwLock::new(Arc::new(load(files)?)),
            files: RwLock::new(files.clone()),
        })
    }

    /// Reads `files` again (renewed, or named differently now). On error the certificate in use
    /// stays, and the error is returned for the log.
    pub fn reload(&self, files: &CertificateFiles) -> Result<(), CertificateError> {
        let loaded = load(files)?;
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(loaded);
        *self.files.write().unwrap_or_else(|p| p.into_inner()) = files.clone();
        Ok(())
    }

    fn current(&self) -> Arc<CertifiedKey> {
        Arc::clone(&self.current.read().unwrap_or_else(|p| p.into_inner()))
    }
}

impl ResolvesServerCert for Certificates {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

/// The TLS side of the encrypted listeners: one certificate, and a server configuration per
/// ALPN set.
#[derive(Debug, Clone)]
pub struct TlsContext {
    pub certificates: Arc<Certificates>,
    /// DNS over TLS: ALPN `dot`.
    pub dot: Arc<ServerConfig>,
    /// DNS over HTTPS: ALPN `h2`, `http/1.1`.
    pub doh: Arc<ServerConfig>,
    /// DNS over QUIC: ALPN `doq`, TLS 1.3 only (QUIC has no other, RFC 9001 §4.2).
    pub doq: Arc<ServerConfig>,
}

impl TlsContext {
    pub fn new(files: &CertificateFiles) -> Result<Self, CertificateError> {
        let certificates = Arc::new(Certificates::load(files)?);
        let both: &[&rustls::SupportedProtocolVersion] = &[&version::TLS13, &version::TLS12];
        let dot = server_config(&certificates, &[ALPN_DOT], both)?;
        let doh = server_config(&certificates, &[ALPN_H2, ALPN_HTTP1], both)?;
        let doq = server_config(&certificates, &[ALPN_DOQ], &[&version::TLS13])?;
        Ok(TlsContext {
            certificates,
            dot,
            doh,
            doq,
        })
    }
}

/// TLS 1.2 and 1.3 at most (RFC 8310 §9 / RFC 9325: nothing older), session resumption with
/// tickets (RFC 7858 §3.4 recommends it: a reconnecting client skips a round trip and the
/// signature) and a session cache for TLS 1.2 clients without tickets. No early data (0-RTT):
/// `max_early_data_size` stays at rustls's 0, which DoQ relies on (RFC 9250 §4.5: replayable
/// queries only; quinn's own default would allow it). rustls would offer early data only with
/// stateful resumption besides, and these tickets are stateless.
fn server_config(
    certificates: &Arc<Certificates>,
    alpn: &[&[u8]],
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Result<Arc<ServerConfig>, CertificateError> {
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(versions)
        .map_err(CertificateError::Tls)?
        .with_no_client_auth()
        .with_cert_resolver(Arc::clone(certificates) as Arc<dyn ResolvesServerCert>);
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    config.ticketer = rustls::crypto::ring::Ticketer::new().map_err(CertificateError::Tls)?;
    config.session_storage = rustls::server::ServerSessionMemoryCache::new(4096);
    Ok(Arc::new(config))
}
