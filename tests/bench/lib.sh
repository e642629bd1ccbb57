# Shared by the benchmark scripts (forward.sh, dispatcher.sh): source it after `set -Eeuo
# pipefail`, with bench_name set. It provides
#   - the lab lock (/run/lock/swd-lab.lock on fd 9, the same lock as the lab tests: benchmarks
#     and lab tests never overlap; start every child with 9>&- so none keeps it);
#   - process bookkeeping: started+=("PID:COMM"), running PID COMM, stop_pid PID COMM,
#     forget_pid PID; on any exit every process still listed is stopped (newest first, by
#     PID, after checking its name), every namespace in namespaces+=() is deleted (with its
#     veths and their XDP programs) and $tmp is removed;
#   - die MESSAGE, median_of VALUES... ("min median max");
#   - quiet-machine checks: other_load_begin PIDS... / other_load_end PIDS... gives the CPU used
#     (% of one CPU) by anything but these processes and kernel threads, and wait_quiet PIDS...
#     waits for a second with at most MAX_OTHER % (default 5) of such load.
# shellcheck shell=bash
: "${bench_name:?set bench_name before sourcing tests/bench/lib.sh}"

die() {
    echo "$bench_name: $*" >&2
    exit 1
}

if [[ $(id -u) != 0 ]]; then
    die "needs root (network namespaces, XDP, AF_XDP)"
fi

exec 9>/run/lock/swd-lab.lock
if ! flock -n 9; then
    echo "$bench_name: waiting for /run/lock/swd-lab.lock (another lab run)" >&2
    flock 9
fi

tmp=$(mktemp -d "/tmp/swd-$bench_name.XXXXXX")
started=()    # "PID:COMM" of every process the benchmark started and has not stopped
namespaces=() # deleted on exit
on_cleanup=() # commands run on exit, after the namespaces are gone

running() { # PID COMM: the process exists, has that name and is not a zombie
    [[ $(cat "/proc/$1/comm" 2>/dev/null) == "$2" &&
        $(awk '/^State:/ { print $2 }' "/proc/$1/status" 2>/dev/null) != Z ]]
}

alive() { # PID of a job of this shell: it has not exited (whatever it is called yet: right
    # after the fork it is still bash, then "ip" under ip netns exec, then the program)
    [[ -e /proc/$1 && $(awk '/^State:/ { print $2 }' "/proc/$1/status" 2>/dev/null) != Z ]]
}

# Stops one process the benchmark started: SIGTERM, SIGKILL after 10 s. A job of this shell
# cannot have a reused PID (it is not reaped yet), and may still be called "ip" (ip netns exec
# before it runs the program); any other process (a daemon that detached) is signalled only
# while it has the expected name.
stop_pid() {
    local pid=$1 comm=$2 i
    if [[ " $(jobs -p | tr '\n' ' ') " == *" $pid "* ]]; then
        comm=$(cat "/proc/$pid/comm" 2>/dev/null || echo "$comm")
    fi
    if running "$pid" "$comm"; then
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 200; i++)); do
            running "$pid" "$comm" || break
            sleep 0.05
        done
        if running "$pid" "$comm"; then
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    if [[ " $(jobs -p | tr '\n' ' ') " == *" $pid "* ]]; then
        wait "$pid" 2>/dev/null || true
    fi
    for ((i = 0; i < 40; i++)); do # detached daemons are reaped by init
        [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$comm" ]] || break
        sleep 0.05
    done
}

forget_pid() {
    local keep=() e
    for e in "${started[@]}"; do
        [[ ${e%%:*} == "$1" ]] || keep+=("$e")
    done
    started=("${keep[@]}")
}

bench_cleanup() {
    local rc=$? i e
    trap - EXIT INT TERM
    for ((i = ${#started[@]} - 1; i >= 0; i--)); do
        e=${started[i]}
        stop_pid "${e%%:*}" "${e#*:}"
    done
    for e in "${namespaces[@]}"; do
        ip netns del "$e" 2>/dev/null || true
    done
    for e in "${on_cleanup[@]}"; do # commands that undo a setting of the bench
        eval "$e" || true
    done
    rm -rf "$tmp"
    exit "$rc"
}
trap bench_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

median_of() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print a[1], a[int((NR + 1) / 2)], a[NR] }'; }

# Other load: CPU time (user+nice+system ticks of all CPUs) not used by the given processes nor
# by kernel threads. Another agent's build or test running during a window shows up here.
clk_tck=$(getconf CLK_TCK)
max_other=${MAX_OTHER:-5} # % of one CPU
busy_ticks() { awk '$1 == "cpu" { print $2 + $3 + $4 }' /proc/stat; }
process_ticks() { # PID... -> utime+stime of these processes (all threads) and of kernel threads
    local p t=0
    for p in "$@"; do
        t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0)))
    done
    t=$((t + $(cat /proc/[0-9]*/stat 2>/dev/null | awk '$4 == 2 { t += $14 + $15 } END { print t + 0 }')))
    echo "$t"
}
other_load_begin() {
    ol_o0=$(busy_ticks)
    ol_p0=$(process_ticks "$@")
    ol_t0=$EPOCHREALTIME
}
other_load_end() { # -> % of one CPU since other_load_begin
    local o1 p1 t1
    o1=$(busy_ticks)
    p1=$(process_ticks "$@")
    t1=$EPOCHREALTIME
    awk -v o=$((o1 - ol_o0)) -v p=$((p1 - ol_p0)) -v s="$ol_t0" -v e="$t1" -v hz="$clk_tck" \
        'BEGIN { x = 100 * (o - p) / hz / (e - s); printf "%.0f", x < 0 ? 0 : x }'
}
# wait_quiet PID...: waits (at most QUIET_WAIT s, default 300) for a second in which the
# machine runs nothing but these processes and kernel threads.
wait_quiet() {
    local i x
    for ((i = 0; i < ${QUIET_WAIT:-300}; i++)); do
        other_load_begin "$@"
        sleep 1
        x=$(other_load_end "$@")
        ((x > max_other)) || return 0
        ((i % 30 == 0)) && echo "    (other load ${x}% of a CPU: waiting for a quiet machine)"
    done
    return 0
}
