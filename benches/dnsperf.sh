#!/usr/bin/env bash
# Cached throughput, ferret against Unbound, one worker thread each on the same core, both
# validating DNSSEC (ferret's default) on a signed hierarchy.
#
#   benches/dnsperf.sh                     # 3 rounds x 20 s per server, generator and transport
#   DURATION=5 REPS=3 benches/dnsperf.sh   # quicker
#   DNSSEC=off benches/dnsperf.sh          # the unsigned hierarchy, neither validating
#
# A fake hierarchy on loopback, served by three real NSDs (root 127.210.0.1, bench. 127.210.1.1,
# four leaf zones on 127.210.2.1-4; zones from benches/gen_data.py: 6000 hosts, 12300 distinct
# questions, A/AAAA/MX/TXT with NODATA and NXDOMAIN), ferret on 127.210.9.1 and Unbound on
# 127.210.9.2 with the same root hints, each pinned to core SERVER_CORE (0).
#
# DNSSEC (DNSSEC=on, the default): the zones are signed when the script runs, in $BENCH_TMP, with
# ldns-keygen/ldns-signzone/ldns-key2ds (sign_hierarchy in lib/common.sh): the root and bench.
# with RSASHA256 (algorithm 8, 2048-bit KSK and ZSK, NSEC), as the real root and most TLDs are,
# the leaves with ECDSAP256SHA256 (13), alternately NSEC and NSEC3; every delegation has its DS.
# ferret gets the fake root's DS as --trust-anchor (instead of its built-in IANA anchors) and
# Unbound the same file as trust-anchor-file:, with module-config "validator iterator". Before any
# timing, dig checks that both answer a positive, a NODATA and two NXDOMAIN questions (NSEC and
# NSEC3) with AD, and the script stops if one does not; the warm-up must then have no SERVFAIL.
# The load itself asks as stub resolvers do, without DO (DO=1: with the DO bit, so answers carry
# RRSIGs and denial records). DNSSEC=off: the zones stay unsigned, ferret runs with --no-dnssec
# and Unbound iterator-only (the setup before ferret validated).
#
# Both caches are
# warmed with every distinct question, twice (the second pass must be all answers from cache and
# is compared between the two). Then, with the load pinned to core CLIENT_CORE (1), alternating
# ferret, Unbound, ferret, Unbound...:
#   udp/dnsperf   dnsperf over UDP, DNSPERF_CLIENTS sockets, DNSPERF_OUTSTANDING in flight
#   udp/loadgen   benches/loadgen.rs (sendmmsg/recvmmsg), LOADGEN_SOCKETS x LOADGEN_WINDOW in flight
#   tcp/dnsperf   dnsperf -m tcp, TCP_CLIENTS connections kept open for the whole run
#   dot/dnsperf   dnsperf -m dot (DNS over TLS, port 853), TCP_CLIENTS connections
#   doh/dnsperf   dnsperf -m doh (DNS over HTTPS, HTTP/2 POST to /dns-query, port 443),
#                 TCP_CLIENTS connections
# (both servers use the same certificate, an EC P-256 one made with openssl for the run; Unbound
# serves DoT with tls-port and DoH with https-port)
# and reports for each: the median over REPS rounds of answers per second, of answers per CPU
# second of the server (answers / the utime+stime it used during the run, from /proc/PID/stat),
# the ratio ferret/Unbound, lost queries (all rounds), and latency. dnsperf 2.10 has no latency
# histogram, so its p99 comes from a separate run at a fixed LATENCY_QPS per server with -v
# (every answer's latency printed, sorted here); loadgen's p99 is from its own histogram under
# full load.
#
# Settings (environment): DNSSEC (on|off, on), DO (1: queries with the DO bit), DURATION (s, 20),
# REPS (3), PHASES (which of udp-dnsperf udp-loadgen tcp-dnsperf dot-dnsperf doh-dnsperf latency
# to run; all by default), DNSPERF_CLIENTS (8), DNSPERF_OUTSTANDING
# (128), LOADGEN_SOCKETS (16), LOADGEN_WINDOW (8), LOADGEN_BATCH (32), TCP_CLIENTS (8),
# LATENCY_QPS (10000), LATENCY_SECONDS (5), NAMES (hosts per zone, 1500), ZONES (4), QUERIES
# (lines in the query file, 100000), ZIPF (1.0), SERVER_CORE (0), CLIENT_CORE (1),
# SKIP_BUILD=1 (use the release binaries as built), KEEP_TMP=1 (keep logs and data),
# BENCH_BLOCK (210: the loopback block 127.B.x.y, for two runs at once on one machine),
# FERRET_ARGS (more ferret flags, e.g. "--threads 2" with SERVER_CORE=0,1 for a scaling run),
# RESULTS=FILE (also copy the per-run table there), PROFILE=1 (then two more loadgen runs per
# server, under `perf record` and `perf stat`: the hottest symbols of each and its system calls
# and context switches per answer are printed at the end; PERF_RECORD_ARGS=-g adds call graphs to
# the perf.data kept with KEEP_TMP=1).
#
# Needs: nsd, unbound, dnsperf, dig, taskset, python3, openssl, root (ports 53, 443, 853), and
# with DNSSEC=on ldnsutils (ldns-keygen, ldns-signzone, ldns-key2ds). Every process started is
# stopped on exit, failure and Ctrl-C included.

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH_SCRIPT=$BENCH_DIR/dnsperf.sh
# shellcheck source=lib/common.sh
. "$BENCH_DIR/lib/common.sh"
bench_reexec_under_reaper "$@"
bench_init dnsperf "$@"

BLOCK=${BENCH_BLOCK:-210}
DURATION=${DURATION:-20}
REPS=${REPS:-3}
DNSPERF_CLIENTS=${DNSPERF_CLIENTS:-8}
DNSPERF_OUTSTANDING=${DNSPERF_OUTSTANDING:-128}
LOADGEN_SOCKETS=${LOADGEN_SOCKETS:-16}
LOADGEN_WINDOW=${LOADGEN_WINDOW:-8}
LOADGEN_BATCH=${LOADGEN_BATCH:-32}
TCP_CLIENTS=${TCP_CLIENTS:-8}
PHASES=${PHASES:-udp-dnsperf udp-loadgen tcp-dnsperf dot-dnsperf doh-dnsperf latency}
LATENCY_QPS=${LATENCY_QPS:-10000}
LATENCY_SECONDS=${LATENCY_SECONDS:-5}
FERRET_IP=127.$BLOCK.9.1
UNBOUND_IP=127.$BLOCK.9.2
LOADGEN_SOURCE=127.$BLOCK.250.1
RESULTS_TSV=$BENCH_TMP/results.tsv
DNSSEC=${DNSSEC:-on}
case $DNSSEC in
    on | off) ;;
    *) die "DNSSEC must be on or off, not $DNSSEC" ;;
esac
# What the load asks beyond the question: the DO bit, with DO=1.
DNSPERF_FLAGS=()
LOADGEN_FLAGS=()
if [ -n "${DO:-}" ]; then
    DNSPERF_FLAGS=(-D)
    LOADGEN_FLAGS=(--dnssec-ok)
fi

require_tools nsd unbound unbound-checkconf dnsperf dig taskset setsid python3 openssl
build_release --example loadgen

DATA=$BENCH_TMP/data
python3 "$BENCH_DIR/gen_data.py" dnsperf --out "$DATA" --block "$BLOCK" \
    --zones "${ZONES:-4}" --names "${NAMES:-1500}" --queries "${QUERIES:-100000}" --zipf "${ZIPF:-1.0}"

# One certificate for both servers' DoT and DoH (dnsperf does not verify it).
CERT=$BENCH_TMP/tls/cert.pem
KEY=$BENCH_TMP/tls/key.pem
mkdir -p "$BENCH_TMP/tls"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj /CN=bench.ferret.test -addext "subjectAltName=IP:$FERRET_IP,IP:$UNBOUND_IP" \
    -keyout "$KEY" -out "$CERT" >"$BENCH_TMP/tls/openssl.log" 2>&1 ||
    die "openssl failed: $(cat "$BENCH_TMP/tls/openssl.log")"

ANCHOR=$DATA/root-anchor.ds
if [ "$DNSSEC" = on ]; then
    specs=(".=$DATA/root.zone=8=nsec" "bench.=$DATA/bench.zone=8=nsec")
    denial=nsec
    while read -r zone _; do
        specs+=("$zone.bench.=$DATA/$zone.zone=13=$denial")
        if [ "$denial" = nsec ]; then denial=nsec3; else denial=nsec; fi
    done <"$DATA/leaf.zones"
    sign_hierarchy "$ANCHOR" "${specs[@]}"
fi

start_hierarchy() {
    local leaf_ips="" leaf_zones="" zone ip
    while read -r zone ip; do
        leaf_ips+="$ip "
        leaf_zones+="$zone.bench.=$DATA/$zone.zone "
    done <"$DATA/leaf.zones"
    start_nsd leaves "$BENCH_TMP/nsd-leaves" "${leaf_ips% }" "${leaf_zones% }"
    start_nsd tld "$BENCH_TMP/nsd-tld" "127.$BLOCK.1.1" "bench.=$DATA/bench.zone"
    start_nsd root "$BENCH_TMP/nsd-root" "127.$BLOCK.0.1" ".=$DATA/root.zone"
}

# warm NAME IP: every distinct question twice; prints the second pass's answer counts.
warm() {
    local name=$1 ip=$2 pass out
    for pass in 1 2; do
        out=$BENCH_TMP/warm-$name-$pass.txt
        loadgen --server "$ip:53" --source "$LOADGEN_SOURCE" --queries "$DATA/questions.txt" \
            --once --sockets 4 --window 16 --duration 300 "${LOADGEN_FLAGS[@]}" >"$out"
    done
    log "warmed $name: $(grep -E '^  (sent|NOERROR)' "$out" | tr -s ' ' | tr '\n' ';')"
    grep '^RESULT ' "$out" | tr ' ' '\n' | grep -E '^(noerror|nxdomain|servfail|other|lost)='
}

# cpu_seconds_between START_TICKS END_TICKS
cpu_seconds() {
    awk -v a="$1" -v b="$2" -v hz="$CLK_TCK" 'BEGIN {printf "%.2f", (b - a) / hz}'
}

record() {
    # phase server rep answered lost qps cpu_s lat_avg_us lat_p99_us
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$RESULTS_TSV"
}

dnsperf_field() {
    # dnsperf_field LABEL FILE: the first number after "LABEL:" in dnsperf's summary.
    awk -F: -v label="$1" '$1 ~ "^ *" label "$" {split($2, v, " "); print v[1]; exit}' "$2"
}

run_dnsperf() {
    local mode=$1 server=$2 ip=$3 pid=$4 rep=$5
    local out=$BENCH_TMP/$mode-dnsperf-$server-$rep.txt clients=$DNSPERF_CLIENTS
    local before after answered lost qps lat cpu
    local transport=()
    case $mode in
    tcp) clients=$TCP_CLIENTS ;;
    dot) clients=$TCP_CLIENTS transport=(-p 853) ;;
    doh)
        clients=$TCP_CLIENTS
        transport=(-p 443 -O "doh-uri=https://$ip:443/dns-query" -O doh-method=POST)
        ;;
    esac
    before=$(cpu_ticks "$pid")
    taskset -c "$CLIENT_CORE" dnsperf -m "$mode" -s "$ip" "${transport[@]}" -d "$DATA/queries.txt" \
        -l "$DURATION" -c "$clients" -q "$DNSPERF_OUTSTANDING" -t 2 "${DNSPERF_FLAGS[@]}" >"$out" 2>&1 ||
        die "dnsperf failed: $(cat "$out")"
    after=$(cpu_ticks "$pid")
    answered=$(dnsperf_field "Queries completed" "$out")
    lost=$(dnsperf_field "Queries lost" "$out")
    qps=$(dnsperf_field "Queries per second" "$out")
    lat=$(awk -v s="$(dnsperf_field "Average Latency \\(s\\)" "$out")" 'BEGIN {printf "%.0f", s * 1e6}')
    cpu=$(cpu_seconds "$before" "$after")
    record "$mode/dnsperf" "$server" "$rep" "$answered" "$lost" "$qps" "$cpu" "$lat" "-"
    log "$mode/dnsperf $server #$rep: $qps qps, $answered answered, $lost lost, cpu $cpu s, avg $lat us"
}

run_loadgen() {
    local server=$1 ip=$2 pid=$3 rep=$4
    local out=$BENCH_TMP/udp-loadgen-$server-$rep.txt before after cpu
    before=$(cpu_ticks "$pid")
    loadgen --server "$ip:53" --source "$LOADGEN_SOURCE" --queries "$DATA/queries.txt" \
        --duration "$DURATION" --sockets "$LOADGEN_SOCKETS" --window "$LOADGEN_WINDOW" \
        --batch "$LOADGEN_BATCH" "${LOADGEN_FLAGS[@]}" >"$out"
    after=$(cpu_ticks "$pid")
    cpu=$(cpu_seconds "$before" "$after")
    record udp/loadgen "$server" "$rep" "$(result_field answered "$out")" \
        "$(result_field lost "$out")" "$(result_field qps "$out")" "$cpu" \
        "$(result_field lat_avg_us "$out")" "$(result_field lat_p99_us "$out")"
    log "udp/loadgen $server #$rep: $(result_field qps "$out") qps, $(result_field answered "$out") answered, $(result_field lost "$out") lost, cpu $cpu s, p99 $(result_field lat_p99_us "$out") us"
}

# dnsperf at a fixed rate with -v: one line per answer, whose last field is its latency in s.
run_latency() {
    local mode=$1 server=$2 ip=$3
    local out=$BENCH_TMP/$mode-latency-$server.txt p99
    taskset -c "$CLIENT_CORE" dnsperf -m "$mode" -s "$ip" -d "$DATA/queries.txt" \
        -l "$LATENCY_SECONDS" -Q "$LATENCY_QPS" -c "$DNSPERF_CLIENTS" -t 2 -v "${DNSPERF_FLAGS[@]}" \
        >"$out" 2>&1 ||
        die "dnsperf -v failed: $(tail "$out")"
    p99=$(awk '$1 == ">" && $2 != "T" {print $NF * 1e6}' "$out" | sort -n |
        awk '{v[NR] = $1} END {if (NR) {i = int(NR * 0.99 + 0.999999); if (i < 1) i = 1; printf "%.0f", v[i]} else print "-"}')
    echo "$mode/fixed-rate $server p99_us=$p99" >>"$BENCH_TMP/latency.txt"
    log "$mode p99 at $LATENCY_QPS qps, $server: $p99 us"
}

START_LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
log "$(machine_summary | tr '\n' ';')"
start_hierarchy
if [ "$DNSSEC" = on ]; then
    FERRET_DNSSEC=(--trust-anchor "$ANCHOR")
    UNBOUND_ANCHOR=$ANCHOR
else
    FERRET_DNSSEC=(--no-dnssec)
    UNBOUND_ANCHOR=
fi
# FERRET_ARGS is split into words on purpose.
# shellcheck disable=SC2086
start_ferret "$FERRET_IP" "$DATA/root.hints" --cache-size 1000000 "${FERRET_DNSSEC[@]}" \
    --tls-listen "$FERRET_IP:853" --https-listen "$FERRET_IP:443" \
    --tls-certificate "$CERT" --tls-key "$KEY" ${FERRET_ARGS:-}
FERRET_PID=$STARTED_PID
start_unbound "$UNBOUND_IP" "$DATA/root.hints" "    interface: $UNBOUND_IP@853
    interface: $UNBOUND_IP@443
    tls-port: 853
    https-port: 443
    tls-service-key: \"$KEY\"
    tls-service-pem: \"$CERT\"" "$UNBOUND_ANCHOR"
UNBOUND_PID=$STARTED_PID

if [ "$DNSSEC" = on ]; then
    # Secure answers of each kind, from both, or no figure below means what it says.
    read -r first_zone _ <"$DATA/leaf.zones"
    second_zone=$(awk 'NR == 2 {print $1}' "$DATA/leaf.zones")
    for server in ferret unbound; do
        ip=$FERRET_IP
        [ "$server" = unbound ] && ip=$UNBOUND_IP
        require_ad "$server" "$ip" "host1.$first_zone.bench." A
        require_ad "$server" "$ip" "host0.$first_zone.bench." AAAA # NODATA
        require_ad "$server" "$ip" "nx0.$first_zone.bench." A      # NXDOMAIN, NSEC
        if [ -n "$second_zone" ]; then
            require_ad "$server" "$ip" "nx0.$second_zone.bench." A # NXDOMAIN, NSEC3
        fi
    done
fi

ferret_counts=$(warm ferret "$FERRET_IP")
unbound_counts=$(warm unbound "$UNBOUND_IP")
if [ "$DNSSEC" = on ]; then
    for counts in "$ferret_counts" "$unbound_counts"; do
        servfail=$(echo "$counts" | awk -F= '$1 == "servfail" {print $2}')
        [ "${servfail:-0}" -eq 0 ] ||
            die "$servfail SERVFAILs in a warm-up pass from cache ($(echo "$counts" | tr '\n' ' ')): a resolver finds answers bogus"
    done
fi
if [ "$ferret_counts" != "$unbound_counts" ]; then
    log "warning: ferret and unbound answered the warm-up differently:"
    log "  ferret:  $(echo "$ferret_counts" | tr '\n' ' ')"
    log "  unbound: $(echo "$unbound_counts" | tr '\n' ' ')"
fi

: >"$RESULTS_TSV"
: >"$BENCH_TMP/latency.txt"
wanted() { case " $PHASES " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
for rep in $(seq 1 "$REPS"); do
    wanted udp-dnsperf || break
    run_dnsperf udp ferret "$FERRET_IP" "$FERRET_PID" "$rep"
    run_dnsperf udp unbound "$UNBOUND_IP" "$UNBOUND_PID" "$rep"
done
for rep in $(seq 1 "$REPS"); do
    wanted udp-loadgen || break
    run_loadgen ferret "$FERRET_IP" "$FERRET_PID" "$rep"
    run_loadgen unbound "$UNBOUND_IP" "$UNBOUND_PID" "$rep"
done
for rep in $(seq 1 "$REPS"); do
    wanted tcp-dnsperf || break
    run_dnsperf tcp ferret "$FERRET_IP" "$FERRET_PID" "$rep"
    run_dnsperf tcp unbound "$UNBOUND_IP" "$UNBOUND_PID" "$rep"
done
for mode in dot doh; do
    wanted "$mode-dnsperf" || continue
    for rep in $(seq 1 "$REPS"); do
        run_dnsperf "$mode" ferret "$FERRET_IP" "$FERRET_PID" "$rep"
        run_dnsperf "$mode" unbound "$UNBOUND_IP" "$UNBOUND_PID" "$rep"
    done
done
for mode in udp tcp; do
    wanted latency || break
    run_latency "$mode" ferret "$FERRET_IP"
    run_latency "$mode" unbound "$UNBOUND_IP"
done

# What `perf stat` counts in the server during a loadgen run, per answer: how many datagrams
# each system call moved, and how often the server slept (a context switch each time it found
# its socket empty and went back to epoll).
PERF_STAT_EVENTS=task-clock,context-switches,cpu-migrations,raw_syscalls:sys_enter
for call in recvmmsg sendmmsg recvfrom sendto recvmsg sendmsg epoll_wait futex; do
    PERF_STAT_EVENTS+=,syscalls:sys_enter_$call
done

# profile SERVER IP PID: a flat CPU profile of the server under loadgen (perf's cpu-clock event,
# which works in VMs without hardware counters), top symbols into $BENCH_TMP/profile-SERVER.txt;
# then a second loadgen run under `perf stat`, counts per answer into
# $BENCH_TMP/perf-stat-SERVER.txt.
profile() {
    local server=$1 ip=$2 pid=$3 data=$BENCH_TMP/perf-$1.data answered
    # PERF_RECORD_ARGS is split into words on purpose.
    # shellcheck disable=SC2086
    perf record -q ${PERF_RECORD_ARGS:-} -e cpu-clock -F 1999 -p "$pid" -o "$data" -- sleep "$DURATION" \
        >"$BENCH_TMP/perf-$server.out" 2>&1 &
    local perf_pid=$!
    loadgen --server "$ip:53" --source "$LOADGEN_SOURCE" --queries "$DATA/queries.txt" \
        --duration "$DURATION" --sockets "$LOADGEN_SOCKETS" --window "$LOADGEN_WINDOW" \
        --batch "$LOADGEN_BATCH" >"$BENCH_TMP/profile-loadgen-$server.txt"
    wait "$perf_pid" || true
    perf report -i "$data" --no-children --sort dso,symbol --percent-limit 1 --stdio 2>/dev/null |
        grep -v '^#' | grep -v '^$' | head -40 >"$BENCH_TMP/profile-$server.txt"
    perf stat -x, -e "$PERF_STAT_EVENTS" -p "$pid" -o "$BENCH_TMP/perf-stat-$server.csv" \
        -- sleep "$DURATION" >/dev/null 2>&1 &
    perf_pid=$!
    loadgen --server "$ip:53" --source "$LOADGEN_SOURCE" --queries "$DATA/queries.txt" \
        --duration "$DURATION" --sockets "$LOADGEN_SOCKETS" --window "$LOADGEN_WINDOW" \
        --batch "$LOADGEN_BATCH" >"$BENCH_TMP/stat-loadgen-$server.txt"
    wait "$perf_pid" || true
    answered=$(result_field answered "$BENCH_TMP/stat-loadgen-$server.txt")
    # perf stat -x, lines: value,unit,event,...; task-clock is in ms.
    awk -F, -v answered="${answered:-0}" '
        $1 ~ /^[0-9.]+$/ && $3 != "" && answered > 0 {
            printf "  %-32s %14.0f  %9.4f per answer\n", $3, $1, $1 / answered
        }' "$BENCH_TMP/perf-stat-$server.csv" >"$BENCH_TMP/perf-stat-$server.txt"
    log "profiled $server"
}
if [ -n "${PROFILE:-}" ]; then
    require_tools perf
    profile ferret "$FERRET_IP" "$FERRET_PID"
    profile unbound "$UNBOUND_IP" "$UNBOUND_PID"
fi

echo
echo "== benches/dnsperf.sh: DURATION=$DURATION s, REPS=$REPS, DNSSEC=$DNSSEC${DO:+, DO bit} =="
if [ "$DNSSEC" = on ]; then
    echo "both validating: signed hierarchy (root, bench. alg 8; leaves alg 13, NSEC/NSEC3), the same test trust anchor"
else
    echo "neither validating: unsigned hierarchy, ferret --no-dnssec, Unbound iterator-only"
fi
echo "load average at start (1, 5, 15 min): $START_LOAD"
machine_summary
echo "warm-up (second pass, from cache): $(echo "$ferret_counts" | tr '\n' ' ')"
python3 "$BENCH_DIR/lib/summarize.py" "$RESULTS_TSV" "$BENCH_TMP/latency.txt" "$LATENCY_QPS"
if [ -n "${RESULTS:-}" ]; then
    cp "$RESULTS_TSV" "$RESULTS"
fi
if [ -n "${PROFILE:-}" ]; then
    for server in ferret unbound; do
        echo
        echo "hottest symbols of $server under loadgen (perf, cpu-clock, self time, >= 1%):"
        cat "$BENCH_TMP/profile-$server.txt"
        echo
        echo "perf stat of $server under loadgen ($(result_field answered "$BENCH_TMP/stat-loadgen-$server.txt") answers; task-clock in ms):"
        cat "$BENCH_TMP/perf-stat-$server.txt"
    done
fi
