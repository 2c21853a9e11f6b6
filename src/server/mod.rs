//! Serving clients: UDP and TCP listeners on every configured address, and the request pipeline
//! they share.

pub mod pipeline;
mod tcp;
mod udp;

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};

use socket2::{Domain, Protocol, Socket, Type};
use thiserror::Error;
use tokio::net::{TcpListener, UdpSocket};
use tokio::task::JoinHandle;

use crate::clock::Clock;
use crate::config::Config;
use crate::hints::HintsError;
use crate::resolver::Resolver;

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

/// What the listeners answer with. Replaced whole on reload, so that each query sees one
/// configuration, old or new, never a mix.
pub(crate) struct Serving {
    pub resolver: Arc<Resolver>,
    pub tcp: tcp::TcpSettings,
}

/// The current [`Serving`], read by every listener for every query (an uncontended read lock and
/// an `Arc` clone: far below the cost of parsing the query).
#[derive(Clone)]
pub(crate) struct CurrentServing(Arc<RwLock<Arc<Serving>>>);

impl CurrentServing {
    fn new(serving: Serving) -> Self {
        CurrentServing(Arc::new(RwLock::new(Arc::new(serving))))
    }

    pub fn get(&self) -> Arc<Serving> {
        Arc::clone(&self.0.read().unwrap_or_else(|p| p.into_inner()))
    }

    fn replace(&self, serving: Serving) {
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(serving);
    }
}

/// The UDP and TCP listeners of one configured address.
struct Listener {
    /// As configured (port 0 stays 0, so that a reload recognises the same entry).
    configured: SocketAddr,
    bound: SocketAddr,
    tasks: [JoinHandle<()>; 2],
}

impl Listener {
    /// Binds `configured` over UDP and TCP. Nothing is served until [`Listener::spawn`].
    fn bind(configured: SocketAddr) -> Result<(SocketAddr, UdpSocket, TcpListener), ServerError> {
        let udp = bind_udp(configured)?;
        // With port 0 the kernel picks a port; TCP then listens on the same one.
        let bound = udp
            .local_addr()
            .map_err(|source| bind_error(configured, "udp", source))?;
        let tcp = bind_tcp(bound)?;
        Ok((bound, udp, tcp))
    }

    fn spawn(
        configured: SocketAddr,
        (bound, udp, tcp): (SocketAddr, UdpSocket, TcpListener),
        serving: &CurrentServing,
    ) -> Self {
        let tasks = [
            tokio::spawn(udp::serve(Arc::new(udp), serving.clone())),
            tokio::spawn(tcp::serve(tcp, serving.clone())),
        ];
        tracing::info!(addr = %bound, "listening on UDP and TCP");
        Listener {
            configured,
            bound,
            tasks,
        }
    }

    fn stop(&self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// A started ferret: its listeners run as tasks on the current tokio runtime until it is shut
/// down or dropped.
pub struct RunningServer {
    udp_addrs: Vec<SocketAddr>,
    tcp_addrs: Vec<SocketAddr>,
    serving: CurrentServing,
    clock: Clock,
    listeners: Vec<Listener>,
    /// The settings a reload cannot change, as started with.
    fixed: FixedSettings,
}

/// Settings that only a restart applies: the cache is kept across a reload, and with it its size
/// and TTL bounds; logging is set up once per process.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FixedSettings {
    cache_size: usize,
    min_ttl: u32,
    max_ttl: u32,
    max_negative_ttl: u32,
    log_level: String,
}

impl FixedSettings {
    fn of(config: &Config) -> Self {
        FixedSettings {
            cache_size: config.cache_size,
            min_ttl: config.min_ttl,
            max_ttl: config.max_ttl,
            max_negative_ttl: config.max_negative_ttl,
            log_level: config.log_level.clone(),
        }
    }
}

fn tcp_settings(config: &Config) -> tcp::TcpSettings {
    tcp::TcpSettings {
        max_connections: config.limits.max_tcp_connections,
        idle_timeout: config.tcp_idle_timeout(),
    }
}

impl RunningServer {
    /// Binds every `--listen` address over UDP and TCP and starts serving.
    pub async fn start(config: &Config) -> Result<Self, ServerError> {
        Self::start_with_clock(config, Clock::system()).await
    }

    /// As [`RunningServer::start`], with a clock the caller keeps (tests move it forward).
    pub async fn start_with_clock(config: &Config, clock: Clock) -> Result<Self, ServerError> {
        let resolver = Resolver::new(config, clock.clone())?;
        let mut server = RunningServer {
            udp_addrs: Vec::new(),
            tcp_addrs: Vec::new(),
            serving: CurrentServing::new(Serving {
                resolver,
                tcp: tcp_settings(config),
            }),
            clock,
            listeners: Vec::new(),
            fixed: FixedSettings::of(config),
        };
        for addr in &config.listen {
            let sockets = Listener::bind(*addr)?;
            let listener = Listener::spawn(*addr, sockets, &server.serving);
            server.listeners.push(listener);
        }
        server.note_addresses();
        Ok(server)
    }

    /// Applies a new configuration without dropping the cache: listeners for new addresses are
    /// bound and those for removed ones closed; forward, stub and local zones, local data, limits
    /// and upstream policy take effect for the next query. Only what the cache holds for forward
    /// and stub zones that changed is dropped. Queries being resolved finish under
    /// the old settings. If anything fails (an address that cannot be bound, unreadable root
    /// hints) nothing changes. Must be called within the runtime the server runs on.
    pub fn reload(&mut self, config: &Config) -> Result<(), ServerError> {
        let resolver = self.resolver().reconfigured(config)?;
        let mut bound = Vec::new();
        for addr in &config.listen {
            if !self.listeners.iter().any(|l| l.configured == *addr) {
                // On error the sockets bound so far are dropped, and closed, right here.
                bound.push((*addr, Listener::bind(*addr)?));
            }
        }
        let previous = self.resolver();
        resolver.forget_changed_zones(&previous);
        self.serving.replace(Serving {
            resolver,
            tcp: tcp_settings(config),
        });
        self.listeners.retain(|listener| {
            let keep = config.listen.contains(&listener.configured);
            if !keep {
                listener.stop();
                tracing::info!(addr = %listener.bound, "stopped listening");
            }
            keep
        });
        for (addr, sockets) in bound {
            let listener = Listener::spawn(addr, sockets, &self.serving);
            self.listeners.push(listener);
        }
        self.note_addresses();
        let fixed = FixedSettings::of(config);
        if fixed != self.fixed {
            tracing::warn!(
                "cache-size, min-ttl, max-ttl, max-negative-ttl and log-level changes take \
                 effect on restart only"
            );
        }
        Ok(())
    }

    fn note_addresses(&mut self) {
        self.udp_addrs = self.listeners.iter().map(|l| l.bound).collect();
        self.tcp_addrs = self.udp_addrs.clone();
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

    /// The resolver answering queries now (a reload replaces it; its cache stays).
    pub fn resolver(&self) -> Arc<Resolver> {
        Arc::clone(&self.serving.get().resolver)
    }

    /// Stops accepting queries. Resolutions already under way finish on their own, bounded by
    /// the resolution timeout.
    pub fn shutdown(mut self) {
        self.stop_listeners();
    }

    fn stop_listeners(&mut self) {
        for listener in self.listeners.drain(..) {
            listener.stop();
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

fn bind_udp(addr: SocketAddr) -> Result<UdpSocket, ServerError> {
    let bind = || -> io::Result<UdpSocket> {
        let socket = socket_for(addr, Type::DGRAM, Protocol::UDP)?;
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
