//! Every setting ferret has, in one struct that both the command line and the config file fill.
//!
//! A new option is added here once: as a field with its default, its flag and its doc comment, which
//! is also its `--help` text. Its config-file key is the field name in kebab case (`cache_size` is
//! `cache-size`; the fields of [`Limits`] live in a `[limits]` table), and the file takes it with no
//! further work: serde reads every field, and a field the file leaves out keeps the clap default.
//! A setting that only makes sense in the file (a list of tables) is marked `#[arg(skip)]`.
//!
//! Precedence: built-in defaults, then the file, then flags actually given on the command line
//! ([`CommandLine::config`]).

mod command_line;
mod file;
mod zones;

#[cfg(test)]
mod completeness;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, Args, Parser, ValueEnum};
use hickory_proto::rr::{Name, Record};
use ipnet::IpNet;
use serde::Deserialize;

pub use command_line::{CommandLine, DEFAULT_CONFIG_PATH, Subcommand};
pub use file::{ConfigError, KeyPath};
pub use zones::{
    DOT_PORT, ForwardZone, LocalZone, LocalZoneType, StubZone, TlsServer, parse_local_record,
    parse_server,
};

/// ferret: a recursive caching DNS resolver.
#[derive(Debug, Clone, Parser, Deserialize)]
#[command(
    name = "ferret",
    version,
    about,
    long_about = None,
    after_help = "Control a running ferret with `ferret ctl --help`."
)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct Config {
    /// Address and port to serve DNS on, over UDP and TCP (repeatable).
    #[arg(long = "listen", value_name = "ADDR:PORT", default_values_t = default_listen())]
    pub listen: Vec<SocketAddr>,

    /// Address and port to serve DNS over TLS on (RFC 7858; port 853), repeatable. Needs
    /// `--tls-certificate` and `--tls-key`.
    #[arg(long = "tls-listen", value_name = "ADDR:PORT")]
    pub tls_listen: Vec<SocketAddr>,

    /// Address and port to serve DNS over HTTPS on (RFC 8484; HTTP/2 and HTTP/1.1, port 443),
    /// repeatable. Needs `--tls-certificate` and `--tls-key`.
    #[arg(long = "https-listen", value_name = "ADDR:PORT")]
    pub https_listen: Vec<SocketAddr>,

    /// Address and port to serve DNS over QUIC on (RFC 9250; UDP port 853), repeatable. Needs
    /// `--tls-certificate` and `--tls-key`.
    #[arg(long = "quic-listen", value_name = "ADDR:PORT")]
    pub quic_listen: Vec<SocketAddr>,

    /// The URL path DNS over HTTPS answers at; every other path gets 404.
    #[arg(long, value_name = "PATH", default_value = "/dns-query")]
    pub https_path: String,

    /// Certificate chain for DoT, DoH and DoQ, PEM, the server's certificate first (certbot's
    /// fullchain.pem). Read again on reload; a file that does not load keeps the old one.
    #[arg(long, value_name = "PATH")]
    pub tls_certificate: Option<PathBuf>,

    /// Private key of `--tls-certificate`, PEM (PKCS#8, or PKCS#1 RSA, or SEC1 EC).
    #[arg(long, value_name = "PATH")]
    pub tls_key: Option<PathBuf>,

    /// CA certificates (PEM) that forwarders reached over TLS must chain to, instead of the
    /// system's roots.
    #[arg(long, value_name = "PATH")]
    pub tls_ca_file: Option<PathBuf>,

    /// Root hints file (zone-file format, as IANA's named.root). Default: the copy built into ferret.
    #[arg(long, value_name = "PATH")]
    pub root_hints: Option<PathBuf>,

    /// Maximum number of cached RRsets and negative answers (LRU eviction beyond it).
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    pub cache_size: usize,

    /// Allow queries to upstream servers on loopback (127.0.0.0/8, ::1). Off by default, like
    /// Unbound's do-not-query-localhost: a delegation to loopback is a classic misconfiguration or
    /// an attempt to make the resolver attack its own host.
    #[arg(long)]
    pub allow_loopback_upstream: bool,

    /// Send the full query name to every server instead of minimising it (RFC 9156).
    #[arg(long = "no-qname-minimisation", action = ArgAction::SetFalse)]
    pub qname_minimisation: bool,

    /// Randomise the case of the letters of every name sent upstream over UDP ("0x20", Unbound's
    /// use-caps-for-id) and accept only answers that echo it exactly: each letter adds a bit a
    /// forger must guess besides the source port and the ID. An answer that differs only in case
    /// is never used; the question is asked again over TCP, where an off-path forger cannot inject
    /// anything. So servers that do not echo case still work, at the cost of a TCP exchange,
    /// where Unbound instead re-asks every server of the zone without 0x20 and requires them to
    /// agree. Cache keys stay case-insensitive and clients see the case they asked with.
    #[arg(long = "use-0x20")]
    pub use_0x20: bool,

    /// Do not refresh popular names in the background: without it, a cached answer asked for in
    /// the last tenth of its TTL is renewed before it expires (as Unbound's `prefetch: yes`), so
    /// clients of popular names never wait for a cache miss.
    #[arg(long = "no-prefetch", action = ArgAction::SetFalse)]
    pub prefetch: bool,

    /// Never query upstream servers over IPv6 (and never look up AAAA records of server names).
    #[arg(long = "no-ipv6-upstream", action = ArgAction::SetFalse)]
    pub ipv6_upstream: bool,

    /// Resolve ZONE through the DNS instead of answering it from ferret's built-in local zones
    /// (repeatable), as Unbound's `local-zone: ZONE nodefault`. For example `test.` for a lab.
    #[arg(long = "local-zone-nodefault", value_name = "ZONE", value_parser = parse_zone)]
    #[serde(deserialize_with = "zones::zone_names")]
    pub local_zone_nodefault: Vec<Name>,

    /// A record to answer locally, in zone-file syntax, e.g. "printer.lan. 3600 IN A 192.0.2.7"
    /// (repeatable), as Unbound's `local-data`. A record outside every local zone gets a
    /// transparent zone of its own: its name is answered locally, names below it are resolved.
    #[arg(long = "local-data", value_name = "RECORD", value_parser = parse_local_record)]
    #[serde(deserialize_with = "zones::local_records")]
    pub local_data: Vec<Record>,

    /// Zones answered from local data, each with a type (config file only):
    /// `{ name = "ads.example.", type = "always-nxdomain" }`.
    #[arg(skip)]
    pub local_zones: Vec<LocalZone>,

    /// Domains whose queries go to given recursive servers (config file only):
    /// `{ name = "corp.example.", servers = ["192.0.2.53@53"] }`.
    #[arg(skip)]
    pub forward_zones: Vec<ForwardZone>,

    /// Domains resolved by iterating from given authoritative servers instead of from the root
    /// (config file only): `{ name = "corp.", servers = ["192.0.2.10"] }`.
    #[arg(skip)]
    pub stub_zones: Vec<StubZone>,

    /// Clients allowed to query, as an address or CIDR prefix (repeatable), e.g. `10.0.0.0/8`.
    /// Given at least once, it replaces the default of loopback only (127.0.0.0/8 and ::1): an
    /// open resolver is a tool for reflection attacks, so opening up is a deliberate act.
    #[arg(long = "allow", value_name = "CIDR", value_parser = parse_prefix)]
    #[serde(deserialize_with = "zones::prefixes")]
    pub allow: Vec<IpNet>,

    /// Send nothing back to UDP clients outside `--allow` instead of REFUSED (Unbound's `deny`
    /// rather than `refuse`): silence gives a spoofed source nothing to reflect.
    #[arg(long)]
    pub refuse_silently: bool,

    /// Response rate limit: most UDP responses per second to one client network (an IPv4 /24
    /// or IPv6 /56, as BIND's RRL counts them); 0 turns it off. TCP is never limited.
    #[arg(long, value_name = "QPS", default_value_t = 0)]
    pub ratelimit: u32,

    /// Of the responses over the rate limit, every Nth is sent as an empty TC=1 answer so that
    /// a real client retries over TCP; the rest are dropped. 0 drops them all, 1 slips them all.
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub ratelimit_slip: u32,

    /// Log filter: error, warn, info, debug, trace, or a tracing directive. RUST_LOG overrides it.
    #[arg(long, value_name = "LEVEL", default_value = "info")]
    pub log_level: String,

    /// Log line format: human-readable text, or one JSON object per line.
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Log every answered query (client, name, type, rcode, latency, cache hit) from the start;
    /// `ferret ctl querylog on|off` switches it at runtime.
    #[arg(long)]
    pub query_log: bool,

    /// Serve Prometheus metrics over HTTP at http://ADDR:PORT/metrics (e.g. 127.0.0.1:9153).
    /// Off unless given.
    #[arg(long, value_name = "ADDR:PORT")]
    pub metrics_listen: Option<SocketAddr>,

    /// Unix socket for `ferret ctl`, created with mode 0600 [default: /run/ferret/control.sock,
    /// skipped with a warning if it cannot be created there].
    #[arg(long, value_name = "PATH")]
    pub control_socket: Option<PathBuf>,

    /// Open no control socket.
    #[arg(long, conflicts_with = "control_socket")]
    pub no_control_socket: bool,

    /// Smallest TTL kept in the cache, in seconds (larger TTLs from upstream are clamped down to
    /// max-ttl, smaller ones up to this).
    #[arg(long, value_name = "SECONDS", default_value_t = 0)]
    pub min_ttl: u32,

    /// Largest TTL kept in the cache, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 86_400)]
    pub max_ttl: u32,

    /// Largest TTL for a negative answer (NXDOMAIN, NODATA), in seconds (RFC 2308 §5).
    #[arg(long, value_name = "SECONDS", default_value_t = 3_600)]
    pub max_negative_ttl: u32,

    /// Worker threads, each with its own UDP socket per listen address (SO_REUSEPORT).
    /// Default: one per CPU core.
    #[arg(long, value_name = "N", default_value_t = default_threads())]
    pub threads: usize,

    /// Let the kernel back ferret's memory with transparent huge pages. Off by default (as
    /// Redis's `disable-thp yes`): the allocator asks for them, and on a virtual machine each
    /// first touch of a fresh 2 MiB page stalled ferret for about 27 ms, 15% of the CPU of a cold
    /// pass (benches/cold_wide.sh), where 4 KiB pages cost 1.4 us each.
    #[arg(long)]
    pub transparent_hugepages: bool,

    /// Serve-stale (RFC 8767): keep expired cache entries this many seconds past their expiry, and
    /// answer from them (TTL 30) when resolution fails. 0 turns serve-stale off.
    #[arg(long, value_name = "SECONDS", default_value_t = 86_400)]
    pub serve_stale_window: u32,

    /// Do not validate DNSSEC. Without this ferret checks every answer against the trust
    /// anchors (RFC 4033-4035): bogus answers get SERVFAIL, secure ones AD to clients that ask.
    #[arg(long = "no-dnssec", action = ArgAction::SetFalse)]
    pub dnssec: bool,

    /// Trust anchor file: DS or DNSKEY records in zone-file format, for any zone (repeatable).
    /// Given at least once, the files replace the root anchors built into ferret (IANA's
    /// KSK-2017 and KSK-2024).
    #[arg(long = "trust-anchor", value_name = "FILE")]
    pub trust_anchors: Vec<PathBuf>,

    /// Treat ZONE and everything below it as unsigned (a negative trust anchor, RFC 7646):
    /// answers there are neither validated nor marked AD (repeatable).
    #[arg(long = "negative-trust-anchor", value_name = "ZONE", value_parser = parse_zone)]
    #[serde(deserialize_with = "zones::zone_names")]
    pub negative_trust_anchors: Vec<Name>,

    /// Do not answer from cached, validated NSEC/NSEC3 ranges (RFC 8198). Without this a name
    /// that a validated NSEC range proves absent is answered NXDOMAIN or NODATA from the cache,
    /// with no upstream query.
    #[arg(long = "no-aggressive-nsec", action = ArgAction::SetFalse)]
    pub aggressive_nsec: bool,

    /// Share answers with the other ferrets of a fleet through Redis, a second cache tier
    /// behind the local one (docs/shared-cache.md): `redis://HOST:PORT[/DB]`, or
    /// `redis+cluster://HOST:PORT,HOST:PORT,...` for a Redis Cluster. Off unless given.
    #[arg(long, value_name = "URL")]
    pub shared_cache: Option<String>,

    /// Longest wait for the shared cache on a cache miss, in milliseconds; past it the question
    /// is resolved as if Redis had no entry.
    #[arg(long, value_name = "MS", default_value_t = 5)]
    pub shared_cache_timeout_ms: u64,

    /// Prefix of every shared cache key, so that fleets with different settings can use one
    /// Redis apart; `ferret ctl flush --shared` removes the keys under it.
    #[arg(long, value_name = "PREFIX", default_value = "ferret:")]
    pub shared_cache_prefix: String,

    /// Answers waiting to be written to the shared cache; past this, writes are dropped (and
    /// counted) rather than delaying anything.
    #[arg(long, value_name = "N", default_value_t = 4_096)]
    pub shared_cache_write_queue: usize,

    #[command(flatten)]
    pub limits: Limits,
}

/// Bounds on the work one client query may cause, and on what clients may hold open. In the config
/// file these are the `[limits]` table.
///
/// These bound the amplification attacks on resolvers: NXNSAttack (a referral to many glueless
/// server names that do not exist), TsuNAME (cyclic or deep delegations and aliases), and floods
/// of distinct cache-missing names. Each default is compared with Unbound's (1.26: `iterator/iterator.h`,
/// `util/config_file.c`, `doc/example.conf.in`) in its comment.
#[derive(Debug, Clone, Args, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct Limits {
    /// Total time to answer one client query before giving up with SERVFAIL, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 4_000)]
    pub resolution_timeout_ms: u64,

    /// Longest first try at one upstream server, in milliseconds (measured servers get less).
    /// A server that does not answer is asked again, up to three tries, each waiting twice as
    /// long as the one before (RFC 6298 §5.5) while the earlier ones keep listening, all within
    /// the resolution timeout.
    #[arg(long, value_name = "MS", default_value_t = 800)]
    pub upstream_timeout_ms: u64,

    /// Most upstream queries one client query may cause, sub-queries for server names included.
    /// Unbound has two such bounds: max-sent-count 32 per (sub)query, reset at each referral and
    /// CNAME restart, and max-global-quota 200 for a query with all its sub-queries, never reset;
    /// ferret counts everything one client question causes against this one budget.
    #[arg(long, value_name = "N", default_value_t = 64)]
    pub max_upstream_queries: u32,

    /// Most CNAME/DNAME links followed for one answer, counting links inside one upstream answer
    /// as well as links that need another query. Unbound has the same 11 twice: max-query-restarts
    /// (links that need another query) and iter-scrub-cname (CNAME/DNAME records in one answer).
    #[arg(long, value_name = "N", default_value_t = 11)]
    pub max_cname_chain: u32,

    /// Most referrals followed while walking down from the closest known delegation for one
    /// name. Unbound's MAX_REFERRAL_COUNT is 130; real names need fewer than 10, so ferret stops
    /// far earlier.
    #[arg(long, value_name = "N", default_value_t = 30)]
    pub max_referrals: u32,

    /// How deep lookups of glueless server names may nest (a server name whose own servers are
    /// glueless, and so on). Unbound's limit is the same 4: its max_dependency_depth is the
    /// length of target-fetch-policy ("3 2 1 0 0") less one, and it also stops after
    /// MAX_TARGET_COUNT 64 server-name lookups per query.
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub max_glueless_depth: u32,

    /// Most glueless server names of one delegation that are looked up (an NXNSAttack bound).
    /// Unbound looks up at most MAX_DP_TARGET_COUNT 16 per delegation and gives up after
    /// MAX_TARGET_NX 5 of them turned out not to exist; ferret simply looks up at most 5.
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub max_ns_lookups_per_referral: u32,

    /// Most distinct client questions being resolved at once. A new question that misses the
    /// cache beyond this gets SERVFAIL at once rather than queueing (counted in the resolver's
    /// statistics); questions already in flight are still joined. Unbound's equivalent is
    /// num-queries-per-thread (2048 per thread with libevent, 512 without), where it jostles out
    /// old queries instead.
    #[arg(long, value_name = "N", default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_inflight_resolutions: u32,

    /// Most queries outstanding at once to one upstream server address; more wait their turn,
    /// for at most the upstream timeout, and are then tried at the zone's other servers (or end
    /// in SERVFAIL). This keeps a flood of names under one zone from turning ferret against that
    /// zone's servers, while a burst of misses at a healthy server only queues. Unbound has no direct
    /// equivalent (its ratelimit and ip-ratelimit count queries per second and are off by
    /// default); BIND's fetches-per-server is the closest.
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_queries_per_server: u32,

    /// Most simultaneous TCP client connections.
    #[arg(long, value_name = "N", default_value_t = 1_000)]
    pub max_tcp_connections: usize,

    /// Seconds an idle TCP client connection is kept open.
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub tcp_idle_timeout: u64,

    /// Once a TCP client has sent the first byte of a message, the time it has to send the rest,
    /// in milliseconds; a client trickling a message in (slowloris) is disconnected after it.
    #[arg(long, value_name = "MS", default_value_t = 3_000)]
    pub tcp_read_timeout_ms: u64,

    /// Time a DoT or DoH client has to complete its TLS handshake, in milliseconds (the
    /// connection counts against `max-tcp-connections` meanwhile). Unbound has no such bound
    /// apart from its TCP timeout.
    #[arg(long, value_name = "MS", default_value_t = 5_000)]
    pub tls_handshake_timeout_ms: u64,

    /// Most DNSKEYs with the same key tag and algorithm tried against one RRSIG (a KeyTrap bound,
    /// CVE-2023-50387). PowerDNS Recursor 5's max-dnskeys is 2; Unbound 1.19 stops after 8
    /// failed validations per RRset.
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub max_dnskeys_per_tag: u32,

    /// Most RRSIGs of one RRset tried. PowerDNS Recursor 5's max-rrsigs-per-record is 2.
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub max_rrsigs_per_rrset: u32,

    /// Most DS records of one zone considered. PowerDNS Recursor 5's max-ds-per-zone is 8.
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub max_ds_per_zone: u32,

    /// Most signature validations one client question may cause, the chain of trust included.
    /// PowerDNS Recursor 5's max-signature-validations-per-query is 30.
    #[arg(long, value_name = "N", default_value_t = 30)]
    pub max_signature_validations: u32,

    /// Most NSEC3 hash computations one client question may cause (CVE-2023-50868). PowerDNS
    /// Recursor 5's max-nsec3-hash-computations-per-query is 600; Unbound 1.19 suspends after 8
    /// per validation step.
    #[arg(long, value_name = "N", default_value_t = 600)]
    pub max_nsec3_hash_computations: u32,

    /// NSEC3 records with more iterations than this prove nothing: the zone is treated as
    /// insecure (RFC 9276 §3.2; Unbound and BIND use 150).
    #[arg(long, value_name = "N", default_value_t = 150)]
    pub max_nsec3_iterations: u16,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LogFormat {
    Text,
    Json,
}

/// Where the control socket goes, and whether failing to create it is fatal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ControlSocketSetting {
    None,
    /// Asked for by name: failing to create it stops ferret.
    Explicit(PathBuf),
    /// The default place: failing to create it (no /run/ferret outside systemd) only warns.
    Default(PathBuf),
}

impl Config {
    pub fn control_socket_setting(&self) -> ControlSocketSetting {
        match (&self.control_socket, self.no_control_socket) {
            (_, true) => ControlSocketSetting::None,
            (Some(path), false) => ControlSocketSetting::Explicit(path.clone()),
            (None, false) => {
                ControlSocketSetting::Default(PathBuf::from(crate::control::DEFAULT_SOCKET))
            }
        }
    }

    pub fn resolution_timeout(&self) -> Duration {
        Duration::from_millis(self.limits.resolution_timeout_ms)
    }

    pub fn upstream_timeout(&self) -> Duration {
        Duration::from_millis(self.limits.upstream_timeout_ms)
    }

    pub fn tcp_idle_timeout(&self) -> Duration {
        Duration::from_secs(self.limits.tcp_idle_timeout)
    }

    pub fn tcp_read_timeout(&self) -> Duration {
        Duration::from_millis(self.limits.tcp_read_timeout_ms)
    }

    pub fn tls_handshake_timeout(&self) -> Duration {
        Duration::from_millis(self.limits.tls_handshake_timeout_ms)
    }
}

impl Default for Config {
    /// The settings ferret runs with when given no flags and no file: clap's defaults, which are
    /// therefore also the defaults of every key the file leaves out.
    fn default() -> Self {
        Config::parse_from(["ferret"])
    }
}

/// A zone name, made absolute: `test` and `test.` are the same zone.
pub fn parse_zone(text: &str) -> Result<Name, String> {
    let mut name = Name::from_ascii(text).map_err(|e| format!("bad zone name {text:?}: {e}"))?;
    name.set_fqdn(true);
    Ok(name)
}

impl Default for Limits {
    fn default() -> Self {
        Config::default().limits
    }
}

fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// A client network: `10.0.0.0/8`, or a bare address meaning just that host.
fn parse_prefix(text: &str) -> Result<IpNet, String> {
    if let Ok(net) = text.parse::<IpNet>() {
        // `10.1.2.3/8` names the network 10.0.0.0/8; store it that way.
        return Ok(net.trunc());
    }
    text.parse::<std::net::IpAddr>()
        .map(IpNet::from)
        .map_err(|_| format!("{text:?} is neither an address nor a CIDR prefix"))
}

/// With no `--listen`, serve the local host only, on both address families.
fn default_listen() -> Vec<SocketAddr> {
    vec![
        SocketAddr::from(([127, 0, 0, 1], 53)),
        SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, 53)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Config::command().debug_assert();
    }

    #[test]
    fn defaults_are_safe() {
        let config = Config::default();
        assert_eq!(config.listen.len(), 2);
        assert!(config.listen.iter().all(|a| a.ip().is_loopback()));
        assert!(!config.allow_loopback_upstream);
        assert!(config.qname_minimisation);
        assert!(config.ipv6_upstream);
        assert_eq!(config.max_ttl, 86_400);
        assert_eq!(config.metrics_listen, None);
        assert!(!config.query_log);
        assert_eq!(config.log_format, LogFormat::Text);
        assert_eq!(
            config.control_socket_setting(),
            ControlSocketSetting::Default(PathBuf::from("/run/ferret/control.sock"))
        );
        assert!(config.allow.is_empty(), "loopback only unless --allow");
        assert_eq!(config.ratelimit, 0, "rate limiting is off by default");
        assert!(!config.use_0x20);
        assert_eq!(config.limits.max_inflight_resolutions, 10_000);
        assert_eq!(config.limits.max_queries_per_server, 100);
        assert_eq!(config.serve_stale_window, 86_400);
    }

    #[test]
    fn allow_takes_prefixes_and_bare_addresses() {
        let config = Config::parse_from([
            "ferret",
            "--allow",
            "10.1.2.3/8",
            "--allow",
            "192.0.2.7",
            "--allow",
            "2001:db8::/32",
        ]);
        let allowed: Vec<String> = config.allow.iter().map(ToString::to_string).collect();
        assert_eq!(allowed, ["10.0.0.0/8", "192.0.2.7/32", "2001:db8::/32"]);
        assert!(Config::try_parse_from(["ferret", "--allow", "10.0.0.0/33"]).is_err());
        assert!(Config::try_parse_from(["ferret", "--allow", "example.com"]).is_err());
    }

    #[test]
    fn work_limits_must_allow_some_work() {
        let parsed = Config::try_parse_from(["ferret", "--max-queries-per-server", "0"]);
        assert!(parsed.is_err());
        let parsed = Config::try_parse_from(["ferret", "--max-inflight-resolutions", "0"]);
        assert!(parsed.is_err());
        let config =
            Config::parse_from(["ferret", "--use-0x20", "--max-inflight-resolutions", "7"]);
        assert!(config.use_0x20);
        assert_eq!(config.limits.max_inflight_resolutions, 7);
    }

    #[test]
    fn service_flags_parse() {
        let config = Config::parse_from([
            "ferret",
            "--metrics-listen",
            "127.0.0.1:9153",
            "--control-socket",
            "/tmp/ferret.sock",
            "--log-format",
            "json",
            "--query-log",
        ]);
        assert_eq!(
            config.metrics_listen,
            Some("127.0.0.1:9153".parse().unwrap())
        );
        assert_eq!(config.log_format, LogFormat::Json);
        assert!(config.query_log);
        assert_eq!(
            config.control_socket_setting(),
            ControlSocketSetting::Explicit(PathBuf::from("/tmp/ferret.sock"))
        );
        let config = Config::parse_from(["ferret", "--no-control-socket"]);
        assert_eq!(config.control_socket_setting(), ControlSocketSetting::None);
    }

    #[test]
    fn negative_flags_switch_features_off() {
        let config = Config::parse_from([
            "ferret",
            "--no-qname-minimisation",
            "--no-ipv6-upstream",
            "--local-zone-nodefault",
            "test",
            "--listen",
            "127.0.0.1:5353",
            "--listen",
            "[::1]:5353",
        ]);
        assert!(!config.qname_minimisation);
        assert!(!config.ipv6_upstream);
        assert_eq!(config.listen.len(), 2);
        assert_eq!(
            config.local_zone_nodefault,
            vec![Name::from_ascii("test.").unwrap()]
        );
    }
}
