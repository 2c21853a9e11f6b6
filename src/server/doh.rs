//! DNS over HTTPS (RFC 8484): HTTP/2 or HTTP/1.1 (hyper) on a TLS connection accepted by the
//! stream listener ([`super::tcp`]), each request one query through the same pipeline as UDP
//! and TCP.
//!
//! HTTP adds ways to hold a server's resources, each bounded here as for TCP: streams per
//! connection (as the per-connection query cap), header size, time to send the headers and the
//! body (the read timeout: slowloris), idle time between requests (the idle timeout), and HTTP/2
//! streams reset by the client as fast as it opens them (CVE-2023-44487, "rapid reset").
//!
//! What the client sent is acknowledged as soon as it is read ([`quick_ack`]): a client with
//! Nagle's algorithm on waits for that ACK before it sends the second half of a POST. What one
//! poll of the connection writes leaves in one system call ([`corked`]).

mod corked;
mod freshness;
mod quick_ack;
pub mod request;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Waker};
use std::time::Duration;

use bytes::Bytes;
use http::header::{ALLOW, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::sync::{Notify, watch};
use tokio::time::timeout;
use tokio_rustls::server::TlsStream;

pub(super) use corked::{Cork, Corked};
pub use freshness::max_age;
use request::{DNS_MESSAGE, Head, Wanted};

use super::Service;
use super::padding;
use super::pipeline::{self, Exchange, Transport};
use super::tcp::{Connection, MAX_QUERY_LEN};

/// The largest request header block, HTTP/2 (after HPACK) or HTTP/1.1. A DoH GET is a path of
/// at most a few hundred octets and a handful of headers; browsers send cookies to other origins
/// only.
const MAX_HEADER_BYTES: usize = 16 * 1024;

/// HTTP/2 streams reset by the client before they were answered, tolerated at once before the
/// connection is closed (CVE-2023-44487). Streams the server refuses for being over the stream
/// limit do not count: a client may open more before it has read the server's SETTINGS.
const MAX_RESET_STREAMS: usize = 32;

/// Requests in progress on one HTTP/2 connection, as Unbound's `http-max-streams`. More than
/// the 32 queries of a DoT connection: HTTP/2 clients (dnsperf, browsers) open their streams
/// before they learn the limit, and each stream over it is refused and lost.
const STREAMS_PER_CONNECTION: u32 = 100;

/// Serves HTTP on one TLS connection until the client closes it, it stays idle past the idle
/// timeout, or the server stops (then requests already received are still answered).
pub(super) async fn serve(
    mut connection: Connection,
    tls: TlsStream<Corked>,
    cork: Cork,
    mut stop: watch::Receiver<bool>,
) {
    let client = connection.client;
    let settings = connection.view.get().tcp;
    let current = connection.view.current().clone();
    let activity = Arc::new(Activity::default());
    let connection_task = Arc::new(ConnectionTask::default());
    let mut builder = auto::Builder::new(InlineFirst(Arc::clone(&connection_task)));
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(settings.read_timeout)
        .max_buf_size(MAX_HEADER_BYTES.max(8192))
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(STREAMS_PER_CONNECTION)
        .max_header_list_size(u32::try_from(MAX_HEADER_BYTES).unwrap_or(u32::MAX))
        .max_pending_accept_reset_streams(MAX_RESET_STREAMS);
    let service = {
        let activity = Arc::clone(&activity);
        service_fn(move |request| {
            let service = current.get();
            let activity = Arc::clone(&activity);
            async move {
                let _request = activity.begin();
                Ok::<_, Infallible>(answer(&service, client, request).await)
            }
        })
    };
    let served = builder.serve_connection(TokioIo::new(quick_ack::QuickAck::new(tls)), service);
    tokio::pin!(served);
    let mut stopping = false;
    loop {
        let serving = std::future::poll_fn(|cx| {
            // For streams answered inline while this very future is polled (InlineFirst).
            connection_task.set(cx.waker());
            cork.hold();
            let polled = served.as_mut().poll(cx);
            // What that poll wrote (a TLS record per response) leaves in one write: polled
            // again, the connection flushes.
            if cork.release() && polled.is_pending() {
                return served.as_mut().poll(cx);
            }
            polled
        });
        tokio::select! {
            _ = serving => break,
            _ = stop.wait_for(|stopping| *stopping), if !stopping => {
                stopping = true;
                served.as_mut().graceful_shutdown();
            }
            () = activity.idle_for(settings.idle_timeout), if !stopping => {
                tracing::debug!(%client, "DoH connection idle; closing");
                stopping = true;
                served.as_mut().graceful_shutdown();
            }
        }
    }
    // Only now is the connection's place under the cap given back.
    drop(connection);
}

/// Runs each HTTP/2 stream's work at once where it can, and in a task only if it has to wait.
///
/// A stream answered from the cache is then answered right away, in the order the streams
/// came, without a task: as the stream listener answers cache hits inline. Each response also
/// leaves in a flush, so a TLS record, of its own (hyper's accept loop flushes before it hands
/// over the next stream). With a task each, responses that finish together go out in one
/// flush, one record, and dnsperf 2.10's DoH client loses every response after the first in a
/// record: it pauses nghttp2 on the second one's DATA and drops those bytes
/// (`_http2_data_chunk_recv_cb` in its `src/net_doh.c`), so the query times out. RFC 8484 asks
/// for neither an order nor a framing; this is for a widely used load generator's sake. (The
/// records of one poll still leave in one write: [`corked`].)
///
/// A stream's work is run from inside the connection's own poll, where h2's wake-up of the
/// connection (to write the response out) does not take: the connection is woken here instead.
#[derive(Debug, Clone)]
struct InlineFirst(Arc<ConnectionTask>);

/// The waker of the task that polls the connection.
#[derive(Debug, Default)]
struct ConnectionTask(std::sync::Mutex<Option<Waker>>);

impl ConnectionTask {
    fn set(&self, waker: &Waker) {
        let mut slot = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if !slot.as_ref().is_some_and(|w| w.will_wake(waker)) {
            *slot = Some(waker.clone());
        }
    }

    fn wake(&self) {
        if let Some(waker) = self.0.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            waker.wake_by_ref();
        }
    }
}

impl<F> hyper::rt::Executor<F> for InlineFirst
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, future: F) {
        let mut future = Box::pin(future);
        // A future that is not ready has registered this (no-op) waker only; in its task it is
        // polled again at once and registers the task's.
        let mut context = Context::from_waker(Waker::noop());
        if future.as_mut().poll(&mut context).is_pending() {
            tokio::spawn(future);
        } else {
            self.0.wake();
        }
    }
}

/// Requests in progress on one connection, so that it is only closed as idle between them.
#[derive(Debug, Default)]
struct Activity {
    in_progress: AtomicUsize,
    changed: Notify,
}

/// Held while one request is answered.
struct InRequest(Arc<Activity>);

impl Activity {
    fn begin(self: &Arc<Self>) -> InRequest {
        self.in_progress.fetch_add(1, Ordering::AcqRel);
        self.changed.notify_waiters();
        InRequest(Arc::clone(self))
    }

    /// Returns once no request has been in progress for `limit`.
    async fn idle_for(&self, limit: Duration) {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if self.in_progress.load(Ordering::Acquire) > 0 {
                changed.await;
                continue;
            }
            if timeout(limit, changed).await.is_err() {
                return;
            }
        }
    }
}

impl Drop for InRequest {
    fn drop(&mut self) {
        self.0.in_progress.fetch_sub(1, Ordering::AcqRel);
        self.0.changed.notify_waiters();
    }
}

/// One HTTP request, answered.
async fn answer(
    service: &Service,
    client: SocketAddr,
    request: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let max_len = usize::from(MAX_QUERY_LEN);
    let content_type = request
        .headers()
        .get(CONTENT_TYPE)
        .map(HeaderValue::as_bytes);
    let head = Head {
        method: request.method(),
        path: request.uri().path(),
        query: request.uri().query(),
        content_type,
    };
    let message = match request::check_head(head, &service.https_path, max_len) {
        Ok(Wanted::Query(message)) => message,
        Ok(Wanted::Body) => match read_body(service, request, max_len).await {
            Ok(body) => body,
            Err(status) => return refusal(status),
        },
        Err(status) => return refusal(status),
    };
    let exchange = Exchange::new(client, Transport::Doh);
    // Not a query at all (a response, say): the pipeline would send nothing back.
    let Some(reply) = pipeline::handle(service, &exchange, &message).await else {
        return refusal(StatusCode::BAD_REQUEST);
    };
    let reply = if padding::query_is_padded(&message) {
        padding::pad(reply)
    } else {
        reply
    };
    let mut response = Response::builder()
        .status(StatusCode::OK)
        .header(CONTENT_TYPE, DNS_MESSAGE)
        .header(CONTENT_LENGTH, reply.len());
    if let Some(age) = max_age(&reply) {
        response = response.header(CACHE_CONTROL, format!("max-age={age}"));
    }
    response
        .body(Full::new(Bytes::from(reply)))
        .unwrap_or_else(|_| refusal(StatusCode::INTERNAL_SERVER_ERROR))
}

/// A POST's body: at most `max_len` octets (413 beyond, before reading more than that), all of
/// it within the read timeout (408 after).
async fn read_body(
    service: &Service,
    request: Request<Incoming>,
    max_len: usize,
) -> Result<Vec<u8>, StatusCode> {
    let announced = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|length| length > max_len as u64) {
        return Err(StatusCode::PAYLOAD_TOO_LARGE);
    }
    let body = Limited::new(request.into_body(), max_len);
    let collected = match timeout(service.tcp.read_timeout, body.collect()).await {
        Err(_) => return Err(StatusCode::REQUEST_TIMEOUT),
        Ok(Err(error)) if error.is::<http_body_util::LengthLimitError>() => {
            return Err(StatusCode::PAYLOAD_TOO_LARGE);
        }
        Ok(Err(_)) => return Err(StatusCode::BAD_REQUEST),
        Ok(Ok(collected)) => collected.to_bytes(),
    };
    request::check_body(&collected, max_len)?;
    Ok(collected.to_vec())
}

/// An error status with no body; 405 says which methods there are (RFC 9110 §15.5.6).
fn refusal(status: StatusCode) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = status;
    if status == StatusCode::METHOD_NOT_ALLOWED {
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET, POST"));
    }
    response
}
