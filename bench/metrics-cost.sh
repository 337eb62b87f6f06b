#!/usr/bin/env bash
# What the metrics (admin_listener) and the access log cost per request, in figures that do not depend on how busy
# the machine is: bytes allocated per request (the runtime's own counter, followed with dotnet-counters through the
# load) and CPU seconds per 100k requests (utime + stime from /proc before and after the load), over a fixed number
# of requests sent at a fixed rate (N = rate x seconds).
#
#   bench/metrics-cost.sh [--rate R] [--seconds S] [--rounds K] [--variants "base metrics metrics+log log"]
#
# Each variant is the same binary with another configuration: base (neither), metrics (admin_listener), log
# (access_log), metrics+log (both); "+meters" adds admin_request_meters: true (.NET's per-request meters too).
# Rounds alternate the variants, so slow drift of the machine spreads over all. PINGORA_BIN, and PINGORA_BASE_BIN
# (a second binary, measured as "<variant>@base" right after each variant), compare two builds in one run.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/procstat.sh"
source "$(dirname "$0")/lib/upstream.sh"
source "$(dirname "$0")/lib/pingora.sh"

RATE=2000 SECONDS_PER_RUN=50 ROUNDS=2 VARIANTS="base metrics metrics+log"
while (($#)); do
    case $1 in
        --rate) RATE=$2; shift 2 ;;
        --seconds) SECONDS_PER_RUN=$2; shift 2 ;;
        --rounds) ROUNDS=$2; shift 2 ;;
        --variants) VARIANTS=$2; shift 2 ;;
        -h | --help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown option $1 (see --help)" ;;
    esac
done

COUNTERS=${DOTNET_COUNTERS:-$(command -v dotnet-counters || echo "$HOME/.dotnet/tools/dotnet-counters")}
[[ -x $COUNTERS ]] || die "dotnet-counters not found: dotnet tool install -g dotnet-counters"

init_run
ensure_pingora
LOADGEN=$(build_bench_project LoadGen)
machine_info
echo "load: bench/LoadGen, 8 keep-alive connections, $RATE requests/s for $SECONDS_PER_RUN s per run, $ROUNDS round(s)"

UPSTREAM_PORT=$(free_port 18100)
start_upstream "$UPSTREAM_PORT"

# start_allocations PID OUT SECONDS: a dotnet-counters session of SECONDS on the process's allocation rate
# (System.Runtime's dotnet.gc.heap.total_allocated, reported per 1 s interval); sets COUNTERS_PID.
start_allocations() {
    "$COUNTERS" collect -p "$1" --counters 'System.Runtime[dotnet.gc.heap.total_allocated]' --refresh-interval 1 \
        --duration "$(printf '00:00:%02d:%02d' $(($3 / 60)) $(($3 % 60)))" --format json -o "$2" >/dev/null 2>&1 &
    COUNTERS_PID=$!
    track "$COUNTERS_PID"
}

# allocated OUT: the bytes allocated during the session (the sum of its per-interval values).
allocated() {
    # A Native AOT build has no diagnostic server for dotnet-counters to attach to: measure the single file.
    [[ -s $1 ]] || die "dotnet-counters wrote nothing to $1 (is PINGORA_BIN Native AOT? build -p:PingoraAot=false)"
    grep -o '"value": *[0-9.eE+]*' "$1" | sed 's/.*: *//' | awk '{ s += $1 } END { printf "%.0f", s }'
}

# run VARIANT BIN: one measured run; prints "VARIANT requests bytes/request cpu-s/100k".
run() {
    local variant=$1 bin=$2 dir port admin conf pid extra=() sent a0 a1 c0 c1
    dir=$WORK/$variant.$RANDOM
    mkdir -p "$dir"
    port=$(free_port 18200)
    admin=$(free_port $((port + 1)))
    case $variant in *metrics*) extra+=("admin_listener: 127.0.0.1:$admin") ;; esac
    case $variant in *log*) extra+=("access_log: $dir/access.log") ;; esac
    case $variant in *meters*) extra+=("admin_request_meters: true") ;; esac
    conf=$dir/pingora.yaml
    PINGORA_BIN=$bin write_pingora_conf "$conf" "$port" "$UPSTREAM_PORT" "" "${extra[@]}"
    PINGORA_BIN=$bin start_pingora "$conf" "$dir/out.log"
    pid=$STARTED_PINGORA
    wait_status "$port" "$pid" 60 || { cat "$dir/out.log" "$dir/pingora.log" >&2; die "pingora ($variant) did not start"; }
    # prometheus-net starts its meter adapter (.NET's meters) at the first collection: without a scrape, .NET's
    # instruments would record nothing, as they would not in production after the first one.
    case $variant in *metrics*) curl -sf -o /dev/null "http://127.0.0.1:$admin/metrics" || die "no /metrics on the admin listener" ;; esac
    # Warm-up: JIT tiering, connection pools, every labelled series created.
    "$LOADGEN" run --url "http://127.0.0.1:$port/" --keepalive 8 --rate "$RATE" --duration 5 >/dev/null
    # The session spans the load with 2 s of idle on each side, the same for every variant.
    start_allocations "$pid" "$dir/counters.json" $((SECONDS_PER_RUN + 4))
    sleep 2
    read -r c0 _ < <(cpu_ticks "$pid")
    "$LOADGEN" run --url "http://127.0.0.1:$port/" --keepalive 8 --rate "$RATE" --duration "$SECONDS_PER_RUN" >"$dir/load.txt"
    read -r c1 _ < <(cpu_ticks "$pid")
    wait "$COUNTERS_PID" || true
    a1=$(allocated "$dir/counters.json") a0=0
    sent=$(sed -n 's/^\[all\] [0-9.]* s: \([0-9]*\) requests.*/\1/p' "$dir/load.txt")
    grep -q ' 0 errors' "$dir/load.txt" || { cat "$dir/load.txt" >&2; die "$variant: requests failed"; }
    stop_pid "$pid" INT
    awk -v v="$variant" -v n="$sent" -v a="$((a1 - a0))" -v c="$((c1 - c0))" -v t="$CLK_TCK" \
        'BEGIN { printf "%-18s %8d %10.0f %10.2f\n", v, n, a / n, c / t * 100000 / n }'
}

printf '%-18s %8s %10s %10s\n' variant requests bytes/req cpu-s/100k
results=$WORK/results.txt
for ((round = 1; round <= ROUNDS; round++)); do
    for variant in $VARIANTS; do
        # Not `run | tee`: a pipeline runs `run` in a subshell, whose die would skip the EXIT trap's cleanup and
        # leave its pingora running.
        run "$variant" "$PINGORA_BIN" >"$WORK/row" && tee -a "$results" <"$WORK/row"
        # admin_request_meters is newer than the binaries it is compared with.
        if [[ -n ${PINGORA_BASE_BIN:-} && $variant != *meters* ]]; then
            run "$variant@base" "$PINGORA_BASE_BIN" >"$WORK/row" && tee -a "$results" <"$WORK/row"
        fi
    done
done
echo "--- mean over $ROUNDS round(s) ---"
awk '{ n[$1]++; b[$1] += $3; c[$1] += $4 } END { for (v in n) printf "%-18s %10.0f %10.2f\n", v, b[v] / n[v], c[v] / n[v] }' "$results" | sort
