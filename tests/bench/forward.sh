#!/usr/bin/env bash
# Forwarding benchmark (issue 3): swd against a minimal AF_XDP loop and Open vSwitch, port to port
# over veths, in one run.
#
#   tests/bench/forward.sh [BUILDDIR]      BUILDDIR defaults to build; nothing is built
#
# Topology (all created here, names swdb-*<PID>, no addresses, nothing routed anywhere):
#
#   [ns swdb-gen] swdb-g ==veth== swdb-a [ns swdb-sw] swdb-b ==veth== swdb-s [ns swdb-snk]
#     swgen x GENS on GEN_CPU      port 1 -> forwarder -> port 2        sink
#
# The generators (swgen live frames: BPF_PROG_TEST_RUN + XDP_TX, 60-byte UDP) offer several
# times what any forwarder takes: two of them, because each pauses ~25 ms between its 200 ms
# sending calls and one alone leaves the forwarder idle 11 % of the time. The forwarder runs in
# swdb-sw with its polling thread pinned to FWD_CPU. The sink is swdb-s's own stack (SINK=stack,
# default): the frames (to 02:00:00:00:00:02, no address there) are counted by the veth and
# dropped at IP input; SINK=xdp counts with swd_xdp_sink_drop (build/bpf/swgen_tx.bpf.o)
# instead, whose per-5-tuple hash map (64K entries) costs the forwarder's CPU more with more
# flows and overflows at 100K. Either way the sink's receive runs on FWD_CPU (veth delivers in
# the sender's softirq), the same for every forwarder. Forwarded rate = sink frames / window.
#
# Forwarders, one at a time on the same veths and traffic:
#   (1) min  BUILDDIR/tests/bench/afxdp_fwd (tests/bench/afxdp_fwd.cc): one copy-mode socket
#            per port on queue 0, shared UMEM, rx batch -> tx ring of the other port, no
#            parsing: the ceiling of AF_XDP copy mode here;
#   (2, 3) swd  --pmd-cpus FWD_CPU --local-port none, ports xdp-mode=native (copy mode);
#   (4) OVS  ovsdb-server and ovs-vswitchd started here with a private run directory, bridge
#            datapath_type=netdev, ports type=afxdp (xdp-mode=native, n_rxq=1, ofport_request
#            1 and 2), pmd-cpu-mask = FWD_CPU, everything else at its defaults.
#
# Rules (the same text for swd and OVS; swd's file adds the two port= lines):
#   1 rule:   priority=10,in_port=1,actions=output:2
#   N rules:  N exact rules priority=20,udp,in_port=1,nw_src=198.18.0.1+k,tp_src=(1024+k)%65536,
#             actions=output:2 (k = 0..N-1), then priority=1,actions=drop.
# Flows: swgen --flows F --vary src-ip,src-port: flow f comes from 198.18.0.1+f, port
# (1024+f)%65536, to 198.19.0.1:9, so it matches exact rule k = f. With F <= N every frame hits
# an exact rule and F rules are hit; a frame that hit none would be dropped by the default rule
# and not counted. After each point the rule counters (swctl dump-flows, ovs-ofctl dump-flows)
# are checked for exactly that: F (or 1) rules hit, 0 packets on the drop rule.
#
# Points: the minimal loop with 1, 1K and 100K flows; swd and OVS with rules x flows 1x1, 1Kx1,
# 100Kx1, 1x1K, 1x100K, 1Kx1K, 100Kx100K. Per point: start the forwarder, run the generators for
# WARMUP s (caches; OVS then keeps them running until its datapath flow table has settled, see
# ovs_settle), then RUNS windows of WINDOW s; the median is reported. A window during which
# other processes (another agent's build or test) used more than MAX_OTHER % of a CPU is
# discarded and measured again after the machine is quiet (at most 3 x RUNS windows). "x min"
# divides by the minimal loop with the same flow count, "x OVS" by OVS with the same rules and
# flows. Cycles per packet: perf stat -e cycles on FWD_CPU if the PMU works, otherwise an
# estimate, busy share of FWD_CPU (/proc/stat) x clock / rate. Then PAIRED rounds that run the
# minimal loop and swd with 1 rule and 1 flow alternately, one window each: the 0.9x aim uses the
# median of their per-round ratios, which the machine's drift over minutes does not bias.
#
# (5) nf, the network functions in user space with this setup (issue 5's AF_XDP figures): swd
# (hybrid profile) as a firewall, N exact rules of the form above with actions=drop and
# placement=user and F = N flows (1, 1K, 100K), its rate the frames that rules dropped (port 1's
# drop_action, swctl dump-ports); and as a load balancer, lb_pool=web with vip 198.19.0.1:9/udp
# (swgen's destination) and 3 backends 198.20.0.1-3:9 behind port 2 (next hop 02:00:00:00:00:02,
# so the sink treats the frames as it treats forwarded ones), the rule
# priority=10,in_port=1,udp,nw_dst=198.19.0.1,tp_dst=9,actions=lb(web),output:2 and S flows
# (sessions: 1, 1K, 100K), its rate the frames at the sink. Each against the seed's xsknf
# figures for the same mode on this machine kind, as issue 5 gives them.
#
# Environment: RUNS (default 3), WINDOW (s, 3), WARMUP (s, 3), GEN_CPU (0), FWD_CPU (1), GENS
# (generators, 2), SINK (stack or xdp), MAX_OTHER (%, 5), ONLY (any of "min swd ovs nf"),
# OVS_SETTLE (s, 180), SWD_BENCH_SKIP_OVS=1, POINTS (rule x flow points of swd and OVS, e.g.
# "1x1 100000x100000"; default all seven), PROFILE (a directory: after each point's windows,
# perf record -g samples FWD_CPU for 3 s into PROFILE/<point>.data, for perf report), PAIRED
# (rounds of the paired comparison below, 5; 0: none). Holds flock /run/lock/swd-lab.lock for the whole
# run (no child inherits it). On any exit it stops exactly the processes it started (by PID,
# after checking their name), deletes its namespaces (which removes the veths and their XDP
# programs) and its temporary directory. Exit status 0 when the benchmark ran, whatever it
# measured (the aims print pass or FAIL), 1 when it could not run.
set -Eeuo pipefail
export LC_ALL=C

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-build}
if [[ ! -d $build && -d $root/$build ]]; then
    build=$root/$build
fi
build=$(cd "$build" 2>/dev/null && pwd) || { echo "forward.sh: no build directory '${1:-build}'" >&2; exit 1; }
runs=${RUNS:-3}
window=${WINDOW:-3}
warmup=${WARMUP:-3}
gen_cpu=${GEN_CPU:-0}
fwd_cpu=${FWD_CPU:-1}
skip_ovs=${SWD_BENCH_SKIP_OVS:-0}
only=" ${ONLY:-min swd ovs nf} "
only=${only//,/ }
sink=${SINK:-stack}
paired=${PAIRED:-5}
gens=${GENS:-2}
[[ $gens =~ ^[1-4]$ ]] || { echo "forward.sh: GENS must be 1-4" >&2; exit 1; }
[[ $sink == xdp || $sink == stack ]] || { echo "forward.sh: SINK must be xdp or stack" >&2; exit 1; }
[[ $paired =~ ^[0-9]+$ ]] || { echo "forward.sh: PAIRED must be a number" >&2; exit 1; }
[[ $runs =~ ^[1-9][0-9]?$ ]] || { echo "forward.sh: RUNS must be 1-99" >&2; exit 1; }
[[ $window =~ ^[0-9]+(\.[0-9]+)?$ && $warmup =~ ^[0-9]+(\.[0-9]+)?$ ]] ||
    { echo "forward.sh: WINDOW and WARMUP are seconds" >&2; exit 1; }
[[ $gen_cpu =~ ^[0-9]+$ && $fwd_cpu =~ ^[0-9]+$ && $gen_cpu != "$fwd_cpu" && $fwd_cpu -lt $(nproc) &&
    $gen_cpu -lt $(nproc) ]] || { echo "forward.sh: GEN_CPU and FWD_CPU: two different CPUs" >&2; exit 1; }

swd=$build/tools/swd
swctl=$build/tools/swctl
swgen=$build/tools/swgen
fwd=$build/tests/bench/afxdp_fwd
sink_obj=$build/bpf/swgen_tx.bpf.o
for b in "$swd" "$swctl" "$swgen" "$fwd" "$sink_obj"; do
    [[ -e $b ]] || { echo "forward.sh: $b is missing: build first (ninja -C $build)" >&2; exit 1; }
done
for t in ip bpftool jq flock awk; do
    command -v "$t" >/dev/null || { echo "forward.sh: $t is not installed" >&2; exit 1; }
done

# Root, the lab lock (fd 9: every child is started with 9>&-), $tmp, process bookkeeping
# and cleanup, quiet-machine checks: tests/bench/lib.sh.
bench_name=forward
# shellcheck source=tests/bench/lib.sh
source "$here/lib.sh"
ns_gen=swdb-gen$$
ns_sw=swdb-sw$$
ns_sink=swdb-snk$$
dev_gen=swdb-g$$  # in ns_gen, peer of dev_a
dev_a=swdb-a$$    # in ns_sw, port 1
dev_b=swdb-b$$    # in ns_sw, port 2
dev_sink=swdb-s$$ # in ns_sink, peer of dev_b


# --- topology ----------------------------------------------------------------------------------
for ns in "$ns_gen" "$ns_sw" "$ns_sink"; do
    ip netns add "$ns"
    namespaces+=("$ns")
    # No IPv6 link-local addresses: the veths carry the generator's frames and nothing else.
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
done
ip link add "$dev_gen" netns "$ns_gen" type veth peer name "$dev_a" netns "$ns_sw"
ip link add "$dev_b" netns "$ns_sw" type veth peer name "$dev_sink" netns "$ns_sink"
ip -n "$ns_gen" link set dev "$dev_gen" up
ip -n "$ns_sw" link set dev lo up
ip -n "$ns_sw" link set dev "$dev_a" up
ip -n "$ns_sw" link set dev "$dev_b" up
ip -n "$ns_sink" link set dev "$dev_sink" up
if [[ $sink == xdp ]]; then
    ip -n "$ns_sink" link set dev "$dev_sink" xdp object "$sink_obj" program swd_xdp_sink_drop
    sink_prog=$(ip -n "$ns_sink" -j -d link show dev "$dev_sink" | jq '.[0].xdp.prog.id')
    sink_map=
    for id in $(bpftool -j prog show id "$sink_prog" | jq '.map_ids[]'); do
        [[ $(bpftool -j map show id "$id" | jq -r .name) == sink_stats_map ]] && sink_map=$id
    done
    [[ -n $sink_map ]] || die "sink_stats_map of the sink program not found"
    sink_frames() { bpftool -j map dump id "$sink_map" | jq '[.[0].formatted.values[].value.frames] | add'; }
else
    # No program: the frames go up the sink's stack, which drops them (not addressed to it).
    sink_frames() { ip -n "$ns_sink" -j -s link show dev "$dev_sink" | jq '.[0].stats64.rx.packets'; }
fi

xdp_attached() { # DEV: it carries an XDP program
    [[ $(ip -n "$ns_sw" -j -d link show dev "$1" | jq '.[0].xdp.prog.id // 0') != 0 ]]
}
wait_xdp() { # STATE (on|off) WHO: both ports have (not) an XDP program, within 20 s
    local i
    for ((i = 0; i < 400; i++)); do
        if [[ $1 == on ]] && xdp_attached "$dev_a" && xdp_attached "$dev_b"; then return 0; fi
        if [[ $1 == off ]] && ! xdp_attached "$dev_a" && ! xdp_attached "$dev_b"; then return 0; fi
        sleep 0.05
    done
    die "$2: XDP programs on $dev_a/$dev_b not $1 after 20 s"
}

# --- rules -------------------------------------------------------------------------------------
write_exact() { # N FILE ACTIONS: N exact rules (see the header) ending in ACTIONS
    awk -v n="$1" -v acts="$3" 'BEGIN {
        base = 198 * 16777216 + 18 * 65536 + 1 # 198.18.0.1
        for (k = 0; k < n; k++) {
            a = base + k
            printf "priority=20,udp,in_port=1,nw_src=%d.%d.%d.%d,tp_src=%d,%s\n",
                int(a / 16777216), int(a / 65536) % 256, int(a / 256) % 256, a % 256, (1024 + k) % 65536, acts
        }
    }' >"$2"
}
write_rules() { # N FILE: the rule text of N rules (see the header)
    if [[ $1 == 1 ]]; then
        echo "priority=10,in_port=1,actions=output:2" >"$2"
        return
    fi
    write_exact "$1" "$2" actions=output:2
    echo "priority=1,actions=drop" >>"$2"
}
for n in 1 1000 100000; do
    write_rules "$n" "$tmp/rules_$n.txt"
    {
        echo "port=$dev_a, ofport=1, xdp-mode=native"
        echo "port=$dev_b, ofport=2, xdp-mode=native"
        cat "$tmp/rules_$n.txt"
    } >"$tmp/swd_$n.txt"
done

# --- measurement -------------------------------------------------------------------------------
clk_mhz=$(awk -F': ' '/^cpu MHz/ { printf "%.0f", $2; exit }' /proc/cpuinfo)
cpu_ticks() { # "busy user kernel total" clock ticks of FWD_CPU so far
    awk -v c="cpu$fwd_cpu" '$1 == c {
        user = $2 + $3; kern = $4 + $7 + $8 + $9; print user + kern, user, kern, user + kern + $5 + $6 }' /proc/stat
}
perf_ok=0
perf_why="perf is not installed"
if command -v perf >/dev/null; then
    if perf stat -x, -e cycles -C "$fwd_cpu" -- sleep 0.1 2>&1 | grep -q '^[0-9]*,,cycles'; then
        perf_ok=1
    else
        perf_why="perf has no cycles counter here ($(perf stat -x, -e cycles -C "$fwd_cpu" -- sleep 0.1 2>&1 | head -n 1 | cut -d, -f1))"
    fi
fi

declare -A res # point -> "min median max" Mpps
declare -A info # point -> details line
declare -A cycles
declare -A check # point -> rule check result
med() { [[ -n ${res[$1]:-} ]] && echo "${res[$1]}" | cut -d' ' -f2 || echo ""; }
ratio() { [[ -n $1 && -n $2 ]] && awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }' || echo "-"; }


# measure POINT FLOWS: runs the generator until RUNS windows without other load (at most 3 x
# RUNS windows) and records their median in res[POINT]. fwd_pids: the forwarder's processes.
measure() {
    local point=$1 flows=$2 c0 c1 t0 t1 gpids=() g r other
    local vals=() clean=() cpus=() cyc=() b0 u0 k0 a0 b1 u1 k1 a1
    # shellcheck disable=SC2086 # fwd_pids: one or more PIDs
    wait_quiet $fwd_pids
    for ((g = 1; g <= gens; g++)); do
        ip netns exec "$ns_gen" "$swgen" --dev "$dev_gen" --flows "$flows" --vary src-ip,src-port \
            --cpu "$gen_cpu" --json --log-level warn >"$tmp/gen$g.json" 2>"$tmp/gen$g.err" 9>&- &
        gpids+=("$!")
        started+=("$!:swgen")
    done
    sleep "$warmup"
    if [[ -n ${extra_warmup:-} ]]; then
        $extra_warmup "$point"
    fi
    for ((r = 0; r < 3 * runs && ${#clean[@]} < runs; r++)); do
        # shellcheck disable=SC2086
        ((${#vals[@]} == ${#clean[@]})) || wait_quiet $fwd_pids "${gpids[@]}"
        for g in "${gpids[@]}"; do
            running "$g" swgen || { cat "$tmp"/gen*.err >&2; die "$point: swgen stopped early"; }
        done
        c0=$(${counter:-sink_frames})
        read -r b0 u0 k0 a0 < <(cpu_ticks)
        # shellcheck disable=SC2086
        other_load_begin $fwd_pids "${gpids[@]}"
        t0=$EPOCHREALTIME
        if ((perf_ok)); then
            perf stat -x, -e cycles -C "$fwd_cpu" -o "$tmp/perf.txt" -- sleep "$window" 9>&-
        else
            sleep "$window"
        fi
        t1=$EPOCHREALTIME
        read -r b1 u1 k1 a1 < <(cpu_ticks)
        c1=$(${counter:-sink_frames})
        # shellcheck disable=SC2086
        other=$(other_load_end $fwd_pids "${gpids[@]}")
        local v
        v=$(awk -v a="$c0" -v b="$c1" -v s="$t0" -v e="$t1" 'BEGIN { printf "%.4f", (b - a) / (e - s) / 1e6 }')
        if ((other <= max_other)); then
            clean+=("$v")
            vals+=("$v")
        else
            vals+=("$v(other load ${other}%)")
        fi
        cpus+=("$(awk -v b=$((b1 - b0)) -v u=$((u1 - u0)) -v k=$((k1 - k0)) -v t=$((a1 - a0)) \
            'BEGIN { if (t == 0) t = 1; printf "%.0f/%.0f/%.0f", 100 * b / t, 100 * u / t, 100 * k / t }')")
        if ((perf_ok)); then
            cyc+=("$(awk -F, -v p="$((c1 - c0))" '$3 == "cycles" { printf "%.0f", $1 / p }' "$tmp/perf.txt")")
        else
            cyc+=("$(awk -v b=$((b1 - b0)) -v t=$((a1 - a0)) -v f="$clk_mhz" -v p="$((c1 - c0))" \
                -v s="$t0" -v e="$t1" 'BEGIN { if (t == 0 || p == 0) { print "-"; exit }
                    printf "%.0f", b / t * f * 1e6 * (e - s) / p }')")
        fi
    done
    if [[ -n ${PROFILE:-} ]]; then
        mkdir -p "$PROFILE"
        perf record -q -g -C "$fwd_cpu" -o "$PROFILE/${point// /_}.data" -- sleep 3 9>&- >/dev/null 2>&1 ||
            echo "    perf record failed" >&2
    fi
    for g in "${gpids[@]}"; do
        stop_pid "$g" swgen
        forget_pid "$g"
    done
    local note=""
    if ((${#clean[@]} < runs)); then
        note=" DISTURBED: only ${#clean[@]} of ${#vals[@]} windows without other load"
        ((${#clean[@]} > 0)) || clean=("${vals[@]%%(*}")
    fi
    res[$point]=$(median_of "${clean[@]}")
    local offered
    offered=$(cat "$tmp"/gen[0-9]*.json 2>/dev/null | jq -s 'map(.mpps) | add // 0')
    info[$point]="windows ${vals[*]} Mpps; offered $(printf '%.2f' "$offered") Mpps; CPU$fwd_cpu busy/user/kernel % ${cpus[*]}; cycles/pkt ${cyc[*]}$note"
    cycles[$point]=$(median_of "${cyc[@]/-/0}" | cut -d' ' -f2)
    echo "  $(printf '%-20s' "$point") $(printf '%6.3f' "$(echo "${res[$point]}" | cut -d' ' -f2)") Mpps  (${info[$point]})"
}

# --- (1) the minimal loop ----------------------------------------------------------------------
echo "== forward.sh: AF_XDP copy-mode forwarding, $dev_a -> $dev_b (60-byte UDP) =="
echo "date:    $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "machine: $(nproc) CPUs ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), ${clk_mhz} MHz), kernel $(uname -r)"
echo "tree:    $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown), build $build"
echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) at start"
echo "setup:   $gens x swgen on CPU $gen_cpu, forwarder's polling thread on CPU $fwd_cpu, sink $sink; warm-up ${warmup} s, then $runs windows of ${window} s, median"
echo "cycles:  $(if ((perf_ok)); then echo "perf stat -e cycles on CPU $fwd_cpu"; else echo "$perf_why: estimated as busy share of CPU $fwd_cpu x ${clk_mhz} MHz / rate"; fi)"
echo

start_min() { # starts the minimal loop; fwd_pids
    ip netns exec "$ns_sw" "$fwd" "$dev_a" "$dev_b" --cpu "$fwd_cpu" >"$tmp/fwd.out" 2>&1 9>&- &
    fwd_pids=$!
    started+=("$fwd_pids:afxdp_fwd")
    wait_xdp on afxdp_fwd
    sleep 0.3
}
stop_min() { # QUIET: stops it; without QUIET prints its summary
    stop_pid "$fwd_pids" afxdp_fwd
    forget_pid "$fwd_pids"
    [[ -n ${1:-} ]] || sed 's/^/    /' "$tmp/fwd.out"
    wait_xdp off afxdp_fwd
}

[[ $only == *" min "* ]] && echo "== (1) minimal loop: tests/bench/afxdp_fwd =="
for flows in 1 1000 100000; do
    [[ $only == *" min "* ]] || continue
    start_min
    measure "min F=$flows" "$flows"
    stop_min
done

# --- (2, 3) swd --------------------------------------------------------------------------------
points=("1 1" "1000 1" "100000 1" "1 1000" "1 100000" "1000 1000" "100000 100000")
if [[ -n ${POINTS:-} ]]; then
    points=()
    for p in $POINTS; do
        [[ $p =~ ^[0-9]+x[0-9]+$ ]] || die "POINTS: '$p' is not RULESxFLOWS"
        points+=("${p/x/ }")
    done
fi
short() { local n=$1; n=${n/%000000/M}; n=${n/%000/K}; echo "$n"; } # 100000 -> 100K
label() { echo "R=$(short "$1") F=$(short "$2")"; } # RULES FLOWS -> "R=1K F=100K"
# check_hits POINT FLOWS RULES HIT DEFAULT_PACKETS: whether the traffic hit the rules it should.
check_hits() {
    local point=$1 flows=$2 rules=$3 hit=$4 dflt=$5 want
    want=$flows
    ((rules == 1)) && want=1
    if [[ $hit == "$want" && $dflt == 0 ]]; then
        check[$point]="ok: $hit rules hit, default drop rule 0 packets"
    else
        check[$point]="WRONG: $hit rules hit (expected $want), default drop rule $dflt packets"
    fi
    echo "    rule check: ${check[$point]}"
}

start_swd() { # RULES [SWD OPTION...]: starts swd with the file $tmp/swd_RULES.txt; fwd_pids
    local i
    ip netns exec "$ns_sw" "$swd" --config "$tmp/swd_$1.txt" --control "$sock" --log-level warn \
        --pmd-cpus "$fwd_cpu" --local-port none "${@:2}" >"$tmp/swd.log" 2>&1 9>&- &
    fwd_pids=$!
    started+=("$fwd_pids:swd")
    for ((i = 0; i < 400; i++)); do
        "$swctl" --control "$sock" ping >/dev/null 2>&1 && break
        # a job of this script: until it has exec'd swd it is called bash or ip
        [[ -e /proc/$fwd_pids && $(awk '/^State:/ { print $2 }' "/proc/$fwd_pids/status") != Z ]] ||
            { cat "$tmp/swd.log" >&2; die "swd exited at start"; }
        sleep 0.05
    done
    wait_xdp on swd
    sleep 0.3
}
stop_swd() {
    stop_pid "$fwd_pids" swd
    forget_pid "$fwd_pids"
    { grep -v '^ *$' "$tmp/swd.log" || true; } | head -n 5 | sed 's/^/    swd: /'
    wait_xdp off swd
}

sock=$tmp/swd.sock
echo
[[ $only == *" swd "* ]] && echo "== (2, 3) swd --pmd-cpus $fwd_cpu --local-port none =="
for p in "${points[@]}"; do
    [[ $only == *" swd "* ]] || continue
    read -r rules flows <<<"$p"
    point="swd $(label "$rules" "$flows")"
    start_swd "$rules"
    measure "$point" "$flows"
    "$swctl" --control "$sock" --format json dump-flows >"$tmp/flows.json"
    hit=$(jq '[.. | objects | select(has("n_packets") and .priority == 20 and .n_packets > 0)] | length' "$tmp/flows.json")
    ((rules == 1)) && hit=$(jq '[.. | objects | select(has("n_packets") and .n_packets > 0)] | length' "$tmp/flows.json")
    dflt=$(jq '[.. | objects | select(has("n_packets") and .priority == 1) | .n_packets] | add // 0' "$tmp/flows.json")
    check_hits "$point" "$flows" "$rules" "$hit" "$dflt"
    "$swctl" --control "$sock" dump-ports >"$tmp/ports.txt" 2>&1 || true
    stop_swd
done
if [[ -r $tmp/ports.txt ]]; then
    echo "  swctl dump-ports after the last point:"
    sed 's/^/    /' "$tmp/ports.txt"
fi

# --- paired rounds: the minimal loop and swd, alternately ---------------------------------------
# The 0.9x aim compares two forwarders whose windows, measured minutes apart, differ by up to
# 40 % on this shared machine. Alternating them, one window each per round, gives ratios of
# neighbouring windows; their median is the figure the aim uses.
pair_ratios=()
if ((paired > 0)) && [[ $only == *" min "* && $only == *" swd "* ]]; then
    echo
    echo "== paired: min F=1 and swd R=1 F=1, alternately, $paired rounds of one window each =="
    for ((k = 1; k <= paired; k++)); do
        start_min
        runs=1 measure "pair $k min" 1 >/dev/null
        stop_min quiet
        start_swd 1
        runs=1 measure "pair $k swd" 1 >/dev/null
        stop_swd
        a=$(med "pair $k min")
        b=$(med "pair $k swd")
        pair_ratios+=("$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.4f", (a > 0 ? b / a : 0) }')")
        echo "  round $k: min $a Mpps, swd $b Mpps: $(ratio "$b" "$a")"
    done
    read -r _ pair_median _ <<<"$(median_of "${pair_ratios[@]}")"
    echo "  median ratio swd / min: $(printf '%.2f' "$pair_median")x (rounds: ${pair_ratios[*]})"
fi

# --- (5) the network functions in user space ---------------------------------------------------
declare -A nf_xsknf=([fw1]=3.7 [fw1000]=3.8 [fw100000]=2.8 [lb1]=0.67 [lb1000]=0.66 [lb100000]=0.7)
user_drops() { # frames that rules dropped in user space on port 1
    "$swctl" --control "$sock" --format json dump-ports |
        jq '[.ports[] | select(.ofport == 1) | .queues[].counters.drop_action // 0] | add'
}
if [[ $only == *" nf "* ]]; then
    echo
    echo "== (5) swd's network functions in user space (hybrid, AF_XDP copy mode, polling thread on CPU $fwd_cpu) =="
    ports="port=$dev_a, ofport=1, xdp-mode=native"$'\n'"port=$dev_b, ofport=2, xdp-mode=native"
    for n in 1 1000 100000; do
        write_exact "$n" "$tmp/fw.txt" placement=user,actions=drop
        { echo "$ports"; cat "$tmp/fw.txt"; } >"$tmp/swd_fw$n.txt"
        start_swd "fw$n"
        counter=user_drops measure "nf firewall R=$(short "$n")" "$n"
        stop_swd
    done
    {
        echo "$ports"
        echo "lb_pool=web, vip=198.19.0.1:9/udp, backend=198.20.0.1:9/02:00:00:00:00:02, backend=198.20.0.2:9/02:00:00:00:00:02, backend=198.20.0.3:9/02:00:00:00:00:02"
        echo "priority=10,in_port=1,udp,nw_dst=198.19.0.1,tp_dst=9,actions=lb(web),output:2"
    } >"$tmp/swd_lb.txt"
    for n in 1 1000 100000; do
        start_swd lb --lb-sessions $((2 * n + 4096))
        measure "nf lb S=$(short "$n")" "$n"
        echo "    port 1: $("$swctl" --control "$sock" --format json dump-ports |
            jq -c '[.ports[] | select(.ofport == 1) | .queues[].counters | to_entries[] | select(.value > 0 and (.key | startswith("drop")))] | from_entries')"
        stop_swd
    done
fi

# --- (4) Open vSwitch --------------------------------------------------------------------------
ovs_why=
odir=$tmp/ovs
br=swdb-br$$
start_ovs() {
    local tool pid
    for tool in ovsdb-tool ovsdb-server ovs-vswitchd ovs-vsctl ovs-ofctl ovs-appctl; do
        command -v "$tool" >/dev/null || { ovs_why="$tool is not installed"; return 1; }
    done
    [[ -r /usr/share/openvswitch/vswitch.ovsschema ]] || { ovs_why="no vswitch.ovsschema"; return 1; }
    mkdir -p "$odir"
    export OVS_RUNDIR=$odir OVS_DBDIR=$odir OVS_LOGDIR=$odir OVS_SYSCONFDIR=$odir \
        OVS_PKGDATADIR=/usr/share/openvswitch
    ovsdb-tool create "$odir/conf.db" /usr/share/openvswitch/vswitch.ovsschema ||
        { ovs_why="ovsdb-tool create failed"; return 1; }
    ovsdb-server "$odir/conf.db" --remote="punix:$odir/db.sock" --pidfile="$odir/ovsdb-server.pid" \
        --unixctl="$odir/ovsdb-server.ctl" --log-file="$odir/ovsdb-server.log" --detach \
        --no-chdir 2>>"$odir/start.log" 9>&- || { ovs_why="ovsdb-server did not start"; return 1; }
    pid=$(cat "$odir/ovsdb-server.pid")
    started+=("$pid:ovsdb-server")
    vsctl --no-wait init || { ovs_why="ovs-vsctl init failed"; return 1; }
    vsctl --no-wait set Open_vSwitch . other_config:pmd-cpu-mask="$(printf '0x%x' $((1 << fwd_cpu)))"
    # In the switch namespace. libxdp keeps the XDP program's dispatcher in a bpffs: a private
    # one, mounted in the mount namespace that 'ip netns exec' creates for this process only.
    ip netns exec "$ns_sw" sh -c 'mount -t bpf bpf /sys/fs/bpf 2>/dev/null; exec "$@"' sh \
        ovs-vswitchd "unix:$odir/db.sock" --pidfile="$odir/ovs-vswitchd.pid" \
        --unixctl="$odir/ovs-vswitchd.ctl" --log-file="$odir/ovs-vswitchd.log" --detach \
        --no-chdir 2>>"$odir/start.log" 9>&- || { ovs_why="ovs-vswitchd did not start"; return 1; }
    pid=$(cat "$odir/ovs-vswitchd.pid")
    started+=("$pid:ovs-vswitchd")
    fwd_pids="$pid $(cat "$odir/ovsdb-server.pid")"
    vsctl --timeout=60 add-br "$br" -- set bridge "$br" datapath_type=netdev \
        -- add-port "$br" "$dev_a" -- set interface "$dev_a" type=afxdp ofport_request=1 \
        options:n_rxq=1 options:xdp-mode=native \
        -- add-port "$br" "$dev_b" -- set interface "$dev_b" type=afxdp ofport_request=2 \
        options:n_rxq=1 options:xdp-mode=native 2>>"$odir/start.log" ||
        { ovs_why="creating the bridge with afxdp ports failed"; return 1; }
    local ofa ofb
    ofa=$(vsctl get interface "$dev_a" ofport)
    ofb=$(vsctl get interface "$dev_b" ofport)
    [[ $ofa == 1 && $ofb == 2 ]] || { ovs_why="ports got ofport $ofa and $ofb (error: $(vsctl get interface "$dev_a" error))"; return 1; }
    wait_xdp on ovs-vswitchd
}
vsctl() { ovs-vsctl --db="unix:$odir/db.sock" "$@"; }
# ovs_settle POINT: after the common warm-up, OVS keeps the traffic until its datapath flow
# table is settled: the count of datapath flows (upcall/show) changes by less than 1 % in 2 s
# and stays below the dynamic flow limit, which ovs-vswitchd raises by 1000 per revalidation
# round; at most OVS_SETTLE s (default 180). With 100K flows that takes a minute or more, and
# measuring before would count upcalls rather than forwarding.
settle_note=
ovs_settle() {
    local t=0 n0=-1 n l line
    local max=${OVS_SETTLE:-180}
    while ((t < max)); do
        line=$(appctl upcall/show | grep -m1 'flows *:')
        n=$(sed -n 's/.*(current \([0-9]*\)).*/\1/p' <<<"$line")
        l=$(sed -n 's/.*(limit \([0-9]*\)).*/\1/p' <<<"$line")
        if ((n0 >= 0 && n * 100 < l * 95 && (n - n0) * 100 <= n0 && (n0 - n) * 100 <= n0)); then
            break
        fi
        n0=$n
        sleep 2
        t=$((t + 2))
    done
    settle_note="; settled after $warmup + $t s"
    ((t < max)) || settle_note="; NOT settled after $warmup + $t s"
}
ofctl() { ovs-ofctl "$@"; }
appctl() { ovs-appctl -t "$odir/ovs-vswitchd.ctl" "$@"; }
of_target=unix:$odir/$br.mgmt

echo
if ((skip_ovs)); then
    ovs_why="skipped (SWD_BENCH_SKIP_OVS=1)"
elif [[ $only != *" ovs "* ]]; then
    ovs_why="skipped (ONLY=${ONLY:-})"
elif ! start_ovs; then
    [[ -n $ovs_why ]] || ovs_why="start failed"
fi
if [[ -z $ovs_why ]]; then
    echo "== (4) Open vSwitch $(ovs-vswitchd --version | awk 'NR == 1 { print $NF }'): bridge datapath_type=netdev, afxdp ports (xdp-mode=native, n_rxq=1), pmd-cpu-mask=$(printf '0x%x' $((1 << fwd_cpu))) =="
    for p in "${points[@]}"; do
        read -r rules flows <<<"$p"
        point="OVS $(label "$rules" "$flows")"
        ofctl del-flows "$of_target"
        ofctl --bundle add-flows "$of_target" "$tmp/rules_$rules.txt"
        n=$(ofctl dump-aggregate "$of_target" | sed -n 's/.*flow_count=\([0-9]*\).*/\1/p')
        want=$((rules == 1 ? 1 : rules + 1))
        [[ $n == "$want" ]] || die "OVS has $n rules, expected $want"
        # The previous point's datapath flows are left to OVS's revalidators, which revalidate
        # them against the new table. (Deleting them with dpctl/del-flows leaves their ukeys
        # behind, and the upcalls of the same flows then fail with "ukey installation fails".)
        appctl dpif-netdev/pmd-stats-clear >/dev/null
        extra_warmup=ovs_settle measure "$point" "$flows"
        ofctl dump-flows "$of_target" >"$tmp/ovs_flows.txt"
        hit=$(awk '/priority=20/ && !/n_packets=0,/' "$tmp/ovs_flows.txt" | wc -l)
        ((rules == 1)) && hit=$(grep -c -v 'n_packets=0,' <(grep n_packets "$tmp/ovs_flows.txt") || true)
        dflt=$(awk '/priority=1[ ,]/ { sub(/.*n_packets=/, ""); sub(/,.*/, ""); print }' "$tmp/ovs_flows.txt")
        check_hits "$point" "$flows" "$rules" "$hit" "${dflt:-0}"
        echo "    ovs pmd: $(appctl dpif-netdev/pmd-stats-show | sed -n '/core_id '"$fwd_cpu"':/,/^pmd thread/p' |
            grep -v -E 'pmd thread|core_id|idle cycles' | sed 's/^ *//; s/ ([0-9/]*)//' | tr -s ' ' | paste -sd ';' | sed 's/;/; /g')"
        echo "    ovs upcall/show: $(appctl upcall/show | grep -m1 'flows *:' | tr -s ' ')$settle_note"
    done
    echo "  ovs-vswitchd log warnings/errors:"
    grep -E '\|(WARN|ERR|EMER)\|' "$odir/ovs-vswitchd.log" | tail -n 5 | sed 's/^/    /' || true
else
    echo "== (4) Open vSwitch: not measured: $ovs_why =="
    [[ -r $odir/start.log ]] && tail -n 5 "$odir/start.log" | sed 's/^/    /'
    [[ -r $odir/ovs-vswitchd.log ]] && grep -E '\|(WARN|ERR|EMER)\|' "$odir/ovs-vswitchd.log" | tail -n 5 | sed 's/^/    /'
fi

# --- summary -----------------------------------------------------------------------------------
echo
echo "== Summary: Mpps forwarded $dev_a -> $dev_b, median of $runs windows (min-max); x min = ratio to the minimal loop with the same flows, x OVS = ratio to OVS with the same rules and flows =="
printf '%-22s %-22s %-8s %-8s %-11s %s\n' "forwarder" "Mpps median (min-max)" "x min" "x OVS" "cycles/pkt" "rules hit"
for flows in 1 1000 100000; do
    point="min F=$flows"
    [[ -n ${res[$point]:-} ]] || continue
    read -r mn md mx <<<"${res[$point]}"
    printf '%-22s %-22s %-8s %-8s %-11s %s\n' "$point" "$(printf '%.3f (%.3f-%.3f)' "$md" "$mn" "$mx")" "1.00x" "-" "${cycles[$point]}" "-"
done
for who in swd OVS; do
    for p in "${points[@]}"; do
        read -r rules flows <<<"$p"
        point="$who $(label "$rules" "$flows")"
        [[ -n ${res[$point]:-} ]] || continue
        read -r mn md mx <<<"${res[$point]}"
        printf '%-22s %-22s %-8s %-8s %-11s %s\n' "$point" "$(printf '%.3f (%.3f-%.3f)' "$md" "$mn" "$mx")" \
            "$(ratio "$md" "$(med "min F=$flows")")" "$(ratio "$md" "$(med "OVS $(label "$rules" "$flows")")")" \
            "${cycles[$point]}" "${check[$point]%%:*}"
    done
done
echo "(cycles/pkt: $(if ((perf_ok)); then echo "perf stat cycles on CPU $fwd_cpu"; else echo "estimate, $perf_why"; fi))"

echo
echo "== Aims (issue 3) =="
aim() { # TEXT VALUE REF FACTOR
    local what=$1 v=$2 ref=$3 f=$4
    if [[ -z $v || -z $ref ]]; then
        printf '%-52s %s\n' "$what" "not measured"
        return
    fi
    awk -v w="$what" -v v="$v" -v r="$ref" -v f="$f" 'BEGIN {
        printf "%-52s %.3f / %.3f = %.2fx  %s\n", w, v, r, v / r, (v >= f * r ? "pass" : "FAIL") }'
}
aim "swd 1 rule >= 1.6x OVS 1 rule" "$(med "swd R=1 F=1")" "$(med "OVS R=1 F=1")" 1.6
if ((${#pair_ratios[@]} > 0)); then
    aim "swd 1 rule >= 0.9x the minimal loop (paired)" "$pair_median" 1 0.9
else
    aim "swd 1 rule >= 0.9x the minimal loop" "$(med "swd R=1 F=1")" "$(med "min F=1")" 0.9
fi
aim "swd 100K rules x 100K flows >= 3x OVS" "$(med "swd R=100K F=100K")" "$(med "OVS R=100K F=100K")" 3
# The ceiling of the OVS aims: the minimal loop does no parsing and no lookup, so no forwarder
# on this machine's copy-mode path goes faster; an aim above these ratios is out of its reach.
ceiling() { # TEXT VALUE REF
    if [[ -n $2 && -n $3 ]]; then
        awk -v w="$1" -v v="$2" -v r="$3" 'BEGIN { printf "%-52s %.3f / %.3f = %.2fx\n", w, v, r, v / r }'
    fi
}
ceiling "ceiling: the minimal loop / OVS 1 rule" "$(med "min F=1")" "$(med "OVS R=1 F=1")"
ceiling "ceiling: the minimal loop / OVS 100K x 100K" "$(med "min F=100000")" "$(med "OVS R=100K F=100K")"
if [[ $only == *" nf "* ]]; then
    echo
    echo "== Aims (issue 5): swd in user space against the seed's xsknf, AF_XDP, this machine kind =="
    for n in 1 1000 100000; do
        aim "firewall $(short "$n") rules > xsknf's ${nf_xsknf[fw$n]} Mpps" "$(med "nf firewall R=$(short "$n")")" "${nf_xsknf[fw$n]}" 1
    done
    for n in 1 1000 100000; do
        aim "load balancer $(short "$n") sessions > xsknf's ${nf_xsknf[lb$n]} Mpps" "$(med "nf lb S=$(short "$n")")" "${nf_xsknf[lb$n]}" 1
    done
fi
echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg)"
