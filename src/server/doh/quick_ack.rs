//! Acknowledges what a DoH client sent as soon as ferret has read it all, instead of leaving the
//! ACK to the kernel's delayed-ACK timer.
//!
//! An HTTP/2 client writes a POST as two TLS records (HEADERS, then DATA), and one that leaves
//! Nagle's algorithm on (dnsperf, for one) holds the second back until the first is
//! acknowledged. The server can answer nothing before the DATA arrives, so there is no response
//! for the ACK to ride on, and a Linux receiver in its interactive ("pingpong") mode delays it
//! by up to 40 ms: every stream on the connection waits that long. Setting `TCP_QUICKACK` once
//! the socket is drained sends the pending ACK at once (it is not a lasting mode: the kernel
//! returns to delaying on its own, so it is set again after each drained read).
//!
//! Measured with `PHASES=doh-dnsperf benches/dnsperf.sh`: dnsperf 2.10 against ferret and
//! Unbound alike was held near 10,000 answers/s by those timers (both servers mostly idle); see
//! the README's benchmark section.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use socket2::SockRef;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_rustls::server::TlsStream;

use super::corked::Corked;

/// A TLS stream that sets `TCP_QUICKACK` on its socket each time a read that got bytes is
/// followed by one that finds nothing more to read.
pub(super) struct QuickAck {
    inner: TlsStream<Corked>,
    /// Bytes were read since the socket was last found drained.
    unacked: bool,
}

impl QuickAck {
    pub(super) fn new(inner: TlsStream<Corked>) -> Self {
        QuickAck {
            inner,
            unacked: false,
        }
    }
}

impl AsyncRead for QuickAck {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        match polled {
            Poll::Ready(Ok(())) if buf.filled().len() > before => self.unacked = true,
            Poll::Pending if self.unacked => {
                self.unacked = false;
                // Best effort: a socket that refuses it only acknowledges later.
                let _ = SockRef::from(self.inner.get_ref().0.tcp()).set_tcp_quickack(true);
            }
            _ => {}
        }
        polled
    }
}

impl AsyncWrite for QuickAck {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
