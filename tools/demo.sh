#!/bin/bash
# swd lab demo (root): builds swd, then runs it between two hosts in network namespaces of its
# own and drives it with swctl while real traffic flows:
#   client (10.9.0.1) -- port 1 [swd on AF_XDP] port 2 -- server (10.9.0.2)
# ping and TCP through swd, a drop rule added and removed at run time, a stateless NAT by flow
# rules, a load balancer over three backends (one drained at run time), the traffic generator at
# full speed, counters, adaptive placement moving hot drop rules into XDP, placement by measured
# cost (swctl calibrate), queue steering (veth has no ntuple filters: the XDP search steers), a
# stateful firewall tracked in user space and then in XDP, and a clean stop. Everything it creates (namespaces, veths, XDP programs, processes) is removed on
# exit, also on failure or Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

[ -d build ] || meson setup build --buildtype=release >/dev/null
ninja -C build >/dev/null
source tests/lab/lib.sh demo build

say() { printf '\n### %s\n' "$*"; }
run() { # prints a command as typed, then runs it
    echo "\$ $*"
    "$@"
}
ctl() {
    echo "\$ swctl $*"
    swctl "$@"
}
swctl_bin_path=$swctl_bin
swctl() { "$swctl_bin_path" --control "$lab_tmp/swd.sock" "$@"; }

say "the flow language: a mistake is rejected with its position, and nothing runs"
printf 'port=eth0\nport=eth1\nip,nw_src=10.0.0.300,actions=output:eth1\n' >"$lab_tmp/broken.txt"
"$swd_bin" --check --config "$lab_tmp/broken.txt" || echo "(swd --check exit status $?)"

say "two hosts in namespaces, swd between them"
lab_two_hosts 1
client=$ns_a server=$ns_b
cat >"$lab_tmp/flows.txt" <<EOF
# swd demo: port 1 faces the client, port 2 the server.
port=$dev_a, ofport=1
port=$dev_b, ofport=2
priority=10,in_port=1,actions=output:2
priority=10,in_port=2,actions=output:1
# A service address that only swd knows: 10.9.0.99:80 is the server's port 8080.
priority=30,tcp,in_port=1,nw_dst=10.9.0.99,tp_dst=80,actions=mod_nw_dst:10.9.0.2,mod_tp_dst:8080,output:2
priority=30,tcp,in_port=2,nw_src=10.9.0.2,tp_src=8080,actions=mod_nw_src:10.9.0.99,mod_tp_src:80,output:1
EOF
cat "$lab_tmp/flows.txt"
run "$swd_bin" --check --config "$lab_tmp/flows.txt"
swd_start "$lab_tmp/flows.txt"
ctl show

say "ping and a TCP transfer from the client to the server, through swd"
ip netns exec "$client" ping -c 3 -i 0.2 "$ip_b"
head -c 4194304 /dev/urandom >"$lab_tmp/data"
transfer() { # PORT WHAT: the 4 MiB from the client to the server's PORT, checked byte for byte
    ip netns exec "$server" timeout 20 nc -l -p "$1" >"$lab_tmp/received" &
    lab_pids+=("$!")
    sleep 0.3
    ip netns exec "$client" timeout 20 nc -q 1 "$ip_b" "$1" <"$lab_tmp/data"
    wait "${lab_pids[-1]}" || true
    cmp "$lab_tmp/data" "$lab_tmp/received" && echo "$2: 4 MiB over TCP: received byte for byte"
}
transfer 5001 "client -> server"
ctl dump-flows

say "a drop rule at run time: the client's pings stop, then come back"
ctl add-flow "priority=100,icmp,in_port=1,actions=drop"
ip netns exec "$client" ping -c 3 -i 0.2 -W 1 "$ip_b" || echo "(ping exit status $?: no replies, as the rule says)"
ctl dump-flows icmp
ctl --strict del-flows "priority=100,icmp,in_port=1"
ip netns exec "$client" ping -c 2 -i 0.2 "$ip_b"

say "the service address: the client talks to 10.9.0.99:80, the server listens on 8080"
ip netns exec "$client" ip neigh add 10.9.0.99 lladdr "$(ip -n "$server" -j link show dev "$dev_b_peer" | jq -r '.[0].address')" dev "$dev_a_peer"
echo "hello from the server on port 8080" >"$lab_tmp/reply"
ip netns exec "$server" timeout 10 nc -l -p 8080 -q 1 <"$lab_tmp/reply" >/dev/null &
lab_pids+=("$!")
sleep 0.3
echo "\$ nc 10.9.0.99 80   (in the client namespace)"
echo "hello" | ip netns exec "$client" timeout 10 nc -q 2 10.9.0.99 80
wait "${lab_pids[-1]}" || true
ctl dump-flows tcp

say "a load balancer: vip 10.9.0.100:80 over three backends on the server, 10.9.1.1-3:8080"
mac_server=$(ip -n "$server" -j link show dev "$dev_b_peer" | jq -r '.[0].address')
ip netns exec "$client" ip neigh add 10.9.0.100 lladdr "$mac_server" dev "$dev_a_peer"
for i in 1 2 3; do
    ip -n "$server" addr add "10.9.1.$i/32" dev "$dev_b_peer"
    # One answer per connection, for a bounded time: each listener ends by itself.
    ip netns exec "$server" timeout 60 bash -c "for k in \$(seq 20); do
        echo 'answered by backend $i (10.9.1.$i)' | timeout 20 nc -l -s 10.9.1.$i -p 8080 -q 0 >/dev/null
        done" &
    lab_pids+=("$!")
done
cat >"$lab_tmp/lb.txt" <<EOF
lb_pool=web, vip=10.9.0.100:80/tcp, backend=10.9.1.1:8080/$mac_server, backend=10.9.1.2:8080/$mac_server, backend=10.9.1.3:8080/$mac_server
priority=40,tcp,in_port=1,nw_dst=10.9.0.100,tp_dst=80,actions=lb(web),output:2
priority=40,tcp,in_port=2,nw_src=10.9.1.0/24,tp_src=8080,actions=lb(web),output:1
EOF
cat "$lab_tmp/lb.txt"
ctl add-flows "$lab_tmp/lb.txt"
sleep 0.3
connect() { # N: N connections to the vip, each prints who answered
    local n=$1
    while ((n-- > 0)); do
        ip netns exec "$client" timeout 5 nc -w 2 10.9.0.100 80 </dev/null || true
        sleep 0.2 # the backend that answered listens again
    done
}
connect 6
ctl set-backend web 10.9.1.1:8080 state=drain
echo "(backend 1 drains: established sessions stay, new ones go to backends 2 and 3)"
connect 6
ctl show

say "the traffic generator: 2 million UDP frames of 1000 flows, at full speed, into port 1"
sink_attach "$server" "$dev_b_peer" swd_xdp_sink_drop
ip netns exec "$client" "$swgen_bin" --dev "$dev_a_peer" --count 2000000 --flows 1000 --cpu 0
sleep 0.5
echo "the server's XDP sink counted $(sink_frames) frames"
ctl dump-ports

say "adaptive placement: while rules drop most of the traffic, the hot drop rules move into XDP"
for port in $(seq 7000 7008); do
    echo "priority=50,udp,in_port=1,tp_dst=$port,actions=drop"
done >"$lab_tmp/drops.txt"
ctl add-flows "$lab_tmp/drops.txt"
ctl set placement=adaptive
echo "(7 s of UDP to ports 7000-7009: 9 of 10 frames dropped by those rules)"
ip netns exec "$client" "$swgen_bin" --dev "$dev_a_peer" --duration 7 --rate 500000 --flows 10 \
    --vary dst-port --dport 7000 --cpu 0
ctl show | grep -E '^(placement|adaptive)'
grep 'adaptive:' "$lab_tmp/swd.log" || true
ctl dump-flows udp,tp_dst=7000
ctl set placement=hybrid

say "measured placement: swctl calibrate times both paths on this machine, under this traffic"
ctl set placement=calibrated
ip netns exec "$client" "$swgen_bin" --dev "$dev_a_peer" --duration 4 --rate 300000 --flows 10 \
    --vary dst-port --dport 7000 --cpu 0 >/dev/null &
lab_pids+=("$!")
sleep 1
ctl calibrate 1
wait "${lab_pids[-1]}" || true
echo "\$ swctl --format json dump-flows udp,tp_dst=7000 | jq -r '.flows[0].why'"
swctl --format json dump-flows udp,tp_dst=7000 | jq -r '.flows[0].why'
ctl set placement=hybrid

say "queue steering: queue=N asks the NIC (ntuple filters) for a flow on receive queue N"
ctl add-flow "priority=60,udp,in_port=1,tp_dst=9000,queue=0,actions=output:2"
ctl dump-flows udp,tp_dst=9000
echo "\$ swctl --format json dump-flows udp,tp_dst=9000 | jq -r '.flows[0].steering_detail'"
swctl --format json dump-flows udp,tp_dst=9000 | jq -r '.flows[0].steering_detail'
echo "\$ swctl show | grep steering"
swctl show | grep steering

say "a stateful firewall: the client opens TCP connections, the server may only answer"
ctl --strict del-flows "priority=60,udp,in_port=1,tp_dst=9000"
cat >"$lab_tmp/fw.txt" <<EOF
priority=200,tcp,in_port=1,actions=ct(commit),output:2
priority=200,tcp,in_port=2,ct_state=+trk+est,actions=output:1
priority=190,tcp,in_port=2,actions=drop
EOF
cat "$lab_tmp/fw.txt"
ctl add-flows "$lab_tmp/fw.txt"
# The server takes its traffic again (the generator's sink dropped it), and all-xdp forwards by
# XDP_REDIRECT, which a veth takes for its peer only with GRO on there.
ip -n "$server" link set dev "$dev_b_peer" xdp off
ip netns exec "$client" ethtool -K "$dev_a_peer" gro on
ip netns exec "$server" ethtool -K "$dev_b_peer" gro on
for profile in hybrid all-xdp; do
    ctl set placement=$profile
    transfer 5002 "$profile: client -> server"
    ip netns exec "$client" timeout 4 nc -l -p 5003 >/dev/null &
    lab_pids+=("$!")
    sleep 0.3
    ip netns exec "$server" timeout 3 nc -w 1 "$ip_a" 5003 </dev/null ||
        echo "$profile: server -> client refused by the firewall (nc exit status $?)"
    wait "${lab_pids[-1]}" || true
    ctl show | grep -E '^(placement|connections|xdp)'
    ctl dump-conntrack
done
grep 'connection tracking' "$lab_tmp/swd.log" || true
ctl set placement=hybrid

say "stop swd (SIGTERM): programs detached, sockets closed, local port removed"
swd_stop TERM
echo "swd exit status $swd_rc"
echo "XDP programs left on the ports: '$(xdp_prog_id "$ns_sw" "$dev_a")$(xdp_prog_id "$ns_sw" "$dev_b")'"
echo "demo done; the namespaces are removed on exit"
