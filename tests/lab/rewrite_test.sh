#!/usr/bin/env bash
# Lab test: swd's rewrites arrive with correct checksums (root only).
#
#   tests/lab/rewrite_test.sh [BUILDDIR]      BUILDDIR defaults to build; nothing is built
#
# Host A believes in a service at 10.9.0.99 (a static neighbour entry with a MAC that nobody
# has). swd turns it into host B, statelessly, with flow rules in both directions:
#   A -> B:  udp 10.9.0.99:6000 -> mod_dl_dst:B, mod_nw_dst:10.9.0.3, mod_tp_dst:6001, dec_ttl
#            tcp 10.9.0.99:7000 -> mod_dl_dst:B, mod_nw_dst:10.9.0.2, mod_tp_dst:7001
#   B -> A:  tcp 10.9.0.2:7001  -> mod_nw_src:10.9.0.99, mod_tp_src:7000
# Checks: the UDP datagrams reach a socket on 10.9.0.3:6001 (the kernel drops bad checksums);
# a 1 MiB TCP transfer through the two-way rewrite arrives byte for byte; captures on both hosts
# (tcpdump, read back with libpcap by tests/pcap_check) show the rewritten addresses, ports and
# TTL, with every IPv4 and L4 checksum correct by full recomputation; dec_ttl on TTL 1 drops with
# the drop_ttl_expired counter. Exit 0 all passed, 1 a check failed, 77 not root (lib.sh).
source "$(dirname "$0")/lib.sh" rewrite_test "${1:-build}"

lab_two_hosts 1
ip -n "$ns_b" addr add 10.9.0.3/24 dev "$dev_b_peer"
mac_b=$(ip -n "$ns_b" -j link show dev "$dev_b_peer" | jq -r '.[0].address')
ip -n "$ns_a" neigh add 10.9.0.99 lladdr 02:00:00:00:00:99 dev "$dev_a_peer"

cat >"$lab_tmp/flows.txt" <<EOF
port=$dev_a, ofport=1
port=$dev_b, ofport=2
priority=10,in_port=1,actions=output:2
priority=10,in_port=2,actions=output:1
priority=30,udp,in_port=1,nw_dst=10.9.0.99,tp_dst=6000,actions=mod_dl_dst:$mac_b,mod_nw_dst:10.9.0.3,mod_tp_dst:6001,dec_ttl,output:2
priority=30,tcp,in_port=1,nw_dst=10.9.0.99,tp_dst=7000,actions=mod_dl_dst:$mac_b,mod_nw_dst:10.9.0.2,mod_tp_dst:7001,output:2
priority=30,tcp,in_port=2,nw_src=10.9.0.2,tp_src=7001,actions=mod_nw_src:10.9.0.99,mod_tp_src:7000,mod_dl_src:02:00:00:00:00:99,output:1
EOF
swd_start "$lab_tmp/flows.txt"

frames() { "$pcap_check_bin" "$1"; }

# ---- UDP: rewritten destination, port and TTL --------------------------------------------------
capture "$ns_b" "$dev_b_peer" "$lab_tmp/udp.pcap" "udp"
ip netns exec "$ns_b" timeout 4 nc -u -l -s 10.9.0.3 -p 6001 >"$lab_tmp/udp.out" &
lab_pids+=("$!")
nc_pid=$!
sleep 0.2
# One socket, one write per datagram (nc reads its input in chunks and may join two lines).
in_a timeout 5 bash -c 'exec 3>/dev/udp/10.9.0.99/6000
    for i in $(seq 20); do echo "datagram $i" >&3; sleep 0.01; done' || true
wait "$nc_pid" || true
stop_capture
frames "$lab_tmp/udp.pcap" >"$lab_tmp/udp.txt"
echo "UDP capture on B: $(wc -l <"$lab_tmp/udp.txt") frames, first: $(head -n 1 "$lab_tmp/udp.txt")"
check "UDP: 20 datagrams reach the socket on 10.9.0.3:6001 ($(wc -l <"$lab_tmp/udp.out") lines)" \
    test "$(wc -l <"$lab_tmp/udp.out")" = 20
check "UDP: 20 frames captured, all 10.9.0.1 -> 10.9.0.3:6001, TTL 63, checksums ok" \
    test "$(grep -cE ' ipv4 10.9.0.1 10.9.0.3 17 [0-9]+ 6001 63 ip=ok l4=ok$' "$lab_tmp/udp.txt")" = 20 \
    -a "$(wc -l <"$lab_tmp/udp.txt")" = 20

# ---- TCP: a stateless two-way NAT by flow rules -------------------------------------------------
head -c 1048576 /dev/urandom >"$lab_tmp/tcp.in"
capture "$ns_b" "$dev_b_peer" "$lab_tmp/tcp_b.pcap" "tcp"
cap_b=$cap_pid
capture "$ns_a" "$dev_a_peer" "$lab_tmp/tcp_a.pcap" "tcp"
ip netns exec "$ns_b" timeout 20 nc -l -s 10.9.0.2 -p 7001 >"$lab_tmp/tcp.out" &
lab_pids+=("$!")
nc_pid=$!
sleep 0.2
rc=0
in_a timeout 20 nc -q 1 -w 5 10.9.0.99 7000 <"$lab_tmp/tcp.in" || rc=$?
wait "$nc_pid" || true
stop_capture
cap_pid=$cap_b
stop_capture
check "TCP through the two-way rewrite: 1 MiB arrives byte for byte (nc exit $rc)" \
    cmp -s "$lab_tmp/tcp.in" "$lab_tmp/tcp.out"
frames "$lab_tmp/tcp_b.pcap" >"$lab_tmp/tcp_b.txt"
frames "$lab_tmp/tcp_a.pcap" >"$lab_tmp/tcp_a.txt"
n_b=$(wc -l <"$lab_tmp/tcp_b.txt")
n_a=$(wc -l <"$lab_tmp/tcp_a.txt")
# On B: A's segments arrive rewritten (to 10.9.0.2:7001); B's own segments leave unrewritten.
bad_b=$(awk '$2 != "ipv4" || $9 != "ip=ok" || $10 != "l4=ok" ||
    !(($3 == "10.9.0.1" && $4 == "10.9.0.2" && $7 == 7001) ||
      ($3 == "10.9.0.2" && $4 == "10.9.0.1" && $6 == 7001))' "$lab_tmp/tcp_b.txt" | wc -l)
# On A: only 10.9.0.99:7000 is ever seen, both ways.
bad_a=$(awk '$2 != "ipv4" || $9 != "ip=ok" || $10 != "l4=ok" ||
    !(($4 == "10.9.0.99" && $7 == 7000) || ($3 == "10.9.0.99" && $6 == 7000))' \
    "$lab_tmp/tcp_a.txt" | wc -l)
echo "TCP captures: $n_b frames on B, $n_a on A"
check "TCP on B: $n_b frames, to 10.9.0.2:7001 and back, checksums ok ($bad_b not)" \
    test "$n_b" -ge 100 -a "$bad_b" = 0
check "TCP on A: $n_a frames, only 10.9.0.99:7000 both ways, checksums ok ($bad_a not)" \
    test "$n_a" -ge 100 -a "$bad_a" = 0
check "TCP on A: replies carry the rewritten source MAC 02:00:00:00:00:99" \
    test "$(tcpdump -nn -e -r "$lab_tmp/tcp_a.pcap" src host 10.9.0.99 2>/dev/null | grep -vc '^.*02:00:00:00:00:99 >')" = 0

# ---- dec_ttl at TTL 1 --------------------------------------------------------------------------
ttl_drops() { swctl --format json dump-ports | jq '[.ports[] | select(.ofport == 1) | .queues[].counters.drop_ttl_expired] | add'; }
before=$(ttl_drops)
capture "$ns_b" "$dev_b_peer" "$lab_tmp/ttl.pcap" "udp"
# One nc per datagram: a single nc reading a pipe may send two lines in one datagram when the
# machine is loaded.
in_a sh -c 'sysctl -qw net.ipv4.ip_default_ttl=1 && for i in 1 2 3 4 5; do
    echo "ttl $i" | timeout 3 nc -u -q 0 -p 5999 10.9.0.99 6000; done' || true
stop_capture
after=$(ttl_drops)
check "dec_ttl on TTL 1: 5 drops counted as drop_ttl_expired ($((after - before)))" test $((after - before)) = 5
check "dec_ttl on TTL 1: nothing arrives at B ($(frames "$lab_tmp/ttl.pcap" | wc -l) frames)" \
    test "$(frames "$lab_tmp/ttl.pcap" | wc -l)" = 0

swd_stop TERM
rc=$swd_rc
check "SIGTERM: exit 0 ($rc)" test "$rc" = 0
lab_finish
