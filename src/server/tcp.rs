//! The TCP listener: 2-byte length framing (RFC 1035 §4.2.2), several queries per connection
//! answered as they complete, out of order (RFC 7766 §6.2.1.1).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedReadHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tokio::time::timeout;

use super::Service;
use super::drain::Busy;
use super::pipeline::{self, Exchange, Transport};
use crate::metrics::labels::Limit;

/// Queries one connection may have in progress at once; a client pipelining more waits.
const QUERIES_PER_CONNECTION: usize = 32;

#[derive(Debug, Clone, Copy)]
pub struct TcpSettings {
    pub max_connections: usize,
    pub idle_timeout: Duration,
}

/// Accepts connections until `stop` turns true; connections already open then stop reading new
/// queries and close once the ones they have are answered.
pub(super) async fn serve(
    listener: TcpListener,
    service: Arc<Service>,
    settings: TcpSettings,
    mut stop: watch::Receiver<bool>,
) {
    let connections = Arc::new(Semaphore::new(settings.max_connections));
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
        // Over the cap the connection is closed at once: an old client may be slow, but a
        // flood of idle connections must not starve everyone else.
        let Ok(permit) = Arc::clone(&connections).try_acquire_owned() else {
            tracing::debug!(%client, "TCP connection limit reached; closing");
            service.metrics().record_limit(Limit::TcpConnections);
            continue;
        };
        let connection = Connection {
            client,
            idle_timeout: settings.idle_timeout,
            _permit: permit,
            _open: service.connections.enter(),
        };
        tokio::spawn(serve_connection(
            stream,
            Arc::clone(&service),
            connection,
            stop.clone(),
        ));
    }
}

/// One accepted connection and what it holds while open.
struct Connection {
    client: SocketAddr,
    idle_timeout: Duration,
    /// A place under `--max-tcp-connections`.
    _permit: OwnedSemaphorePermit,
    /// Counts the connection as open, so a stopping server waits until it has written every
    /// answer it owes.
    _open: Busy,
}

async fn serve_connection(
    stream: TcpStream,
    service: Arc<Service>,
    connection: Connection,
    mut stop: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let (mut reader, mut writer) = stream.into_split();
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
        let message = tokio::select! {
            biased;
            _ = stop.wait_for(|stopping| *stopping) => break,
            message = read_message(&mut reader, connection.idle_timeout) => message,
        };
        let Some(message) = message else { break };
        let Ok(slot) = Arc::clone(&in_progress).acquire_owned().await else {
            break;
        };
        let exchange = Exchange::new(connection.client, Transport::Tcp);
        let busy = service.queries.enter();
        let responses = responses.clone();
        let service = Arc::clone(&service);
        tokio::spawn(async move {
            if let Some(reply) = pipeline::handle(&service, &exchange, &message).await
                && let Some(frame) = frame(reply)
            {
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

/// The next length-prefixed message, or `None` when the client closes, goes quiet for
/// `idle_timeout`, or sends a zero-length frame.
async fn read_message(reader: &mut OwnedReadHalf, idle_timeout: Duration) -> Option<Vec<u8>> {
    let length = timeout(idle_timeout, reader.read_u16()).await.ok()?.ok()?;
    if length == 0 {
        return None;
    }
    let mut message = vec![0u8; usize::from(length)];
    timeout(idle_timeout, reader.read_exact(&mut message))
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
