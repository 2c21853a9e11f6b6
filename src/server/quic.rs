//! DNS over QUIC (RFC 9250): a quinn endpoint on a UDP socket, TLS 1.3 with the certificate of
//! DoT and DoH, ALPN `doq`. Each client-initiated bidirectional stream carries one query with a
//! 2-octet length (§4.2), Message ID 0 (§4.2.1), and the client's FIN after it; the answer goes
//! back on the same stream, framed the same way, followed by the server's FIN. Answers come from
//! the same pipeline as every other listener, so the access list, cache, cookies and limits apply.
//!
//! The resources a client can hold are bounded as for TCP: connections per listener
//! (`max-tcp-connections`, refused before any handshake work), the handshake time
//! (`tls-handshake-timeout-ms`), the idle time between queries (`tcp-idle-timeout`), the time a
//! started query may take to arrive (`tcp-read-timeout-ms`), the size of a query, and the streams
//! open at once on one connection (QUIC stream credit, [`STREAMS_PER_CONNECTION`]). Clients may
//! not open unidirectional streams at all (§4.2: DoQ uses none). 0-RTT is off (the tickets allow
//! no early data, see [`super::certificates`]): RFC 9250 §4.5 allows only replay-safe queries in
//! it, and telling those apart is not worth a round trip saved.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use quinn::crypto::rustls::QuicServerConfig;
use quinn::{Connection, Endpoint, EndpointConfig, Incoming, RecvStream, SendStream, VarInt};
use thiserror::Error;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::time::timeout;

use super::drain::Busy;
use super::padding;
use super::pipeline::{self, Exchange, Transport};
use super::serving::{CurrentService, ServiceView};
use super::tcp::{MAX_QUERY_LEN, TcpSettings};
use crate::metrics::labels::Limit;

/// DoQ error codes (RFC 9250 §4.3), sent when a connection is closed or a stream reset.
pub mod error_code {
    /// No error: the connection is closed idle, or as the server stops.
    pub const NO_ERROR: u32 = 0x0;
    /// The server could not answer a query it took (the answer could not be framed or sent).
    pub const INTERNAL_ERROR: u32 = 0x1;
    /// The client broke the protocol (§4.3.3): a non-zero Message ID, a length that does not
    /// match what the stream held, more than one message or an oversized one on a stream.
    pub const PROTOCOL_ERROR: u32 = 0x2;
    /// Not sent by ferret: a listener over its connection cap refuses new connections with
    /// QUIC's CONNECTION_REFUSED before any handshake work, which costs less than accepting a
    /// connection only to close it with this code.
    pub const EXCESSIVE_LOAD: u32 = 0x4;
}

/// Streams a client may have open at once on one connection (QUIC stream credit: the client
/// cannot open more until earlier ones are done). As DoT's queries in progress per connection.
pub const STREAMS_PER_CONNECTION: u32 = 32;

/// Everything a stream may carry: one query and its length.
const MAX_STREAM_LEN: usize = MAX_QUERY_LEN as usize + 2;

/// Why a stream's bytes are not one DoQ query (RFC 9250 §4.2, §4.3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum FramingError {
    #[error("the stream ended before the message its length announced")]
    Truncated,
    #[error("the stream holds more than the one message its length announced")]
    TrailingData,
    #[error("the message is empty or longer than {MAX_QUERY_LEN} octets")]
    BadLength,
    #[error("the Message ID is not 0 (RFC 9250 §4.2.1)")]
    NonZeroId,
}

/// The query in what a client sent on one stream up to its FIN: a 2-octet length, then exactly
/// that many octets of message, whose ID must be 0. Whether the message is a well-formed query
/// is for the pipeline to say.
pub fn parse_query(stream: &[u8]) -> Result<&[u8], FramingError> {
    let Some((length, message)) = stream.split_first_chunk::<2>() else {
        return Err(FramingError::Truncated);
    };
    let length = usize::from(u16::from_be_bytes(*length));
    if length == 0 || length > usize::from(MAX_QUERY_LEN) {
        return Err(FramingError::BadLength);
    }
    match message.len().cmp(&length) {
        std::cmp::Ordering::Less => return Err(FramingError::Truncated),
        std::cmp::Ordering::Greater => return Err(FramingError::TrailingData),
        std::cmp::Ordering::Equal => {}
    }
    match message.get(..2) {
        Some([0, 0]) => Ok(message),
        Some(_) => Err(FramingError::NonZeroId),
        None => Err(FramingError::Truncated),
    }
}

/// The quinn server configuration for `tls` (the rustls configuration of DoQ: TLS 1.3, ALPN
/// `doq`, the shared certificate resolver, so a reload's certificate reaches new handshakes)
/// with the transport limits of `settings`.
pub(super) fn server_config(
    tls: Arc<rustls::ServerConfig>,
    settings: &TcpSettings,
) -> Result<quinn::ServerConfig, QuicSetupError> {
    let crypto = QuicServerConfig::try_from(tls).map_err(|_| QuicSetupError::CipherSuite)?;
    let mut config = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    let mut transport = quinn::TransportConfig::default();
    transport
        .max_concurrent_bidi_streams(VarInt::from_u32(STREAMS_PER_CONNECTION))
        .max_concurrent_uni_streams(VarInt::from_u32(0))
        // The transport's own idle timeout closes a connection whose client has vanished; the
        // DoQ idle timeout (no query for `tcp-idle-timeout`) is applied per connection below,
        // since a client's keep-alive PINGs would reset this one.
        .max_idle_timeout(quinn::IdleTimeout::try_from(transport_idle(settings)).ok())
        // No datagrams (RFC 9221): DoQ does not use them.
        .datagram_receive_buffer_size(None);
    config.transport_config(Arc::new(transport));
    // Handshakes waiting for `accept` at once; a flood beyond it is dropped by quinn.
    config.max_incoming(settings.max_connections.clamp(1, 65_536));
    Ok(config)
}

/// The QUIC idle timeout: a little over the DoQ one, so that the server's DOQ_NO_ERROR close
/// comes first for a live client.
fn transport_idle(settings: &TcpSettings) -> Duration {
    settings.idle_timeout + Duration::from_secs(1)
}

#[derive(Debug, Error)]
pub enum QuicSetupError {
    #[error("the TLS provider has no cipher suite for QUIC's initial packets")]
    CipherSuite,
}

/// A quinn endpoint serving DoQ on `socket`.
pub(super) fn endpoint(
    socket: std::net::UdpSocket,
    config: quinn::ServerConfig,
) -> std::io::Result<Endpoint> {
    Endpoint::new(
        EndpointConfig::default(),
        Some(config),
        socket,
        Arc::new(quinn::TokioRuntime),
    )
}

/// Accepts connections until `stop` turns true; connections already open then take no new
/// streams and close once the ones they have are answered.
pub(super) async fn serve(
    endpoint: Endpoint,
    tls: Arc<rustls::ServerConfig>,
    current: CurrentService,
    mut stop: watch::Receiver<bool>,
) {
    let mut view = current.view();
    let mut settings = view.get().tcp;
    let mut connections = Arc::new(Semaphore::new(settings.max_connections));
    loop {
        let incoming = tokio::select! {
            biased;
            _ = stop.wait_for(|stopping| *stopping) => break,
            incoming = endpoint.accept() => incoming,
        };
        let Some(incoming) = incoming else { break };
        let service = view.get();
        let client = incoming.remote_address();
        // Outside the access list: not even a CONNECTION_REFUSED, as TCP closes at once.
        if !service.policy.acl().permits(client.ip()) {
            tracing::debug!(%client, "client not allowed; ignoring its QUIC connection");
            incoming.ignore();
            continue;
        }
        if service.tcp.max_connections != settings.max_connections {
            // As for TCP: connections open now keep their permits from the old semaphore.
            connections = Arc::new(Semaphore::new(service.tcp.max_connections));
        }
        if service.tcp.idle_timeout != settings.idle_timeout
            || service.tcp.max_connections != settings.max_connections
        {
            match server_config(Arc::clone(&tls), &service.tcp) {
                Ok(config) => endpoint.set_server_config(Some(config)),
                Err(error) => tracing::warn!(%error, "DoQ transport settings not changed"),
            }
        }
        settings = service.tcp;
        let Ok(permit) = Arc::clone(&connections).try_acquire_owned() else {
            tracing::debug!(%client, "connection limit reached; refusing a QUIC connection");
            service.metrics().record_limit(Limit::TcpConnections);
            incoming.refuse();
            continue;
        };
        let connection = Client {
            client,
            view: current.view(),
            _permit: permit,
            _open: service.connections.enter(),
        };
        tokio::spawn(connection.serve(incoming, stop.clone()));
    }
}

/// One client connection and what it holds while open.
struct Client {
    client: SocketAddr,
    view: ServiceView,
    /// A place under `--max-tcp-connections`.
    _permit: OwnedSemaphorePermit,
    /// Counts the connection as open, so a stopping server waits for the answers it owes.
    _open: Busy,
}

impl Client {
    async fn serve(mut self, incoming: Incoming, mut stop: watch::Receiver<bool>) {
        let Some(connection) = self.handshake(incoming).await else {
            return;
        };
        let streams = Arc::new(Semaphore::new(STREAMS_PER_CONNECTION as usize));
        loop {
            let settings = self.view.get().tcp;
            let accepted = tokio::select! {
                biased;
                _ = stop.wait_for(|stopping| *stopping) => break,
                accepted = timeout(settings.idle_timeout, connection.accept_bi()) => accepted,
            };
            let (send, recv) = match accepted {
                Ok(Ok(stream)) => stream,
                // Closed by the client, timed out, or closed by a stream's protocol error.
                Ok(Err(_)) => return,
                Err(_) => {
                    if streams.available_permits() == STREAMS_PER_CONNECTION as usize {
                        tracing::debug!(client = %self.client, "DoQ connection idle; closing");
                        break;
                    }
                    // Queries are still being answered: not idle.
                    continue;
                }
            };
            // Stream credit already bounds this; the permit tells the idle check what is open.
            let Ok(slot) = Arc::clone(&streams).acquire_owned().await else {
                break;
            };
            let stream = Stream {
                client: self.client,
                service: Arc::clone(self.view.get()),
                connection: connection.clone(),
                read_timeout: settings.read_timeout,
            };
            tokio::spawn(async move {
                stream.answer(send, recv).await;
                drop(slot);
            });
        }
        // Stopping or idle: answer what was taken, then close without error (§4.3).
        let _ = streams
            .acquire_many(STREAMS_PER_CONNECTION)
            .await
            .map(|all| all.forget());
        connection.close(VarInt::from_u32(error_code::NO_ERROR), b"");
    }

    /// The QUIC handshake, within the handshake timeout; `None` (counted as a handshake
    /// failure) if it fails, or does not finish in time.
    async fn handshake(&mut self, incoming: Incoming) -> Option<Connection> {
        let service = Arc::clone(self.view.get());
        let failed = || {
            service
                .metrics()
                .record_handshake_failure(Transport::Doq.protocol())
        };
        let connecting = match incoming.accept() {
            Ok(connecting) => connecting,
            Err(error) => {
                tracing::debug!(client = %self.client, %error, "QUIC connection not accepted");
                failed();
                return None;
            }
        };
        // Dropping a connection that is still connecting closes it.
        match timeout(service.tcp.handshake_timeout, connecting).await {
            Ok(Ok(connection)) => Some(connection),
            Ok(Err(error)) => {
                tracing::debug!(client = %self.client, %error, "QUIC handshake failed");
                failed();
                None
            }
            Err(_) => {
                tracing::debug!(client = %self.client, "QUIC handshake timed out");
                failed();
                None
            }
        }
    }
}

/// One stream: its query, and what it needs to answer it.
struct Stream {
    client: SocketAddr,
    service: Arc<super::Service>,
    connection: Connection,
    read_timeout: Duration,
}

impl Stream {
    async fn answer(self, mut send: SendStream, mut recv: RecvStream) {
        // The whole query, up to the client's FIN, within the read timeout (slowloris).
        let bytes = match timeout(self.read_timeout, recv.read_to_end(MAX_STREAM_LEN)).await {
            Ok(Ok(bytes)) => bytes,
            Ok(Err(quinn::ReadToEndError::TooLong)) => {
                return self.protocol_error(FramingError::BadLength);
            }
            // The client reset the stream or the connection is gone: nobody to answer.
            Ok(Err(_)) => return,
            Err(_) => {
                tracing::debug!(client = %self.client, "DoQ query not sent in time");
                let code = VarInt::from_u32(error_code::PROTOCOL_ERROR);
                let _ = recv.stop(code);
                let _ = send.reset(code);
                return;
            }
        };
        let message = match parse_query(&bytes) {
            Ok(message) => message,
            Err(error) => return self.protocol_error(error),
        };
        let exchange = Exchange::new(self.client, Transport::Doq);
        // RFC 9250 §5.4: padded as DoT pads, for clients that pad their queries.
        let padded = padding::query_is_padded(message);
        let Some(reply) = pipeline::handle(&self.service, &exchange, message).await else {
            // Not a query (a response, say): nothing to answer it with.
            let _ = send.reset(VarInt::from_u32(error_code::PROTOCOL_ERROR));
            return;
        };
        let reply = if padded { padding::pad(reply) } else { reply };
        let Ok(length) = u16::try_from(reply.len()) else {
            let _ = send.reset(VarInt::from_u32(error_code::INTERNAL_ERROR));
            return;
        };
        let mut frame = Vec::with_capacity(reply.len() + 2);
        frame.extend_from_slice(&length.to_be_bytes());
        frame.extend_from_slice(&reply);
        // A client that went away or stopped reading loses its answer, nothing more.
        if send.write_all(&frame).await.is_ok() && send.finish().is_ok() {
            // The stream counts as open until the client has the answer: closing the connection
            // (idle, or stopping) would discard what it has not acknowledged yet.
            let _ = timeout(self.read_timeout, send.stopped()).await;
        }
    }

    /// RFC 9250 §4.3.3: a protocol error is fatal to the connection.
    fn protocol_error(&self, error: FramingError) {
        tracing::debug!(client = %self.client, %error, "DoQ protocol error; closing");
        self.connection.close(
            VarInt::from_u32(error_code::PROTOCOL_ERROR),
            error.to_string().as_bytes(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framed(message: &[u8]) -> Vec<u8> {
        let mut stream = u16::try_from(message.len()).unwrap().to_be_bytes().to_vec();
        stream.extend_from_slice(message);
        stream
    }

    #[test]
    fn one_framed_message_with_id_zero_is_a_query() {
        let query = [0u8, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        assert_eq!(parse_query(&framed(&query)), Ok(&query[..]));
    }

    #[test]
    fn everything_else_is_a_protocol_error() {
        let mut query = vec![0u8, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        let stream = framed(&query);
        assert_eq!(parse_query(&[]), Err(FramingError::Truncated));
        assert_eq!(parse_query(&[0]), Err(FramingError::Truncated));
        assert_eq!(parse_query(&[0, 0]), Err(FramingError::BadLength));
        assert_eq!(
            parse_query(&stream[..stream.len() - 1]),
            Err(FramingError::Truncated)
        );
        let mut two = stream.clone();
        two.extend_from_slice(&stream);
        assert_eq!(parse_query(&two), Err(FramingError::TrailingData));
        assert_eq!(parse_query(&[0, 1, 0]), Err(FramingError::Truncated));
        let mut long = vec![0x10, 0x01];
        long.resize(4097 + 2, 0);
        assert_eq!(parse_query(&long), Err(FramingError::BadLength));
        query[1] = 7;
        assert_eq!(parse_query(&framed(&query)), Err(FramingError::NonZeroId));
    }
}
