# shellcheck shell=bash
# Resource use of one server, read from /proc: the process and its direct children (nginx's workers), nothing else
# (not the load generator, not the upstream).

proc_tree() { echo "$1"; pgrep -P "$1" || true; }

# status_kb FIELD PID: FIELD of /proc/<pid>/status (VmRSS, VmHWM: kB) summed over the tree. Shared pages count once
# per process, so for a multi-process server (nginx) the sum is an upper bound.
status_kb() {
    local field=$1 total=0 p v
    for p in $(proc_tree "$2"); do
        v=$(awk -v f="$field:" '$1 == f { print $2 }' "/proc/$p/status" 2>/dev/null || true)
        total=$((total + ${v:-0}))
    done
    echo "$total"
}

# cpu_ticks PID: "TOTAL USER": utime + stime, and utime alone (clock ticks) of the tree, all threads included, from
# one read of each /proc/PID/stat.
cpu_ticks() {
    local total=0 user=0 p f
    for p in $(proc_tree "$1"); do
        # Fields after "(comm) ": state is the 1st, utime the 12th, stime the 13th.
        read -ra f < <(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null || true)
        ((${#f[@]} > 13)) || continue
        total=$((total + f[11] + f[12])) user=$((user + f[11]))
    done
    echo "$total $user"
}

# shellcheck disable=SC2034 # used by the scripts
CLK_TCK=$(getconf CLK_TCK)

mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
