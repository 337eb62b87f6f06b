# shellcheck shell=bash
# Shared by install.sh and upgrade.sh (sourced, not run).

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PREFIX=/
BINARY=

# --prefix DIR, --binary PATH, --help (the calling script defines usage).
parse_args() {
    while [[ $# -gt 0 ]]; do
        case "$1" in
            --prefix) [[ $# -ge 2 ]] || die "--prefix needs a directory"; PREFIX="$2"; shift 2 ;;
            --prefix=*) PREFIX="${1#*=}"; shift ;;
            --binary) [[ $# -ge 2 ]] || die "--binary needs a file"; BINARY="$2"; shift 2 ;;
            --binary=*) BINARY="${1#*=}"; shift ;;
            -h|--help) usage; exit 0 ;;
            *) usage >&2; die "unknown argument '$1'" ;;
        esac
    done
    [[ "$PREFIX" == /* ]] || die "--prefix must be an absolute path"
    [[ -z "$BINARY" || -f "$BINARY" ]] || die "--binary $BINARY: no such file"
    # ROOT is what paths are joined to: "" for the real system, so that "$ROOT/etc" is /etc.
    ROOT="${PREFIX%/}"
    BIN="$ROOT/usr/local/bin/pingora"
    CONF="$ROOT/etc/pingora.conf"
}

die() { echo "$(basename "$0"): $*" >&2; exit 1; }

is_system_install() { [[ -z "$ROOT" ]]; }

# systemd is PID 1 (the test sd_booted(3) makes).
systemd_runs() { [[ -d /run/systemd/system ]]; }

# The binary to install: --binary, or a fresh Native AOT publish (no .NET runtime on the server; needs clang, lld and
# zlib1g-dev). Prints its path; the publish goes to WORK, which the caller removes.
binary_to_install() {
    if [[ -n "$BINARY" ]]; then echo "$BINARY"; return; fi
    command -v dotnet >/dev/null || die "dotnet (the .NET 10 SDK) is needed to publish; or pass --binary PATH"
    echo "publishing pingora (Native AOT, linux-x64)..." >&2
    dotnet publish "$REPO/Pingora.Proxy/Pingora.Proxy.csproj" -c Release -r linux-x64 -o "$WORK/publish" --nologo >&2
    echo "$WORK/publish/pingora"
}

# install_file SRC DEST MODE: copy to a temporary name beside DEST, then rename over it. A running binary is never
# written in place (its process keeps the old file), and a reader never sees half a file. Same content and mode: left
# alone, so a second run changes nothing.
install_file() {
    local src="$1" dest="$2" mode="$3" tmp
    if [[ -f "$dest" ]] && cmp -s "$src" "$dest" && [[ "$(stat -c %a "$dest")" == "$mode" ]]; then
        echo "unchanged: $dest"
        return
    fi
    mkdir -p "$(dirname "$dest")"
    tmp="$(mktemp "$dest.new.XXXXXX")"
    if ! { cp "$src" "$tmp" && chmod "$mode" "$tmp" && mv -f "$tmp" "$dest"; }; then
        rm -f "$tmp"
        die "cannot install $dest"
    fi
    echo "installed: $dest"
}

# A Native AOT build (what ships) cannot bundle a native library: Mono.Posix's libMonoPosixHelper.so comes beside the
# binary and must be installed beside it too, before the binary that loads it. A single-file build
# (-p:PingoraAot=false) bundles it, so for that build there is nothing beside it and this does nothing.
install_native_beside() {
    local src_dir lib
    src_dir="$(dirname "$1")"
    for lib in "$src_dir"/libMonoPosixHelper.so; do
        [[ -f "$lib" ]] && install_file "$lib" "$(dirname "$BIN")/$(basename "$lib")" 644
    done
    return 0
}

# The new binary must accept the installed configuration before anything runs it.
check_config() {
    "$BIN" -t -c "$CONF" || die "$CONF does not pass '$BIN -t'; fix it and run $(basename "$0") again"
}
