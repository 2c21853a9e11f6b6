//! One question over TCP (after a truncated UDP answer), with 2-byte length framing (RFC 1035
//! §4.2.2).

use std::net::SocketAddr;

use hickory_proto::op::Message;
use hickory_proto::rr::{Name, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout_at};

use super::cookies::echoes;
use super::{UpstreamError, response_matches};
use crate::cookie::ClientCookie;

pub async fn exchange(
    server: SocketAddr,
    query: &[u8],
    id: u16,
    name: &Name,
    rtype: RecordType,
    cookie: &ClientCookie,
    deadline: Instant,
) -> Result<Message, UpstreamError> {
    timeout_at(
        deadline,
        exchange_inner(server, query, id, name, rtype, cookie),
    )
    .await
    .map_err(|_| UpstreamError::Timeout)?
}

async fn exchange_inner(
    server: SocketAddr,
    query: &[u8],
    id: u16,
    name: &Name,
    rtype: RecordType,
    cookie: &ClientCookie,
) -> Result<Message, UpstreamError> {
    let mut stream = TcpStream::connect(server).await?;
    stream.set_nodelay(true)?;
    let length = u16::try_from(query.len())
        .map_err(|_| UpstreamError::Encode("query longer than 65535 bytes".into()))?;
    let mut frame = Vec::with_capacity(query.len() + 2);
    frame.extend_from_slice(&length.to_be_bytes());
    frame.extend_from_slice(query);
    stream.write_all(&frame).await?;
    let length = stream.read_u16().await?;
    let mut buffer = vec![0u8; usize::from(length)];
    stream.read_exact(&mut buffer).await?;
    let response =
        Message::from_vec(&buffer).map_err(|e| UpstreamError::Malformed(e.to_string()))?;
    if !response_matches(&response, id, name, rtype) || !echoes(&response, cookie) {
        return Err(UpstreamError::Malformed(
            "answer does not match the query".into(),
        ));
    }
    Ok(response)
}
