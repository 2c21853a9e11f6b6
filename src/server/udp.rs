//! The UDP listener: runs the client policy on each datagram, answers cache hits inline (from the
//! message cache when it can), hands misses to a task each.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::UdpSocket;

use super::CurrentServing;
use super::fast_path;
use super::pipeline::{self, Admission, Transport};

/// Large enough for any UDP datagram, so an oversized query is parsed (and refused) rather than
/// silently cut.
const MAX_DATAGRAM: usize = 65_535;

pub(crate) async fn serve(socket: Arc<UdpSocket>, current: CurrentServing) {
    let mut buffer = vec![0u8; MAX_DATAGRAM];
    let mut reply = Vec::with_capacity(MAX_DATAGRAM);
    let mut view = current.view();
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
        let request = &buffer[..length];
        // The configuration of this moment; a reload between two datagrams is seen at the next.
        let serving = view.get();
        let (resolver, policy) = (&serving.resolver, &serving.policy);
        let messages = resolver.cache().messages();
        if policy.allows_fast_path(client.ip(), Transport::Udp)
            && fast_path::answer(request, messages, Transport::Udp, &mut reply)
        {
            send(&socket, &reply, client).await;
            continue;
        }
        let query = match pipeline::admit(request, client.ip(), Transport::Udp, policy) {
            Admission::Nothing => continue,
            Admission::Reply(reply) => {
                send(&socket, &reply, client).await;
                continue;
            }
            Admission::Answer(query) => query,
        };
        if let Some(answer) = resolver.answer_without_upstream(query.name(), query.rtype()) {
            let reply = pipeline::respond(&query, &answer, Transport::Udp, messages);
            send(&socket, &reply, client).await;
            continue;
        }
        let socket = Arc::clone(&socket);
        let resolver = Arc::clone(resolver);
        tokio::spawn(async move {
            let answer = resolver.resolve(query.name(), query.rtype()).await;
            let messages = resolver.cache().messages();
            let reply = pipeline::respond(&query, &answer, Transport::Udp, messages);
            send(&socket, &reply, client).await;
        });
    }
}

async fn send(socket: &UdpSocket, bytes: &[u8], client: SocketAddr) {
    if let Err(error) = socket.send_to(bytes, client).await {
        tracing::debug!(%error, %client, "UDP send failed");
    }
}
