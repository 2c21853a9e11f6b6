//! The UDP listener: answers cache hits inline, hands misses to a task each.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::UdpSocket;

use super::CurrentServing;
use super::pipeline::{self, Parsed, Transport};

/// Large enough for any UDP datagram, so an oversized query is parsed (and refused) rather than
/// silently cut.
const MAX_DATAGRAM: usize = 65_535;

pub(crate) async fn serve(socket: Arc<UdpSocket>, serving: CurrentServing) {
    let mut buffer = vec![0u8; MAX_DATAGRAM];
    loop {
        let (length, client) = match socket.recv_from(&mut buffer).await {
            Ok(received) => received,
            Err(error) => {
                // Errors here are per-datagram (an ICMP error reported late, a dropped buffer);
                // the socket itself stays usable.
                tracing::debug!(%error, "UDP receive failed");
                continue;
            }
        };
        let query = match pipeline::parse(&buffer[..length]) {
            Parsed::Drop => continue,
            Parsed::Reply(reply) => {
                send(&socket, &reply, client).await;
                continue;
            }
            Parsed::Query(query) => query,
        };
        let resolver = Arc::clone(&serving.get().resolver);
        if let Some(answer) = resolver.answer_without_upstream(query.name(), query.rtype()) {
            send(
                &socket,
                &pipeline::encode(&query, &answer, Transport::Udp),
                client,
            )
            .await;
            continue;
        }
        let socket = Arc::clone(&socket);
        tokio::spawn(async move {
            let answer = resolver.resolve(query.name(), query.rtype()).await;
            send(
                &socket,
                &pipeline::encode(&query, &answer, Transport::Udp),
                client,
            )
            .await;
        });
    }
}

async fn send(socket: &UdpSocket, bytes: &[u8], client: SocketAddr) {
    if let Err(error) = socket.send_to(bytes, client).await {
        tracing::debug!(%error, %client, "UDP send failed");
    }
}
