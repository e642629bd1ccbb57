#!/usr/bin/env bash
# Lab test: real-world captures, many malformed on purpose, through swd (root only).
#
#   tests/lab/malformed_test.sh [BUILDDIR] [PCAP_DIR]
#       BUILDDIR defaults to build (nothing is built); PCAP_DIR to ../shared/pcaps/real-world
#       beside the repository (the 400 captures every swd checkout is tested with).
#
# tools/swreplay injects every Ethernet frame of every capture, three times over, from host A
# into port 1, where rules rewrite, decrement TTLs and drop by TCP flags (so that the rewrite
# code meets truncated and lying headers too), and forward everything else to host B. Checks:
# swd stays up and answers; every frame swd received is accounted for (rule hits + table misses =
# rx) and malformed ones are counted; what port 2 sent arrived at host B (or its veth counted it
# dropped);
# forwarding still works afterwards (ping); SIGTERM exits 0. Run against an AddressSanitizer
# build (BUILDDIR=build-asan) it also proves no out-of-bounds access on any of these frames.
# Exit 0 all passed, 1 a check failed, 77 not root (lib.sh).
source "$(dirname "$0")/lib.sh" malformed_test "${1:-build}"
pcaps=${2:-$lab_root/../shared/pcaps/real-world}
if [[ -z ${2:-} && ! -d $pcaps ]]; then
    pcaps=/work/shared/pcaps/real-world # where the project's shared material lives
fi
[[ -d $pcaps ]] || { echo "malformed_test: no capture directory $pcaps" >&2; exit 1; }

lab_two_hosts 1
cat >"$lab_tmp/flows.txt" <<EOF
port=$dev_a, ofport=1
port=$dev_b, ofport=2
priority=10,in_port=1,actions=output:2
priority=10,in_port=2,actions=output:1
priority=20,tcp,in_port=1,tp_dst=80,actions=mod_nw_dst:10.9.0.77,mod_tp_dst:8080,output:2
priority=20,udp,in_port=1,tp_dst=53,actions=dec_ttl,mod_tp_src:5353,output:2
priority=20,ipv6,in_port=1,actions=dec_ttl,output:2
priority=20,icmp,in_port=1,actions=mod_nw_src:10.9.0.66,mod_dl_src:02:00:00:00:00:66,output:2
priority=25,icmp,in_port=1,nw_src=10.9.0.1,actions=output:2
priority=20,in_port=1,dl_vlan=1,actions=output:2
priority=30,tcp,in_port=1,tcp_flags=+syn+fin,actions=drop
EOF
swd_start "$lab_tmp/flows.txt"

rule_hits() { swctl --format json dump-flows | jq '[.flows[] | select(.match | test("in_port='"$dev_a"'")) | .n_packets] | add'; }

# Frames port 2's veth could not hand to host B (its receive backlog was full, or a frame the
# stack refuses to forward): the veth counts them as its own tx drops.
veth_drops() { ip -n "$ns_sw" -s -j link show dev "$dev_b" | jq '.[0].stats64.tx.dropped'; }

# Port 1's rx, rule hits and table misses; port 2's tx, host B's rx and the veth's drops. Read
# with read_until_stable: the last frames may still be on their way, and swd counts a flush's
# frames just before it kicks them out.
port1_counts() { echo "$(port_sum 1 rx_packets) $(rule_hits) $(port_sum 1 drop_no_rule)"; }
port2_counts() { echo "$(port_sum 2 tx_packets) $(b_rx) $(veth_drops)"; }
read -r rx0 hits0 miss0 < <(read_until_stable 20 port1_counts)
read -r tx0 b_rx0 drops0 < <(read_until_stable 30 port2_counts)
files=("$pcaps"/*.pcap)
out=$(in_a "$swreplay_bin" --dev "$dev_a_peer" --rate 20000 --loop 3 --json "${files[@]}" \
    2>"$lab_tmp/swreplay.err" || true)
echo "swreplay over ${#files[@]} captures x3: $out"
echo "files skipped: $(sort -u "$lab_tmp/swreplay.err" | grep -c 'not Ethernet' || true) not Ethernet, $(grep -vc 'not Ethernet' "$lab_tmp/swreplay.err" || true) other messages"
sent=$(jq .sent <<<"$out")
sleep 1

check "swd survived the replay" kill -0 "$swd_pid"
check "swd answers (swctl show)" swctl show
read -r rx hits miss < <(read_until_stable 20 port1_counts)
rx=$((rx - rx0)) hits=$((hits - hits0)) miss=$((miss - miss0))
malformed=$(port_sum 1 malformed)
skipped=$(port_sum 1 rewrite_skipped)
ttl=$(port_sum 1 drop_ttl_expired)
read -r tx received dropped < <(read_until_stable 30 port2_counts)
tx=$((tx - tx0)) received=$((received - b_rx0)) dropped=$((dropped - drops0))
echo "swreplay sent $sent; port 1: rx $rx, rule hits $hits, table misses $miss, malformed $malformed, rewrites skipped $skipped, TTL expired $ttl; port 2 tx $tx; host B's veth received $received, the veth dropped $dropped"
echo "kernel counters of port 1: $(ports_json | jq -c '.ports[0].queues[0].kernel'), port 2: $(ports_json | jq -c '.ports[1].queues[0].kernel')"
check "frames from swreplay arrived at swd ($rx of $sent sent, plus host A's own)" ge "$rx" $((sent * 99 / 100))
check "every frame accounted for: rule hits + misses = rx ($hits + $miss = $rx)" \
    test $((hits + miss)) = "$rx"
check "malformed frames were counted ($malformed)" ge "$malformed" 1
check "what port 2 sent arrived at host B or was counted dropped by the veth ($received + $dropped of $tx)" \
    test $((received + dropped)) = "$tx"
check "forwarding still works" in_a ping -c 3 -i 0.05 -W 2 -q "$ip_b"
swd_stop TERM
check "SIGTERM: exit 0 ($swd_rc)" test "$swd_rc" = 0
lab_finish
