#!/usr/bin/env bash
# A wide cold pass, ferret against Unbound: empty caches, 2,000 zones under 8 parents, each zone on
# an address of its own, 16,016 distinct questions asked once each by one dnsperf pass with 100 in
# flight, no added latency. The shape of issue 10's "fake internet" measurement; benches/cold.sh is
# the narrow, latency-bound counterpart (50 zones on 4 servers, 5 ms per answer).
#
#   benches/cold_wide.sh
#   ZONES=200 REPS=1 benches/cold_wide.sh      # quicker
#
# The hierarchy (benches/gen_data.py cold-wide), served by three real NSDs pinned to CLIENT_CORE
# with the client (NSD answers at once; nothing delays an answer):
#   .        127.162.0.1       a.root-servers.bench.
#   wJ.      127.162.1.(J+1)   TLDS parents, one address each
#   zI.wJ.   127.163.x.y       ZONES zones (J = I mod TLDS), each on its own address, one NSD for
#                              all; NS_PER_ZONE=2 adds a second server per zone on 127.164.x.y
# Per zone: n0..n4 A, www A (a CNAME to n0, or in every fourth zone to n1 of the next zone),
# n0 AAAA (NODATA), nx A (NXDOMAIN); per parent: its NS and nx.wJ. A (NXDOMAIN). So
# K = 8 x ZONES + 2 x TLDS questions (16,016 by default), asked in a fixed shuffled order.
#
# ferret (127.165.9.1, --threads 1 --no-dnssec) and Unbound (127.165.9.2, num-threads 1,
# iterator only) are each pinned alone to SERVER_CORE and started afresh, with empty caches, for
# every round; rounds alternate ferret, Unbound. Each round sends every question once (CLIENT=
# dnsperf: `dnsperf -n 1 -q CONCURRENCY`; CLIENT=loadgen: benches/loadgen.rs --once) and reports:
#   - the wall time of the pass (dnsperf's run time, from the first query to the last answer);
#   - the resolver's CPU time (utime + stime, /proc/PID/stat; stime, the kernel's part, apart)
#     during the pass, per answered name,
#     and the time its threads spent waiting for a CPU (run-queue delay, /proc/PID/task/*/schedstat):
#     wall - CPU - run-queue delay is the time the resolver had nothing to do;
#   - the page faults the resolver took during the pass and its RSS before and after (a fresh
#     page costs the kernel a zeroing, and on a VM far more for a fresh 2 MiB huge page);
#   - the authorities' CPU time (all three NSDs, every process of their groups) and the client's
#     (dnsperf's rusage) during the pass: they share CLIENT_CORE, which caps how fast any
#     resolver can go;
#   - the queries the authorities received (UDP and TCP, NSD's own statistics, reset before the
#     resolver starts, so root priming counts) per question, by server level and type;
#   - NOERROR / NXDOMAIN / SERVFAIL / lost.
# Figures are medians over REPS rounds per resolver.
#
# Settings (environment): ZONES (2000), TLDS (8), NS_PER_ZONE (1 or 2), CONCURRENCY (100),
# CLIENT (dnsperf or loadgen), REPS (3), SERVER_CORE (0), CLIENT_CORE (1), FERRET_ARGS (more
# ferret flags), SERVERS ("ferret unbound"; one of them alone prints the raw rounds only),
# FERRET_WRAP (a command ferret runs under, for profiles), SKIP_BUILD=1, KEEP_TMP=1.
#
# Profiles (the figures in the README):
#   SERVERS=ferret REPS=1 FERRET_WRAP="valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.%p" \
#       benches/cold_wide.sh     # instructions per cold pass; callgrind_annotate /tmp/cg.*
#   SERVERS=ferret REPS=1 FERRET_WRAP="perf record -g -o /tmp/ferret.perf" benches/cold_wide.sh
#
# Needs: nsd, nsd-control, unbound, dnsperf, dig, taskset, python3, root (port 53). Every process
# started is stopped on exit, failure and Ctrl-C included.

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH_SCRIPT=$BENCH_DIR/cold_wide.sh
# shellcheck source=lib/common.sh
. "$BENCH_DIR/lib/common.sh"
bench_reexec_under_reaper "$@"
bench_init cold_wide "$@"

BLOCK=162
ZONES=${ZONES:-2000}
TLDS=${TLDS:-8}
NS_PER_ZONE=${NS_PER_ZONE:-1}
CONCURRENCY=${CONCURRENCY:-100}
CLIENT=${CLIENT:-dnsperf}
REPS=${REPS:-3}
SERVERS=${SERVERS:-ferret unbound}
FERRET_IP=127.165.9.1
UNBOUND_IP=127.165.9.2
CLIENT_SOURCE=127.165.250.1
K=$((8 * ZONES + 2 * TLDS))
case $CLIENT in
    dnsperf) ;;
    loadgen) [ $((CONCURRENCY % 10)) -eq 0 ] || die "CLIENT=loadgen needs CONCURRENCY a multiple of 10" ;;
    *) die "CLIENT must be dnsperf or loadgen" ;;
esac

require_tools nsd nsd-control nsd-control-setup unbound unbound-checkconf dnsperf dig taskset \
    setsid python3 timeout
build_release --example loadgen

DATA=$BENCH_TMP/data
python3 "$BENCH_DIR/gen_data.py" cold-wide --out "$DATA" --block "$BLOCK" --zones "$ZONES" \
    --tlds "$TLDS" --ns "$NS_PER_ZONE"

START_LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
log "$(machine_summary | tr '\n' ';')"

# The authorities share CLIENT_CORE with the client; the resolver has SERVER_CORE alone.
NSD_CORE=$CLIENT_CORE
CONTROL_PORT=8953
leaf_ips=$(paste -sd' ' "$DATA/leaf.addresses")
leaf_zones=""
for i in $(seq 0 $((ZONES - 1))); do
    leaf_zones+="z$i.w$((i % TLDS)).=$DATA/z$i.zone "
done
tld_ips=""
tld_zones=""
while read -r tld ip; do
    tld_ips+="$ip "
    tld_zones+="$tld.=$DATA/$tld.zone "
done <"$DATA/tld.zones"
LEVELS=(root tld leaves)
declare -A NSD_PID
start_nsd leaves "$BENCH_TMP/nsd-leaves" "$leaf_ips" "${leaf_zones% }" "$CONTROL_PORT"
NSD_PID[leaves]=$STARTED_PID
start_nsd tld "$BENCH_TMP/nsd-tld" "${tld_ips% }" "${tld_zones% }" "$CONTROL_PORT"
NSD_PID[tld]=$STARTED_PID
start_nsd root "$BENCH_TMP/nsd-root" "127.$BLOCK.0.1" ".=$DATA/root.zone" "$CONTROL_PORT"
NSD_PID[root]=$STARTED_PID
for level in "${LEVELS[@]}"; do
    nsd_stats "$BENCH_TMP/nsd-$level" | grep -q '^num.queries=' ||
        die "NSD $level gives no num.queries statistics"
done
# The last zone, on the last address, answers: NSD listens on every address.
last_ip=$(tail -1 "$DATA/leaf.addresses")
wait_answer "$last_ip" "z$((ZONES - 1)).w$(((ZONES - 1) % TLDS))." SOA +norec 30 ||
    die "the leaf NSD does not answer on $last_ip"

# group_ticks PGID...: utime + stime of every process in these process groups (NSD forks its
# server processes), in clock ticks.
group_ticks() {
    local pattern
    pattern=$(printf '%s|' "$@")
    # Processes may end while they are read: cat's complaint (and status) means nothing.
    { cat /proc/[0-9]*/stat 2>/dev/null || true; } | sed 's/^[0-9]* (.*) //' |
        awk -v p="^(${pattern%|})\$" '$3 ~ p {t += $12 + $13} END {print t + 0}'
}

# sys_ticks PID: stime of the whole process, in clock ticks (its kernel share of cpu_ticks).
sys_ticks() {
    sed 's/^.*) //' "/proc/$1/stat" | awk '{print $13}'
}

# on_client_core COMMAND...: COMMAND pinned to CLIENT_CORE, then a line "CLIENT_CPU <seconds>":
# its CPU time (utime + stime), which python3 reads from its children's rusage after the pass.
on_client_core() {
    taskset -c "$CLIENT_CORE" python3 -c '
import resource, subprocess, sys
status = subprocess.call(sys.argv[1:])
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(f"CLIENT_CPU {r.ru_utime + r.ru_stime:.3f}")
sys.exit(status)' "$@"
}

# minor_faults PID: the page faults the process has taken that needed no disk (minflt): each
# is a page the kernel had to find and zero.
minor_faults() {
    sed 's/^.*) //' "/proc/$1/stat" | awk '{print $8}'
}

# runqueue_ns PID: nanoseconds the process's threads have waited for a CPU (schedstat field 2).
runqueue_ns() {
    { cat /proc/"$1"/task/*/schedstat 2>/dev/null || true; } | awk '{t += $2} END {printf "%d", t}'
}

RESULTS_TSV=$BENCH_TMP/cold_wide.tsv
: >"$RESULTS_TSV"

# round SERVER IP REP: fresh counters, a fresh resolver, every question once.
round() {
    local server=$1 ip=$2 rep=$3 pid out before after wait_before wait_after auth_before sys_before sys_after
    local auth_after level queries=0 n wall answered noerror nxdomain servfail lost client_cpu
    local faults_before faults_after rss_before rss_after
    for level in "${LEVELS[@]}"; do
        nsd_stats "$BENCH_TMP/nsd-$level" reset >/dev/null
    done
    if [ "$server" = ferret ]; then
        # FERRET_ARGS is split into words on purpose.
        # shellcheck disable=SC2086
        start_ferret "$ip" "$DATA/root.hints" --threads 1 --cache-size 1000000 --no-dnssec \
            ${FERRET_ARGS:-}
    else
        start_unbound "$ip" "$DATA/root.hints"
    fi
    pid=$STARTED_PID
    out=$BENCH_TMP/cold-$server-$rep.txt
    before=$(cpu_ticks "$pid")
    sys_before=$(sys_ticks "$pid")
    wait_before=$(runqueue_ns "$pid")
    faults_before=$(minor_faults "$pid")
    rss_before=$(rss_kb "$pid")
    auth_before=$(group_ticks "${NSD_PID[@]}")
    if [ "$CLIENT" = dnsperf ]; then
        on_client_core dnsperf -s "$ip" -a "$CLIENT_SOURCE" -d "$DATA/names.txt" -n 1 \
            -q "$CONCURRENCY" -c 1 -t 10 -l 600 >"$out" 2>&1 ||
            die "dnsperf failed against $server: $(cat "$out")"
        wall=$(awk '/Run time \(s\):/ {print $4}' "$out")
        answered=$(awk '/Queries completed:/ {print $3}' "$out")
        lost=$(awk '/Queries lost:/ {print $3}' "$out")
        rcode() { { grep -oE "$1 [0-9]+" "$out" || true; } | awk '{print $2}' | head -1; }
        noerror=$(rcode NOERROR)
        nxdomain=$(rcode NXDOMAIN)
        servfail=$(rcode SERVFAIL)
    else
        on_client_core "$LOADGEN_BIN" --server "$ip:53" --source "$CLIENT_SOURCE" \
            --queries "$DATA/names.txt" --once --sockets $((CONCURRENCY / 10)) --window 10 \
            --batch 10 --duration 600 --timeout-ms 10000 >"$out" ||
            die "loadgen failed against $server: $(cat "$out")"
        wall=$(result_field run_s "$out")
        answered=$(result_field answered "$out")
        lost=$(result_field lost "$out")
        noerror=$(result_field noerror "$out")
        nxdomain=$(result_field nxdomain "$out")
        servfail=$(result_field servfail "$out")
    fi
    client_cpu=$(awk '$1 == "CLIENT_CPU" {print $2}' "$out")
    after=$(cpu_ticks "$pid")
    sys_after=$(sys_ticks "$pid")
    wait_after=$(runqueue_ns "$pid")
    faults_after=$(minor_faults "$pid")
    rss_after=$(rss_kb "$pid")
    auth_after=$(group_ticks "${NSD_PID[@]}")
    for level in "${LEVELS[@]}"; do
        nsd_stats "$BENCH_TMP/nsd-$level" >"$BENCH_TMP/stats-$server-$rep-$level.txt"
        n=$(awk -F= '$1 == "num.queries" {print $2}' "$BENCH_TMP/stats-$server-$rep-$level.txt")
        queries=$((queries + n))
    done
    stop_and_forget "$pid"
    local cpu auth runq sys
    cpu=$(awk -v a="$before" -v b="$after" -v hz="$CLK_TCK" 'BEGIN {printf "%.2f", (b - a) / hz}')
    auth=$(awk -v a="$auth_before" -v b="$auth_after" -v hz="$CLK_TCK" 'BEGIN {printf "%.2f", (b - a) / hz}')
    runq=$(awk -v a="$wait_before" -v b="$wait_after" 'BEGIN {printf "%.3f", (b - a) / 1e9}')
    sys=$(awk -v a="$sys_before" -v b="$sys_after" -v hz="$CLK_TCK" 'BEGIN {printf "%.2f", (b - a) / hz}')
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$server" "$rep" "$wall" \
        "${answered:-0}" "${noerror:-0}" "${nxdomain:-0}" "${servfail:-0}" "${lost:-0}" \
        "$queries" "$cpu" "$runq" "$auth" "${client_cpu:-0}" "$sys" >>"$RESULTS_TSV"
    log "$server #$rep: $wall s for $K questions, ${answered:-0} answered (${noerror:-0} NOERROR, ${nxdomain:-0} NXDOMAIN, ${servfail:-0} SERVFAIL, ${lost:-0} lost), $queries upstream queries, resolver CPU $cpu s ($sys s in the kernel; run-queue wait $runq s), authorities' CPU $auth s, client CPU ${client_cpu:-?} s, $((faults_after - faults_before)) page faults, RSS $((rss_before / 1024)) -> $((rss_after / 1024)) MiB"
}

for rep in $(seq 1 "$REPS"); do
    for server in $SERVERS; do
        case $server in
            ferret) round ferret "$FERRET_IP" "$rep" ;;
            unbound) round unbound "$UNBOUND_IP" "$rep" ;;
            *) die "SERVERS: unknown server $server" ;;
        esac
    done
done
if [ "$SERVERS" != "ferret unbound" ]; then
    cat "$RESULTS_TSV"
    exit 0
fi

echo
echo "== benches/cold_wide.sh: K=$K questions, $ZONES zones under $TLDS parents, $NS_PER_ZONE server(s) per zone, no added latency, $CLIENT with $CONCURRENCY in flight, REPS=$REPS, iterator only =="
echo "load average at start (1, 5, 15 min): $START_LOAD"
machine_summary
BENCH_LIB="$BENCH_DIR/lib" python3 - "$RESULTS_TSV" "$K" "$BENCH_TMP" "$REPS" <<'EOF'
import os, statistics, sys
sys.path.insert(0, os.environ["BENCH_LIB"])
from nsd_stats import print_upstream_table
rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1])]
k, tmp, reps = int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
SERVERS = ("ferret", "unbound")
def med(server, col):
    return statistics.median(float(r[col]) for r in rows if r[0] == server)
def per_name(server, col):
    # CPU per answered name, median of the per-round ratios.
    return statistics.median(float(r[col]) / max(1.0, float(r[3])) for r in rows if r[0] == server)
print()
print("| resolver | wall time, s | upstream queries per question | resolver CPU, s | of which kernel, s | CPU per answered name, us | run-queue wait, s | idle, s | authorities' CPU, s | client CPU, s | NOERROR / NXDOMAIN / SERVFAIL / lost |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for s in SERVERS:
    wall, cpu, runq = med(s, 2), med(s, 9), med(s, 10)
    idle = statistics.median(float(r[2]) - float(r[9]) - float(r[10]) for r in rows if r[0] == s)
    print(f"| {s} | {wall:.2f} | {med(s, 8) / k:.3f} | {cpu:.2f} | {med(s, 13):.2f} | {per_name(s, 9) * 1e6:,.1f} | {runq:.2f} | {idle:.2f} | {med(s, 11):.2f} | {med(s, 12):.2f} "
          f"| {med(s, 4):.0f} / {med(s, 5):.0f} / {med(s, 6):.0f} / {med(s, 7):.0f} |")
print("\n(medians over the rounds; idle = wall - resolver CPU - run-queue wait, the median of the per-round figures)")
fw, uw = med("ferret", 2), med("unbound", 2)
fq, uq = med("ferret", 8), med("unbound", 8)
fc, uc = per_name("ferret", 9), per_name("unbound", 9)
print(f"\nferret/unbound: wall time {fw / uw:.2f}x, upstream queries {fq / uq:.2f}x, CPU per name {fc / uc:.2f}x (lower is better)")

print_upstream_table(tmp, SERVERS, reps, "root 127.162.0.1, parents 127.162.1.x, leaves 127.163.x.y")
EOF
