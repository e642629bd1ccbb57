#!/usr/bin/env bash
# Control-plane benchmark (issue 2): swd against Open vSwitch on the same rules.
#
#   tests/bench/control_plane.sh [BUILDDIR]      BUILDDIR defaults to build; nothing is built
#
# 1. BUILDDIR/tests/bench/table_bench: parse, compile+publish of 1K, 100K and 1M rules in
#    process, single-rule changes in a 1M table, and the swd request path without the socket.
# 2. A private swd (control socket in a mktemp -d directory, no interfaces opened): wall time of
#    the swctl process for add-flows of 100K and 1M rules and replace-flows with all 100K rules
#    changed; swd's VmRSS with 100K and 1M rules.
# 3. When ovsdb-server and ovs-vswitchd are installed: a private Open vSwitch (its own database,
#    sockets, logs and pid files in the temporary directory; ovs-vswitchd in a network namespace
#    of its own, so that the netdev datapath's tap devices never appear on the host), one bridge
#    with datapath_type=netdev and two internal ports (ofport 1 and 2), and the same
#    measurements with ovs-ofctl add-flows, --bundle add-flows and replace-flows.
#
# Prints a table with min/median/max of RUNS runs, the ratio OVS/swd of the medians, and each
# aim of issue 2 as pass or fail. The aims are information: the exit status is 0 when the
# benchmark ran, whatever it measured, and 1 when it could not run.
#
# Environment: RUNS (runs per point, default 3), SWD_BENCH_SEED (rule generator seed),
# SWD_BENCH_SKIP_OVS=1 (no OVS part). Holds flock /tmp/swd-bench.lock for its whole run. On any
# exit it stops exactly the processes it started (by PID) and removes its temporary directory.
set -Eeuo pipefail
export LC_ALL=C

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-build}
if [[ ! -d $build && -d $root/$build ]]; then
    build=$root/$build
fi
build=$(cd "$build" 2>/dev/null && pwd) || { echo "control_plane.sh: no build directory '${1:-build}'" >&2; exit 1; }
runs=${RUNS:-3}
seed=${SWD_BENCH_SEED:-20240601}
[[ $runs =~ ^[1-9][0-9]?$ ]] || { echo "control_plane.sh: RUNS must be 1-99" >&2; exit 1; }

swd=$build/tools/swd
swctl=$build/tools/swctl
table_bench=$build/tests/bench/table_bench
for b in "$swd" "$swctl" "$table_bench"; do
    if [[ ! -x $b ]]; then
        echo "control_plane.sh: $b is missing: build first (ninja -C $build)" >&2
        exit 1
    fi
done

exec 9>/tmp/swd-bench.lock
if ! flock -n 9; then
    echo "control_plane.sh: waiting for another benchmark to release /tmp/swd-bench.lock" >&2
    flock 9
fi

tmp=$(mktemp -d /tmp/swd-bench.XXXXXX)
started=() # "PID:COMM" of every process this script started

running() { # PID COMM: the process exists, has that name and has not exited (is no zombie)
    [[ $(cat "/proc/$1/comm" 2>/dev/null) == "$2" &&
        $(awk '/^State:/ { print $2 }' "/proc/$1/status" 2>/dev/null) != Z ]]
}

# Stops one process this script started: SIGTERM, then SIGKILL after 10 s. Checks the command
# name first, so that a PID reused by someone else is never signalled.
stop_pid() {
    local pid=$1 comm=$2 i
    running "$pid" "$comm" || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 200; i++)); do
        running "$pid" "$comm" || break
        sleep 0.05
    done
    if running "$pid" "$comm"; then
        kill -KILL "$pid" 2>/dev/null || true
    fi
    # swd is this shell's child and is reaped here; the OVS daemons (--detach) are reaped by
    # init: give it a moment, so that they are gone when this script ends.
    if [[ " $(jobs -p | tr '\n' ' ') " == *" $pid "* ]]; then
        wait "$pid" 2>/dev/null || true
    fi
    for ((i = 0; i < 40; i++)); do
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

cleanup() {
    local rc=$? i e
    trap - EXIT INT TERM
    # Newest first: ovs-vswitchd before ovsdb-server.
    for ((i = ${#started[@]} - 1; i >= 0; i--)); do
        e=${started[i]}
        stop_pid "${e%%:*}" "${e#*:}"
    done
    rm -rf "$tmp"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

die() {
    echo "control_plane.sh: $*" >&2
    exit 1
}

clk_tck=$(getconf CLK_TCK)
daemon_ticks() { # PID -> user+system clock ticks of all its threads
    awk '{ print $14 + $15 }' "/proc/$1/stat"
}
machine_busy_ticks() { # clock ticks of all CPUs not idle (user nice system irq softirq steal)
    awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat
}

# timed VAR DAEMON_PID CMD...: runs CMD with its output in $tmp/cmd.out; VAR = wall seconds of
# CMD. Also appends to the arrays cpu_daemon and cpu_machine the CPU seconds the daemon and the
# whole machine (every process, this benchmark's included) used meanwhile: when the machine used
# much more than the daemon and the client, something else competed for the 2 cores.
cpu_daemon=()
cpu_machine=()
timed() {
    local -n out_=$1
    local dpid=$2
    shift 2
    local t0 t1 d0 d1 m0 m1
    d0=$(daemon_ticks "$dpid")
    m0=$(machine_busy_ticks)
    t0=$EPOCHREALTIME
    if ! "$@" >"$tmp/cmd.out" 2>&1; then
        cat "$tmp/cmd.out" >&2
        die "failed: $*"
    fi
    t1=$EPOCHREALTIME
    d1=$(daemon_ticks "$dpid")
    m1=$(machine_busy_ticks)
    # shellcheck disable=SC2034 # out_ is a nameref: it sets the caller's variable
    out_=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }')
    cpu_daemon+=("$(awk -v a="$d0" -v b="$d1" -v hz="$clk_tck" 'BEGIN { printf "%.2f", (b - a) / hz }')")
    cpu_machine+=("$(awk -v a="$m0" -v b="$m1" -v hz="$clk_tck" 'BEGIN { printf "%.2f", (b - a) / hz }')")
}

declare -A res # key -> "min median max"
# record KEY VALUE...: min, median (upper median for an even count) and max.
record() {
    local key=$1
    shift
    res[$key]=$(printf '%s\n' "$@" | sort -g |
        awk '{ a[NR] = $1 } END { print a[1], a[int(NR / 2) + 1], a[NR] }')
}

status_bytes() { # PID FIELD -> bytes of a /proc/PID/status field (VmRSS, VmHWM)
    awk -v f="$2:" '$1 == f { printf "%.0f\n", $2 * 1024 }' "/proc/$1/status"
}

# run_list WHAT DAEMON VALUE...: the per-run line of one measurement, in run order, and the CPU
# seconds that timed() recorded for these runs; clears those records.
run_list() {
    local what=$1 daemon=$2
    shift 2
    printf '  %-52s' "$what"
    printf ' %7.3f' "$@"
    printf ' s wall\n'
    printf '  %-52s' "  $daemon CPU / whole machine CPU"
    local i
    for ((i = 0; i < ${#cpu_daemon[@]}; i++)); do
        printf ' %s/%s' "${cpu_daemon[i]}" "${cpu_machine[i]}"
    done
    printf ' s\n'
    cpu_daemon=()
    cpu_machine=()
}

build_option() { # NAME -> its value in the build directory (meson introspection file)
    grep -o "\"name\": \"$1\", \"value\": \"[^\"]*\"" "$build/meson-info/intro-buildoptions.json" \
        2>/dev/null | sed 's/.*"value": "//; s/"$//' || true
}

echo "== swd control-plane benchmark (issue 2) =="
echo "date:    $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "machine: $(nproc) cores ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo), kernel $(uname -r)"
echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) at start"
echo "tree:    $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$root" status --porcelain 2>/dev/null | grep -q . && echo ' (uncommitted changes)'), build $build ($(build_option buildtype), b_sanitize=$(build_option b_sanitize))"
echo "runs:    $runs per point, seed $seed"
echo

# --- 1. In process -----------------------------------------------------------------------------
echo "== 1. table_bench (in process) =="
"$table_bench" --repeat "$runs" --seed "$seed" --tsv "$tmp/table_bench.tsv"
while IFS=$'\t' read -r key mn md mx; do
    res[tb_$key]="$mn $md $mx"
done <"$tmp/table_bench.tsv"
echo

# --- 2. swd ------------------------------------------------------------------------------------
"$table_bench" --write "$tmp/rules_100k_a.txt" 100000 --seed "$seed"
"$table_bench" --write "$tmp/rules_100k_b.txt" 100000 --variant b --seed "$seed"
"$table_bench" --write "$tmp/rules_1m_a.txt" 1000000 --seed "$seed"
echo "rule files: 100K = $(du -h "$tmp/rules_100k_a.txt" | cut -f1), 1M = $(du -h "$tmp/rules_1m_a.txt" | cut -f1); e.g."
head -n 3 "$tmp/rules_100k_a.txt" | sed 's/^/  a: /'
head -n 3 "$tmp/rules_100k_b.txt" | sed 's/^/  b: /'
echo

sock=$tmp/swd.sock
swd_pid=
swctl_() { "$swctl" --control "$sock" "$@"; }

start_swd() {
    local i
    "$swd" --control "$sock" --port p1 --port p2 --log-level warn 2>>"$tmp/swd.log" &
    swd_pid=$!
    started+=("$swd_pid:swd")
    for ((i = 0; i < 200; i++)); do
        swctl_ ping >/dev/null 2>&1 && return 0
        kill -0 "$swd_pid" 2>/dev/null || { cat "$tmp/swd.log" >&2; die "swd exited at start"; }
        sleep 0.05
    done
    die "swd does not answer on $sock"
}

stop_swd() {
    stop_pid "$swd_pid" swd
    forget_pid "$swd_pid"
    swd_pid=
}

swd_rules() { swctl_ show | awk '$1 == "rules:" { print $2 }'; }

expect_swd_rules() {
    local n
    n=$(swd_rules)
    [[ $n == "$1" ]] || die "swd has $n rules, expected $1"
}

echo "== 2. swd: swctl end to end (wall time of the swctl process) =="
start_swd
swd_idle=$(status_bytes "$swd_pid" VmRSS)
t_add=()
for ((r = 1; r <= runs; r++)); do
    if ((r > 1)); then
        swctl_ del-flows >/dev/null
        expect_swd_rules 0
    fi
    timed t "$swd_pid" swctl_ -v add-flows "$tmp/rules_100k_a.txt"
    grep -q "added 100000," "$tmp/cmd.out" || die "add-flows: $(cat "$tmp/cmd.out")"
    expect_swd_rules 100000
    t_add+=("$t")
    if ((r == 1)); then
        swd_rss_100k=$(status_bytes "$swd_pid" VmRSS)
        swd_hwm_100k=$(status_bytes "$swd_pid" VmHWM)
    fi
done
run_list "swctl add-flows, 100K rules, empty table" swd "${t_add[@]}"
record swd_add_100k "${t_add[@]}"

t_rep=()
for ((r = 1; r <= runs; r++)); do
    # a -> b -> a -> ...: every run changes the actions of all 100K rules.
    f=$tmp/rules_100k_b.txt
    ((r % 2 == 1)) || f=$tmp/rules_100k_a.txt
    timed t "$swd_pid" swctl_ -v replace-flows "$f"
    grep -q "modified 100000," "$tmp/cmd.out" || die "replace-flows: $(cat "$tmp/cmd.out")"
    t_rep+=("$t")
done
expect_swd_rules 100000
run_list "swctl replace-flows, all 100K rules changed" swd "${t_rep[@]}"
record swd_replace_100k "${t_rep[@]}"
swd_rss_100k_churn=$(status_bytes "$swd_pid" VmRSS)
swd_hwm_100k_churn=$(status_bytes "$swd_pid" VmHWM)
stop_swd

start_swd
t_add1m=()
for ((r = 1; r <= runs; r++)); do
    if ((r > 1)); then
        swctl_ del-flows >/dev/null
        expect_swd_rules 0
    fi
    timed t "$swd_pid" swctl_ -v add-flows "$tmp/rules_1m_a.txt"
    grep -q "added 1000000," "$tmp/cmd.out" || die "add-flows 1M: $(cat "$tmp/cmd.out")"
    t_add1m+=("$t")
    if ((r == 1)); then
        swd_rss_1m=$(status_bytes "$swd_pid" VmRSS)
        swd_hwm_1m=$(status_bytes "$swd_pid" VmHWM)
    fi
done
expect_swd_rules 1000000
run_list "swctl add-flows, 1M rules, empty table" swd "${t_add1m[@]}"
record swd_add_1m "${t_add1m[@]}"
swd_rss_1m_churn=$(status_bytes "$swd_pid" VmRSS)
stop_swd
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
echo "  swd VmRSS: idle $(mib "$swd_idle"); 100K rules after the first add-flows $(mib "$swd_rss_100k") (VmHWM $(mib "$swd_hwm_100k"))"
echo "             100K rules after $runs add-flows and $runs replace-flows $(mib "$swd_rss_100k_churn") (VmHWM $(mib "$swd_hwm_100k_churn"))"
echo "             1M rules after the first add-flows $(mib "$swd_rss_1m") (VmHWM $(mib "$swd_hwm_1m")); after $runs add-flows $(mib "$swd_rss_1m_churn")"
echo

# --- 3. Open vSwitch ---------------------------------------------------------------------------
ovs_ran=0
ovs_why=
schema=/usr/share/openvswitch/vswitch.ovsschema
odir=$tmp/ovs
of_target=unix:$odir/br0.mgmt
vswitchd_pid=

start_ovs() {
    local tool pid
    for tool in ovsdb-tool ovsdb-server ovs-vswitchd ovs-vsctl ovs-ofctl unshare; do
        command -v "$tool" >/dev/null || { ovs_why="$tool is not installed"; return 1; }
    done
    [[ -r $schema ]] || { ovs_why="$schema is missing"; return 1; }
    mkdir -p "$odir"
    # Every OVS path into the private directory; nothing under /var/run/openvswitch or /etc.
    export OVS_RUNDIR=$odir OVS_DBDIR=$odir OVS_LOGDIR=$odir OVS_SYSCONFDIR=$odir
    ovsdb-tool create "$odir/conf.db" "$schema" || { ovs_why="ovsdb-tool create failed"; return 1; }
    ovsdb-server "$odir/conf.db" --remote="punix:$odir/db.sock" --pidfile="$odir/ovsdb-server.pid" \
        --unixctl="$odir/ovsdb-server.ctl" --log-file="$odir/ovsdb-server.log" --detach \
        --no-chdir 2>>"$odir/start.log" || { ovs_why="ovsdb-server did not start"; return 1; }
    pid=$(cat "$odir/ovsdb-server.pid")
    started+=("$pid:ovsdb-server")
    ovs-vsctl --db="unix:$odir/db.sock" --no-wait init 2>>"$odir/start.log" ||
        { ovs_why="ovs-vsctl init failed"; return 1; }
    # Its own network namespace: the bridge's and internal ports' tap devices stay private.
    unshare --net -- ovs-vswitchd "unix:$odir/db.sock" --pidfile="$odir/ovs-vswitchd.pid" \
        --unixctl="$odir/ovs-vswitchd.ctl" --log-file="$odir/ovs-vswitchd.log" --detach \
        --no-chdir 2>>"$odir/start.log" || { ovs_why="ovs-vswitchd did not start"; return 1; }
    vswitchd_pid=$(cat "$odir/ovs-vswitchd.pid")
    started+=("$vswitchd_pid:ovs-vswitchd")
    ovs-vsctl --db="unix:$odir/db.sock" --timeout=60 \
        add-br br0 -- set bridge br0 datapath_type=netdev \
        -- add-port br0 p1 -- set interface p1 type=internal ofport_request=1 \
        -- add-port br0 p2 -- set interface p2 type=internal ofport_request=2 \
        2>>"$odir/start.log" || { ovs_why="creating the netdev bridge failed"; return 1; }
    ovs-ofctl show "$of_target" >/dev/null 2>>"$odir/start.log" ||
        { ovs_why="ovs-ofctl cannot reach the bridge"; return 1; }
    return 0
}

ovs_flows() {
    ovs-ofctl dump-aggregate "$of_target" | sed -n 's/.*flow_count=\([0-9]*\).*/\1/p'
}

expect_ovs_flows() {
    local n
    n=$(ovs_flows)
    [[ $n == "$1" ]] || die "OVS has $n flows, expected $1"
}

if [[ ${SWD_BENCH_SKIP_OVS:-0} == 1 ]]; then
    ovs_why="skipped (SWD_BENCH_SKIP_OVS=1)"
elif ! start_ovs; then
    [[ -s $odir/start.log ]] && sed 's/^/  /' "$odir/start.log" >&2
fi
if [[ -n $vswitchd_pid && -z $ovs_why ]]; then
    ovs_ran=1
    echo "== 3. Open vSwitch $(ovs-vswitchd --version | awk 'NR == 1 { print $NF }'): ovs-ofctl end to end, bridge datapath_type=netdev =="
    ovs_idle=$(status_bytes "$vswitchd_pid" VmRSS)
    t_oadd=()
    for ((r = 1; r <= runs; r++)); do
        ovs-ofctl del-flows "$of_target" # also the bridge's default NORMAL flow
        expect_ovs_flows 0
        timed t "$vswitchd_pid" ovs-ofctl add-flows "$of_target" "$tmp/rules_100k_a.txt"
        expect_ovs_flows 100000
        t_oadd+=("$t")
        if ((r == 1)); then
            ovs_rss_100k=$(status_bytes "$vswitchd_pid" VmRSS)
            ovs_hwm_100k=$(status_bytes "$vswitchd_pid" VmHWM)
        fi
    done
    run_list "ovs-ofctl add-flows, 100K rules, empty table" ovs-vswitchd "${t_oadd[@]}"
    record ovs_add_100k "${t_oadd[@]}"

    t_obundle=()
    for ((r = 1; r <= runs; r++)); do
        ovs-ofctl del-flows "$of_target"
        expect_ovs_flows 0
        timed t "$vswitchd_pid" ovs-ofctl --bundle add-flows "$of_target" "$tmp/rules_100k_a.txt"
        expect_ovs_flows 100000
        t_obundle+=("$t")
    done
    run_list "ovs-ofctl --bundle add-flows, 100K rules, empty table" ovs-vswitchd "${t_obundle[@]}"
    record ovs_bundle_100k "${t_obundle[@]}"

    t_orep=()
    for ((r = 1; r <= runs; r++)); do
        f=$tmp/rules_100k_b.txt
        ((r % 2 == 1)) || f=$tmp/rules_100k_a.txt
        timed t "$vswitchd_pid" ovs-ofctl replace-flows "$of_target" "$f"
        t_orep+=("$t")
        # The bridge must now hold exactly f (not timed).
        if [[ -n $(ovs-ofctl diff-flows "$of_target" "$f" 2>&1 | head -n 5) ]]; then
            die "OVS flows differ from $f after replace-flows"
        fi
    done
    expect_ovs_flows 100000
    run_list "ovs-ofctl replace-flows, all 100K rules changed" ovs-vswitchd "${t_orep[@]}"
    record ovs_replace_100k "${t_orep[@]}"
    ovs_rss_100k_churn=$(status_bytes "$vswitchd_pid" VmRSS)
    ovs_hwm_100k_churn=$(status_bytes "$vswitchd_pid" VmHWM)
    echo "  ovs-vswitchd VmRSS: idle $(mib "$ovs_idle"); 100K rules after the first add-flows $(mib "$ovs_rss_100k") (VmHWM $(mib "$ovs_hwm_100k"))"
    echo "                      100K rules after all runs $(mib "$ovs_rss_100k_churn") (VmHWM $(mib "$ovs_hwm_100k_churn"))"
    echo "  (ovsdb-server, not counted: $(mib "$(status_bytes "$(cat "$odir/ovsdb-server.pid")" VmRSS)"))"
    for ((i = ${#started[@]} - 1; i >= 0; i--)); do
        e=${started[i]}
        if [[ ${e#*:} == ovs-vswitchd || ${e#*:} == ovsdb-server ]]; then
            stop_pid "${e%%:*}" "${e#*:}"
            forget_pid "${e%%:*}"
        fi
    done
    echo
else
    echo "== 3. Open vSwitch: not measured: $ovs_why =="
    echo
fi

# --- Summary -----------------------------------------------------------------------------------
# row LABEL SWD_KEY OVS_KEY UNIT AIM_OP AIM_VALUE AIM_TEXT
#   UNIT s or MiB (the values are seconds or bytes); AIM_OP le or "" for no aim.
row() {
    local label=$1 sk=$2 ok=$3 unit=$4 op=$5 aim=$6 aimtxt=$7
    local s=${res[$sk]:-} o=${res[$ok]:-}
    awk -v label="$label" -v s="$s" -v o="$o" -v unit="$unit" -v op="$op" -v aim="$aim" \
        -v aimtxt="$aimtxt" '
    function fmt3(v, a, n) {
        if (v == "") return "-"
        n = split(v, a, " ")
        if (unit == "MiB") {
            if (a[1] == a[3]) return sprintf("%.1f", a[2] / 1048576)
            return sprintf("%.1f / %.1f / %.1f", a[1] / 1048576, a[2] / 1048576, a[3] / 1048576)
        }
        return sprintf("%.3f / %.3f / %.3f", a[1], a[2], a[3])
    }
    function med(v, a) { split(v, a, " "); return a[2] }
    BEGIN {
        ratio = (s != "" && o != "" && med(s) > 0) ? sprintf("%.1fx", med(o) / med(s)) : "-"
        verdict = "-"
        if (op == "le" && s != "") {
            m = unit == "MiB" ? med(s) / 1048576 : med(s)
            verdict = m <= aim ? "pass" : "FAIL"
        }
        printf "%-44s %-5s %-25s %-25s %-8s %-10s %s\n", label, unit, fmt3(s), fmt3(o), ratio,
            aimtxt, verdict
    }'
}

single() { # KEY BYTES: a single measurement
    res[$1]="$2 $2 $2"
}
single swd_rss_100k "$swd_rss_100k"
single swd_rss_100k_churn "$swd_rss_100k_churn"
single swd_rss_1m "$swd_rss_1m"
single swd_idle "$swd_idle"
if ((ovs_ran)); then
    single ovs_rss_100k "$ovs_rss_100k"
    single ovs_rss_100k_churn "$ovs_rss_100k_churn"
    single ovs_idle "$ovs_idle"
fi

echo "== Summary: min / median / max of $runs runs; OVS/swd is the ratio of the medians =="
printf "%-44s %-5s %-25s %-25s %-8s %-10s %s\n" "measurement" "unit" "swd" "OVS" "OVS/swd" "aim" "result"
row "parse+compile+publish, 1K rules (in process)" tb_total_1000 - s "" "" ""
row "parse+compile+publish, 100K (in process)" tb_total_100000 - s "" "" ""
row "parse+compile+publish, 1M (in process)" tb_total_1000000 - s le 2 "<= 2 s"
row "add 1 rule to a 1M table (in process)" tb_single_add_1000000 - s "" "" ""
row "add-flows 100K, end to end" swd_add_100k ovs_add_100k s le 0.2 "<= 0.2 s"
row "  vs ovs-ofctl --bundle add-flows" swd_add_100k ovs_bundle_100k s "" "" ""
row "replace-flows 100K, all changed" swd_replace_100k ovs_replace_100k s le 1 "<= 1 s"
row "add-flows 1M, end to end" swd_add_1m - s "" "" ""
row "RSS idle" swd_idle ovs_idle MiB "" "" ""
row "RSS, 100K rules (first add-flows)" swd_rss_100k ovs_rss_100k MiB le 60 "<= 60 MiB"
row "RSS, 100K rules (after all runs)" swd_rss_100k_churn ovs_rss_100k_churn MiB le 60 "<= 60 MiB"
row "RSS, 1M rules (first add-flows)" swd_rss_1m - MiB "" "" ""
echo
echo "aims are from issue 2 and are information only; OVS figures come from this run."
