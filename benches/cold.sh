#!/usr/bin/env bash
# Cold resolution, ferret against Unbound: empty caches, authoritative servers that answer every
# query after LATENCY_MS, K distinct names resolved with CONCURRENCY questions in flight.
#
#   benches/cold.sh
#   ZONES=20 NAMES_PER_ZONE=50 REPS=1 benches/cold.sh      # quicker
#
# The hierarchy is benches/cold_authority.rs (ferret's in-process test authority with a delay on
# every answer, pinned to CLIENT_CORE with the load generator): the root on 127.211.0.1, cold. on
# 127.211.1.1, ZONES zones zI.cold. on LEAF_SERVERS servers 127.211.2.x, NAMES_PER_ZONE names
# each, so K = ZONES x NAMES_PER_ZONE names in ZONES zones, asked in a fixed shuffled order.
# ferret (127.211.9.1) and Unbound (127.211.9.2, one thread) are pinned to SERVER_CORE and
# started afresh, with empty caches, for every round; rounds alternate ferret, Unbound.
# Each round sends every name once with benches/loadgen.rs (--once) and reports the wall time from
# the first query to the last answer, and the queries the authoritative servers received (UDP and
# TCP, root priming included) divided by K.
#
# DNSSEC: the hierarchy is unsigned and Unbound runs iterator-only, so ferret runs with --no-dnssec
# (apples to apples: its default, validating with the built-in root anchors, would make every
# answer bogus here). benches/cold_dnssec.sh is the validating counterpart, on a signed hierarchy.
#
# Settings (environment): ZONES (50), NAMES_PER_ZONE (100), LEAF_SERVERS (4), LATENCY_MS (5),
# CONCURRENCY (100: sockets x window of the generator; must be a multiple of 10), REPS (3),
# SERVER_CORE (0), CLIENT_CORE (1), SKIP_BUILD=1, KEEP_TMP=1.
#
# Needs: unbound, dig, taskset, python3, root (port 53).

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH_SCRIPT=$BENCH_DIR/cold.sh
# shellcheck source=lib/common.sh
. "$BENCH_DIR/lib/common.sh"
bench_reexec_under_reaper "$@"
bench_init cold "$@"

BLOCK=211
ZONES=${ZONES:-50}
NAMES_PER_ZONE=${NAMES_PER_ZONE:-100}
LEAF_SERVERS=${LEAF_SERVERS:-4}
LATENCY_MS=${LATENCY_MS:-5}
CONCURRENCY=${CONCURRENCY:-100}
REPS=${REPS:-3}
FERRET_IP=127.$BLOCK.9.1
UNBOUND_IP=127.$BLOCK.9.2
LOADGEN_SOURCE=127.$BLOCK.250.1
K=$((ZONES * NAMES_PER_ZONE))
[ $((CONCURRENCY % 10)) -eq 0 ] || die "CONCURRENCY must be a multiple of 10"

require_tools unbound unbound-checkconf dig taskset setsid python3
build_release --example loadgen --example cold_authority

START_LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
log "$(machine_summary | tr '\n' ';')"

start_cold_authority

RESULTS_TSV=$BENCH_TMP/cold.tsv
: >"$RESULTS_TSV"

# round SERVER IP REP: a fresh resolver, every name once, the upstream query count.
round() {
    local server=$1 ip=$2 rep=$3 pid out queries before after
    if [ "$server" = ferret ]; then
        start_ferret "$ip" "$BENCH_TMP/root.hints" --cache-size 1000000 --no-dnssec
    else
        start_unbound "$ip" "$BENCH_TMP/root.hints"
    fi
    pid=$STARTED_PID
    authority clear
    [ "$AUTH_REPLY" = OK ] || die "the authority did not clear its log: $AUTH_REPLY"
    out=$BENCH_TMP/cold-$server-$rep.txt
    before=$(cpu_ticks "$pid")
    loadgen --server "$ip:53" --source "$LOADGEN_SOURCE" --queries "$BENCH_TMP/names.txt" --once \
        --sockets $((CONCURRENCY / 10)) --window 10 --batch 10 --duration 600 \
        --timeout-ms 10000 >"$out"
    after=$(cpu_ticks "$pid")
    authority count
    queries=${AUTH_REPLY#COUNT }
    authority "dump $BENCH_TMP/upstream-$server-$rep.txt"
    stop_and_forget "$pid"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$server" "$rep" "$(result_field run_s "$out")" \
        "$(result_field answered "$out")" "$(result_field servfail "$out")" \
        "$(result_field lost "$out")" "$queries" "$(result_field lat_p99_us "$out")" \
        "$(awk -v a="$before" -v b="$after" -v hz="$CLK_TCK" 'BEGIN {printf "%.2f", (b - a) / hz}')" \
        >>"$RESULTS_TSV"
    log "$server #$rep: $(result_field run_s "$out") s for $K names, $(result_field answered "$out") answered ($(result_field noerror "$out") NOERROR, $(result_field servfail "$out") SERVFAIL, $(result_field lost "$out") lost), $queries upstream queries, resolver CPU $(tail -1 "$RESULTS_TSV" | cut -f9) s"
}

for rep in $(seq 1 "$REPS"); do
    round ferret "$FERRET_IP" "$rep"
    round unbound "$UNBOUND_IP" "$rep"
done

echo
echo "== benches/cold.sh: K=$K names in $ZONES zones, $LATENCY_MS ms per upstream answer, $CONCURRENCY in flight, REPS=$REPS =="
echo "load average at start (1, 5, 15 min): $START_LOAD"
machine_summary
python3 - "$RESULTS_TSV" "$K" <<'EOF'
import statistics, sys
rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1])]
k = int(sys.argv[2])
def med(server, col):
    return statistics.median(float(r[col]) for r in rows if r[0] == server)
def total(server, col):
    return sum(int(r[col]) for r in rows if r[0] == server)
print()
print("| resolver | wall time, s (median) | names/s | upstream queries per name (median) | p99 latency, ms (median) | resolver CPU, s (median) | SERVFAIL / lost, all rounds |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
for s in ("ferret", "unbound"):
    wall = med(s, 2)
    print(f"| {s} | {wall:.2f} | {k / wall:,.0f} | {med(s, 6) / k:.3f} | {med(s, 7) / 1000:.1f} | {med(s, 8):.2f} | {total(s, 4)} / {total(s, 5)} |")
fw, uw = med("ferret", 2), med("unbound", 2)
fq, uq = med("ferret", 6), med("unbound", 6)
print(f"\nferret/unbound: wall time {fw / uw:.2f}x, upstream queries {fq / uq:.2f}x (lower is better)")
EOF

# What the queries were, for the last round: by server level and type.
echo
echo "upstream queries of the last round, by server and type (root 127.$BLOCK.0.1, cold. 127.$BLOCK.1.1, leaves 127.$BLOCK.2.x):"
for server in ferret unbound; do
    echo "  $server: $(awk -v b="127.$BLOCK." '{
            level = ($1 == b "0.1") ? "root" : ($1 == b "1.1") ? "tld" : "leaf"
            n[level " " $3 ($4 == "tcp" ? "/tcp" : "")]++
        } END {for (k in n) print k, n[k]}' "$BENCH_TMP/upstream-$server-$REPS.txt" |
        sort | paste -sd, | sed 's/,/, /g')"
done
