#!/usr/bin/env bash
# The comparison suite (issue 5): pingora, a plain YARP app, nginx and haproxy (when installed) as reverse proxies to
# the same fast upstream, side by side in one run, alternating A B C D A B C D, on three workloads. Prints, per
# workload, requests/s, p50/p99 latency, CPU seconds per 100k requests and peak RSS of the proxy, each also as a
# ratio to nginx. Everything runs on 127.0.0.1; every process started here is stopped on exit.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$BENCH_DIR/lib/upstream.sh"
source "$BENCH_DIR/lib/pingora.sh"
source "$BENCH_DIR/lib/proxies.sh"
source "$BENCH_DIR/lib/upstream-clients.sh"
source "$BENCH_DIR/lib/procstat.sh"
source "$BENCH_DIR/lib/workloads.sh"

usage() {
    cat <<'EOF'
usage: bench/compare.sh [options]
  --duration S       measured seconds per cell (default 30)
  --warmup S         unmeasured seconds of the same load first, per cell (default 5)
  --rounds N         rounds of A B C D per workload (default 2); figures are medians over rounds
  --proxies "..."    among pingora plainyarp nginx haproxy (default: those installed), and pingora-accesslog
                     (pingora with access_log on: --proxies "pingora pingora-accesslog" is the access log's A/B;
                     pingora-accesslog-unbuffered the same with one write per line)
                     and pingora-base (PINGORA_BASE_BIN with pingora's configuration: a change's before/after)
                     and tcpsplice (bench/TcpSplice: TCP forwarding with no HTTP, keep-alive only: the floor of .NET's sockets)
                     and pingora-leanclient, pingora-noclient (pingora with YARP's upstream client swapped for a minimal
                     HTTP/1.1 one, and for none: what the client costs; bench/UpstreamClients)
  --workloads "..."  among keepalive newconn h2 (default: all three)
  --install          apt-get install wrk nghttp2-client nginx haproxy first (needs root)
environment: PINGORA_BASE_BIN (for pingora-base), PINGORA_BIN (else artifacts/pingora/pingora, published when missing or older than the sources),
             CONNECTIONS (64), H2_CLIENTS (16), H2_STREAMS (4), GEN_THREADS (nproc), BENCH_KEEP=1 keeps the work dir
EOF
}

ORIG_ARGS=("$@")
DURATION=30 WARMUP=5 ROUNDS=2 PROXIES="" WORKLOADS="keepalive newconn h2" INSTALL=0
while (($#)); do
    case $1 in
        --duration) DURATION=$2; shift ;;
        --warmup) WARMUP=$2; shift ;;
        --rounds) ROUNDS=$2; shift ;;
        --proxies) PROXIES=$2; shift ;;
        --workloads) WORKLOADS=$2; shift ;;
        --install) INSTALL=1 ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; exit 2 ;;
    esac
    shift
done

if ((INSTALL)); then
    log "installing wrk nghttp2-client nginx haproxy"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk nghttp2-client nginx haproxy >/dev/null
fi

init_run
STARTED_AT=$(date -u +%Y-%m-%dT%H:%M:%SZ)
MACHINE=$(machine_info) # before the load: it includes the load average
ensure_pingora
LOADGEN=$(build_bench_project LoadGen)
PROXIES=${PROXIES:-$(available_proxies | tr '\n' ' ')}
UPSTREAM_PORT=$(free_port 28000)
start_upstream "$UPSTREAM_PORT"
H1_PORT=$(free_port 28081)
H2_PORT=$(free_port $((H1_PORT + 1)))
# shellcheck disable=SC2086
prepare_proxies $PROXIES

mkdir -p "$ARTIFACTS/bench"
OUT=$ARTIFACTS/bench/compare-$(date +%Y%m%d-%H%M%S)
TSV=$OUT.tsv
printf 'workload\tproxy\tround\treq_per_s\tp50_ms\tp99_ms\tcpu_s_per_100k\tpeak_rss_kb\terrors\tuser_s_per_100k\n' >"$TSV"

header() {
    echo "== pingora comparison benchmark =="
    echo "command: $(command_line "${ORIG_ARGS[@]}")"
    echo "date: $STARTED_AT"
    echo "$MACHINE"
    echo "upstream: $UPSTREAM_KIND"
    local p
    for p in $PROXIES; do echo "proxy: $(proxy_version "$p")"; done
    local h1="bench/LoadGen (wrk is not installed)" h2="no h2load: HTTP/2 n/a"
    command -v wrk >/dev/null && h1=$({ wrk -v 2>&1 || true; } | head -1 | cut -d' ' -f1-2)
    command -v h2load >/dev/null && h2=$(h2load --version | head -1)
    echo "load generators: $h1, $h2"
    echo "method: per cell a fresh proxy process, ${WARMUP} s warm-up then ${DURATION} s measured; per workload the proxies" \
        "alternate (round 1: ${PROXIES% }; then again), $ROUNDS rounds, medians shown; no CPU pinning: load generator, proxy" \
        "and upstream share all $(nproc) cpus. CPU (user + system; user alone beside it) and peak RSS (VmHWM) are the proxy's own (nginx: master + workers)."
}

# per100k TICKS REQUESTS: CPU seconds per 100 000 requests.
per100k() { awk -v d="$1" -v t="$CLK_TCK" -v n="$2" 'BEGIN { if (n > 0) printf "%.3f", d / t * 100000 / n; else print "nan" }'; }

# One cell: a fresh proxy, warm-up, measured run; appends a row to the TSV.
run_cell() {
    local workload=$1 round=$2 proxy=$3 out=$WORK/$1-$2-$3.out line c0 c1 u0 u1 rps p50 p99 requests errors cpu user hwm
    start_proxy "$proxy"
    run_workload "$workload" "$WARMUP" "$WORK/warmup.out" >/dev/null
    read -r c0 u0 < <(cpu_ticks "$PROXY_PID")
    line=$(run_workload "$workload" "$DURATION" "$out")
    read -r c1 u1 < <(cpu_ticks "$PROXY_PID")
    hwm=$(status_kb VmHWM "$PROXY_PID")
    stop_proxy
    read -r rps p50 p99 requests errors <<<"$line"
    cpu=$(per100k $((c1 - c0)) "$requests") user=$(per100k $((u1 - u0)) "$requests")
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$workload" "$proxy" "$round" "$rps" "$p50" "$p99" "$cpu" "$hwm" "$errors" "$user" >>"$TSV"
    log "$workload round $round $proxy: $rps req/s, p50 $p50 ms, p99 $p99 ms, CPU $cpu s/100k (user $user), peak RSS $(mb "$hwm") MB, $errors errors"
}

# The table of one workload from the TSV: medians over rounds, ratios to nginx.
table() {
    local workload=$1
    echo
    workload_command "$workload" "$DURATION"
    echo "== $(workload_title "$workload") =="
    echo "load:$(printf ' %q' "${CMD[@]}")"
    if ! workload_available "$workload"; then
        echo "n/a: h2load is not installed (apt-get install nghttp2-client, or --install)"
        return
    fi
    awk -F'\t' -v w="$workload" -v order="$PROXIES" '
        function median(key,   n, i, j, t, a) {
            n = split(vals[key], a, " ")
            for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
            if (n == 0) return "nan"
            return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
        }
        function ratio(v, ref) { return (ref + 0 > 0 && v == v + 0) ? sprintf("%.2f", v / ref) : "n/a" }
        $1 == w {
            for (c = 4; c <= 10; c++) if (c != 9) vals[$2 SUBSEP c] = vals[$2 SUBSEP c] " " $c
            errors[$2] += $9; rounds[$2]++
        }
        END {
            printf "%-18s %10s %7s %8s %7s %8s %7s %10s %7s %11s %7s %11s %7s %7s\n", "proxy", "req/s", "x nginx", "p50 ms", "x nginx",
                "p99 ms", "x nginx", "CPU s/100k", "x nginx", "user s/100k", "x nginx", "peak RSS MB", "x nginx", "errors"
            for (c = 4; c <= 10; c++) ref[c] = ("nginx" SUBSEP c) in vals ? median("nginx" SUBSEP c) : ""
            n = split(order, names, " ")
            for (i = 1; i <= n; i++) {
                p = names[i]
                if (!rounds[p]) continue
                for (c = 4; c <= 10; c++) if (c != 9) m[c] = median(p SUBSEP c)
                printf "%-18s %10.0f %7s %8.3f %7s %8.3f %7s %10.3f %7s %11.3f %7s %11.1f %7s %7d\n", p,
                    m[4], ratio(m[4], ref[4]), m[5], ratio(m[5], ref[5]), m[6], ratio(m[6], ref[6]),
                    m[7], ratio(m[7], ref[7]), m[10], ratio(m[10], ref[10]), m[8] / 1024, ratio(m[8], ref[8]), errors[p]
            }
        }' "$TSV"
}

for workload in $WORKLOADS; do
    workload_command "$workload" 1 # validates the name
    workload_available "$workload" || { log "$workload: n/a (no load generator for it)"; continue; }
    for ((round = 1; round <= ROUNDS; round++)); do
        for proxy in $PROXIES; do
            if proxy_serves "$proxy" "$workload"; then run_cell "$workload" "$round" "$proxy"; fi
        done
    done
done

{
    header
    for workload in $WORKLOADS; do table "$workload"; done
    echo
    echo "raw figures (one row per cell): $TSV"
} | tee "$OUT.txt"
