//! The TCP socket under a DoH connection's TLS, holding what is written while the connection is
//! polled and sending it in one system call when the poll is over.
//!
//! Each response leaves hyper in a flush of its own, as its own TLS record (see `InlineFirst`
//! in the parent module for why a record each). Written straight to the socket that is one
//! `writev` per response, the largest single cost of a DoH answer in a profile of ferret under
//! dnsperf (about a fifth of its CPU). Here the records pile up while the connection is polled
//! ([`Cork::hold`]) and go out together once it is done ([`Cork::release`], then a flush):
//! the same records, in fewer calls and segments.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// Bytes held at most; past this a write first sends what is held.
const MAX_HELD: usize = 64 * 1024;

/// Buffer capacity kept between writes; a larger one (after a burst) is given back.
const KEPT_CAPACITY: usize = 16 * 1024;

/// Whether writes are held, shared between the socket and the loop that polls its connection.
#[derive(Debug, Clone, Default)]
pub(crate) struct Cork(Arc<CorkState>);

#[derive(Debug, Default)]
struct CorkState {
    held: AtomicBool,
    /// Bytes were held since the last [`Cork::release`].
    wrote: AtomicBool,
}

impl Cork {
    /// Holds writes (until [`Cork::release`]); flushes only report success.
    pub(crate) fn hold(&self) {
        self.0.held.store(true, Ordering::Relaxed);
    }

    /// Writes and flushes go to the socket again; true if bytes are held, for the next flush.
    pub(crate) fn release(&self) -> bool {
        self.0.held.store(false, Ordering::Relaxed);
        self.0.wrote.swap(false, Ordering::Relaxed)
    }

    fn held(&self) -> bool {
        self.0.held.load(Ordering::Relaxed)
    }
}

/// A TCP stream whose writes wait in a buffer while its [`Cork`] is held.
pub(crate) struct Corked {
    tcp: TcpStream,
    cork: Cork,
    out: Vec<u8>,
    /// How much of `out` is already sent.
    sent: usize,
}

impl Corked {
    pub(crate) fn new(tcp: TcpStream, cork: Cork) -> Self {
        Corked {
            tcp,
            cork,
            out: Vec::new(),
            sent: 0,
        }
    }

    pub(crate) fn tcp(&self) -> &TcpStream {
        &self.tcp
    }

    /// Sends everything held.
    fn poll_send_held(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.sent < self.out.len() {
            let n = ready!(Pin::new(&mut self.tcp).poll_write(cx, &self.out[self.sent..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.sent += n;
        }
        self.sent = 0;
        if self.out.capacity() > KEPT_CAPACITY {
            // A burst's buffer is not kept for the rest of a long-lived connection.
            self.out = Vec::new();
        } else {
            self.out.clear();
        }
        Poll::Ready(Ok(()))
    }

    fn poll_hold(
        &mut self,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if self.out.len() - self.sent >= MAX_HELD {
            ready!(self.poll_send_held(cx))?;
        }
        let mut n = 0;
        for buf in bufs {
            self.out.extend_from_slice(buf);
            n += buf.len();
        }
        if self.cork.held() {
            self.cork.0.wrote.store(true, Ordering::Relaxed);
        } else {
            // Sent now if the socket takes it; if not, the next flush (or write) sends it.
            if let Poll::Ready(Err(error)) = self.poll_send_held(cx) {
                return Poll::Ready(Err(error));
            }
        }
        Poll::Ready(Ok(n))
    }
}

impl AsyncRead for Corked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_read(cx, buf)
    }
}

impl AsyncWrite for Corked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_hold(cx, &[io::IoSlice::new(buf)])
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.poll_hold(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.cork.held() {
            return Poll::Ready(Ok(()));
        }
        ready!(self.poll_send_held(cx))?;
        Pin::new(&mut self.tcp).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Whatever is held goes first, held or not.
        ready!(self.poll_send_held(cx))?;
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }
}
