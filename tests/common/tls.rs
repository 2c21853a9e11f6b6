//! TLS for tests: a certificate authority made when the test runs (rcgen), certificates it issues
//! written to PEM files, and clients for DNS over TLS (tokio-rustls) and DNS over HTTPS (hyper,
//! HTTP/2 and HTTP/1.1) that trust only that authority.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use hickory_proto::op::Message;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use super::client::TIMEOUT;

/// The name every test server certificate is issued for (with its IP addresses).
pub const SERVER_NAME: &str = "dns.ferret.test";

/// A certificate authority of the test's own.
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// A certificate chain and key on disk, as an operator would give them to ferret.
pub struct CertificateFiles {
    pub chain: PathBuf,
    pub key: PathBuf,
    /// The server certificate, to tell which one a server presented.
    pub der: CertificateDer<'static>,
}

impl TestCa {
    pub fn new(name: &str) -> TestCa {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let key = KeyPair::generate().expect("CA key");
        TestCa {
            issuer: CertifiedIssuer::self_signed(params, key).expect("CA certificate"),
        }
    }

    pub fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// Writes the CA certificate to `dir/NAME`; returns its path.
    pub fn write_pem(&self, dir: &Path, name: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, self.pem()).expect("writing the CA file");
        path
    }

    /// A server certificate for `names` (DNS names or IP addresses), with its chain (server
    /// certificate, then this CA's) and key written as `dir/STEM.pem` and `dir/STEM.key`.
    pub fn issue(&self, dir: &Path, stem: &str, names: &[&str]) -> CertificateFiles {
        let key = KeyPair::generate().expect("server key");
        self.issue_with(dir, stem, names, &key, &key.serialize_pem())
    }

    /// As [`TestCa::issue`], for an existing key: `signing_key` (PKCS#8 PEM, which rcgen signs
    /// with) is the certificate's key, and `key_file` (the same key in whatever PEM form a test
    /// wants ferret to read) is written as `dir/STEM.key`.
    pub fn issue_for_key(
        &self,
        dir: &Path,
        stem: &str,
        names: &[&str],
        signing_key: &str,
        key_file: &str,
    ) -> CertificateFiles {
        let key = KeyPair::from_pem(signing_key).expect("a key rcgen can sign with");
        self.issue_with(dir, stem, names, &key, key_file)
    }

    /// A certificate for `names` on `key`, signed by this CA: the chain (leaf, then the CA) as
    /// `dir/STEM.pem`, and `key_file` as `dir/STEM.key`.
    fn issue_with(
        &self,
        dir: &Path,
        stem: &str,
        names: &[&str],
        key: &KeyPair,
        key_file: &str,
    ) -> CertificateFiles {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names).expect("server parameters");
        params
            .distinguished_name
            .push(DnType::CommonName, SERVER_NAME);
        let certificate = params
            .signed_by(key, &self.issuer)
            .expect("server certificate");
        let chain = dir.join(format!("{stem}.pem"));
        let key_path = dir.join(format!("{stem}.key"));
        std::fs::write(&chain, format!("{}{}", certificate.pem(), self.pem()))
            .expect("writing the chain");
        std::fs::write(&key_path, key_file).expect("writing the key");
        CertificateFiles {
            chain,
            key: key_path,
            der: certificate.der().clone(),
        }
    }

    /// A client that trusts this CA only, offering `alpn`.
    pub fn client_config(&self, alpn: &[&[u8]]) -> Arc<ClientConfig> {
        let mut roots = RootCertStore::empty();
        roots
            .add(self.issuer.der().clone())
            .expect("adding the test CA");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Arc::new(config)
    }
}

/// A TLS connection to `server`, authenticated as [`SERVER_NAME`] with `config`.
pub async fn connect(server: SocketAddr, config: Arc<ClientConfig>) -> TlsStream<TcpStream> {
    try_connect(server, config)
        .await
        .unwrap_or_else(|error| panic!("TLS to {server}: {error}"))
}

/// As [`connect`], returning the error instead (a refused certificate, a closed connection).
pub async fn try_connect(
    server: SocketAddr,
    config: Arc<ClientConfig>,
) -> Result<TlsStream<TcpStream>, String> {
    assert!(server.ip().is_loopback(), "tests talk to loopback only");
    let connect = async {
        let tcp = TcpStream::connect(server)
            .await
            .map_err(|e| e.to_string())?;
        let name = ServerName::try_from(SERVER_NAME).map_err(|e| e.to_string())?;
        TlsConnector::from(config)
            .connect(name, tcp)
            .await
            .map_err(|e| e.to_string())
    };
    timeout(TIMEOUT, connect)
        .await
        .map_err(|_| "timed out".to_string())?
}

/// The server certificate the connection was given.
pub fn peer_certificate(stream: &TlsStream<TcpStream>) -> CertificateDer<'static> {
    let (_, session) = stream.get_ref();
    session
        .peer_certificates()
        .and_then(|chain| chain.first())
        .expect("a server certificate")
        .clone()
        .into_owned()
}

/// Writes `message` with its 2-octet length (RFC 7858 §3.3, as TCP).
pub async fn send_framed(stream: &mut TlsStream<TcpStream>, message: &[u8]) {
    let length = u16::try_from(message.len()).expect("message fits a frame");
    let mut frame = length.to_be_bytes().to_vec();
    frame.extend_from_slice(message);
    stream.write_all(&frame).await.expect("writing a query");
    stream.flush().await.expect("flushing");
}

/// The next framed message; `None` if the connection closes or nothing comes within
/// [`TIMEOUT`].
pub async fn read_framed(stream: &mut TlsStream<TcpStream>) -> Option<Vec<u8>> {
    let read = async {
        let length = stream.read_u16().await.ok()?;
        let mut message = vec![0u8; usize::from(length)];
        stream.read_exact(&mut message).await.ok()?;
        Some(message)
    };
    timeout(TIMEOUT, read).await.ok().flatten()
}

/// One query over an open DoT connection, its answer decoded.
pub async fn dot_exchange(stream: &mut TlsStream<TcpStream>, query: &Message) -> Message {
    send_framed(stream, &query.to_vec().expect("encoding a query")).await;
    let bytes = read_framed(stream).await.expect("a DoT answer");
    Message::from_vec(&bytes).expect("a DNS answer")
}

/// Which HTTP a DoH client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Http {
    H2,
    H1,
}

/// What a DoH server sent back.
#[derive(Debug)]
pub struct HttpReply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl HttpReply {
    pub fn message(&self) -> Message {
        assert_eq!(self.status, StatusCode::OK, "{self:?}");
        Message::from_vec(&self.body).expect("a DNS answer")
    }
}

/// A DoH client on one connection.
pub enum HttpClient {
    H2(hyper::client::conn::http2::SendRequest<Full<Bytes>>),
    H1(hyper::client::conn::http1::SendRequest<Full<Bytes>>),
}

impl HttpClient {
    /// Connects to `server` and speaks `http` (ALPN h2 or http/1.1).
    pub async fn connect(server: SocketAddr, ca: &TestCa, http: Http) -> HttpClient {
        let alpn: &[u8] = match http {
            Http::H2 => b"h2",
            Http::H1 => b"http/1.1",
        };
        let tls = connect(server, ca.client_config(&[alpn])).await;
        let negotiated = tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
        assert_eq!(negotiated.as_deref(), Some(alpn), "ALPN");
        let io = TokioIo::new(tls);
        match http {
            Http::H2 => {
                let (sender, connection) =
                    hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
                        .await
                        .expect("HTTP/2 handshake");
                tokio::spawn(connection);
                HttpClient::H2(sender)
            }
            Http::H1 => {
                let (sender, connection) = hyper::client::conn::http1::handshake(io)
                    .await
                    .expect("HTTP/1.1 handshake");
                tokio::spawn(connection);
                HttpClient::H1(sender)
            }
        }
    }

    /// Sends one request; `None` if the connection fails or nothing comes within [`TIMEOUT`].
    pub async fn try_send(&mut self, request: Request<Full<Bytes>>) -> Option<HttpReply> {
        let exchange = async {
            let response = match self {
                HttpClient::H2(sender) => sender.send_request(request).await.ok()?,
                HttpClient::H1(sender) => {
                    sender.ready().await.ok()?;
                    sender.send_request(request).await.ok()?
                }
            };
            let (parts, body) = response.into_parts();
            let body = body.collect().await.ok()?.to_bytes();
            Some(HttpReply {
                status: parts.status,
                headers: parts.headers,
                body,
            })
        };
        timeout(TIMEOUT, exchange).await.ok().flatten()
    }

    pub async fn send(&mut self, request: Request<Full<Bytes>>) -> HttpReply {
        self.try_send(request).await.expect("a DoH response")
    }

    /// A GET of `path_and_query`.
    pub async fn get(&mut self, path_and_query: &str) -> HttpReply {
        self.send(request(Method::GET, path_and_query, None, Vec::new()))
            .await
    }

    /// A POST of `body` to `path` with `content_type`.
    pub async fn post(
        &mut self,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> HttpReply {
        self.send(request(Method::POST, path, content_type, body))
            .await
    }
}

/// A request for [`HttpClient::send`]; the authority is [`SERVER_NAME`].
pub fn request(
    method: Method,
    path_and_query: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> Request<Full<Bytes>> {
    let mut builder = Request::builder()
        .method(method)
        .uri(format!("https://{SERVER_NAME}{path_and_query}"))
        .header(http::header::HOST, SERVER_NAME);
    if let Some(content_type) = content_type {
        builder = builder.header(http::header::CONTENT_TYPE, content_type);
    }
    builder
        .body(Full::new(Bytes::from(body)))
        .expect("a request")
}
