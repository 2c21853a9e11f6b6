//! Starting ferret in-process for a test, pointed at a fake hierarchy on loopback.

use std::net::SocketAddr;
use std::path::Path;

use ferret::Config;
use ferret::config::Limits;
use ferret::server::RunningServer;

use super::hierarchy::net;

/// Settings for tests: the given root hints, loopback upstreams allowed (the fake hierarchy lives
/// there), IPv4 only (the hierarchy has no IPv6 servers), short timeouts so failures are quick,
/// `test.` resolved rather than answered locally, DNSSEC validation off (the hierarchies are unsigned), listening on `127.{block}.200.1` on a port the kernel picks.
// Config is large and flattened: changing a few fields of the defaults reads better than a
// struct literal.
#[allow(clippy::field_reassign_with_default)]
pub fn test_config(block: u8, root_hints: &Path) -> Config {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
        .with_test_writer()
        .try_init();
    let defaults = Config::default();
    Config {
        listen: vec![
            format!("{}:0", net(block, 200, 1))
                .parse()
                .expect("listen address"),
        ],
        root_hints: Some(root_hints.to_path_buf()),
        allow_loopback_upstream: true,
        ipv6_upstream: false,
        // The fake hierarchy lives under test., answered NXDOMAIN by default (RFC 6761 §6.2).
        local_zone_nodefault: vec!["test.".parse().expect("zone name")],
        // The fake hierarchies here are unsigned: under the built-in root anchors every answer
        // would be bogus. The DNSSEC tests turn validation on with their own anchors.
        dnssec: false,
        log_level: "warn".into(),
        limits: Limits {
            upstream_timeout_ms: 300,
            resolution_timeout_ms: 3_000,
            ..defaults.limits.clone()
        },
        ..defaults
    }
}

/// Starts ferret with `config` on the current runtime; it stops when the handle is dropped.
pub async fn start(config: &Config) -> RunningServer {
    RunningServer::start(config).await.expect("ferret starts")
}

/// Where to send UDP and TCP queries to a started ferret.
pub fn addr(server: &RunningServer) -> SocketAddr {
    server.udp_addrs()[0]
}
