# shellcheck shell=bash
# The three workloads of compare.sh and the parsing of their load generators' output. Each run prints one line:
#   REQ_PER_S P50_MS P99_MS REQUESTS ERRORS
# (REQUESTS: completed; ERRORS: socket errors, timeouts and non-2xx responses).

CONNECTIONS=${CONNECTIONS:-64}
H2_CLIENTS=${H2_CLIENTS:-16}
H2_STREAMS=${H2_STREAMS:-4}
GEN_THREADS=${GEN_THREADS:-$(nproc)}

workload_title() {
    case $1 in
        keepalive) echo "HTTP/1.1 keep-alive, $CONNECTIONS connections" ;;
        newconn) echo "HTTP/1.1, a new connection per request, $CONNECTIONS concurrent" ;;
        h2) echo "HTTP/2 cleartext (prior knowledge), $H2_CLIENTS connections x $H2_STREAMS concurrent streams" ;;
    esac
}

# workload_command WORKLOAD SECONDS: the load generator's command line (an array, in CMD).
workload_command() {
    local w=$1 secs=$2
    case $w in
        keepalive | newconn)
            if command -v wrk >/dev/null; then
                CMD=(wrk -t "$GEN_THREADS" -c "$CONNECTIONS" -d "${secs}s" --timeout 5s --latency)
                [[ $w == keepalive ]] || CMD+=(-H "Connection: close")
                CMD+=("http://127.0.0.1:$H1_PORT/")
            else
                CMD=("$LOADGEN" run --url "http://127.0.0.1:$H1_PORT/" --duration "$secs" --timeout 5)
                [[ $w == keepalive ]] && CMD+=(--keepalive "$CONNECTIONS") || CMD+=(--keepalive 0 --new-conn "$CONNECTIONS")
            fi
            ;;
        h2) CMD=(h2load -t "$GEN_THREADS" -c "$H2_CLIENTS" -m "$H2_STREAMS" -D "$secs" "http://127.0.0.1:$H2_PORT/") ;;
        *) die "unknown workload $w (known: keepalive newconn h2)" ;;
    esac
}

# workload_available WORKLOAD: whether this machine has its load generator.
workload_available() {
    [[ $1 != h2 ]] || command -v h2load >/dev/null
}

# run_workload WORKLOAD SECONDS OUT: runs it (output in OUT) and prints the summary line.
run_workload() {
    local w=$1 secs=$2 out=$3
    workload_command "$w" "$secs"
    case ${CMD[0]} in
        wrk)
            "${CMD[@]}" >"$out" 2>&1 || die "wrk failed: $(cat "$out")"
            parse_wrk "$out"
            ;;
        h2load)
            "${CMD[@]}" --log-file "$out.requests" >"$out" 2>&1 || die "h2load failed: $(cat "$out")"
            parse_h2load "$out"
            ;;
        *)
            "${CMD[@]}" >"$out" 2>&1 || die "loadgen failed: $(cat "$out")"
            awk '/^RESULT window=all / {
                for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
                print v["rps"], v["p50_ms"], v["p99_ms"], v["ok"], v["errors"] }' "$out"
            ;;
    esac
}

parse_wrk() {
    awk '
        function ms(v) {
            if (sub(/us$/, "", v)) return v / 1000
            if (sub(/ms$/, "", v)) return v + 0
            if (sub(/s$/, "", v)) return v * 1000
            if (sub(/m$/, "", v)) return v * 60000
            return v + 0
        }
        $1 == "50%" { p50 = ms($2) }
        $1 == "99%" { p99 = ms($2) }
        / requests in / { requests = $1 }
        /^ *Socket errors:/ { gsub(",", ""); errors += $4 + $6 + $8 + $10 }
        /^ *Non-2xx or 3xx responses:/ { errors += $NF }
        /^Requests\/sec:/ { rps = $2 }
        END { printf "%s %.3f %.3f %d %d\n", rps, p50, p99, requests, errors }' "$1"
}

# h2load prints no percentiles: they come from its per-request log (start us, status, duration us).
parse_h2load() {
    local out=$1 p50 p99
    read -r p50 p99 < <(awk -F'\t' '$2 >= 200 && $2 < 300 { print $3 }' "$out.requests" | sort -n | awk '
        { v[NR] = $1 }
        END {
            if (NR == 0) { print "nan nan"; exit }
            i50 = int(NR * 0.50 + 0.999999); i99 = int(NR * 0.99 + 0.999999)
            printf "%.3f %.3f\n", v[i50] / 1000, v[i99] / 1000
        }')
    rm -f "$out.requests"
    awk -v p50="$p50" -v p99="$p99" '
        /^finished in/ { rps = $4 }
        /^requests:/ { done = $6; failed = $10 }
        /^status codes:/ { non2xx = $5 + $7 + $9 }
        END { printf "%s %s %s %d %d\n", rps, p50, p99, done, failed + non2xx }' "$out"
}
