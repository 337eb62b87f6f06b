# shellcheck shell=bash
# The fast upstream every proxy forwards to: nginx answering "return 200" from one worker when nginx is installed,
# else bench/Upstream (a minimal Kestrel app). Sets UPSTREAM_PID and UPSTREAM_KIND.

UPSTREAM_BODY="hello from the bench upstream"

start_upstream() {
    local port=$1 dir=$WORK/upstream
    mkdir -p "$dir"
    if command -v nginx >/dev/null; then
        UPSTREAM_KIND="nginx $(nginx -v 2>&1 | sed 's:.*nginx/::'), ${BENCH_UPSTREAM_WORKERS:-1} worker(s), return 200"
        cat >"$dir/nginx.conf" <<CONF
worker_processes ${BENCH_UPSTREAM_WORKERS:-1};
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 16384; }
http {
    access_log off;
    keepalive_requests 10000000;
    server {
        listen 127.0.0.1:$port backlog=4096;
        location / { return 200 "$UPSTREAM_BODY\n"; }
    }
}
CONF
        nginx -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf" >"$dir/stdout.log" 2>&1 &
    else
        local exe
        exe=$(build_bench_project Upstream)
        UPSTREAM_KIND="bench/Upstream (Kestrel; nginx is not installed)"
        "$exe" --urls "http://127.0.0.1:$port" >"$dir/stdout.log" 2>&1 &
    fi
    UPSTREAM_PID=$!
    track "$UPSTREAM_PID"
    wait_port "$port" "$UPSTREAM_PID" 30 || { cat "$dir"/*.log >&2; die "the upstream did not start on port $port"; }
    curl -sf "http://127.0.0.1:$port/" >/dev/null || die "the upstream on port $port does not answer 200"
    log "upstream on 127.0.0.1:$port: $UPSTREAM_KIND"
}
