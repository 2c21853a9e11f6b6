# Shared by benches/*.sh: process groups stopped on exit, NSD/ferret/Unbound start-up on loopback,
# CPU time and RSS from /proc, a DNSSEC-signed copy of a fake hierarchy (sign_hierarchy). Source
# it, then call bench_init NAME "$@".
#
# Every process started here is the leader of its own process group (setsid), recorded in
# BENCH_GROUPS and stopped with its whole group (NSD forks) by the EXIT trap, on failure too.
# Every address is on 127.0.0.0/8; nothing ever leaves the machine.

# Re-runs the calling script under lib/subreaper.py, so that the orphans NSD leaves when its group
# is stopped are reaped here and not left as zombies of PID 1.
bench_reexec_under_reaper() {
    if [ -z "${FERRET_BENCH_REAPED:-}" ]; then
        export FERRET_BENCH_REAPED=1
        exec python3 "$BENCH_DIR/lib/subreaper.py" bash "$BENCH_SCRIPT" "$@"
    fi
}

bench_init() {
    local name=$1
    shift
    set -euo pipefail
    REPO_ROOT=$(cd "$BENCH_DIR/.." && pwd -P)
    TARGET_DIR=${CARGO_TARGET_DIR:-$REPO_ROOT/target}
    BENCH_TMP=$(mktemp -d "/tmp/ferret-bench-$name.XXXXXX")
    # build_release copies the binaries here and points these at the copies.
    BIN_DIR=$BENCH_TMP/bin
    FERRET_BIN=$BIN_DIR/ferret
    LOADGEN_BIN=$BIN_DIR/loadgen
    BENCH_GROUPS=()
    trap bench_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    trap 'exit 129' HUP
    CLK_TCK=$(getconf CLK_TCK)
    SERVER_CORE=${SERVER_CORE:-0}
    CLIENT_CORE=${CLIENT_CORE:-1}
}

bench_cleanup() {
    local status=$?
    local pg
    for pg in "${BENCH_GROUPS[@]}"; do
        stop_group "$pg"
    done
    if [ -n "${KEEP_TMP:-}" ]; then
        echo "kept $BENCH_TMP" >&2
    else
        rm -rf "$BENCH_TMP"
    fi
    exit "$status"
}

log() {
    printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2
}

die() {
    log "error: $*"
    exit 1
}

require_tools() {
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] ||
            die "$tool is not installed (apt-get install nsd unbound dnsutils dnsperf ldnsutils util-linux python3)"
    done
}

# build_release [--example NAME]...: builds ferret and the examples in release mode (unless
# SKIP_BUILD=1) and copies them into BIN_DIR, which the scripts run them from, so a build from
# another worktree that shares the target directory cannot swap them in the middle of a run.
#
# A target directory shared by two worktrees of this repository holds whichever was built last,
# and cargo takes the other worktree's build for up to date whenever this one's source files are
# older than it (the fingerprints of the two are the same). So the copies must be from this
# worktree (built_here); if they are not, src/lib.rs is touched (its mtime only) so that cargo
# rebuilds ferret and everything that links it, and they are checked again. With SKIP_BUILD=1 a
# binary from another worktree is an error.
build_release() {
    local examples=() arg prev=""
    for arg in "$@"; do
        [ "$prev" = --example ] && examples+=("$arg")
        prev=$arg
    done
    if [ -z "${SKIP_BUILD:-}" ]; then
        log "cargo build --release --bin ferret $*"
        (cd "$REPO_ROOT" && cargo build --release --quiet --bin ferret "$@")
    fi
    copy_release "${examples[@]}"
    if ! release_built_here "${examples[@]}"; then
        [ -z "${SKIP_BUILD:-}" ] ||
            die "the release binaries in $TARGET_DIR were built from another worktree than $REPO_ROOT; run without SKIP_BUILD=1"
        log "the release binaries in $TARGET_DIR come from another worktree; rebuilding from $REPO_ROOT"
        touch "$REPO_ROOT/src/lib.rs"
        (cd "$REPO_ROOT" && cargo build --release --quiet --bin ferret "$@")
        copy_release "${examples[@]}"
        release_built_here "${examples[@]}" ||
            die "the release binaries are still not built from $REPO_ROOT (is another worktree building into $TARGET_DIR right now?)"
    fi
}

# copy_release [EXAMPLE]...: ferret and the examples from the target directory into BIN_DIR.
copy_release() {
    local example
    mkdir -p "$BIN_DIR"
    cp "$TARGET_DIR/release/ferret" "$BIN_DIR/ferret"
    for example in "$@"; do
        cp "$TARGET_DIR/release/examples/$example" "$BIN_DIR/$example"
    done
}

# release_built_here [EXAMPLE]...: whether every copy in BIN_DIR is built from this worktree.
release_built_here() {
    local bin
    for bin in ferret "$@"; do
        built_here "$BIN_DIR/$bin" || return 1
    done
}

# built_here BIN: the binary was compiled from this worktree alone. Its debug information (the
# release profile keeps line tables) names the directory each compilation unit was compiled in:
# this worktree's root, and no other worktree of the repository. A binary without such names
# (no debug information, or no `strings`) passes with a warning.
built_here() {
    local bin=$1 dirs other mine=no foreign=no
    if ! command -v strings >/dev/null 2>&1; then
        log "warning: no strings (binutils); cannot check which worktree $bin was built from"
        return 0
    fi
    dirs=$(strings -n 6 "$bin" | grep -E '^/[^[:space:]]+$' | sort -u)
    if grep -qxF "$REPO_ROOT" <<<"$dirs"; then
        mine=yes
    fi
    while read -r other; do
        [ -n "$other" ] && [ "$other" != "$REPO_ROOT" ] || continue
        if grep -qxF "$other" <<<"$dirs"; then
            foreign=yes
        fi
    done < <(git -C "$REPO_ROOT" worktree list --porcelain 2>/dev/null | awk '$1 == "worktree" {print $2}')
    [ "$foreign" = no ] || return 1
    [ "$mine" = yes ] ||
        log "warning: $bin names no worktree directory; cannot check where it was built from"
    return 0
}

# start_group LOG CMD [ARGS...]: runs CMD as a new session and process group leader with stdin
# closed and output to LOG; sets STARTED_PID. Without job control a background job is not a group
# leader, so setsid does not fork and $! is CMD's own pid (taskset execs, too).
start_group() {
    local log_file=$1
    shift
    setsid "$@" </dev/null >>"$log_file" 2>&1 &
    STARTED_PID=$!
    BENCH_GROUPS+=("$STARTED_PID")
}

# stop_group PGID: SIGTERM to the group, SIGKILL to whatever is left once the leader is gone or
# after 3 s, then wait (bounded) until no member is left, so the addresses are free again.
stop_group() {
    local pg=$1
    local i
    if ! kill -TERM -- "-$pg" 2>/dev/null; then
        wait "$pg" 2>/dev/null || true
        return 0
    fi
    for i in $(seq 1 60); do
        leader_alive "$pg" || break
        sleep 0.05
    done
    kill -KILL -- "-$pg" 2>/dev/null || true
    wait "$pg" 2>/dev/null || true
    for i in $(seq 1 40); do
        kill -0 -- "-$pg" 2>/dev/null || break
        sleep 0.05
    done
}

# leader_alive PID: the process exists and is not a zombie.
leader_alive() {
    local state
    state=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
    [ -n "$state" ] && [ "$state" != Z ]
}

forget_group() {
    local pg=$1
    local kept=()
    local g
    for g in "${BENCH_GROUPS[@]}"; do
        [ "$g" = "$pg" ] || kept+=("$g")
    done
    BENCH_GROUPS=("${kept[@]}")
}

# stop_and_forget PGID
stop_and_forget() {
    stop_group "$1"
    forget_group "$1"
}

# wait_answer IP NAME TYPE [+norec|+rec] [SECONDS]: until the server at IP answers (any rcode).
wait_answer() {
    local ip=$1 name=$2 type=$3 rec=${4:-+norec} seconds=${5:-15}
    local deadline=$((SECONDS + seconds))
    while [ "$SECONDS" -lt "$deadline" ]; do
        if dig +time=1 +tries=1 "$rec" "@$ip" "$name" "$type" 2>/dev/null | grep -q 'status:'; then
            return 0
        fi
        sleep 0.2
    done
    return 1
}

# free_check IP: fails if something already serves port 53 on IP (a leftover from an earlier run
# would otherwise answer for a server that failed to start).
free_check() {
    local ip=$1
    if dig +time=1 +tries=1 +norec "@$ip" . SOA 2>/dev/null | grep -q 'status:'; then
        die "something already answers on $ip:53; stop it first"
    fi
}

# start_nsd NAME DIR "IP..." "ZONE=FILE..." [CONTROL_PORT]: an NSD on port 53 of each IP serving
# the zones; returns once it answers the first zone's SOA on the first IP. Sets STARTED_PID. With
# CONTROL_PORT, its remote control listens on the first IP at that port (keys made in DIR by
# nsd-control-setup), for nsd_stats. With NSD_CORE set, NSD is pinned to those cores.
start_nsd() {
    local name=$1 dir=$2 ips=$3 zones=$4 control_port=${5:-}
    local ip zone first_ip first_zone
    mkdir -p "$dir"
    first_ip=${ips%% *}
    if [ -n "$control_port" ]; then
        nsd-control-setup -d "$dir" >"$dir/control-setup.out" 2>&1 ||
            die "nsd-control-setup for NSD $name failed: $(cat "$dir/control-setup.out")"
    fi
    {
        echo "server:"
        for ip in $ips; do
            echo "    ip-address: $ip@53"
        done
        cat <<EOF
    do-ip4: yes
    do-ip6: no
    reuseport: no
    username: ""
    chroot: ""
    zonesdir: "$dir"
    database: ""
    zonelistfile: "$dir/zone.list"
    xfrdfile: "$dir/xfrd.state"
    xfrdir: "$dir"
    pidfile: "$dir/nsd.pid"
    logfile: "$dir/nsd.log"
    verbosity: 1
    server-count: 1
    hide-version: yes
    # Response rate limiting (on by default in Debian's NSD, 200 answers/s per client /24 and
    # name) would drop or truncate a benchmark's upstream queries.
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
EOF
        if [ -n "$control_port" ]; then
            cat <<EOF
remote-control:
    control-enable: yes
    control-interface: $first_ip
    control-port: $control_port
    server-key-file: "$dir/nsd_server.key"
    server-cert-file: "$dir/nsd_server.pem"
    control-key-file: "$dir/nsd_control.key"
    control-cert-file: "$dir/nsd_control.pem"
EOF
        else
            printf 'remote-control:\n    control-enable: no\n'
        fi
        for zone in $zones; do
            printf 'zone:\n    name: "%s"\n    zonefile: "%s"\n' "${zone%%=*}" "${zone#*=}"
        done
    } >"$dir/nsd.conf"
    first_zone=${zones%% *}
    first_zone=${first_zone%%=*}
    free_check "$first_ip"
    if [ -n "${NSD_CORE:-}" ]; then
        start_group "$dir/nsd.out" taskset -c "$NSD_CORE" nsd -d -c "$dir/nsd.conf"
    else
        start_group "$dir/nsd.out" nsd -d -c "$dir/nsd.conf"
    fi
    wait_answer "$first_ip" "$first_zone" SOA +norec 30 ||
        die "NSD $name did not answer on $first_ip; log: $(cat "$dir"/nsd.log "$dir"/nsd.out 2>/dev/null)"
    local count
    count=$(wc -w <<<"$ips")
    if [ "$count" -gt 4 ]; then
        log "NSD $name on $count addresses, $first_ip ... ${ips##* } (pid $STARTED_PID)"
    else
        log "NSD $name on $ips (pid $STARTED_PID)"
    fi
}

# nsd_stats DIR [reset]: the statistics (name=value lines: num.queries, num.type.DS, ...) of the
# NSD started with a CONTROL_PORT in DIR, since it started or was last reset; with `reset`, the
# counters go back to zero after they are read (nsd-control stats).
nsd_stats() {
    local dir=$1 command=stats_noreset
    [ "${2:-}" = reset ] && command=stats
    timeout 20 nsd-control -c "$dir/nsd.conf" "$command" ||
        die "nsd-control $command failed for the NSD in $dir"
}

# start_ferret IP HINTS [FLAGS...]: release ferret pinned to SERVER_CORE; sets STARTED_PID.
# FERRET_WRAP, if set, is a command line ferret runs under (split into words), e.g.
# "valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.out".
start_ferret() {
    local ip=$1 hints=$2
    local -a wrap=()
    shift 2
    # shellcheck disable=SC2206 # split into words on purpose
    [ -z "${FERRET_WRAP:-}" ] || wrap=($FERRET_WRAP)
    free_check "$ip"
    start_group "$BENCH_TMP/ferret-$ip.log" taskset -c "$SERVER_CORE" "${wrap[@]}" "$FERRET_BIN" \
        --listen "$ip:53" --root-hints "$hints" --allow-loopback-upstream --no-ipv6-upstream \
        --log-level warn "$@"
    wait_answer "$ip" localhost. A +rec 60 ||
        die "ferret did not answer on $ip; log: $(cat "$BENCH_TMP/ferret-$ip.log")"
    log "ferret on $ip (pid $STARTED_PID, core $SERVER_CORE): $FERRET_BIN $*"
}

# start_unbound IP HINTS [EXTRA_CONF_LINES] [TRUST_ANCHOR]: Unbound with one thread pinned to
# SERVER_CORE, set up to resolve as ferret does (QNAME minimisation, minimal responses, no
# prefetch). Iterator only, unless TRUST_ANCHOR names a DS/DNSKEY file (the fake root's anchor
# from sign_hierarchy, never the real root's key): then validating ("validator iterator") with
# that anchor only, aggressive NSEC on (as ferret's default), and no RFC 8145 key-tag queries or
# RFC 8509 sentinel. Sets STARTED_PID.
start_unbound() {
    local ip=$1 hints=$2 extra=${3:-} anchor=${4:-}
    local dir=$BENCH_TMP/unbound-$ip modules
    mkdir -p "$dir"
    if [ -n "$anchor" ]; then
        [ -f "$anchor" ] || die "start_unbound: no trust anchor file $anchor"
        modules="module-config: \"validator iterator\"
    trust-anchor-file: \"$anchor\"
    trust-anchor-signaling: no
    root-key-sentinel: no
    val-permissive-mode: no
    aggressive-nsec: yes"
    else
        modules='module-config: "iterator"'
    fi
    cat >"$dir/unbound.conf" <<EOF
server:
    interface: $ip@53
    port: 53
    do-ip4: yes
    do-ip6: no
    do-udp: yes
    do-tcp: yes
    so-reuseport: no
    access-control: 127.0.0.0/8 allow
    do-not-query-localhost: no
    root-hints: "$hints"
    $modules
    qname-minimisation: yes
    minimal-responses: yes
    prefetch: no
    num-threads: 1
    msg-cache-size: 256m
    rrset-cache-size: 512m
    incoming-num-tcp: 100
    chroot: ""
    username: ""
    directory: "$dir"
    pidfile: "$dir/unbound.pid"
    use-syslog: no
    logfile: ""
    verbosity: 0
$extra
remote-control:
    control-enable: no
EOF
    unbound-checkconf "$dir/unbound.conf" >/dev/null ||
        die "unbound-checkconf rejects $dir/unbound.conf"
    free_check "$ip"
    start_group "$dir/unbound.out" taskset -c "$SERVER_CORE" unbound -d -c "$dir/unbound.conf"
    wait_answer "$ip" localhost. A +rec 30 ||
        die "unbound did not answer on $ip; log: $(cat "$dir/unbound.out")"
    log "unbound on $ip (pid $STARTED_PID, core $SERVER_CORE${anchor:+, validating})"
}

# require_ad WHO IP NAME TYPE: dies unless the resolver at IP answers NAME TYPE with the AD bit
# (asked with DO and AD, as dig +dnssec +adflag), i.e. validated it as secure.
require_ad() {
    local who=$1 ip=$2 name=$3 type=$4 out
    out=$(dig +time=5 +tries=1 +dnssec +adflag "@$ip" "$name" "$type" 2>&1) || true
    if ! grep -qE '^;; flags:[a-z ]* ad[ ;]' <<<"$out"; then
        die "$who ($ip) answered $name $type without AD, so it does not validate the signed hierarchy:
$out"
    fi
    log "$who: $name $type is secure ($(grep -oE 'status: [A-Z]+' <<<"$out"), AD)"
}

# ---------------------------------------------------------------------------------------------
# DNSSEC: signing a fake hierarchy at bench time (as tests/common/signed.rs does for the tests)
# ---------------------------------------------------------------------------------------------

# sign_zone ORIGIN FILE ALG DENIAL: signs the zone file FILE in place (the unsigned text is kept
# as FILE.unsigned) with a new KSK (flags 257, signs the DNSKEY RRset) and ZSK (256, signs the
# rest) of DNSSEC algorithm ALG: 8 (RSASHA256, 2048-bit keys), 13 (ECDSAP256SHA256), 14
# (ECDSAP384SHA384) or 15 (ED25519). DENIAL is nsec or nsec3 (no salt, no extra iterations, as
# RFC 9276 asks). Signatures are valid from an hour ago for 4 weeks. The KSK's DS (SHA-256) goes
# to FILE.ds. Keys are made by ldns-keygen under $BENCH_TMP/keys, the KSK and the ZSK in
# directories of their own, so two keys of one zone that share a key tag can't overwrite each
# other's files.
sign_zone() {
    local origin=$1 file=$2 alg=$3 denial=$4
    local keydir ksk zsk now
    local -a keygen signargs
    case $alg in
        8) keygen=(-a RSASHA256 -b 2048) ;;
        13) keygen=(-a ECDSAP256SHA256) ;;
        14) keygen=(-a ECDSAP384SHA384) ;;
        15) keygen=(-a ED25519) ;;
        *) die "sign_zone $origin: algorithm $alg is not one of 8 13 14 15" ;;
    esac
    if [ "$origin" = . ]; then
        keydir=$BENCH_TMP/keys/root
    else
        keydir=$BENCH_TMP/keys/${origin%.}
    fi
    mkdir -p "$keydir/ksk" "$keydir/zsk"
    ksk=$(cd "$keydir/ksk" && ldns-keygen "${keygen[@]}" -r /dev/urandom -k "$origin") ||
        die "ldns-keygen failed for the KSK of $origin"
    zsk=$(cd "$keydir/zsk" && ldns-keygen "${keygen[@]}" -r /dev/urandom "$origin") ||
        die "ldns-keygen failed for the ZSK of $origin"
    ksk=$keydir/ksk/$ksk
    zsk=$keydir/zsk/$zsk
    [ -f "$ksk.private" ] && [ -f "$zsk.private" ] || die "ldns-keygen made no key files for $origin"
    now=$(date +%s)
    signargs=(-o "$origin" -f "$file" -i $((now - 3600)) -e $((now + 28 * 86400)))
    case $denial in
        nsec) ;;
        nsec3) signargs+=(-n -t 0) ;;
        *) die "sign_zone $origin: denial $denial is not nsec or nsec3" ;;
    esac
    cp "$file" "$file.unsigned"
    ldns-signzone "${signargs[@]}" "$file.unsigned" "$ksk" "$zsk" >"$keydir/signzone.out" 2>&1 ||
        die "ldns-signzone failed for $origin: $(cat "$keydir/signzone.out")"
    ldns-key2ds -n -2 "$ksk.key" >"$file.ds" 2>"$keydir/key2ds.err" ||
        die "ldns-key2ds failed for $origin: $(cat "$keydir/key2ds.err")"
    grep -qE '[[:space:]]DS[[:space:]]' "$file.ds" || die "ldns-key2ds printed no DS for $origin"
}

# sign_hierarchy ANCHOR "ORIGIN=FILE=ALG=DENIAL"...: signs a hierarchy of zone files, children
# before parents, with sign_zone. Each zone's DS is appended to the file of its nearest listed
# ancestor before that is signed, so every delegation is secure; the root (ORIGIN `.`, which must
# be listed, and every other zone under it) gets no DS, and its KSK's DS is written to ANCHOR,
# the trust anchor to give ferret (--trust-anchor) and Unbound (trust-anchor-file:). The files
# must be unsigned zone files whose delegations (NS and glue) are already in place.
sign_hierarchy() {
    local anchor=$1
    shift
    local spec origin file alg denial parent n
    local -A files=()
    local -a order
    require_tools ldns-keygen ldns-signzone ldns-key2ds
    for spec in "$@"; do
        IFS='=' read -r origin file alg denial <<<"$spec"
        [ -n "$denial" ] || die "sign_hierarchy: $spec is not ORIGIN=FILE=ALG=DENIAL"
        [ -f "$file" ] || die "sign_hierarchy: no zone file $file"
        files[$origin]=$file
    done
    [ -n "${files[.]:-}" ] || die "sign_hierarchy: the root zone is not listed"
    # Children first: most labels first (the root has none).
    mapfile -t order < <(for spec in "$@"; do
        origin=${spec%%=*}
        if [ "$origin" = . ]; then n=0; else n=$(tr -cd . <<<"$origin" | wc -c); fi
        printf '%d	%s
' "$n" "$spec"
    done | sort -t $'	' -k1,1nr -k2 | cut -f2-)
    for spec in "${order[@]}"; do
        IFS='=' read -r origin file alg denial <<<"$spec"
        sign_zone "$origin" "$file" "$alg" "$denial"
        if [ "$origin" = . ]; then
            cp "$file.ds" "$anchor"
            continue
        fi
        parent=$origin
        while :; do
            parent=${parent#*.}
            [ -n "$parent" ] || parent=.
            [ -n "${files[$parent]:-}" ] && break
            [ "$parent" != . ] || die "sign_hierarchy: $origin has no listed parent"
        done
        cat "$file.ds" >>"${files[$parent]}"
    done
    log "signed ${#order[@]} zones; trust anchor: $(awk '$4 == "DS" {print $1, $4, $5, $6, $7}' "$anchor")"
}

# cpu_ticks PID: utime + stime of the whole process (all threads), in clock ticks.
cpu_ticks() {
    # The command name (field 2) may hold spaces: read the fields after its closing parenthesis.
    sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'
}

# rss_kb PID: resident set size in KiB.
rss_kb() {
    awk '/^VmRSS:/ {print $2}' "/proc/$1/status"
}

# loadgen ARGS...: the batched generator, pinned to CLIENT_CORE.
loadgen() {
    taskset -c "$CLIENT_CORE" "$LOADGEN_BIN" "$@"
}

# result_field KEY FILE: the value of KEY=... on the RESULT line loadgen printed into FILE.
result_field() {
    grep '^RESULT ' "$2" | tr ' ' '\n' | awk -F= -v k="$1" '$1 == k {print $2}'
}

machine_summary() {
    local model
    model=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
    echo "machine: $(nproc) cores ($model), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), kernel $(uname -r)"
    echo "load average (1, 5, 15 min): $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "ferret $(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'), $(unbound -V 2>/dev/null | awk '/^Version/ {print "unbound " $2}'), $(nsd -v 2>&1 | awk '/^NSD version/ {print "nsd " $3}'), $(dnsperf -h 2>&1 | awk '/^Version/ {print "dnsperf " $2}')"
}

# start_cold_authority: starts benches/cold_authority.rs on CLIENT_CORE with BLOCK, ZONES,
# NAMES_PER_ZONE, LEAF_SERVERS and LATENCY_MS, writing $BENCH_TMP/root.hints and names.txt, and
# waits for it to say READY. It reads commands on its stdin and exits when that closes, so it
# cannot outlive the bench even if the trap never runs. Sets AUTH_IN and AUTH_OUT for `authority`.
start_cold_authority() {
    coproc AUTHORITY {
        exec setsid taskset -c "$CLIENT_CORE" "$BIN_DIR/cold_authority" \
            --block "$BLOCK" --zones "$ZONES" --names-per-zone "$NAMES_PER_ZONE" \
            --leaf-servers "$LEAF_SERVERS" --latency-ms "$LATENCY_MS" \
            --hints-out "$BENCH_TMP/root.hints" --queries-out "$BENCH_TMP/names.txt" \
            2>"$BENCH_TMP/authority.err"
    }
    BENCH_GROUPS+=("$AUTHORITY_PID")
    AUTH_IN=${AUTHORITY[1]}
    AUTH_OUT=${AUTHORITY[0]}
    local ready
    read -r -t 60 ready <&"$AUTH_OUT" || die "the authority did not start: $(cat "$BENCH_TMP/authority.err")"
    [ "$ready" = READY ] || die "the authority said $ready"
    log "authority: $ZONES zones x $NAMES_PER_ZONE names on $((LEAF_SERVERS + 2)) servers, $LATENCY_MS ms per answer (pid $AUTHORITY_PID)"
}

# authority COMMAND: sends a command to the cold authority, sets AUTH_REPLY. Not in a $(...)
# subshell: bash does not pass coprocess descriptors on to those.
authority() {
    echo "$1" >&"$AUTH_IN"
    read -r -t 30 AUTH_REPLY <&"$AUTH_OUT" || die "no reply from the authority to $1"
}
