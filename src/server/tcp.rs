//! The TCP listener: 2-byte length framing (RFC 1035 §4.2.2), several queries per connection
//! answered as they complete, out of order (RFC 7766 §6.2.1.1). DNS over TLS (RFC 7858) is the
//! same framing inside TLS, and DNS over HTTPS ([`super::doh`]) runs on the same accepted
//! connections, so all three share this accept loop and its limits.
//!
//! A TCP client holds server resources for as long as it keeps a connection open, so every way of
//! holding them is bounded: the number of connections, the time a TLS handshake may take, the time
//! a connection may sit idle, the time a started message may take to arrive (a slowloris client
//! trickling bytes is cut off), the size of a message, and the queries in progress per connection
//! (RFC 7766 §6.2.3).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tokio::time::{Instant, timeout, timeout_at};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use super::drain::Busy;
use super::pipeline::{self, Admission, Exchange, Transport};
use super::serving::{CurrentService, ServiceView};
use super::{doh, padding};
use crate::metrics::labels::Limit;

/// Queries one connection may have in progress at once; a client pipelining more waits.
const QUERIES_PER_CONNECTION: usize = 32;

/// The largest query accepted over TCP. A query is one question (a name of at most 255 octets)
/// plus an OPT record; EDNS padding (RFC 8467 pads queries to 128-octet blocks), a cookie and a
/// client subnet leave it well under 1 KB. 4096 leaves room for anything legitimate while a
/// client announcing a 64 KB message is refused before ferret reserves memory for it.
pub(super) const MAX_QUERY_LEN: u16 = 4096;

#[derive(Debug, Clone, Copy)]
pub struct TcpSettings {
    pub max_connections: usize,
    pub idle_timeout: Duration,
    pub read_timeout: Duration,
    pub handshake_timeout: Duration,
}

/// What a stream listener speaks on the connections it accepts.
#[derive(Clone)]
pub(super) enum Speaks {
    /// Plain DNS over TCP.
    Dns,
    /// DNS over TLS (RFC 7858).
    Tls(TlsAcceptor),
    /// DNS over HTTPS (RFC 8484).
    Https(TlsAcceptor),
}

impl Speaks {
    fn transport(&self) -> Transport {
        match self {
            Speaks::Dns => Transport::Tcp,
            Speaks::Tls(_) => Transport::Dot,
            Speaks::Https(_) => Transport::Doh,
        }
    }
}

/// Accepts connections until `stop` turns true; connections already open then stop reading new
/// queries and close once the ones they have are answered.
pub(super) async fn serve(
    listener: TcpListener,
    current: CurrentService,
    mut stop: watch::Receiver<bool>,
    speaks: Speaks,
) {
    let mut view = current.view();
    let mut max_connections = view.get().tcp.max_connections;
    let mut connections = Arc::new(Semaphore::new(max_connections));
    let transport = speaks.transport();
    loop {
        let accepted = tokio::select! {
            biased;
            _ = stop.wait_for(|stopping| *stopping) => return,
            accepted = listener.accept() => accepted,
        };
        let (stream, client) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                // Usually out of file descriptors: back off instead of spinning.
                tracing::warn!(%error, "TCP accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let service = view.get();
        // A client outside the access list gets nothing, not even an error: closing at once
        // is the cheapest answer and holds no resources (no TLS handshake either).
        if !service.policy.acl().permits(client.ip()) {
            tracing::debug!(%client, ?transport, "client not allowed; closing");
            continue;
        }
        if service.tcp.max_connections != max_connections {
            // A reload changed the cap. Connections open now keep their permits from the old
            // semaphore, so for a while there may be up to both caps' worth of connections.
            max_connections = service.tcp.max_connections;
            connections = Arc::new(Semaphore::new(max_connections));
        }
        // Over the cap the connection is closed at once: an old client may be slow, but a
        // flood of idle connections must not starve everyone else.
        let Ok(permit) = Arc::clone(&connections).try_acquire_owned() else {
            tracing::debug!(%client, ?transport, "connection limit reached; closing");
            service.metrics().record_limit(Limit::TcpConnections);
            continue;
        };
        let connection = Connection {
            client,
            view: current.view(),
            _permit: permit,
            _open: service.connections.enter(),
        };
        let stop = stop.clone();
        match &speaks {
            Speaks::Dns => {
                let _ = stream.set_nodelay(true);
                let (reader, writer) = stream.into_split();
                tokio::spawn(connection.serve(reader, writer, Transport::Tcp, stop));
            }
            Speaks::Tls(acceptor) => {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let mut connection = connection;
                    let _ = stream.set_nodelay(true);
                    if let Some(tls) = connection
                        .handshake(&acceptor, stream, Transport::Dot)
                        .await
                    {
                        let (reader, writer) = tokio::io::split(tls);
                        connection.serve(reader, writer, Transport::Dot, stop).await;
                    }
                });
            }
            Speaks::Https(acceptor) => {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let mut connection = connection;
                    let _ = stream.set_nodelay(true);
                    let cork = doh::Cork::default();
                    let stream = doh::Corked::new(stream, cork.clone());
                    if let Some(tls) = connection
                        .handshake(&acceptor, stream, Transport::Doh)
                        .await
                    {
                        doh::serve(connection, tls, cork, stop).await;
                    }
                });
            }
        }
    }
}

/// One client connection, what it needs to answer its queries, and what it holds while open.
/// Each query takes the configuration current when it arrives, also on a long-lived connection
/// opened before a reload.
pub(super) struct Connection {
    pub client: SocketAddr,
    pub view: ServiceView,
    /// A place under `--max-tcp-connections`.
    _permit: OwnedSemaphorePermit,
    /// Counts the connection as open, so a stopping server waits until it has written every
    /// answer it owes.
    _open: Busy,
}

impl Connection {
    /// The TLS handshake, within the handshake timeout; `None` (counted as a handshake
    /// failure) if the client does not complete it in time, or fails it.
    async fn handshake<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        acceptor: &TlsAcceptor,
        stream: S,
        transport: Transport,
    ) -> Option<TlsStream<S>> {
        let service = self.view.get();
        let limit = service.tcp.handshake_timeout;
        match timeout(limit, acceptor.accept(stream)).await {
            Ok(Ok(tls)) => Some(tls),
            Ok(Err(error)) => {
                tracing::debug!(client = %self.client, %error, "TLS handshake failed");
                service
                    .metrics()
                    .record_handshake_failure(transport.protocol());
                None
            }
            Err(_) => {
                tracing::debug!(client = %self.client, "TLS handshake timed out");
                service
                    .metrics()
                    .record_handshake_failure(transport.protocol());
                None
            }
        }
    }

    /// Reads length-prefixed queries from `reader` and writes the answers to `writer` as they
    /// complete: cache hits and local answers at once, misses from a task each.
    async fn serve<R, W>(
        mut self,
        reader: R,
        mut writer: W,
        transport: Transport,
        mut stop: watch::Receiver<bool>,
    ) where
        R: AsyncRead + Unpin,
        W: AsyncWrite + Unpin + Send + 'static,
    {
        let mut reader = BufReader::new(reader);
        let (responses, mut outbox) = mpsc::channel::<Vec<u8>>(QUERIES_PER_CONNECTION);
        let writing = tokio::spawn(async move {
            while let Some(frame) = outbox.recv().await {
                if writer.write_all(&frame).await.is_err() {
                    break;
                }
                // Answers that are ready together leave together (one TLS record, one
                // segment), but none waits for another.
                if outbox.is_empty() && writer.flush().await.is_err() {
                    break;
                }
            }
            let _ = writer.shutdown().await;
        });
        let in_progress = Arc::new(Semaphore::new(QUERIES_PER_CONNECTION));
        // RFC 7830 padding is for encrypted transports only.
        let may_pad = transport != Transport::Tcp;
        loop {
            let settings = self.view.get().tcp;
            let message = tokio::select! {
                biased;
                _ = stop.wait_for(|stopping| *stopping) => break,
                message = read_message(&mut reader, &settings) => message,
            };
            let Some(message) = message else { break };
            let exchange = Exchange::new(self.client, transport);
            let service = Arc::clone(self.view.get());
            let padded = may_pad && padding::query_is_padded(&message);
            let reply = |bytes: Vec<u8>| frame(if padded { padding::pad(bytes) } else { bytes });
            // What needs no upstream query is answered here, without a task, as UDP does.
            let mut fast = Vec::new();
            if pipeline::answer_fast(&service, &exchange, &message, &mut fast) {
                if let Some(frame) = reply(fast)
                    && responses.send(frame).await.is_err()
                {
                    break;
                }
                continue;
            }
            let query = match pipeline::accept(&service, &exchange, &message) {
                Admission::Nothing => continue,
                Admission::Reply(bytes) => {
                    if let Some(frame) = reply(bytes)
                        && responses.send(frame).await.is_err()
                    {
                        break;
                    }
                    continue;
                }
                Admission::Answer(query) => query,
            };
            if let Some(bytes) = pipeline::answer_inline(&service, &exchange, &query) {
                if let Some(frame) = reply(bytes)
                    && responses.send(frame).await.is_err()
                {
                    break;
                }
                continue;
            }
            let Ok(slot) = Arc::clone(&in_progress).acquire_owned().await else {
                break;
            };
            let busy = service.queries.enter();
            let responses = responses.clone();
            tokio::spawn(async move {
                let bytes = pipeline::answer_resolving(&service, &exchange, &query).await;
                let bytes = if padded { padding::pad(bytes) } else { bytes };
                if let Some(frame) = frame(bytes) {
                    let _ = responses.send(frame).await;
                }
                drop(slot);
                drop(busy);
            });
        }
        // The writer ends once every query still in progress has sent its answer.
        drop(responses);
        let _ = writing.await;
    }
}

/// The next length-prefixed message, or `None` to close the connection: the client closed it,
/// stayed silent for the idle timeout, took longer than the read timeout to send a message it
/// had started, or announced an empty or oversized message.
async fn read_message<R: AsyncRead + Unpin>(
    reader: &mut BufReader<R>,
    settings: &TcpSettings,
) -> Option<Vec<u8>> {
    let first = timeout(settings.idle_timeout, reader.read_u8())
        .await
        .ok()?
        .ok()?;
    // From the first byte on, the whole message must arrive within the read timeout, however
    // slowly the bytes trickle in.
    let deadline = Instant::now() + settings.read_timeout;
    let second = timeout_at(deadline, reader.read_u8()).await.ok()?.ok()?;
    let length = u16::from_be_bytes([first, second]);
    if length == 0 || length > MAX_QUERY_LEN {
        tracing::debug!(length, "TCP message length out of bounds; closing");
        return None;
    }
    let mut message = vec![0u8; usize::from(length)];
    timeout_at(deadline, reader.read_exact(&mut message))
        .await
        .ok()?
        .ok()?;
    Some(message)
}

fn frame(message: Vec<u8>) -> Option<Vec<u8>> {
    let length = u16::try_from(message.len()).ok()?;
    let mut frame = Vec::with_capacity(message.len() + 2);
    frame.extend_from_slice(&length.to_be_bytes());
    frame.extend_from_slice(&message);
    Some(frame)
}
