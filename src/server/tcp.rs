//! The TCP listener: 2-byte length framing (RFC 1035 §4.2.2), several queries per connection
//! answered as they complete, out of order (RFC 7766 §6.2.1.1).

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedReadHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::time::timeout;

use super::CurrentServing;
use super::pipeline::{self, Transport};

/// Queries one connection may have in progress at once; a client pipelining more waits.
const QUERIES_PER_CONNECTION: usize = 32;

#[derive(Debug, Clone, Copy)]
pub struct TcpSettings {
    pub max_connections: usize,
    pub idle_timeout: Duration,
}

pub(crate) async fn serve(listener: TcpListener, serving: CurrentServing) {
    let mut max_connections = serving.get().tcp.max_connections;
    let mut connections = Arc::new(Semaphore::new(max_connections));
    loop {
        let (stream, client) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                // Usually out of file descriptors: back off instead of spinning.
                tracing::warn!(%error, "TCP accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let settings = serving.get().tcp;
        if settings.max_connections != max_connections {
            // A reload changed the cap. Connections open now keep their permits from the old
            // semaphore, so for a while there may be up to both caps' worth of connections.
            max_connections = settings.max_connections;
            connections = Arc::new(Semaphore::new(max_connections));
        }
        // Over the cap the connection is closed at once: an old client may be slow, but a
        // flood of idle connections must not starve everyone else.
        let Ok(permit) = Arc::clone(&connections).try_acquire_owned() else {
            tracing::debug!(%client, "TCP connection limit reached; closing");
            continue;
        };
        tokio::spawn(serve_connection(
            stream,
            serving.clone(),
            settings.idle_timeout,
            permit,
        ));
    }
}

async fn serve_connection(
    stream: TcpStream,
    serving: CurrentServing,
    idle_timeout: Duration,
    _connection: OwnedSemaphorePermit,
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
    while let Some(message) = read_message(&mut reader, idle_timeout).await {
        let Ok(slot) = Arc::clone(&in_progress).acquire_owned().await else {
            break;
        };
        let responses = responses.clone();
        // Each query takes the configuration current when it arrives, also on a long-lived
        // connection that was opened before a reload.
        let resolver = Arc::clone(&serving.get().resolver);
        tokio::spawn(async move {
            if let Some(reply) = pipeline::handle(&message, &resolver, Transport::Tcp).await
                && let Some(frame) = frame(reply)
            {
                let _ = responses.send(frame).await;
            }
            drop(slot);
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
