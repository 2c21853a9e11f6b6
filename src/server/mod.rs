//! Serving clients: UDP and TCP listeners on every configured address (or on sockets handed over
//! by systemd), and the request pipeline they share.

pub mod acl;
mod batch;
pub mod cookies;
mod drain;
pub mod fast_path;
pub mod pipeline;
pub mod querylog;
pub mod ratelimit;
mod tcp;
mod udp;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};
use thiserror::Error;
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::{Instant, timeout_at};

pub use drain::InProgress;
use pipeline::ClientPolicy;
use querylog::QueryLog;

use crate::cache::Cache;
use crate::clock::Clock;
use crate::config::Config;
use crate::hints::HintsError;
use crate::metrics::{LiveValues, Metrics, Snapshot};
use crate::resolver::Resolver;

#[derive(Debug, Error)]
pub enum ServerError {
    #[error("cannot listen on {addr} ({protocol}): {source}")]
    Bind {
        addr: SocketAddr,
        protocol: &'static str,
        source: io::Error,
    },
    #[error("cannot use a listening socket handed over: {0}")]
    Adopt(io::Error),
    #[error(transparent)]
    Hints(#[from] HintsError),
}

/// Sockets to serve on, already bound (by [`Listeners::bind`], or by systemd).
#[derive(Debug, Default)]
pub struct Listeners {
    pub udp: Vec<std::net::UdpSocket>,
    pub tcp: Vec<std::net::TcpListener>,
}

impl Listeners {
    /// Binds every address over TCP and, `threads` times, over UDP: one UDP socket per thread
    /// (SO_REUSEPORT) lets the kernel spread datagrams over them by flow hash, so threads never
    /// contend on one socket's receive queue.
    pub fn bind(addrs: &[SocketAddr], threads: usize) -> Result<Self, ServerError> {
        let mut listeners = Listeners::default();
        for addr in addrs {
            let udp = bind_udp(*addr, threads > 1)?;
            // With port 0 the kernel picks a port; TCP and the other UDP sockets then use it.
            let addr = udp
                .local_addr()
                .map_err(|source| bind_error(*addr, "udp", source))?;
            listeners.tcp.push(bind_tcp(addr)?);
            listeners.udp.push(udp);
            for _ in 1..threads {
                listeners.udp.push(bind_udp(addr, true)?);
            }
        }
        Ok(listeners)
    }

    pub fn is_empty(&self) -> bool {
        self.udp.is_empty() && self.tcp.is_empty()
    }
}

/// What every listener task shares.
pub(crate) struct Service {
    resolver: Arc<Resolver>,
    /// Access control, cookies and rate limit, applied to every message before it is answered.
    policy: ClientPolicy,
    query_log: QueryLog,
    /// Client queries received and not answered yet.
    queries: InProgress,
    /// Open TCP client connections (each may still owe answers).
    connections: InProgress,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("query_log", &self.query_log)
            .field("queries", &self.queries.count())
            .field("connections", &self.connections.count())
            .finish_non_exhaustive()
    }
}

impl Service {
    fn metrics(&self) -> &Metrics {
        self.resolver.metrics()
    }
}

/// A started ferret: its listeners run as tasks on the current tokio runtime until it is shut
/// down or dropped.
pub struct RunningServer {
    udp_addrs: Vec<SocketAddr>,
    tcp_addrs: Vec<SocketAddr>,
    service: Arc<Service>,
    clock: Clock,
    listeners: Vec<JoinHandle<()>>,
    /// Set to `true` to make the listeners stop taking new queries.
    stop: watch::Sender<bool>,
}

impl RunningServer {
    /// Binds every `--listen` address over UDP and TCP and starts serving.
    pub async fn start(config: &Config) -> Result<Self, ServerError> {
        Self::start_with_clock(config, Clock::system()).await
    }

    /// As [`RunningServer::start`], with a clock the caller keeps (tests move it forward).
    pub async fn start_with_clock(config: &Config, clock: Clock) -> Result<Self, ServerError> {
        let listeners = Listeners::bind(&config.listen, config.threads)?;
        Self::start_with_listeners(config, clock, listeners).await
    }

    /// Serves on sockets bound elsewhere (socket activation), ignoring `config.listen`.
    pub async fn start_with_listeners(
        config: &Config,
        clock: Clock,
        listeners: Listeners,
    ) -> Result<Self, ServerError> {
        let metrics = Arc::new(Metrics::default());
        let resolver = Resolver::with_metrics(config, clock.clone(), Arc::clone(&metrics))?;
        let policy = ClientPolicy::new(config, clock.clone()).with_metrics(metrics);
        let tcp_settings = tcp::TcpSettings {
            max_connections: config.limits.max_tcp_connections,
            idle_timeout: config.tcp_idle_timeout(),
            read_timeout: config.tcp_read_timeout(),
        };
        let (stop, _) = watch::channel(false);
        let mut server = RunningServer {
            udp_addrs: Vec::new(),
            tcp_addrs: Vec::new(),
            service: Arc::new(Service {
                resolver,
                policy,
                query_log: QueryLog::new(config.query_log),
                queries: InProgress::default(),
                connections: InProgress::default(),
            }),
            clock,
            listeners: Vec::new(),
            stop,
        };
        for socket in listeners.udp {
            let socket = adopt_udp(socket)?;
            let addr = socket.local_addr().map_err(ServerError::Adopt)?;
            // Several sockets share an address with SO_REUSEPORT; it is listed once.
            if !server.udp_addrs.contains(&addr) {
                server.udp_addrs.push(addr);
                tracing::info!(%addr, "listening on UDP");
            }
            let task = udp::serve(
                Arc::new(socket),
                Arc::clone(&server.service),
                server.stop.subscribe(),
            );
            server.listeners.push(tokio::spawn(task));
        }
        for listener in listeners.tcp {
            let listener = adopt_tcp(listener)?;
            let addr = listener.local_addr().map_err(ServerError::Adopt)?;
            server.tcp_addrs.push(addr);
            let task = tcp::serve(
                listener,
                Arc::clone(&server.service),
                tcp_settings,
                server.stop.subscribe(),
            );
            server.listeners.push(tokio::spawn(task));
            tracing::info!(%addr, "listening on TCP");
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
        &self.service.resolver
    }

    /// A handle for the metrics endpoint and the control socket, usable from other tasks.
    pub fn handle(&self) -> ServerHandle {
        ServerHandle {
            service: Arc::clone(&self.service),
        }
    }

    /// Stops accepting queries at once. Resolutions already under way finish on their own,
    /// bounded by the resolution timeout, unless the runtime ends first.
    pub fn shutdown(mut self) {
        self.stop_listeners();
    }

    /// Makes every listener stop taking new queries (UDP datagrams stay unread, TCP connections
    /// unaccepted, open connections unread); queries already received are still answered.
    pub fn stop_accepting(&self) {
        let _ = self.stop.send(true);
    }

    /// A graceful stop: the listeners stop taking queries, then queries already received are
    /// answered, for at most `grace`. Returns whether all of them were.
    pub async fn drain(mut self, grace: Duration) -> bool {
        let deadline = Instant::now() + grace;
        self.stop_accepting();
        for listener in self.listeners.drain(..) {
            let _ = timeout_at(deadline, listener).await;
        }
        let queries = self.service.queries.wait_idle(deadline).await;
        let connections = self.service.connections.wait_idle(deadline).await;
        queries && connections
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

/// A cheap, cloneable view of a running server for operators: statistics, the cache, the query
/// log switch.
#[derive(Debug, Clone)]
pub struct ServerHandle {
    service: Arc<Service>,
}

impl ServerHandle {
    /// Every metric now.
    pub fn snapshot(&self) -> Snapshot {
        let service = &self.service;
        let cache = service.resolver.cache();
        let resolver = service.resolver.stats();
        service.metrics().snapshot(LiveValues {
            cache_entries: cache.len(),
            message_cache_entries: cache.messages().len(),
            cache_evictions: cache.evictions(),
            inflight_resolutions: resolver.inflight,
            upstream_outstanding: resolver.outstanding_queries,
            queries_in_progress: service.queries.count(),
            query_log: service.query_log.is_enabled(),
        })
    }

    pub fn cache(&self) -> &Arc<Cache> {
        self.service.resolver.cache()
    }

    pub fn set_query_log(&self, enabled: bool) {
        self.service.query_log.set_enabled(enabled);
    }

    pub fn query_log_enabled(&self) -> bool {
        self.service.query_log.is_enabled()
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
fn bind_udp(addr: SocketAddr, shared: bool) -> Result<std::net::UdpSocket, ServerError> {
    let bind = || -> io::Result<std::net::UdpSocket> {
        let socket = socket_for(addr, Type::DGRAM, Protocol::UDP)?;
        if shared {
            socket.set_reuse_port(true)?;
        }
        socket.bind(&addr.into())?;
        Ok(socket.into())
    };
    bind().map_err(|source| bind_error(addr, "udp", source))
}

fn bind_tcp(addr: SocketAddr) -> Result<std::net::TcpListener, ServerError> {
    let bind = || -> io::Result<std::net::TcpListener> {
        let socket = socket_for(addr, Type::STREAM, Protocol::TCP)?;
        // Restarting ferret must not wait for old connections in TIME_WAIT to clear.
        socket.set_reuse_address(true)?;
        socket.bind(&addr.into())?;
        socket.listen(1024)?;
        Ok(socket.into())
    };
    bind().map_err(|source| bind_error(addr, "tcp", source))
}

/// Tokio needs non-blocking sockets; sockets from systemd come blocking.
fn adopt_udp(socket: std::net::UdpSocket) -> Result<UdpSocket, ServerError> {
    socket.set_nonblocking(true).map_err(ServerError::Adopt)?;
    UdpSocket::from_std(socket).map_err(ServerError::Adopt)
}

fn adopt_tcp(listener: std::net::TcpListener) -> Result<TcpListener, ServerError> {
    listener.set_nonblocking(true).map_err(ServerError::Adopt)?;
    TcpListener::from_std(listener).map_err(ServerError::Adopt)
}
