#!/usr/bin/env bash
# The mixed soak (issue 15): N consecutive upgrades, alternating both orders (`pingora -u` first, then SIGQUIT; and
# SIGQUIT first, then `pingora -u`), under one continuous mixed load: the end-to-end tests' own clients (bench/LoadGen
# `soak`: HTTP/1.1 keep-alive and a new connection per request, h2c, h2 over TLS, WebSocket sessions, 8 MB downloads
# to slow readers, 8 MB uploads, 2 s slow responses, server-sent events) against their own backend (bench/Upstream
# `soak-backend`). Prints the upgrades, requests and errors by kind, retried HTTP/2 streams, WebSocket and SSE
# sessions and reconnects, RSS and open fds of every generation, access log lines against responses, and what is
# left running. Everything runs on 127.0.0.1; every process started here is stopped on exit.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$BENCH_DIR/lib/pingora.sh"
source "$BENCH_DIR/lib/procstat.sh"

usage() {
    cat <<'EOF_USAGE'
usage: bench/soak.sh [options]
  --upgrades N        consecutive upgrades (default 10)
  --close-timeout S   pingora's close_timeout_seconds (default 1)
  --grace S           pingora's grace_period_seconds (default 5: the drain ends long responses 1.25 s before its
                      deadline, after a 2 s response or an 8 MB slow download started just before the drain)
  --settle S          seconds each new generation serves alone before the next upgrade (default 1)
environment: PINGORA_BIN (else artifacts/pingora/pingora, published when missing or older than the sources),
             BENCH_KEEP=1 keeps the work directory (configuration, logs, access log)
EOF_USAGE
}

ORIG_ARGS=("$@")
UPGRADES=10 CLOSE=1 GRACE=5 SETTLE=1
while (($#)); do
    case $1 in
        --upgrades) UPGRADES=$2 ;;
        --close-timeout) CLOSE=$2 ;;
        --grace) GRACE=$2 ;;
        --settle) SETTLE=$2 ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; exit 2 ;;
    esac
    shift 2
done

init_run
ensure_pingora
LOADGEN=$(build_bench_project LoadGen)
UPSTREAM=$(build_bench_project Upstream)

UPSTREAM_PORT=$(free_port 29000)
"$UPSTREAM" soak-backend "$UPSTREAM_PORT" >"$WORK/upstream.log" 2>&1 &
UPSTREAM_PID=$!
track "$UPSTREAM_PID"
wait_port "$UPSTREAM_PORT" "$UPSTREAM_PID" 30 || { cat "$WORK/upstream.log" >&2; die "the soak backend did not start"; }

H1_PORT=$(free_port 29080)
H2C_PORT=$(free_port $((H1_PORT + 1)))
TLS_PORT=$(free_port $((H2C_PORT + 1)))
CONF=$WORK/pingora.yaml LOG=$WORK/pingora.log ACCESS=$WORK/access.log
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 -days 2 \
    -keyout "$WORK/key.pem" -out "$WORK/cert.pem" >"$WORK/openssl.log" 2>&1 || { cat "$WORK/openssl.log" >&2; die "openssl failed"; }
TLS_LISTENER="$TLS_PORT $WORK/cert.pem $WORK/key.pem" write_pingora_conf "$CONF" "$H1_PORT" "$UPSTREAM_PORT" "$H2C_PORT" \
    "access_log: $ACCESS" "close_timeout_seconds: $CLOSE" "grace_period_seconds: $GRACE"

# --- helpers ---------------------------------------------------------------------------------------------------

phase_time() {
    local ts
    ts=$(grep -m1 "pingora\[$1\] phase=$2 " "$LOG" | cut -d' ' -f1 || true)
    [[ -z $ts ]] || iso_to_epoch "$ts"
}

fds() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }

# upgrade N: one upgrade of CURRENT, in the order of N (odd: successor first); leaves the successor in CURRENT.
upgrade() {
    local n=$1 old=$CURRENT next order t0 deadline
    if ((n % 2 == 1)); then
        order="-u first"
        start_pingora "$CONF" "$WORK/gen-$((n + 1)).out" -u
        next=$STARTED_PINGORA
        wait_line "$LOG" "pingora\[$next\] phase=upgrade-wait " "$next" 30 || { cat "$WORK/gen-$((n + 1)).out" >&2; die "upgrade $n: the successor did not reach upgrade-wait"; }
        t0=$(now)
        kill -QUIT "$old"
    else
        order="SIGQUIT first"
        t0=$(now)
        kill -QUIT "$old"
        start_pingora "$CONF" "$WORK/gen-$((n + 1)).out" -u
        next=$STARTED_PINGORA
    fi
    deadline=$((SECONDS + 60))
    while alive "$old"; do
        alive "$next" || { cat "$WORK/gen-$((n + 1)).out" >&2; die "upgrade $n: the successor pid $next exited"; }
        ! grep -q "pingora\[$old\] phase=handoff-failed" "$LOG" || { grep "pingora\[$old\] phase=handoff-failed" "$LOG" >&2; die "upgrade $n failed"; }
        ((SECONDS < deadline)) || die "upgrade $n: pid $old still runs after 60 s"
        sleep 0.02
    done
    wait "$old" 2>/dev/null || die "upgrade $n: the predecessor pid $old exited with status $?"
    ! grep -q "pingora\[$old\] phase=upgrade-reverted" "$LOG" || die "upgrade $n: pid $old reverted the upgrade"
    sleep "$SETTLE"
    CURRENT=$next
    local rss fd
    rss=$(status_kb VmRSS "$CURRENT") fd=$(fds "$CURRENT")
    RSS_LAST=$rss FDS_LAST=$fd
    ((rss > RSS_MAX)) && RSS_MAX=$rss
    ((fd > FDS_MAX)) && FDS_MAX=$fd
    printf '%-4s %-14s %-15s %8s %9s %9s %8s %5s\n' "$n" "$order" "$old -> $next" "$(ms "$t0" "$(phase_time "$old" handoff-acknowledged)")" \
        "$(ms "$t0" "$(phase_time "$old" exit)")" "$(grep -c . "$ACCESS")" "$(mb "$rss")" "$fd"
}

# --- run -------------------------------------------------------------------------------------------------------

start_pingora "$CONF" "$WORK/gen-1.out"
CURRENT=$STARTED_PINGORA
FIRST=$CURRENT
wait_line "$LOG" "pingora\[$CURRENT\] phase=serving " "$CURRENT" 60 || { cat "$WORK/gen-1.out" "$LOG" >&2; die "pingora did not start"; }

"$LOADGEN" soak --http1 "127.0.0.1:$H1_PORT" --h2c "127.0.0.1:$H2C_PORT" --h2 "127.0.0.1:$TLS_PORT" >"$WORK/load.out" 2>&1 &
LOAD_PID=$!
track "$LOAD_PID"
sleep 3 # every kind under way, the first generation warm

echo "== pingora mixed soak: $UPGRADES upgrades under mixed traffic =="
echo "command: $(command_line "${ORIG_ARGS[@]}")"
machine_info
echo "pingora: $PINGORA_BIN ($("$PINGORA_BIN" -V 2>&1 | head -1)); upstream: bench/Upstream soak-backend (the end-to-end tests' backend)"
echo "traffic: bench/LoadGen soak (the end-to-end tests' clients): 4 HTTP/1.1 keep-alive + 2 new-connection workers (/status and" \
    "/bytes?n=4096), h2c and h2 over TLS (4 streams each, /bytes?n=16384), 4 WebSocket sessions (a message every 100 ms)," \
    "4 SSE streams, 2 slow-reader 8 MB downloads, 1 8 MB uploader, 2 workers on a 2 s slow upstream; every body checked"
echo "pingora config: close_timeout_seconds $CLOSE, grace_period_seconds $GRACE, access_log on; each generation serves alone $SETTLE s"
echo
RSS_FIRST=$(status_kb VmRSS "$CURRENT") FDS_FIRST=$(fds "$CURRENT")
RSS_MAX=$RSS_FIRST FDS_MAX=$FDS_FIRST RSS_LAST=$RSS_FIRST FDS_LAST=$FDS_FIRST
printf '%-4s %-14s %-15s %8s %9s %9s %8s %5s\n' "#" "order" "old -> new pid" "ack ms" "exit ms" "log lines" "RSS MB" "fds"
printf '%-4s %-14s %-15s %8s %9s %9s %8s %5s\n' "0" "start" "$CURRENT" "" "" "$(grep -c . "$ACCESS" || true)" "$(mb "$RSS_FIRST")" "$FDS_FIRST"
for ((i = 1; i <= UPGRADES; i++)); do
    alive "$LOAD_PID" || { cat "$WORK/load.out" >&2; die "the load generator exited"; }
    upgrade "$i"
done

kill -TERM "$LOAD_PID"
wait "$LOAD_PID" || die "the load generator failed: $(cat "$WORK/load.out")"
kill -TERM "$CURRENT"
wait "$CURRENT" || die "the last generation pid $CURRENT exited with status $?"
stop_pid "$UPSTREAM_PID"

soak_field() { grep "^SOAK kind=$1 " "$WORK/load.out" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
echo
echo "(ack ms, exit ms: from the SIGQUIT (-u first) or from the start of pingora -u (SIGQUIT first) to the predecessor's"
echo " handoff-acknowledged and exit; log lines: access log so far; RSS, fds: the new generation, $SETTLE s after its predecessor exited)"
echo
echo "upgrades:          $UPGRADES ($(((UPGRADES + 1) / 2)) with pingora -u first, $((UPGRADES / 2)) with SIGQUIT first), generations $FIRST .. $CURRENT"
printf '%-32s %10s %10s %8s %10s %8s %10s  %s\n' "kind" "responses" "completed" "sessions" "reconnects" "retried" "errors" "errors by kind"
for kind in http1-keep-alive http1-new-connection http1 h2c h2-tls websocket sse download-8mb-slow-reader upload-8mb slow-upstream-2s; do
    line=$(grep "^SOAK kind=$kind " "$WORK/load.out")
    printf '%-32s %10s %10s %8s %10s %8s %10s  %s\n' "$kind" "$(soak_field "$kind" responses)" "$(soak_field "$kind" completed)" \
        "$(soak_field "$kind" sessions)" "$(soak_field "$kind" reconnects)" "$(soak_field "$kind" retried)" "$(soak_field "$kind" errors)" \
        "$(tr ' ' '\n' <<<"$line" | grep -E '^(refused|reset|closed-early|timeout|non-2xx|wrong-body|other)=' | grep -v '=0$' | tr '\n' ' ')"
done
echo "(http1: the keep-alive and new-connection requests together, their errors by kind; completed: requests, WebSocket"
echo " messages echoed, SSE events, each checked; reconnects: WebSocket closed with 1001, SSE stream ended at an event"
echo " boundary, each resumed, not errors; retried: sent again by HttpClient on a new connection, unprocessed, not errors;"
echo " WebSocket messages in flight at a 1001 close: $(soak_field websocket unanswered))"
total=$(grep '^SOAK total ' "$WORK/load.out")
responses=$(tr ' ' '\n' <<<"$total" | sed -n 's/^responses=//p') errors=$(tr ' ' '\n' <<<"$total" | sed -n 's/^errors=//p')
lines=$(grep -c . "$ACCESS" || true)
echo "total:             $responses responses, $errors errors"
echo "RSS:               first generation $(mb "$RSS_FIRST") MB, last $(mb "$RSS_LAST") MB, max $(mb "$RSS_MAX") MB"
echo "open fds:          first generation $FDS_FIRST, last $FDS_LAST, max $FDS_MAX"
echo "access log:        $lines lines, $responses responses ($( ((lines == responses)) && echo equal || echo "DIFFER by $((lines - responses))"))"
left=$(pgrep -f "$WORK" || true)
for pid in "$LOAD_PID" "$UPSTREAM_PID" "$FIRST" "$CURRENT"; do ! alive "$pid" || left+=" $pid"; done
echo "left running:      $( [[ -z $left ]] && echo nothing || echo "pids $left")"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
grep -A25 '^first failures:' "$WORK/load.out" | grep '^  \[' | head -10 || true
((errors == 0 && lines == responses)) && [[ -z $left ]]
