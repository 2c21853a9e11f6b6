//! Runs PowerDNS's `dnsdist` (Debian package `dnsdist`) on loopback as the front of a fleet of
//! ferrets (issue 12): it spreads client queries over the ferrets and health-checks each one.
//!
//! The generated configuration listens on one loopback address (UDP and TCP), names one backend
//! per ferret with a health check on `localhost. A` (which ferret answers itself, RFC 6761 §6.3,
//! so a check never causes upstream traffic), and always says `setSecurityPollSuffix("")`:
//! otherwise dnsdist resolves a name under secpoll.powerdns.com to learn whether its version is
//! vulnerable, which would be traffic off loopback. There is no webserver; the console listens on
//! a loopback address only, with a key made for this run, and the test reads backend state through
//! it with dnsdist's own client (`dnsdist -C CONF -c -e CMD`), so no HTTP or console protocol is
//! spoken here. The file is checked with `dnsdist --check-config` before it is used.
//!
//! dnsdist runs in the foreground (`--supervised --disable-syslog`: no interactive console on
//! stdin, logs to stdout) as the leader of its own process group, stopped on drop (see
//! [`PeerProcess`]), on failure too.

use std::fs;
use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use hickory_proto::rr::RecordType;
use tempfile::TempDir;

use super::nsd::{
    PeerProcess, STARTUP_TIMEOUT, ensure_free, find_binary, require_or_skip, wait_until_answering,
};

/// How long one console command may take.
const CONSOLE_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a backend may take to be marked up or down: a few health-check intervals.
pub const HEALTH_TIMEOUT: Duration = Duration::from_secs(15);

/// Whether `dnsdist` is installed; when it is not, prints why the test is skipped and returns
/// false, or panics under `CI=true` (see [`require_or_skip`]).
pub fn dnsdist_available() -> bool {
    require_or_skip("dnsdist")
}

/// How dnsdist picks a backend for each query (its `setServerPolicy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// Each query to the next backend that is up: consecutive queries alternate between two
    /// ferrets, which is what the fleet tests need to send one name to both.
    RoundRobin,
    /// dnsdist's default: the backend with the fewest queries in flight.
    LeastOutstanding,
    /// By a hash of the query name: one name always goes to the same backend while it is up.
    ConsistentHash,
}

impl Policy {
    fn lua(self) -> &'static str {
        match self {
            Policy::RoundRobin => "roundrobin",
            Policy::LeastOutstanding => "leastOutstanding",
            Policy::ConsistentHash => "chashed",
        }
    }
}

/// One backend (a ferret) behind dnsdist.
#[derive(Clone, Debug)]
pub struct Backend {
    /// The name dnsdist logs and shows it under (letters, digits and `-`).
    pub name: String,
    pub addr: SocketAddr,
}

/// A running dnsdist; stopped (with its process group) on drop.
pub struct DnsdistServer {
    // Field order matters: the process stops before its directory is removed.
    process: PeerProcess,
    binary: PathBuf,
    addr: SocketAddr,
    conf: PathBuf,
    backends: Vec<Backend>,
    dir: TempDir,
}

impl DnsdistServer {
    /// Starts dnsdist on `listen` (UDP and TCP) in front of `backends` with `policy`, its console
    /// on `console` (TCP), and returns once every backend is marked up and a query through dnsdist
    /// (`localhost. A`) is answered. Both addresses must be loopback.
    pub fn start(
        listen: SocketAddr,
        console: SocketAddr,
        backends: &[Backend],
        policy: Policy,
    ) -> Result<Self, String> {
        for addr in [listen, console]
            .iter()
            .chain(backends.iter().map(|b| &b.addr))
        {
            if !addr.ip().is_loopback() {
                return Err(format!("refusing to run dnsdist with non-loopback {addr}"));
            }
        }
        if backends.is_empty() {
            return Err("dnsdist needs at least one backend".into());
        }
        let binary = find_binary("dnsdist").ok_or("dnsdist is not installed")?;
        ensure_free(listen)?;
        std::net::TcpListener::bind(console)
            .map_err(|e| format!("console address {console} is not free: {e}"))?;
        let dir = tempfile::Builder::new()
            .prefix("ferret-dnsdist-")
            .tempdir()
            .map_err(|e| format!("creating tempdir: {e}"))?;
        let conf = dir.path().join("dnsdist.conf");
        let text = dnsdist_conf(listen, console, &console_key()?, backends, policy);
        fs::write(&conf, text).map_err(|e| format!("writing {conf:?}: {e}"))?;
        let conf_arg = path_str(&conf)?;

        let check = Command::new(&binary)
            .args(["--check-config", "-C", conf_arg])
            .output()
            .map_err(|e| format!("running dnsdist --check-config: {e}"))?;
        if !check.status.success() {
            return Err(format!(
                "dnsdist --check-config rejected {conf:?}:\n{}{}",
                String::from_utf8_lossy(&check.stdout),
                String::from_utf8_lossy(&check.stderr)
            ));
        }

        let process = PeerProcess::spawn(
            &binary,
            &["-C", conf_arg, "--supervised", "--disable-syslog"],
            &dir.path().join("dnsdist.log"),
        )?;
        // The console answers once the configuration is loaded and the listeners are bound.
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        let mut server = DnsdistServer {
            process,
            binary,
            addr: listen,
            conf,
            backends: backends.to_vec(),
            dir,
        };
        loop {
            match server.console("tostring(#getServers())") {
                Ok(n) if n.trim() == backends.len().to_string() => break,
                Ok(other) => {
                    return Err(format!(
                        "dnsdist reports {other:?} backends, not {}; log:\n{}",
                        backends.len(),
                        server.log()
                    ));
                }
                Err(e) if Instant::now() >= deadline => {
                    return Err(format!("dnsdist console does not answer: {e}"));
                }
                Err(_) => thread::sleep(Duration::from_millis(50)),
            }
        }
        for index in 0..backends.len() {
            server.wait_backend(index, true, HEALTH_TIMEOUT)?;
        }
        wait_until_answering(
            &mut server.process,
            listen,
            "localhost.",
            RecordType::A,
            true,
            STARTUP_TIMEOUT,
        )?;
        Ok(server)
    }

    /// Where clients send queries.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    pub fn backends(&self) -> &[Backend] {
        &self.backends
    }

    /// dnsdist's output so far (it logs to stdout here), for assertion messages.
    pub fn log(&self) -> String {
        self.process.log()
    }

    /// The private directory holding dnsdist.conf and the log.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Runs one Lua statement in dnsdist's console and returns what it printed, trimmed.
    pub fn console(&self, lua: &str) -> Result<String, String> {
        let mut child = Command::new(&self.binary)
            .args(["-C", path_str(&self.conf)?, "-c", "-e", lua])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("running the dnsdist console client: {e}"))?;
        let deadline = Instant::now() + CONSOLE_TIMEOUT;
        let status = loop {
            if let Some(status) = child.try_wait().map_err(|e| format!("waiting: {e}"))? {
                break status;
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("dnsdist -e {lua:?} took over {CONSOLE_TIMEOUT:?}"));
            }
            thread::sleep(Duration::from_millis(10));
        };
        let mut out = String::new();
        let mut err = String::new();
        if let Some(mut stdout) = child.stdout.take() {
            let _ = stdout.read_to_string(&mut out);
        }
        if let Some(mut stderr) = child.stderr.take() {
            let _ = stderr.read_to_string(&mut err);
        }
        // The client exits 0 even when it cannot connect; it says so on stdout or stderr.
        if !status.success() || out.contains("Connection refused") || err.contains("refused") {
            return Err(format!("dnsdist -e {lua:?}: {status}: {out}{err}"));
        }
        Ok(out.trim().to_string())
    }

    /// Whether dnsdist considers backend `index` (in the order given to [`Self::start`]) up.
    pub fn backend_up(&self, index: usize) -> Result<bool, String> {
        let answer = self.console(&format!("tostring(getServer({index}):isUp())"))?;
        match answer.as_str() {
            "true" => Ok(true),
            "false" => Ok(false),
            other => Err(format!("getServer({index}):isUp() said {other:?}")),
        }
    }

    /// Waits until backend `index` is marked up (`up`) or down, at most `limit`.
    pub fn wait_backend(&self, index: usize, up: bool, limit: Duration) -> Result<(), String> {
        let deadline = Instant::now() + limit;
        let mut last = String::from("never asked");
        while Instant::now() < deadline {
            match self.backend_up(index) {
                Ok(state) if state == up => return Ok(()),
                Ok(state) => last = format!("up={state}"),
                Err(e) => last = e,
            }
            thread::sleep(Duration::from_millis(100));
        }
        Err(format!(
            "dnsdist did not mark backend {index} ({}) {} within {limit:?} (last: {last}); log:\n{}",
            self.backends
                .get(index)
                .map_or("?".into(), |b| format!("{} {}", b.name, b.addr)),
            if up { "up" } else { "down" },
            self.log()
        ))
    }

    /// The queries dnsdist has sent to each backend so far (health checks not included), from
    /// `showServers()`.
    pub fn backend_queries(&self) -> Result<Vec<u64>, String> {
        let table = self.console("showServers()")?;
        // Columns: # Name Address State Qps Qlim Ord Wt Queries Drops ...; names and addresses
        // have no spaces.
        let mut counts = Vec::new();
        for (index, _) in self.backends.iter().enumerate() {
            let row = table
                .lines()
                .map(|line| line.split_whitespace().collect::<Vec<_>>())
                .find(|fields| fields.first() == Some(&index.to_string().as_str()))
                .ok_or_else(|| format!("no row {index} in showServers():\n{table}"))?;
            let queries = row
                .get(8)
                .and_then(|q| q.parse().ok())
                .ok_or_else(|| format!("no query count in row {row:?} of:\n{table}"))?;
            counts.push(queries);
        }
        Ok(counts)
    }
}

/// A fresh console key: 32 random bytes in base64, as dnsdist's `makeKey()` makes them, read from
/// the kernel and encoded by coreutils' `base64`.
fn console_key() -> Result<String, String> {
    let mut bytes = [0u8; 32];
    fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| format!("reading /dev/urandom: {e}"))?;
    let mut child = Command::new("base64")
        .arg("-w0")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("running base64: {e}"))?;
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().ok_or("base64 has no stdin")?;
        stdin
            .write_all(&bytes)
            .map_err(|e| format!("writing to base64: {e}"))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("waiting for base64: {e}"))?;
    let key = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() || key.len() != 44 {
        return Err(format!("base64 printed {key:?}"));
    }
    Ok(key)
}

fn dnsdist_conf(
    listen: SocketAddr,
    console: SocketAddr,
    key: &str,
    backends: &[Backend],
    policy: Policy,
) -> String {
    let mut servers = String::new();
    for backend in backends {
        // Health check every second on a name ferret answers itself; one failure marks a backend
        // down and one success up again, so a test sees a killed node leave and come back within a
        // couple of seconds. checkTimeout is in milliseconds.
        servers.push_str(&format!(
            "newServer{{address=\"{addr}\", name=\"{name}\", checkName=\"localhost.\", \
             checkType=\"A\", checkInterval=1, checkTimeout=500, maxCheckFailures=1, rise=1}}\n",
            addr = backend.addr,
            name = backend.name,
        ));
    }
    format!(
        r#"-- Written by tests/common/dnsdist.rs for one test; removed with its directory.
-- Never poll security status: it is a DNS lookup of a public name (secpoll.powerdns.com).
setSecurityPollSuffix("")
setLocal("{listen}", {{reusePort=false}})
setACL({{"127.0.0.0/8"}})
-- The console on loopback only, for the test to read backend state; no webserver, no carbon.
controlSocket("{console}")
setKey("{key}")
setConsoleACL({{"127.0.0.0/8"}})
{servers}setServerPolicy({policy})
"#,
        policy = policy.lua(),
    )
}

fn path_str(path: &Path) -> Result<&str, String> {
    path.to_str()
        .ok_or_else(|| format!("path is not UTF-8: {path:?}"))
}
