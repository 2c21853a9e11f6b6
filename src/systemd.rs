//! Running under systemd: readiness and stopping notifications, watchdog pings (sd_notify(3)),
//! and sockets handed over by socket activation (sd_listen_fds(3)).
//!
//! The notification protocol and the `LISTEN_PID`/`LISTEN_FDS` checks come from the `sd-notify`
//! crate. Every call is a no-op when ferret was not started by systemd (no `NOTIFY_SOCKET`, no
//! `LISTEN_FDS` for this pid), so the binary behaves the same anywhere else.

use std::io;
use std::os::fd::{FromRawFd, RawFd};
use std::time::Duration;

use sd_notify::NotifyState;
use socket2::{Domain, Socket, Type};
use thiserror::Error;

use crate::server::Listeners;

#[derive(Debug, Error)]
pub enum ActivationError {
    #[error("bad socket activation environment (LISTEN_PID/LISTEN_FDS): {0}")]
    Environment(io::Error),
    #[error("cannot inspect socket-activated fd {fd}: {source}")]
    Inspect { fd: RawFd, source: io::Error },
    #[error("socket-activated fd {fd} is {what}; ferret serves DNS on UDP and TCP over IP only")]
    Unsupported { fd: RawFd, what: &'static str },
}

/// Tells systemd that ferret listens and answers (`READY=1`), with a status line for
/// `systemctl status`.
pub fn notify_ready(status: &str) {
    notify(&[NotifyState::Ready, NotifyState::Status(status)]);
}

/// Tells systemd that ferret is stopping (`STOPPING=1`), so a slow drain is not taken for a hang.
pub fn notify_stopping() {
    notify(&[NotifyState::Stopping, NotifyState::Status("draining")]);
}

/// Updates the status line alone.
pub fn notify_status(status: &str) {
    notify(&[NotifyState::Status(status)]);
}

/// How often to ping the watchdog: half of `WATCHDOG_USEC` (as sd_watchdog_enabled(3) advises),
/// or `None` when systemd watches nothing for this process.
pub fn watchdog_interval() -> Option<Duration> {
    sd_notify::watchdog_enabled()
        .filter(|timeout| !timeout.is_zero())
        .map(|timeout| timeout / 2)
}

/// Pings the watchdog every `interval`, forever. It runs as a task on the same runtime as the
/// listeners, so a runtime that stops making progress stops the pings and systemd restarts it.
pub async fn run_watchdog(interval: Duration) {
    let mut ticks = tokio::time::interval(interval);
    loop {
        ticks.tick().await;
        notify(&[NotifyState::Watchdog]);
    }
}

/// A failed notification never stops ferret: systemd gone or a full socket buffer is no reason
/// to stop answering DNS.
fn notify(state: &[NotifyState]) {
    if let Err(error) = sd_notify::notify(state) {
        tracing::warn!(%error, "cannot notify systemd");
    }
}

/// The name (`FileDescriptorName=` in the socket unit, LISTEN_FDNAMES) of a listening stream
/// socket that serves DNS over TLS; every other stream socket serves plain DNS unless named
/// [`DOH_NAME`].
pub const DOT_NAME: &str = "dot";
/// The name of a listening stream socket that serves DNS over HTTPS.
pub const DOH_NAME: &str = "doh";
/// The name of a datagram socket that serves DNS over QUIC; every other one serves plain DNS.
pub const DOQ_NAME: &str = "doq";

/// The sockets systemd passed to this process, sorted into UDP sockets and TCP listeners by
/// their type, the stream sockets named [`DOT_NAME`] or [`DOH_NAME`] into DNS over TLS and
/// HTTPS, and the datagram sockets named [`DOQ_NAME`] into DNS over QUIC; `None` when ferret was
/// not socket-activated.
pub fn activated_listeners() -> Result<Option<Listeners>, ActivationError> {
    let fds = sd_notify::listen_fds_with_names().map_err(ActivationError::Environment)?;
    if fds.len() == 0 {
        return Ok(None);
    }
    let mut listeners = Listeners::default();
    for (fd, name) in fds {
        // SAFETY: systemd passed these descriptors to this process, LISTEN_PID says for us
        // (checked by `listen_fds_with_names`), and nothing else in ferret uses descriptors 3
        // onwards by number, so each is owned here and nowhere else.
        let socket = unsafe { Socket::from_raw_fd(fd) };
        adopt(fd, &name, socket, &mut listeners)?;
    }
    Ok(Some(listeners))
}

fn adopt(
    fd: RawFd,
    name: &str,
    socket: Socket,
    listeners: &mut Listeners,
) -> Result<(), ActivationError> {
    let inspect = |source| ActivationError::Inspect { fd, source };
    let domain = socket.domain().map_err(inspect)?;
    if domain != Domain::IPV4 && domain != Domain::IPV6 {
        return Err(ActivationError::Unsupported {
            fd,
            what: "not an IP socket",
        });
    }
    let kind = socket.r#type().map_err(inspect)?;
    if kind == Type::DGRAM {
        match name {
            DOQ_NAME => listeners.quic.push(socket.into()),
            _ => listeners.udp.push(socket.into()),
        }
    } else if kind == Type::STREAM {
        if !socket.is_listener().map_err(inspect)? {
            return Err(ActivationError::Unsupported {
                fd,
                what: "a stream socket that is not listening (Accept=yes is not supported)",
            });
        }
        match name {
            DOT_NAME => listeners.tls.push(socket.into()),
            DOH_NAME => listeners.https.push(socket.into()),
            _ => listeners.tcp.push(socket.into()),
        }
    } else {
        return Err(ActivationError::Unsupported {
            fd,
            what: "neither a datagram nor a stream socket",
        });
    }
    Ok(())
}
