#!/usr/bin/env bash
# The upgrade benchmark (issue 3): pingora under load through one zero-downtime upgrade (start `pingora -u`, then
# SIGQUIT the running instance). Prints requests served, errors by kind, p99 latency in steady state and in the
# upgrade window (and their ratio), and the time from starting the successor to its acknowledgement. The baseline of
# the upgrade window is a control window in the same run: a second pingora starts (on another port) and stops, with
# no handoff, so that what a process start alone costs on this machine is told apart from what the handoff costs.
# With --soak N: N consecutive upgrades, each under its own load, with the RSS of every generation idle and under
# load, and the total of errors. Everything runs on 127.0.0.1; every process started here is stopped on exit.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$BENCH_DIR/lib/upstream.sh"
source "$BENCH_DIR/lib/pingora.sh"
source "$BENCH_DIR/lib/procstat.sh"

usage() {
    cat <<'EOF'
usage: bench/upgrade.sh [options]
  --soak N            N consecutive upgrades under load (default: one, with details)
  --before S          seconds of load before the upgrade (default 5; 2 with --soak)
  --after S           seconds of load after the predecessor's expected exit (default 5; 1 with --soak)
  --rate R            requests/s over all workers, 0 = as fast as possible (default 2000)
  --keepalive N       keep-alive connections (default 8)
  --new-conn N        workers opening a new connection per request (default 4)
  --timeout S         per-request timeout (default 5)
  --no-retry          count a request sent on a keep-alive connection the server had closed while idle as an error
                      (default: re-send it once on a new connection, as HTTP clients do, and count it apart)
  --close-timeout S   pingora's close_timeout_seconds for the run (default 1)
  --grace S           pingora's grace_period_seconds for the run (default 5)
  --successor-first S start `pingora -u` S seconds before the SIGQUIT (the README's other order); the upgrade window
                      then starts at the SIGQUIT (default 0: SIGQUIT right after starting `pingora -u`)
environment: PINGORA_BIN (else artifacts/pingora/pingora, published when missing or older than the sources),
             BENCH_KEEP=1 keeps the work directory (logs, load records)
EOF
}

ORIG_ARGS=("$@")
SOAK=0 BEFORE="" AFTER="" LEAD=0 RATE=2000 KEEPALIVE=8 NEWCONN=4 TIMEOUT=5 CLOSE=1 GRACE=5 RETRY=()
while (($#)); do
    case $1 in
        --no-retry) RETRY=(--no-retry); shift; continue ;;
        --soak) SOAK=$2 ;;
        --before) BEFORE=$2 ;;
        --after) AFTER=$2 ;;
        --rate) RATE=$2 ;;
        --keepalive) KEEPALIVE=$2 ;;
        --new-conn) NEWCONN=$2 ;;
        --timeout) TIMEOUT=$2 ;;
        --close-timeout) CLOSE=$2 ;;
        --grace) GRACE=$2 ;;
        --successor-first) LEAD=$2 ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; exit 2 ;;
    esac
    shift 2
done
if ((SOAK > 0)); then BEFORE=${BEFORE:-2} AFTER=${AFTER:-1}; else BEFORE=${BEFORE:-5} AFTER=${AFTER:-5}; fi
# The control window (one upgrade with details only): as long as an upgrade window, with a margin.
CONTROL_SECONDS=0
((SOAK > 0)) || CONTROL_SECONDS=$((CLOSE + 2))
# The load of one upgrade: steady state, [control,] the upgrade itself (close_timeout plus a little), then after.
LOAD_SECONDS=$(awk -v b="$BEFORE" -v k="$CONTROL_SECONDS" -v l="$LEAD" -v c="$CLOSE" -v a="$AFTER" 'BEGIN { print b + k + l + c + 2 + a }')
# T0, where the upgrade window starts: the start of `pingora -u`, or with --successor-first the SIGQUIT.
T0_IS="starting pingora -u"
awk -v l="$LEAD" 'BEGIN { exit !(l > 0) }' && T0_IS="the SIGQUIT, $LEAD s after starting pingora -u"

init_run
ensure_pingora
LOADGEN=$(build_bench_project LoadGen)
UPSTREAM_PORT=$(free_port 28000)
start_upstream "$UPSTREAM_PORT"
PORT=$(free_port 28080)
CONF=$WORK/pingora.yaml
LOG=$WORK/pingora.log
write_pingora_conf "$CONF" "$PORT" "$UPSTREAM_PORT" "" "close_timeout_seconds: $CLOSE" "grace_period_seconds: $GRACE"
if ((CONTROL_SECONDS > 0)); then
    mkdir -p "$WORK/control"
    CONTROL_CONF=$WORK/control/pingora.yaml
    write_pingora_conf "$CONTROL_CONF" "$(free_port $((PORT + 1)))" "$UPSTREAM_PORT" ""
fi

# --- helpers ---------------------------------------------------------------------------------------------------

# phase_time PID PHASE: Unix time of the first "pingora[PID] phase=PHASE" log line, or empty.
phase_time() {
    local ts
    ts=$(grep -m1 "pingora\[$1\] phase=$2 " "$LOG" | cut -d' ' -f1 || true)
    [[ -z $ts ]] || iso_to_epoch "$ts"
}

# field LINE KEY: the value of KEY=... in a loadgen RESULT line.
field() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0 && a == a + 0) printf "%.2fx", a / b; else print "n/a" }'; }

# control_start: starts and stops a second pingora (CONTROL_CONF: another port, its own log), no handoff; returns
# when it has stopped. Polls its log as wait_upgrade polls the upgrade's, so both windows see the same polling.
control_start() {
    local pid
    start_pingora "$CONTROL_CONF" "$WORK/control/out.log"
    pid=$STARTED_PINGORA
    wait_line "$WORK/control/pingora.log" "phase=serving" "$pid" 30 0.1 ||
        { cat "$WORK/control/out.log" >&2; die "the control pingora did not start"; }
    kill -INT "$pid"
    wait "$pid" || die "the control pingora exited with status $?"
}

# wait_upgrade OLD NEW NEW_OUTPUT: until OLD has exited (success), or NEW exited / the handoff failed / too long.
wait_upgrade() {
    local old=$1 new=$2 deadline=$((SECONDS + CLOSE + GRACE + 40))
    while alive "$old"; do
        if ! alive "$new"; then log "the successor pid $new exited:"; cat "$3" >&2; return 1; fi
        if grep -q "pingora\[$old\] phase=handoff-failed" "$LOG"; then grep "pingora\[$old\] phase=handoff-failed" "$LOG" >&2; return 1; fi
        ((SECONDS < deadline)) || { log "pid $old still runs"; return 1; }
        # The window's end is read from the predecessor's exit line, so polling slowly loses nothing, and every
        # poll starts processes (grep, sleep) that take CPU from what is measured.
        sleep 0.1
    done
}

# --- one upgrade under load ------------------------------------------------------------------------------------
# Uses CURRENT (the running instance); leaves the successor in CURRENT. Sets the C_* results of the cycle.

run_cycle() {
    local n=$1 records out load_pid next t_start t_exit t_load warm t_control=""
    records=$WORK/load-$n.bin out=$WORK/load-$n.out
    C_OLD=$CURRENT
    C_RSS_IDLE=$(status_kb VmRSS "$CURRENT")
    "$LOADGEN" run --url "http://127.0.0.1:$PORT/" --keepalive "$KEEPALIVE" --new-conn "$NEWCONN" --rate "$RATE" \
        --duration "$LOAD_SECONDS" --timeout "$TIMEOUT" --records "$records" "${RETRY[@]}" >"$out" 2>&1 &
    load_pid=$!
    track "$load_pid"
    sleep "$BEFORE"
    C_RSS_LOAD=$(status_kb VmRSS "$CURRENT")
    C_HWM=$(status_kb VmHWM "$CURRENT")
    if ((CONTROL_SECONDS > 0)); then
        t_control=$(now)
        control_start
        sleep "$(awk -v t="$t_control" -v k="$CONTROL_SECONDS" -v n="$(now)" 'BEGIN { r = t + k - n; print (r > 0 ? r : 0) }')"
    fi

    local t_successor
    t_successor=$(now)
    start_pingora "$CONF" "$WORK/gen-$((n + 1)).out" -u
    next=$STARTED_PINGORA
    if [[ $T0_IS != "starting pingora -u" ]]; then
        wait_line "$LOG" "pingora\[$next\] phase=upgrade-wait " "$next" 30 ||
            { cat "$WORK/gen-$((n + 1)).out" >&2; die "the successor did not reach upgrade-wait"; }
        sleep "$(awk -v t="$t_successor" -v l="$LEAD" -v n="$(now)" 'BEGIN { r = t + l - n; print (r > 0 ? r : 0) }')"
    fi
    t_start=$(now)
    kill -QUIT "$CURRENT"
    wait_upgrade "$CURRENT" "$next" "$WORK/gen-$((n + 1)).out" || die "upgrade $n failed (logs: $LOG; BENCH_KEEP=1 keeps them)"
    t_exit=$(now)
    wait "$CURRENT" 2>/dev/null || log "the predecessor pid $CURRENT exited with status $?"
    wait "$load_pid" || die "the load generator failed: $(cat "$out")"

    # The predecessor's own exit line is more exact than our polling.
    C_T_EXIT=$(phase_time "$CURRENT" exit)
    C_T_EXIT=${C_T_EXIT:-$t_exit}
    C_T_START=$t_start
    C_ACK=$(phase_time "$CURRENT" handoff-acknowledged)
    C_COMMIT=$(phase_time "$next" upgrade-committed)
    C_ACK_MS=$(ms "$t_start" "$C_ACK")
    C_COMMIT_MS=$(ms "$t_start" "$C_COMMIT")

    # Windows by request start time: steady state from 1 s after the load started to the control window (or to the
    # start of `pingora -u`); the control window, as long as the upgrade window; the upgrade window from the start of
    # `pingora -u` to the predecessor's exit; after: the rest.
    t_load=$(sed -n 's/.* start \([0-9.]*\)$/\1/p' "$out" | head -1)
    local steady_end=${t_control:-$t_start} control=()
    warm=$(awk -v s="$t_load" -v u="$steady_end" 'BEGIN { w = s + 1; printf "%.6f", (w < u ? w : s) }')
    if awk -v e="$C_T_EXIT" -v s="$t_load" -v d="$LOAD_SECONDS" 'BEGIN { exit !(e > s + d) }'; then
        log "warning: the predecessor exited after the load had ended: the upgrade window is cut short (raise --after)"
    fi
    [[ -z $t_control ]] || control=(--window "control=$t_control,$(awk -v c="$t_control" -v s="$t_start" -v e="$C_T_EXIT" \
        'BEGIN { printf "%.6f", c + (e - s) }')")
    C_REPORT=$("$LOADGEN" report --records "$records" --window "steady=$warm,$steady_end" "${control[@]}" \
        --window "upgrade=$t_start,$C_T_EXIT" --window "after=$C_T_EXIT," --window "all=,")
    C_STEADY=$(grep '^RESULT window=steady ' <<<"$C_REPORT")
    C_CONTROL=$(grep '^RESULT window=control ' <<<"$C_REPORT" || true)
    C_UPGRADE=$(grep '^RESULT window=upgrade ' <<<"$C_REPORT")
    C_ALL=$(grep '^RESULT window=all ' <<<"$C_REPORT")
    CURRENT=$next
}

# warm_load SECONDS: load without an upgrade; sets W_RSS_LOAD (VmRSS of CURRENT half-way), then idles 1 s.
warm_load() {
    local pid half
    half=$(awk -v s="$1" 'BEGIN { print s / 2 }')
    "$LOADGEN" run --url "http://127.0.0.1:$PORT/" --keepalive "$KEEPALIVE" --new-conn "$NEWCONN" --rate "$RATE" \
        --duration "$1" --timeout "$TIMEOUT" >"$WORK/warm.out" 2>&1 &
    pid=$!
    track "$pid"
    sleep "$half"
    W_RSS_LOAD=$(status_kb VmRSS "$CURRENT")
    wait "$pid" || die "the load generator failed: $(cat "$WORK/warm.out")"
    sleep 1
}

# The phase lines of both processes from starting `pingora -u` on, in log order, in ms from that start.
timeline() {
    local old=$1 new=$2 line pid ts
    { grep -E "pingora\[($old|$new)\] phase=" "$LOG" || true; } | while read -r line; do
        ts=$(iso_to_epoch "${line%% *}")
        pid=${line#*pingora\[} pid=${pid%%\]*}
        awk -v t="$ts" -v s="$C_T_START" 'BEGIN { exit !(t >= s - 0.001) }' || continue
        printf '  %+6s ms  %-11s %s\n' "$(ms "$C_T_START" "$ts")" "$([[ $pid == "$new" ]] && echo successor || echo predecessor)" \
            "phase=${line#*phase=}"
    done
}

# --- run -------------------------------------------------------------------------------------------------------

start_pingora "$CONF" "$WORK/gen-1.out"
CURRENT=$STARTED_PINGORA
wait_status "$PORT" "$CURRENT" 60 || { cat "$WORK/gen-1.out" "$LOG" >&2; die "pingora did not start"; }
# Every generation's idle RSS is read after it has served load, the first one's too.
warm_load "$BEFORE"

echo "== pingora upgrade benchmark =="
echo "command: $(command_line "${ORIG_ARGS[@]}")"
machine_info
echo "pingora: $PINGORA_BIN ($("$PINGORA_BIN" -V 2>&1 | head -1)); upstream: $UPSTREAM_KIND"
echo "load: $KEEPALIVE keep-alive connections + $NEWCONN new-connection-per-request workers (repo's bench/LoadGen)," \
    "$( ((RATE > 0)) && echo "$RATE requests/s" || echo "closed loop")," \
    "${LOAD_SECONDS} s per upgrade ($BEFORE s before it); close_timeout_seconds $CLOSE, grace_period_seconds $GRACE"
echo

if ((SOAK == 0)); then
    first=$CURRENT
    run_cycle 1
    echo "$C_REPORT" | grep -v '^RESULT'
    echo
    echo "requests served:    $(field "$C_ALL" ok) ok of $(field "$C_ALL" requests)"
    echo "errors:             connect $(field "$C_ALL" connect) (refused $(field "$C_ALL" refused)), read $(field "$C_ALL" read) (reset $(field "$C_ALL" reset))," \
        "write $(field "$C_ALL" write), timeout $(field "$C_ALL" timeout), non-2xx $(field "$C_ALL" non2xx); total $(field "$C_ALL" errors)"
    echo "re-sent requests:   $(field "$C_ALL" retried) (keep-alive connection closed by the server while idle; not errors)"
    echo "p99 steady state:   $(field "$C_STEADY" p99_ms) ms (p50 $(field "$C_STEADY" p50_ms) ms, $(field "$C_STEADY" requests) requests in $(field "$C_STEADY" seconds) s)"
    echo "p99 upgrade window: $(field "$C_UPGRADE" p99_ms) ms (p50 $(field "$C_UPGRADE" p50_ms) ms, $(field "$C_UPGRADE" requests) requests in $(field "$C_UPGRADE" seconds) s: from $T0_IS to the predecessor's exit)"
    echo "p99 control window: $(field "$C_CONTROL" p99_ms) ms (p50 $(field "$C_CONTROL" p50_ms) ms, $(field "$C_CONTROL" requests) requests in $(field "$C_CONTROL" seconds) s: a second pingora started and stopped on another port, no handoff)"
    echo "p99 ratio:          $(ratio "$(field "$C_UPGRADE" p99_ms)" "$(field "$C_STEADY" p99_ms)") (upgrade window / steady state)," \
        "$(ratio "$(field "$C_UPGRADE" p99_ms)" "$(field "$C_CONTROL" p99_ms)") (upgrade window / control window)"
    echo "successor ready:    ${C_ACK_MS} ms from $T0_IS to phase=handoff-acknowledged (predecessor), ${C_COMMIT_MS} ms to phase=upgrade-committed (successor)"
    warm_load "$BEFORE"
    echo "RSS:                pid $first idle $(mb "$C_RSS_IDLE") MB, under load $(mb "$C_RSS_LOAD") MB (VmHWM $(mb "$C_HWM") MB);" \
        "successor pid $CURRENT under load $(mb "$W_RSS_LOAD") MB, idle $(mb "$(status_kb VmRSS "$CURRENT")") MB (VmHWM $(mb "$(status_kb VmHWM "$CURRENT")") MB)"
    echo
    echo "timeline (ms from $T0_IS):"
    timeline "$first" "$CURRENT"
else
    printf '%-4s %-15s %7s %9s %7s %8s %12s %12s %7s %10s %10s %8s\n' \
        "#" "old -> new pid" "ack ms" "requests" "errors" "re-sent" "p99 steady" "p99 upgrade" "ratio" "RSS idle" "RSS load" "VmHWM"
    total_errors=0 total_requests=0 total_resent=0 idle_first="" idle_max=0 ratios=() acks=()
    for ((i = 1; i <= SOAK; i++)); do
        run_cycle "$i"
        total_errors=$((total_errors + $(field "$C_ALL" errors)))
        total_requests=$((total_requests + $(field "$C_ALL" requests)))
        total_resent=$((total_resent + $(field "$C_ALL" retried)))
        idle_first=${idle_first:-$C_RSS_IDLE}
        ((C_RSS_IDLE > idle_max)) && idle_max=$C_RSS_IDLE
        r=$(ratio "$(field "$C_UPGRADE" p99_ms)" "$(field "$C_STEADY" p99_ms)")
        ratios+=("${r%x}") acks+=("$C_ACK_MS")
        printf '%-4s %-15s %7s %9s %7s %8s %9s ms %9s ms %7s %7s MB %7s MB %5s MB\n' "$i" "$C_OLD -> $CURRENT" "$C_ACK_MS" \
            "$(field "$C_ALL" requests)" "$(field "$C_ALL" errors)" "$(field "$C_ALL" retried)" "$(field "$C_STEADY" p99_ms)" "$(field "$C_UPGRADE" p99_ms)" \
            "$r" "$(mb "$C_RSS_IDLE")" "$(mb "$C_RSS_LOAD")" "$(mb "$C_HWM")"
        sleep 1 # the new generation idles before its RSS is read
    done
    warm_load "$BEFORE"
    last_idle=$(status_kb VmRSS "$CURRENT")
    ((last_idle > idle_max)) && idle_max=$last_idle
    echo "(RSS idle, RSS load, VmHWM: of the old generation before its upgrade; idle: after 1 s without load, load: $BEFORE s into it)"
    echo "last generation pid $CURRENT: RSS under load $(mb "$W_RSS_LOAD") MB, idle $(mb "$last_idle") MB, VmHWM $(mb "$(status_kb VmHWM "$CURRENT")") MB"
    echo "idle RSS over $((SOAK + 1)) generations: first $(mb "$idle_first") MB, last $(mb "$last_idle") MB, max $(mb "$idle_max") MB"
    # Each window's p99 is a handful of requests (the 21st slowest of 2 000 at the defaults): between two binaries,
    # compare the medians over the upgrades, not single rows.
    echo "upgrade window / steady-state p99 over $SOAK upgrades: $(spread x "${ratios[@]}")"
    echo "acknowledged after $T0_IS: $(spread " ms" "${acks[@]}")"
    echo "total: $total_requests requests, $total_errors errors over $SOAK upgrades" \
        "($total_resent re-sent after the server closed an idle keep-alive connection; not errors)"
fi
