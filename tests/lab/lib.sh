# Shared by the lab tests (sourced, not run). A lab test runs as root, builds nothing, and on
# every exit (success, failure, Ctrl-C, SIGTERM) stops the processes it started (by PID) and
# deletes the namespaces it created, which removes their veths and XDP programs.
#
#   source "$(dirname "$0")/lib.sh" NAME [BUILDDIR]
#
# The topology of lab_two_hosts: swd runs in namespace $ns_sw on two veths, port 1 ($dev_a) and
# port 2 ($dev_b); their peers $dev_a_peer (10.9.0.1/24, namespace $ns_a) and $dev_b_peer
# (10.9.0.2/24, namespace $ns_b) are hosts that talk through swd. The addresses exist only inside
# those namespaces; nothing is routed anywhere else.
#
# Exit status: 0 all checks passed, 1 a check failed, 77 skipped (not root) unless
# SWD_REQUIRE_ROOT_TESTS=1, which turns the skip into a failure.
set -Eeuo pipefail
export LC_ALL=C

lab_name=$1
lab_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
lab_build=${2:-build}
if [[ ! -d $lab_build && -d $lab_root/$lab_build ]]; then
    lab_build=$lab_root/$lab_build
fi
lab_build=$(cd "$lab_build" 2>/dev/null && pwd) || {
    echo "$lab_name: no build directory '${2:-build}'" >&2
    exit 1
}
# A sanitizer build (address, undefined) runs swd several times slower: speed floors of the
# tests are lower there.
lab_sanitized=0
if [[ $(meson introspect --buildoptions "$lab_build" 2>/dev/null |
    jq -r '.[] | select(.name == "b_sanitize") | .value' 2>/dev/null) =~ address|undefined ]]; then
    lab_sanitized=1
fi
swd_bin=$lab_build/tools/swd
swctl_bin=$lab_build/tools/swctl
swgen_bin=$lab_build/tools/swgen
swreplay_bin=$lab_build/tools/swreplay
pcap_check_bin=$lab_build/tests/pcap_check
sink_obj=$lab_build/bpf/swgen_tx.bpf.o

if [[ $(id -u) != 0 ]]; then
    if [[ ${SWD_REQUIRE_ROOT_TESTS:-0} == 1 ]]; then
        echo "$lab_name: FAIL: needs root (network namespaces, XDP) and SWD_REQUIRE_ROOT_TESTS=1" >&2
        exit 1
    fi
    echo "$lab_name: SKIP: needs root (network namespaces, XDP)"
    exit 77
fi
for t in ip bpftool jq tcpdump timeout ethtool nc ping flock; do
    command -v "$t" >/dev/null || { echo "$lab_name: $t not installed (tools/install-deps.sh)" >&2; exit 1; }
done
for f in "$swd_bin" "$swctl_bin" "$swgen_bin" "$swreplay_bin" "$pcap_check_bin" "$sink_obj"; do
    [[ -e $f ]] || { echo "$lab_name: $f missing: build first (ninja -C $lab_build)" >&2; exit 1; }
done

# Tests that drive traffic through swd pin its polling thread (--pmd-cpus "$lab_pmd_cpu") and
# the generator (swgen --cpu "$lab_gen_cpu") to different CPUs: a polling thread that takes turns
# with a spinning generator on one CPU loses frames to an empty fill ring (the kernel counts them;
# the tests count frames exactly). swd then keeps its control thread off the polling CPU.
lab_pmd_cpu=1
lab_gen_cpu=0

lab_tmp=$(mktemp -d "/tmp/$lab_name.XXXXXX")
lab_namespaces=()
lab_pids=()
swd_pid=
lab_failures=0

lab_cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    local p
    for p in ${swd_pid:+"$swd_pid"} "${lab_pids[@]}"; do
        kill "$p" 2>/dev/null || continue
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    for n in "${lab_namespaces[@]}"; do
        ip netns del "$n" 2>/dev/null || true
    done
    if [[ $rc != 0 && -s $lab_tmp/swd.log ]]; then
        echo "--- last lines of the swd log ---"
        tail -n 20 "$lab_tmp/swd.log"
    fi
    rm -rf "$lab_tmp"
    exit "$rc"
}
trap lab_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Lab tests and benchmarks take turns: they share the two CPUs and the measurements.
exec 9>/run/lock/swd-lab.lock
flock 9

pass() { echo "PASS: $*"; }
fail() {
    echo "FAIL: $*"
    lab_failures=$((lab_failures + 1))
}
check() { # check "description" command...
    local what=$1
    shift
    if "$@"; then pass "$what"; else fail "$what"; fi
}
# read_until_stable TRIES CMD...: runs CMD every 0.2 s until two outputs in a row agree (at most
# TRIES runs) and prints the last. For counters read one after the other: a host's own frames (ARP,
# IPv6 neighbour discovery) or frames still in flight may move one between the reads of the others.
read_until_stable() {
    local tries=$1 now prev=""
    shift
    for _ in $(seq "$tries"); do
        now=$("$@")
        [ "$now" = "$prev" ] && break
        prev=$now
        sleep 0.2
    done
    echo "$now"
}
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; }
between() { awk -v x="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(x >= lo && x <= hi) }'; }
lab_finish() {
    if ((lab_failures > 0)); then
        echo "$lab_name: $lab_failures check(s) FAILED"
        exit 1
    fi
    echo "$lab_name: all checks passed"
}

lab_ns_add() {
    local n
    for n in "$@"; do
        ip netns add "$n"
        lab_namespaces+=("$n")
        ip -n "$n" link set lo up
    done
}

# lab_two_hosts [QUEUES]: the topology described above, with QUEUES rx/tx queues per veth.
lab_two_hosts() {
    local q=${1:-1}
    ns_sw=swl-sw$$
    ns_a=swl-a$$
    ns_b=swl-b$$
    dev_a=swl-a0-$$
    dev_b=swl-b0-$$
    dev_a_peer=swl-a1-$$
    dev_b_peer=swl-b1-$$
    ip_a=10.9.0.1
    ip_b=10.9.0.2
    lab_ns_add "$ns_sw" "$ns_a" "$ns_b"
    ip link add "$dev_a" netns "$ns_sw" numrxqueues "$q" numtxqueues "$q" type veth \
        peer name "$dev_a_peer" netns "$ns_a" numrxqueues "$q" numtxqueues "$q"
    ip link add "$dev_b" netns "$ns_sw" numrxqueues "$q" numtxqueues "$q" type veth \
        peer name "$dev_b_peer" netns "$ns_b" numrxqueues "$q" numtxqueues "$q"
    # The switch ports carry only what swd sends: no IPv6 chatter of the switch host's own.
    ip netns exec "$ns_sw" sysctl -qw "net.ipv6.conf.$dev_a.disable_ipv6=1" "net.ipv6.conf.$dev_b.disable_ipv6=1"
    ip -n "$ns_sw" link set "$dev_a" up
    ip -n "$ns_sw" link set "$dev_b" up
    ip -n "$ns_a" addr add "$ip_a/24" dev "$dev_a_peer"
    ip -n "$ns_b" addr add "$ip_b/24" dev "$dev_b_peer"
    ip -n "$ns_a" link set "$dev_a_peer" up
    ip -n "$ns_b" link set "$dev_b_peer" up
    # A veth hands its peer partial checksums (CHECKSUM_PARTIAL) unless tx offload is off, and
    # AF_XDP in copy mode forwards the bytes as they are: the hosts must fill in checksums.
    ip netns exec "$ns_a" ethtool -K "$dev_a_peer" tx off >/dev/null
    ip netns exec "$ns_b" ethtool -K "$dev_b_peer" tx off >/dev/null
}

# In the foreground only: in the background, $! would be a subshell (use ip netns exec there).
in_a() { ip netns exec "$ns_a" "$@"; }
in_b() { ip netns exec "$ns_b" "$@"; }
in_sw() { ip netns exec "$ns_sw" "$@"; }
# Frames that host A's (B's) veth received.
a_rx() { ip -n "$ns_a" -s -j link show dev "$dev_a_peer" | jq '.[0].stats64.rx.packets'; }
b_rx() { ip -n "$ns_b" -s -j link show dev "$dev_b_peer" | jq '.[0].stats64.rx.packets'; }
# Frames that host A's veth could not hand to the switch host (its peer's ring was full).
a_tx_dropped() { ip -n "$ns_a" -s -j link show dev "$dev_a_peer" | jq '.[0].stats64.tx.dropped'; }
swctl() { "$swctl_bin" --control "$lab_tmp/swd.sock" "$@"; }

# swd_start FLOWFILE [SWD OPTIONS...]: starts swd in $ns_sw and waits until it answers.
swd_start() {
    local flows=$1
    shift
    rm -f "$lab_tmp/swd.sock"
    # Not through in_sw: $! must be the PID of swd itself (ip netns exec execs it), not of a
    # subshell that a signal would end while swd lives on.
    ip netns exec "$ns_sw" "$swd_bin" --config "$flows" --control "$lab_tmp/swd.sock" --log-level info "$@" \
        >>"$lab_tmp/swd.log" 2>&1 &
    swd_pid=$!
    for _ in $(seq 100); do
        if swctl ping >/dev/null 2>&1; then
            return 0
        fi
        kill -0 "$swd_pid" 2>/dev/null || break
        sleep 0.05
    done
    echo "$lab_name: swd did not start:" >&2
    tail -n 20 "$lab_tmp/swd.log" >&2
    return 1
}

# swd_stop [SIGNAL]: stops swd and waits for it; its exit status is left in swd_rc. (Not in
# a $(...) subshell, which cannot wait for swd.)
swd_stop() {
    kill -"${1:-TERM}" "$swd_pid"
    swd_rc=0
    wait "$swd_pid" || swd_rc=$?
    swd_pid=
}

# swd's counters, read through swctl.
flows_json() { swctl --format json dump-flows; }
ports_json() { swctl --format json dump-ports; }
# rule_field MATCH FIELD: a field of the rule whose match is exactly MATCH.
rule_field() { flows_json | jq -r --arg m "$1" --arg f "$2" '.flows[] | select(.match == $m) | .[$f]'; }
# rule PRIORITY FIELD: a field of the rule of that priority.
rule() { flows_json | jq -r --argjson p "$1" --arg f "$2" '.flows[] | select(.priority == $p) | .[$f]'; }
# port_sum OFPORT COUNTER: a user-space counter of the port, summed over its queues.
port_sum() { ports_json | jq --argjson p "$1" --arg c "$2" '[.ports[] | select(.ofport == $p) | .queues[].counters[$c]] | add'; }
# xdp_counter OFPORT NAME: a counter of the port's XDP dispatcher (0 when it has none).
xdp_counter() { ports_json | jq --argjson p "$1" --arg c "$2" '[.ports[] | select(.ofport == $p) | .xdp[$c] // 0] | add'; }
# socket_drops OFPORT: frames the kernel could not hand to the port's AF_XDP sockets (no free
# frame in a fill ring, or a full receive ring), summed over its queues.
socket_drops() { ports_json | jq --argjson p "$1" '[.ports[] | select(.ofport == $p) | .queues[].kernel | .rx_dropped + .rx_ring_full] | add'; }

# capture NS DEV FILE FILTER: tcpdump in the background, until stop_capture. Immediate mode: a
# capture stopped soon after the traffic must not leave frames in the ring's unfinished block.
capture() {
    ip netns exec "$1" tcpdump -i "$2" -nn -U --immediate-mode -w "$3" "$4" 2>"$3.log" &
    lab_pids+=("$!")
    cap_pid=$!
    for _ in $(seq 100); do grep -q listening "$3.log" && return 0; sleep 0.05; done
    echo "$lab_name: tcpdump did not start: $(cat "$3.log")" >&2
    return 1
}
stop_capture() {
    sleep 0.3
    kill -INT "$cap_pid"
    wait "$cap_pid" || true
}

# XDP program id attached to DEV in NS (empty when none).
xdp_prog_id() { ip -n "$1" -j -d link show dev "$2" | jq -r '.[0].xdp.prog.id // empty'; }

# Attaches a counting sink (XDP, from bpf/swgen_tx.bpf.c) to DEV in NS: swd_xdp_sink counts and
# passes frames to the kernel, swd_xdp_sink_drop counts and drops. Sets sink_stats and sink_flows
# to the ids of its maps.
sink_attach() { # sink_attach NS DEV PROGRAM
    ip -n "$1" link set dev "$2" xdp off
    ip -n "$1" link set dev "$2" xdp object "$sink_obj" program "$3"
    local id
    sink_stats=
    sink_flows=
    for id in $(bpftool -j prog show id "$(xdp_prog_id "$1" "$2")" | jq '.map_ids[]'); do
        case $(bpftool -j map show id "$id" | jq -r .name) in
        sink_stats_map) sink_stats=$id ;;
        sink_flows_map) sink_flows=$id ;;
        esac
    done
    [[ -n $sink_stats && -n $sink_flows ]] || { echo "$lab_name: sink maps not found" >&2; exit 1; }
}
sink_frames() { bpftool -j map dump id "$sink_stats" | jq '[.[0].formatted.values[].value.frames] | add'; }
# Frames the sink counted for one destination UDP/TCP port (the map keeps ports in network order).
sink_frames_to_port() {
    bpftool -j map dump id "$sink_flows" | jq --argjson p "$1" \
        '(($p % 256) * 256 + ($p / 256 | floor)) as $be
         | [.[].formatted | select(.key.dst_port == $be) | .value] | add // 0'
}
