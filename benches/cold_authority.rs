//! The fake DNS hierarchy of benches/cold.sh: ferret's test authoritative servers
//! (tests/common/authority.rs) answering every query after a fixed delay, so that a cold
//! resolution costs round trips the way it does on the internet, and counting every query they
//! receive, so that resolvers can be compared by the upstream queries they send per name.
//!
//! ```text
//! .            127.B.0.1   (a.root-servers.cold.)
//! └── cold.    127.B.1.1   (ns1.cold.)
//!     └── z0.cold. … z{Z-1}.cold.   spread over 127.B.2.1 … 127.B.2.L (ns1.zI.cold., with glue)
//!         └── n0.zI.cold. … A records
//! ```
//!
//! Writes the root hints and the list of names (`nJ.zI.cold. A`, shuffled, dnsperf's format),
//! prints `READY`, then takes commands on stdin, one per line: `count` prints `COUNT <queries>`
//! (UDP and TCP, since start or the last `clear`), `clear` forgets the count and prints `OK`,
//! `dump PATH` writes every query since then to PATH (`SERVER NAME TYPE udp|tcp` per line) and
//! prints `OK`.
//! End of input stops the servers, so the process never outlives the script that drives it.

#[path = "../tests/common/mod.rs"]
mod common;

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use common::authority::Zone;
use common::hierarchy::{Hierarchy, net};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use tokio::io::{AsyncBufReadExt, BufReader};

#[derive(Debug, Parser)]
#[command(about = "Delayed fake authoritative hierarchy for benches/cold.sh")]
struct Args {
    /// Address block: servers live on 127.BLOCK.x.y.
    #[arg(long)]
    block: u8,

    /// Second-level zones under cold. (each one referral away).
    #[arg(long, default_value_t = 50)]
    zones: usize,

    /// Names with an A record in each zone.
    #[arg(long, default_value_t = 100)]
    names_per_zone: usize,

    /// Servers sharing the second-level zones (at most 250).
    #[arg(long, default_value_t = 4)]
    leaf_servers: u8,

    /// Delay added to every answer, in milliseconds.
    #[arg(long, default_value_t = 5)]
    latency_ms: u64,

    /// Where to write the root hints file.
    #[arg(long)]
    hints_out: PathBuf,

    /// Where to write the names to resolve (`NAME A` per line, shuffled).
    #[arg(long)]
    queries_out: PathBuf,
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let args = Args::parse();
    if args.leaf_servers == 0 || args.leaf_servers > 250 || args.zones == 0 {
        return Err("--leaf-servers must be 1..=250 and --zones at least 1".into());
    }
    let block = args.block;
    let mut builder = Hierarchy::builder()
        .server(&net(block, 0, 1), vec![root_zone(block)])
        .server(&net(block, 1, 1), vec![tld_zone(&args)]);
    for server in 0..args.leaf_servers {
        let zones = (0..args.zones)
            .filter(|zone| zone % usize::from(args.leaf_servers) == usize::from(server))
            .map(|zone| leaf_zone(&args, zone))
            .collect();
        builder = builder.server(&net(block, 2, server + 1), zones);
    }
    let hierarchy = builder.start().await;
    for server in hierarchy.servers() {
        server.set_latency(Duration::from_millis(args.latency_ms));
    }
    std::fs::copy(hierarchy.root_hints_path(), &args.hints_out)
        .map_err(|e| format!("writing {:?}: {e}", args.hints_out))?;
    std::fs::write(&args.queries_out, query_list(&args))
        .map_err(|e| format!("writing {:?}: {e}", args.queries_out))?;
    println!("READY");

    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        match line.trim() {
            "count" => println!("COUNT {}", hierarchy.total_queries()),
            "clear" => {
                hierarchy.clear_queries();
                println!("OK");
            }
            "" => {}
            other => match other.strip_prefix("dump ") {
                Some(path) => match std::fs::write(path, query_log(&hierarchy)) {
                    Ok(()) => println!("OK"),
                    Err(e) => println!("ERROR writing {path:?}: {e}"),
                },
                None => println!("ERROR unknown command {other:?}"),
            },
        }
    }
    hierarchy.stop().await;
    Ok(())
}

/// The query log of every server, one query per line.
fn query_log(hierarchy: &Hierarchy) -> String {
    let mut text = String::new();
    for server in hierarchy.servers() {
        for query in server.queries() {
            let transport = if query.tcp { "tcp" } else { "udp" };
            let _ = writeln!(
                text,
                "{} {} {} {transport}",
                server.ip(),
                query.name,
                query.rtype
            );
        }
    }
    text
}

const SOA_TIMERS: &str = "1 3600 900 604800 3600";

fn root_zone(block: u8) -> Zone {
    let text = format!(
        "$TTL 86400\n\
         @ SOA a.root-servers.cold. hostmaster.cold. {SOA_TIMERS}\n\
         @ NS a.root-servers.cold.\n\
         a.root-servers.cold. A {root}\n\
         cold. 172800 NS ns1.cold.\n\
         ns1.cold. 172800 A {tld}\n",
        root = net(block, 0, 1),
        tld = net(block, 1, 1),
    );
    Zone::parse(".", &text)
}

fn tld_zone(args: &Args) -> Zone {
    let mut text = format!(
        "$TTL 86400\n\
         @ SOA ns1.cold. hostmaster.cold. {SOA_TIMERS}\n\
         @ NS ns1\n\
         ns1 A {tld}\n\
         a.root-servers A {root}\n",
        root = net(args.block, 0, 1),
        tld = net(args.block, 1, 1),
    );
    for zone in 0..args.zones {
        let _ = writeln!(
            text,
            "z{zone} NS ns1.z{zone}\nns1.z{zone} A {}",
            leaf_server(args, zone)
        );
    }
    Zone::parse("cold.", &text)
}

fn leaf_zone(args: &Args, zone: usize) -> Zone {
    let mut text = format!(
        "$TTL 86400\n\
         @ SOA ns1 hostmaster {SOA_TIMERS}\n\
         @ NS ns1\n\
         ns1 A {}\n",
        leaf_server(args, zone)
    );
    for name in 0..args.names_per_zone {
        let _ = writeln!(text, "n{name} A 192.0.2.{}", name % 250 + 1);
    }
    Zone::parse(&format!("z{zone}.cold."), &text)
}

fn leaf_server(args: &Args, zone: usize) -> String {
    let server = (zone % usize::from(args.leaf_servers)) as u8;
    net(args.block, 2, server + 1)
}

/// Every name once, shuffled so that no resolver is helped by names arriving zone by zone; the
/// same order in every run.
fn query_list(args: &Args) -> String {
    let mut names: Vec<String> = (0..args.zones)
        .flat_map(|zone| {
            (0..args.names_per_zone).map(move |name| format!("n{name}.z{zone}.cold. A"))
        })
        .collect();
    names.shuffle(&mut StdRng::seed_from_u64(3));
    let mut text = names.join("\n");
    text.push('\n');
    text
}
