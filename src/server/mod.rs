//! Serving clients: UDP and TCP listeners on every configured address, and the request pipeline
//! they share.

pub mod acl;
pub mod cookies;
pub mod fast_path;
pub mod pipeline;
pub mod ratelimit;
mod tcp;
mod udp;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use socket2::{Domain, Protocol, Socket, Type};
use thiserror::Error;
use tokio::net::{TcpListener, UdpSocket};
use tokio::task::JoinHandle;

use crate::clock::Clock;
use crate::config::Config;
use crate::hints::HintsError;
use crate::resolver::Resolver;
use pipeline::ClientPolicy;

#[derive(Debug, Error)]
pub enum ServerError {
    #[error("cannot listen on {addr} ({protocol}): {source}")]
    Bind {
        addr: SocketAddr,
        protocol: &'static str,
        source: io::Error,
    },
    #[error(transparent)]
    Hints(#[from] HintsError),
}

/// A started ferret: its listeners run as tasks on the current tokio runtime until it is shut
/// down or dropped.
pub struct RunningServer {
    udp_addrs: Vec<SocketAddr>,
    tcp_addrs: Vec<SocketAddr>,
    resolver: Arc<Resolver>,
    clock: Clock,
    listeners: Vec<JoinHandle<()>>,
}

impl RunningServer {
    /// Binds every `--listen` address over UDP and TCP and starts serving.
    pub async fn start(config: &Config) -> Result<Self, ServerError> {
        Self::start_with_clock(config, Clock::system()).await
    }

    /// As [`RunningServer::start`], with a clock the caller keeps (tests move it forward).
    pub async fn start_with_clock(config: &Config, clock: Clock) -> Result<Self, ServerError> {
        let resolver = Resolver::new(config, clock.clone())?;
        let policy = Arc::new(ClientPolicy::new(config, clock.clone()));
        let tcp_settings = tcp::TcpSettings {
            max_connections: config.limits.max_tcp_connections,
            idle_timeout: config.tcp_idle_timeout(),
            read_timeout: config.tcp_read_timeout(),
        };
        let mut server = RunningServer {
            udp_addrs: Vec::new(),
            tcp_addrs: Vec::new(),
            resolver,
            clock,
            listeners: Vec::new(),
        };
        for addr in &config.listen {
            let udp = bind_udp(*addr, config.threads > 1)?;
            // With port 0 the kernel picks a port; TCP and the other UDP sockets then use it.
            let addr = udp
                .local_addr()
                .map_err(|source| bind_error(*addr, "udp", source))?;
            let tcp = bind_tcp(addr)?;
            server.udp_addrs.push(addr);
            server.tcp_addrs.push(addr);
            // One UDP socket per thread (SO_REUSEPORT): the kernel spreads datagrams over them
            // by flow hash, so threads never contend on one socket's receive queue.
            let mut sockets = vec![udp];
            for _ in 1..config.threads {
                sockets.push(bind_udp(addr, true)?);
            }
            for socket in sockets {
                let resolver = Arc::clone(&server.resolver);
                server.listeners.push(tokio::spawn(udp::serve(
                    Arc::new(socket),
                    resolver,
                    Arc::clone(&policy),
                )));
            }
            let resolver = Arc::clone(&server.resolver);
            server.listeners.push(tokio::spawn(tcp::serve(
                tcp,
                resolver,
                Arc::clone(&policy),
                tcp_settings,
            )));
            tracing::info!(%addr, "listening on UDP and TCP");
        }
        Ok(server)
    }

    pub fn udp_addrs(&self) -> &[SocketAddr] {
        &self.udp_addrs
    }

    pub fn tcp_addrs(&self) -> &[SocketAddr] {
        &self.tcp_addrs
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    pub fn resolver(&self) -> &Arc<Resolver> {
        &self.resolver
    }

    /// Stops accepting queries. Resolutions already under way finish on their own, bounded by
    /// the resolution timeout.
    pub fn shutdown(mut self) {
        self.stop_listeners();
    }

    fn stop_listeners(&mut self) {
        for listener in self.listeners.drain(..) {
            listener.abort();
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.stop_listeners();
    }
}

fn bind_error(addr: SocketAddr, protocol: &'static str, source: io::Error) -> ServerError {
    ServerError::Bind {
        addr,
        protocol,
        source,
    }
}

/// A socket for `addr`; IPv6 sockets are IPv6-only so that `[::]:53` and `0.0.0.0:53` can both
/// be bound, as operators expect.
fn socket_for(addr: SocketAddr, kind: Type, protocol: Protocol) -> io::Result<Socket> {
    let socket = Socket::new(Domain::for_address(addr), kind, Some(protocol))?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_nonblocking(true)?;
    Ok(socket)
}

/// A UDP socket on `addr`; `shared` sets SO_REUSEPORT so several threads can each own one. It
/// is off for a single thread, so that a second ferret on the same port fails loudly instead of
/// silently taking half the traffic.
fn bind_udp(addr: SocketAddr, shared: bool) -> Result<UdpSocket, ServerError> {
    let bind = || -> io::Result<UdpSocket> {
        let socket = socket_for(addr, Type::DGRAM, Protocol::UDP)?;
        if shared {
            socket.set_reuse_port(true)?;
        }
        socket.bind(&addr.into())?;
        UdpSocket::from_std(socket.into())
    };
    bind().map_err(|source| bind_error(addr, "udp", source))
}

fn bind_tcp(addr: SocketAddr) -> Result<TcpListener, ServerError> {
    let bind = || -> io::Result<TcpListener> {
        let socket = socket_for(addr, Type::STREAM, Protocol::TCP)?;
        // Restarting ferret must not wait for old connections in TIME_WAIT to clear.
        socket.set_reuse_address(true)?;
        socket.bind(&addr.into())?;
        socket.listen(1024)?;
        TcpListener::from_std(socket.into())
    };
    bind().map_err(|source| bind_error(addr, "tcp", source))
}
