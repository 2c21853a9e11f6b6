#!/usr/bin/env bash
# Soak benchmark: ferret under a minute (DURATION) of dnsperf at the highest rate it takes, with a
# query mix of cached names and never-seen random names, against a fake DNS hierarchy of three NSD
# servers on loopback. Reports QPS, lost queries, ferret's peak RSS (VmHWM), and its RSS every
# 5 seconds, which must level off once the (deliberately small) cache is full.
#
#   benches/soak.sh                    # build ferret (release) and run
#   DURATION=30 CACHE_SIZE=5000 benches/soak.sh
#
# DNSSEC: the hierarchy is unsigned, so ferret runs with --no-dnssec (validating with its built-in
# root anchors, every answer would be bogus and the soak would measure SERVFAILs), as in cold.sh
# and memory.sh, where Unbound is iterator-only.
#
# Settings (environment): DURATION (60), CACHE_SIZE (20000), HOSTS (50000 names in the leaf
# zone), POPULAR (1000 of them repeated, so they stay cached), QUERY_LINES (800000), CLIENTS
# (dnsperf -c, 2), OUTSTANDING (dnsperf -q, 100; no -Q, so no rate cap), THREADS (ferret
# --threads, 2), SERVER_CORE (cores ferret may use, 0,1), FERRET_ARGS (more ferret flags),
# SKIP_BUILD=1, KEEP_TMP=1 (keep logs, zones and dnsperf output).
#
# Needs root (every server listens on port 53 of its own 127.161.x.y address), nsd, dnsperf, dig
# and curl. Everything listens and is queried on 127.161.0.0/16 only; ferret's root hints name
# the fake root; every dnsperf run is bounded in time. All the servers it starts are stopped when
# it exits, however it exits (benches/lib/common.sh).

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH_SCRIPT=$BENCH_DIR/soak.sh
# shellcheck source=lib/common.sh
. "$BENCH_DIR/lib/common.sh"
bench_reexec_under_reaper "$@"
# ferret runs with THREADS threads, on both cores unless told otherwise.
SERVER_CORE=${SERVER_CORE:-0,1}
bench_init soak "$@"

DURATION=${DURATION:-60}
CACHE_SIZE=${CACHE_SIZE:-20000}
HOSTS=${HOSTS:-50000}
POPULAR=${POPULAR:-1000}
QUERY_LINES=${QUERY_LINES:-800000}
CLIENTS=${CLIENTS:-2}
OUTSTANDING=${OUTSTANDING:-100}
THREADS=${THREADS:-2}
SAMPLE_EVERY=5

ROOT=127.161.0.1
TLD=127.161.1.1
LEAF=127.161.2.1
FERRET=127.161.200.1
CLIENT=127.161.100.1
WORK=$BENCH_TMP

require_tools nsd dnsperf dig curl taskset setsid python3
build_release

fill_template() {
    sed -e "s/@ROOT@/$ROOT/g" -e "s/@TLD@/$TLD/g" -e "s/@LEAF@/$LEAF/g" "$1" >"$2"
}

# --- the fake hierarchy ---------------------------------------------------------------------------
fill_template "$BENCH_DIR/soak/root.zone" "$WORK/root.zone"
fill_template "$BENCH_DIR/soak/soak.zone" "$WORK/soak.zone"
fill_template "$BENCH_DIR/soak/bench.soak.zone" "$WORK/bench.soak.zone"
awk -v n="$HOSTS" 'BEGIN { for (i = 0; i < n; i++) printf "h%d IN A 198.51.100.%d\n", i, i % 250 + 1 }' \
    >>"$WORK/bench.soak.zone"
log "starting NSD: root $ROOT, soak. $TLD, bench.soak. $LEAF ($HOSTS hosts + wildcard)"
start_nsd root "$WORK/nsd-root" "$ROOT" ".=$WORK/root.zone"
start_nsd tld "$WORK/nsd-tld" "$TLD" "soak.=$WORK/soak.zone"
start_nsd leaf "$WORK/nsd-leaf" "$LEAF" "bench.soak.=$WORK/bench.soak.zone"
printf '. 3600000 NS ns.root-servers.soak.\nns.root-servers.soak. 3600000 A %s\n' "$ROOT" >"$WORK/root.hints"

# --- ferret ---------------------------------------------------------------------------------------
# FERRET_ARGS is split into words on purpose.
# shellcheck disable=SC2086
start_ferret "$FERRET" "$WORK/root.hints" --metrics-listen "$FERRET:9153" \
    --cache-size "$CACHE_SIZE" --threads "$THREADS" --no-control-socket --no-dnssec ${FERRET_ARGS:-}
FERRET_PID=$STARTED_PID
wait_answer "$FERRET" bench.soak. SOA +rec 30 || die "ferret does not resolve bench.soak."

# --- the query mix --------------------------------------------------------------------------------
# Half the lines are the POPULAR cached names; the rest never-seen random names, 4 of 5 under the
# wildcard (a new positive entry each) and 1 of 5 NXDOMAIN (a new negative entry each).
log "writing $QUERY_LINES queries"
awk -v lines="$QUERY_LINES" -v popular="$POPULAR" -v seed="$RANDOM" 'BEGIN {
    srand(seed)
    for (i = 0; i < lines; i++) {
        r = rand()
        if (r < 0.5)      printf "h%d.bench.soak A\n", int(rand() * popular)
        else if (r < 0.9) printf "r%x%x.w.bench.soak A\n", int(rand() * 2^30), i
        else              printf "nx%x%x.bench.soak A\n", int(rand() * 2^30), i
    }
}' >"$WORK/queries.txt"
awk -v popular="$POPULAR" 'BEGIN { for (i = 0; i < popular; i++) printf "h%d.bench.soak A\n", i }' \
    >"$WORK/warmup.txt"

log "warming the cache with the $POPULAR popular names"
timeout 30 dnsperf -s "$FERRET" -a "$CLIENT" -d "$WORK/warmup.txt" -n 1 -l 10 -t 5 \
    >"$WORK/warmup.out" 2>&1 || true

# ferret_kb KEY: a memory figure (VmRSS, VmHWM) of ferret, in kB.
ferret_kb() { awk -v key="$1:" '$1 == key { print $2 }' "/proc/$FERRET_PID/status"; }

# --- the load, with RSS samples -------------------------------------------------------------------
(
    start=$(date +%s)
    while kill -0 "$FERRET_PID" 2>/dev/null; do
        echo "$(($(date +%s) - start)) $(ferret_kb VmRSS)"
        sleep "$SAMPLE_EVERY"
    done
) >"$WORK/rss.txt" &
SAMPLER=$!
log "dnsperf for ${DURATION}s: -c $CLIENTS -q $OUTSTANDING, no rate limit"
timeout $((DURATION + 30)) dnsperf -s "$FERRET" -a "$CLIENT" -d "$WORK/queries.txt" \
    -l "$DURATION" -c "$CLIENTS" -q "$OUTSTANDING" -t 5 -S 10 >"$WORK/dnsperf.out" 2>&1 || true
sleep 1
kill "$SAMPLER" 2>/dev/null || true
wait "$SAMPLER" 2>/dev/null || true

# --- report ---------------------------------------------------------------------------------------
field() { awk -v key="$1" 'index($0, key) { sub(/^.*: */, ""); print; exit }' "$WORK/dnsperf.out"; }
if ! grep -q "Queries per second" "$WORK/dnsperf.out"; then
    echo "soak: dnsperf did not finish; its output:" >&2
    cat "$WORK/dnsperf.out" >&2
    exit 1
fi
echo "== soak: ${DURATION}s, cache-size $CACHE_SIZE, $THREADS ferret threads, dnsperf -c $CLIENTS -q $OUTSTANDING"
echo "queries sent:      $(field 'Queries sent')"
echo "queries completed: $(field 'Queries completed')"
echo "queries lost:      $(field 'Queries lost')"
echo "response codes:    $(field 'Response codes')"
echo "QPS:               $(field 'Queries per second')"
echo "latency:           $(field 'Average Latency')"
echo "ferret peak RSS:   $(ferret_kb VmHWM) kB (VmHWM)"
metric() { curl -s --max-time 5 "http://$FERRET:9153/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
echo "cache entries:     $(metric ferret_cache_entries) RRset, $(metric ferret_message_cache_entries) message (evicted: $(metric ferret_cache_evictions_total))"
echo "ferret RSS every ${SAMPLE_EVERY}s (seconds, kB):"
awk '{ printf "  %4d s  %8d kB\n", $1, $2 }' "$WORK/rss.txt"
# Flat means: once the cache is full, the second half of the run adds (almost) nothing.
awk -v half=$((DURATION / 2)) '$1 <= half { mid = $2 } { last = $2 }
    END { printf "RSS growth, second half of the run: %d kB (%d -> %d kB)\n", last - mid, mid, last }' \
    "$WORK/rss.txt"
echo "load average:      $(cut -d' ' -f1-3 /proc/loadavg)"
if ! kill -0 "$FERRET_PID" 2>/dev/null; then
    echo "soak: ferret is gone; its log:" >&2
    cat "$WORK/ferret-$FERRET.log" >&2
    exit 1
fi
