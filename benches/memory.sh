#!/usr/bin/env bash
# Memory per cached name, ferret against Unbound: fill each cache with COUNT distinct names and
# divide the growth of the resolver's resident set (VmRSS) by the names cached.
#
#   benches/memory.sh                  # 1,000,000 names
#   COUNT=100000 benches/memory.sh     # quicker
#
# Three real NSDs on loopback: the root (127.212.0.1), bench. (127.212.1.1) and mem.bench.
# (127.212.2.1), whose wildcard *.mem.bench. A makes every nI.mem.bench. exist. For each resolver
# in turn (ferret on 127.212.9.1, Unbound with one thread and caches too large to evict anything
# on 127.212.9.2, pinned to SERVER_CORE):
#   1. start it, resolve 1000 other names (so the delegation and the allocator's first arenas
#      exist), read VmRSS;
#   2. resolve nI.mem.bench. A for I < COUNT, each once (benches/loadgen.rs --once, pinned to
#      CLIENT_CORE), wait 2 s, read VmRSS again: (after - before) / names answered;
#   3. check that the names are cached for real: stop the mem.bench. server, ask a random sample
#      of SAMPLE names again, and count those still answered NOERROR (from the cache, since no
#      server could answer them now). Then the server is started again for the next resolver.
#
# DNSSEC: the hierarchy is unsigned and Unbound runs iterator-only, so ferret runs with --no-dnssec
# (apples to apples; validating with its built-in root anchors, it would cache SERVFAILs here).
#
# Settings (environment): COUNT (1000000), SAMPLE (1000), FILL_WINDOW (50 per socket, 4 sockets),
# SERVER_CORE (0), CLIENT_CORE (1), SKIP_BUILD=1, KEEP_TMP=1.
#
# Needs: nsd, unbound, dig, taskset, python3, root (port 53), about COUNT x 2 kB of free memory.

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH_SCRIPT=$BENCH_DIR/memory.sh
# shellcheck source=lib/common.sh
. "$BENCH_DIR/lib/common.sh"
bench_reexec_under_reaper "$@"
bench_init memory "$@"

BLOCK=212
COUNT=${COUNT:-1000000}
SAMPLE=${SAMPLE:-1000}
FILL_WINDOW=${FILL_WINDOW:-50}
FERRET_IP=127.$BLOCK.9.1
UNBOUND_IP=127.$BLOCK.9.2
LOADGEN_SOURCE=127.$BLOCK.250.1
LEAF_IP=127.$BLOCK.2.1

require_tools nsd unbound unbound-checkconf dig taskset setsid python3 shuf
build_release --example loadgen

DATA=$BENCH_TMP/data
python3 "$BENCH_DIR/gen_data.py" memory --out "$DATA" --block "$BLOCK" --count "$COUNT"
for i in $(seq 0 999); do echo "base$i.mem.bench. A"; done >"$DATA/baseline.txt"
shuf -n "$SAMPLE" --random-source=<(yes 2>/dev/null) "$DATA/queries.txt" >"$DATA/sample.txt"

START_LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
log "$(machine_summary | tr '\n' ';')"

start_nsd tld "$BENCH_TMP/nsd-tld" "127.$BLOCK.1.1" "bench.=$DATA/bench.zone"
start_nsd root "$BENCH_TMP/nsd-root" "127.$BLOCK.0.1" ".=$DATA/root.zone"

RESULTS_TSV=$BENCH_TMP/memory.tsv
: >"$RESULTS_TSV"

measure() {
    local server=$1 ip=$2 pid leaf rss_before rss_after out
    start_nsd leaf "$BENCH_TMP/nsd-leaf-$server" "$LEAF_IP" "mem.bench.=$DATA/mem.zone"
    leaf=$STARTED_PID
    if [ "$server" = ferret ]; then
        # Room for every name with a margin, since the capacity is split over shards that names
        # do not fill evenly; not more, since ferret's LRU tables are allocated at capacity.
        start_ferret "$ip" "$DATA/root.hints" --cache-size $((COUNT + COUNT / 10 + 10000)) \
            --no-dnssec
    else
        # Far above what COUNT names need, so Unbound evicts nothing; it allocates as it fills.
        start_unbound "$ip" "$DATA/root.hints" "    msg-cache-size: 2g
    rrset-cache-size: 4g"
    fi
    pid=$STARTED_PID
    loadgen --server "$ip:53" --source "$LOADGEN_SOURCE" --queries "$DATA/baseline.txt" --once \
        --sockets 4 --window 10 --duration 60 >"$BENCH_TMP/baseline-$server.txt"
    sleep 1
    rss_before=$(rss_kb "$pid")
    out=$BENCH_TMP/fill-$server.txt
    loadgen --server "$ip:53" --source "$LOADGEN_SOURCE" --queries "$DATA/queries.txt" --once \
        --sockets 4 --window "$FILL_WINDOW" --duration 3600 --timeout-ms 5000 >"$out"
    sleep 2
    rss_after=$(rss_kb "$pid")
    log "$server: filled in $(result_field run_s "$out") s: $(grep -E '^  (sent|NOERROR)' "$out" | tr -s ' ' | tr '\n' ';'); VmRSS $rss_before -> $rss_after KiB"

    stop_and_forget "$leaf"
    loadgen --server "$ip:53" --source "$LOADGEN_SOURCE" --queries "$DATA/sample.txt" --once \
        --sockets 4 --window 10 --duration 120 --timeout-ms 3000 >"$BENCH_TMP/sample-$server.txt"
    log "$server: sample of $SAMPLE with mem.bench. down: $(result_field noerror "$BENCH_TMP/sample-$server.txt") NOERROR"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$server" "$(result_field noerror "$out")" \
        "$(result_field answered "$out")" "$rss_before" "$rss_after" \
        "$(result_field noerror "$BENCH_TMP/sample-$server.txt")" "$(result_field run_s "$out")" \
        >>"$RESULTS_TSV"
    stop_and_forget "$pid"
}

measure ferret "$FERRET_IP"
measure unbound "$UNBOUND_IP"

echo
echo "== benches/memory.sh: COUNT=$COUNT names =="
echo "load average at start (1, 5, 15 min): $START_LOAD"
machine_summary
python3 - "$RESULTS_TSV" "$SAMPLE" <<'EOF'
import sys
rows = {r[0]: r for r in (line.rstrip("\n").split("\t") for line in open(sys.argv[1]))}
sample = int(sys.argv[2])
print()
print("| resolver | names cached (NOERROR) | VmRSS before, MiB | VmRSS after, MiB | bytes of RSS per cached name | sample still cached with the server down | fill time, s |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
per = {}
for s in ("ferret", "unbound"):
    _, noerror, _answered, before, after, sampled, run_s = rows[s]
    noerror, before, after = int(noerror), int(before), int(after)
    per[s] = (after - before) * 1024 / noerror if noerror else float("nan")
    print(f"| {s} | {noerror:,} | {before / 1024:,.1f} | {after / 1024:,.1f} | {per[s]:,.0f} | {sampled} of {sample} | {float(run_s):.1f} |")
print(f"\nferret/unbound RSS per cached name: {per['ferret'] / per['unbound']:.2f}x (lower is better)")
EOF
