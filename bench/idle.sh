#!/usr/bin/env bash
# The idle-connection benchmark (issue 14: "idle connection <= 8 KB"): what N idle HTTP/1.1 keep-alive connections,
# each after one proxied request, add to a proxy's RSS, for pingora and the proxies beside it in the same run,
# alternating, as a ratio to nginx. pingora's readings are both taken after its idle trim (Memory/IdleMemoryTrim):
# before the baseline a short load and a quiet spell, after the connections another quiet spell, so what is
# measured is what the connections keep, not what a burst left committed. Every process started here is stopped
# on exit.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$BENCH_DIR/lib/upstream.sh"
source "$BENCH_DIR/lib/pingora.sh"
source "$BENCH_DIR/lib/proxies.sh"
source "$BENCH_DIR/lib/procstat.sh"

usage() {
    cat <<'EOF'
usage: bench/idle.sh [options]
  --connections N    idle connections, opened one at a time with one request each (default 5000; from about 3000 on
                     they allocate enough for pingora's trim to run after them)
  --rounds N         rounds over the proxies (default 2); figures are medians over rounds
  --proxies "..."    among pingora pingora-base nginx haproxy (default: pingora and nginx, pingora-base when
                     PINGORA_BASE_BIN is set)
environment: PINGORA_BIN (else artifacts/pingora/pingora, published when missing or older than the sources),
             PINGORA_BASE_BIN (for pingora-base), BENCH_KEEP=1 keeps the work directory
EOF
}

ORIG_ARGS=("$@")
CONNECTIONS=5000 ROUNDS=2 PROXIES=""
while (($#)); do
    case $1 in
        --connections) CONNECTIONS=$2 ;;
        --rounds) ROUNDS=$2 ;;
        --proxies) PROXIES=$2 ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; exit 2 ;;
    esac
    shift 2
done
if [[ -z $PROXIES ]]; then
    PROXIES=pingora
    [[ -z ${PINGORA_BASE_BIN:-} ]] || PROXIES+=" pingora-base"
    ! command -v nginx >/dev/null || PROXIES+=" nginx"
fi
read -r -a PROXY_LIST <<<"$PROXIES"
(($(ulimit -n) > CONNECTIONS + 1000)) || ulimit -n $((CONNECTIONS + 1000)) 2>/dev/null ||
    die "RLIMIT_NOFILE $(ulimit -n) is too low for $CONNECTIONS connections (ulimit -n)"

init_run
ensure_pingora
LOADGEN=$(build_bench_project LoadGen)
UPSTREAM_PORT=$(free_port 28000)
start_upstream "$UPSTREAM_PORT"
H1_PORT=$(free_port 28081)
H2_PORT=$(free_port $((H1_PORT + 1)))
prepare_proxies "${PROXY_LIST[@]}"

# trims NAME: how many idle trims the proxy has logged so far (0 for what is not pingora).
trims() { grep -c "idle: heap trimmed" "$WORK/$1/pingora.log" 2>/dev/null || true; }

# quiet NAME BEFORE: waits (at most 10 s) for a trim after BEFORE trims; the others get 3 s to settle.
quiet() {
    local name=$1 before=$2 deadline=$((SECONDS + 10))
    if [[ $name != pingora* ]]; then sleep 3; return; fi
    while (($(trims "$name") <= before)); do
        ((SECONDS < deadline)) || { log "$name: no idle trim within 10 s; reading RSS anyway"; return; }
        sleep 0.2
    done
}

# measure NAME ROUND: one cell; appends "NAME ROUND BEFORE_KB AFTER_KB" to RESULTS.
measure() {
    local name=$1 round=$2 before after t out=$WORK/idle-$1-$2.out idle_pid
    start_proxy "$name"
    # Some 100 MB allocated through the proxy, so that its trim runs before the baseline too.
    "$LOADGEN" run --url "http://127.0.0.1:$H1_PORT/" --keepalive 8 --duration 2 >/dev/null
    t=$(trims "$name")
    quiet "$name" "$t"
    before=$(status_kb VmRSS "$PROXY_PID")
    t=$(trims "$name")
    "$LOADGEN" idle --url "http://127.0.0.1:$H1_PORT/" --connections "$CONNECTIONS" --hold 300 >"$out" 2>&1 &
    idle_pid=$!
    track "$idle_pid"
    wait_line "$out" '^IDLE ' "$idle_pid" 300 0.2 || { cat "$out" >&2; die "loadgen idle did not open its connections"; }
    grep -q "^IDLE open=$CONNECTIONS failed=0" "$out" || { cat "$out" >&2; die "$name: not every connection opened"; }
    quiet "$name" "$t"
    after=$(status_kb VmRSS "$PROXY_PID")
    stop_pid "$idle_pid" TERM
    stop_proxy
    log "$name round $round: RSS $(mb "$before") -> $(mb "$after") MB with $CONNECTIONS idle connections"
    RESULTS+=("$name $round $before $after")
}

RESULTS=()
for ((round = 1; round <= ROUNDS; round++)); do
    for name in "${PROXY_LIST[@]}"; do measure "$name" "$round"; done
done

# column NAME FIELD: FIELD (3 = before, 4 = after, 5 = KB per connection) of NAME's cells, one per line.
column() {
    local r
    for r in "${RESULTS[@]}"; do
        read -r -a f <<<"$r"
        [[ ${f[0]} == "$1" ]] || continue
        case $2 in
            3) echo "${f[2]}" ;;
            4) echo "${f[3]}" ;;
            5) awk -v b="${f[2]}" -v a="${f[3]}" -v c="$CONNECTIONS" 'BEGIN { printf "%.2f\n", (a - b) / c }' ;;
        esac
    done
}

echo "== pingora idle-connection benchmark =="
echo "command: $(command_line "${ORIG_ARGS[@]}")"
echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
machine_info
echo "upstream: $UPSTREAM_KIND"
for name in "${PROXY_LIST[@]}"; do echo "proxy: $(proxy_version "$name")"; done
echo "method: per cell a fresh proxy process; 2 s of keep-alive load through it, a quiet spell (pingora: until its idle"
echo "trim), RSS; then $CONNECTIONS connections opened one at a time, one GET / each, its response read before the next"
echo "opens; a quiet spell again, RSS. Per connection: the difference / $CONNECTIONS. $ROUNDS rounds, alternating; medians."
echo "RSS is the proxy's own (nginx: master + workers)."
echo
declare -A PER
for name in "${PROXY_LIST[@]}"; do PER[$name]=$(column "$name" 5 | median); done
printf '%-14s %10s %14s %10s %8s\n' proxy "RSS MB" "with idle MB" "KB/conn" "x nginx"
for name in "${PROXY_LIST[@]}"; do
    x=$(awk -v a="${PER[$name]}" -v b="${PER[nginx]:-0}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')
    printf '%-14s %10s %14s %10s %8s\n' "$name" "$(mb "$(column "$name" 3 | median)")" "$(mb "$(column "$name" 4 | median)")" "${PER[$name]}" "$x"
done
echo
echo "per cell, KB per connection:"
for name in "${PROXY_LIST[@]}"; do echo "  $name: $(column "$name" 5 | tr '\n' ' ')"; done
