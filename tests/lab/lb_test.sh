#!/usr/bin/env bash
# Lab test: swd as a load balancer, in user space (profile hybrid) and in XDP (profile all-xdp),
# with real TCP clients and backends (root only).
#
#   tests/lab/lb_test.sh [BUILDDIR]      BUILDDIR defaults to build; nothing is built
#
# Topology (tests/lab/lib.sh): host A, the client (10.9.0.1), on port 1; host B on port 2 holds
# three backends, TCP servers (nc) on 10.9.1.1-3:8080. The pool's vip is 10.9.0.10:80; A reaches
# it through swd port 1's MAC, and B's replies go back through lb() too, which puts the vip
# back as their source. Checked:
#   - 30 connections to the vip each arrive, byte for byte, at exactly one backend, and every
#     backend gets some: the handshake succeeding proves the reply path's rewrite (the client
#     would reset a SYN-ACK from a backend's address);
#   - a connection that stays open keeps its backend when that backend is drained with
#     replace-flows (its second half arrives there), while no new connection goes to it;
#   - swctl set-backend ... state=up gives the drained backend new connections again;
#   - swctl set-backend at run time gives the drained backend new connections again;
#   - hybrid: swctl show counts the sessions of the user-space table; all-xdp: that table stays
#     empty and the dispatchers' redirect counters carry the traffic (XDP balanced it);
#   - swd stops cleanly.
# Exit 0 all passed, 1 a check failed, 77 not root (see lib.sh).
source "$(dirname "$0")/lib.sh" lb_test "${1:-build}"

lab_two_hosts 1

vip=10.9.0.10
mac_of() { ip -n "$1" -j link show dev "$2" | jq -r '.[0].address'; }
mac_sw_a=$(mac_of "$ns_sw" "$dev_a")
mac_sw_b=$(mac_of "$ns_sw" "$dev_b")
mac_b=$(mac_of "$ns_b" "$dev_b_peer")
# A sends to the vip through swd's port; B answers 10.9.0.1 through swd's other port.
in_a ip neigh add "$vip" lladdr "$mac_sw_a" dev "$dev_a_peer" nud permanent
in_b ip neigh add "$ip_a" lladdr "$mac_sw_b" dev "$dev_b_peer" nud permanent
for i in 1 2 3; do
    in_b ip addr add "10.9.1.$i/32" dev "$dev_b_peer"
done
# A veth takes frames that XDP_REDIRECT sends into it (profile all-xdp) only when its peer has
# NAPI: an XDP program or GRO. The hosts' ends get GRO, as a NIC would receive them anyway.
in_a ethtool -K "$dev_a_peer" gro on >/dev/null
in_b ethtool -K "$dev_b_peer" gro on >/dev/null

write_flows() { # write_flows STATE_OF_BACKEND_1 STATE_OF_BACKEND_2 STATE_OF_BACKEND_3
    cat >"$lab_tmp/flows.txt" <<EOF
port=$dev_a, ofport=1
port=$dev_b, ofport=2
lb_pool=web, vip=$vip:80/tcp, backend=10.9.1.1:8080/$mac_b/state=$1, \\
    backend=10.9.1.2:8080/$mac_b/state=$2, backend=10.9.1.3:8080/$mac_b/state=$3
priority=100,in_port=1,tcp,nw_dst=$vip,tp_dst=80,actions=lb(web),output:2
priority=100,in_port=2,tcp,nw_src=10.9.1.0/24,tp_src=8080,actions=lb(web),output:1
priority=10,in_port=1,actions=output:2
priority=10,in_port=2,actions=output:1
EOF
}
for i in 1 2 3; do
    ip netns exec "$ns_b" nc -lk -s "10.9.1.$i" -p 8080 >"$lab_tmp/backend$i.out" &
    lab_pids+=("$!")
done
sleep 0.3

# backend_of LINE: the backend whose output has LINE (empty: none; "many": more than one).
backend_of() {
    local i found=""
    for i in 1 2 3; do
        if grep -qx "$1" "$lab_tmp/backend$i.out"; then
            if [[ -z $found ]]; then found=$i; else found=many; fi
        fi
    done
    echo "$found"
}

# run_profile PROFILE: swd with that profile, the checks above; line prefixes keep the two runs'
# connections apart in the backends' outputs.
run_profile() {
    local profile=$1 k b missing moved lost back long_pid drained inserts redirects states
    local -A used=()
    echo "--- profile $profile ---"
    write_flows up up up
    swd_start "$lab_tmp/flows.txt" --profile "$profile"

    # 1. Connections spread over the backends, each arriving once.
    missing=0
    for k in $(seq 30); do
        echo "$profile request $k" | in_a timeout 5 nc -N -w 3 "$vip" 80 || true
    done
    sleep 0.3
    for k in $(seq 30); do
        b=$(backend_of "$profile request $k")
        if [[ -z $b || $b == many ]]; then
            missing=$((missing + 1))
            echo "request $k: at '${b:-no backend}'"
        else
            used[$b]=$((${used[$b]:-0} + 1))
        fi
    done
    check "$profile: 30 connections to the vip each arrived at exactly one backend ($missing did not)" \
        test "$missing" = 0
    check "$profile: every backend got connections (${used[1]:-0} / ${used[2]:-0} / ${used[3]:-0})" \
        test "${used[1]:-0}" -gt 0 -a "${used[2]:-0}" -gt 0 -a "${used[3]:-0}" -gt 0

    # 2. A connection that stays open keeps its backend through a drain.
    {
        echo "$profile long first half"
        sleep 3
        echo "$profile long second half"
    } | ip netns exec "$ns_a" timeout 10 nc -N -w 5 "$vip" 80 &
    long_pid=$!
    lab_pids+=("$long_pid")
    for _ in $(seq 50); do
        [[ -n $(backend_of "$profile long first half") ]] && break
        sleep 0.05
    done
    drained=$(backend_of "$profile long first half")
    check "$profile: the long connection's first half arrived at one backend (${drained:-none})" \
        test -n "$drained" -a "$drained" != many
    if [[ -n $drained && $drained != many ]]; then
        states=(up up up)
        states[drained - 1]=drain
        write_flows "${states[@]}"
        check "$profile: replace-flows drains backend $drained" swctl replace-flows "$lab_tmp/flows.txt"
        # The busy backend's nc serves one connection at a time: new ones must not go there anyway.
        for k in $(seq 20); do
            echo "$profile after drain $k" | in_a timeout 5 nc -N -w 3 "$vip" 80 || true
        done
        wait "$long_pid" || true
        sleep 0.3
        check "$profile: the long connection's second half arrived at the drained backend $drained" \
            test "$(backend_of "$profile long second half")" = "$drained"
        moved=0
        lost=0
        for k in $(seq 20); do
            b=$(backend_of "$profile after drain $k")
            [[ $b == "$drained" ]] && moved=$((moved + 1))
            [[ -z $b || $b == many ]] && lost=$((lost + 1))
        done
        check "$profile: no new connection went to the drained backend ($moved did)" test "$moved" = 0
        check "$profile: every new connection arrived at one backend ($lost did not)" test "$lost" = 0

        # 3. swctl set-backend at run time: the drained backend takes new connections again.
        check "$profile: swctl set-backend puts backend $drained up again" \
            swctl set-backend web "10.9.1.$drained:8080" state=up
        for k in $(seq 30); do
            echo "$profile after up $k" | in_a timeout 5 nc -N -w 3 "$vip" 80 || true
        done
        sleep 0.3
        back=0
        for k in $(seq 30); do
            [[ $(backend_of "$profile after up $k") == "$drained" ]] && back=$((back + 1))
        done
        check "$profile: new connections reach backend $drained again ($back of 30)" test "$back" -gt 0
    fi

    swctl show | grep "lb sessions" || true
    inserts=$(swctl --format json show | jq '.lb_sessions.inserts')
    redirects=$(swctl --format json dump-ports | jq '[.ports[].xdp.redirect] | add')
    if [[ $profile == hybrid ]]; then
        check "$profile: swctl show counts the sessions: $inserts entries inserted, 2 per connection (>= 162)" \
            ge "$inserts" 162
    else
        check "$profile: the user-space session table stayed empty ($inserts inserts)" test "$inserts" = 0
        check "$profile: the XDP dispatchers redirected the traffic ($redirects frames)" ge "$redirects" 500
    fi

    swd_stop TERM
    check "$profile: swd stops cleanly on SIGTERM (exit $swd_rc)" test "$swd_rc" = 0
}

run_profile hybrid
run_profile all-xdp
lab_finish
