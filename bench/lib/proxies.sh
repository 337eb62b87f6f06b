# shellcheck shell=bash
# The proxies compared by compare.sh, each forwarding everything to the upstream on UPSTREAM_PORT, listening on
# 127.0.0.1:H1_PORT (HTTP/1.1) and 127.0.0.1:H2_PORT (cleartext HTTP/2 with prior knowledge, "h2c"). One runs at a
# time. Each keeps its defaults except: no access log, and the upstream connections kept alive (nginx needs
# proxy_http_version 1.1 and an upstream keepalive pool for that; the others pool by default). pingora-accesslog is
# pingora with access_log on (combined format, to a file in its directory): the A/B of the access log's cost, not
# in the default list (--proxies "pingora pingora-accesslog"); pingora-accesslog-unbuffered the same with
# access_log_buffer_bytes: 0 (one write per line). pingora-base is the binary PINGORA_BASE_BIN (for
# example the previous main's) with pingora's configuration: a change's before/after in one run. tcpsplice is
# bench/TcpSplice, a TCP forwarder with no HTTP in it (HTTP/1.1 keep-alive only): the floor of the .NET socket layer.
# pingora-leanclient and pingora-noclient are pingora with YARP's upstream client swapped (bench/UpstreamClients):
# for a minimal HTTP/1.1 client, and for none at all (each request answered at once with the upstream's body).

# available_proxies: the proxies this machine can run.
available_proxies() {
    echo pingora plainyarp
    command -v nginx >/dev/null && echo nginx
    command -v haproxy >/dev/null && echo haproxy
    return 0
}

proxy_version() {
    case $1 in
        pingora-accesslog) echo "pingora-accesslog: the same binary with access_log: $WORK/pingora-accesslog/access.log (combined)" ;;
        pingora-accesslog-unbuffered) echo "pingora-accesslog-unbuffered: the same with access_log_buffer_bytes: 0" ;;
        pingora-base) echo "pingora-base $("$PINGORA_BASE_BIN" -V 2>&1 | head -1 | sed 's/^pingora //') ($PINGORA_BASE_BIN)" ;;
        pingora) echo "pingora $("$PINGORA_BIN" -V 2>&1 | head -1 | sed 's/^pingora //') ($PINGORA_BIN)" ;;
        plainyarp) echo "bench/PlainYarp (YARP $(sed -n 's:.*"Yarp.ReverseProxy" Version="\([^"]*\)".*:\1:p' "$REPO_DIR/Directory.Packages.props"), .NET $(dotnet --list-runtimes | sed -n 's/^Microsoft.AspNetCore.App \([0-9.]*\).*/\1/p' | tail -1))" ;;
        nginx) echo "nginx $(nginx -v 2>&1 | sed 's:.*nginx/::'), worker_processes auto" ;;
        haproxy) echo "haproxy $(haproxy -v | head -1 | awk '{ print $3 }'), default nbthread" ;;
        pingora-leanclient) echo "pingora-leanclient: pingora with bench/UpstreamClients' minimal HTTP/1.1 client ($CLIENTS_BIN)" ;;
        pingora-noclient) echo "pingora-noclient: pingora with no upstream client: each request answered at once with the upstream's body ($CLIENTS_BIN)" ;;
        tcpsplice) echo "bench/TcpSplice (TCP only, a new upstream connection per client connection; pingora's socket settings; keep-alive only)" ;;
    esac
}

# proxy_serves PROXY WORKLOAD: whether the proxy takes part in the workload. tcpsplice pairs each client connection
# with an upstream one, so only keep-alive does the same work as the others (and h2c would reach an HTTP/1.1 upstream).
proxy_serves() {
    [[ $1 != tcpsplice || $2 == keepalive ]]
}

# prepare_proxies NAME...: builds and writes the configuration of each, once per run.
prepare_proxies() {
    local name
    for name in "$@"; do
        mkdir -p "$WORK/$name"
        case $name in
            pingora) write_pingora_conf "$WORK/pingora/pingora.yaml" "$H1_PORT" "$UPSTREAM_PORT" "$H2_PORT" ;;
            pingora-accesslog) write_pingora_conf "$WORK/$name/pingora.yaml" "$H1_PORT" "$UPSTREAM_PORT" "$H2_PORT" \
                "access_log: $WORK/$name/access.log" ;;
            pingora-accesslog-unbuffered) write_pingora_conf "$WORK/$name/pingora.yaml" "$H1_PORT" "$UPSTREAM_PORT" "$H2_PORT" \
                "access_log: $WORK/$name/access.log" "access_log_buffer_bytes: 0" ;;
            pingora-base)
                [[ -x ${PINGORA_BASE_BIN:-} ]] || die "pingora-base needs PINGORA_BASE_BIN, the baseline's binary"
                PINGORA_BIN=$PINGORA_BASE_BIN write_pingora_conf "$WORK/$name/pingora.yaml" "$H1_PORT" "$UPSTREAM_PORT" "$H2_PORT" ;;
            plainyarp) PLAINYARP_EXE=$(build_bench_project PlainYarp) ;;
            pingora-leanclient | pingora-noclient)
                CLIENTS_BIN=${CLIENTS_BIN:-$(build_client_experiment)}
                PINGORA_BIN=$CLIENTS_BIN write_pingora_conf "$WORK/$name/pingora.yaml" "$H1_PORT" "$UPSTREAM_PORT" "$H2_PORT" ;;
            tcpsplice) TCPSPLICE_EXE=$(build_bench_project TcpSplice) ;;
            nginx) write_nginx_proxy_conf "$WORK/nginx/nginx.conf" ;;
            haproxy) write_haproxy_conf "$WORK/haproxy/haproxy.cfg" ;;
            *) die "unknown proxy $name (known: pingora pingora-base pingora-accesslog pingora-accesslog-unbuffered plainyarp nginx haproxy tcpsplice pingora-leanclient pingora-noclient)" ;;
        esac
    done
}

write_nginx_proxy_conf() {
    cat >"$1" <<CONF
worker_processes auto;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 16384; }
http {
    access_log off;
    keepalive_requests 10000000;
    upstream upstream {
        server 127.0.0.1:$UPSTREAM_PORT;
        keepalive 128;
        keepalive_requests 10000000;
    }
    server {
        listen 127.0.0.1:$H1_PORT backlog=4096;
        listen 127.0.0.1:$H2_PORT http2 backlog=4096;
        location / {
            proxy_pass http://upstream;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
CONF
    nginx -t -p "$WORK/nginx" -e "$WORK/nginx/error.log" -c "$1" >"$WORK/nginx/conf-test.log" 2>&1 ||
        { cat "$WORK/nginx/conf-test.log" >&2; die "nginx -t failed"; }
}

write_haproxy_conf() {
    cat >"$1" <<CONF
global
    # maxconn: derived from the fd limit (ulimit -n)
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend bench
    bind 127.0.0.1:$H1_PORT
    bind 127.0.0.1:$H2_PORT proto h2
    default_backend upstream
backend upstream
    server one 127.0.0.1:$UPSTREAM_PORT
CONF
    haproxy -c -f "$1" >"$WORK/haproxy/conf-test.log" 2>&1 || { cat "$WORK/haproxy/conf-test.log" >&2; die "haproxy -c failed"; }
}

# start_proxy NAME: starts it in the background of this script (PROXY_PID) and waits until it forwards a request.
start_proxy() {
    local name=$1 dir=$WORK/$1
    case $name in
        pingora | pingora-accesslog*) "$PINGORA_BIN" -c "$dir/pingora.yaml" >"$dir/stdout.log" 2>&1 & ;;
        pingora-base) "$PINGORA_BASE_BIN" -c "$dir/pingora.yaml" >"$dir/stdout.log" 2>&1 & ;;
        pingora-leanclient) PINGORA_BENCH_CLIENT=lean "$CLIENTS_BIN" -c "$dir/pingora.yaml" >"$dir/stdout.log" 2>&1 & ;;
        # The upstream's body, so the response is the same size (and the forwarding check below passes by construction).
        pingora-noclient) PINGORA_BENCH_CLIENT=none PINGORA_BENCH_BODY="$UPSTREAM_BODY"$'\n' "$CLIENTS_BIN" -c "$dir/pingora.yaml" \
            >"$dir/stdout.log" 2>&1 & ;;
        plainyarp)
            "$PLAINYARP_EXE" --contentRoot "$(dirname "$PLAINYARP_EXE")" \
                --Kestrel:Endpoints:h1:Url "http://127.0.0.1:$H1_PORT" \
                --Kestrel:Endpoints:h2c:Url "http://127.0.0.1:$H2_PORT" --Kestrel:Endpoints:h2c:Protocols Http2 \
                --ReverseProxy:Clusters:upstream:Destinations:one:Address "http://127.0.0.1:$UPSTREAM_PORT/" \
                >"$dir/stdout.log" 2>&1 &
            ;;
        nginx) nginx -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf" >"$dir/stdout.log" 2>&1 & ;;
        haproxy) haproxy -db -f "$dir/haproxy.cfg" >"$dir/stdout.log" 2>&1 & ;;
        tcpsplice) "$TCPSPLICE_EXE" "$H1_PORT" "$UPSTREAM_PORT" >"$dir/stdout.log" 2>&1 & ;;
    esac
    PROXY_PID=$!
    track "$PROXY_PID"
    local deadline=$((SECONDS + 60))
    until curl -sf -o /dev/null "http://127.0.0.1:$H1_PORT/"; do
        if ! alive "$PROXY_PID" || ((SECONDS >= deadline)); then cat "$dir"/*.log >&2; die "$name did not start"; fi
        sleep 0.05
    done
    # The answer must come from the upstream, over HTTP/1.1 and, when curl can, over h2c.
    curl -sf "http://127.0.0.1:$H1_PORT/" | grep -qF "$UPSTREAM_BODY" || die "$name does not forward to the upstream"
    if curl -V | grep -q nghttp2 && proxy_serves "$name" h2; then
        curl -sf --http2-prior-knowledge "http://127.0.0.1:$H2_PORT/" | grep -qF "$UPSTREAM_BODY" ||
            die "$name does not forward HTTP/2 (h2c) to the upstream"
    fi
}

stop_proxy() {
    stop_pid "$PROXY_PID" TERM
    # The next proxy binds the same ports.
    local deadline=$((SECONDS + 10))
    while port_busy "$H1_PORT" || port_busy "$H2_PORT"; do
        ((SECONDS < deadline)) || die "ports $H1_PORT/$H2_PORT still busy after stopping pid $PROXY_PID"
        sleep 0.05
    done
}
