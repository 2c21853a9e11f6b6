//! The TCP listener: 2-byte length framing (RFC 1035 §4.2.2), several queries per connection
//! answered as they complete, out of order (RFC 7766 §6.2.1.1).
//!
//! A TCP client holds server resources for as long as it keeps a connection open, so every way of
//! holding them is bounded: the number of connections, the time a connection may sit idle, the
//! time a started message may take to arrive (a slowloris client trickling bytes is cut off), the
//! size of a message, and the queries in progress per connection (RFC 7766 §6.2.3).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::OwnedReadHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tokio::time::{Instant, timeout, timeout_at};

use super::drain::Busy;
use super::pipeline::{self, Exchange, Transport};
use super::serving::{CurrentService, ServiceView};
use crate::metrics::labels::Limit;

/// Queries one connection may have in progress at once; a client pipelining more waits.
const QUERIES_PER_CONNECTION: usize = 32;

/// The largest query accepted over TCP. A query is one question (a name of at most 255 octets)
/// plus an OPT record; EDNS padding (RFC 8467 pads queries to 128-octet blocks), a cookie and a
/// client subnet leave it well under 1 KB. 4096 leaves room for anything legitimate while a
/// client announcing a 64 KB message is refused before ferret reserves memory for it.
const MAX_QUERY_LEN: u16 = 4096;

#[derive(Debug, Clone, Copy)]
pub struct TcpSettings {
    pub max_connections: usize,
    pub idle_timeout: Duration,
    pub read_timeout: Duration,
}

/// Accepts connections until `stop` turns true; connections already open then stop reading new
/// queries and close once the ones they have are answered.
pub(super) async fn serve(
    listener: TcpListener,
    current: CurrentService,
    mut stop: watch::Receiver<bool>,
) {
    let mut view = current.view();
    let mut max_connections = view.get().tcp.max_connections;
    let mut connections = Arc::new(Semaphore::new(max_connections));
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
        // is the cheapest answer and holds no resources.
        if !service.policy.acl().permits(client.ip()) {
            tracing::debug!(%client, "TCP client not allowed; closing");
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
            tracing::debug!(%client, "TCP connection limit reached; closing");
            service.metrics().record_limit(Limit::TcpConnections);
            continue;
        };
        let connection = Connection {
            client,
            view: current.view(),
            _permit: permit,
            _open: service.connections.enter(),
        };
        tokio::spawn(connection.serve(stream, stop.clone()));
    }
}

/// One client connection, what it needs to answer its queries, and what it holds while open.
/// Each query takes the configuration current when it arrives, also on a long-lived connection
/// opened before a reload.
struct Connection {
    client: SocketAddr,
    view: ServiceView,
    /// A place under `--max-tcp-connections`.
    _permit: OwnedSemaphorePermit,
    /// Counts the connection as open, so a stopping server waits until it has written every
    /// answer it owes.
    _open: Busy,
}

impl Connection {
    async fn serve(mut self, stream: TcpStream, mut stop: watch::Receiver<bool>) {
        let _ = stream.set_nodelay(true);
        let (reader, mut writer) = stream.into_split();
        let mut reader = BufReader::new(reader);
        let (responses, mut outbox) = mpsc::channel::<Vec<u8>>(QUERIES_PER_CONNECTION);
        let writing = tokio::spawn(async move {
            while let Some(frame) = outbox.recv().await {
                if writer.write_all(&frame).await.is_err() {
                    break;
                }
            }
            let _ = writer.shutdown().await;
        });
        let in_progress = Arc::new(Semaphore::new(QUERIES_PER_CONNECTION));
        loop {
            let settings = self.view.get().tcp;
            let message = tokio::select! {
                biased;
                _ = stop.wait_for(|stopping| *stopping) => break,
                message = read_message(&mut reader, &settings) => message,
            };
            let Some(message) = message else { break };
            let Ok(slot) = Arc::clone(&in_progress).acquire_owned().await else {
                break;
            };
            let exchange = Exchange::new(self.client, Transport::Tcp);
            let service = Arc::clone(self.view.get());
            let busy = service.queries.enter();
            let responses = responses.clone();
            tokio::spawn(async move {
                let reply = pipeline::handle(&service, &exchange, &message).await;
                if let Some(frame) = reply.and_then(frame) {
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
async fn read_message(
    reader: &mut BufReader<OwnedReadHalf>,
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
