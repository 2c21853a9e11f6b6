//! One question over UDP.

use std::net::SocketAddr;
use std::sync::Arc;

use hickory_proto::op::Message;
use hickory_proto::rr::{Name, RecordType};
use tokio::time::{Instant, timeout_at};

use super::cookies::echoes;
use super::sockets::SocketPool;
use super::{UpstreamError, question_case_matches, response_matches};
use crate::cookie::ClientCookie;

/// Big enough for any answer to our advertised EDNS payload, with room for servers that ignore it.
const RECEIVE_BUFFER: usize = 4096;

/// Sends `query` to `server` from a socket of its own (see [`super::sockets`]) and waits until
/// `deadline` for the matching answer. The socket is connected, so the kernel drops datagrams from
/// any other address or port; packets that do arrive but do not match (wrong ID, wrong question,
/// a COOKIE that is not ours, garbage) are skipped, so a forger racing the real server cannot end
/// the exchange early. Only a socket that got its answer is used again.
///
/// With `exact_case` (0x20), an answer that matches in everything but the case of the question
/// is never returned: it ends the exchange with [`UpstreamError::CaseMismatch`], and the caller
/// asks again over TCP.
pub async fn exchange(
    sockets: &Arc<SocketPool>,
    server: SocketAddr,
    query: &[u8],
    expected: &Expected<'_>,
    deadline: Instant,
) -> Result<Message, UpstreamError> {
    let mut lent = sockets.lend(server)?;
    let socket = lent.socket();
    socket.send(query).await?;
    // Not zeroed: `recv_buf` writes into the spare capacity and counts what it wrote. Zeroing
    // 4 KiB per query was 4% of a cold resolution's instructions.
    let mut buffer = Vec::with_capacity(RECEIVE_BUFFER);
    loop {
        buffer.clear();
        timeout_at(deadline, socket.recv_buf(&mut buffer))
            .await
            .map_err(|_| UpstreamError::Timeout)??;
        let Ok(response) = Message::from_vec(&buffer) else {
            tracing::debug!(%server, "ignoring an unparseable datagram");
            continue;
        };
        if response_matches(&response, expected.id, expected.name, expected.rtype)
            && echoes(&response, expected.cookie)
        {
            if expected.exact_case && !question_case_matches(&response, expected.name) {
                return Err(UpstreamError::CaseMismatch);
            }
            lent.answered();
            return Ok(response);
        }
        tracing::debug!(%server, "ignoring a datagram that does not match the query");
    }
}

/// What an answer must carry to be taken as the answer to our query.
pub struct Expected<'a> {
    pub id: u16,
    /// The name as sent (with its 0x20 case, if any).
    pub name: &'a Name,
    pub rtype: RecordType,
    /// Our client cookie for this server, which the answer must echo if it carries a COOKIE.
    pub cookie: &'a ClientCookie,
    /// Insist on the exact case of `name` (0x20).
    pub exact_case: bool,
}

#[cfg(test)]
mod tests;
