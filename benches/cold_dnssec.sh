#!/usr/bin/env bash
# Cold resolution with DNSSEC validation, ferret against Unbound: empty caches, a signed
# hierarchy, K distinct names resolved with CONCURRENCY questions in flight. The validating
# counterpart of benches/cold.sh.
#
#   benches/cold_dnssec.sh
#   ZONES=4 NAMES_PER_ZONE=250 REPS=1 benches/cold_dnssec.sh      # quicker
#
# The hierarchy (benches/gen_data.py cold-dnssec), signed when the script runs, in $BENCH_TMP,
# with ldns-keygen/ldns-signzone/ldns-key2ds (sign_hierarchy in lib/common.sh), served by three
# real NSDs pinned to CLIENT_CORE with the load generator:
#   .          127.213.0.1   RSASHA256 (8), 2048-bit KSK and ZSK, NSEC
#   bench.     127.213.1.1   RSASHA256 (8), NSEC3 (no salt, no extra iterations)
#   zI.bench.  127.213.2.x   ZONES zones, one address each, all on one NSD: algorithm 13 for even
#                            I, 8 for odd; NSEC for I = 0, 1 (mod 4), NSEC3 for 2, 3
# Each leaf has NAMES_PER_ZONE names nJ.zI.bench. A, and NX_PER_ZONE names that do not exist
# (NXDOMAIN, proven by NSEC or NSEC3), so K = ZONES x (NAMES_PER_ZONE + NX_PER_ZONE) names,
# asked in a fixed shuffled order. Every delegation is secure (the parent has the child's DS).
#
# ferret (127.213.9.1, --threads 1, --trust-anchor) and Unbound (127.213.9.2, num-threads 1,
# module-config "validator iterator", trust-anchor-file) get the same file, the fake root's DS,
# as their only trust anchor; both use aggressive NSEC (RFC 8198) and QNAME minimisation. Each is
# pinned alone to SERVER_CORE and started afresh, with empty caches, for every round; rounds
# alternate ferret, Unbound. Each round sends every name once with benches/loadgen.rs (--once,
# with the AD bit set in the queries, RFC 6840 §5.7, so secure answers come back with AD) and
# reports:
#   - the wall time from the first query to the last answer;
#   - the queries the authoritative servers received (UDP and TCP, everything from the resolver's
#     start on: priming, DNSKEY and DS fetches included) divided by K, counted by NSD itself
#     (remote-control statistics, reset before the resolver starts), by server and query type;
#   - the resolver's CPU time (utime + stime, /proc/PID/stat) during the pass, divided by K;
#   - NOERROR, NXDOMAIN, SERVFAIL, lost, and how many answers carried AD (all K should).
# Figures are medians over REPS rounds per resolver. NSD answers at once (it cannot delay its
# answers; cold.sh's in-process authority can, but does not sign), so unlike cold.sh there is no
# network latency to hide behind: wall time is the resolver's own work plus loopback round trips.
#
# Settings (environment): ZONES (8), NAMES_PER_ZONE (1000), NX_PER_ZONE (5), CONCURRENCY (100:
# sockets x window of the generator; must be a multiple of 10), REPS (3), SERVER_CORE (0),
# CLIENT_CORE (1), FERRET_ARGS (more ferret flags), SKIP_BUILD=1, KEEP_TMP=1.
#
# Needs: nsd, nsd-control, unbound, dig, taskset, python3, ldnsutils (ldns-keygen, ldns-signzone,
# ldns-key2ds), root (port 53). Every process started is stopped on exit, failure and Ctrl-C
# included.

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH_SCRIPT=$BENCH_DIR/cold_dnssec.sh
# shellcheck source=lib/common.sh
. "$BENCH_DIR/lib/common.sh"
bench_reexec_under_reaper "$@"
bench_init cold_dnssec "$@"

BLOCK=213
ZONES=${ZONES:-8}
NAMES_PER_ZONE=${NAMES_PER_ZONE:-1000}
NX_PER_ZONE=${NX_PER_ZONE:-5}
CONCURRENCY=${CONCURRENCY:-100}
REPS=${REPS:-3}
FERRET_IP=127.$BLOCK.9.1
UNBOUND_IP=127.$BLOCK.9.2
LOADGEN_SOURCE=127.$BLOCK.250.1
CONTROL_PORT=8952
K=$((ZONES * (NAMES_PER_ZONE + NX_PER_ZONE)))
[ $((CONCURRENCY % 10)) -eq 0 ] || die "CONCURRENCY must be a multiple of 10"
[ "$ZONES" -ge 1 ] && [ "$ZONES" -le 250 ] || die "ZONES must be 1..250"

require_tools nsd nsd-control nsd-control-setup unbound unbound-checkconf dig taskset setsid \
    python3 timeout ldns-keygen ldns-signzone ldns-key2ds
build_release --example loadgen

DATA=$BENCH_TMP/data
python3 "$BENCH_DIR/gen_data.py" cold-dnssec --out "$DATA" --block "$BLOCK" --zones "$ZONES" \
    --names "$NAMES_PER_ZONE" --nx "$NX_PER_ZONE"
ANCHOR=$DATA/root-anchor.ds
specs=(".=$DATA/root.zone=8=nsec" "bench.=$DATA/bench.zone=8=nsec3")
while read -r zone _ alg denial; do
    specs+=("$zone.bench.=$DATA/$zone.zone=$alg=$denial")
done <"$DATA/leaf.zones"
sign_hierarchy "$ANCHOR" "${specs[@]}"

START_LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
log "$(machine_summary | tr '\n' ';')"

# The authorities share CLIENT_CORE with the load generator; the resolver has SERVER_CORE alone.
NSD_CORE=$CLIENT_CORE
leaf_ips=""
leaf_zones=""
while read -r zone ip _; do
    leaf_ips+="$ip "
    leaf_zones+="$zone.bench.=$DATA/$zone.zone "
done <"$DATA/leaf.zones"
LEVELS=(root tld leaves)
start_nsd leaves "$BENCH_TMP/nsd-leaves" "${leaf_ips% }" "${leaf_zones% }" "$CONTROL_PORT"
start_nsd tld "$BENCH_TMP/nsd-tld" "127.$BLOCK.1.1" "bench.=$DATA/bench.zone" "$CONTROL_PORT"
start_nsd root "$BENCH_TMP/nsd-root" "127.$BLOCK.0.1" ".=$DATA/root.zone" "$CONTROL_PORT"
for level in "${LEVELS[@]}"; do
    nsd_stats "$BENCH_TMP/nsd-$level" | grep -q '^num.queries=' ||
        die "NSD $level gives no num.queries statistics"
done

RESULTS_TSV=$BENCH_TMP/cold_dnssec.tsv
: >"$RESULTS_TSV"

# round SERVER IP REP: fresh counters, a fresh resolver, every name once.
round() {
    local server=$1 ip=$2 rep=$3 pid out before after cpu level queries=0 n
    for level in "${LEVELS[@]}"; do
        nsd_stats "$BENCH_TMP/nsd-$level" reset >/dev/null
    done
    if [ "$server" = ferret ]; then
        # FERRET_ARGS is split into words on purpose.
        # shellcheck disable=SC2086
        start_ferret "$ip" "$DATA/root.hints" --threads 1 --cache-size 1000000 \
            --trust-anchor "$ANCHOR" ${FERRET_ARGS:-}
    else
        start_unbound "$ip" "$DATA/root.hints" "" "$ANCHOR"
    fi
    pid=$STARTED_PID
    out=$BENCH_TMP/cold-$server-$rep.txt
    before=$(cpu_ticks "$pid")
    loadgen --server "$ip:53" --source "$LOADGEN_SOURCE" --queries "$DATA/names.txt" --once \
        --ad-flag --sockets $((CONCURRENCY / 10)) --window 10 --batch 10 --duration 600 \
        --timeout-ms 10000 >"$out"
    after=$(cpu_ticks "$pid")
    for level in "${LEVELS[@]}"; do
        nsd_stats "$BENCH_TMP/nsd-$level" >"$BENCH_TMP/stats-$server-$rep-$level.txt"
        n=$(awk -F= '$1 == "num.queries" {print $2}' "$BENCH_TMP/stats-$server-$rep-$level.txt")
        queries=$((queries + n))
    done
    stop_and_forget "$pid"
    cpu=$(awk -v a="$before" -v b="$after" -v hz="$CLK_TCK" 'BEGIN {printf "%.2f", (b - a) / hz}')
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$server" "$rep" \
        "$(result_field run_s "$out")" "$(result_field answered "$out")" \
        "$(result_field noerror "$out")" "$(result_field nxdomain "$out")" \
        "$(result_field servfail "$out")" "$(result_field lost "$out")" \
        "$(result_field ad "$out")" "$queries" "$cpu" "$(result_field lat_p99_us "$out")" \
        >>"$RESULTS_TSV"
    log "$server #$rep: $(result_field run_s "$out") s for $K names, $(result_field answered "$out") answered ($(result_field noerror "$out") NOERROR, $(result_field nxdomain "$out") NXDOMAIN, $(result_field servfail "$out") SERVFAIL, $(result_field lost "$out") lost, $(result_field ad "$out") with AD), $queries upstream queries, resolver CPU $cpu s"
    # No AD at all: the resolver does not validate this hierarchy, and no figure means anything.
    [ "$(result_field ad "$out")" -gt 0 ] ||
        die "$server set AD on none of its answers: it does not validate (log: $BENCH_TMP)"
}

for rep in $(seq 1 "$REPS"); do
    round ferret "$FERRET_IP" "$rep"
    round unbound "$UNBOUND_IP" "$rep"
done

echo
echo "== benches/cold_dnssec.sh: K=$K names ($ZONES signed zones x ($NAMES_PER_ZONE + $NX_PER_ZONE NXDOMAIN)), $CONCURRENCY in flight, REPS=$REPS, both validating =="
echo "load average at start (1, 5, 15 min): $START_LOAD"
machine_summary
echo "zones: . alg 8 NSEC; bench. alg 8 NSEC3; $(awk '{printf "%s%s %s/%s", (NR > 1 ? ", " : ""), $1, $3, $4}' "$DATA/leaf.zones")"
BENCH_LIB="$BENCH_DIR/lib" python3 - "$RESULTS_TSV" "$K" "$BENCH_TMP" "$REPS" "$ZONES" <<'EOF'
import os, statistics, sys
sys.path.insert(0, os.environ["BENCH_LIB"])
from nsd_stats import print_upstream_table
rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1])]
k, tmp, reps = int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
SERVERS = ("ferret", "unbound")
def med(server, col):
    return statistics.median(float(r[col]) for r in rows if r[0] == server)
print()
print("| resolver | wall time, s | names/s | upstream queries per name | CPU per name, us | resolver CPU, s | p99 latency, ms | NOERROR / NXDOMAIN / SERVFAIL / lost | answers with AD |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for s in SERVERS:
    wall, cpu = med(s, 2), med(s, 10)
    print(f"| {s} | {wall:.2f} | {k / wall:,.0f} | {med(s, 9) / k:.3f} | {cpu / k * 1e6:,.0f} | {cpu:.2f} | {med(s, 11) / 1000:.1f} "
          f"| {med(s, 4):.0f} / {med(s, 5):.0f} / {med(s, 6):.0f} / {med(s, 7):.0f} | {med(s, 8):.0f} of {k} |")
print("\n(medians over the rounds; per-round figures in the log above)")
fw, uw = med("ferret", 2), med("unbound", 2)
fq, uq = med("ferret", 9), med("unbound", 9)
fc, uc = med("ferret", 10), med("unbound", 10)
print(f"\nferret/unbound: wall time {fw / uw:.2f}x, upstream queries {fq / uq:.2f}x, CPU {fc / uc:.2f}x (lower is better)")

print_upstream_table(tmp, SERVERS, reps, "root 127.213.0.1, bench. 127.213.1.1, leaves 127.213.2.x")
EOF
