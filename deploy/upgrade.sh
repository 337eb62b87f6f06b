#!/usr/bin/env bash
# Installs a new pingora binary and switches the running service to it with no downtime (systemctl reload: the
# running process hands its listening sockets to the new one). Idempotent: with the same binary it changes no file.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<USAGE
Usage: deploy/upgrade.sh [--prefix DIR] [--binary PATH]

Installs the new binary at PREFIX/usr/local/bin/pingora (by rename: the running process keeps its file), checks the
installed config with it, then runs 'systemctl reload pingora' when systemd runs the service, or prints the steps to
run by hand.

  --prefix DIR    the prefix deploy/install.sh used (default /)
  --binary PATH   install this binary instead of publishing one
  -h, --help      this help
USAGE
}

manual_recipe() {
    local pid_file
    pid_file="$(awk '$1 == "pid_file:" { gsub(/"/, "", $2); print $2 }' "$CONF")"
    cat <<RECIPE
To switch a running pingora to the new binary by hand:
  $BIN -t -c $CONF
  $BIN -u -d -c $CONF
  kill -QUIT "\$(cat ${pid_file:-/tmp/pingora.pid})"
RECIPE
}

parse_args "$@"
[[ -e "$CONF" ]] || die "$CONF does not exist: run deploy/install.sh first"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

binary="$(binary_to_install)"
install_native_beside "$binary"
install_file "$binary" "$BIN" 755
check_config

if is_system_install && systemd_runs; then
    if systemctl is-active --quiet pingora; then
        systemctl reload pingora
        echo "reloaded: the new process serves; the old one drains and exits (systemctl status pingora shows the new main pid then)"
    else
        echo "pingora.service is not running: start it with systemctl start pingora"
    fi
else
    manual_recipe
fi
