#!/usr/bin/env bash
# Soak benchmark: ferret under a minute (DURATION) of dnsperf at the highest rate it takes, with a
# query mix of cached names and never-seen random names, against a fake DNS hierarchy of three NSD
# servers on loopback. Reports QPS, lost queries, ferret's peak RSS (VmHWM), and its RSS every
# 5 seconds, which must level off once the (deliberately small) cache is full.
#
#   benches/soak.sh                    # build ferret (release) and run
#   DURATION=30 CACHE_SIZE=5000 benches/soak.sh
#
# Needs root (every server listens on port 53 of its own 127.161.x.y address), nsd, dnsperf and
# dig (Debian packages nsd, dnsperf, dnsutils). Everything listens and is queried on 127.161.0.0/16
# only; ferret's root hints name the fake root; every dnsperf run is bounded in time. All the
# servers it starts are stopped when it exits, however it exits.
set -euo pipefail

DURATION=${DURATION:-60}         # seconds of load
CACHE_SIZE=${CACHE_SIZE:-20000}  # ferret --cache-size: small, so the random names fill it
HOSTS=${HOSTS:-50000}            # explicit names in the leaf zone
POPULAR=${POPULAR:-1000}         # of which the query mix repeats this many (they stay cached)
QUERY_LINES=${QUERY_LINES:-800000}
CLIENTS=${CLIENTS:-2}            # dnsperf -c
OUTSTANDING=${OUTSTANDING:-100}  # dnsperf -q: queries in flight; no -Q, so no rate cap
THREADS=${THREADS:-2}            # ferret --threads
FERRET_ARGS=${FERRET_ARGS:-}     # more ferret flags (default "--log-level warn")
KEEP=${KEEP:-}                   # KEEP=1: keep the work directory (logs, zones, dnsperf output)
SAMPLE_EVERY=5

ROOT=127.161.0.1
TLD=127.161.1.1
LEAF=127.161.2.1
FERRET=127.161.200.1
CLIENT=127.161.100.1

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$HERE")
WORK=$(mktemp -d /tmp/ferret-soak.XXXXXX)
PIDS=()      # process groups we started (NSD forks; its children are in the group)
SAMPLER=""

log() { printf '%s %s\n' "$(date +%T)" "$*" >&2; }

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    if [ -n "$SAMPLER" ]; then kill "$SAMPLER" 2>/dev/null || true; fi
    for pid in "${PIDS[@]}"; do
        kill -TERM -- "-$pid" 2>/dev/null || true
    done
    sleep 1
    for pid in "${PIDS[@]}"; do
        kill -KILL -- "-$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [ -n "$KEEP" ]; then
        echo "soak: kept $WORK" >&2
    else
        rm -rf "$WORK"
    fi
    exit "$status"
}
trap cleanup EXIT INT TERM

need() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || { echo "soak: $1 is not installed" >&2; exit 1; }; }
need dnsperf
need nsd
need dig
need curl
NSD=$(command -v nsd || echo /usr/sbin/nsd)

# A program started as the leader of its own process group (setsid), so that cleanup reaches
# every process it forks. Prints its pid.
start_group() {
    local logfile=$1
    shift
    setsid "$@" >>"$logfile" 2>&1 </dev/null &
    echo $!
}

# Waits until $1 answers "$2 SOA" (or any query, for ferret), at most 10 s.
wait_answering() {
    local server=$1 name=$2 flags=$3
    for _ in $(seq 1 100); do
        if dig +time=1 +tries=1 $flags @"$server" "$name" SOA >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.1
    done
    echo "soak: $server does not answer $name" >&2
    return 1
}

fill_template() {
    sed -e "s/@ROOT@/$ROOT/g" -e "s/@TLD@/$TLD/g" -e "s/@LEAF@/$LEAF/g" "$1" >"$2"
}

start_nsd() {
    local ip=$1 zone=$2 file=$3 dir="$WORK/nsd-$1"
    mkdir -p "$dir"
    cat >"$dir/nsd.conf" <<EOF
server:
    ip-address: $ip@53
    do-ip4: yes
    do-ip6: no
    username: ""
    chroot: ""
    zonesdir: "$dir"
    database: ""
    zonelistfile: "$dir/zone.list"
    xfrdfile: "$dir/xfrd.state"
    xfrdir: "$dir"
    pidfile: "$dir/nsd.pid"
    logfile: "$dir/nsd.log"
    verbosity: 0
    server-count: 1
    hide-version: yes
    # NSD's response rate limiting (on by default, 200 answers a second per client network and
    # answer class) would drop most of ferret's queries for the wildcard: ferret is one client.
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
remote-control:
    control-enable: no
zone:
    name: "$zone"
    zonefile: "$file"
EOF
    PIDS+=("$(start_group "$dir/nsd.log" "$NSD" -d -c "$dir/nsd.conf")")
    wait_answering "$ip" "$zone" +norec
}

# --- the fake hierarchy ---------------------------------------------------------------------------
fill_template "$HERE/soak/root.zone" "$WORK/root.zone"
fill_template "$HERE/soak/soak.zone" "$WORK/soak.zone"
fill_template "$HERE/soak/bench.soak.zone" "$WORK/bench.soak.zone"
awk -v n="$HOSTS" 'BEGIN { for (i = 0; i < n; i++) printf "h%d IN A 198.51.100.%d\n", i, i % 250 + 1 }' \
    >>"$WORK/bench.soak.zone"
log "starting NSD: root $ROOT, soak. $TLD, bench.soak. $LEAF ($HOSTS hosts + wildcard)"
start_nsd "$ROOT" . "$WORK/root.zone"
start_nsd "$TLD" soak. "$WORK/soak.zone"
start_nsd "$LEAF" bench.soak. "$WORK/bench.soak.zone"
printf '. 3600000 NS ns.root-servers.soak.\nns.root-servers.soak. 3600000 A %s\n' "$ROOT" >"$WORK/root.hints"

# --- ferret ---------------------------------------------------------------------------------------
if [ -z "${FERRET_BIN:-}" ]; then
    log "building ferret (release)"
    (cd "$REPO" && cargo build --release --quiet --bin ferret)
    FERRET_BIN="${CARGO_TARGET_DIR:-$REPO/target}/release/ferret"
fi
log "starting ferret on $FERRET: --cache-size $CACHE_SIZE --threads $THREADS"
# FERRET_ARGS is split into words on purpose.
# shellcheck disable=SC2086
FERRET_PID=$(start_group "$WORK/ferret.log" "$FERRET_BIN" \
    --listen "$FERRET:53" --metrics-listen "$FERRET:9153" \
    --root-hints "$WORK/root.hints" --allow-loopback-upstream \
    --no-ipv6-upstream --cache-size "$CACHE_SIZE" --threads "$THREADS" \
    --no-control-socket ${FERRET_ARGS:---log-level warn})
PIDS+=("$FERRET_PID")
wait_answering "$FERRET" bench.soak. ""

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

rss_kb() { awk -v key="$1:" '$1 == key { print $2 }' "/proc/$FERRET_PID/status"; }

# --- the load, with RSS samples -------------------------------------------------------------------
(
    start=$(date +%s)
    while kill -0 "$FERRET_PID" 2>/dev/null; do
        echo "$(($(date +%s) - start)) $(rss_kb VmRSS)"
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
SAMPLER=""

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
echo "ferret peak RSS:   $(rss_kb VmHWM) kB (VmHWM)"
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
    cat "$WORK/ferret.log" >&2
    exit 1
fi
