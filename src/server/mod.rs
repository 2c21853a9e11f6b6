//! Serving clients: UDP and TCP listeners on every configured address, and the request pipeline
//! they share.

pub mod acl;
pub mod cookies;
pub mod fast_path;
pub mod pipeline;
pub mod ratelimit;
mod serving;
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
use serving::{CurrentServing, PolicySettings, Serving, ServingView};

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

/// The sockets of one configured address, bound but not yet served.
struct BoundSockets {
    addr: SocketAddr,
    udp: Vec<UdpSocket>,
    tcp: TcpListener,
}

/// The UDP and TCP listeners of one configured address.
struct Listener {
    /// As configured (port 0 stays 0, so that a reload recognises the same entry).
    configured: SocketAddr,
    bound: SocketAddr,
    tasks: Vec<JoinHandle<()>>,
}

impl Listener {
    /// Binds `configured` over TCP and over UDP with one socket per thread. Nothing is served
    /// until [`Listener::spawn`].
    fn bind(configured: SocketAddr, threads: usize) -> Result<BoundSockets, ServerError> {
        let first = bind_udp(configured, threads > 1)?;
        // With port 0 the kernel picks a port; TCP and the other UDP sockets then use it.
        let addr = first
            .local_addr()
            .map_err(|source| bind_error(configured, "udp", source))?;
        let tcp = bind_tcp(addr)?;
        // One UDP socket per thread (SO_REUSEPORT): the kernel spreads datagrams over them by
        // flow hash, so threads never contend on one socket's receive queue.
        let mut udp = vec![first];
        for _ in 1..threads {
            udp.push(bind_udp(addr, true)?);
        }
        Ok(BoundSockets { addr, udp, tcp })
    }

    fn spawn(configured: SocketAddr, sockets: BoundSockets, serving: &CurrentServing) -> Self {
        let mut tasks: Vec<JoinHandle<()>> = sockets
            .udp
            .into_iter()
            .map(|socket| tokio::spawn(udp::serve(Arc::new(socket), serving.clone())))
            .collect();
        tasks.push(tokio::spawn(tcp::serve(sockets.tcp, serving.clone())));
        tracing::info!(addr = %sockets.addr, "listening on UDP and TCP");
        Listener {
            configured,
            bound: sockets.addr,
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
    /// The resolver in `serving`, kept here too so that it can be lent out by reference.
    resolver: Arc<Resolver>,
    clock: Clock,
    listeners: Vec<Listener>,
    policy_settings: PolicySettings,
    /// The settings a reload cannot change, as started with.
    fixed: FixedSettings,
}

/// Settings that only a restart applies: the cache is kept across a reload, and with it its size
/// and TTL bounds; logging and the runtime's threads are set up once per process.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FixedSettings {
    cache_size: usize,
    min_ttl: u32,
    max_ttl: u32,
    max_negative_ttl: u32,
    log_level: String,
    threads: usize,
    serve_stale_window: u32,
}

impl FixedSettings {
    fn of(config: &Config) -> Self {
        FixedSettings {
            cache_size: config.cache_size,
            min_ttl: config.min_ttl,
            max_ttl: config.max_ttl,
            max_negative_ttl: config.max_negative_ttl,
            log_level: config.log_level.clone(),
            threads: config.threads,
            serve_stale_window: config.serve_stale_window,
        }
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
        let policy = Arc::new(ClientPolicy::new(config, clock.clone()));
        let mut server = RunningServer {
            udp_addrs: Vec::new(),
            tcp_addrs: Vec::new(),
            serving: CurrentServing::new(Serving {
                resolver: Arc::clone(&resolver),
                policy,
                tcp: Serving::tcp_settings(config),
            }),
            resolver,
            clock,
            listeners: Vec::new(),
            policy_settings: PolicySettings::of(config),
            fixed: FixedSettings::of(config),
        };
        for addr in &config.listen {
            let sockets = Listener::bind(*addr, config.threads)?;
            let listener = Listener::spawn(*addr, sockets, &server.serving);
            server.listeners.push(listener);
        }
        server.note_addresses();
        Ok(server)
    }

    /// Applies a new configuration without dropping the cache: listeners for new addresses are
    /// bound and those for removed ones closed; forward, stub and local zones, local data, limits,
    /// access list, rate limit and upstream policy take effect for the next query. Queries being
    /// resolved finish under the old settings. What the cache holds for forward and stub zones
    /// that changed is dropped, and the encoded answers (which may hold old local data) are
    /// rebuilt from the RRsets as they are asked for. If anything fails (an address that cannot
    /// be bound, unreadable root hints) nothing changes. Call it within the server's runtime.
    pub fn reload(&mut self, config: &Config) -> Result<(), ServerError> {
        let previous = self.serving.get();
        let resolver = previous.resolver.reconfigured(config)?;
        let mut bound = Vec::new();
        for addr in &config.listen {
            if !self.listeners.iter().any(|l| l.configured == *addr) {
                // On error the sockets bound so far are dropped, and closed, right here.
                bound.push((*addr, Listener::bind(*addr, self.fixed.threads)?));
            }
        }
        let policy_settings = PolicySettings::of(config);
        let policy = if policy_settings == self.policy_settings {
            Arc::clone(&previous.policy)
        } else {
            Arc::new(ClientPolicy::new(config, self.clock.clone()))
        };
        resolver.forget_changed_zones(&previous.resolver);
        self.serving.replace(Serving {
            resolver: Arc::clone(&resolver),
            policy,
            tcp: Serving::tcp_settings(config),
        });
        resolver.cache().messages().clear();
        self.resolver = resolver;
        self.policy_settings = policy_settings;
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
        if FixedSettings::of(config) != self.fixed {
            tracing::warn!(
                "cache-size, min-ttl, max-ttl, max-negative-ttl, serve-stale-window, log-level \
                 and threads changes take effect on restart only"
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
