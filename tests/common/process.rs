//! The real `ferret` binary as a child process: started against a fake world, its output in a
//! log file, killed and reaped when the test ends however it ends.

use std::fs::File;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::RawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use hickory_proto::rr::RecordType;

use super::client::{QueryOpts, try_query_udp};
use super::hierarchy::Hierarchy;

/// Generous bound for ferret to start, stop or answer on a loaded two-core machine.
pub const PROCESS_TIMEOUT: Duration = Duration::from_secs(15);

/// Flags that point ferret at `world` (as `test_config` does for in-process servers): its root
/// hints, loopback upstreams allowed, IPv4 only, `test.` resolved rather than answered locally,
/// short timeouts so failures are quick.
pub fn world_args(world: &Hierarchy) -> Vec<String> {
    world_args_with_timeouts(world, 300, 3_000)
}

/// As [`world_args`], with the given upstream and resolution timeouts in milliseconds.
pub fn world_args_with_timeouts(
    world: &Hierarchy,
    upstream_ms: u64,
    resolution_ms: u64,
) -> Vec<String> {
    vec![
        "--root-hints".into(),
        world.root_hints_path().display().to_string(),
        "--allow-loopback-upstream".into(),
        "--no-ipv6-upstream".into(),
        "--local-zone-nodefault".into(),
        "test.".into(),
        // Unsigned fake hierarchies: validation against the built-in root anchors would make
        // every answer bogus.
        "--no-dnssec".into(),
        "--upstream-timeout-ms".into(),
        upstream_ms.to_string(),
        "--resolution-timeout-ms".into(),
        resolution_ms.to_string(),
    ]
}

/// A port free for both UDP and TCP on `ip`, as the kernel hands them out.
pub fn free_port(ip: IpAddr) -> u16 {
    loop {
        let udp = std::net::UdpSocket::bind((ip, 0)).expect("binding a UDP probe");
        let port = udp.local_addr().expect("probe address").port();
        if std::net::TcpListener::bind((ip, port)).is_ok() {
            return port;
        }
    }
}

pub struct FerretProcess {
    child: Child,
    log: PathBuf,
}

impl FerretProcess {
    /// Spawns `command` (the ferret binary, or a wrapper that execs it) with stdout and stderr
    /// going to `log`.
    pub fn spawn(mut command: Command, log: &Path) -> FerretProcess {
        let out = File::create(log).expect("creating the ferret log");
        let err = out.try_clone().expect("cloning the log handle");
        let child = command
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("starting ferret");
        FerretProcess {
            child,
            log: log.to_path_buf(),
        }
    }

    /// `ferret ARGS` with the environment of the test.
    pub fn command(args: &[String]) -> Command {
        let mut command = Command::new(ferret_binary());
        command.args(args);
        command
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends `signal` (SIGTERM, SIGHUP, ...) to ferret.
    pub fn signal(&self, signal: libc::c_int) {
        let pid = libc::pid_t::try_from(self.pid()).expect("pid fits pid_t");
        // SAFETY: kill(2) with a pid this test spawned and has not reaped yet.
        let result = unsafe { libc::kill(pid, signal) };
        assert_eq!(result, 0, "kill({pid}, {signal})");
    }

    /// Panics (with the log) if ferret has exited.
    pub fn assert_running(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("ferret exited with {status}:\n{}", self.log());
        }
    }

    /// Waits for ferret to exit by itself, at most `limit`.
    pub async fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("waiting for ferret") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "ferret still runs {limit:?} after being told to stop:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until ferret answers `localhost. A` on `server` over UDP.
    pub async fn wait_until_serving(&mut self, server: SocketAddr) {
        let deadline = Instant::now() + PROCESS_TIMEOUT;
        while Instant::now() < deadline {
            self.assert_running();
            let probe = try_query_udp(
                server,
                "localhost.",
                RecordType::A,
                QueryOpts::default(),
                Duration::from_millis(200),
            )
            .await;
            if probe.is_some() {
                return;
            }
        }
        panic!("ferret does not answer on {server}:\n{}", self.log());
    }
}

impl Drop for FerretProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `ferret ctl --control-socket SOCKET ARGS...`; returns (success, stdout).
pub async fn ctl(socket: &Path, args: &[&str]) -> (bool, String) {
    let output = tokio::process::Command::new(ferret_binary())
        .arg("ctl")
        .arg("--control-socket")
        .arg(socket)
        .args(args)
        .output()
        .await
        .expect("running ferret ctl");
    (
        output.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

/// The `ferret` binary Cargo built for this test. Examples under `benches/` include this module
/// too, and Cargo does not tell them the path; they never start the binary through it.
fn ferret_binary() -> &'static str {
    match option_env!("CARGO_BIN_EXE_ferret") {
        Some(path) => path,
        None => panic!("the ferret binary is only known to tests"),
    }
}

/// A command that runs the ferret binary with `args` as systemd's socket activation would
/// (sd_listen_fds(3)): `fds` on descriptors 3, 4, ... (`LISTEN_FDS`), named by `names`
/// (`LISTEN_FDNAMES`, colon-separated) when given, and `LISTEN_PID` set to ferret's own pid,
/// known only once it runs: a shell sets it to its own pid (`$$`) and execs ferret, which keeps
/// that pid. The caller drops its copies of the sockets once ferret runs.
pub fn socket_activated_command(args: &[String], fds: &[RawFd], names: Option<&str>) -> Command {
    use std::os::unix::process::CommandExt;
    const MOST: usize = 8;
    assert!(fds.len() <= MOST, "at most {MOST} activated sockets");
    let mut command = Command::new("/bin/sh");
    command
        .arg("-c")
        .arg("LISTEN_PID=$$ exec \"$0\" \"$@\"")
        .arg(ferret_binary())
        .args(args)
        .env("LISTEN_FDS", fds.len().to_string())
        .env_remove("LISTEN_PID");
    if let Some(names) = names {
        command.env("LISTEN_FDNAMES", names);
    }
    let count = fds.len();
    let mut passed = [0; MOST];
    passed[..count].copy_from_slice(fds);
    // SAFETY: between fork and exec only async-signal-safe calls (fcntl, dup2) on descriptors
    // this process owns, and no allocation.
    unsafe {
        command.pre_exec(move || {
            // All go above 10 first, so that putting one on 3.. cannot close another that
            // happens to be there already. dup2 leaves 3.. without close-on-exec.
            let mut high = [0; MOST];
            for i in 0..count {
                high[i] = libc::fcntl(passed[i], libc::F_DUPFD_CLOEXEC, 10);
                if high[i] < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            for (i, fd) in high[..count].iter().enumerate() {
                if libc::dup2(*fd, 3 + i as i32) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    command
}
