//! Forwarders over DNS over TLS (RFC 7858), authenticated as RFC 8310's strict profile asks: the
//! server's certificate must chain to a trusted root (the system's, or `tls-ca-file`) and be
//! valid for the name configured with the server (`ADDR@853#NAME`); otherwise nothing is sent.
//!
//! One connection per server is kept and shared by every query to it: queries are pipelined on
//! it and answers matched to them by ID, in whatever order they come (RFC 7766 §6.2.1.1). A
//! connection that fails or that the server closes is forgotten, and the next query opens a
//! new one; a query whose connection fails under it is sent once more on a fresh one.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};

use hickory_proto::op::Message;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use thiserror::Error;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, timeout_at};
use tokio_rustls::TlsConnector;

use super::UpstreamError;
use crate::config::ForwardZone;

/// ALPN for DNS over TLS.
const ALPN_DOT: &[u8] = b"dot";

/// Queries written to one connection and not yet taken by its writer.
const QUEUED_PER_CONNECTION: usize = 64;

#[derive(Debug, Error)]
pub enum TrustError {
    #[error("cannot read the CA file {path}: {message}")]
    CaFile { path: String, message: String },
    #[error("{path} holds no CA certificate rustls can use")]
    NoCa { path: String },
}

/// The roots certificates of forwarders must chain to: the PEM file given, or the system's.
pub fn roots(ca_file: Option<&Path>) -> Result<RootCertStore, TrustError> {
    let mut roots = RootCertStore::empty();
    match ca_file {
        Some(path) => {
            let display = path.display().to_string();
            let certificates = CertificateDer::pem_file_iter(path)
                .and_then(|certificates| certificates.collect::<Result<Vec<_>, _>>())
                .map_err(|error| TrustError::CaFile {
                    path: display.clone(),
                    message: error.to_string(),
                })?;
            let (added, _) = roots.add_parsable_certificates(certificates);
            if added == 0 {
                return Err(TrustError::NoCa { path: display });
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            for error in &found.errors {
                tracing::warn!(%error, "a system CA certificate could not be read");
            }
            roots.add_parsable_certificates(found.certs);
        }
    }
    Ok(roots)
}

/// The forwarders reached over TLS, by address.
#[derive(Debug, Default)]
pub struct TlsForwarders {
    servers: HashMap<SocketAddr, Forwarder>,
}

struct Forwarder {
    name: ServerName<'static>,
    connector: TlsConnector,
    connection: Mutex<Option<Arc<Pipeline>>>,
    /// Held while a connection is being opened, so that queries arriving together wait for
    /// that one instead of each opening its own.
    opening: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Forwarder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Forwarder")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl TlsForwarders {
    /// The TLS servers of `zones`, trusting `ca_file` or the system's roots. A CA file that
    /// does not load leaves no root at all: every TLS forwarder then fails, and is logged, rather
    /// than being trusted without verification.
    pub fn new(zones: &[ForwardZone], ca_file: Option<&Path>) -> Self {
        let servers: Vec<_> = zones.iter().flat_map(|zone| zone.tls.iter()).collect();
        if servers.is_empty() {
            return TlsForwarders::default();
        }
        let roots = roots(ca_file).unwrap_or_else(|error| {
            tracing::error!(%error, "no CA for forwarders over TLS; they will all fail");
            RootCertStore::empty()
        });
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map(|builder| {
                let mut config = builder.with_root_certificates(roots).with_no_client_auth();
                config.alpn_protocols = vec![ALPN_DOT.to_vec()];
                Arc::new(config)
            });
        let config = match config {
            Ok(config) => config,
            Err(error) => {
                tracing::error!(%error, "cannot set up TLS for forwarders");
                return TlsForwarders::default();
            }
        };
        let connector = TlsConnector::from(config);
        let servers = servers
            .into_iter()
            .filter_map(|server| {
                // Checked when the configuration was read.
                let name = ServerName::try_from(server.auth_name.clone()).ok()?;
                Some((
                    server.addr,
                    Forwarder {
                        name,
                        connector: connector.clone(),
                        connection: Mutex::new(None),
                        opening: tokio::sync::Mutex::new(()),
                    },
                ))
            })
            .collect();
        TlsForwarders { servers }
    }

    pub fn is_empty(&self) -> bool {
        self.servers.is_empty()
    }

    /// Whether `server` is to be reached over TLS.
    pub fn contains(&self, server: SocketAddr) -> bool {
        self.servers.contains_key(&server)
    }

    /// Sends `query` (ID `id`) to `server` and returns the response with that ID, unparsed
    /// checks aside, by `deadline`.
    pub async fn exchange(
        &self,
        server: SocketAddr,
        query: &[u8],
        id: u16,
        deadline: Instant,
    ) -> Result<Message, UpstreamError> {
        let Some(forwarder) = self.servers.get(&server) else {
            return Err(UpstreamError::Forbidden(server.ip()));
        };
        let frame = frame(query)?;
        // Twice at most: a kept connection may have been closed by the server meanwhile.
        for attempt in 0..2 {
            let (pipeline, fresh) = forwarder.connection(server, deadline).await?;
            let answer = match pipeline.submit(id, frame.clone()).await {
                Some(answer) => answer,
                None => {
                    forwarder.forget(&pipeline);
                    continue;
                }
            };
            match timeout_at(deadline, answer).await {
                Err(_) => {
                    pipeline.abandon(id);
                    return Err(UpstreamError::Timeout);
                }
                Ok(Ok(bytes)) => {
                    return Message::from_vec(&bytes)
                        .map_err(|e| UpstreamError::Malformed(e.to_string()));
                }
                // The connection failed before the answer came.
                Ok(Err(_)) => {
                    forwarder.forget(&pipeline);
                    if fresh || attempt == 1 {
                        break;
                    }
                }
            }
        }
        Err(UpstreamError::Io(io::Error::new(
            io::ErrorKind::ConnectionReset,
            "the TLS connection to the forwarder failed",
        )))
    }
}

impl Forwarder {
    /// The connection in use, or a new one (`true` when new).
    async fn connection(
        &self,
        server: SocketAddr,
        deadline: Instant,
    ) -> Result<(Arc<Pipeline>, bool), UpstreamError> {
        if let Some(pipeline) = self.open_pipeline() {
            return Ok((pipeline, false));
        }
        let Ok(_opening) = timeout_at(deadline, self.opening.lock()).await else {
            return Err(UpstreamError::Timeout);
        };
        // Opened by the query that held the lock before.
        if let Some(pipeline) = self.open_pipeline() {
            return Ok((pipeline, false));
        }
        let open = async {
            let tcp = TcpStream::connect(server).await?;
            tcp.set_nodelay(true)?;
            self.connector.connect(self.name.clone(), tcp).await
        };
        let tls = match timeout_at(deadline, open).await {
            Err(_) => return Err(UpstreamError::Timeout),
            Ok(Err(error)) => {
                tracing::debug!(%server, name = ?self.name, %error, "TLS to the forwarder failed");
                return Err(UpstreamError::Io(error));
            }
            Ok(Ok(tls)) => tls,
        };
        let pipeline = Pipeline::start(tls);
        *self.lock() = Some(Arc::clone(&pipeline));
        Ok((pipeline, true))
    }

    fn open_pipeline(&self) -> Option<Arc<Pipeline>> {
        self.lock().as_ref().filter(|p| p.is_open()).cloned()
    }

    /// Drops `pipeline` if it is still the one in use.
    fn forget(&self, pipeline: &Arc<Pipeline>) {
        let mut current = self.lock();
        if current.as_ref().is_some_and(|c| Arc::ptr_eq(c, pipeline)) {
            *current = None;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Arc<Pipeline>>> {
        self.connection.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The queries waiting for an answer on one connection, by ID, and whether the connection has
/// ended (then nothing is added: no answer could come).
#[derive(Default)]
struct Waiting {
    queries: HashMap<u16, oneshot::Sender<Vec<u8>>>,
    closed: bool,
}

type Pending = Arc<Mutex<Waiting>>;

/// One TLS connection: a writer task sending queued frames, a reader task handing each answer
/// to the query with its ID.
struct Pipeline {
    outgoing: mpsc::Sender<Vec<u8>>,
    pending: Pending,
}

impl Pipeline {
    fn start(tls: tokio_rustls::client::TlsStream<TcpStream>) -> Arc<Self> {
        let (mut reader, mut writer) = tokio::io::split(tls);
        let (outgoing, mut queue) = mpsc::channel::<Vec<u8>>(QUEUED_PER_CONNECTION);
        let pending: Pending = Arc::default();
        tokio::spawn(async move {
            while let Some(frame) = queue.recv().await {
                if writer.write_all(&frame).await.is_err() {
                    break;
                }
                if queue.is_empty() && writer.flush().await.is_err() {
                    break;
                }
            }
            let _ = writer.shutdown().await;
        });
        let answers = Arc::clone(&pending);
        tokio::spawn(async move {
            while let Ok(length) = reader.read_u16().await {
                let mut message = vec![0u8; usize::from(length)];
                if reader.read_exact(&mut message).await.is_err() {
                    break;
                }
                let Some(id) = message.get(..2).map(|b| u16::from_be_bytes([b[0], b[1]])) else {
                    continue;
                };
                let waiting = lock(&answers).queries.remove(&id);
                // An answer nobody waits for (a late one, or a stray ID) is dropped.
                if let Some(waiting) = waiting {
                    let _ = waiting.send(message);
                }
            }
            // Closed or broken: every query still waiting learns it at once.
            let mut waiting = lock(&answers);
            waiting.closed = true;
            waiting.queries.clear();
        });
        Arc::new(Pipeline { outgoing, pending })
    }

    fn is_open(&self) -> bool {
        !self.outgoing.is_closed() && !lock(&self.pending).closed
    }

    /// Queues `frame`; the receiver gets the answer with ID `id`. `None` if the connection is
    /// gone, or the ID is already waiting on it.
    async fn submit(&self, id: u16, frame: Vec<u8>) -> Option<oneshot::Receiver<Vec<u8>>> {
        let (sender, receiver) = oneshot::channel();
        {
            let mut pending = lock(&self.pending);
            if pending.closed || pending.queries.contains_key(&id) {
                return None;
            }
            pending.queries.insert(id, sender);
        }
        if self.outgoing.send(frame).await.is_err() {
            self.abandon(id);
            return None;
        }
        Some(receiver)
    }

    fn abandon(&self, id: u16) {
        lock(&self.pending).queries.remove(&id);
    }
}

fn lock(pending: &Pending) -> std::sync::MutexGuard<'_, Waiting> {
    pending.lock().unwrap_or_else(|p| p.into_inner())
}

fn frame(query: &[u8]) -> Result<Vec<u8>, UpstreamError> {
    let length = u16::try_from(query.len())
        .map_err(|_| UpstreamError::Encode("query longer than 65535 bytes".into()))?;
    let mut frame = Vec::with_capacity(query.len() + 2);
    frame.extend_from_slice(&length.to_be_bytes());
    frame.extend_from_slice(query);
    Ok(frame)
}
