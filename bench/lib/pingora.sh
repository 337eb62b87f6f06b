# shellcheck shell=bash
# The daemon under test: its configuration and its start.

# write_pingora_conf FILE PORT UPSTREAM_PORT H2C_PORT [KEY: VALUE]...: every route to the upstream; pid file, upgrade
# socket and log in FILE's directory; H2C_PORT (may be empty) is a cleartext HTTP/2 (prior knowledge) listener.
# TLS_LISTENER="PORT CERT KEY" in the environment adds a TLS listener (HTTP/1.1 and HTTP/2 by ALPN).
write_pingora_conf() {
    local file=$1 port=$2 upstream=$3 h2c=$4 dir
    dir=$(dirname "$file")
    shift 4
    {
        echo "version: 1"
        echo "pid_file: $dir/pingora.pid"
        echo "upgrade_sock: $dir/pingora_upgrade.sock"
        echo "error_log: $dir/pingora.log"
        echo "status_path: /status"
        printf '%s\n' "$@"
        echo "listeners:"
        echo "  - address: 127.0.0.1:$port"
        [[ -z $h2c ]] || printf '  - address: 127.0.0.1:%s\n    protocols: [http2]\n' "$h2c"
        if [[ -n ${TLS_LISTENER:-} ]]; then
            local tls
            read -r -a tls <<<"$TLS_LISTENER"
            printf '  - address: 127.0.0.1:%s\n    tls:\n      certificate_path: %s\n      key_path: %s\n' "${tls[@]}"
        fi
        cat <<CONF
ReverseProxy:
  Routes:
    all:
      ClusterId: upstream
      Match:
        Path: "/{**catch-all}"
  Clusters:
    upstream:
      Destinations:
        one:
          Address: http://127.0.0.1:$upstream/
CONF
    } >"$file"
    "$PINGORA_BIN" -t -c "$file" >"$dir/conf-test.log" 2>&1 || { cat "$dir/conf-test.log" >&2; die "pingora -t rejected $file"; }
}

# start_pingora CONF OUT [FLAG]...: starts pingora (foreground mode, not -d) in the background of this script, its
# stdout and stderr to OUT; sets STARTED_PINGORA to its pid. Not in $(...): the process must be this shell's child.
start_pingora() {
    local conf=$1 out=$2
    shift 2
    "$PINGORA_BIN" "$@" -c "$conf" >"$out" 2>&1 &
    STARTED_PINGORA=$!
    track "$STARTED_PINGORA"
}

# wait_status PORT PID SECONDS: until GET /status on PORT answers 200 (from any instance); fails early if PID exits.
wait_status() {
    local port=$1 pid=$2 deadline=$((SECONDS + $3))
    until curl -sf -o /dev/null "http://127.0.0.1:$port/status"; do
        alive "$pid" || return 1
        ((SECONDS < deadline)) || return 1
        sleep 0.05
    done
}
