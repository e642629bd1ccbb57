#!/usr/bin/env bash
# Lab test: the TC egress program (bpf/egress.bpf.c) with real traffic (root only).
#
#   tests/lab/egress_test.sh [BUILDDIR]      BUILDDIR defaults to build; nothing is built
#
# Topology (tests/lab/lib.sh): host A (10.9.0.1) -- port 1 [swd] port 2 -- host B (10.9.0.2).
# The switch host has an address of its own, 10.9.0.10 on port 1's veth, and runs local services
# there; what it sends leaves by port 1's veth through the TC egress program. Rules of table 0:
#   priority=0                           -> drop     (a catch-all: never applies at egress)
#   priority=400 ip to 10.9.0.10 from 1  -> local    (XDP_PASS: A reaches the local services)
#   priority=300 arp for 10.9.0.10 from 1 -> local
#   priority=101 in_port=LOCAL udp to 9999 -> drop
#   priority=102 in_port=LOCAL udp to 7001 -> mod_nw_src:10.9.0.77, output:1
#   priority=103 in_port=LOCAL udp to 7002 -> mod_tp_src:4444, output:1
#   priority=104 in_port=LOCAL udp to 7003 -> output:2 (bpf_redirect to port 2's veth)
#   priority=106 in_port=LOCAL udp to 9999 on VLAN 5 -> drop
# Checks, each on counters read before and after the traffic:
#   1. startup: a TCX link per port (log lines), the in_port=LOCAL rules run=xdp, show says the
#      egress search is on;
#   2. local service: 1 MiB from A to a TCP service on the switch host and 1 MiB back, byte for
#      byte; the local rule ran in XDP; every frame the switch host sent by port 1 went through
#      the egress program and left as a miss (no in_port=LOCAL rule matches TCP; the catch-all
#      drop does not apply);
#   3. drop: 20 datagrams from the switch host to A's port 9999 never reach A (capture on A's
#      veth), the rule and the egress drop_rule counter move by 20; 20 to port 7000 arrive;
#   4. rewrites, with the veth's checksum offload off (the stack fills in full checksums) and on
#      (CHECKSUM_PARTIAL skbs: the checksum field holds the pseudo-header sum that the device,
#      here the receiving veth's peer, would complete): A's capture, read by tests/pcap_check,
#      shows the new source address or port, IP checksums right, L4 checksums right (off) or a
#      partial checksum that matches the new pseudo-header (on);
#   5. redirect: datagrams to A's port 7003 leave by port 2 instead: B's capture has them, A's
#      has none, the redirect counter moved, and port 2's egress program let them leave without
#      searching them again (the tc_index mark);
#   5b. VLAN: frames of the switch host's reach port 1's egress with a VLAN tag in the skb's
#      metadata (as from a VLAN device over the port; see the setup below): an
#      in_port=LOCAL,dl_vlan=5 drop rule stops datagrams to 9999 (A's capture never has them),
#      others arrive;
#   6. run-time changes: `swctl add-flow` of an egress drop rule stops datagrams to port 6000,
#      `swctl del-flows` lets them through again; with every in_port=LOCAL rule deleted the program
#      goes idle (idle_pass moves, nothing is searched);
#   7. SIGTERM and SIGKILL: the TCX links and programs that swd logged are gone, no tc qdisc or
#      filter is left on the ports.
#
# Exit 0 all passed, 1 a check failed, 77 not root (see lib.sh).
source "$(dirname "$0")/lib.sh" egress_test "${1:-build}"

lab_two_hosts 1
ip_sw=10.9.0.10
ip_alias=10.9.0.77
ip -n "$ns_sw" addr add "$ip_sw/24" dev "$dev_a"
# VLAN 5: frames of the switch host's that reach port 1's egress hook with the tag in the skb's
# metadata, as a VLAN device with transmit offload hands them over. This kernel has neither VLAN
# devices nor act_vlan, so a veth of the switch host's (addresses of VLAN 5's subnet, a static
# neighbour for A) carries a classifier that pushes the tag (bpf/lab_vlan.bpf.c, bpf_skb_vlan_push)
# and mirred hands every frame to port 1's egress.
vlan=5
ip_sw_vlan=10.9.5.10
ip_a_vlan=10.9.5.1
dev_v=swl-v0-$$
lab_vlan_obj=$lab_build/bpf/lab_vlan.bpf.o
[[ -e $lab_vlan_obj ]] || { echo "$lab_name: $lab_vlan_obj missing: build first" >&2; exit 1; }
ip -n "$ns_sw" link add "$dev_v" type veth peer name "swl-v1-$$"
ip -n "$ns_sw" addr add "$ip_sw_vlan/24" dev "$dev_v"
ip -n "$ns_sw" link set "$dev_v" up
ip -n "$ns_sw" link set "swl-v1-$$" up
mac_a=$(ip -n "$ns_a" -j link show dev "$dev_a_peer" | jq -r '.[0].address')
ip -n "$ns_sw" neigh add "$ip_a_vlan" lladdr "$mac_a" dev "$dev_v"
in_sw ethtool -K "$dev_v" tx off >/dev/null
in_sw tc qdisc add dev "$dev_v" clsact
in_sw tc filter add dev "$dev_v" egress bpf obj "$lab_vlan_obj" sec tc \
    action mirred egress redirect dev "$dev_a"
for n in "$ns_a" "$ns_b"; do
    ip netns exec "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
done

cat >"$lab_tmp/flows.txt" <<EOF
port=$dev_a, ofport=1
port=$dev_b, ofport=2
priority=0,actions=drop
priority=400,ip,in_port=1,nw_dst=$ip_sw,actions=local
priority=300,arp,in_port=1,arp_tpa=$ip_sw,actions=local
priority=101,udp,in_port=LOCAL,tp_dst=9999,actions=drop
priority=102,udp,in_port=LOCAL,tp_dst=7001,actions=mod_nw_src:$ip_alias,output:1
priority=103,udp,in_port=LOCAL,tp_dst=7002,actions=mod_tp_src:4444,output:1
priority=104,udp,in_port=LOCAL,tp_dst=7003,actions=output:2
priority=106,udp,in_port=LOCAL,dl_vlan=$vlan,tp_dst=9999,actions=drop
EOF

# snap c0|c1: rPRIO (rule packets), egressN_NAME (port N's TC egress counters), xdpN_NAME (N: 1, 2
# and 65534, the local port).
snap() {
    local k v
    while read -r k v; do
        if [[ $1 == c0 ]]; then c0[$k]=$v; else c1[$k]=$v; fi
    done < <(jq -rn --argjson f "$(flows_json)" --argjson p "$(ports_json)" '
        ($f.flows[] | "r\(.priority) \(.n_packets)"),
        ($p.ports[] | (.ofport | tostring) as $o
            | (.xdp | to_entries[] | "xdp\($o)_\(.key) \(.value)"),
              ((.egress // {}) | to_entries[] | "egress\($o)_\(.key) \(.value)"))')
}
declare -A c0 c1
d() { echo $((${c1[$1]:-0} - ${c0[$1]:-0})); }

# frames_to FILE PORT: pcap_check lines of the frames to UDP port PORT.
frames_to() { "$pcap_check_bin" "$1" | awk -v p="$2" '$2 == "ipv4" && $5 == 17 && $7 == p'; }
count_to() { frames_to "$1" "$2" | wc -l; }

# send_udp PORT COUNT: COUNT datagrams from the switch host's own stack to A's UDP port PORT, one
# nc each (one datagram per process: nothing is merged).
send_udp() {
    local i
    for i in $(seq "$2"); do
        echo "egress $1 $i" | in_sw timeout 3 nc -u -q 0 -s "$ip_sw" "$ip_a" "$1" 2>/dev/null || true
    done
}

# TCX links and programs that swd logged ("TC egress program attached (TCX link L, program P)").
logged_ids() { sed -n 's/.*TC egress program attached (TCX link \([0-9]*\), program \([0-9]*\)).*/\1 \2/p' "$lab_tmp/swd.log"; }
# no_program_left: none of the logged links and programs exists, no qdisc or filter on the ports.
# (The kernel frees a program after an RCU grace period: a second is allowed for that.)
no_program_left() {
    local l p dev
    while read -r l p; do
        for _ in $(seq 20); do
            bpftool link show id "$l" >/dev/null 2>&1 || bpftool prog show id "$p" >/dev/null 2>&1 || break
            sleep 0.05
        done
        bpftool link show id "$l" >/dev/null 2>&1 && { echo "link $l is still there"; return 1; }
        bpftool prog show id "$p" >/dev/null 2>&1 && { echo "program $p is still there"; return 1; }
    done < <(logged_ids)
    for dev in "$dev_a" "$dev_b"; do
        [[ -z $(in_sw tc filter show dev "$dev" egress 2>/dev/null) ]] || { echo "tc filter on $dev"; return 1; }
        in_sw tc qdisc show dev "$dev" | grep -q clsact && { echo "clsact qdisc on $dev"; return 1; }
        [[ -z $(xdp_prog_id "$ns_sw" "$dev") ]] || { echo "XDP program on $dev"; return 1; }
        [[ $(in_sw bpftool -j net show dev "$dev" | jq '.[0].xdp + .[0].tc | length') == 0 ]] ||
            { echo "bpftool net lists a program on $dev"; return 1; }
    done
    return 0
}

# ==================================================================================================
echo "== 1. startup =="
swd_start "$lab_tmp/flows.txt"
swctl show | grep -i 'profile'
swctl dump-flows --no-stats
check "a TCX link per port ($(logged_ids | wc -l) logged)" test "$(logged_ids | wc -l)" = 2
for l in $(logged_ids | awk '{ print $1 }'); do
    check "TCX link $l exists" bpftool link show id "$l"
done
check "show: the egress search is on" grep -q 'TC egress searching' <(swctl show)
for p in 101 102 103 104; do
    check "rule $p (in_port=LOCAL) runs=xdp ($(rule "$p" runs), why: $(rule "$p" why))" test "$(rule "$p" runs)" = xdp
done

# ---- 2. a local service, and the replies through the egress program ------------------------------
echo "== 2. local TCP service on the switch host =="
head -c 1048576 /dev/urandom >"$lab_tmp/up.in"
head -c 1048576 /dev/urandom >"$lab_tmp/down.in"
snap c0
ip netns exec "$ns_sw" timeout 20 nc -l -s "$ip_sw" -p 8000 >"$lab_tmp/up.out" &
up_pid=$!
lab_pids+=("$up_pid")
sleep 0.2
rc=0
in_a timeout 20 nc -q 1 -w 5 "$ip_sw" 8000 <"$lab_tmp/up.in" || rc=$?
wait "$up_pid" || true
check "A -> switch host: 1 MiB over TCP arrives byte for byte (nc exit $rc)" cmp -s "$lab_tmp/up.in" "$lab_tmp/up.out"
ip netns exec "$ns_sw" timeout 20 nc -l -q 1 -s "$ip_sw" -p 8001 <"$lab_tmp/down.in" &
down_pid=$!
lab_pids+=("$down_pid")
sleep 0.2
rc=0
in_a timeout 20 nc -w 5 -d "$ip_sw" 8001 >"$lab_tmp/down.out" || rc=$?
wait "$down_pid" || true
check "switch host -> A: 1 MiB over TCP arrives byte for byte (nc exit $rc)" cmp -s "$lab_tmp/down.in" "$lab_tmp/down.out"
sleep 0.2
snap c1
echo "local rule: +$(d r400); port 1 egress: rx +$(d egress1_rx), pass_no_rule +$(d egress1_pass_no_rule), pulled +$(d egress1_pulled), idle +$(d egress1_idle_pass); catch-all +$(d r0)"
check "the local rule ran in XDP for A's traffic ($(d r400) packets, pass_local +$(d xdp1_pass_local))" \
    test "$(d r400)" -ge 700 -a "$(d xdp1_pass_local)" -ge "$(d r400)"
check "the switch host's frames went through the egress program (rx +$(d egress1_rx), >= 100)" \
    test "$(d egress1_rx)" -ge 100
check "... and all left as misses: no in_port=LOCAL rule matches TCP, the catch-all does not apply (pass_no_rule +$(d egress1_pass_no_rule) = rx)" \
    test "$(d egress1_pass_no_rule)" = "$(d egress1_rx)"
# A frame that reached user space just before the snapshot may not be counted by its rule yet
# (it is in the socket's ring): snapshot again until the two agree (at most 2 s).
to_user_now() { echo $(($(d xdp1_to_user) + $(d xdp2_to_user) + $(d xdp65534_to_user))); }
for _ in $(seq 10); do
    [[ $(d r0) == "$(to_user_now)" ]] && break
    sleep 0.2
    snap c1
done
check "the catch-all drop rule counted only frames that came in by a port ($(d r0) = $(to_user_now) sent to user space)" \
    test "$(d r0)" = "$(to_user_now)"

# ---- 3. drop at egress ------------------------------------------------------------------------------
echo "== 3. in_port=LOCAL drop rule =="
capture "$ns_a" "$dev_a_peer" "$lab_tmp/drop.pcap" "udp and dst host $ip_a"
snap c0
arx0=$(a_rx)
send_udp 9999 20
send_udp 7000 20
stop_capture
snap c1
echo "A's veth received $(($(a_rx) - arx0)) frames; $(tail -n 3 "$lab_tmp/drop.pcap.log" | tr '\n' ' ')"
echo "rule 101: +$(d r101); port 1 egress: drop_rule +$(d egress1_drop_rule), pass_no_rule +$(d egress1_pass_no_rule); A's capture: $(count_to "$lab_tmp/drop.pcap" 9999) to 9999, $(count_to "$lab_tmp/drop.pcap" 7000) to 7000"
check "drop: nothing to port 9999 reached A ($(count_to "$lab_tmp/drop.pcap" 9999))" test "$(count_to "$lab_tmp/drop.pcap" 9999)" = 0
check "drop: the rule and drop_rule moved by 20 ($(d r101), $(d egress1_drop_rule))" \
    test "$(d r101)" = 20 -a "$(d egress1_drop_rule)" = 20
check "drop: the 20 datagrams to port 7000 arrived ($(count_to "$lab_tmp/drop.pcap" 7000))" test "$(count_to "$lab_tmp/drop.pcap" 7000)" = 20

# ---- 4. rewrites at egress, checksums ----------------------------------------------------------------
# rewrites LABEL EXPECTED_L4: datagrams to 7001 (mod_nw_src) and 7002 (mod_tp_src) at A.
rewrites() {
    local f=$lab_tmp/rw-$2.pcap
    capture "$ns_a" "$dev_a_peer" "$f" "udp and dst host $ip_a"
    snap c0
    send_udp 7001 10
    send_udp 7002 10
    stop_capture
    snap c1
    echo "$1: rules 102 +$(d r102), 103 +$(d r103); egress pass_rule +$(d egress1_pass_rule); A's capture:"
    frames_to "$f" 7001 | head -n 2
    frames_to "$f" 7002 | head -n 2
    check "$1: the rules counted 10 each ($(d r102), $(d r103)), pass_rule +$(d egress1_pass_rule)" \
        test "$(d r102)" = 10 -a "$(d r103)" = 10 -a "$(d egress1_pass_rule)" = 20
    check "$1: 10 datagrams to 7001 from $ip_alias with ip=ok l4=$2" \
        test "$(frames_to "$f" 7001 | awk -v s="$ip_alias" -v l="l4=$2" '$3 == s && $9 == "ip=ok" && $10 == l' | wc -l)" = 10
    check "$1: 10 datagrams to 7002 from port 4444 with ip=ok l4=$2" \
        test "$(frames_to "$f" 7002 | awk -v l="l4=$2" '$3 == "'"$ip_sw"'" && $6 == 4444 && $9 == "ip=ok" && $10 == l' | wc -l)" = 10
}
echo "== 4. rewrites =="
in_sw ethtool -K "$dev_a" tx off >/dev/null
rewrites "checksum offload off (full checksums)" ok
in_sw ethtool -K "$dev_a" tx on >/dev/null
rewrites "checksum offload on (CHECKSUM_PARTIAL)" partial

# ---- 5. redirect to port 2 ----------------------------------------------------------------------------
echo "== 5. output:2 at egress =="
capture "$ns_b" "$dev_b_peer" "$lab_tmp/redir_b.pcap" "udp"
cap_b=$cap_pid
capture "$ns_a" "$dev_a_peer" "$lab_tmp/redir_a.pcap" "udp"
snap c0
send_udp 7003 10
stop_capture
cap_pid=$cap_b
stop_capture
snap c1
echo "rule 104 +$(d r104); egress redirect +$(d egress1_redirect); port 2 egress: pass_redirected +$(d egress2_pass_redirected), rx +$(d egress2_rx); B's capture $(count_to "$lab_tmp/redir_b.pcap" 7003), A's $(count_to "$lab_tmp/redir_a.pcap" 7003)"
check "redirect: the rule and the redirect counter moved by 10 ($(d r104), $(d egress1_redirect))" \
    test "$(d r104)" = 10 -a "$(d egress1_redirect)" = 10
check "redirect: port 2's egress program let them leave unsearched (pass_redirected +$(d egress2_pass_redirected), rx +$(d egress2_rx))" \
    test "$(d egress2_pass_redirected)" = 10 -a "$(d egress2_rx)" = 0
check "redirect: B got the 10 datagrams ($(count_to "$lab_tmp/redir_b.pcap" 7003)), A none ($(count_to "$lab_tmp/redir_a.pcap" 7003))" \
    test "$(count_to "$lab_tmp/redir_b.pcap" 7003)" = 10 -a "$(count_to "$lab_tmp/redir_a.pcap" 7003)" = 0

# ---- 5b. VLAN: the tag the skb carries outside its data ---------------------------------------------
echo "== 5b. in_port=LOCAL,dl_vlan=$vlan drop rule (the tag in the skb's metadata) =="
capture "$ns_a" "$dev_a_peer" "$lab_tmp/vlan.pcap" ""
snap c0
for port in 9999 7000; do
    for i in $(seq 10); do
        echo "vlan $port $i" | in_sw timeout 3 nc -u -q 0 -s "$ip_sw_vlan" "$ip_a_vlan" "$port" 2>/dev/null || true
    done
done
stop_capture
snap c1
# (No capture filter: with the tag outside the data, libpcap's "vlan" filters are unreliable.)
vlan_to() { tcpdump -nn -e -r "$lab_tmp/vlan.pcap" 2>/dev/null | grep "vlan $vlan," | grep -c "> $ip_a_vlan.$1: " || true; }
echo "rule 106 +$(d r106), rule 101 +$(d r101); egress drop_rule +$(d egress1_drop_rule); A's capture on VLAN $vlan: $(vlan_to 9999) to 9999, $(vlan_to 7000) to 7000"
check "VLAN: the dl_vlan=$vlan rule (priority 106, over rule 101's 101) dropped the 10 datagrams to 9999 ($(d r106), rule 101 +$(d r101), drop_rule +$(d egress1_drop_rule))" \
    test "$(d r106)" = 10 -a "$(d r101)" = 0 -a "$(d egress1_drop_rule)" = 10
check "VLAN: none reached A ($(vlan_to 9999)); the 10 to port 7000 did ($(vlan_to 7000))" \
    test "$(vlan_to 9999)" = 0 -a "$(vlan_to 7000)" = 10

# ---- 6. run-time changes --------------------------------------------------------------------------------
echo "== 6. add-flow / del-flows at run time =="
# phase LABEL EXPECTED: 10 datagrams to 6000; EXPECTED of them must reach A.
phase() {
    capture "$ns_a" "$dev_a_peer" "$lab_tmp/rt.pcap" "udp and dst host $ip_a"
    send_udp 6000 10
    stop_capture
    check "$1: $2 of 10 datagrams to 6000 reached A ($(count_to "$lab_tmp/rt.pcap" 6000))" \
        test "$(count_to "$lab_tmp/rt.pcap" 6000)" = "$2"
}
phase "before add-flow" 10
check "add-flow of an egress drop rule" swctl add-flow "priority=105,udp,in_port=LOCAL,tp_dst=6000,actions=drop"
check "the new rule runs=xdp ($(rule 105 runs))" test "$(rule 105 runs)" = xdp
phase "after add-flow" 0
check "the new rule counted 10 ($(rule 105 n_packets))" test "$(rule 105 n_packets)" = 10
check "del-flows of the rule" swctl del-flows "udp,in_port=LOCAL,tp_dst=6000"
phase "after del-flows" 10
check "del-flows of every in_port=LOCAL rule" swctl del-flows "in_port=LOCAL"
check "show: the egress program is idle" grep -q 'TC egress idle' <(swctl show)
snap c0
send_udp 9999 5
snap c1
check "idle: 5 datagrams to 9999 pass unsearched (idle_pass +$(d egress1_idle_pass), rx +$(d egress1_rx), drop_rule +$(d egress1_drop_rule))" \
    test "$(d egress1_idle_pass)" -ge 5 -a "$(d egress1_rx)" = 0 -a "$(d egress1_drop_rule)" = 0
swctl dump-ports

# ---- 7. nothing left behind ------------------------------------------------------------------------------
echo "== 7. exit =="
swd_stop TERM
check "SIGTERM: exit 0 ($swd_rc)" test "$swd_rc" = 0
check "SIGTERM: no TCX link, program, tc filter or XDP program left ($(no_program_left || true))" no_program_left
: >"$lab_tmp/swd.log"
swd_start "$lab_tmp/flows.txt"
check "restart: a TCX link per port again ($(logged_ids | wc -l))" test "$(logged_ids | wc -l)" = 2
swd_stop KILL
check "SIGKILL: no TCX link, program, tc filter or XDP program left ($(no_program_left || true))" no_program_left
lab_finish
