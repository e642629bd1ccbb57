#!/usr/bin/env bash
# Dispatcher benchmark (issue 4): what the XDP dispatcher costs and gains, against the smallest
# XDP programs and against no program, in one run.
#
#   tests/bench/dispatcher.sh [BUILDDIR]      BUILDDIR defaults to build; nothing is built
#
# Topology (all created here, names swdd-*<PID>, nothing routed anywhere):
#
#   [ns gen] swdd-g ==veth== swdd-a [ns sw] swdd-b ==veth== swdd-s [ns sink]
#     swgen x GENS on GEN_CPU   port 1, 10.77.0.1/24   port 2           counted by XDP
#
# The generators (swgen live frames, 60-byte UDP from 10.77.0.2 to 10.77.0.1 port 9, to
# swdd-a's MAC) run on GEN_CPU. swdd-a has GRO on and threaded NAPI, its NAPI thread pinned to
# XDP_CPU: every XDP program on it, and the kernel stack behind it, run there, on both sides
# of every comparison. swd runs with ports in wait=poll mode, its thread on XDP_CPU.
#
# Points (each: WARMUP s of traffic, then RUNS windows of WINDOW s, the median reported; a
# window during which other processes used more than MAX_OTHER % of a CPU is measured again):
#  (1) min drop:    swd_xdp_count_drop (bpf/swgen_tx.bpf.c: one per-CPU counter, XDP_DROP),
#                   and swd_xdp_count_drop_read, which also reads the first 40 bytes of the
#                   frame (the cache misses any classifier pays), with 1 flow and 1M flows:
#                   with more than one flow the generator writes each frame it sends, and
#                   reading it costs more (the swd points with many flows are compared to F=1M)
#  (1p) paired:   PAIRED rounds (default 5) of one window each of the minimal drop, the minimal
#                   drop that reads the headers and swd with 1 exact drop rule, 1 flow: the aim
#                   "1 exact rule >= 0.85x the minimal drop" uses the median of the rounds'
#                   ratios, which the machine's drift over minutes does not bias; the reading
#                   program's ratio is the ceiling of any program that classifies on headers
#  (1i) inline:     the same comparison where each CPU receives what it sends: a second veth
#                   pair (swdd-gi/swdd-i) with a receive queue per CPU and NAPI not threaded, one
#                   generator per CPU; the veth runs the receiving XDP program in the sending
#                   CPU's softirq right after each batch (no ring overflows, no page returned
#                   across CPUs), so a rate is 1 / (generator + veth + program) per CPU, the
#                   way the seed's xsknf figures (bare drop ~12 Mpps here) are comparable.
#                   PAIRED rounds of min drop, reading headers, swd 1 exact rule (1 flow); then
#                   swd with 1K and 100K exact rules (as many flows) and the minimal drop with
#                   100K flows
#  (2) swd drop:    swd --profile hybrid, N drop rules with placement=xdp, N = 1, 1K, 100K, 1M:
#                   exact: udp,in_port=1,nw_src=S+k,nw_dst=10.77.0.1,tp_src=(1024+k)%65536,
#                          tp_dst=9 (k < N), flows = N (swgen --vary src-ip,src-port), every rule hit
#                   prefix: udp,nw_src=P+256k/24 (k < N), flows = min(256 N, 1M) over src-ip
#                   rate = the dispatcher's drop_rule counter; a frame that matched no rule would
#                   count as drop_no_rule, which is checked to stay 0
#  (2b) userdrop:   the exact rules of (2) with placement=user: user space drops them (AF_XDP
#                   copy mode, poll mode, on the NAPI's CPU); rate = port 1's drop_action
#  (3) local:       UDP to a socket on 10.77.0.1:9 in ns sw (nc -u -l, stopped once it listens:
#                   what its buffer cannot hold overflows it); rate = Udp InDatagrams + RcvbufErrors
#                   of ns sw, i.e. datagrams the stack delivered to the socket:
#                   no program / swd_xdp_count_pass / swd with udp,tp_dst=9,actions=local
#                   (hybrid: the rule runs in XDP, XDP_PASS); then PAIRED rounds of one window
#                   of no program and one of swd. On the veth of (1i) with GRO on, one
#                   generator on GEN_CPU: program and stack run in its softirq after each batch
#                   (on swdd-a, fed across CPUs, every program and none fell in two modes)
#  (4) pass-through: in_port=1,actions=output:2, counted by swd_xdp_count_drop on swdd-s:
#                   swd hybrid (the rule runs in user space: AF_XDP copy mode, the path of
#                   issue 3) against swd --profile all-xdp (XDP_REDIRECT through the devmap);
#                   and in_port=1,actions=in_port in all-xdp (XDP_TX back to swdd-g, counted
#                   there by swd_xdp_count_drop)
#  (6) mixed:       the study's Figure 21 on veth: 20 flows (source ports 1024-1043), of which
#                   D% are dropped by exact rules udp,in_port=1,tp_src=P,actions=drop and the
#                   rest forwarded by in_port=1,actions=output:2, D = 0, 25, 50, 75, 90, 100;
#                   profiles all-user, hybrid, all-xdp and adaptive (--adaptive-sustain 1,
#                   swctl calibrate 1.5 s into its warm-up as for (7), the warm-up long enough
#                   for the moves: max(WARMUP, 5) s); rate = frames handled
#                   = counted on swdd-s + dropped by rules in XDP + dropped in user space.
#                   RUNS rounds of one window per profile (swd started for each), the
#                   profiles in turn; a point's figure is the median of its rounds.
#                   On the veth of (1i) with one generator, on GEN_CPU: the XDP program runs
#                   in that CPU's softirq after each batch, swd's thread has XDP_CPU to itself.
#                   On swdd-a (threaded NAPI on XDP_CPU, fed from GEN_CPU) the rate of one
#                   placement fell in two modes, 2.5-3.6 or 5.2-9.8 Mpps (in the slow one that
#                   CPU spent its time in spin locks and returning the frames' pages across
#                   CPUs to the generator's page pool); here a window's rate is steady
#  (8) together:    all-xdp: the firewall (1K exact rules) and the LB (1K sessions), each alone
#                   and next to the other's rules plus 100 prefix and 1K exact drop rules that its
#                   traffic never meets (issue 5: every NF within 10 % of itself alone)
#  (7) calib:       swd --profile calibrated: swctl calibrate 1.5 s into the warm-up, under the
#                   point's traffic, then the windows; the exact firewall of (2) (placement=auto)
#                   at R = 1, 1K, 100K (rate: drops in XDP + in user space) and the LB of (5) at
#                   S = 1, 1K, 100K; and the mixed chain of (6) as a fifth profile. Compared with
#                   the faster static placement of the same run
#  (9) ct:          a stateful firewall: in_port=1,udp,actions=ct(commit),output:2 (the
#                   generator's flows are the inside's connections: committed by their first
#                   packet, established after) with C = 1, 1K, 100K connections, tracked in XDP
#                   (all-xdp) and in user space (hybrid), each against the same rule without
#                   ct(commit) and no ct_state rule (stateless) in the same profile; counted on
#                   swdd-s
#  (5) lb:          lb_pool=web, vip=10.77.0.1:9/udp, 3 backends behind swdd-b; the rule
#                   udp,nw_dst=10.77.0.1,tp_dst=9,actions=lb(web),output:2 with S = 1, 1K,
#                   100K, 1M sessions (swgen flows): in XDP (all-xdp) and in user space
#                   (hybrid: AF_XDP, poll mode, the NAPI's CPU); counted on swdd-s. Every
#                   flow's session is made in the warm-up and the windows that follow: a flow
#                   comes round again every S / rate seconds
#  (5i) lbinline:   the LB of (5) on the veth of (1i) (each CPU receives what it sends), all-xdp,
#                   lb(web),in_port: XDP_TX back to the generator's veth, counted there by
#                   swd_xdp_count_drop, S = 1, 1K, 100K; against the same with in_port alone (no
#                   LB). The setting in which the seed's xsknf measured its XDP LB (7.5 / 7.4 /
#                   1.7 Mpps)
#
# Environment: RUNS (3), WINDOW (s, 3), WARMUP (s, 2), GEN_CPU (0), XDP_CPU (1), GENS (2),
# MAX_OTHER (%, 5), PROG_STATS (1: kernel.bpf_stats_enabled during the run, and each point
# also prints the XDP program's own time per run on swdd-a, in place; the statistics add ~20-30
# ns to every run), RESULTS (a file to append "POINT<TAB>MIN<TAB>MEDIAN<TAB>MAX" lines to, for
# tests/bench/plot.sh), PAIRED (rounds of (1p), (1i) and (3), 5), MIXED_SHARES (the drop shares
# of (6), "0 25 50 75 90 100"), ONLY (any of "min paired
# inline drop prefix userdrop local pass lb lbinline calib together ct mixed"). Holds the lab lock for the
# whole run. On any exit it stops the processes it started and deletes its namespaces.
# Exit status 0 when the benchmark ran (the aims print pass or FAIL), 1 when it could not.
set -Eeuo pipefail
export LC_ALL=C
bench_name=dispatcher

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-build}
if [[ ! -d $build && -d $root/$build ]]; then
    build=$root/$build
fi
build=$(cd "$build" 2>/dev/null && pwd) || { echo "dispatcher.sh: no build directory '${1:-build}'" >&2; exit 1; }
runs=${RUNS:-3}
window=${WINDOW:-3}
warmup=${WARMUP:-2}
gen_cpu=${GEN_CPU:-0}
xdp_cpu=${XDP_CPU:-1}
gens=${GENS:-2}
only=" ${ONLY:-min paired inline drop prefix userdrop local pass lb lbinline calib together ct mixed} "
paired=${PAIRED:-5}
only=${only//,/ }
[[ $gens =~ ^[1-4]$ ]] || { echo "dispatcher.sh: GENS must be 1-4" >&2; exit 1; }
[[ $runs =~ ^[1-9][0-9]?$ ]] || { echo "dispatcher.sh: RUNS must be 1-99" >&2; exit 1; }
[[ $paired =~ ^[0-9]+$ ]] || { echo "dispatcher.sh: PAIRED must be a number" >&2; exit 1; }
[[ $gen_cpu =~ ^[0-9]+$ && $xdp_cpu =~ ^[0-9]+$ && $gen_cpu != "$xdp_cpu" && $xdp_cpu -lt $(nproc) &&
    $gen_cpu -lt $(nproc) ]] || { echo "dispatcher.sh: GEN_CPU and XDP_CPU: two different CPUs" >&2; exit 1; }

swd=$build/tools/swd
swctl=$build/tools/swctl
swgen=$build/tools/swgen
progs=$build/bpf/swgen_tx.bpf.o
for b in "$swd" "$swctl" "$swgen" "$progs"; do
    [[ -e $b ]] || { echo "dispatcher.sh: $b is missing: build first (ninja -C $build)" >&2; exit 1; }
done
for t in ip bpftool jq nc ethtool taskset awk; do
    command -v "$t" >/dev/null || { echo "dispatcher.sh: $t is not installed" >&2; exit 1; }
done

# shellcheck source=tests/bench/lib.sh
source "$here/lib.sh"

ns_gen=swdd-gen$$
ns_sw=swdd-sw$$
ns_sink=swdd-snk$$
dev_gen=swdd-g$$
dev_a=swdd-a$$
dev_b=swdd-b$$
dev_sink=swdd-s$$

for ns in "$ns_gen" "$ns_sw" "$ns_sink"; do
    ip netns add "$ns"
    namespaces+=("$ns")
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
done
ip link add "$dev_gen" netns "$ns_gen" type veth peer name "$dev_a" netns "$ns_sw"
ip link add "$dev_b" netns "$ns_sw" type veth peer name "$dev_sink" netns "$ns_sink"
ip -n "$ns_gen" link set dev "$dev_gen" up
ip -n "$ns_sw" link set dev lo up
ip -n "$ns_sw" addr add 10.77.0.1/24 dev "$dev_a"
ip -n "$ns_sw" link set dev "$dev_a" up
ip -n "$ns_sw" link set dev "$dev_b" up
ip -n "$ns_sink" link set dev "$dev_sink" up
# The generator's address, so that the stack of ns sw accepts the frames as on-link traffic.
ip -n "$ns_sw" neigh add 10.77.0.2 lladdr "$(ip -n "$ns_gen" -j link show dev "$dev_gen" | jq -r '.[0].address')" dev "$dev_a"
mac_a=$(ip -n "$ns_sw" -j link show dev "$dev_a" | jq -r '.[0].address')
# Stage (1i): a receive queue per CPU, NAPI in softirq (the veth picks the queue of the sending
# CPU, so each generator's frames are received on its own CPU).
dev_gen_inline=swdd-gi$$
dev_inline=swdd-i$$
if [[ $only == *" inline "* || $only == *" lbinline "* || $only == *" mixed "* || $only == *" local "* ]]; then
    ip link add "$dev_gen_inline" netns "$ns_gen" numtxqueues "$(nproc)" numrxqueues "$(nproc)" type veth \
        peer name "$dev_inline" netns "$ns_sw" numtxqueues "$(nproc)" numrxqueues "$(nproc)"
    ip -n "$ns_gen" link set dev "$dev_gen_inline" up
    ip -n "$ns_sw" link set dev "$dev_inline" up
    mac_inline=$(ip -n "$ns_sw" -j link show dev "$dev_inline" | jq -r '.[0].address')
fi
# What measure and start_swd use; stage (1i) points them at its veth and CPUs.
gen_dev=$dev_gen
gen_mac=$mac_a
gen_cpus_default=$(for _ in $(seq "$gens"); do echo "$gen_cpu"; done)
gen_cpus=$gen_cpus_default
port1=$dev_a
use_inline_veth() { # [CPUS]: the generators' CPUs, default every CPU
    gen_dev=$dev_gen_inline gen_mac=$mac_inline gen_cpus=${1:-$(seq 0 $(($(nproc) - 1)))} port1=$dev_inline
}
use_default_veth() { gen_dev=$dev_gen gen_mac=$mac_a gen_cpus=$gen_cpus_default port1=$dev_a; }

lb_rules() { # lb_rules MAC OUTPUT: pool web (vip 10.77.0.1:9/udp, 3 backends behind MAC) and
    # the rule that balances port 1's traffic to the vip over it and sends it out by OUTPUT
    local mac=$1
    echo "lb_pool=web, vip=10.77.0.1:9/udp, backend=10.78.0.1:9/$mac, backend=10.78.0.2:9/$mac, backend=10.78.0.3:9/$mac"
    echo "priority=10,in_port=1,udp,nw_dst=10.77.0.1,tp_dst=9,actions=lb(web),$2"
}

# NAPI of swdd-a in a thread of its own, on XDP_CPU (GRO on: veth then uses NAPI even without
# an XDP program, so "no program" runs on the same thread).
ip netns exec "$ns_sw" ethtool -K "$dev_a" gro on >/dev/null
ip netns exec "$ns_sw" sh -c "echo 1 > /sys/class/net/$dev_a/threaded"
napi_pids() { # the NAPI threads of swdd-a: kernel threads named napi/DEV-ID (15 characters at most)
    local want="napi/$dev_a-" f
    want=${want:0:15}
    for f in /proc/[0-9]*/comm; do
        [[ $(cat "$f" 2>/dev/null) == "$want"* ]] && { f=${f#/proc/}; echo "${f%/comm}"; }
    done
    return 0
}
pin_napi() {
    local p
    for p in $(napi_pids); do
        taskset -pc "$xdp_cpu" "$p" >/dev/null
    done
}
pin_napi

if [[ ${PROG_STATS:-0} == 1 ]]; then
    on_cleanup+=("sysctl -qw kernel.bpf_stats_enabled=$(sysctl -n kernel.bpf_stats_enabled)")
    sysctl -qw kernel.bpf_stats_enabled=1
fi
prog_stats() { # "RUN_TIME_NS RUN_CNT" of the XDP program on swdd-a, "0 0" without one
    local prog
    prog=$(ip -n "$ns_sw" -j -d link show dev "$dev_a" | jq '.[0].xdp.prog.id // 0')
    ((prog != 0)) || { echo "0 0"; return; }
    bpftool -j prog show id "$prog" | jq -r '"\(.run_time_ns // 0) \(.run_cnt // 0)"'
}

# --- XDP programs on a device, and their counters -------------------------------------------------
attach() { # NS DEV PROGRAM
    ip -n "$1" link set dev "$2" xdp object "$progs" program "$3"
    pin_napi # attaching may restart NAPI
}
detach() { ip -n "$1" link set dev "$2" xdp off 2>/dev/null || true; }
count_of() { # NS DEV: frames counted by the swd_xdp_count_* program on DEV
    local prog map id
    prog=$(ip -n "$1" -j -d link show dev "$2" | jq '.[0].xdp.prog.id // 0')
    ((prog != 0)) || { echo 0; return; }
    for id in $(bpftool -j prog show id "$prog" | jq '.map_ids[]'); do
        if [[ $(bpftool -j map show id "$id" | jq -r .name) == count_map ]]; then
            map=$id
        fi
    done
    bpftool -j map dump id "$map" | jq '[.[0].formatted.values[].value] | add'
}
# shellcheck disable=SC2016 # awk variables
udp_delivered() { # datagrams the stack of ns sw delivered to a socket
    ip netns exec "$ns_sw" awk '/^Udp:/ { if (!h) { for (i = 2; i <= NF; i++) col[$i] = i; h = 1 }
        else print $col["InDatagrams"] + $col["RcvbufErrors"] }' /proc/net/snmp
}

# --- swd ---------------------------------------------------------------------------------------
sock=$tmp/swd.sock
swd_pid=
start_swd() { # FLOWFILE PROFILE [SWD OPTIONS...]
    local flows=$1 profile=$2
    shift 2
    {
        echo "port=$port1, ofport=1, wait=poll"
        echo "port=$dev_b, ofport=2, wait=poll"
        cat "$flows"
    } >"$tmp/swd.txt"
    ip netns exec "$ns_sw" "$swd" --config "$tmp/swd.txt" --control "$sock" --log-level warn \
        --pmd-cpus "$xdp_cpu" --local-port none --profile "$profile" "$@" >"$tmp/swd.log" 2>&1 9>&- &
    swd_pid=$!
    started+=("$swd_pid:swd")
    local i
    for ((i = 0; i < 1200; i++)); do
        "$swctl" --control "$sock" ping >/dev/null 2>&1 && break
        alive "$swd_pid" || { cat "$tmp/swd.log" >&2; die "swd exited at start"; }
        sleep 0.05
    done
    pin_napi
}
stop_swd() {
    stop_pid "$swd_pid" swd
    forget_pid "$swd_pid"
    swd_pid=
}
xdp_counter() { # NAME: the dispatcher counter of port 1
    "$swctl" --control "$sock" --format json dump-ports | jq ".ports[] | select(.ofport == 1) | .xdp.$1"
}

# --- measurement -------------------------------------------------------------------------------
declare -A res info
# measure POINT FLOWS VARY COUNTER...: generators on, WARMUP, then windows; COUNTER is a command
# whose output grows with the frames the point handles.
measure() {
    local point=$1 flows=$2 vary=$3
    shift 3
    local gpids=() g=0 cpu r c0 c1 t0 t1 other vals=() clean=() v pids rt0=0 cnt0=0 rt1=0 cnt1=0
    pids="$swd_pid $(napi_pids)"
    # shellcheck disable=SC2086
    wait_quiet $pids
    rm -f "$tmp"/gen[0-9]*.json
    for cpu in $gen_cpus; do
        g=$((g + 1))
        ip netns exec "$ns_gen" "$swgen" --dev "$gen_dev" --dst-mac "$gen_mac" --src-ip 10.77.0.2 \
            --dst-ip 10.77.0.1 --dport 9 --flows "$flows" --vary "$vary" --cpu "$cpu" --json \
            --log-level warn >"$tmp/gen$g.json" 2>"$tmp/gen$g.err" 9>&- &
        gpids+=("$!")
        started+=("$!:swgen")
    done
    if [[ -n $calibrate_in_warmup ]]; then # the calibrated profile: measured under this traffic
        sleep 1.5
        "$swctl" --control "$sock" --format json calibrate 1 >"$tmp/calibrate.json" ||
            die "$point: swctl calibrate failed"
    fi
    sleep "$warmup"
    [[ ${PROG_STATS:-0} == 1 ]] && read -r rt0 cnt0 < <(prog_stats)
    for ((r = 0; r < 3 * runs && ${#clean[@]} < runs; r++)); do
        for g in "${gpids[@]}"; do
            running "$g" swgen || { cat "$tmp"/gen*.err >&2; die "$point: swgen stopped early"; }
        done
        # shellcheck disable=SC2086
        other_load_begin $pids "${gpids[@]}"
        c0=$("$@")
        t0=$EPOCHREALTIME
        sleep "$window"
        t1=$EPOCHREALTIME
        c1=$("$@")
        # shellcheck disable=SC2086
        other=$(other_load_end $pids "${gpids[@]}")
        v=$(awk -v a="$c0" -v b="$c1" -v s="$t0" -v e="$t1" 'BEGIN { printf "%.4f", (b - a) / (e - s) / 1e6 }')
        if ((other <= max_other)); then
            clean+=("$v")
            vals+=("$v")
        else
            vals+=("$v(other load ${other}%)")
        fi
    done
    [[ ${PROG_STATS:-0} == 1 ]] && read -r rt1 cnt1 < <(prog_stats)
    for g in "${gpids[@]}"; do
        stop_pid "$g" swgen
        forget_pid "$g"
    done
    ((${#clean[@]} > 0)) || clean=("${vals[@]%%(*}")
    info[$point]="windows ${vals[*]} Mpps; offered $(cat "$tmp"/gen[0-9]*.json 2>/dev/null |
        jq -s 'map(.mpps) | add // 0 | . * 1000 | round / 1000') Mpps"
    if [[ ${PROG_STATS:-0} == 1 ]] && ((cnt1 > cnt0)); then
        info[$point]+="; program $(((rt1 - rt0) / (cnt1 - cnt0))) ns per run in place"
    fi
    record "$point" "${info[$point]}" "${clean[@]}"
}
record() { # POINT DETAIL VALUES...: keeps the point's "min median max" of VALUES (in res, and
    # in RESULTS when set) and prints its median with DETAIL
    local point=$1 detail=$2 mn md mx
    shift 2
    res[$point]=$(median_of "$@")
    read -r mn md mx <<<"${res[$point]}"
    [[ -z ${RESULTS:-} ]] || printf '%s\t%s\t%s\t%s\n' "$point" "$mn" "$md" "$mx" >>"$RESULTS"
    echo "  $(printf '%-30s' "$point") $(printf '%7.3f' "$md") Mpps  ($detail)"
}
calibrate_in_warmup=
placed() { # what the last calibration chose, in a line
    jq -r '.calibration | "calibrated: " + ([.kinds[] | select(.rules > 0) | .kind + " in " +
        (.placed // "(as hybrid)") + " (" + (.xdp_ns | tostring) + " ns in XDP, " +
        (.user_ns | tostring) + " ns in user space)"] | join(", "))' "$tmp/calibrate.json"
}
med() { [[ -n ${res[$1]:-} ]] && cut -d' ' -f2 <<<"${res[$1]}" || echo ""; }
label() { local n=$1; n=${n/%000000/M}; n=${n/%000/K}; echo "$n"; }

echo "== dispatcher.sh: the XDP dispatcher on $dev_a (60-byte UDP) =="
echo "date:    $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "machine: $(nproc) CPUs ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), kernel $(uname -r)"
echo "tree:    $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown), build $build"
echo "setup:   $gens x swgen on CPU $gen_cpu; $dev_a's NAPI thread (and swd's thread) on CPU $xdp_cpu; warm-up $warmup s, $runs windows of $window s, median"
echo

# --- (1) minimal drop --------------------------------------------------------------------------
if [[ $only == *" min "* || $only == *" drop "* || $only == *" prefix "* ]]; then
    echo "== (1) minimal XDP_DROP (swd_xdp_count_drop) =="
    attach "$ns_sw" "$dev_a" swd_xdp_count_drop
    for flows in 1 1000000; do
        measure "min drop F=$(label $flows)" "$flows" src-ip,src-port count_of "$ns_sw" "$dev_a"
    done
    detach "$ns_sw" "$dev_a"
    attach "$ns_sw" "$dev_a" swd_xdp_count_drop_read
    for flows in 1 1000000; do # with many flows the generator writes every frame it sends
        measure "min drop reading headers F=$(label $flows)" "$flows" src-ip,src-port count_of "$ns_sw" "$dev_a"
    done
    detach "$ns_sw" "$dev_a"
fi

# --- (2) drop rules in XDP ---------------------------------------------------------------------
rules_exact() { # N FILE [PLACEMENT]
    awk -v n="$1" -v place="${3:-xdp}" 'BEGIN {
        base = 10 * 16777216 + 77 * 65536 + 2 # 10.77.0.2: flow f has source 10.77.0.2 + f
        for (k = 0; k < n; k++) {
            a = base + k
            printf "priority=20,udp,in_port=1,nw_src=%d.%d.%d.%d,nw_dst=10.77.0.1,tp_src=%d,tp_dst=9,placement=%s,actions=drop\n",
                int(a / 16777216), int(a / 65536) % 256, int(a / 256) % 256, a % 256, (1024 + k) % 65536, place
        }
    }' >"$2"
}
rules_prefix() { # N FILE: /24 source prefixes from 10.77.0.0 upwards
    awk -v n="$1" 'BEGIN {
        base = 10 * 16777216 + 77 * 65536
        for (k = 0; k < n; k++) {
            a = base + 256 * k
            printf "priority=20,udp,nw_src=%d.%d.%d.0/24,placement=xdp,actions=drop\n",
                int(a / 16777216), int(a / 65536) % 256, int(a / 256) % 256
        }
    }' >"$2"
}
user_drops() { # frames user space dropped by rules on port 1
    "$swctl" --control "$sock" --format json dump-ports |
        jq '[.ports[] | select(.ofport == 1) | .queues[].counters.drop_action // 0] | add'
}
drop_point() { # KIND N: KIND exact, prefix, or user (exact rules placed in user space)
    local kind=$1 n=$2 flows vary point miss
    if [[ $kind == user ]]; then
        rules_exact "$n" "$tmp/rules.txt" user
        point="swd drop user R=$(label "$n")"
        start_swd "$tmp/rules.txt" hybrid
        measure "$point" "$n" src-ip,src-port user_drops
        echo "    rx ring full (kernel): $("$swctl" --control "$sock" --format json dump-ports |
            jq '[.ports[] | select(.ofport == 1) | .queues[].kernel.rx_ring_full // 0] | add')"
        stop_swd
        return
    fi
    if [[ $kind == exact ]]; then
        rules_exact "$n" "$tmp/rules.txt"
        flows=$n
        vary=src-ip,src-port
    else
        rules_prefix "$n" "$tmp/rules.txt"
        flows=$((256 * n < 1000000 ? 256 * n : 1000000))
        vary=src-ip
    fi
    point="swd drop $kind R=$(label "$n")"
    start_swd "$tmp/rules.txt" hybrid
    "$swctl" --control "$sock" show | grep -m1 'XDP dispatcher' | sed 's/^/    /'
    measure "$point" "$flows" "$vary" xdp_counter drop_rule
    miss=$(xdp_counter drop_no_rule)
    echo "    table misses in XDP: $miss; to user space: $(xdp_counter to_user)"
    [[ $miss == 0 ]] || info[$point]+=" WRONG: $miss frames matched no rule"
    stop_swd
}
# --- (1p) paired rounds ------------------------------------------------------------------------
# drop_rounds NAME DEV: PAIRED rounds on DEV, each one window of the minimal drop, one of the
# minimal drop that reads the headers and one of swd with 1 exact drop rule (1 flow); sets
# rounds_read and rounds_swd (the median of the rounds' ratios to the minimal drop) and
# rounds_swd_mpps (swd's median rate).
drop_rounds() {
    local name=$1 dev=$2 k a b c ratios_read=() ratios_swd=() rates_swd=()
    rules_exact 1 "$tmp/rules1.txt"
    for ((k = 1; k <= paired; k++)); do
        attach "$ns_sw" "$dev" swd_xdp_count_drop
        RESULTS='' runs=1 measure "$name $k min" 1 src-ip,src-port count_of "$ns_sw" "$dev" >/dev/null
        detach "$ns_sw" "$dev"
        attach "$ns_sw" "$dev" swd_xdp_count_drop_read
        RESULTS='' runs=1 measure "$name $k read" 1 src-ip,src-port count_of "$ns_sw" "$dev" >/dev/null
        detach "$ns_sw" "$dev"
        start_swd "$tmp/rules1.txt" hybrid
        RESULTS='' runs=1 measure "$name $k swd" 1 src-ip,src-port xdp_counter drop_rule >/dev/null
        stop_swd
        a=$(med "$name $k min") b=$(med "$name $k read") c=$(med "$name $k swd")
        ratios_read+=("$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.4f", (a > 0 ? b / a : 0) }')")
        ratios_swd+=("$(awk -v a="$a" -v c="$c" 'BEGIN { printf "%.4f", (a > 0 ? c / a : 0) }')")
        rates_swd+=("$c")
        echo "  round $k: min drop $a Mpps, reading headers $b (${ratios_read[-1]}x), swd 1 rule $c (${ratios_swd[-1]}x)"
    done
    read -r _ rounds_read _ <<<"$(median_of "${ratios_read[@]}")"
    read -r _ rounds_swd _ <<<"$(median_of "${ratios_swd[@]}")"
    read -r _ rounds_swd_mpps _ <<<"$(median_of "${rates_swd[@]}")"
    echo "  median ratios to the minimal drop: reading headers ${rounds_read}x, swd 1 exact rule ${rounds_swd}x"
}
pair_read_median='' pair_swd_median=''
if [[ $only == *" paired "* ]] && ((paired > 0)); then
    echo
    echo "== (1p) paired: minimal drop, minimal drop reading headers, swd 1 exact rule; 1 flow, $paired rounds of one window each =="
    drop_rounds pair "$dev_a"
    pair_read_median=$rounds_read pair_swd_median=$rounds_swd
fi

# --- (1i) each CPU receives what it sends -------------------------------------------------------
inline_read_median='' inline_swd_median='' inline_swd_mpps_median=''
if [[ $only == *" inline "* ]]; then
    echo
    echo "== (1i) inline: a generator per CPU, each CPU receiving its own frames on $dev_inline; $paired paired rounds, then 1K and 100K rules =="
    use_inline_veth
    if ((paired > 0)); then
        drop_rounds inline "$dev_inline"
        inline_read_median=$rounds_read inline_swd_median=$rounds_swd inline_swd_mpps_median=$rounds_swd_mpps
    fi
    attach "$ns_sw" "$dev_inline" swd_xdp_count_drop
    measure "inline: min drop F=100K" 100000 src-ip,src-port count_of "$ns_sw" "$dev_inline"
    detach "$ns_sw" "$dev_inline"
    for n in 1000 100000; do
        rules_exact "$n" "$tmp/rules.txt"
        start_swd "$tmp/rules.txt" hybrid
        measure "inline: swd drop exact R=$(label "$n")" "$n" src-ip,src-port xdp_counter drop_rule
        [[ $(xdp_counter drop_no_rule) == 0 ]] || info["inline: swd drop exact R=$(label "$n")"]+=" WRONG: frames matched no rule"
        stop_swd
    done
    use_default_veth
fi

for kind in exact prefix user; do
    [[ ($kind == exact && $only == *" drop "*) || ($kind == prefix && $only == *" prefix "*) ||
        ($kind == user && $only == *" userdrop "*) ]] || continue
    echo
    if [[ $kind == user ]]; then
        echo "== (2b) swd: exact drop rules placed in user space (AF_XDP, poll mode, the NAPI's CPU) =="
    else
        echo "== (2) swd: $kind drop rules placed in XDP =="
    fi
    for n in 1 1000 100000 1000000; do
        drop_point "$kind" "$n"
    done
done

# --- (3) local delivery ------------------------------------------------------------------------
local_swd=()
if [[ $only == *" local "* ]]; then
    echo
    echo "== (3) local delivery to a UDP socket on 10.77.0.1:9, received on $dev_inline (one generator, CPU $gen_cpu) =="
    use_inline_veth "$gen_cpu"
    # GRO on: the veth takes the generator's frames without an XDP program too ("no program");
    # reverse-path filtering off: 10.77.0.2 is routed by swdd-a, not by this veth.
    ip netns exec "$ns_sw" ethtool -K "$port1" gro on >/dev/null
    ip netns exec "$ns_sw" sysctl -qw net.ipv4.conf.all.rp_filter=0 "net.ipv4.conf.$port1.rp_filter=0"
    ip netns exec "$ns_sw" taskset -c "$gen_cpu" nc -u -l 10.77.0.1 9 >/dev/null 9>&- &
    nc_pid=$!
    started+=("$nc_pid:nc")
    sleep 0.3
    # Stopped once it listens: the stack still delivers to its socket (once the buffer is full,
    # every datagram counts as RcvbufErrors), and no reader competes with the generators for
    # GEN_CPU, which made the points of this stage vary by 2x between runs.
    kill -STOP "$nc_pid"
    measure "local: no program" 1 src-port udp_delivered
    attach "$ns_sw" "$port1" swd_xdp_count_pass
    measure "local: minimal XDP_PASS" 1 src-port udp_delivered
    detach "$ns_sw" "$port1"
    echo "priority=10,udp,nw_dst=10.77.0.1,tp_dst=9,actions=local" >"$tmp/rules.txt"
    start_swd "$tmp/rules.txt" hybrid
    measure "local: swd (XDP_PASS rule)" 1 src-port udp_delivered
    echo "    rule: $("$swctl" --control "$sock" dump-flows | grep -o 'n_packets=[0-9]*, n_bytes=[0-9]*, runs=[a-z]*')"
    stop_swd
    # Paired rounds: one window of no program, then one of swd, so that the machine's drift
    # over minutes (windows of one point spread +-15 %) does not decide the ratio.
    for ((k = 1; k <= paired; k++)); do
        RESULTS='' runs=1 measure "local $k none" 1 src-port udp_delivered >/dev/null
        start_swd "$tmp/rules.txt" hybrid
        RESULTS='' runs=1 measure "local $k swd" 1 src-port udp_delivered >/dev/null
        stop_swd
        a=$(med "local $k none") c=$(med "local $k swd")
        local_swd+=("$(awk -v a="$a" -v c="$c" 'BEGIN { printf "%.4f", (a > 0 ? c / a : 0) }')")
        echo "  round $k: no program $a Mpps, swd $c (${local_swd[-1]}x)"
    done
    if ((paired > 0)); then
        read -r _ local_swd_median _ <<<"$(median_of "${local_swd[@]}")"
        echo "  median ratio to no program: ${local_swd_median}x"
    fi
    kill -CONT "$nc_pid"
    stop_pid "$nc_pid" nc
    forget_pid "$nc_pid"
    ip netns exec "$ns_sw" ethtool -K "$port1" gro off >/dev/null
    use_default_veth
fi

# --- (4) pass-through --------------------------------------------------------------------------
if [[ $only == *" pass "* ]]; then
    echo
    echo "== (4) pass-through $dev_a -> $dev_b, counted on $dev_sink =="
    attach "$ns_sink" "$dev_sink" swd_xdp_count_drop
    echo "priority=10,in_port=1,actions=output:2" >"$tmp/rules.txt"
    for profile in hybrid all-xdp; do
        start_swd "$tmp/rules.txt" "$profile"
        measure "pass: swd $profile" 1 src-ip,src-port count_of "$ns_sink" "$dev_sink"
        echo "    rule: $("$swctl" --control "$sock" dump-flows | grep -o 'n_packets=[0-9]*, n_bytes=[0-9]*, runs=[a-z]*')"
        stop_swd
    done
    attach "$ns_gen" "$dev_gen" swd_xdp_count_drop
    echo "priority=10,in_port=1,actions=in_port" >"$tmp/rules.txt"
    start_swd "$tmp/rules.txt" all-xdp
    measure "pass: swd all-xdp XDP_TX" 1 src-ip,src-port count_of "$ns_gen" "$dev_gen"
    stop_swd
    detach "$ns_gen" "$dev_gen"
fi

# --- (5) load balancer ------------------------------------------------------------------------
if [[ $only == *" lb "* ]]; then
    echo
    echo "== (5) load balancer: S sessions to vip 10.77.0.1:9/udp, 3 backends behind $dev_b =="
    detach "$ns_sink" "$dev_sink" # (4) leaves its counter there
    attach "$ns_sink" "$dev_sink" swd_xdp_count_drop
    mac_s=$(ip -n "$ns_sink" -j link show dev "$dev_sink" | jq -r '.[0].address')
    lb_rules "$mac_s" output:2 >"$tmp/rules.txt"
    for profile in all-xdp hybrid; do
        for n in 1 1000 100000 1000000; do
            start_swd "$tmp/rules.txt" "$profile" --lb-sessions $((2 * n + 4096))
            measure "lb: swd $profile S=$(label "$n")" "$n" src-ip,src-port count_of "$ns_sink" "$dev_sink"
            echo "    port 1's dispatcher: $("$swctl" --control "$sock" --format json dump-ports |
                jq -c '[.ports[] | select(.ofport == 1) | .xdp | to_entries[] | select(.value > 0)] | from_entries')"
            stop_swd
        done
    done
    detach "$ns_sink" "$dev_sink"
fi

# --- (5i) the load balancer where each CPU receives what it sends ---------------------------------
if [[ $only == *" lbinline "* ]]; then
    echo
    echo "== (5i) inline LB: a generator per CPU, each CPU receiving its own frames on $dev_inline; all-xdp, XDP_TX back to $dev_gen_inline, counted there =="
    use_inline_veth
    attach "$ns_gen" "$dev_gen_inline" swd_xdp_count_drop
    echo "priority=10,in_port=1,actions=in_port" >"$tmp/rules.txt"
    start_swd "$tmp/rules.txt" all-xdp
    measure "inline: XDP_TX, no LB" 1 src-ip,src-port count_of "$ns_gen" "$dev_gen_inline"
    stop_swd
    mac_gi=$(ip -n "$ns_gen" -j link show dev "$dev_gen_inline" | jq -r '.[0].address')
    lb_rules "$mac_gi" in_port >"$tmp/rules.txt"
    for n in 1 1000 100000; do
        start_swd "$tmp/rules.txt" all-xdp --lb-sessions $((2 * n + 4096))
        measure "inline: LB in XDP S=$(label "$n")" "$n" src-ip,src-port count_of "$ns_gen" "$dev_gen_inline"
        echo "    port 1's dispatcher: $("$swctl" --control "$sock" --format json dump-ports |
            jq -c '[.ports[] | select(.ofport == 1) | .xdp | to_entries[] | select(.value > 0)] | from_entries')"
        stop_swd
    done
    detach "$ns_gen" "$dev_gen_inline"
    use_default_veth
fi

# --- (7) calibrated firewall and load balancer ------------------------------------------------
fw_drops() { # frames dropped by rules on port 1, in XDP or in user space
    local ports
    ports=$("$swctl" --control "$sock" --format json dump-ports)
    jq '[.ports[] | select(.ofport == 1) | (.xdp.drop_rule // 0) + ([.queues[].counters.drop_action // 0] | add // 0)] | add' <<<"$ports"
}
if [[ $only == *" calib "* ]]; then
    echo
    echo "== (7) calibrated: swctl calibrate under the traffic, then the firewall of (2)/(2b) and the LB of (5) where it placed them =="
    for n in 1 1000 100000; do
        rules_exact "$n" "$tmp/rules.txt" auto
        start_swd "$tmp/rules.txt" calibrated
        calibrate_in_warmup=1
        measure "fw: swd calibrated R=$(label "$n")" "$n" src-ip,src-port fw_drops
        calibrate_in_warmup=
        echo "    $(placed)"
        stop_swd
    done
    detach "$ns_sink" "$dev_sink"
    attach "$ns_sink" "$dev_sink" swd_xdp_count_drop
    mac_s=$(ip -n "$ns_sink" -j link show dev "$dev_sink" | jq -r '.[0].address')
    lb_rules "$mac_s" output:2 >"$tmp/rules.txt"
    for n in 1 1000 100000; do
        start_swd "$tmp/rules.txt" calibrated --lb-sessions $((2 * n + 4096))
        calibrate_in_warmup=1
        measure "lb: swd calibrated S=$(label "$n")" "$n" src-ip,src-port count_of "$ns_sink" "$dev_sink"
        calibrate_in_warmup=
        echo "    $(placed)"
        stop_swd
    done
    detach "$ns_sink" "$dev_sink"
fi

# --- (8) each NF next to the others -----------------------------------------------------------
# The firewall (1K exact drop rules) and the LB (1K sessions), in XDP (all-xdp), each alone and
# then with the other's rules and 100 prefix drop rules of a third mask present, the traffic
# only the measured NF's: what the other rules cost it (the dispatcher searches every mask).
if [[ $only == *" together "* ]]; then
    echo
    echo "== (8) each NF alone and next to the others' rules (all-xdp) =="
    detach "$ns_sink" "$dev_sink"
    attach "$ns_sink" "$dev_sink" swd_xdp_count_drop
    mac_s=$(ip -n "$ns_sink" -j link show dev "$dev_sink" | jq -r '.[0].address')
    other_drops() { # 100 /24 prefixes and 1K exact rules that the measured traffic never meets
        for ((k = 0; k < 100; k++)); do echo "priority=15,udp,nw_src=10.$((200 + k / 256)).$((k % 256)).0/24,actions=drop"; done
        awk 'BEGIN { for (k = 0; k < 1000; k++) printf "priority=20,udp,in_port=1,nw_src=10.99.%d.%d,nw_dst=10.77.0.1,tp_src=%d,tp_dst=9,actions=drop\n", int(k / 256), k % 256, 1024 + k }'
    }
    rules_exact 1000 "$tmp/fw.txt" auto
    cp "$tmp/fw.txt" "$tmp/rules.txt"
    start_swd "$tmp/rules.txt" all-xdp
    measure "together: fw alone" 1000 src-ip,src-port xdp_counter drop_rule
    stop_swd
    { cat "$tmp/fw.txt"; lb_rules "$mac_s" output:2; other_drops; } >"$tmp/rules.txt"
    start_swd "$tmp/rules.txt" all-xdp
    measure "together: fw with the others" 1000 src-ip,src-port xdp_counter drop_rule
    stop_swd
    lb_rules "$mac_s" output:2 >"$tmp/rules.txt"
    start_swd "$tmp/rules.txt" all-xdp --lb-sessions 8192
    measure "together: lb alone" 1000 src-ip,src-port count_of "$ns_sink" "$dev_sink"
    stop_swd
    { lb_rules "$mac_s" output:2; other_drops; } >"$tmp/rules.txt"
    start_swd "$tmp/rules.txt" all-xdp --lb-sessions 8192
    "$swctl" --control "$sock" show | grep -m1 'XDP dispatcher' | sed 's/^/    /'
    measure "together: lb with the others" 1000 src-ip,src-port count_of "$ns_sink" "$dev_sink"
    stop_swd
    detach "$ns_sink" "$dev_sink"
fi

# --- (9) a stateful firewall: tracking in XDP and in user space --------------------------------
if [[ $only == *" ct "* ]]; then
    echo
    echo "== (9) stateful firewall: C connections from port 1 committed and forwarded, against stateless forwarding =="
    detach "$ns_sink" "$dev_sink"
    attach "$ns_sink" "$dev_sink" swd_xdp_count_drop
    for n in 1 1000 100000; do
        for profile in all-xdp hybrid; do
            {
                echo "priority=100,in_port=1,udp,actions=ct(commit),output:2"
                echo "priority=100,in_port=2,ct_state=+trk+est,actions=output:1"
                echo "priority=10,in_port=2,actions=drop"
            } >"$tmp/rules.txt"
            start_swd "$tmp/rules.txt" "$profile" --ct-entries $((2 * n + 4096))
            measure "ct: $profile C=$(label "$n")" "$n" src-ip,src-port count_of "$ns_sink" "$dev_sink"
            echo "    $("$swctl" --control "$sock" show | grep '^connections:')"
            stop_swd
            echo "priority=100,in_port=1,udp,actions=output:2" >"$tmp/rules.txt"
            start_swd "$tmp/rules.txt" "$profile"
            measure "ct: $profile stateless C=$(label "$n")" "$n" src-ip,src-port count_of "$ns_sink" "$dev_sink"
            stop_swd
        done
    done
    detach "$ns_sink" "$dev_sink"
fi

# --- (6) mixed drop / pass-through --------------------------------------------------------------
mixed_shares=${MIXED_SHARES:-0 25 50 75 90 100}
mixed_profiles="all-user hybrid all-xdp adaptive calibrated"
handled() { # frames forwarded to the sink or dropped by a rule, on either path
    local fwd ports
    fwd=$(count_of "$ns_sink" "$dev_sink")
    ports=$("$swctl" --control "$sock" --format json dump-ports)
    jq --argjson f "$fwd" '$f + ([.ports[] | select(.ofport == 1) | (.xdp.drop_rule // 0) + ([.queues[].counters.drop_action // 0] | add // 0)] | add)' <<<"$ports"
}
mixed_window() { # PROFILE SHARE ROUND: one window of the point, swd started for it
    local profile=$1 point="mixed: $1 D=$2% round $3" options=() point_warmup=$warmup
    if [[ $profile == adaptive ]]; then # long enough a warm-up for the moves
        options=(--adaptive-sustain 1)
        point_warmup=$((warmup > 5 ? warmup : 5))
    fi
    start_swd "$tmp/rules.txt" "$profile" "${options[@]}"
    # adaptive is calibrated like the calibrated profile: its shares and pass-through measured
    [[ $profile == calibrated || $profile == adaptive ]] && calibrate_in_warmup=1
    RESULTS='' runs=1 warmup=$point_warmup measure "$point" 20 src-port handled
    calibrate_in_warmup=
    case $profile in
    calibrated) echo "    $(placed)" ;;
    adaptive) echo "    $("$swctl" --control "$sock" show | grep '^adaptive:')" ;;
    esac
    stop_swd
}
if [[ $only == *" mixed "* ]]; then
    echo
    echo "== (6) mixed: D% of 20 flows dropped by rules, the rest forwarded $dev_inline -> $dev_b (one generator, CPU $gen_cpu) =="
    use_inline_veth "$gen_cpu"
    detach "$ns_sink" "$dev_sink"
    attach "$ns_sink" "$dev_sink" swd_xdp_count_drop
    for d in $mixed_shares; do
        {
            echo "priority=10,in_port=1,actions=output:2"
            for ((k = 0; k < d * 20 / 100; k++)); do
                echo "priority=20,udp,in_port=1,tp_src=$((1024 + k)),actions=drop"
            done
        } >"$tmp/rules.txt"
        # RUNS rounds of one window per profile, the profiles in turn: a slow spell of the host
        # (all rates down by up to 2x for some seconds, at random) then costs one window of one
        # or two profiles, not every window of one point
        for ((k = 1; k <= runs; k++)); do
            for profile in $mixed_profiles; do
                mixed_window "$profile" "$d" "$k"
            done
        done
        for profile in $mixed_profiles; do
            mapfile -t rounds < <(for ((k = 1; k <= runs; k++)); do med "mixed: $profile D=$d% round $k"; done)
            record "mixed: $profile D=$d%" "rounds ${rounds[*]}" "${rounds[@]}"
        done
    done
    detach "$ns_sink" "$dev_sink"
    use_default_veth
fi

# --- summary -----------------------------------------------------------------------------------
ratio() { [[ -n $1 && -n $2 ]] && awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }' || echo "-"; }
echo
echo "== Summary: Mpps, median of $runs windows (min-max) =="
for point in "min drop F=1" "min drop F=1M" \
    "min drop reading headers F=1" "min drop reading headers F=1M" "swd drop exact R=1" "swd drop exact R=1K" "swd drop exact R=100K" "swd drop exact R=1M" \
    "swd drop prefix R=1" "swd drop prefix R=1K" "swd drop prefix R=100K" "swd drop prefix R=1M" \
    "swd drop user R=1" "swd drop user R=1K" "swd drop user R=100K" "swd drop user R=1M" \
    "local: no program" "local: minimal XDP_PASS" "local: swd (XDP_PASS rule)" \
    "pass: swd hybrid" "pass: swd all-xdp" "pass: swd all-xdp XDP_TX" \
    "lb: swd all-xdp S=1" "lb: swd all-xdp S=1K" "lb: swd all-xdp S=100K" "lb: swd all-xdp S=1M" \
    "lb: swd hybrid S=1" "lb: swd hybrid S=1K" "lb: swd hybrid S=100K" "lb: swd hybrid S=1M" \
    "fw: swd calibrated R=1" "fw: swd calibrated R=1K" "fw: swd calibrated R=100K" \
    "together: fw alone" "together: fw with the others" "together: lb alone" "together: lb with the others" \
    "lb: swd calibrated S=1" "lb: swd calibrated S=1K" "lb: swd calibrated S=100K" \
    $(for n in 1 1K 100K; do for p in all-xdp hybrid; do echo "ct:_${p}_C=$n ct:_${p}_stateless_C=$n"; done; done) \
    $(for d in $mixed_shares; do for p in $mixed_profiles; do echo "mixed:_${p}_D=$d%"; done; done); do
    point=${point//_/ }
    [[ -n ${res[$point]:-} ]] || continue
    read -r mn md mx <<<"${res[$point]}"
    ref=
    case $point in
    "swd drop"*) # one flow, or many: then the generator writes each frame it sends
        f=1M
        [[ $point == "swd drop exact R=1" || $point == "swd drop user R=1" ]] && f=1
        ref="$(ratio "$md" "$(med "min drop F=$f")") of min drop, $(ratio "$md" "$(med "min drop reading headers F=$f")") of min drop reading headers (F=$f)" ;;
    "local"*) ref="$(ratio "$md" "$(med "local: no program")") of no program" ;;
    "pass: swd all"*) ref="$(ratio "$md" "$(med "pass: swd hybrid")") of the user-space path" ;;
    "lb: swd all-xdp S="*) ref="$(ratio "$md" "$(med "pass: swd all-xdp")") of plain all-xdp pass-through" ;;
    "mixed: adaptive D="* | "mixed: calibrated D="*)
        best=$(for p in all-user hybrid all-xdp; do med "mixed: $p D=${point##*D=}"; done | sort -g | tail -n 1)
        ref="$(ratio "$md" "$best") of the best static profile" ;;
    "fw: swd calibrated R="*)
        best=$(for p in exact user; do med "swd drop $p R=${point##*R=}"; done | sort -g | tail -n 1)
        ref="$(ratio "$md" "$best") of the faster of XDP and user space" ;;
    "ct: "*" C="*)
        if [[ $point != *stateless* ]]; then
            ref="$(ratio "$md" "$(med "${point% C=*} stateless C=${point##*C=}")") of stateless forwarding in the same profile"
            [[ $point == *all-xdp* ]] && ref+=", $(ratio "$md" "$(med "ct: hybrid C=${point##*C=}")") of tracking in user space"
        fi ;;
    "together: fw with"*) ref="$(ratio "$md" "$(med "together: fw alone")") of the firewall alone" ;;
    "together: lb with"*) ref="$(ratio "$md" "$(med "together: lb alone")") of the LB alone" ;;
    "lb: swd calibrated S="*)
        best=$(for p in all-xdp hybrid; do med "lb: swd $p S=${point##*S=}"; done | sort -g | tail -n 1)
        ref="$(ratio "$md" "$best") of the faster of XDP and user space" ;;
    esac
    printf '%-30s %7.3f (%.3f-%.3f)  %s\n' "$point" "$md" "$mn" "$mx" "$ref"
done

echo
echo "== Aims (issue 4) =="
aim() { # TEXT VALUE REF FACTOR
    if [[ -z $2 || -z $3 ]]; then
        printf '%-58s %s\n' "$1" "not measured"
        return
    fi
    awk -v w="$1" -v v="$2" -v r="$3" -v f="$4" 'BEGIN {
        printf "%-58s %.3f / %.3f = %.2fx  %s\n", w, v, r, v / r, (v >= f * r ? "pass" : "FAIL") }'
}
aim "1 exact drop rule >= 0.85x the minimal drop" "$(med "swd drop exact R=1")" "$(med "min drop F=1")" 0.85
if [[ -n $pair_swd_median ]]; then
    aim "1 exact drop rule >= 0.85x the minimal drop (paired)" "$pair_swd_median" 1 0.85
    # The ceiling of that aim: a program that only reads the headers and counts.
    aim "(ceiling: reading headers >= 0.85x the minimal drop, paired)" "$pair_read_median" 1 0.85
fi
if [[ -n $inline_swd_median ]]; then
    aim "1 exact drop rule >= 0.85x the minimal drop (paired, inline)" "$inline_swd_median" 1 0.85
    aim "(ceiling: reading headers, paired, inline)" "$inline_read_median" 1 0.85
    aim "inline: 1 exact rule > xsknf's 13 Mpps (median of the rounds)" "$inline_swd_mpps_median" 13 1
    aim "inline: 1K exact rules > xsknf's 9 Mpps" "$(med "inline: swd drop exact R=1K")" 9 1
    aim "inline: 100K exact rules > xsknf's 2.3 Mpps" "$(med "inline: swd drop exact R=100K")" 2.3 1
fi
aim "(same, against the minimal drop that reads the headers)" "$(med "swd drop exact R=1")" "$(med "min drop reading headers F=1")" 0.85
# xsknf's XDP firewall on this machine kind (issue 4): 13, 9 and 2.3 Mpps with 1, 1K and 100K
# exact rules.
aim "1 exact rule > xsknf's 13 Mpps" "$(med "swd drop exact R=1")" 13 1
aim "1K exact rules > xsknf's 9 Mpps" "$(med "swd drop exact R=1K")" 9 1
aim "100K exact rules > xsknf's 2.3 Mpps" "$(med "swd drop exact R=100K")" 2.3 1
# xsknf's AF_XDP firewall on this machine kind (issue 5): 3.7, 3.8-5 and 2.8-3.4 Mpps with 1, 1K
# and 100K rules.
aim "user-space firewall, 1 rule > xsknf's 3.7 Mpps" "$(med "swd drop user R=1")" 3.7 1
aim "user-space firewall, 1K rules > xsknf's 3.8 Mpps" "$(med "swd drop user R=1K")" 3.8 1
aim "user-space firewall, 100K rules > xsknf's 2.8 Mpps" "$(med "swd drop user R=100K")" 2.8 1
aim "local: XDP_PASS rule >= 0.9x no program" "$(med "local: swd (XDP_PASS rule)")" "$(med "local: no program")" 0.9
if ((${#local_swd[@]} > 0)); then
    aim "local: XDP_PASS rule >= 0.9x no program (paired)" "$local_swd_median" 1 0.9
fi
aim "all-xdp pass-through >= 5x the user-space path" "$(med "pass: swd all-xdp")" "$(med "pass: swd hybrid")" 5
# xsknf's XDP load balancer on this machine kind (issue 5): 7.5, 7.4 and 1.7 Mpps with 1, 1K and
# 100K sessions; its AF_XDP one 0.67, 0.66, 0.5-0.7.
aim "LB in XDP, 1 session > xsknf's 7.5 Mpps" "$(med "lb: swd all-xdp S=1")" 7.5 1
aim "LB in XDP, 1K sessions > xsknf's 7.4 Mpps" "$(med "lb: swd all-xdp S=1K")" 7.4 1
aim "LB in XDP, 100K sessions > xsknf's 1.7 Mpps" "$(med "lb: swd all-xdp S=100K")" 1.7 1
aim "inline: LB in XDP, 1 session > xsknf's 7.5 Mpps" "$(med "inline: LB in XDP S=1")" 7.5 1
aim "inline: LB in XDP, 1K sessions > xsknf's 7.4 Mpps" "$(med "inline: LB in XDP S=1K")" 7.4 1
aim "inline: LB in XDP, 100K sessions > xsknf's 1.7 Mpps" "$(med "inline: LB in XDP S=100K")" 1.7 1
aim "LB in user space, 1 session > xsknf's 0.67 Mpps" "$(med "lb: swd hybrid S=1")" 0.67 1
aim "LB in user space, 100K sessions > xsknf's 0.7 Mpps" "$(med "lb: swd hybrid S=100K")" 0.7 1
for d in $mixed_shares; do
    best=$(for p in all-user hybrid all-xdp; do med "mixed: $p D=$d%"; done | sort -g | tail -n 1)
    aim "mixed D=$d%: adaptive >= 0.95x the best static profile" "$(med "mixed: adaptive D=$d%")" "$best" 0.95
    aim "mixed D=$d%: calibrated >= 0.95x the best static profile" "$(med "mixed: calibrated D=$d%")" "$best" 0.95
done
aim "firewall with the other NFs' rules >= 0.9x alone" "$(med "together: fw with the others")" "$(med "together: fw alone")" 0.9
aim "LB with the other NFs' rules >= 0.9x alone" "$(med "together: lb with the others")" "$(med "together: lb alone")" 0.9
# issue 5: "the calibrated profile should pick the faster mode per NF and size"
for n in 1 1K 100K; do
    best=$(for p in exact user; do med "swd drop $p R=$n"; done | sort -g | tail -n 1)
    aim "firewall R=$n: calibrated >= 0.95x the faster mode" "$(med "fw: swd calibrated R=$n")" "$best" 0.95
    best=$(for p in all-xdp hybrid; do med "lb: swd $p S=$n"; done | sort -g | tail -n 1)
    aim "LB S=$n: calibrated >= 0.95x the faster mode" "$(med "lb: swd calibrated S=$n")" "$best" 0.95
done
echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg)"
