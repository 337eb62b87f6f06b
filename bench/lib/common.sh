# shellcheck shell=bash
# Sourced by the bench scripts: paths, logging, the processes a script started and their cleanup, builds, ports,
# the machine. Needs bash 5 ($EPOCHREALTIME).

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REPO_DIR=$(dirname "$BENCH_DIR")
ARTIFACTS=$REPO_DIR/artifacts

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# --- processes ------------------------------------------------------------------------------------------------
# Every process a script starts goes through track; the EXIT trap stops each of them by pid (even on Ctrl-C or a
# failure), then removes the work directory.

STARTED_PIDS=()
WORK=""

track() { STARTED_PIDS+=("$1"); }

# Alive and not a zombie (our own children stay zombies until reaped, and kill -0 still succeeds on them).
# Builtins only: the scripts poll this every few milliseconds while they measure, and a sed and a cut per call
# (two processes started) took a third of a CPU from the proxy in the upgrade window (bench/upgrade.sh).
alive() {
    local stat state
    { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
    state=${stat##*) }
    state=${state%% *}
    [[ -n $state && $state != Z ]]
}

# stop_pid PID [SIGNAL]: signal (default TERM), wait up to 5 s, then SIGKILL; reap it if it is our child.
stop_pid() {
    local pid=$1 sig=${2:-TERM} i
    if alive "$pid"; then
        kill "-$sig" "$pid" 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do alive "$pid" || break; sleep 0.1; done
        alive "$pid" && kill -KILL "$pid" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null || true
}

# wait_exit PID SECONDS: true once PID has exited, false if it still runs after SECONDS.
wait_exit() {
    local pid=$1 deadline=$((SECONDS + $2))
    while alive "$pid"; do ((SECONDS < deadline)) || return 1; sleep 0.02; done
}

cleanup() {
    local status=$? pid
    trap - EXIT INT TERM
    for pid in "${STARTED_PIDS[@]}"; do stop_pid "$pid"; done
    if [[ -n $WORK && -d $WORK ]]; then
        if [[ -n ${BENCH_KEEP:-} ]]; then log "kept the work directory $WORK"; else rm -rf "$WORK"; fi
    fi
    exit "$status"
}

# Creates the work directory and installs the traps. Call once, first.
init_run() {
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/pingora-bench.XXXXXX")
    trap cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
}

# --- builds ---------------------------------------------------------------------------------------------------

# True when OUTPUT is missing or any file under the given paths (bin/ and obj/ aside) is newer.
needs_build() {
    local output=$1; shift
    [[ -e $output ]] || return 0
    [[ -n $(find "$@" \( -name bin -o -name obj \) -prune -o -type f -newer "$output" -print -quit) ]]
}

# Sets PINGORA_BIN: as given, else artifacts/pingora/pingora, published first when missing or older than the sources.
ensure_pingora() {
    if [[ -n ${PINGORA_BIN:-} ]]; then
        [[ -x $PINGORA_BIN ]] || die "PINGORA_BIN=$PINGORA_BIN is not an executable"
        return
    fi
    PINGORA_BIN=$ARTIFACTS/pingora/pingora
    if needs_build "$PINGORA_BIN" "$REPO_DIR/Pingora.Proxy" "$REPO_DIR/Directory.Build.props" "$REPO_DIR/Directory.Packages.props"; then
        log "publishing pingora (Release, Native AOT; about 1 min)"
        dotnet publish "$REPO_DIR/Pingora.Proxy/Pingora.Proxy.csproj" -c Release -r linux-x64 -o "$ARTIFACTS/pingora" \
            >"$WORK/publish-pingora.log" 2>&1 || { tail -30 "$WORK/publish-pingora.log" >&2; die "dotnet publish failed"; }
    fi
}

# build_bench_project NAME: publishes bench/NAME (Release, framework-dependent) to artifacts/bench/NAME when needed;
# prints the path of its apphost.
build_bench_project() {
    local name=$1 out=$ARTIFACTS/bench/$1 exe
    exe=$out/$(sed -n 's:.*<AssemblyName>\(.*\)</AssemblyName>.*:\1:p' "$BENCH_DIR/$name/$name.csproj")
    [[ $exe != "$out/" ]] || exe=$out/$name
    # Files compiled in from elsewhere (the test harness, a pingora source): their folders count as sources too.
    local sources=("$BENCH_DIR/$name") folder
    for folder in $(sed -n 's:.*<Compile Include="\([^"]*\)".*:\1:p' "$BENCH_DIR/$name/$name.csproj" | tr ';' '\n' | xargs -r -n1 dirname | sort -u); do
        sources+=("$BENCH_DIR/$name/$folder")
    done
    if needs_build "$exe" "${sources[@]}" "$REPO_DIR/Directory.Build.props" "$REPO_DIR/Directory.Packages.props"; then
        log "building bench/$name"
        dotnet publish "$BENCH_DIR/$name/$name.csproj" -c Release -o "$out" >"$WORK/publish-$name.log" 2>&1 ||
            { tail -30 "$WORK/publish-$name.log" >&2; die "dotnet publish bench/$name failed"; }
        touch "$exe"
    fi
    echo "$exe"
}

# wait_line FILE PATTERN PID SECONDS [INTERVAL]: until FILE has a line matching PATTERN (grep); fails (1) as soon as
# PID exits, or after SECONDS. Looks every INTERVAL seconds (default 0.02). Reading a log asks the process nothing
# (a request would be an access log line nobody counts).
wait_line() {
    local deadline=$((SECONDS + $4))
    until grep -q "$2" "$1" 2>/dev/null; do
        alive "$3" && ((SECONDS < deadline)) || return 1
        sleep "${5:-0.02}"
    done
}

# --- ports and readiness --------------------------------------------------------------------------------------

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# free_port START: the first port from START on where nothing listens on 127.0.0.1.
free_port() {
    local p=$1
    while port_busy "$p" || ss -Hltn "sport = :$p" 2>/dev/null | grep -q .; do p=$((p + 1)); done
    echo "$p"
}

# wait_port PORT PID SECONDS: until something accepts on PORT; fails early if PID exits.
wait_port() {
    local port=$1 pid=$2 deadline=$((SECONDS + $3))
    until port_busy "$port"; do
        alive "$pid" || return 1
        ((SECONDS < deadline)) || return 1
        sleep 0.05
    done
}

# --- figures ----------------------------------------------------------------------------------------------------

# median: the median of the numbers on stdin, one per line; other lines (n/a) are left out; n/a when none is left.
median() {
    awk '/^-?[0-9.]+$/' | sort -n | awk '{ v[NR] = $1 } END {
        if (NR == 0) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# spread UNIT VALUE...: "median M (min A, max B)" of the numbers among the values, each followed by UNIT.
spread() {
    local unit=$1 m
    shift
    m=$(printf '%s\n' "$@" | median)
    [[ $m != n/a ]] || { echo n/a; return; }
    printf '%s\n' "$@" | awk '/^-?[0-9.]+$/' | sort -n | awk -v u="$unit" -v m="$m" '{ v[NR] = $1 } END {
        printf "median %.2f%s (min %.2f%s, max %.2f%s)\n", m, u, v[1], u, v[NR], u }'
}

# --- time and the machine ----------------------------------------------------------------------------------------

now() { echo "$EPOCHREALTIME"; }

# ISO timestamp (as in the daemon's log) to Unix seconds with fraction.
iso_to_epoch() { date -d "$1" +%s.%N; }

# ms between two Unix-seconds values: ms FROM TO
ms() { if [[ -n $1 && -n $2 ]]; then awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", (b - a) * 1000 }'; else echo "n/a"; fi; }

# command_line ARG...: how this script was run, quoted so that it can be pasted back.
command_line() {
    local s
    s="bench/$(basename "$0")"
    (($#)) && s+=$(printf ' %q' "$@")
    echo "$s"
}

machine_info() {
    local os
    os=$(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")
    echo "machine: $(nproc) cpus, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), kernel $(uname -r), ${os:-unknown OS}"
    echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
}
