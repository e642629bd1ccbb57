#!/usr/bin/env bash
# Lab test: a stateful firewall from flow rules (ct(commit), ct_state=+est), with real TCP and UDP
# sockets (root only), tracked in user space (profile hybrid) and in XDP (profile all-xdp: every
# rule of table 0 runs there, so does the tracker), and moved between them under a connection.
#
#   tests/lab/conntrack_test.sh [BUILDDIR]      BUILDDIR defaults to build; nothing is built
#
# Topology (tests/lab/lib.sh): host A (10.9.0.1) on port 1, host B (10.9.0.2) on port 2. A may open
# connections to B (its packets commit them); from B only what belongs to a committed connection
# passes (ct_state=+trk+est), and ARP both ways. Checked, in each profile:
#   - 1 MiB over TCP from A to B arrives byte for byte (B's replies, the ACKs, are admitted);
#   - B cannot open a TCP connection to A (its SYN is new: dropped), and the drop rule counts it;
#   - a UDP request from A gets B's answer; an unrequested datagram from B is dropped;
#   - swctl show counts the connections in the tracker that ran (user space's table, or XDP's
#     map and the dispatchers' ct_created counters), and not in the other;
#   - swctl dump-conntrack lists A's connections from that tracker; flush-conntrack empties it;
# then, with a TCP connection open: swctl set placement=all-xdp, then =hybrid, while A sends; every
# byte arrives (the connection is handed from one tracker to the other both ways).
# Exit 0 all passed, 1 a check failed, 77 not root (see lib.sh).
source "$(dirname "$0")/lib.sh" conntrack_test "${1:-build}"

lab_two_hosts 1
# In all-xdp the dispatcher forwards by XDP_REDIRECT, which a veth takes for its peer only when
# the peer runs NAPI (GRO on; see dispatcher_test.sh).
in_a ethtool -K "$dev_a_peer" gro on
in_b ethtool -K "$dev_b_peer" gro on

cat >"$lab_tmp/flows.txt" <<EOF
port=$dev_a, ofport=1
port=$dev_b, ofport=2
priority=100,in_port=1,ip,actions=ct(commit),output:2
priority=100,in_port=2,ct_state=+trk+est,actions=output:1
priority=50,arp,in_port=1,actions=output:2
priority=50,arp,in_port=2,actions=output:1
priority=10,in_port=2,actions=drop
EOF
rule_packets() { flows_json | jq --argjson p "$1" '[.flows[] | select(.priority == $p) | .n_packets] | add'; }
conn() { swctl --format json show | jq ".connections.$1"; }

firewall() { # firewall PROFILE: the checks above with swd in that profile
local profile=$1
swd_start "$lab_tmp/flows.txt" --profile "$profile"
echo "--- profile $profile"

# 1. A -> B over TCP: the connection is committed by A's SYN, B's answers are established.
head -c 1048576 /dev/urandom >"$lab_tmp/tcp.in"
ip netns exec "$ns_b" timeout 20 nc -l -p 5001 >"$lab_tmp/tcp.out" &
pid=$!
lab_pids+=("$pid")
sleep 0.2
rc=0
in_a timeout 20 nc -q 1 -w 5 "$ip_b" 5001 <"$lab_tmp/tcp.in" || rc=$?
wait "$pid" || true
check "A -> B: 1 MiB over TCP arrives byte for byte (sender exit $rc)" \
    cmp -s "$lab_tmp/tcp.in" "$lab_tmp/tcp.out"

# 2. B -> A over TCP: B's SYN is a new connection from the protected side: dropped.
drops_before=$(rule_packets 10)
xdp_drops_before=$(xdp_counter 2 drop_rule)
ip netns exec "$ns_a" timeout 6 nc -l -p 5002 >"$lab_tmp/back.out" &
pid=$!
lab_pids+=("$pid")
sleep 0.2
rc=0
echo "from B" | in_b timeout 4 nc -w 2 "$ip_a" 5002 || rc=$?
kill "$pid" 2>/dev/null || true
wait "$pid" || true
check "B -> A: the TCP connection is refused by the firewall (nc exit $rc, nothing arrived)" \
    test "$rc" != 0 -a ! -s "$lab_tmp/back.out"
drops_after=$(rule_packets 10)
xdp_drops_after=$(xdp_counter 2 drop_rule)
check "the drop rule counted B's SYNs ($drops_before -> $drops_after)" \
    test "$drops_after" -gt "$drops_before"

# 3. UDP: A's request commits its 5-tuple, B's answer (the reverse tuple) is admitted; B sending
# first is not.
ip netns exec "$ns_b" timeout 6 sh -c "(sleep 1; printf answer) | nc -u -l -p 5003 -w 3 >$lab_tmp/udp.req" &
pid=$!
lab_pids+=("$pid")
sleep 0.2
printf request | in_a timeout 5 nc -u -p 6003 -w 3 "$ip_b" 5003 >"$lab_tmp/udp.ans" || true
wait "$pid" || true
check "A -> B: the UDP request arrived ($(cat "$lab_tmp/udp.req" 2>/dev/null))" \
    test "$(cat "$lab_tmp/udp.req" 2>/dev/null)" = request
check "B -> A: B's answer to it was admitted ($(cat "$lab_tmp/udp.ans" 2>/dev/null))" \
    test "$(cat "$lab_tmp/udp.ans" 2>/dev/null)" = answer
ip netns exec "$ns_a" timeout 4 nc -u -l -p 6004 >"$lab_tmp/udp.stray" &
pid=$!
lab_pids+=("$pid")
sleep 0.2
printf 'stray' | in_b timeout 2 nc -u -w 1 "$ip_a" 6004 || true
sleep 0.5
kill "$pid" 2>/dev/null || true
wait "$pid" || true
check "B -> A: an unrequested UDP datagram is dropped" test ! -s "$lab_tmp/udp.stray"

# 4. What swctl says: the tracker that ran has the connections, the other none.
swctl show | grep "^connections" || true
local user_inserts xdp_created
user_inserts=$(conn inserts)
xdp_created=$(conn xdp_created)
if [ "$profile" = all-xdp ]; then
    check "all-xdp: the dispatchers track (xdp_tracks $(conn xdp_tracks))" test "$(conn xdp_tracks)" = 1
    check "all-xdp: XDP committed A's connections ($xdp_created), user space none ($user_inserts)" \
        sh -c "[ $xdp_created -ge 2 ] && [ $user_inserts = 0 ]"
    # Port 2's XDP drops moved while B sent its SYNs. (Not "by exactly the rule's count": a
    # frame that B's stack sent while swd started, as the maps were written, may show in one of
    # the two counts later than in the other; CI saw the rule +3 and XDP +2 once.)
    check "all-xdp: XDP dropped B's SYNs (drop_rule on port 2: $xdp_drops_before -> $xdp_drops_after)" \
        test "$xdp_drops_after" -gt "$xdp_drops_before"
else
    check "hybrid: user space committed A's connections ($user_inserts), XDP none ($xdp_created)" \
        sh -c "[ $user_inserts -ge 2 ] && [ $xdp_created = 0 ]"
    check "hybrid: swctl show says why XDP does not track" \
        sh -c "\"$swctl_bin\" --control \"$lab_tmp/swd.sock\" show | grep -q 'tracks connections'"
fi
# 5. dump-conntrack lists the connections A opened, from the tracker that ran; flush-conntrack
# forgets them, and B's answers to them are new again.
swctl dump-conntrack
local tracker
tracker=$(swctl --format json dump-conntrack | jq -r .tracker)
check "$profile: dump-conntrack says the tracker is $tracker" \
    test "$tracker" = "$([ "$profile" = all-xdp ] && echo xdp || echo user)"
check "dump-conntrack lists A's TCP connection to B:5001" \
    sh -c "\"$swctl_bin\" --control \"$lab_tmp/swd.sock\" --format json dump-conntrack | jq -e '.connections[] | select(.proto == \"tcp\" and .dst == \"$ip_b:5001\")' >/dev/null"
check "and its UDP request to B:5003 from port 6003" \
    sh -c "\"$swctl_bin\" --control \"$lab_tmp/swd.sock\" --format json dump-conntrack | jq -e '.connections[] | select(.proto == \"udp\" and .src == \"$ip_a:6003\" and .dst == \"$ip_b:5003\")' >/dev/null"
swctl flush-conntrack
check "flush-conntrack: nothing tracked after it" \
    test "$(swctl --format json dump-conntrack | jq .total)" = 0
swd_stop TERM
check "swd stops cleanly on SIGTERM (exit $swd_rc)" test "$swd_rc" = 0
}

firewall hybrid
firewall all-xdp

# 5. The tracker moves under an open connection: A sends 30 chunks of 32 KiB over 3 s, in
# all-xdp; at 1 s the profile becomes hybrid (user space tracks), at 2 s all-xdp again. Each move
# hands the connection over: swd says so, and XDP never commits it a second time.
echo "--- moves under a connection"
swd_start "$lab_tmp/flows.txt" --profile all-xdp
ip netns exec "$ns_b" timeout 20 nc -l -p 5005 >"$lab_tmp/move.out" &
pid=$!
lab_pids+=("$pid")
sleep 0.2
head -c $((30 * 32768)) /dev/urandom >"$lab_tmp/move.in"
(for i in $(seq 0 29); do
    dd if="$lab_tmp/move.in" bs=32768 skip="$i" count=1 status=none
    sleep 0.1
done) | in_a timeout 20 nc -q 1 -w 5 "$ip_b" 5005 &
sender=$!
lab_pids+=("$sender")
sleep 1
swctl set placement=hybrid
tracks_mid=$(conn xdp_tracks)
sleep 1
swctl set placement=all-xdp
tracks_end=$(conn xdp_tracks)
rc=0
wait "$sender" || rc=$?
wait "$pid" || true
check "the profile moved the tracker to user space ($tracks_mid) and back to XDP ($tracks_end)" \
    test "$tracks_mid/$tracks_end" = 0/1
check "the connection lived through both moves: 960 KiB arrive byte for byte (sender exit $rc)" \
    cmp -s "$lab_tmp/move.in" "$lab_tmp/move.out"
grep 'connection tracking moves to' "$lab_tmp/swd.log" || true
check "swd handed the connection to user space" \
    grep -q 'moves to user space: 1 live connections handed over' "$lab_tmp/swd.log"
check "and back to XDP" grep -q 'moves to XDP: 1 live connections handed over' "$lab_tmp/swd.log"
check "XDP committed it once, before the moves ($(conn xdp_created))" test "$(conn xdp_created)" = 1
swd_stop TERM
check "swd stops cleanly on SIGTERM (exit $swd_rc)" test "$swd_rc" = 0
lab_finish
