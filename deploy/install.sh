#!/usr/bin/env bash
# Installs pingora as a systemd service. Idempotent: a second run changes nothing, and never overwrites the config.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<USAGE
Usage: deploy/install.sh [--prefix DIR] [--binary PATH]

Installs the pingora binary at PREFIX/usr/local/bin/pingora, PREFIX/etc/pingora.conf from conf.example.yaml (only
if absent), the unit at PREFIX/etc/systemd/system/pingora.service, PREFIX/etc/logrotate.d/pingora, and with PREFIX / also the system user pingora,
then enables and starts the service when systemd runs.

  --prefix DIR    install under DIR instead of / (no user, no systemctl; the unit's paths point into DIR)
  --binary PATH   install this binary instead of publishing one (default: dotnet publish, Native AOT)
  -h, --help      this help
USAGE
}

# conf.example.yaml as the service runs it: the pid file and upgrade socket in the unit's RuntimeDirectory, the log
# in its LogsDirectory, and -d returning only once the daemon serves (systemd reads the pid file as soon as it does).
adapted_config() {
    sed -e 's|^pid_file: .*|pid_file: /run/pingora/pingora.pid|' \
        -e 's|^upgrade_sock: .*|upgrade_sock: /run/pingora/upgrade.sock|' \
        -e 's|^# error_log: .*|error_log: /var/log/pingora/error.log|' \
        -e 's|^# access_log: .*|access_log: /var/log/pingora/access.log|' \
        -e 's|^daemon: false$|&\n# pingora -d returns only once the daemon serves (or fails): systemd reads the pid file then.\ndaemon_wait_for_ready: true|' \
        "$REPO/conf.example.yaml"
}

install_config() {
    if [[ -e "$CONF" ]]; then
        echo "kept: $CONF (exists; never overwritten)"
        return
    fi
    adapted_config > "$WORK/pingora.conf"
    local key
    for key in 'pid_file: /run/pingora/pingora.pid' 'upgrade_sock: /run/pingora/upgrade.sock' \
               'error_log: /var/log/pingora/error.log' 'access_log: /var/log/pingora/access.log' \
               'daemon_wait_for_ready: true'; do
        grep -qx "$key" "$WORK/pingora.conf" || die "conf.example.yaml changed: could not set '$key'"
    done
    install_file "$WORK/pingora.conf" "$CONF" 644
}

install_user() {
    if id -u pingora >/dev/null 2>&1; then
        echo "exists: user pingora"
    else
        useradd --system --user-group --no-create-home --shell /usr/sbin/nologin pingora
        echo "created: user pingora"
    fi
}

# The unit as shipped; under another prefix its commands point at the binary and config installed there.
install_unit() {
    sed -e "s|/usr/local/bin/pingora|$BIN|g" -e "s|/etc/pingora.conf|$CONF|g" "$REPO/pingora.service" > "$WORK/pingora.service"
    install_file "$WORK/pingora.service" "$UNIT" 644
}

parse_args "$@"
UNIT="$ROOT/etc/systemd/system/pingora.service"
if is_system_install && [[ $EUID -ne 0 ]]; then die "installing into / needs root (or use --prefix DIR)"; fi
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

binary="$(binary_to_install)"
install_native_beside "$binary"
install_file "$binary" "$BIN" 755
install_config
if is_system_install; then install_user; fi
install_unit
# Rotation of /var/log/pingora: logrotate renames, then SIGUSR1 (see the file).
install_file "$REPO/deploy/pingora.logrotate" "$ROOT/etc/logrotate.d/pingora" 644
check_config

if is_system_install && systemd_runs; then
    systemctl daemon-reload
    systemctl enable --now pingora
    echo "enabled and started: pingora.service (a running service keeps its binary: deploy/upgrade.sh switches it)"
else
    echo "not started: $(is_system_install && echo "systemd is not running" || echo "installed under $PREFIX")"
fi
