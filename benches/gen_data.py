#!/usr/bin/env python3
"""Zone files, root hints and query files for the benchmark scripts in benches/.

Every server address is 127.BLOCK.x.y; answer data uses the documentation ranges (192.0.2.0/24,
2001:db8::/32), which nothing ever contacts.

    gen_data.py dnsperf --out DIR --block B   (benches/dnsperf.sh)
        .                 127.B.0.1   a.root-servers.bench.
        bench.            127.B.1.1   ns1.bench.
        alpha.bench. ...  127.B.2.1.. one per zone, all served by one NSD
        Each zone has NAMES hosts with A; two in three also AAAA, some MX or TXT. The questions
        (A for every host, AAAA for 3 in 5, MX and TXT for some, so NODATA too; A for names that
        do not exist, NXDOMAIN) get Zipf-like popularity: the question of rank r is asked with
        weight 1/r^S. queries.txt samples QUERIES questions from it (dnsperf's format, cycled by
        the load generators); questions.txt lists each distinct question once, for warming caches.

    gen_data.py memory --out DIR --block B --count N   (benches/memory.sh)
        .                 127.B.0.1
        bench.            127.B.1.1
        mem.bench.        127.B.2.1   *.mem.bench. A (a wildcard: any name exists)
        queries.txt asks nI.mem.bench. A for I < N, each once.

    gen_data.py cold-dnssec --out DIR --block B   (benches/cold_dnssec.sh)
        .                 127.B.0.1
        bench.            127.B.1.1
        z0.bench. ...     127.B.2.1.. one address per zone, all served by one NSD
        ZONES zones of NAMES hosts (nJ A) each. leaf.zones gives each zone's address, DNSSEC
        algorithm and denial, for the script to sign them with: algorithm 13 for even zones, 8
        for odd ones; NSEC for zones 0, 1 (mod 4), NSEC3 for 2, 3, so every combination occurs.
        names.txt asks every nJ.zI.bench. A once and NX nonexistent names per zone (NXDOMAIN),
        shuffled.

    gen_data.py cold-wide --out DIR --block B   (benches/cold_wide.sh)
        .                 127.B.0.1         a.root-servers.bench.
        w0. ... w{T-1}.   127.B.1.1..       TLDS parents, one address each, one NSD
        zI.wJ. ...        127.(B+1).x.y     ZONES zones (J = I mod TLDS), each on an address of its
                                            own (ns1; with --ns 2 also ns2 on 127.(B+2).x.y), all
                                            on one NSD
        Each zone has n0..n4 A and www, a CNAME to its own n0 (in every fourth zone, to n1 of the
        next zone instead, so it is followed across zones). names.txt asks, per zone, n0..n4 A,
        www A, n0 AAAA (NODATA) and nx A (NXDOMAIN), and per parent its NS and nx.wJ. A
        (NXDOMAIN from the parent): 2,000 zones and 8 parents give 16,016 questions, shuffled.
        leaf.addresses lists the leaf servers' addresses; tld.zones the parents and addresses.

The same arguments always give the same files (fixed seed).
"""

import argparse
import os
import random
import sys

SOA_TIMERS = "1 3600 900 604800 3600"  # negative answers live 3600 s (RFC 2308 §5)
DNSPERF_ZONES = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"]


def ip(block, a, b):
    return f"127.{block}.{a}.{b}"


def write(path, text):
    with open(path, "w", encoding="ascii") as f:
        f.write(text)


def root_zone(block):
    return (
        "$ORIGIN .\n$TTL 86400\n"
        f"@ SOA a.root-servers.bench. hostmaster.bench. {SOA_TIMERS}\n"
        "@ NS a.root-servers.bench.\n"
        "bench. 172800 NS ns1.bench.\n"
        f"ns1.bench. 172800 A {ip(block, 1, 1)}\n"
        f"a.root-servers.bench. 172800 A {ip(block, 0, 1)}\n"
    )


def tld_zone(block, delegations):
    """bench., delegating each (zone, server address) with in-bailiwick glue."""
    lines = [
        "$ORIGIN bench.\n$TTL 86400\n",
        f"@ SOA ns1.bench. hostmaster.bench. {SOA_TIMERS}\n",
        "@ NS ns1\n",
        f"ns1 A {ip(block, 1, 1)}\n",
        f"a.root-servers A {ip(block, 0, 1)}\n",
    ]
    for zone, address in delegations:
        lines.append(f"{zone} NS ns1.{zone}\nns1.{zone} A {address}\n")
    return "".join(lines)


def root_hints(block):
    return (
        "; root hints of the benchmark hierarchy (benches/gen_data.py)\n"
        ".                      3600000 NS a.root-servers.bench.\n"
        f"a.root-servers.bench.  3600000 A  {ip(block, 0, 1)}\n"
    )


def leaf_header(zone, address):
    return (
        f"$ORIGIN {zone}.bench.\n$TTL 86400\n"
        f"@ SOA ns1 hostmaster {SOA_TIMERS}\n"
        "@ NS ns1\n"
        f"ns1 A {address}\n"
        "mail A 192.0.2.25\n"
    )


def dnsperf_data(args):
    rng = random.Random(1)
    zones = DNSPERF_ZONES[: args.zones]
    servers = {zone: ip(args.block, 2, i + 1) for i, zone in enumerate(zones)}
    questions = []
    for zone in zones:
        lines = [leaf_header(zone, servers[zone])]
        for i in range(args.names):
            host = f"host{i}.{zone}.bench."
            lines.append(f"host{i} A 192.0.2.{i % 250 + 1}\n")
            questions.append((host, "A"))
            if i % 3 != 0:
                lines.append(f"host{i} AAAA 2001:db8::{i % 65535:x}\n")
            if i % 5 < 3:
                questions.append((host, "AAAA"))  # NODATA when i % 3 == 0
            if i % 10 == 0:
                lines.append(f"host{i} MX 10 mail.{zone}.bench.\n")
            if i % 10 in (0, 5):
                questions.append((host, "MX"))  # NODATA when i % 10 == 5
            if i % 10 == 1:
                lines.append(f'host{i} TXT "v=spf1 ip4:192.0.2.0/24 -all" "host {i}"\n')
            if i % 10 in (1, 6):
                questions.append((host, "TXT"))  # NODATA when i % 10 == 6
        for i in range(args.names // 20):
            questions.append((f"nx{i}.{zone}.bench.", "A"))  # NXDOMAIN
        write(os.path.join(args.out, f"{zone}.zone"), "".join(lines))

    write(os.path.join(args.out, "root.zone"), root_zone(args.block))
    write(os.path.join(args.out, "bench.zone"), tld_zone(args.block, servers.items()))
    write(os.path.join(args.out, "root.hints"), root_hints(args.block))
    write(os.path.join(args.out, "leaf.zones"), "".join(f"{z} {servers[z]}\n" for z in zones))

    # Popularity follows the rank in a shuffled order, so every kind of question is spread over
    # popular and rare ranks alike.
    rng.shuffle(questions)
    weights = [1.0 / (rank**args.zipf) for rank in range(1, len(questions) + 1)]
    sample = rng.choices(questions, weights=weights, k=args.queries)
    write(os.path.join(args.out, "queries.txt"), "".join(f"{n} {t}\n" for n, t in sample))
    write(os.path.join(args.out, "questions.txt"), "".join(f"{n} {t}\n" for n, t in questions))
    distinct = len(set(sample))
    print(
        f"gen_data: {len(zones)} zones, {len(zones) * args.names} hosts, {len(questions)} "
        f"questions, {args.queries} queries ({distinct} distinct), Zipf s={args.zipf}",
        file=sys.stderr,
    )


def memory_data(args):
    address = ip(args.block, 2, 1)
    write(os.path.join(args.out, "root.zone"), root_zone(args.block))
    write(os.path.join(args.out, "bench.zone"), tld_zone(args.block, [("mem", address)]))
    write(os.path.join(args.out, "root.hints"), root_hints(args.block))
    write(
        os.path.join(args.out, "mem.zone"),
        leaf_header("mem", address) + "* A 192.0.2.7\n",
    )
    write(os.path.join(args.out, "leaf.zones"), f"mem {address}\n")
    with open(os.path.join(args.out, "queries.txt"), "w", encoding="ascii") as f:
        for i in range(args.count):
            f.write(f"n{i}.mem.bench. A\n")


def cold_dnssec_data(args):
    rng = random.Random(2)
    zones = [f"z{i}" for i in range(args.zones)]
    servers = {zone: ip(args.block, 2, i + 1) for i, zone in enumerate(zones)}
    names = []
    with open(os.path.join(args.out, "leaf.zones"), "w", encoding="ascii") as listing:
        for i, zone in enumerate(zones):
            algorithm = 13 if i % 2 == 0 else 8
            denial = "nsec" if i % 4 < 2 else "nsec3"
            listing.write(f"{zone} {servers[zone]} {algorithm} {denial}\n")
            lines = [leaf_header(zone, servers[zone])]
            for j in range(args.names):
                lines.append(f"n{j} A 192.0.2.{j % 250 + 1}\n")
                names.append(f"n{j}.{zone}.bench.")
            for j in range(args.nx):
                names.append(f"nx{j}.{zone}.bench.")  # NXDOMAIN
            write(os.path.join(args.out, f"{zone}.zone"), "".join(lines))
    write(os.path.join(args.out, "root.zone"), root_zone(args.block))
    write(os.path.join(args.out, "bench.zone"), tld_zone(args.block, servers.items()))
    write(os.path.join(args.out, "root.hints"), root_hints(args.block))
    rng.shuffle(names)
    write(os.path.join(args.out, "names.txt"), "".join(f"{n} A\n" for n in names))
    print(
        f"gen_data: {len(zones)} signed zones, {len(zones) * args.names} hosts, "
        f"{len(zones) * args.nx} NXDOMAIN names, {len(names)} names in all",
        file=sys.stderr,
    )


def wide_leaf_address(block, server, index):
    """Zone INDEX's SERVER-th name server (0 or 1): 127.(B+1+server).x.y, 250 to an x."""
    return ip(block + 1 + server, index // 250, index % 250 + 1)


def cold_wide_data(args):
    rng = random.Random(4)
    tlds = [f"w{j}" for j in range(args.tlds)]
    tld_address = {tld: ip(args.block, 1, j + 1) for j, tld in enumerate(tlds)}
    delegations = {tld: [] for tld in tlds}
    questions = []
    leaf_addresses = []
    for i in range(args.zones):
        tld = tlds[i % args.tlds]
        origin = f"z{i}.{tld}."
        servers = [wide_leaf_address(args.block, s, i) for s in range(args.ns)]
        leaf_addresses.extend(servers)
        delegations[tld].append((f"z{i}", servers))
        if i % 4 == 3:
            nxt = (i + 1) % args.zones
            www = f"n1.z{nxt}.{tlds[nxt % args.tlds]}."
        else:
            www = "n0"
        lines = [
            f"$ORIGIN {origin}\n$TTL 86400\n",
            f"@ SOA ns1 hostmaster {SOA_TIMERS}\n",
        ]
        for s, address in enumerate(servers, start=1):
            lines.append(f"@ NS ns{s}\nns{s} A {address}\n")
        for j in range(5):
            lines.append(f"n{j} A 192.0.2.{(i * 5 + j) % 250 + 1}\n")
            questions.append((f"n{j}.{origin}", "A"))
        lines.append(f"www CNAME {www}\n")
        questions += [(f"www.{origin}", "A"), (f"n0.{origin}", "AAAA"), (f"nx.{origin}", "A")]
        write(os.path.join(args.out, f"z{i}.zone"), "".join(lines))
    for tld in tlds:
        lines = [
            f"$ORIGIN {tld}.\n$TTL 86400\n",
            f"@ SOA ns1 hostmaster {SOA_TIMERS}\n",
            f"@ NS ns1\nns1 A {tld_address[tld]}\n",
        ]
        for zone, servers in delegations[tld]:
            for s, address in enumerate(servers, start=1):
                lines.append(f"{zone} NS ns{s}.{zone}\nns{s}.{zone} A {address}\n")
        write(os.path.join(args.out, f"{tld}.zone"), "".join(lines))
        questions += [(f"{tld}.", "NS"), (f"nx.{tld}.", "A")]
    root = [
        "$ORIGIN .\n$TTL 86400\n",
        f"@ SOA a.root-servers.bench. hostmaster.bench. {SOA_TIMERS}\n",
        "@ NS a.root-servers.bench.\n",
        f"a.root-servers.bench. 172800 A {ip(args.block, 0, 1)}\n",
    ]
    for tld in tlds:
        root.append(f"{tld}. 172800 NS ns1.{tld}.\nns1.{tld}. 172800 A {tld_address[tld]}\n")
    write(os.path.join(args.out, "root.zone"), "".join(root))
    write(os.path.join(args.out, "root.hints"), root_hints(args.block))
    write(os.path.join(args.out, "tld.zones"), "".join(f"{t} {tld_address[t]}\n" for t in tlds))
    write(os.path.join(args.out, "leaf.addresses"), "".join(f"{a}\n" for a in leaf_addresses))
    rng.shuffle(questions)
    write(os.path.join(args.out, "names.txt"), "".join(f"{n} {t}\n" for n, t in questions))
    print(
        f"gen_data: {args.tlds} parents, {args.zones} zones on {len(leaf_addresses)} addresses, "
        f"{len(questions)} questions",
        file=sys.stderr,
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("dnsperf", "memory", "cold-dnssec", "cold-wide"):
        p = sub.add_parser(name)
        p.add_argument("--out", required=True)
        p.add_argument("--block", type=int, required=True)
    d = sub.choices["dnsperf"]
    d.add_argument("--zones", type=int, default=4, help="leaf zones (at most 8)")
    d.add_argument("--names", type=int, default=1500, help="hosts per zone")
    d.add_argument("--queries", type=int, default=100000, help="lines in queries.txt")
    d.add_argument("--zipf", type=float, default=1.0, help="Zipf exponent S")
    sub.choices["memory"].add_argument("--count", type=int, required=True, help="distinct names")
    c = sub.choices["cold-dnssec"]
    c.add_argument("--zones", type=int, default=8, help="leaf zones (at most 250)")
    c.add_argument("--names", type=int, default=500, help="hosts per zone")
    c.add_argument("--nx", type=int, default=5, help="NXDOMAIN names per zone")
    w = sub.choices["cold-wide"]
    w.add_argument("--zones", type=int, default=2000, help="leaf zones (at most 64,000)")
    w.add_argument("--tlds", type=int, default=8, help="parents of the zones (at most 250)")
    w.add_argument("--ns", type=int, default=1, choices=(1, 2), help="name servers per zone")
    args = parser.parse_args()
    if not 1 <= args.block <= 254:
        parser.error("--block must be 1..254")
    os.makedirs(args.out, exist_ok=True)
    if args.command == "dnsperf":
        if not 1 <= args.zones <= len(DNSPERF_ZONES):
            parser.error(f"--zones must be 1..{len(DNSPERF_ZONES)}")
        dnsperf_data(args)
    elif args.command == "cold-dnssec":
        if not 1 <= args.zones <= 250:
            parser.error("--zones must be 1..250")
        cold_dnssec_data(args)
    elif args.command == "cold-wide":
        if not (1 <= args.zones <= 64000 and 1 <= args.tlds <= 250 and args.block + args.ns <= 254):
            parser.error("--zones must be 1..64000, --tlds 1..250, --block + --ns at most 254")
        cold_wide_data(args)
    else:
        memory_data(args)


if __name__ == "__main__":
    main()
