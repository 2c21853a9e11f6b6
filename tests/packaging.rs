//! Packaging checks: the systemd units are accepted by `systemd-analyze verify` and start ferret
//! the way the rest of this crate expects; the Dockerfile keeps its essentials (multi-stage,
//! non-root, the DNS and metrics ports, a health check, the build CI builds), and passes
//! hadolint where hadolint is installed.
//!
//! A missing `systemd-analyze` skips with a message, except under CI=true, where it fails
//! (`.ci/run` installs Debian's `systemd` package).

use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use clap::Parser;
use ferret::Config;

fn repo_file(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo_file(path)).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

/// Runs `program args`, or `None` when it is not installed (a failure under CI=true).
fn run_tool(program: &str, args: &[&str]) -> Option<Output> {
    match Command::new(program).args(args).output() {
        Ok(output) => Some(output),
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{program} is required under CI=true"
            );
            eprintln!("{program} is not installed; skipping this check");
            None
        }
        Err(error) => panic!("running {program}: {error}"),
    }
}

/// The logical lines of a unit or Dockerfile: continuation backslashes joined, comments and
/// blank lines dropped.
fn logical_lines(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if current.is_empty() && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        match trimmed.strip_suffix('\\') {
            Some(head) => {
                current.push_str(head.trim_end());
                current.push(' ');
            }
            None => {
                current.push_str(trimmed);
                lines.push(std::mem::take(&mut current));
            }
        }
    }
    lines
}

/// The values of `key=` in a unit file, in order.
fn unit_values(unit: &str, key: &str) -> Vec<String> {
    let prefix = format!("{key}=");
    logical_lines(unit)
        .iter()
        .filter_map(|line| line.strip_prefix(&prefix).map(str::to_string))
        .collect()
}

const UNIT_PATH: &str = "/usr/local/bin/ferret";

#[test]
fn service_unit_is_hardened_and_starts_ferret_with_valid_flags() {
    let unit = read("dist/systemd/ferret.service");
    for (key, value) in [
        ("Type", "notify"),
        ("NotifyAccess", "main"),
        ("DynamicUser", "yes"),
        ("AmbientCapabilities", "CAP_NET_BIND_SERVICE"),
        ("CapabilityBoundingSet", "CAP_NET_BIND_SERVICE"),
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("PrivateDevices", "yes"),
        ("ProtectKernelTunables", "yes"),
        ("ProtectKernelModules", "yes"),
        ("ProtectKernelLogs", "yes"),
        ("ProtectControlGroups", "yes"),
        (
            "RestrictAddressFamilies",
            "AF_INET AF_INET6 AF_UNIX AF_NETLINK",
        ),
        ("RestrictNamespaces", "yes"),
        ("RestrictRealtime", "yes"),
        ("LockPersonality", "yes"),
        ("MemoryDenyWriteExecute", "yes"),
        ("SystemCallArchitectures", "native"),
        ("SystemCallFilter", "@system-service"),
        ("ConfigurationDirectory", "ferret"),
        ("RuntimeDirectory", "ferret"),
    ] {
        assert!(
            unit_values(&unit, key).iter().any(|v| v == value),
            "ferret.service lacks {key}={value}"
        );
    }
    assert!(!unit_values(&unit, "WatchdogSec").is_empty());

    let exec_start = unit_values(&unit, "ExecStart");
    let [command] = exec_start.as_slice() else {
        panic!("one ExecStart expected: {exec_start:?}");
    };
    let words: Vec<&str> = command.split_whitespace().collect();
    assert_eq!(words[0], UNIT_PATH);
    // The flags the unit passes are flags this ferret takes.
    let config = Config::try_parse_from(&words).unwrap_or_else(|e| panic!("{command}: {e}"));
    // The control socket goes in the RuntimeDirectory systemd creates.
    assert_eq!(
        config.control_socket.as_deref(),
        Some(Path::new("/run/ferret/control.sock"))
    );
    assert!(config.listen.iter().all(|a| a.ip().is_loopback()));
}

#[test]
fn socket_unit_listens_on_loopback_port_53_over_udp_and_tcp() {
    let unit = read("dist/systemd/ferret.socket");
    for key in ["ListenDatagram", "ListenStream"] {
        assert_eq!(
            unit_values(&unit, key),
            ["127.0.0.1:53", "[::1]:53"],
            "{key} in ferret.socket"
        );
    }
    assert_eq!(unit_values(&unit, "Service"), ["ferret.service"]);
}

#[test]
fn systemd_analyze_accepts_the_units() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    // `verify` insists that ExecStart's program exists, so the copy points at the binary cargo
    // just built instead of the installed path; every other line is verified as shipped.
    let service = read("dist/systemd/ferret.service").replace(
        &format!("ExecStart={UNIT_PATH} "),
        &format!("ExecStart={} ", env!("CARGO_BIN_EXE_ferret")),
    );
    assert!(service.contains(env!("CARGO_BIN_EXE_ferret")));
    let service_path = dir.path().join("ferret.service");
    let socket_path = dir.path().join("ferret.socket");
    std::fs::write(&service_path, service).expect("writing the service copy");
    std::fs::write(&socket_path, read("dist/systemd/ferret.socket")).expect("writing the socket");
    let service_arg = service_path.display().to_string();
    let socket_arg = socket_path.display().to_string();
    let Some(output) = run_tool(
        "systemd-analyze",
        &["verify", "--man=no", &service_arg, &socket_arg],
    ) else {
        return;
    };
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "systemd-analyze verify:\n{report}");
    // Unknown keys and unparsable values are only warnings (exit status 0): fail on any line
    // about our units.
    let complaints: Vec<&str> = report.lines().filter(|l| l.contains("ferret")).collect();
    assert!(complaints.is_empty(), "systemd-analyze verify:\n{report}");
}

/// The Dockerfile's instructions by stage: (base image line, instructions).
fn docker_stages(dockerfile: &str) -> Vec<(String, Vec<String>)> {
    let mut stages: Vec<(String, Vec<String>)> = Vec::new();
    for line in logical_lines(dockerfile) {
        if line.to_ascii_uppercase().starts_with("FROM ") {
            stages.push((line, Vec::new()));
        } else if let Some((_, instructions)) = stages.last_mut() {
            instructions.push(line);
        }
    }
    stages
}

fn instruction<'a>(instructions: &'a [String], keyword: &str) -> Vec<&'a str> {
    let prefix = format!("{keyword} ");
    instructions
        .iter()
        .filter_map(|line| line.strip_prefix(&prefix))
        .collect()
}

#[test]
fn dockerfile_is_multi_stage_unprivileged_and_healthchecked() {
    let dockerfile = read("docker/Dockerfile");
    let stages = docker_stages(&dockerfile);
    assert!(stages.len() >= 2, "a build stage and a runtime stage");
    let (build_from, _) = &stages[0];
    let (runtime_from, runtime) = stages.last().expect("a runtime stage");
    assert!(build_from.contains(" AS build"), "{build_from}");
    assert!(
        !runtime_from.contains("rust:"),
        "no toolchain at runtime: {runtime_from}"
    );
    assert!(
        instruction(runtime, "COPY")
            .iter()
            .any(|c| c.starts_with("--from=build ")),
        "the runtime stage copies the binary from the build stage"
    );

    let users = instruction(runtime, "USER");
    let user = users.last().expect("a USER in the runtime stage");
    assert!(
        !["root", "0", "0:0"].contains(user),
        "runs as root: USER {user}"
    );

    let exposed: Vec<&str> = instruction(runtime, "EXPOSE")
        .iter()
        .flat_map(|e| e.split_whitespace())
        .collect();
    for port in ["53/udp", "53/tcp", "9153/tcp"] {
        assert!(exposed.contains(&port), "EXPOSE lacks {port}: {exposed:?}");
    }
    let health = instruction(runtime, "HEALTHCHECK");
    assert!(
        health.iter().any(|h| h.contains("CMD ")),
        "a HEALTHCHECK with a command: {health:?}"
    );

    // The default command's flags are flags this ferret takes.
    let cmd = instruction(runtime, "CMD");
    let args: Vec<String> = cmd
        .last()
        .expect("a CMD")
        .trim_matches(|c| c == '[' || c == ']')
        .split(',')
        .map(|word| word.trim().trim_matches('"').to_string())
        .collect();
    let config = Config::try_parse_from(std::iter::once("ferret".to_string()).chain(args))
        .unwrap_or_else(|e| panic!("CMD {cmd:?}: {e}"));
    assert!(
        config.metrics_listen.is_some(),
        "CMD serves the exposed metrics port"
    );
}

/// The image is built from the same lock file and features CI tests, and from the binary target
/// the manifest declares.
#[test]
fn dockerfile_builds_what_ci_builds() {
    let dockerfile = read("docker/Dockerfile");
    let stages = docker_stages(&dockerfile);
    let (build_from, build) = &stages[0];
    let runs = instruction(build, "RUN").join(" ");
    let cargo: Vec<&str> = runs
        .split("&&")
        .map(str::trim)
        .filter(|command| command.contains("cargo build"))
        .collect();
    let [cargo] = cargo.as_slice() else {
        panic!("one cargo build in the build stage: {runs}");
    };
    let words: Vec<&str> = cargo.split_whitespace().collect();
    for flag in ["--release", "--locked"] {
        assert!(words.contains(&flag), "{cargo} lacks {flag}");
    }
    // CI (`cargo test --all-targets` in .ci/run) builds default features for the host: an image
    // built with other features or for another target would ship code CI never tested.
    for flag in [
        "--features",
        "--no-default-features",
        "--all-features",
        "--target",
    ] {
        assert!(
            !words.iter().any(|w| w.starts_with(flag)),
            "{cargo} uses {flag}"
        );
    }
    let bin = words
        .iter()
        .position(|w| *w == "--bin")
        .and_then(|i| words.get(i + 1))
        .expect("cargo build --bin NAME");
    let manifest = read("Cargo.toml");
    assert!(
        manifest.contains(&format!("[[bin]]\nname = \"{bin}\"")),
        "Cargo.toml declares no binary {bin}"
    );
    assert!(runs.contains(&format!("target/release/{bin}")));
    assert!(read(".ci/run").contains("cargo test --all-targets"));
    assert!(
        !read(".dockerignore")
            .lines()
            .any(|l| l.trim() == "Cargo.lock"),
        "--locked needs Cargo.lock in the build context"
    );

    // A pinned toolchain must be at least the crate's rust-version.
    let image = build_from.split_whitespace().nth(1).expect("FROM IMAGE");
    if let Some(version) = image
        .strip_prefix("rust:")
        .filter(|tag| tag.starts_with(|c: char| c.is_ascii_digit()))
    {
        let wanted = manifest
            .lines()
            .find_map(|l| l.strip_prefix("rust-version = "))
            .expect("rust-version in Cargo.toml")
            .trim_matches('"');
        let parse = |v: &str| -> Vec<u32> {
            v.split(['.', '-'])
                .map_while(|part| part.parse().ok())
                .collect()
        };
        assert!(
            parse(version) >= parse(wanted),
            "{image} is older than {wanted}"
        );
    }
}

/// hadolint is not packaged for Debian, so it is not installed by .ci/run; where someone has it
/// on PATH the Dockerfile must pass it.
#[test]
fn dockerfile_passes_hadolint_where_installed() {
    let path = repo_file("docker/Dockerfile").display().to_string();
    match Command::new("hadolint").arg(&path).output() {
        Ok(output) => assert!(
            output.status.success(),
            "hadolint:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            eprintln!("hadolint is not installed (Debian does not package it); skipping the lint");
        }
        Err(error) => panic!("running hadolint: {error}"),
    }
}

/// .ci/run installs the tools these checks need.
#[test]
fn ci_installs_systemd_analyze() {
    let ci = read(".ci/run");
    let install = ci
        .lines()
        .find(|l| l.contains("apt-get install"))
        .expect("an apt-get install line in .ci/run");
    assert!(
        install
            .split_whitespace()
            .any(|w| w.trim_end_matches(';') == "systemd"),
        "{install}"
    );
}
