//! The UDP listener: runs the client policy on each datagram, answers cache hits inline (from the
//! message cache when it can), hands misses to a task each.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::UdpSocket;
use tokio::sync::watch;

use super::pipeline::{self, Admission, Exchange, Transport};
use super::serving::CurrentService;

/// Large enough for any UDP datagram, so an oversized query is parsed (and refused) rather than
/// silently cut.
const MAX_DATAGRAM: usize = 65_535;

/// Serves until `stop` turns true. Queries already handed to a task are still answered after
/// that (the tasks hold the socket), which is what lets a stopping server drain.
pub(super) async fn serve(
    socket: Arc<UdpSocket>,
    current: CurrentService,
    mut stop: watch::Receiver<bool>,
) {
    let mut buffer = vec![0u8; MAX_DATAGRAM];
    let mut reply = Vec::with_capacity(MAX_DATAGRAM);
    let mut view = current.view();
    loop {
        let received = tokio::select! {
            biased;
            _ = stop.wait_for(|stopping| *stopping) => return,
            received = socket.recv_from(&mut buffer) => received,
        };
        let (length, client) = match received {
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
        let service = view.get();
        let exchange = Exchange::new(client, Transport::Udp);
        if pipeline::answer_fast(service, &exchange, request, &mut reply) {
            send(&socket, &reply, client).await;
            continue;
        }
        let query = match pipeline::accept(service, &exchange, request) {
            Admission::Nothing => continue,
            Admission::Reply(reply) => {
                send(&socket, &reply, client).await;
                continue;
            }
            Admission::Answer(query) => query,
        };
        if let Some(response) = pipeline::answer_inline(service, &exchange, &query) {
            send(&socket, &response, client).await;
            continue;
        }
        let busy = service.queries.enter();
        let socket = Arc::clone(&socket);
        let service = Arc::clone(service);
        tokio::spawn(async move {
            let response = pipeline::answer_resolving(&service, &exchange, &query).await;
            send(&socket, &response, client).await;
            drop(busy);
        });
    }
}

async fn send(socket: &UdpSocket, bytes: &[u8], client: SocketAddr) {
    if let Err(error) = socket.send_to(bytes, client).await {
        tracing::debug!(%error, %client, "UDP send failed");
    }
}
