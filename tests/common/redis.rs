//! Runs real `redis-server`s (Debian package `redis-server`) on loopback for the shared cache
//! (issue 12): one server, or a three-master Redis Cluster made with `redis-cli --cluster create`.
//!
//! Each server runs in the foreground as the leader of its own process group, in a directory of
//! its own, persistence off, and is stopped when dropped (see [`PeerProcess`]). A test may kill
//! a server and start it again on the same address, to see ferret lose and regain it.
//!
//! Missing binaries: [`redis_available`] skips with a message, or fails under `CI=true`.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::nsd::{PeerProcess, STARTUP_TIMEOUT, find_binary, require_or_skip, run_bounded};

/// How long a cluster may take to agree that all slots are served.
const CLUSTER_TIMEOUT: Duration = Duration::from_secs(20);

/// How long one redis-cli command may take.
const CLI_TIMEOUT: Duration = Duration::from_secs(5);

/// Whether `redis-server` and `redis-cli` are installed; when they are not, prints why the test
/// is skipped and returns false, or panics under `CI=true` (see [`require_or_skip`]).
pub fn redis_available() -> bool {
    require_or_skip("redis-server") && require_or_skip("redis-cli")
}

/// A TCP port on `ip` that is free, and whose cluster bus port (the port + 10000) is free too.
pub fn free_redis_addr(ip: IpAddr) -> SocketAddr {
    for _ in 0..1000 {
        let probe = std::net::TcpListener::bind((ip, 0)).expect("binding a TCP probe");
        let port = probe.local_addr().expect("probe address").port();
        drop(probe);
        if port >= 55_000 {
            continue;
        }
        if std::net::TcpListener::bind((ip, port + 10_000)).is_ok() {
            return SocketAddr::new(ip, port);
        }
    }
    panic!("no free port pair for redis on {ip}");
}

/// One `redis-server` on a loopback address; stopped on drop.
pub struct RedisServer {
    // Field order matters: the process stops before its directory is removed.
    process: Option<PeerProcess>,
    dir: TempDir,
    addr: SocketAddr,
    cluster: bool,
}

impl RedisServer {
    /// Starts a standalone server on `addr` and waits until it answers PING. Panics if it does
    /// not start (callers check [`redis_available`] first).
    pub fn start(addr: SocketAddr) -> RedisServer {
        Self::start_node(addr, false)
    }

    fn start_node(addr: SocketAddr, cluster: bool) -> RedisServer {
        let dir = tempfile::Builder::new()
            .prefix("ferret-redis-")
            .tempdir()
            .expect("creating the redis directory");
        let mut server = RedisServer {
            process: None,
            dir,
            addr,
            cluster,
        };
        server.launch();
        server
    }

    fn launch(&mut self) {
        assert!(
            self.process.is_none(),
            "redis on {} runs already",
            self.addr
        );
        let binary = find_binary("redis-server").expect("redis-server is installed");
        let port = self.addr.port().to_string();
        let bind = self.addr.ip().to_string();
        let dir = self.dir.path().display().to_string();
        let nodes = self.dir.path().join("nodes.conf").display().to_string();
        let mut args: Vec<&str> = vec![
            "--port",
            &port,
            "--bind",
            &bind,
            "--dir",
            &dir,
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
            "--logfile",
            "",
            "--databases",
            "4",
        ];
        if self.cluster {
            // A node's outgoing bus connections leave from 127.0.0.1 whatever it binds, and
            // peers would take that for its address: announce the real one.
            args.extend([
                "--cluster-announce-ip",
                &bind,
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                &nodes,
                "--cluster-node-timeout",
                "2000",
            ]);
        }
        let log = self.log_path();
        let process = PeerProcess::spawn(&binary, &args, &log)
            .unwrap_or_else(|e| panic!("starting redis on {}: {e}", self.addr));
        self.process = Some(process);
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        while Instant::now() < deadline {
            if self
                .try_cli(&["PING"])
                .is_some_and(|out| out.trim() == "PONG")
            {
                return;
            }
            thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "redis on {} does not answer PING:\n{}",
            self.addr,
            self.log()
        );
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("redis.log")
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The `--shared-cache` URL of this server (database 0).
    pub fn url(&self) -> String {
        format!("redis://{}/0", self.addr)
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn is_running(&self) -> bool {
        self.process.is_some()
    }

    /// Stops the server (SIGTERM, then SIGKILL); its data is gone (persistence is off).
    pub fn kill(&mut self) {
        self.process = None;
    }

    /// Starts the server again on the same address, empty.
    pub fn restart(&mut self) {
        self.kill();
        self.launch();
    }

    /// Everything the server logged.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// `redis-cli -h IP -p PORT ARGS...`: its stdout, or `None` if it failed to run or exited
    /// non-zero.
    pub fn try_cli(&self, args: &[&str]) -> Option<String> {
        let cli = find_binary("redis-cli")?;
        let mut command = Command::new(cli);
        command
            .arg("-h")
            .arg(self.addr.ip().to_string())
            .arg("-p")
            .arg(self.addr.port().to_string())
            .args(args);
        run_bounded(&mut command, CLI_TIMEOUT).ok()
    }

    /// As [`RedisServer::try_cli`], panicking if redis-cli fails.
    pub fn cli(&self, args: &[&str]) -> String {
        self.try_cli(args)
            .unwrap_or_else(|| panic!("redis-cli {args:?} against {} failed", self.addr))
    }
}

/// A Redis Cluster of three masters (no replicas) on loopback; every node stopped on drop.
pub struct RedisCluster {
    nodes: Vec<RedisServer>,
}

impl RedisCluster {
    /// Starts one cluster-enabled server per address (three for a real cluster: Redis needs at
    /// least three masters), joins them with `redis-cli --cluster create --cluster-yes`, and
    /// waits until every node reports `cluster_state:ok`. Each address's port + 10000 is its
    /// cluster bus port and must be free too (see [`free_redis_addr`]).
    pub fn start(addrs: &[SocketAddr]) -> RedisCluster {
        assert!(addrs.len() >= 3, "a Redis Cluster needs three masters");
        let nodes: Vec<RedisServer> = addrs
            .iter()
            .map(|&addr| RedisServer::start_node(addr, true))
            .collect();
        let cluster = RedisCluster { nodes };
        let cli = find_binary("redis-cli").expect("redis-cli is installed");
        let members: Vec<String> = addrs.iter().map(ToString::to_string).collect();
        let mut create = Command::new(cli);
        create
            .arg("--cluster")
            .arg("create")
            .args(&members)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdin(std::process::Stdio::null());
        // Bounded: redis-cli waits for the cluster to agree with no limit of its own.
        if let Err(e) = run_bounded(&mut create, CLUSTER_TIMEOUT) {
            panic!("redis-cli --cluster create on {members:?}: {e}");
        }
        let deadline = Instant::now() + CLUSTER_TIMEOUT;
        while Instant::now() < deadline {
            let ready = cluster.nodes.iter().all(|node| {
                node.try_cli(&["CLUSTER", "INFO"])
                    .is_some_and(|info| info.contains("cluster_state:ok"))
            });
            if ready {
                return cluster;
            }
            thread::sleep(Duration::from_millis(50));
        }
        panic!("the redis cluster on {members:?} never reached cluster_state:ok");
    }

    pub fn nodes(&self) -> &[RedisServer] {
        &self.nodes
    }

    /// The `--shared-cache` URL: `redis+cluster://` and every node.
    pub fn url(&self) -> String {
        let members: Vec<String> = self.nodes.iter().map(|n| n.addr.to_string()).collect();
        format!("redis+cluster://{}", members.join(","))
    }

    /// Keys held by all masters together (DBSIZE summed).
    pub fn key_count(&self) -> u64 {
        self.nodes
            .iter()
            .map(|node| node.cli(&["DBSIZE"]).trim().parse::<u64>().unwrap_or(0))
            .sum()
    }
}
