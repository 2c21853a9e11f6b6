//! Runs a real NSD (NLnet Labs' authoritative server, Debian package `nsd`) as a child process on a
//! loopback address, so ferret can be tested against an authority that is not our own code.
//!
//! Also holds what the peer harnesses share: finding a system binary, the skip-or-fail policy for a
//! missing one, a plain blocking UDP query for readiness probes and hand checks, and a child process
//! that is stopped with its whole process group when dropped.
//!
//! Nothing here depends on the other `tests/common` modules: probes use hickory-proto directly.

use std::env;
use std::fs::{self, File};
use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, MessageType, Query};
use hickory_proto::rr::{Name, RecordType};
use tempfile::TempDir;

/// How long a freshly started peer may take to answer its first query.
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(5);

/// Where Debian puts daemons; not always on a non-root user's `PATH`.
const SBIN_DIRS: [&str; 4] = ["/usr/sbin", "/usr/local/sbin", "/sbin", "/usr/bin"];

/// The absolute path of a program, looked up on `PATH` and then in the sbin directories.
pub fn find_binary(name: &str) -> Option<PathBuf> {
    let path_dirs = env::var_os("PATH")
        .map(|p| env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    path_dirs
        .into_iter()
        .chain(SBIN_DIRS.iter().map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Whether the `nsd` binary is installed.
pub fn nsd_available() -> bool {
    find_binary("nsd").is_some()
}

/// Whether this run is CI (`CI=true`), where a missing peer is a failure rather than a skip.
pub fn in_ci() -> bool {
    env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// The policy for tests that need a peer program (`nsd`, `unbound`, ...).
///
/// Returns true when `name` is installed. When it is not: in CI (`CI=true`) this panics, because
/// .ci/run installs the peers and a silent skip there would hide a broken install; elsewhere it
/// prints why the test is skipped and returns false, and the test should return early.
pub fn require_or_skip(name: &str) -> bool {
    if find_binary(name).is_some() {
        return true;
    }
    if in_ci() {
        panic!("{name} is not installed, and CI=true: peer tests must run in CI (see .ci/run)");
    }
    eprintln!("skipping: {name} not installed (apt-get install {name}); with CI=true this fails");
    false
}

/// Sends one query over UDP and waits up to `timeout` for the response with the same ID.
///
/// Blocking on purpose: usable from sync tests, from `Drop`, and during startup before any runtime
/// exists. Responses with another ID (a late answer to an earlier try) are skipped.
pub fn udp_query(
    server: SocketAddr,
    name: &str,
    rtype: RecordType,
    recursion_desired: bool,
    timeout: Duration,
) -> Result<Message, String> {
    let qname = Name::from_ascii(name).map_err(|e| format!("bad query name {name:?}: {e}"))?;
    let mut request = Message::query();
    request.metadata.recursion_desired = recursion_desired;
    request.add_query(Query::query(qname, rtype));
    let wire = request
        .to_vec()
        .map_err(|e| format!("encoding query: {e}"))?;
    let id = request.metadata.id;

    let local: SocketAddr = match server {
        SocketAddr::V4(_) => (Ipv4Addr::LOCALHOST, 0).into(),
        SocketAddr::V6(_) => (Ipv6Addr::LOCALHOST, 0).into(),
    };
    let socket = UdpSocket::bind(local).map_err(|e| format!("binding {local}: {e}"))?;
    socket
        .connect(server)
        .map_err(|e| format!("connecting to {server}: {e}"))?;
    socket
        .send(&wire)
        .map_err(|e| format!("sending to {server}: {e}"))?;

    let deadline = Instant::now() + timeout;
    let mut buf = [0u8; 65535];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!(
                "no answer from {server} for {name} {rtype} within {timeout:?}"
            ));
        }
        socket
            .set_read_timeout(Some(left))
            .map_err(|e| format!("setting timeout: {e}"))?;
        let len = socket
            .recv(&mut buf)
            .map_err(|e| format!("receiving from {server}: {e}"))?;
        let Some(bytes) = buf.get(..len) else {
            continue;
        };
        let Ok(response) = Message::from_vec(bytes) else {
            continue;
        };
        if response.metadata.id == id && response.metadata.message_type == MessageType::Response {
            return Ok(response);
        }
    }
}

/// Fails if something already listens on `addr` (UDP or TCP).
///
/// Needed because the readiness probe cannot tell who answered: a leftover server on the same
/// address (another test, a crashed earlier run, a Debian-started daemon) would answer for a peer
/// that itself failed to bind and exited.
pub(crate) fn ensure_free(addr: SocketAddr) -> Result<(), String> {
    UdpSocket::bind(addr).map_err(|e| format!("{addr}/udp is not free: {e}"))?;
    std::net::TcpListener::bind(addr).map_err(|e| format!("{addr}/tcp is not free: {e}"))?;
    Ok(())
}

/// Polls `server` with `name rtype` until any matching response comes back, `child` exits, or
/// `timeout` passes. The error carries the peer's log, which is what explains a failed start.
pub(crate) fn wait_until_answering(
    process: &mut PeerProcess,
    server: SocketAddr,
    name: &str,
    rtype: RecordType,
    recursion_desired: bool,
    timeout: Duration,
) -> Result<Message, String> {
    let deadline = Instant::now() + timeout;
    let mut last_error = String::from("never tried");
    while Instant::now() < deadline {
        if let Some(status) = process.exited() {
            return Err(format!(
                "{} exited during startup ({status}); log:\n{}",
                process.program,
                process.log()
            ));
        }
        match udp_query(
            server,
            name,
            rtype,
            recursion_desired,
            Duration::from_millis(250),
        ) {
            Ok(response) => return Ok(response),
            Err(e) => {
                last_error = e;
                // A refused send (nothing bound yet) returns at once; don't spin.
                thread::sleep(Duration::from_millis(50));
            }
        }
    }
    Err(format!(
        "{} did not answer {name} {rtype} on {server} within {timeout:?} (last error: {last_error}); log:\n{}",
        process.program,
        process.log()
    ))
}

// From the C library std already links. Declared here because the test crate has no `libc`.
unsafe extern "C" {
    fn kill(pid: i32, sig: i32) -> i32;
    fn waitpid(pid: i32, status: *mut i32, options: i32) -> i32;
    #[cfg(target_os = "linux")]
    fn prctl(option: i32, ...) -> i32;
}

const SIGKILL: i32 = 9;
const SIGTERM: i32 = 15;
const WNOHANG: i32 = 1;
#[cfg(target_os = "linux")]
const PR_SET_CHILD_SUBREAPER: i32 = 36;

/// Sends `signal` to every process in group `pgid` (0 only checks). Returns whether any process
/// exists to receive it; a zombie counts.
fn signal_group(pgid: i32, signal: i32) -> bool {
    if pgid <= 1 {
        return false;
    }
    // SAFETY: kill(2) takes plain integers and touches no memory of ours; a negative pid names a
    // process group, which is the group we created for our own child.
    unsafe { kill(-pgid, signal) == 0 }
}

/// Makes this test process the reaper of its orphaned descendants, once.
///
/// NSD's main process exits without waiting for its server child, which is then reparented. The
/// PID 1 of this sandbox (and of many containers) never reaps, so without this every NSD start
/// would leave a zombie behind for the life of the machine.
fn become_subreaper() {
    #[cfg(target_os = "linux")]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            // SAFETY: prctl(PR_SET_CHILD_SUBREAPER, 1) changes only a process attribute; the
            // variadic argument is the unsigned long the kernel reads.
            unsafe {
                prctl(PR_SET_CHILD_SUBREAPER, 1 as std::ffi::c_ulong);
            }
        });
    }
}

/// Reaps whatever has exited in process group `pgid` among our (adopted) children.
fn reap_group(pgid: i32) {
    if pgid <= 1 {
        return;
    }
    let mut status = 0i32;
    // Bounded: each successful call removes one zombie, and a group here has a handful at most.
    for _ in 0..64 {
        // SAFETY: waitpid(2) writes one int through a pointer to a live local; -pgid restricts it
        // to our own group, so no child that std's `Child` (or tokio) owns elsewhere is taken.
        if unsafe { waitpid(-pgid, &mut status, WNOHANG) } <= 0 {
            break;
        }
    }
}

/// A peer daemon run in the foreground as the leader of its own process group.
///
/// NSD forks even with `-d` (the process we start becomes "xfrd", its child "main", whose child is
/// "server 1"), and a server child left behind keeps the port bound, so stopping signals the whole
/// group: SIGTERM first for a clean shutdown, then SIGKILL for anything left, then reaping.
pub(crate) struct PeerProcess {
    child: Child,
    program: String,
    log_path: PathBuf,
}

impl PeerProcess {
    /// Starts `program args` with stdin closed and stdout+stderr appended to `log_path`.
    ///
    /// Append mode, so the daemon may also name `log_path` as its own logfile and both streams
    /// land in one file without overwriting each other.
    pub(crate) fn spawn(program: &Path, args: &[&str], log_path: &Path) -> Result<Self, String> {
        become_subreaper();
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log_path)
            .map_err(|e| format!("creating {log_path:?}: {e}"))?;
        let log_err = log
            .try_clone()
            .map_err(|e| format!("cloning log handle: {e}"))?;
        let child = {
            use std::os::unix::process::CommandExt;
            Command::new(program)
                .args(args)
                .stdin(Stdio::null())
                .stdout(log)
                .stderr(log_err)
                .process_group(0)
                .spawn()
                .map_err(|e| format!("spawning {}: {e}", program.display()))?
        };
        Ok(Self {
            child,
            program: program.display().to_string(),
            log_path: log_path.to_path_buf(),
        })
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Everything the process wrote to stdout/stderr.
    pub(crate) fn log(&self) -> String {
        let mut text = String::new();
        match File::open(&self.log_path) {
            Ok(mut f) => {
                if let Err(e) = f.read_to_string(&mut text) {
                    text = format!("<reading {:?}: {e}>", self.log_path);
                }
            }
            Err(e) => text = format!("<opening {:?}: {e}>", self.log_path),
        }
        text
    }

    fn stop(&mut self) {
        let pgid = i32::try_from(self.child.id()).unwrap_or(0);
        if self.exited().is_none() {
            signal_group(pgid, SIGTERM);
            let deadline = Instant::now() + Duration::from_secs(3);
            while self.exited().is_none() && Instant::now() < deadline {
                thread::sleep(Duration::from_millis(5));
            }
        }
        // Anything still in the group: a child that ignored SIGTERM, or a hung leader.
        signal_group(pgid, SIGKILL);
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Until the group is gone, so the port is free for the next test. Bounded: a member that
        // was orphaned before we became subreaper stays a zombie of PID 1 (it holds no sockets).
        let deadline = Instant::now() + Duration::from_secs(1);
        loop {
            reap_group(pgid);
            if !signal_group(pgid, 0) || Instant::now() >= deadline {
                break;
            }
            thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for PeerProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A running NSD serving some zones on one loopback address; stopped (with its children) on drop.
pub struct NsdServer {
    // Field order matters: the process stops before its directory is removed.
    process: PeerProcess,
    addr: SocketAddr,
    dir: TempDir,
}

impl NsdServer {
    /// Starts NSD on `ip` port 53 serving `zones` (`(origin, zone file)` pairs, e.g.
    /// `("example.nsdtest.", path)`), and returns once it answers an SOA query for the first zone.
    pub fn start<O: AsRef<str>, P: AsRef<Path>>(
        ip: IpAddr,
        zones: &[(O, P)],
    ) -> Result<Self, String> {
        Self::start_on(SocketAddr::new(ip, 53), zones)
    }

    /// Like [`NsdServer::start`] on any port.
    pub fn start_on<O: AsRef<str>, P: AsRef<Path>>(
        addr: SocketAddr,
        zones: &[(O, P)],
    ) -> Result<Self, String> {
        Self::start_inner(addr, zones, None)
    }

    /// Like [`NsdServer::start`], with NSD's control channel on `ip:control_port` (TLS, keys from
    /// `nsd-control-setup` in the server's own directory), so [`NsdServer::queries_received`] can
    /// read its statistics.
    pub fn start_with_control<O: AsRef<str>, P: AsRef<Path>>(
        ip: IpAddr,
        zones: &[(O, P)],
        control_port: u16,
    ) -> Result<Self, String> {
        Self::start_inner(SocketAddr::new(ip, 53), zones, Some(control_port))
    }

    fn start_inner<O: AsRef<str>, P: AsRef<Path>>(
        addr: SocketAddr,
        zones: &[(O, P)],
        control_port: Option<u16>,
    ) -> Result<Self, String> {
        if !addr.ip().is_loopback() {
            return Err(format!("refusing to run NSD on non-loopback {addr}"));
        }
        let nsd = find_binary("nsd").ok_or("nsd is not installed")?;
        ensure_free(addr)?;
        let dir = tempfile::Builder::new()
            .prefix("ferret-nsd-")
            .tempdir()
            .map_err(|e| format!("creating tempdir: {e}"))?;
        let conf = dir.path().join("nsd.conf");
        let mut text = nsd_conf(addr, dir.path(), zones)?;
        if let Some(port) = control_port {
            text = with_control(&text, addr.ip(), port, dir.path())?;
        }
        fs::write(&conf, text).map_err(|e| format!("writing {conf:?}: {e}"))?;

        let conf_arg = path_str(&conf)?;
        let mut process =
            PeerProcess::spawn(&nsd, &["-d", "-c", conf_arg], &dir.path().join("nsd.log"))?;

        let (probe_name, probe_type) = match zones.first() {
            Some((origin, _)) => (origin.as_ref().to_string(), RecordType::SOA),
            None => (".".to_string(), RecordType::SOA),
        };
        let response = wait_until_answering(
            &mut process,
            addr,
            &probe_name,
            probe_type,
            false,
            STARTUP_TIMEOUT,
        )?;
        if !zones.is_empty() && !response.metadata.authoritative {
            return Err(format!(
                "NSD on {addr} answered {probe_name} SOA without AA ({}): is the zone loaded? log:\n{}",
                response.metadata.response_code,
                process.log()
            ));
        }
        Ok(Self { process, addr, dir })
    }

    /// The address NSD listens on (UDP and TCP).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn ip(&self) -> IpAddr {
        self.addr.ip()
    }

    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// NSD's log so far (its logfile, which also collects its stderr), for assertion messages.
    pub fn log(&self) -> String {
        self.process.log()
    }

    /// The private directory holding nsd.conf, the log and NSD's state files.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// How many queries NSD has received since it started (`num.queries` of `nsd-control
    /// stats_noreset`). Only for a server started with [`NsdServer::start_with_control`].
    ///
    /// NSD's server process counts and hands the figures to the control process on request, so a
    /// query answered before this call is always included.
    pub fn queries_received(&self) -> Result<u64, String> {
        let control = find_binary("nsd-control").ok_or("nsd-control is not installed")?;
        let conf = self.dir.path().join("nsd.conf");
        let out = run_bounded(
            Command::new(control)
                .arg("-c")
                .arg(&conf)
                .arg("stats_noreset"),
            STARTUP_TIMEOUT,
        )?;
        out.lines()
            .find_map(|line| line.strip_prefix("num.queries="))
            .ok_or_else(|| format!("no num.queries in nsd-control stats_noreset output:\n{out}"))?
            .trim()
            .parse()
            .map_err(|e| format!("num.queries in {out:?}: {e}"))
    }
}

/// Runs `command` with stdin closed and returns its stdout; fails on a non-zero exit or if it
/// takes longer than `limit` (then it is killed).
pub(crate) fn run_bounded(command: &mut Command, limit: Duration) -> Result<String, String> {
    let described = format!("{command:?}");
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("running {described}: {e}"))?;
    // Polled, with a pause that doubles up to 20 ms: most tools here finish in a few
    // milliseconds, and a fixed sleep would dominate a run of a hundred of them. (Output is
    // read after exit: fine for the few kilobytes these tools print.)
    let deadline = Instant::now() + limit;
    let mut pause = Duration::from_micros(500);
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{described} did not finish within {limit:?}"));
            }
            Ok(None) => {
                thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(20));
            }
            Err(e) => return Err(format!("waiting for {described}: {e}")),
        }
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("reading the output of {described}: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        return Err(format!(
            "{described} failed ({}):\n{stdout}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(stdout)
}

/// `conf` with its `remote-control:` section replaced by one that listens on `ip:port`, with keys
/// that `nsd-control-setup -d dir` writes into `dir`.
fn with_control(conf: &str, ip: IpAddr, port: u16, dir: &Path) -> Result<String, String> {
    let setup = find_binary("nsd-control-setup").ok_or("nsd-control-setup is not installed")?;
    run_bounded(
        Command::new(setup).arg("-d").arg(dir),
        Duration::from_secs(20),
    )?;
    let d = path_str(dir)?;
    let control = format!(
        "remote-control:
    control-enable: yes
    control-interface: {ip}
    control-port: {port}
    server-key-file: \"{d}/nsd_server.key\"
    server-cert-file: \"{d}/nsd_server.pem\"
    control-key-file: \"{d}/nsd_control.key\"
    control-cert-file: \"{d}/nsd_control.pem\"
"
    );
    let disabled = "remote-control:\n    control-enable: no\n";
    if !conf.contains(disabled) {
        return Err("nsd.conf has no remote-control section to replace".into());
    }
    Ok(conf.replace(disabled, &control))
}

fn path_str(path: &Path) -> Result<&str, String> {
    path.to_str()
        .ok_or_else(|| format!("path is not UTF-8: {path:?}"))
}

/// nsd.conf for one instance: everything NSD writes goes into `dir`, nothing under /var or /etc, no
/// privilege drop or chroot (tests may not run as root elsewhere, and the tempdir must stay
/// reachable), no control socket, one server process.
fn nsd_conf<O: AsRef<str>, P: AsRef<Path>>(
    addr: SocketAddr,
    dir: &Path,
    zones: &[(O, P)],
) -> Result<String, String> {
    let d = path_str(dir)?;
    let ip6 = if addr.is_ipv6() { "yes" } else { "no" };
    let mut conf = format!(
        r#"# Written by tests/common/nsd.rs for one test; removed with its directory.
server:
    ip-address: {ip}@{port}
    do-ip4: yes
    do-ip6: {ip6}
    reuseport: no
    # Debian's NSD limits each client /24 to 200 answers a second by default (RRL); a resolver
    # under test is one client that may ask far more.
    rrl-ratelimit: 0
    username: ""
    chroot: ""
    zonesdir: "{d}"
    database: ""
    zonelistfile: "{d}/zone.list"
    xfrdfile: "{d}/xfrd.state"
    xfrdir: "{d}"
    pidfile: "{d}/nsd.pid"
    # The same file the harness sends stderr to (both append).
    logfile: "{d}/nsd.log"
    verbosity: 1
    server-count: 1
    hide-version: yes
    identity: "ferret-test-nsd"

remote-control:
    control-enable: no
"#,
        ip = addr.ip(),
        port = addr.port(),
    );
    for (origin, file) in zones {
        let origin = origin.as_ref();
        let file = file.as_ref();
        let file = file
            .canonicalize()
            .map_err(|e| format!("zone file for {origin}: {file:?}: {e}"))?;
        conf.push_str(&format!(
            "\nzone:\n    name: \"{origin}\"\n    zonefile: \"{}\"\n",
            path_str(&file)?
        ));
    }
    Ok(conf)
}

/// The zone file templates in tests/zones/nsd.
pub fn zone_templates_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/zones/nsd")
}

/// Copies `template` to `dest`, replacing each `(placeholder, value)` (e.g. `("@ROOT@", ip)`).
/// Fails if a placeholder of the form `@NAME@` is left over, so a typo can't load a broken zone.
pub fn substitute_file(
    template: &Path,
    dest: &Path,
    subs: &[(&str, String)],
) -> Result<(), String> {
    let mut text =
        fs::read_to_string(template).map_err(|e| format!("reading {template:?}: {e}"))?;
    for (placeholder, value) in subs {
        text = text.replace(placeholder, value);
    }
    // Comments may mention placeholders; only data lines must be free of them.
    let leftover = text
        .lines()
        .map(|line| line.split(';').next().unwrap_or(""))
        .find(|data| data.contains("@ROOT@") || data.contains("@TLD@") || data.contains("@LEAF@"));
    if let Some(line) = leftover {
        return Err(format!(
            "{template:?}: unsubstituted placeholder in {line:?}"
        ));
    }
    fs::write(dest, text).map_err(|e| format!("writing {dest:?}: {e}"))
}

/// A three-level hierarchy from tests/zones/nsd, one NSD per level, so a resolver has to follow
/// real referrals: `.` on `root`, `nsdtest.` on `tld`, `example.nsdtest.` on `leaf` (all port 53).
///
/// `root_hints()` is a hints file naming only this root (`ns.root-servers.nsdtest.`), for Unbound's
/// `root-hints:` or ferret's hints option.
pub struct NsdHierarchy {
    pub root: NsdServer,
    pub tld: NsdServer,
    pub leaf: NsdServer,
    root_hints: PathBuf,
    dir: TempDir,
}

impl NsdHierarchy {
    pub const ROOT_NS: &'static str = "ns.root-servers.nsdtest.";
    pub const TLD: &'static str = "nsdtest.";
    pub const TLD_NS: &'static str = "ns1.nsdtest.";
    pub const LEAF: &'static str = "example.nsdtest.";
    pub const LEAF_NS: &'static str = "ns1.example.nsdtest.";

    pub fn start(root: Ipv4Addr, tld: Ipv4Addr, leaf: Ipv4Addr) -> Result<Self, String> {
        let dir = tempfile::Builder::new()
            .prefix("ferret-nsd-zones-")
            .tempdir()
            .map_err(|e| format!("creating tempdir: {e}"))?;
        let subs = [
            ("@ROOT@", root.to_string()),
            ("@TLD@", tld.to_string()),
            ("@LEAF@", leaf.to_string()),
        ];
        let templates = zone_templates_dir();
        let zone = |file: &str| -> Result<PathBuf, String> {
            let dest = dir.path().join(file);
            substitute_file(&templates.join(file), &dest, &subs)?;
            Ok(dest)
        };
        let root_zone = zone("root.zone")?;
        let tld_zone = zone("nsdtest.zone")?;
        let leaf_zone = zone("example.nsdtest.zone")?;

        let root_hints = dir.path().join("root.hints");
        fs::write(
            &root_hints,
            format!(
                "; Root hints for the NSD test hierarchy (tests/common/nsd.rs).\n\
                 .                        3600000      NS    {ns}\n\
                 {ns}  3600000      A     {root}\n",
                ns = Self::ROOT_NS
            ),
        )
        .map_err(|e| format!("writing {root_hints:?}: {e}"))?;

        // Leaf first: each level is already answering when the one above starts referring to it.
        let leaf = NsdServer::start(IpAddr::V4(leaf), &[(Self::LEAF, &leaf_zone)])?;
        let tld = NsdServer::start(IpAddr::V4(tld), &[(Self::TLD, &tld_zone)])?;
        let root = NsdServer::start(IpAddr::V4(root), &[(".", &root_zone)])?;
        Ok(Self {
            root,
            tld,
            leaf,
            root_hints,
            dir,
        })
    }

    /// A hints file whose only root server is this hierarchy's root.
    pub fn root_hints(&self) -> &Path {
        &self.root_hints
    }

    /// The substituted zone files and the hints file.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}
