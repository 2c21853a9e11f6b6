//! Serving clients: UDP and TCP listeners on every configured address, DNS over TLS, HTTPS and
//! QUIC on theirs (or on sockets handed over by systemd), and the request pipeline they share.

pub mod acl;
mod batch;
pub mod certificates;
pub mod cookies;
pub mod doh;
mod drain;
pub mod fast_path;
pub mod offline;
pub mod padding;
pub mod pipeline;
pub mod querylog;
pub mod quic;
pub mod ratelimit;
mod serving;
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
use tokio_rustls::TlsAcceptor;

use certificates::{CertificateError, CertificateFiles, TlsContext};
pub use drain::InProgress;
use pipeline::ClientPolicy;
use querylog::QueryLog;
use serving::{CurrentService, PolicySettings};

use crate::cache::Cache;
use crate::clock::Clock;
use crate::config::Config;
use crate::metrics::{LiveValues, Metrics, Snapshot};
use crate::resolver::Resolver;
use crate::resolver::SetupError;

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
    Resolver(#[from] SetupError),
    #[error(transparent)]
    Certificate(#[from] CertificateError),
    #[error(transparent)]
    Trust(#[from] crate::upstream::tls::TrustError),
    #[error(transparent)]
    Quic(#[from] quic::QuicSetupError),
}

/// Sockets to serve on, already bound (by [`Listeners::bind`], or by systemd).
#[derive(Debug, Default)]
pub struct Listeners {
    pub udp: Vec<std::net::UdpSocket>,
    pub tcp: Vec<std::net::TcpListener>,
    /// DNS over TLS.
    pub tls: Vec<std::net::TcpListener>,
    /// DNS over HTTPS.
    pub https: Vec<std::net::TcpListener>,
    /// DNS over QUIC (UDP sockets).
    pub quic: Vec<std::net::UdpSocket>,
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

    /// A listener for DNS over TLS, HTTPS or QUIC on `addr`, as `kind` says.
    fn bind_encrypted(addr: SocketAddr, kind: ListenerKind) -> Result<Self, ServerError> {
        let mut listeners = Listeners::default();
        match kind {
            ListenerKind::Tls => listeners.tls.push(bind_tcp(addr)?),
            ListenerKind::Https => listeners.https.push(bind_tcp(addr)?),
            // One socket: quinn routes packets to connections by connection ID itself.
            ListenerKind::Quic => listeners.quic.push(bind_udp(addr, false)?),
            ListenerKind::Dns => listeners.tcp.push(bind_tcp(addr)?),
        }
        Ok(listeners)
    }

    pub fn is_empty(&self) -> bool {
        self.udp.is_empty()
            && self.tcp.is_empty()
            && self.tls.is_empty()
            && self.https.is_empty()
            && self.quic.is_empty()
    }

    fn is_encrypted(&self) -> bool {
        !self.tls.is_empty() || !self.https.is_empty() || !self.quic.is_empty()
    }
}

/// What a configured address serves: DNS over UDP and TCP (`listen`), over TLS (`tls-listen`),
/// over HTTPS (`https-listen`) or over QUIC (`quic-listen`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ListenerKind {
    Dns,
    Tls,
    Https,
    Quic,
}

/// Every address `config` asks to serve on, with what it serves there.
fn configured_addresses(config: &Config) -> Vec<(ListenerKind, SocketAddr)> {
    let kind = |kind: ListenerKind| move |addr: &SocketAddr| (kind, *addr);
    config
        .listen
        .iter()
        .map(kind(ListenerKind::Dns))
        .chain(config.tls_listen.iter().map(kind(ListenerKind::Tls)))
        .chain(config.https_listen.iter().map(kind(ListenerKind::Https)))
        .chain(config.quic_listen.iter().map(kind(ListenerKind::Quic)))
        .collect()
}

/// What every listener task shares. A reload replaces it whole (see [`serving`]); the parts
/// that must outlive a reload (the query log switch, the counts a stopping server waits on, and
/// the client policy when its settings did not change) are shared with the replacement.
pub(crate) struct Service {
    resolver: Arc<Resolver>,
    /// Access control, cookies and rate limit, applied to every message before it is answered.
    policy: Arc<ClientPolicy>,
    query_log: Arc<QueryLog>,
    /// Client queries received and not answered yet.
    queries: InProgress,
    /// Open TCP client connections (each may still owe answers).
    connections: InProgress,
    tcp: tcp::TcpSettings,
    /// Where DoH answers (`https-path`).
    https_path: String,
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
    /// The resolver and the client policy for `config`, sharing one set of metrics.
    fn new(config: &Config, clock: Clock) -> Result<Self, ServerError> {
        let metrics = Arc::new(Metrics::default());
        let resolver = Resolver::with_metrics(config, clock.clone(), Arc::clone(&metrics))?;
        let policy = ClientPolicy::new(config, clock).with_metrics(metrics);
        Ok(Service {
            resolver,
            policy: Arc::new(policy),
            query_log: Arc::new(QueryLog::new(config.query_log)),
            queries: InProgress::default(),
            connections: InProgress::default(),
            tcp: tcp_settings(config),
            https_path: config.https_path.clone(),
        })
    }

    fn metrics(&self) -> &Metrics {
        self.resolver.metrics()
    }
}

/// Where each transport is served, by one listener group or the whole server.
#[derive(Debug, Clone, Default)]
struct Addresses {
    udp: Vec<SocketAddr>,
    tcp: Vec<SocketAddr>,
    tls: Vec<SocketAddr>,
    https: Vec<SocketAddr>,
    quic: Vec<SocketAddr>,
}

impl Addresses {
    fn extend(&mut self, other: &Addresses) {
        self.udp.extend_from_slice(&other.udp);
        self.tcp.extend_from_slice(&other.tcp);
        self.tls.extend_from_slice(&other.tls);
        self.https.extend_from_slice(&other.https);
        self.quic.extend_from_slice(&other.quic);
    }
}

/// The listener tasks of one configured address, or of the sockets systemd handed over.
struct ListenerGroup {
    /// As configured (port 0 stays 0, so that a reload recognises the same entry); `None` for
    /// sockets from systemd, which a reload leaves alone.
    configured: Option<(ListenerKind, SocketAddr)>,
    addrs: Addresses,
    tasks: Vec<JoinHandle<()>>,
}

impl ListenerGroup {
    fn stop(&mut self) {
        for task in self.tasks.drain(..) {
            task.abort();
        }
    }
}

/// A started ferret: its listeners run as tasks on the current tokio runtime until it is shut
/// down or dropped.
pub struct RunningServer {
    addrs: Addresses,
    current: CurrentService,
    /// The certificate and TLS settings of DoT, DoH and DoQ, once any of them is served.
    tls: Option<TlsContext>,
    /// The resolver in `current`, kept here too so that it can be lent out by reference.
    resolver: Arc<Resolver>,
    clock: Clock,
    groups: Vec<ListenerGroup>,
    /// Set to `true` to make the listeners stop taking new queries.
    stop: watch::Sender<bool>,
    /// The settings the running client policy was built from.
    policy_settings: PolicySettings,
    /// `query-log` as last configured: a reload changes the switch only when this changes, so
    /// that `ferret ctl querylog` is not undone by an unrelated reload.
    query_log_setting: bool,
    /// The settings a reload cannot change, as started with.
    fixed: FixedSettings,
}

/// Settings that only a restart applies: the cache is kept across a reload, and with it its size,
/// TTL bounds and stale window; logging, the runtime's threads, huge pages, metrics and the control socket
/// are set up once per process.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FixedSettings {
    cache_size: usize,
    min_ttl: u32,
    max_ttl: u32,
    max_negative_ttl: u32,
    serve_stale_window: u32,
    log_level: String,
    log_format: crate::config::LogFormat,
    threads: usize,
    transparent_hugepages: bool,
    metrics_listen: Option<SocketAddr>,
    control_socket: crate::config::ControlSocketSetting,
}

impl FixedSettings {
    fn of(config: &Config) -> Self {
        FixedSettings {
            cache_size: config.cache_size,
            min_ttl: config.min_ttl,
            max_ttl: config.max_ttl,
            max_negative_ttl: config.max_negative_ttl,
            serve_stale_window: config.serve_stale_window,
            log_level: config.log_level.clone(),
            log_format: config.log_format,
            threads: config.threads,
            transparent_hugepages: config.transparent_hugepages,
            metrics_listen: config.metrics_listen,
            control_socket: config.control_socket_setting(),
        }
    }
}

fn tcp_settings(config: &Config) -> tcp::TcpSettings {
    tcp::TcpSettings {
        max_connections: config.limits.max_tcp_connections,
        idle_timeout: config.tcp_idle_timeout(),
        read_timeout: config.tcp_read_timeout(),
        handshake_timeout: config.tls_handshake_timeout(),
    }
}

impl RunningServer {
    /// Binds every `--listen` address over UDP and TCP, every `--tls-listen` and
    /// `--https-listen` address over TCP, every `--quic-listen` address over UDP, and starts
    /// serving.
    pub async fn start(config: &Config) -> Result<Self, ServerError> {
        Self::start_with_clock(config, Clock::system()).await
    }

    /// As [`RunningServer::start`], with a clock the caller keeps (tests move it forward).
    pub async fn start_with_clock(config: &Config, clock: Clock) -> Result<Self, ServerError> {
        let mut server = Self::prepare(config, clock)?;
        let encrypted = configured_addresses(config)
            .iter()
            .any(|(kind, _)| *kind != ListenerKind::Dns);
        server.tls = tls_context(config, encrypted)?;
        for (kind, addr) in configured_addresses(config) {
            let listeners = bind(kind, addr, config.threads)?;
            server.spawn(Some((kind, addr)), listeners)?;
        }
        Ok(server)
    }

    /// Serves on sockets bound elsewhere (socket activation), ignoring `config.listen`.
    pub async fn start_with_listeners(
        config: &Config,
        clock: Clock,
        listeners: Listeners,
    ) -> Result<Self, ServerError> {
        let mut server = Self::prepare(config, clock)?;
        server.tls = tls_context(config, listeners.is_encrypted())?;
        server.spawn(None, listeners)?;
        Ok(server)
    }

    /// Everything but the listeners.
    fn prepare(config: &Config, clock: Clock) -> Result<Self, ServerError> {
        check_forwarder_trust(config)?;
        let service = Service::new(config, clock.clone())?;
        let resolver = Arc::clone(&service.resolver);
        let (stop, _) = watch::channel(false);
        Ok(RunningServer {
            addrs: Addresses::default(),
            current: CurrentService::new(service),
            tls: None,
            resolver,
            clock,
            groups: Vec::new(),
            stop,
            policy_settings: PolicySettings::of(config),
            query_log_setting: config.query_log,
            fixed: FixedSettings::of(config),
        })
    }

    /// Starts serving on `listeners`, as the listeners of `configured`.
    fn spawn(
        &mut self,
        configured: Option<(ListenerKind, SocketAddr)>,
        listeners: Listeners,
    ) -> Result<(), ServerError> {
        let mut group = ListenerGroup {
            configured,
            addrs: Addresses::default(),
            tasks: Vec::new(),
        };
        let tls = match (&self.tls, listeners.is_encrypted()) {
            (Some(tls), _) => Some(tls.clone()),
            (None, true) => return Err(CertificateError::NotConfigured.into()),
            (None, false) => None,
        };
        // Adopted (and the QUIC endpoints made) first, spawned after: a socket that cannot be
        // adopted leaves nothing running.
        let adopt_all = |sockets: Vec<std::net::TcpListener>| {
            sockets
                .into_iter()
                .map(adopt_tcp)
                .collect::<Result<Vec<_>, _>>()
        };
        let udp = listeners
            .udp
            .into_iter()
            .map(adopt_udp)
            .collect::<Result<Vec<_>, _>>()?;
        let mut streams = Vec::new();
        for listener in adopt_all(listeners.tcp)? {
            streams.push((listener, tcp::Speaks::Dns));
        }
        let mut quic = Vec::new();
        if let Some(tls) = &tls {
            for listener in adopt_all(listeners.tls)? {
                let acceptor = TlsAcceptor::from(Arc::clone(&tls.dot));
                streams.push((listener, tcp::Speaks::Tls(acceptor)));
            }
            for listener in adopt_all(listeners.https)? {
                let acceptor = TlsAcceptor::from(Arc::clone(&tls.doh));
                streams.push((listener, tcp::Speaks::Https(acceptor)));
            }
            let settings = self.current.get().tcp;
            for socket in listeners.quic {
                socket.set_nonblocking(true).map_err(ServerError::Adopt)?;
                let config = quic::server_config(Arc::clone(&tls.doq), &settings)?;
                quic.push(quic::endpoint(socket, config).map_err(ServerError::Adopt)?);
            }
        }
        for socket in udp {
            let addr = socket.local_addr().map_err(ServerError::Adopt)?;
            // Several sockets share an address with SO_REUSEPORT; it is listed once.
            if !group.addrs.udp.contains(&addr) {
                group.addrs.udp.push(addr);
                tracing::info!(%addr, "listening on UDP");
            }
            let task = udp::serve(
                Arc::new(socket),
                self.current.clone(),
                self.stop.subscribe(),
            );
            group.tasks.push(tokio::spawn(task));
        }
        // TCP, DoT and DoH share the stream listener; only what it speaks differs.
        for (listener, speaks) in streams {
            let addr = listener.local_addr().map_err(ServerError::Adopt)?;
            let (addrs, what) = match &speaks {
                tcp::Speaks::Dns => (&mut group.addrs.tcp, "TCP"),
                tcp::Speaks::Tls(_) => (&mut group.addrs.tls, "DNS over TLS"),
                tcp::Speaks::Https(_) => (&mut group.addrs.https, "DNS over HTTPS"),
            };
            addrs.push(addr);
            let task = tcp::serve(
                listener,
                self.current.clone(),
                self.stop.subscribe(),
                speaks,
            );
            group.tasks.push(tokio::spawn(task));
            tracing::info!(%addr, "listening on {what}");
        }
        if let Some(tls) = &tls {
            for endpoint in quic {
                let addr = endpoint.local_addr().map_err(ServerError::Adopt)?;
                group.addrs.quic.push(addr);
                let task = quic::serve(
                    endpoint,
                    Arc::clone(&tls.doq),
                    self.current.clone(),
                    self.stop.subscribe(),
                );
                group.tasks.push(tokio::spawn(task));
                tracing::info!(%addr, "listening on DNS over QUIC");
            }
        }
        self.groups.push(group);
        self.note_addresses();
        Ok(())
    }

    fn note_addresses(&mut self) {
        let mut addrs = Addresses::default();
        for group in &self.groups {
            addrs.extend(&group.addrs);
        }
        self.addrs = addrs;
    }

    /// Applies a new configuration without dropping the cache: listeners for new addresses are
    /// bound and those for removed ones closed (sockets from systemd stay as they are); the TLS
    /// certificate is read again (a file that does not load keeps the one in use, and the
    /// returned text says so), for new handshakes only; forward,
    /// stub and local zones, local data, limits, access list, rate limit and upstream policy
    /// take effect for the next query. Queries being resolved finish under the old settings.
    /// What the cache holds for forward and stub zones that changed is dropped, and the encoded
    /// answers (which may hold old local data) are rebuilt from the RRsets as they are asked for.
    /// If anything fails (an address that cannot be bound, unreadable root hints) nothing
    /// changes. Returns what was done, for the log and `ferret ctl reload`. Call it within the
    /// server's runtime.
    pub fn reload(&mut self, config: &Config) -> Result<String, ServerError> {
        check_forwarder_trust(config)?;
        let previous = self.current.get();
        let resolver = previous.resolver.reconfigured(config)?;
        let activated = self.groups.iter().any(|g| g.configured.is_none());
        let wanted = if activated {
            Vec::new()
        } else {
            configured_addresses(config)
        };
        // A first TLS listener needs the certificate now; failing to load it fails the reload.
        let wants_tls = wanted.iter().any(|(kind, _)| *kind != ListenerKind::Dns);
        let new_tls = match self.tls {
            Some(_) => None,
            None => tls_context(config, wants_tls)?,
        };
        let mut bound = Vec::new();
        for (kind, addr) in &wanted {
            if !self
                .groups
                .iter()
                .any(|g| g.configured == Some((*kind, *addr)))
            {
                // On error the sockets bound so far are dropped, and closed, right here.
                bound.push(((*kind, *addr), bind(*kind, *addr, self.fixed.threads)?));
            }
        }
        // From here on nothing fails. A certificate in use is replaced by the files as they are
        // now (renewed by certbot, say); files that do not load keep it, and the reload goes on.
        let mut certificate_note = String::new();
        match (&self.tls, new_tls) {
            (None, new_tls) => self.tls = new_tls,
            (Some(tls), _) => {
                if let Some(files) = CertificateFiles::of(config)
                    && let Err(error) = tls.certificates.reload(&files)
                {
                    tracing::warn!(%error, "TLS certificate not reloaded; the one in use is kept");
                    certificate_note =
                        format!("; TLS certificate not reloaded, the one in use is kept: {error}");
                }
            }
        }
        let policy_settings = PolicySettings::of(config);
        let policy = if policy_settings == self.policy_settings {
            Arc::clone(&previous.policy)
        } else {
            let metrics = Arc::clone(resolver.metrics());
            Arc::new(ClientPolicy::new(config, self.clock.clone()).with_metrics(metrics))
        };
        if config.query_log != self.query_log_setting {
            previous.query_log.set_enabled(config.query_log);
        }
        resolver.forget_changed_zones(&previous.resolver);
        self.current.replace(Service {
            resolver: Arc::clone(&resolver),
            policy,
            query_log: Arc::clone(&previous.query_log),
            queries: previous.queries.clone(),
            connections: previous.connections.clone(),
            tcp: tcp_settings(config),
            https_path: config.https_path.clone(),
        });
        resolver.cache().messages().clear();
        self.resolver = resolver;
        self.policy_settings = policy_settings;
        self.query_log_setting = config.query_log;
        let mut closed = 0;
        for group in &mut self.groups {
            if group
                .configured
                .is_some_and(|configured| !wanted.contains(&configured))
            {
                group.stop();
                tracing::info!(addrs = ?group.addrs, "stopped listening");
                closed += 1;
            }
        }
        self.groups.retain(|g| !g.tasks.is_empty());
        let opened = bound.len();
        for (addr, listeners) in bound {
            self.spawn(Some(addr), listeners)?;
        }
        self.note_addresses();
        let mut done = format!(
            "reload done: {opened} listen address(es) opened, {closed} closed{certificate_note}"
        );
        if FixedSettings::of(config) != self.fixed {
            done.push_str(
                "; cache-size, min-ttl, max-ttl, max-negative-ttl, serve-stale-window, log-level, \
                 log-format, threads, transparent-hugepages, metrics-listen and control-socket \
                 take effect on restart \
                 only",
            );
        }
        Ok(done)
    }

    pub fn udp_addrs(&self) -> &[SocketAddr] {
        &self.addrs.udp
    }

    pub fn tcp_addrs(&self) -> &[SocketAddr] {
        &self.addrs.tcp
    }

    /// Where DNS over TLS is served.
    pub fn tls_addrs(&self) -> &[SocketAddr] {
        &self.addrs.tls
    }

    /// Where DNS over HTTPS is served.
    pub fn https_addrs(&self) -> &[SocketAddr] {
        &self.addrs.https
    }

    /// Where DNS over QUIC is served (UDP).
    pub fn quic_addrs(&self) -> &[SocketAddr] {
        &self.addrs.quic
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The resolver answering queries now (a reload replaces it; its cache stays).
    pub fn resolver(&self) -> &Arc<Resolver> {
        &self.resolver
    }

    /// A handle for the metrics endpoint and the control socket, usable from other tasks. It
    /// follows reloads.
    pub fn handle(&self) -> ServerHandle {
        ServerHandle {
            current: self.current.clone(),
            cache: Arc::clone(self.resolver.cache()),
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
        for group in &mut self.groups {
            for listener in group.tasks.drain(..) {
                let _ = timeout_at(deadline, listener).await;
            }
        }
        let service = self.current.get();
        let queries = service.queries.wait_idle(deadline).await;
        let connections = service.connections.wait_idle(deadline).await;
        queries && connections
    }

    fn stop_listeners(&mut self) {
        for group in &mut self.groups {
            group.stop();
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
#[derive(Clone)]
pub struct ServerHandle {
    current: CurrentService,
    /// The cache, which a reload keeps.
    cache: Arc<Cache>,
}

impl std::fmt::Debug for ServerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerHandle")
            .field("current", &self.current)
            .finish_non_exhaustive()
    }
}

impl ServerHandle {
    /// Every metric now.
    pub fn snapshot(&self) -> Snapshot {
        let service = &self.current.get();
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
        &self.cache
    }

    /// The shared cache tier of the current configuration, if one is configured.
    pub fn shared_cache(&self) -> Option<Arc<crate::cache::shared::SharedCache>> {
        self.current.get().resolver.shared_cache().cloned()
    }

    /// Forgets which zones' keys failed validation; returns how many did.
    pub fn forget_bogus_zones(&self) -> usize {
        self.current
            .get()
            .resolver
            .dnssec()
            .map_or(0, |dnssec| dnssec.forget_keys(true))
    }

    pub fn set_query_log(&self, enabled: bool) {
        self.current.get().query_log.set_enabled(enabled);
    }

    pub fn query_log_enabled(&self) -> bool {
        self.current.get().query_log.is_enabled()
    }
}

/// The TLS context for `config`'s certificate when `needed`; an error if it is needed and cannot
/// be had.
fn tls_context(config: &Config, needed: bool) -> Result<Option<TlsContext>, ServerError> {
    if !needed {
        return Ok(None);
    }
    let files = CertificateFiles::of(config).ok_or(CertificateError::NotConfigured)?;
    Ok(Some(TlsContext::new(&files)?))
}

/// A CA file for forwarders over TLS that does not load stops a start or a reload here, rather
/// than leaving those forwarders failing.
fn check_forwarder_trust(config: &Config) -> Result<(), ServerError> {
    if config.forward_zones.iter().any(|zone| !zone.tls.is_empty()) {
        crate::upstream::tls::roots(config.tls_ca_file.as_deref())?;
    }
    Ok(())
}

/// The sockets for one configured address.
fn bind(kind: ListenerKind, addr: SocketAddr, threads: usize) -> Result<Listeners, ServerError> {
    match kind {
        ListenerKind::Dns => Listeners::bind(&[addr], threads),
        kind => Listeners::bind_encrypted(addr, kind),
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
    dont_fragment(&socket).map_err(ServerError::Adopt)?;
    UdpSocket::from_std(socket).map_err(ServerError::Adopt)
}

/// Sends every answer with DF set and never fragments it (RFC 9715 §3.1, R1; BIND does the same
/// since DNS Flag Day 2020): an answer that does not fit the path is lost rather than split, and
/// the client falls back to TCP. Answers are at most 1232 bytes anyway. `PROBE` rather than `DO`
/// ignores the path MTU the kernel learns from ICMP, which an attacker could forge to shrink it.
/// A DF packet also needs no IP ID, which unfragmented ones get from a keyed hash per packet
/// (3% of the CPU time of a cached answer).
fn dont_fragment(socket: &std::net::UdpSocket) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let (level, name, value) = if socket.local_addr()?.is_ipv4() {
        (
            libc::IPPROTO_IP,
            libc::IP_MTU_DISCOVER,
            libc::IP_PMTUDISC_PROBE,
        )
    } else {
        (
            libc::IPPROTO_IPV6,
            libc::IPV6_MTU_DISCOVER,
            libc::IPV6_PMTUDISC_PROBE,
        )
    };
    // SAFETY: a plain integer option on a socket this function borrows for the call.
    let set = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            level,
            name,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if set == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn adopt_tcp(listener: std::net::TcpListener) -> Result<TcpListener, ServerError> {
    listener.set_nonblocking(true).map_err(ServerError::Adopt)?;
    TcpListener::from_std(listener).map_err(ServerError::Adopt)
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsRawFd;

    use super::*;

    fn mtu_discover(socket: &UdpSocket, level: libc::c_int, name: libc::c_int) -> libc::c_int {
        let mut value: libc::c_int = -1;
        let mut length = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: reads one integer option into `value`, which outlives the call.
        let got = unsafe {
            libc::getsockopt(
                socket.as_raw_fd(),
                level,
                name,
                (&mut value as *mut libc::c_int).cast(),
                &mut length,
            )
        };
        assert_eq!(got, 0, "{}", io::Error::last_os_error());
        value
    }

    #[tokio::test]
    async fn answers_leave_with_dont_fragment() {
        let v4 = adopt_udp(bind_udp("127.0.0.1:0".parse().unwrap(), false).unwrap()).unwrap();
        assert_eq!(
            mtu_discover(&v4, libc::IPPROTO_IP, libc::IP_MTU_DISCOVER),
            libc::IP_PMTUDISC_PROBE
        );
        let Ok(v6) = bind_udp("[::1]:0".parse().unwrap(), false) else {
            return; // no IPv6 on this host
        };
        let v6 = adopt_udp(v6).unwrap();
        assert_eq!(
            mtu_discover(&v6, libc::IPPROTO_IPV6, libc::IPV6_MTU_DISCOVER),
            libc::IPV6_PMTUDISC_PROBE
        );
    }
}
