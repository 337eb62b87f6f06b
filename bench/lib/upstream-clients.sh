# shellcheck shell=bash
# pingora with its upstream client swapped (bench/UpstreamClients): compare.sh's pingora-leanclient and
# pingora-noclient. Built from a copy of Pingora.Proxy/ as it is in the working tree, so the shipped sources never
# carry the swap.

# build_client_experiment: publishes the copy (Native AOT, as pingora ships) to artifacts/bench/pingora-clients when
# missing or older than its sources; prints the binary's path.
build_client_experiment() {
    local out=$ARTIFACTS/bench/pingora-clients src=$WORK/pingora-clients-src host anchor='        var app = builder.Build();'
    if needs_build "$out/pingora" "$REPO_DIR/Pingora.Proxy" "$BENCH_DIR/UpstreamClients" "$BENCH_DIR/lib/upstream-clients.sh" \
        "$REPO_DIR/Directory.Build.props" "$REPO_DIR/Directory.Packages.props"; then
        log "publishing pingora with the bench's upstream clients (Native AOT; about 1 min)"
        mkdir -p "$src"
        tar -C "$REPO_DIR" --exclude=bin --exclude=obj -cf - Pingora.Proxy Directory.Build.props Directory.Packages.props global.json |
            tar -C "$src" -xf -
        cp "$BENCH_DIR/UpstreamClients/UpstreamClients.cs" "$src/Pingora.Proxy/Hosting/"
        host=$src/Pingora.Proxy/Hosting/ProxyHost.cs
        # After AddReverseProxy, which registers YARP's factory: Replace swaps that registration.
        grep -qxF "$anchor" "$host" || die "bench/lib/upstream-clients.sh: no line '$anchor' in ProxyHost.cs to put the swap before"
        sed -i "s|^$anchor\$|        builder.Services.Replace(ServiceDescriptor.Singleton<Yarp.ReverseProxy.Forwarder.IForwarderHttpClientFactory, Pingora.Proxy.Bench.BenchClientFactory>());\n&|" "$host"
        dotnet publish "$src/Pingora.Proxy/Pingora.Proxy.csproj" -c Release -r linux-x64 -o "$out" >"$WORK/publish-clients.log" 2>&1 ||
            { tail -30 "$WORK/publish-clients.log" >&2; die "dotnet publish of the upstream client experiment failed"; }
        touch "$out/pingora"
    fi
    echo "$out/pingora"
}
