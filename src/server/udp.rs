//! The UDP listener: runs the client policy on each datagram, answers cache hits inline (from the
//! message cache when it can), hands misses to a task each, and sends the tasks' answers in
//! batches too ([`ResolvedAnswers`]).

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::io::Interest;
use tokio::net::UdpSocket;
use tokio::sync::{Notify, watch};
use tokio::time::Instant;

use super::Service;
use super::batch::{RecvBatch, SendBatch};
use super::pipeline::{self, Admission, Exchange, Transport};
use super::serving::CurrentService;
use crate::clock::Millis;
use crate::metrics::HitTally;
use crate::metrics::labels::Protocol;

/// Serves until `stop` turns true. Queries already handed to a task are still answered after
/// that (the tasks hold the socket, and send their answers themselves once the listener is
/// gone), which is what lets a stopping server drain.
///
/// Datagrams are taken in batches ([`RecvBatch`]); the replies that need no upstream query are
/// collected and sent in one batch too ([`SendBatch`]); misses go to a task each, whose answers
/// come back through [`ResolvedAnswers`] to leave in batches as well.
pub(super) async fn serve(
    socket: Arc<UdpSocket>,
    current: CurrentService,
    mut stop: watch::Receiver<bool>,
) {
    let mut view = current.view();
    let fd = socket.as_raw_fd();
    let mut incoming = RecvBatch::default();
    let mut outgoing = SendBatch::default();
    let mut hits = HitTally::default();
    let resolved = Arc::new(ResolvedAnswers::default());
    loop {
        // Only while a task may queue an answer: a listener serving nothing but cache hits
        // never touches the notification.
        let expecting = resolved.expecting();
        let event = tokio::select! {
            biased;
            _ = stop.wait_for(|stopping| *stopping) => Event::Stop,
            _ = resolved.ready.notified(), if expecting => Event::Resolved,
            ready = socket.readable() => match ready {
                Ok(()) => Event::Readable,
                Err(error) => {
                    tracing::warn!(%error, "UDP socket failed");
                    Event::Stop
                }
            },
        };
        match event {
            Event::Stop => {
                for (response, client) in resolved.close() {
                    send(&socket, &response, client).await;
                }
                return;
            }
            Event::Resolved => {
                // Let the other tasks run first: answers finished in the same turn of the
                // runtime then leave in one sendmmsg.
                tokio::task::yield_now().await;
                send_resolved(&socket, fd, &resolved, &mut outgoing).await;
                continue;
            }
            Event::Readable => {}
        }
        let received = match socket.try_io(Interest::READABLE, || incoming.receive(fd)) {
            Ok(received) => received,
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => continue,
            Err(error) => {
                // Errors here are per-datagram (an ICMP error reported late, a dropped buffer);
                // the socket itself stays usable.
                tracing::debug!(%error, "UDP receive failed");
                continue;
            }
        };
        // The configuration of this moment; a reload is seen from the next batch on.
        let service = view.get();
        // The datagrams of a batch arrived together: one reading of each clock serves them all
        // (three per datagram were 1.5% of a cache hit's time).
        let arrived = Instant::now();
        let now_ms = service.resolver.cache().messages().clock().now_ms();
        let listener = Listener {
            socket: &socket,
            service,
            resolved: &resolved,
        };
        for i in 0..received {
            let (request, client) = incoming.datagram(i);
            let Some(client) = client else { continue };
            let exchange = Exchange::received_at(client, Transport::Udp, arrived);
            listener.handle(request, exchange, now_ms, &mut outgoing, &mut hits);
            if outgoing.is_full() {
                count_hits(service, &mut hits, arrived);
                flush(&socket, fd, &mut outgoing).await;
            }
        }
        count_hits(service, &mut hits, arrived);
        if resolved.expecting() {
            send_resolved(&socket, fd, &resolved, &mut outgoing).await;
        } else {
            flush(&socket, fd, &mut outgoing).await;
        }
    }
}

/// What woke the listener.
enum Event {
    Stop,
    /// A task queued an answer.
    Resolved,
    Readable,
}

/// Answers that tasks resolved, waiting for the listener to send them in its next batch.
///
/// A cold pass sends one answer per miss. Sent by each task with a `sendto` of its own, every
/// answer was a system call and, for a client waiting in `recvmmsg` or `epoll_wait`, a wake-up
/// (`sock_def_readable` under `sendto` was the largest kernel cost in a perf record of
/// benches/cold_wide.sh). Queued here, the answers that finish in one turn of the runtime leave
/// in one `sendmmsg`: in alternated cold_wide rounds ferret's CPU per pass went from 0.39 to
/// 0.35 s and dnsperf's from 0.135 to 0.058 s.
#[derive(Default)]
struct ResolvedAnswers {
    state: Mutex<Resolved>,
    /// Told when the first answer of a batch is queued.
    ready: Notify,
    /// Answers promised ([`ResolvedAnswers::expect`]) and not yet taken by the listener.
    unsent: AtomicUsize,
}

#[derive(Default)]
struct Resolved {
    answers: Vec<(Vec<u8>, SocketAddr)>,
    /// The listener has stopped: tasks send their answers themselves.
    closed: bool,
}

impl ResolvedAnswers {
    /// A task was started that will [`ResolvedAnswers::queue`] an answer.
    fn expect(&self) {
        self.unsent.fetch_add(1, Ordering::Relaxed);
    }

    /// Whether an answer may be queued or is: counted down only as answers are taken or handed
    /// back, so a queued answer is always expected.
    fn expecting(&self) -> bool {
        self.unsent.load(Ordering::Relaxed) > 0
    }

    /// Queues `response` for the listener to send; gives it back if the listener has stopped.
    fn queue(&self, response: Vec<u8>, client: SocketAddr) -> Option<(Vec<u8>, SocketAddr)> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.closed {
            self.unsent.fetch_sub(1, Ordering::Relaxed);
            return Some((response, client));
        }
        state.answers.push((response, client));
        if state.answers.len() == 1 {
            self.ready.notify_one();
        }
        None
    }

    /// What is queued now.
    fn take(&self) -> Vec<(Vec<u8>, SocketAddr)> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        self.drain(&mut state)
    }

    /// Stops queueing; returns what was queued, for the stopping listener to send.
    fn close(&self) -> Vec<(Vec<u8>, SocketAddr)> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.closed = true;
        self.drain(&mut state)
    }

    /// Empties the queue of the locked `state`; what it held is no longer expected.
    fn drain(&self, state: &mut Resolved) -> Vec<(Vec<u8>, SocketAddr)> {
        let answers = std::mem::take(&mut state.answers);
        self.unsent.fetch_sub(answers.len(), Ordering::Relaxed);
        answers
    }
}

/// Sends what `outgoing` holds together with the answers the tasks have queued.
async fn send_resolved(
    socket: &UdpSocket,
    fd: RawFd,
    resolved: &ResolvedAnswers,
    outgoing: &mut SendBatch,
) {
    for (response, client) in resolved.take() {
        if outgoing.is_full() {
            flush(socket, fd, outgoing).await;
        }
        outgoing.push(&response, client);
    }
    flush(socket, fd, outgoing).await;
}

/// What a datagram needs from the listener that received it.
struct Listener<'a> {
    socket: &'a Arc<UdpSocket>,
    service: &'a Arc<Service>,
    resolved: &'a Arc<ResolvedAnswers>,
}

impl Listener<'_> {
    /// One datagram: answered into `outgoing` if no upstream query is needed, else in a task.
    fn handle(
        &self,
        request: &[u8],
        exchange: Exchange,
        now_ms: Millis,
        outgoing: &mut SendBatch,
        hits: &mut HitTally,
    ) {
        let service = self.service;
        let client = exchange.client;
        if let Some(hit) =
            pipeline::answer_fast_at(service, &exchange, request, outgoing.buffer(), now_ms)
        {
            hits.count(hit);
            outgoing.commit(client);
            return;
        }
        let query = match pipeline::accept(service, &exchange, request) {
            Admission::Nothing => return,
            Admission::Reply(reply) => {
                outgoing.push(&reply, client);
                return;
            }
            Admission::Answer(query) => query,
        };
        if let Some(response) = pipeline::answer_inline(service, &exchange, &query) {
            outgoing.push(&response, client);
            return;
        }
        let busy = service.queries.enter();
        let socket = Arc::clone(self.socket);
        let service = Arc::clone(service);
        let resolved = Arc::clone(self.resolved);
        resolved.expect();
        tokio::spawn(async move {
            let response = pipeline::answer_resolving(&service, &exchange, &query).await;
            if let Some((response, client)) = resolved.queue(response, client) {
                send(&socket, &response, client).await;
            }
            drop(busy);
        });
    }
}

/// Adds the batch's cache hits to the metrics, with one reading of the clock for all of them:
/// their responses are ready now, and leave together in the next [`flush`].
fn count_hits(service: &Service, hits: &mut HitTally, arrived: Instant) {
    service
        .metrics()
        .record_hits(Protocol::Udp, hits, arrived.elapsed());
}

/// Sends the queued replies: in batches while the socket takes them, then one by one.
async fn flush(socket: &UdpSocket, fd: RawFd, outgoing: &mut SendBatch) {
    let sent = outgoing.send(fd);
    for (reply, client) in outgoing.unsent(sent) {
        send(socket, reply, *client).await;
    }
    outgoing.clear();
}

async fn send(socket: &UdpSocket, bytes: &[u8], client: SocketAddr) {
    if let Err(error) = socket.send_to(bytes, client).await {
        tracing::debug!(%error, %client, "UDP send failed");
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn client(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[tokio::test]
    async fn resolved_answers_wait_for_the_listener_until_it_stops() {
        let resolved = ResolvedAnswers::default();
        assert!(!resolved.expecting());
        for _ in 0..4 {
            resolved.expect();
        }
        assert!(resolved.queue(vec![1], client(1)).is_none());
        // The first answer of a batch woke the listener; the second adds to the same batch.
        tokio::time::timeout(Duration::from_secs(1), resolved.ready.notified())
            .await
            .expect("the listener is told");
        assert!(resolved.queue(vec![2], client(2)).is_none());
        assert_eq!(
            resolved.take(),
            vec![(vec![1], client(1)), (vec![2], client(2))]
        );
        assert!(resolved.take().is_empty());
        assert!(resolved.expecting(), "two answers are still to come");
        assert!(resolved.queue(vec![3], client(3)).is_none());
        // A stopping listener sends what is queued; later answers come back to their tasks.
        assert_eq!(resolved.close(), vec![(vec![3], client(3))]);
        assert_eq!(
            resolved.queue(vec![4], client(4)),
            Some((vec![4], client(4)))
        );
        assert!(resolved.take().is_empty());
        assert!(
            !resolved.expecting(),
            "every answer was taken or handed back"
        );
    }
}
