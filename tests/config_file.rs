//! The config file: parsing, errors that name key and line, command-line flags over the file, and
//! the real binary (`check-config`, refusing to start on a bad file, reload by SIGHUP and by
//! `ferret ctl reload`).
//!
//! Address blocks 178–179 (127.178.x.y – 127.179.x.y) belong to this file.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use common::client::{QueryOpts, answer_strings, try_query_udp};
use common::hierarchy::net;
use ferret::Config;
use ferret::config::{CommandLine, ConfigError, LocalZoneType};
use hickory_proto::rr::{Name, RecordType};
use tempfile::TempDir;

const FERRET: &str = env!("CARGO_BIN_EXE_ferret");

fn write(dir: &TempDir, file: &str, text: &str) -> PathBuf {
    let path = dir.path().join(file);
    std::fs::write(&path, text).expect("writing a test config file");
    path
}

fn parse_error(text: &str) -> ConfigError {
    match Config::from_toml(text, Path::new("test.toml")) {
        Ok(config) => panic!("parsed, but should not have: {config:?}"),
        Err(error) => error,
    }
}

#[test]
fn every_kind_of_setting_is_read_from_the_file() {
    let text = r#"
listen = ["127.0.0.1:5353", "[::1]:5353"]
root-hints = "/etc/ferret/root.hints"
cache-size = 5000
allow-loopback-upstream = true
qname-minimisation = false
ipv6-upstream = false
local-zone-nodefault = ["test", "home.arpa."]
local-data = ["printer.lan. 600 IN A 192.0.2.7"]
local-zones = [{ name = "ads.example", type = "always-nxdomain" }]
forward-zones = [{ name = "corp.example.", servers = ["192.0.2.53", "192.0.2.54@5300", "[2001:db8::53]:5353"] }]
log-level = "debug"
min-ttl = 5
max-ttl = 3600
max-negative-ttl = 60

[[stub-zones]]
name = "internal."
servers = ["192.0.2.10"]

[limits]
upstream-timeout-ms = 300
max-referrals = 12
"#;
    let config = Config::from_toml(text, Path::new("full.toml")).expect("parses");
    assert_eq!(config.listen.len(), 2);
    assert_eq!(
        config.listen[1],
        "[::1]:5353".parse::<SocketAddr>().unwrap()
    );
    assert_eq!(
        config.root_hints.as_deref(),
        Some(Path::new("/etc/ferret/root.hints"))
    );
    assert_eq!(config.cache_size, 5000);
    assert!(config.allow_loopback_upstream);
    assert!(!config.qname_minimisation);
    assert!(!config.ipv6_upstream);
    assert_eq!(
        config.local_zone_nodefault,
        vec![
            Name::from_ascii("test.").unwrap(),
            Name::from_ascii("home.arpa.").unwrap()
        ]
    );
    assert_eq!(config.local_data.len(), 1);
    assert_eq!(config.local_data[0].ttl, 600);
    assert_eq!(config.local_zones[0].kind, LocalZoneType::AlwaysNxdomain);
    assert_eq!(config.local_zones[0].name.to_string(), "ads.example.");
    let forward = &config.forward_zones[0];
    assert!(forward.recursion_desired, "RD=1 is the default");
    let servers: Vec<String> = forward.servers.iter().map(|s| s.to_string()).collect();
    assert_eq!(
        servers,
        ["192.0.2.53:53", "192.0.2.54:5300", "[2001:db8::53]:5353"]
    );
    assert_eq!(config.stub_zones[0].servers[0].port(), 53);
    assert_eq!(config.log_level, "debug");
    assert_eq!(
        (config.min_ttl, config.max_ttl, config.max_negative_ttl),
        (5, 3600, 60)
    );
    assert_eq!(config.limits.upstream_timeout_ms, 300);
    assert_eq!(config.limits.max_referrals, 12);
    // What the file leaves out keeps its default.
    assert_eq!(
        config.limits.max_cname_chain,
        Config::default().limits.max_cname_chain
    );
}

#[test]
fn an_empty_file_means_the_defaults() {
    let config = Config::from_toml("# nothing\n", Path::new("empty.toml")).expect("parses");
    assert_eq!(format!("{config:?}"), format!("{:?}", Config::default()));
}

#[test]
fn errors_name_the_key_and_the_line() {
    let cases: &[(&str, usize, &str, &str)] = &[
        (
            "cache-size = 5\n\ncache-sise = 6\n",
            3,
            "cache-sise",
            "unknown field",
        ),
        ("max-ttl = \"long\"\n", 1, "max-ttl", "invalid type"),
        (
            "[limits]\nmax-referrals = -1\n",
            2,
            "limits.max-referrals",
            "invalid value",
        ),
        (
            "[limits]\n\nmax-referals = 3\n",
            3,
            "limits.max-referals",
            "unknown field",
        ),
        (
            "listen = [\"127.0.0.1:53\",\n  \"localhost\"]\n",
            2,
            "listen[1]",
            "socket address",
        ),
        (
            "local-data = [\n  \"a.lan. A 192.0.2.1\",\n  \"b.lan. A 192.0.2.300\",\n]\n",
            3,
            "local-data[1]",
            "b.lan.",
        ),
        (
            "\n[[forward-zones]]\nname = \"corp.\"\nservers = [\"192.0.2.1\", \"x\"]\n",
            4,
            "forward-zones[0].servers[1]",
            "bad server address",
        ),
        (
            "stub-zones = [{ name = \"x.\", servers = [] }]\n",
            1,
            "stub-zones[0].servers",
            "at least one",
        ),
        (
            "forward-zones = [{ name = \"x.\", servers = [\"192.0.2.1\"], rd = true }]\n",
            1,
            "forward-zones[0].rd",
            "unknown field",
        ),
        (
            "local-zones = [{ name = \"x.\", type = \"deny\" }]\n",
            1,
            "local-zones[0].type",
            "unknown variant",
        ),
        (
            "min-ttl = 100\nmax-ttl = 10\n",
            1,
            "min-ttl",
            "larger than max-ttl",
        ),
        ("listen = []\n", 1, "listen", "at least one"),
        // The file takes what the flag takes: --max-inflight-resolutions refuses 0.
        (
            "[limits]\nmax-inflight-resolutions = 0\n",
            2,
            "limits.max-inflight-resolutions",
            "0 is not in 1..",
        ),
        (
            "allow = [\"10.0.0.0/8\", \"nonsense\"]\n",
            1,
            "allow[1]",
            "neither an address",
        ),
    ];
    for (text, line, key, words) in cases {
        let error = parse_error(text);
        let shown = error.to_string();
        assert_eq!(error.line(), Some(*line), "{text:?}: {shown}");
        assert_eq!(
            error.key().map(ToString::to_string).as_deref(),
            Some(*key),
            "{text:?}: {shown}"
        );
        assert!(shown.contains(words), "{text:?}: {shown}");
        assert!(
            shown.starts_with(&format!("test.toml:{line}:")),
            "{text:?}: {shown}"
        );
    }
}

#[test]
fn syntax_errors_have_a_line_too() {
    let error = parse_error("cache-size = 5\nlisten = [\"127.0.0.1:53\"\nmax-ttl = 5\n");
    assert!(matches!(error.line(), Some(2..=3)), "{error}");
}

fn command_line(args: &[&str]) -> CommandLine {
    let mut argv = vec!["ferret"];
    argv.extend_from_slice(args);
    CommandLine::try_parse_from(argv).expect("command line parses")
}

#[test]
fn flags_given_override_the_file_and_defaults_do_not() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(
        &dir,
        "ferret.toml",
        r#"
listen = ["127.0.0.1:5353"]
cache-size = 7
max-ttl = 600
qname-minimisation = false
allow-loopback-upstream = true
[limits]
max-referrals = 9
upstream-timeout-ms = 100
"#,
    );
    let path = path.to_str().expect("utf-8 path");

    // No flags: everything from the file, although every setting also has a clap default.
    let config = command_line(&["--config", path]).config().expect("config");
    assert_eq!(config.cache_size, 7);
    assert_eq!(config.listen, vec!["127.0.0.1:5353".parse().unwrap()]);
    assert!(!config.qname_minimisation);
    assert!(config.allow_loopback_upstream);
    assert_eq!(config.limits.max_referrals, 9);

    // Flags win, one by one; a flag given with its default value still wins.
    let config = command_line(&[
        "--config",
        path,
        "--cache-size",
        "100000",
        "--listen",
        "127.0.0.2:53",
        "--listen",
        "127.0.0.3:53",
        "--max-referrals",
        "3",
        "--local-data",
        "x.lan. A 192.0.2.1",
    ])
    .config()
    .expect("config");
    assert_eq!(config.cache_size, 100_000);
    assert_eq!(config.listen.len(), 2, "list flags replace the file's list");
    assert_eq!(config.limits.max_referrals, 3);
    assert_eq!(config.local_data.len(), 1);
    // ...and what no flag named stays as the file says.
    assert_eq!(config.max_ttl, 600);
    assert_eq!(config.limits.upstream_timeout_ms, 100);
    assert!(!config.qname_minimisation);

    // Switches: `--no-X` turns X off over a file that turns it on; absent, the file's value holds.
    let on = write(&dir, "on.toml", "qname-minimisation = true\n");
    let on = on.to_str().expect("utf-8 path");
    let config = command_line(&["--config", on, "--no-qname-minimisation"])
        .config()
        .expect("config");
    assert!(!config.qname_minimisation);

    // Flags are checked together with the file.
    let error = command_line(&["--config", path, "--min-ttl", "601"])
        .config()
        .expect_err("min-ttl over max-ttl");
    assert!(error.to_string().contains("min-ttl"), "{error}");
}

#[test]
fn a_named_config_file_must_exist() {
    let error = command_line(&["--config", "/nonexistent/ferret.toml"])
        .config()
        .expect_err("missing file");
    assert!(matches!(error, ConfigError::Read { .. }), "{error}");
}

/// Runs the binary and waits for it, at most `limit` (then kills it: a binary that should have
/// exited but serves instead must not hang the test).
fn run_bounded(args: &[&str], limit: Duration) -> (ExitStatus, String, String) {
    let mut child = Command::new(FERRET)
        .args(args)
        .env_remove("RUST_LOG")
        .env_remove("RUST_BACKTRACE")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting ferret");
    let started = Instant::now();
    while child.try_wait().expect("waiting for ferret").is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("ferret {args:?} did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let Output {
        status,
        stdout,
        stderr,
    } = child.wait_with_output().expect("ferret's output");
    (
        status,
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

#[test]
fn check_config_says_ok_or_names_the_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = write(
        &dir,
        "good.toml",
        "cache-size = 10\n[limits]\nmax-referrals = 3\n",
    );
    let good = good.to_str().expect("utf-8 path");
    let (status, stdout, _) = run_bounded(&["check-config", good], Duration::from_secs(30));
    assert!(status.success());
    assert!(stdout.trim_end().ends_with("ok"), "{stdout}");

    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/dist/ferret.toml");
    let (status, _, stderr) = run_bounded(&["check-config", example], Duration::from_secs(30));
    assert!(status.success(), "dist/ferret.toml: {stderr}");

    let bad = write(
        &dir,
        "bad.toml",
        "cache-size = 10\n\n[limits]\nmax-referals = 3\n",
    );
    let bad = bad.to_str().expect("utf-8 path");
    let (status, stdout, stderr) = run_bounded(&["check-config", bad], Duration::from_secs(30));
    assert!(!status.success());
    assert!(!stdout.contains("ok"), "{stdout}");
    assert!(stderr.contains("bad.toml:4:"), "{stderr}");
    assert!(stderr.contains("limits.max-referals"), "{stderr}");

    // A shared-cache URL that no connection could use is found by check-config, not at the
    // next restart; a good one passes without anything listening there.
    let bad_url = write(
        &dir,
        "bad_url.toml",
        "shared-cache = \"redis:/127.0.0.1:6379\"\n",
    );
    let bad_url = bad_url.to_str().expect("utf-8 path");
    let (status, _, stderr) = run_bounded(&["check-config", bad_url], Duration::from_secs(30));
    assert!(!status.success());
    assert!(stderr.contains("redis:/127.0.0.1:6379"), "{stderr}");
    let cluster = write(
        &dir,
        "cluster.toml",
        "shared-cache = \"redis+cluster://127.0.0.1:7000,127.0.0.2:7000\"\n",
    );
    let cluster = cluster.to_str().expect("utf-8 path");
    let (status, _, stderr) = run_bounded(&["check-config", cluster], Duration::from_secs(30));
    assert!(status.success(), "{stderr}");
}

#[test]
fn ferret_refuses_to_start_with_a_bad_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = write(
        &dir,
        "bad.toml",
        &format!(
            "listen = [\"{}:53\"]\nlocal-data = [\"x.lan. A nonsense\"]\n",
            net(179, 200, 1)
        ),
    );
    let bad = bad.to_str().expect("utf-8 path");
    let (status, _, stderr) = run_bounded(&["--config", bad], Duration::from_secs(30));
    assert!(!status.success());
    assert!(stderr.contains("bad.toml:2:"), "{stderr}");
    assert!(stderr.contains("local-data[0]"), "{stderr}");
}

/// A ferret process, killed when the test ends however it ends.
struct FerretProcess {
    child: Child,
    log: PathBuf,
}

impl FerretProcess {
    fn start(config: &Path, log: PathBuf) -> Self {
        // Logs go to stdout, errors before logging starts to stderr: keep both.
        let log_file = std::fs::File::create(&log).expect("log file");
        let stderr = log_file.try_clone().expect("log file");
        let child = Command::new(FERRET)
            .arg("--config")
            .arg(config)
            .env_remove("RUST_LOG")
            .env("NO_COLOR", "1")
            .stdout(log_file)
            .stderr(stderr)
            .spawn()
            .expect("starting ferret");
        FerretProcess { child, log }
    }

    fn signal(&self, name: &str) {
        // The shell's own `kill`: no package needed beyond /bin/sh.
        let status = Command::new("sh")
            .arg("-c")
            .arg(format!("kill -{name} {}", self.child.id()))
            .status()
            .expect("running kill");
        assert!(status.success(), "kill -{name} failed");
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for FerretProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The answer for `name` from `server`, asked until `expected` comes back or `limit` passes.
async fn answer_within(server: SocketAddr, name: &str, expected: &[&str], limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        let response = try_query_udp(
            server,
            name,
            RecordType::A,
            QueryOpts::default(),
            Duration::from_millis(300),
        )
        .await;
        if response.is_some_and(|r| answer_strings(&r) == expected) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

fn daemon_config(dir: &Path, listen: &[SocketAddr], address: &str) -> String {
    let listen: Vec<String> = listen.iter().map(|a| format!("\"{a}\"")).collect();
    format!(
        "listen = [{}]\nroot-hints = \"{}\"\nlocal-data = [\"probe.lan. 60 IN A {address}\"]\n\
         log-level = \"info\"\ncontrol-socket = \"{}\"\n",
        listen.join(", "),
        dir.join("root.hints").display(),
        dir.join("control.sock").display(),
    )
}

/// `ferret ctl --control-socket SOCKET reload`: whether it succeeded, and what it printed.
fn ctl_reload(socket: &Path) -> (bool, String) {
    let (status, stdout, stderr) = run_bounded(
        &[
            "ctl",
            "--control-socket",
            socket.to_str().expect("utf-8 path"),
            "reload",
        ],
        Duration::from_secs(30),
    );
    (status.success(), stdout + &stderr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_the_file_and_a_bad_file_changes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Nothing here needs the DNS, but ferret must never start from the real root: these hints
    // name an address in this test's own block where nothing listens (daemon_config refers to
    // them as root.hints in the same directory).
    write(
        &dir,
        "root.hints",
        &format!(
            ".  3600000 NS a.root.test.\na.root.test. 3600000 A {}\n",
            net(178, 0, 1)
        ),
    );
    let first: SocketAddr = format!("{}:53", net(178, 200, 1)).parse().unwrap();
    let second: SocketAddr = format!("{}:53", net(178, 200, 2)).parse().unwrap();
    let config = write(
        &dir,
        "ferret.toml",
        &daemon_config(dir.path(), &[first], "192.0.2.1"),
    );
    let ferret = FerretProcess::start(&config, dir.path().join("ferret.log"));
    let patience = Duration::from_secs(20);
    assert!(
        answer_within(first, "probe.lan.", &["probe.lan. A 192.0.2.1"], patience).await,
        "ferret did not come up: {}",
        ferret.log()
    );

    // A new record and a second address.
    write(
        &dir,
        "ferret.toml",
        &daemon_config(dir.path(), &[first, second], "192.0.2.2"),
    );
    ferret.signal("HUP");
    for server in [first, second] {
        assert!(
            answer_within(server, "probe.lan.", &["probe.lan. A 192.0.2.2"], patience).await,
            "{server} does not serve the reloaded data: {}",
            ferret.log()
        );
    }

    // A broken file: logged, and the running configuration stays.
    write(
        &dir,
        "ferret.toml",
        "listen = [\"127.0.0.1:53\"]\ncache-size = \"big\"\n",
    );
    ferret.signal("HUP");
    let deadline = Instant::now() + patience;
    while !ferret.log().contains("not reloaded") && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let log = ferret.log();
    assert!(log.contains("not reloaded"), "{log}");
    assert!(
        log.contains("ferret.toml:2:"),
        "the error names no line: {log}"
    );
    for server in [first, second] {
        assert!(
            answer_within(server, "probe.lan.", &["probe.lan. A 192.0.2.2"], patience).await,
            "{server} stopped serving after a bad reload: {log}"
        );
    }

    // `ferret ctl reload` takes the same path, and says how it went.
    let socket = dir.path().join("control.sock");
    let (ok, said) = ctl_reload(&socket);
    assert!(!ok, "a broken file reloaded: {said}");
    assert!(said.contains("ferret.toml:2:"), "{said}");
    write(
        &dir,
        "ferret.toml",
        &daemon_config(dir.path(), &[second], "192.0.2.3"),
    );
    let (ok, said) = ctl_reload(&socket);
    assert!(ok, "{said}");
    assert!(said.contains("1 closed"), "{said}");
    assert!(
        answer_within(second, "probe.lan.", &["probe.lan. A 192.0.2.3"], patience).await,
        "ctl reload did not apply the file: {}",
        ferret.log()
    );
}
