//! Runs Debian's `unbound` as the reference recursive resolver, pointed at a test hierarchy on
//! loopback through its root hints, so ferret's answers can be compared with Unbound's.
//!
//! The configuration resolves like ferret is meant to: iterator only (no DNSSEC validation, no trust
//! anchor, so nothing is fetched from the real root), QNAME minimisation on, no prefetching and no
//! opportunistic fetching of name server addresses, minimal responses. Nothing here depends on the
//! other `tests/common` modules: the readiness probe uses hickory-proto directly.
//!
//! [`UnboundServer::start_validating`] is the same resolver with DNSSEC validation on, against a
//! signed test hierarchy's own trust anchor (tests/common/signed.rs), the reference for ferret's
//! validator.

use std::fs;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;

use hickory_proto::rr::RecordType;
use tempfile::TempDir;

use super::nsd::{PeerProcess, STARTUP_TIMEOUT, ensure_free, find_binary, wait_until_answering};

/// Whether the `unbound` binary is installed.
pub fn unbound_available() -> bool {
    find_binary("unbound").is_some()
}

/// A running Unbound listening on one loopback address; stopped on drop.
pub struct UnboundServer {
    // Field order matters: the process stops before its directory is removed.
    process: PeerProcess,
    addr: SocketAddr,
    dir: TempDir,
}

impl UnboundServer {
    /// Starts Unbound on `listen_ip:port` (UDP and TCP) with `root_hints` as its only root servers,
    /// and returns once it answers `localhost. A` (a local zone in Unbound, so no upstream traffic).
    ///
    /// The config is checked with `unbound-checkconf` first when that tool is installed.
    pub fn start(listen_ip: IpAddr, port: u16, root_hints: &Path) -> Result<Self, String> {
        Self::start_inner(listen_ip, port, root_hints, None, "")
    }

    /// As [`UnboundServer::start`], with more lines for the `server:` clause (indented by four
    /// spaces), e.g. a DoT interface or local data.
    pub fn start_with(
        listen_ip: IpAddr,
        port: u16,
        root_hints: &Path,
        extra: &str,
    ) -> Result<Self, String> {
        Self::start_inner(listen_ip, port, root_hints, None, extra)
    }

    /// Like [`UnboundServer::start`], but validating: `module-config: "validator iterator"` with
    /// `trust_anchor_file` (DS or DNSKEY records in zone-file format, e.g. a fake root's) as the
    /// only trust anchor, never the real root's and never RFC 5011 tracking
    /// (`auto-trust-anchor-file`); each of `domain_insecure` is a negative trust anchor. Extended
    /// DNS Errors (RFC 8914) on, and `val-log-level: 2`, so the log says why an answer is bogus.
    pub fn start_validating(
        listen_ip: IpAddr,
        port: u16,
        root_hints: &Path,
        trust_anchor_file: &Path,
        domain_insecure: &[&str],
    ) -> Result<Self, String> {
        let anchor = trust_anchor_file
            .canonicalize()
            .map_err(|e| format!("trust anchor {trust_anchor_file:?}: {e}"))?;
        let validation = Validation {
            trust_anchor_file: anchor,
            domain_insecure: domain_insecure.iter().map(|d| d.to_string()).collect(),
        };
        Self::start_inner(listen_ip, port, root_hints, Some(validation), "")
    }

    fn start_inner(
        listen_ip: IpAddr,
        port: u16,
        root_hints: &Path,
        validation: Option<Validation>,
        extra: &str,
    ) -> Result<Self, String> {
        let addr = SocketAddr::new(listen_ip, port);
        if !listen_ip.is_loopback() {
            return Err(format!("refusing to run Unbound on non-loopback {addr}"));
        }
        let unbound = find_binary("unbound").ok_or("unbound is not installed")?;
        ensure_free(addr)?;
        let root_hints = root_hints
            .canonicalize()
            .map_err(|e| format!("root hints {root_hints:?}: {e}"))?;
        let dir = tempfile::Builder::new()
            .prefix("ferret-unbound-")
            .tempdir()
            .map_err(|e| format!("creating tempdir: {e}"))?;
        let conf = dir.path().join("unbound.conf");
        let mut text = unbound_conf(addr, dir.path(), &root_hints, extra)?;
        if let Some(validation) = &validation {
            text = validating_conf(&text, validation)?;
        }
        fs::write(&conf, text).map_err(|e| format!("writing {conf:?}: {e}"))?;
        let conf_arg = conf
            .to_str()
            .ok_or_else(|| format!("path is not UTF-8: {conf:?}"))?;

        if let Some(checkconf) = find_binary("unbound-checkconf") {
            let out = Command::new(checkconf)
                .arg(conf_arg)
                .output()
                .map_err(|e| format!("running unbound-checkconf: {e}"))?;
            if !out.status.success() {
                return Err(format!(
                    "unbound-checkconf rejected {conf:?}:\n{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
        }

        let mut process = PeerProcess::spawn(
            &unbound,
            &["-d", "-c", conf_arg],
            &dir.path().join("unbound.out"),
        )?;
        wait_until_answering(
            &mut process,
            addr,
            "localhost.",
            RecordType::A,
            true,
            STARTUP_TIMEOUT,
        )?;
        Ok(Self { process, addr, dir })
    }

    /// The address Unbound listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Unbound's log so far (it logs to stderr here), for assertion messages.
    pub fn log(&self) -> String {
        self.process.log()
    }

    /// The private directory holding unbound.conf and the log.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

/// What [`UnboundServer::start_validating`] adds to the iterator-only configuration.
struct Validation {
    trust_anchor_file: PathBuf,
    domain_insecure: Vec<String>,
}

/// The iterator-only `conf` turned validating: the validator module in front of the iterator, the
/// test's own trust anchor, the negative trust anchors, EDE and the validator's log.
fn validating_conf(conf: &str, validation: &Validation) -> Result<String, String> {
    let anchor = validation
        .trust_anchor_file
        .to_str()
        .ok_or_else(|| format!("path is not UTF-8: {:?}", validation.trust_anchor_file))?;
    let iterator_only = "    module-config: \"iterator\"\n";
    if !conf.contains(iterator_only) {
        return Err("unbound.conf has no iterator-only module-config to replace".into());
    }
    let mut validating = format!(
        r#"    module-config: "validator iterator"
    # The test hierarchy's own anchor, read once. Never auto-trust-anchor-file (RFC 5011 tracking)
    # and never the real root's key: nothing may be fetched from, or validated up to, the real
    # root.
    trust-anchor-file: "{anchor}"
    # No RFC 8145 key-tag queries and no RFC 8509 sentinel: nothing but the answers under test.
    trust-anchor-signaling: no
    root-key-sentinel: no
    # Why an answer is bogus, in the log (2: with the reason and the server) and to the client as
    # an Extended DNS Error (RFC 8914).
    val-log-level: 2
    ede: yes
    val-permissive-mode: no
    aggressive-nsec: yes
"#
    );
    for zone in &validation.domain_insecure {
        validating.push_str(&format!("    domain-insecure: \"{zone}\"\n"));
    }
    Ok(conf.replace(iterator_only, &validating))
}

fn unbound_conf(
    addr: SocketAddr,
    dir: &Path,
    root_hints: &Path,
    extra: &str,
) -> Result<String, String> {
    let d = dir
        .to_str()
        .ok_or_else(|| format!("path is not UTF-8: {dir:?}"))?;
    let hints = root_hints
        .to_str()
        .ok_or_else(|| format!("path is not UTF-8: {root_hints:?}"))?;
    // IPv4 always (the test hierarchies are on 127.0.0.0/8); IPv6 only to listen on ::1, since with
    // it on Unbound would also try AAAA glue and time out on addresses nobody serves.
    let ip6 = if addr.is_ipv6() { "yes" } else { "no" };
    Ok(format!(
        r#"# Written by tests/common/unbound.rs for one test; removed with its directory.
server:
    interface: {ip}@{port}
    port: {port}
    do-ip4: yes
    do-ip6: {ip6}
    do-udp: yes
    do-tcp: yes
    # Two instances on one address must fail loudly, not share the port.
    so-reuseport: no
    access-control: 127.0.0.0/8 allow
    access-control: ::1/128 allow

    # The test hierarchy lives on 127.0.0.0/8, which Unbound refuses to query by default.
    do-not-query-localhost: no
    root-hints: "{hints}"

    # Resolve the way ferret does, so answers are comparable: plain iteration, no DNSSEC (no
    # validator module, no trust anchor: nothing to fetch from the real root), QNAME minimisation
    # (RFC 9156), no prefetch, no opportunistic NS address fetching, minimal responses.
    module-config: "iterator"
    # The fake hierarchy lives under test., which Unbound (like ferret) answers NXDOMAIN itself by
    # default (RFC 6761 §6.2); the tests switch that off in both.
    local-zone: "test." nodefault
    qname-minimisation: yes
    harden-referral-path: no
    minimal-responses: yes
    prefetch: no
    target-fetch-policy: "0 0 0 0 0"

    chroot: ""
    username: ""
    directory: "{d}"
    pidfile: "{d}/unbound.pid"
    use-syslog: no
    logfile: ""
    log-time-ascii: yes
    verbosity: 1
    num-threads: 1
{extra}

remote-control:
    control-enable: no
"#,
        ip = addr.ip(),
        port = addr.port(),
    ))
}
