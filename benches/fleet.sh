#!/usr/bin/env bash
# A fleet of ferrets (issue 12): dnsdist in front of NODES ferrets, with and without the shared
# Redis tier, against one ferret alone.
#
#   benches/fleet.sh
#   ZONES=20 NAMES_PER_ZONE=50 REPS=1 DURATION=5 benches/fleet.sh      # quicker
#
# The hierarchy is benches/cold_authority.rs (as in benches/cold.sh: every answer delayed by
# LATENCY_MS, every query counted): the root on 127.188.0.1, cold. on 127.188.1.1, ZONES zones on
# LEAF_SERVERS servers 127.188.2.x, K = ZONES x NAMES_PER_ZONE names. ferret nodes listen on
# 127.188.9.N:53, dnsdist on 127.188.10.1:53 (its console on 127.188.10.2:5199, loopback, with a key
# made for the run), Redis on 127.188.11.1:6379. Three setups, alternated in every rep, each started
# afresh with empty caches:
#
#   single   one ferret, asked directly: what one node sends upstream
#   local    NODES ferrets behind dnsdist, no shared tier: each node resolves for itself
#   shared   NODES ferrets behind dnsdist on one Redis (--shared-cache redis://127.188.11.1:6379/0)
#
# Each round sends every name once (the cold pass), then every name again in another order (the
# second pass: with POLICY=roundrobin, the default, or leastOutstanding, a name's second ask mostly
# reaches another node than its first), both with benches/loadgen.rs (--once, CONCURRENCY in
# flight), and counts the queries the authorities received in each pass. Then dnsperf sends the
# names through the front (dnsdist, or the single ferret) for DURATION seconds: the cached QPS, the
# CPU the nodes and dnsdist spent per answer, and the upstream queries during that run.
#
# Last, the cost of the Redis round trip on a local miss, in REPS rounds of the shared setup with
# two nodes asked directly (no dnsdist): LAT_NAMES names never asked before (their zones'
# delegations already cached on both nodes, so a cold miss is one leaf query), one at a time
# (loadgen, one query in flight), to node 1 (a full cold miss: resolved upstream), then to node 2
# (not in its cache, in Redis: a shared hit), then to node 2 again (a local hit). The median
# per-query latency of each, and the upstream queries of each pass.
#
# Placement on two cores: the ferrets and Redis on SERVER_CORE; dnsdist, the authority and the
# client on CLIENT_CORE. On a machine this small the QPS figures measure contention as much as
# anything; the per-answer CPU and the upstream counts do not depend on load.
#
# Settings (environment): NODES (2), POLICY (roundrobin; leastOutstanding; chashed sends a name to
# the same node every time), ZONES (50), NAMES_PER_ZONE (100), LEAF_SERVERS (4), LATENCY_MS (5),
# CONCURRENCY (100, a multiple of 10), DURATION (10), DNSPERF_CLIENTS (4), DNSPERF_OUTSTANDING (100),
# LAT_NAMES (300, 0: no latency phase), SETUPS ("single local shared"), REPS (3), SERVER_CORE (0),
# CLIENT_CORE (1), SKIP_BUILD=1, KEEP_TMP=1.
#
# Needs: dnsdist, redis-server, redis-cli, dnsperf, dig, taskset, python3, root (port 53), and a
# ferret with --shared-cache.

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH_SCRIPT=$BENCH_DIR/fleet.sh
# shellcheck source=lib/common.sh
. "$BENCH_DIR/lib/common.sh"
bench_reexec_under_reaper "$@"
bench_init fleet "$@"

BLOCK=188
NODES=${NODES:-2}
POLICY=${POLICY:-roundrobin}
ZONES=${ZONES:-50}
NAMES_PER_ZONE=${NAMES_PER_ZONE:-100}
LEAF_SERVERS=${LEAF_SERVERS:-4}
LATENCY_MS=${LATENCY_MS:-5}
CONCURRENCY=${CONCURRENCY:-100}
DURATION=${DURATION:-10}
DNSPERF_CLIENTS=${DNSPERF_CLIENTS:-4}
DNSPERF_OUTSTANDING=${DNSPERF_OUTSTANDING:-100}
LAT_NAMES=${LAT_NAMES:-300}
REPS=${REPS:-3}
SETUPS=${SETUPS:-single local shared}
DNSDIST_IP=127.$BLOCK.10.1
CONSOLE=127.$BLOCK.10.2:5199
REDIS_IP=127.$BLOCK.11.1
REDIS_PORT=6379
REDIS_URL=redis://$REDIS_IP:$REDIS_PORT/0
LOADGEN_SOURCE=127.$BLOCK.250.1
K=$((ZONES * NAMES_PER_ZONE))
[ $((CONCURRENCY % 10)) -eq 0 ] || die "CONCURRENCY must be a multiple of 10"
[ "$NODES" -ge 1 ] && [ "$NODES" -le 50 ] || die "NODES must be 1..50"
case $POLICY in roundrobin | leastOutstanding | chashed | firstAvailable) ;; *) die "POLICY $POLICY?" ;; esac

require_tools dnsdist redis-server redis-cli dnsperf dig taskset setsid python3 base64
build_release --example loadgen --example cold_authority
START_LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
log "$(machine_summary | tr '\n' ';')"

start_cold_authority

# upstream_count: queries the authorities received since the last `authority clear`.
upstream_count() {
    authority count
    UPSTREAM=${AUTH_REPLY#COUNT }
}

authority_clear() {
    authority clear
    [ "$AUTH_REPLY" = OK ] || die "the authority did not clear its log: $AUTH_REPLY"
}

# The second pass asks the same names in another (fixed) order; the latency phase uses the last
# LAT_NAMES names of that order.
python3 - "$BENCH_TMP/names.txt" "$BENCH_TMP/names2.txt" <<'EOF'
import random, sys
lines = open(sys.argv[1]).read().splitlines()
random.Random(2).shuffle(lines)
open(sys.argv[2], "w").write("\n".join(lines) + "\n")
EOF
[ "$LAT_NAMES" -lt "$K" ] || die "LAT_NAMES must be less than K=$K"
tail -n "$LAT_NAMES" "$BENCH_TMP/names2.txt" >"$BENCH_TMP/latency-names.txt"

# --- Redis ------------------------------------------------------------------------------------

REDIS_PID=
start_redis() {
    local dir=$BENCH_TMP/redis
    mkdir -p "$dir"
    ! redis-cli -h "$REDIS_IP" -p "$REDIS_PORT" PING >/dev/null 2>&1 ||
        die "something already answers Redis on $REDIS_IP:$REDIS_PORT"
    start_group "$dir/redis.log" taskset -c "$SERVER_CORE" redis-server --bind "$REDIS_IP" \
        --port "$REDIS_PORT" --dir "$dir" --save "" --appendonly no --daemonize no --logfile "" \
        --protected-mode no
    REDIS_PID=$STARTED_PID
    local i
    for i in $(seq 1 100); do
        [ "$(redis-cli -h "$REDIS_IP" -p "$REDIS_PORT" PING 2>/dev/null)" = PONG ] && break
        sleep 0.1
    done
    [ "$(redis-cli -h "$REDIS_IP" -p "$REDIS_PORT" PING 2>/dev/null)" = PONG ] ||
        die "redis did not start: $(cat "$dir/redis.log")"
    log "redis on $REDIS_IP:$REDIS_PORT (pid $REDIS_PID, core $SERVER_CORE)"
}

redis() {
    timeout 10 redis-cli -h "$REDIS_IP" -p "$REDIS_PORT" "$@"
}

# --- ferret nodes -------------------------------------------------------------------------------

NODE_PIDS=()
# start_nodes COUNT [FLAGS...]: ferrets on 127.188.9.1 ... 127.188.9.COUNT.
start_nodes() {
    local count=$1 n
    shift
    NODE_PIDS=()
    for n in $(seq 1 "$count"); do
        start_ferret "127.$BLOCK.9.$n" "$BENCH_TMP/root.hints" --cache-size 1000000 --no-dnssec \
            --no-control-socket --metrics-listen "127.$BLOCK.12.$n:9153" "$@"
        NODE_PIDS+=("$STARTED_PID")
    done
}

stop_nodes() {
    local pid
    for pid in "${NODE_PIDS[@]}"; do
        stop_and_forget "$pid"
    done
    NODE_PIDS=()
}

# shared_counters: the shared-cache counters summed over the running nodes, as
# "hits misses errors writes dropped".
shared_counters() {
    local n i metric sums=()
    for metric in hits misses errors writes dropped_writes; do
        local total=0 value
        for i in $(seq 1 "${#NODE_PIDS[@]}"); do
            value=$(curl -s --max-time 5 "http://127.$BLOCK.12.$i:9153/metrics" |
                awk -v m="ferret_shared_cache_${metric}_total" '$1 == m || index($1, m "{") == 1 {s += $2} END {print s + 0}')
            total=$(awk -v a="$total" -v b="$value" 'BEGIN {print a + b}')
        done
        sums+=("$total")
    done
    echo "${sums[*]}"
}

nodes_cpu_ticks() {
    local pid total=0
    for pid in "${NODE_PIDS[@]}"; do
        total=$((total + $(cpu_ticks "$pid")))
    done
    echo "$total"
}

# --- dnsdist ------------------------------------------------------------------------------------

DNSDIST_PID=
DNSDIST_CONF=$BENCH_TMP/dnsdist.conf
# start_dnsdist COUNT: dnsdist on DNSDIST_IP:53 in front of the first COUNT nodes, pinned to
# CLIENT_CORE, once every backend is marked up.
start_dnsdist() {
    local count=$1 n key
    key=$(head -c 32 /dev/urandom | base64 -w0)
    {
        echo "-- benches/fleet.sh: dnsdist in front of $count ferrets, all on loopback."
        echo '-- Never poll security status: a DNS lookup of a public name (secpoll.powerdns.com).'
        echo 'setSecurityPollSuffix("")'
        echo "setLocal(\"$DNSDIST_IP:53\", {reusePort=false})"
        echo 'setACL({"127.0.0.0/8"})'
        echo "controlSocket(\"$CONSOLE\")"
        echo "setKey(\"$key\")"
        echo 'setConsoleACL({"127.0.0.0/8"})'
        for n in $(seq 1 "$count"); do
            echo "newServer{address=\"127.$BLOCK.9.$n:53\", name=\"ferret-$n\", checkName=\"localhost.\", checkType=\"A\", checkInterval=1, checkTimeout=500, maxCheckFailures=2, rise=1}"
        done
        echo "setServerPolicy($POLICY)"
    } >"$DNSDIST_CONF"
    dnsdist --check-config -C "$DNSDIST_CONF" >"$BENCH_TMP/dnsdist-check.out" 2>&1 ||
        die "dnsdist rejects its config: $(cat "$BENCH_TMP/dnsdist-check.out")"
    free_check "$DNSDIST_IP"
    start_group "$BENCH_TMP/dnsdist.log" taskset -c "$CLIENT_CORE" dnsdist -C "$DNSDIST_CONF" \
        --supervised --disable-syslog
    DNSDIST_PID=$STARTED_PID
    local i up
    for i in $(seq 1 150); do
        up=$(console 'local n = 0 for _, s in ipairs(getServers()) do if s:isUp() then n = n + 1 end end return tostring(n)' 2>/dev/null || true)
        [ "$up" = "$count" ] && break
        sleep 0.1
    done
    [ "$up" = "$count" ] || die "dnsdist marks $up of $count backends up; log: $(cat "$BENCH_TMP/dnsdist.log")"
    wait_answer "$DNSDIST_IP" localhost. A +rec 15 ||
        die "dnsdist does not answer; log: $(cat "$BENCH_TMP/dnsdist.log")"
    log "dnsdist on $DNSDIST_IP (pid $DNSDIST_PID, core $CLIENT_CORE, $POLICY) in front of $count ferrets"
}

console() {
    timeout 10 dnsdist -C "$DNSDIST_CONF" -c -e "$1"
}

stop_dnsdist() {
    [ -n "$DNSDIST_PID" ] || return 0
    stop_and_forget "$DNSDIST_PID"
    DNSDIST_PID=
}

# dnsdist_backend_queries: the Queries column of showServers(), one per backend, comma-separated.
dnsdist_backend_queries() {
    console 'showServers()' | awk '$1 ~ /^[0-9]+$/ {print $9}' | paste -sd, -
}

# --- rounds -------------------------------------------------------------------------------------

RESULTS_TSV=$BENCH_TMP/fleet.tsv
LATENCY_TSV=$BENCH_TMP/latency.tsv
: >"$RESULTS_TSV"
: >"$LATENCY_TSV"

# pass FRONT FILE OUT: every name in FILE once through FRONT; sets UPSTREAM.
pass() {
    local front=$1 file=$2 out=$3
    authority_clear
    loadgen --server "$front:53" --source "$LOADGEN_SOURCE" --queries "$file" --once \
        --sockets $((CONCURRENCY / 10)) --window 10 --batch 10 --duration 600 \
        --timeout-ms 10000 >"$out"
    upstream_count
}

# round SETUP REP
round() {
    local setup=$1 rep=$2 front count flags=() q1 q2 q3 out before after dbefore dafter
    case $setup in
    single) count=1 ;;
    local) count=$NODES ;;
    shared)
        count=$NODES
        redis FLUSHALL >/dev/null || die "redis FLUSHALL failed"
        flags=(--shared-cache "$REDIS_URL")
        ;;
    esac
    start_nodes "$count" "${flags[@]}"
    if [ "$setup" = single ]; then
        front=127.$BLOCK.9.1
    else
        start_dnsdist "$count"
        front=$DNSDIST_IP
    fi
    out=$BENCH_TMP/$setup-$rep
    pass "$front" "$BENCH_TMP/names.txt" "$out-pass1.txt"
    q1=$UPSTREAM
    pass "$front" "$BENCH_TMP/names2.txt" "$out-pass2.txt"
    q2=$UPSTREAM

    authority_clear
    before=$(nodes_cpu_ticks)
    dbefore=0
    [ -z "$DNSDIST_PID" ] || dbefore=$(cpu_ticks "$DNSDIST_PID")
    taskset -c "$CLIENT_CORE" dnsperf -s "$front" -d "$BENCH_TMP/names.txt" -l "$DURATION" \
        -c "$DNSPERF_CLIENTS" -q "$DNSPERF_OUTSTANDING" -t 2 >"$out-dnsperf.txt" 2>&1 ||
        die "dnsperf failed: $(cat "$out-dnsperf.txt")"
    after=$(nodes_cpu_ticks)
    dafter=0
    [ -z "$DNSDIST_PID" ] || dafter=$(cpu_ticks "$DNSDIST_PID")
    upstream_count
    q3=$UPSTREAM
    local split="-" shared="-"
    [ -z "$DNSDIST_PID" ] || split=$(dnsdist_backend_queries)
    [ "$setup" != shared ] || shared=$(shared_counters | tr ' ' /)
    local answered qps lost
    answered=$(dnsperf_field "Queries completed" "$out-dnsperf.txt")
    lost=$(dnsperf_field "Queries lost" "$out-dnsperf.txt")
    qps=$(dnsperf_field "Queries per second" "$out-dnsperf.txt")
    # setup rep pass1_upstream pass2_upstream pass1_s pass2_s qps answered lost dnsperf_upstream
    # nodes_cpu_ticks dnsdist_cpu_ticks servfail_or_lost_in_passes backend_split shared_counters
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$setup" "$rep" "$q1" "$q2" \
        "$(result_field run_s "$out-pass1.txt")" "$(result_field run_s "$out-pass2.txt")" \
        "$qps" "$answered" "$lost" "$q3" $((after - before)) $((dafter - dbefore)) \
        $(($(result_field servfail "$out-pass1.txt") + $(result_field lost "$out-pass1.txt") + \
            $(result_field servfail "$out-pass2.txt") + $(result_field lost "$out-pass2.txt"))) \
        "$split" "$shared" >>"$RESULTS_TSV"
    log "$setup #$rep: upstream $q1 (cold pass) + $q2 (second pass) for $K names; dnsperf $qps qps, $lost lost, $q3 upstream; per-backend queries $split; shared hits/misses/errors/writes/dropped $shared"
    stop_dnsdist
    stop_nodes
}

# latency_round REP: the three kinds of answer, one query at a time, straight to the nodes.
latency_round() {
    local rep=$1 kind ip out
    redis FLUSHALL >/dev/null || die "redis FLUSHALL failed"
    start_nodes 2 --shared-cache "$REDIS_URL"
    # Warm the delegations (root, cold., every zone) on both nodes with names outside the list, so
    # that the cold misses below are each one leaf query, not a walk from the root.
    head -n $((K - LAT_NAMES)) "$BENCH_TMP/names2.txt" >"$BENCH_TMP/warm-names.txt"
    for ip in "127.$BLOCK.9.1" "127.$BLOCK.9.2"; do
        loadgen --server "$ip:53" --source "$LOADGEN_SOURCE" --queries "$BENCH_TMP/warm-names.txt" \
            --once --sockets 10 --window 10 --batch 10 --duration 600 --timeout-ms 10000 \
            >"$BENCH_TMP/latency-warm-$rep.txt"
    done
    sleep 1
    for kind in cold shared local; do
        case $kind in
        cold) ip=127.$BLOCK.9.1 ;;
        *) ip=127.$BLOCK.9.2 ;;
        esac
        out=$BENCH_TMP/latency-$kind-$rep.txt
        authority_clear
        loadgen --server "$ip:53" --source "$LOADGEN_SOURCE" --queries "$BENCH_TMP/latency-names.txt" \
            --once --sockets 1 --window 1 --batch 1 --duration 600 --timeout-ms 10000 >"$out"
        upstream_count
        printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$kind" "$rep" "$(result_field lat_p50_us "$out")" \
            "$(result_field lat_avg_us "$out")" "$UPSTREAM" "$(result_field answered "$out")" \
            >>"$LATENCY_TSV"
        log "latency $kind #$rep: shared hits/misses/errors/writes/dropped so far $(shared_counters | tr ' ' /)"
        log "latency $kind #$rep: p50 $(result_field lat_p50_us "$out") us, avg $(result_field lat_avg_us "$out") us, $UPSTREAM upstream for $LAT_NAMES names"
        # The cold pass's writes to Redis land after its answers; give them a moment.
        [ "$kind" != cold ] || sleep 1
    done
    stop_nodes
}

dnsperf_field() {
    # dnsperf_field LABEL FILE: the first number after "LABEL:" in dnsperf's summary.
    awk -F: -v label="$1" '$1 ~ "^ *" label "$" {split($2, v, " "); print v[1]; exit}' "$2"
}

start_redis
for rep in $(seq 1 "$REPS"); do
    for setup in $SETUPS; do
        round "$setup" "$rep"
    done
done
if [ "$LAT_NAMES" -gt 0 ]; then
    for rep in $(seq 1 "$REPS"); do
        latency_round "$rep"
    done
fi

echo
echo "== benches/fleet.sh: $NODES nodes behind dnsdist ($POLICY), K=$K names in $ZONES zones, $LATENCY_MS ms per upstream answer, $CONCURRENCY in flight, REPS=$REPS =="
echo "load average at start (1, 5, 15 min): $START_LOAD; at end: $(cut -d' ' -f1-3 /proc/loadavg)"
machine_summary
echo "$(dnsdist --version 2>&1 | head -1), $(redis-server --version | awk '{print $1, $2, $3}')"
python3 - "$RESULTS_TSV" "$LATENCY_TSV" "$K" "$CLK_TCK" "$NODES" <<'EOF'
import statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
lat = [l.rstrip("\n").split("\t") for l in open(sys.argv[2])]
k, hz, nodes = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
def med(setup, col):
    return statistics.median(float(r[col]) for r in rows if r[0] == setup)
names = {"single": "one ferret", "local": f"{nodes} ferrets, no shared tier", "shared": f"{nodes} ferrets on one Redis"}
print()
print("| setup | upstream queries per name, cold pass | upstream per name, second pass | cold pass, s | cached QPS (dnsperf) | CPU per answer, us: ferrets / dnsdist | upstream queries during dnsperf | SERVFAIL+lost in passes (all reps) |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for s in ("single", "local", "shared"):
    if not any(r[0] == s for r in rows):
        continue
    cpu = statistics.median(int(r[10]) / hz / max(int(r[7]), 1) * 1e6 for r in rows if r[0] == s)
    dcpu = statistics.median(int(r[11]) / hz / max(int(r[7]), 1) * 1e6 for r in rows if r[0] == s)
    dcpu = f"{dcpu:.1f}" if s != "single" else "-"
    bad = sum(int(r[12]) for r in rows if r[0] == s)
    print(f"| {names[s]} | {med(s, 2) / k:.3f} | {med(s, 3) / k:.3f} | {med(s, 4):.2f} | {med(s, 6):,.0f} | {cpu:.1f} / {dcpu} | {med(s, 9):.0f} | {bad} |")
print()
print("per-backend queries dnsdist counted, last rep: " + ", ".join(f"{r[0]} {r[13]}" for r in rows[-2:] if r[13] != "-"))
print("shared-cache hits/misses/errors/writes/dropped writes, summed over the nodes, per rep: " + ", ".join(r[14] for r in rows if r[0] == "shared"))
print()
print("| answer (one query in flight, straight to a node) | p50 latency, us (median of reps) | mean latency, us | upstream queries per name |")
print("| --- | ---: | ---: | ---: |")
labels = {"cold": "full cold miss (leaf resolved upstream)", "shared": "local miss, Redis hit", "local": "local hit"}
for kind in ("cold", "shared", "local"):
    sel = [r for r in lat if r[0] == kind]
    if not sel:
        continue
    p50 = statistics.median(float(r[2]) for r in sel)
    avg = statistics.median(float(r[3]) for r in sel)
    up = statistics.median(float(r[4]) / max(int(r[5]), 1) for r in sel)
    print(f"| {labels[kind]} | {p50:.0f} | {avg:.0f} | {up:.3f} |")
EOF
