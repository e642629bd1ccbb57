#!/usr/bin/env bash
# Lab test: queue steering on a port without ntuple filters (veth) falls back to the XDP search,
# for real (root only).
#
#   tests/lab/steering_test.sh [BUILDDIR]      BUILDDIR defaults to build; nothing is built
#
# swd runs with --profile all-xdp between host A and a counting XDP sink on host B, both ports
# with 2 queues. Two rules ask for queue 1 (one with queue=1, one with set_queue:1), a third
# forwards the other UDP in XDP. The ethtool ioctl says EOPNOTSUPP on the veth: swd says so
# once, dump-flows and show say the XDP search steers, and the generator's 4 flows prove it:
# the steered flows' frames go to user space (the dispatcher's to_user counts exactly them), the
# others are forwarded in XDP, every frame reaches the sink. Then the requests change at run
# time (mod-flows, del-flows) and a bad queue is rejected without changing anything.
# Exit 0 all passed, 1 a check failed, 77 not root (lib.sh).
source "$(dirname "$0")/lib.sh" steering_test "${1:-build}"

lab_two_hosts 2
cat >"$lab_tmp/flows.txt" <<EOF
port=$dev_a, ofport=1
port=$dev_b, ofport=2
priority=100, udp, in_port=1, tp_dst=7100, queue=1, actions=output:2
priority=90, udp, in_port=1, tp_dst=7101, actions=set_queue:1,output:2
priority=5, udp, in_port=1, actions=output:2
priority=1, in_port=1, actions=output:2
priority=5, in_port=2, actions=output:1
EOF
swd_start "$lab_tmp/flows.txt" --profile all-xdp --pmd-cpus "$lab_pmd_cpu"
sink_attach "$ns_b" "$dev_b_peer" swd_xdp_sink_drop

q_rule="udp,in_port=$dev_a,tp_dst=7100"
sq_rule="udp,in_port=$dev_a,tp_dst=7101"
n=$(grep -c "$dev_a: no ntuple filters (Operation not supported): queue= and set_queue steer in XDP" "$lab_tmp/swd.log")
check "the missing filters are said once for two requests ($n)" test "$n" = 1
check "nothing is said of the port no request names" \
    test "$(grep -c "$dev_b: no ntuple filters" "$lab_tmp/swd.log")" = 0
for m in "$q_rule" "$sq_rule"; do
    check "dump-flows: $m is steered by the XDP search ($(rule_field "$m" steering))" \
        test "$(rule_field "$m" steering)" = "xdp:$dev_a/q1"
    check "dump-flows: and says why ($(rule_field "$m" steering_detail))" \
        test "$(rule_field "$m" steering_detail)" = "$dev_a: XDP search ($dev_a has no ntuple filters (Operation not supported))"
    check "dump-flows: $m runs in user space ($(rule_field "$m" runs))" \
        test "$(rule_field "$m" runs)" = user
done
check "dump-flows: the other UDP rule runs in XDP" test "$(rule_field "udp,in_port=$dev_a" runs)" = xdp
check "dump-flows: no steering for a rule without a request" test "$(rule_field "udp,in_port=$dev_a" steering)" = ""
check "dump-flows text: steering= on the steered rules" \
    test "$(swctl dump-flows | grep -c "steering=xdp:$dev_a/q1")" = 2
show_says() { swctl show | grep -F "$1" >/dev/null; }
check "show: the port has no filters" \
    show_says "steering: no ntuple filters (Operation not supported): steering by the XDP search"

to_user_0=$(xdp_counter 1 to_user)
ip netns exec "$ns_a" "$swgen_bin" --dev "$dev_a_peer" --mode afxdp --cpu "$lab_gen_cpu" --json --count 20000 \
    --rate 50000 --flows 4 --vary dst-port --dport 7100 >"$lab_tmp/swgen.json" 2>"$lab_tmp/swgen.log"
out=$(tail -n 1 "$lab_tmp/swgen.json")
echo "swgen: $out"
check "swgen sent 20000 frames" test "$(jq .frames <<<"$out")" = 20000
sleep 0.5
for p in 7100 7101 7102 7103; do
    s=$(sink_frames_to_port "$p")
    check "every frame to port $p reached the sink ($s of 5000)" test "$s" = 5000
done
to_user=$(($(read_until_stable 21 xdp_counter 1 to_user) - to_user_0))
check "the XDP search sent exactly the steered flows to user space ($to_user of 10000)" test "$to_user" = 10000
for m in "$q_rule" "$sq_rule"; do
    n=$(read_until_stable 21 rule_field "$m" n_packets)
    check "$m counted its flow's frames in user space ($n of 5000)" test "$n" = 5000
done
n=$(read_until_stable 21 rule_field "udp,in_port=$dev_a" n_packets)
check "the XDP rule forwarded the other two flows ($n of 10000)" test "$n" = 10000

# Run-time changes.
swctl mod-flows "udp,in_port=$dev_a,tp_dst=7100,queue=0,actions=output:2" >/dev/null
check "mod-flows queue=0: the request follows ($(rule_field "$q_rule" steering))" \
    test "$(rule_field "$q_rule" steering)" = "xdp:$dev_a/q0"
n_flows=$(flows_json | jq '.flows | length')
if err=$(swctl add-flow "priority=7, udp, queue=64, actions=drop" 2>&1); then
    fail "queue=64 accepted"
else
    check "queue=64 is rejected with a position and what was expected" \
        grep -qF "<add-flow>:1:24: error: invalid queue value '64': 64 is out of range 0-63; expected a receive queue 0-63" <<<"$err"
fi
check "and nothing changed" test "$(flows_json | jq '.flows | length')" = "$n_flows"
swctl del-flows "udp,in_port=$dev_a,tp_dst=7101" >/dev/null
check "del-flows: the set_queue rule and its request are gone" test "$(rule_field "$sq_rule" steering)" = ""
check "the other request stays" test "$(rule_field "$q_rule" steering)" = "xdp:$dev_a/q0"

swd_stop TERM
check "SIGTERM: exit 0 ($swd_rc)" test "$swd_rc" = 0
lab_finish
