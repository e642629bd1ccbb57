#!/usr/bin/env bash
# Lab test: adaptive placement moves drop rules to XDP and back under traffic (root only).
#
#   tests/lab/adaptive_test.sh [BUILDDIR]      BUILDDIR defaults to build; nothing is built
#
# swd runs with --profile adaptive (sustain 1 s, budget 5 rules) between host A and a counting
# XDP sink on host B. Nine drop rules (UDP to ports 7000-7008) and a rule that forwards the
# other UDP (and one for what else host A sends). The generator sends 10 flows in turn, frame by frame, at 60 kpps:
#   phase 1 (7 s): to ports 7000-7009, 90% dropped: 5 of the drop rules (the budget) move to
#           XDP while the traffic runs;
#   phase 2 (6 s): to ports 7005-7014, 40% dropped, below the return share: they come back.
# Checks: the moves happened (show, dump-flows' reasons, the dispatcher's drop counter, the
# log), and no frame was lost or misclassified across them: every frame was counted by the
# rule of its flow, or by the kernel as lost before any rule saw it (no free frame in port A's
# fill ring, or a veth ring full: at most 1 %), the sink received exactly the frames that the
# forwarding rule counted and none of the dropped flows', and nothing else was dropped.
# Exit 0 all passed, 1 a check failed, 77 not root (lib.sh).
source "$(dirname "$0")/lib.sh" adaptive_test "${1:-build}"

lab_two_hosts 1
{
    echo "port=$dev_a, ofport=1"
    echo "port=$dev_b, ofport=2"
    echo "priority=5,udp,in_port=1,actions=output:2"
    echo "priority=1,in_port=1,actions=output:2"
    echo "priority=5,in_port=2,actions=output:1"
    for p in $(seq 7000 7008); do
        echo "priority=20,udp,in_port=1,tp_dst=$p,actions=drop"
    done
} >"$lab_tmp/flows.txt"
swd_start "$lab_tmp/flows.txt" --profile adaptive --adaptive-sustain 1 --adaptive-budget 5 --pmd-cpus "$lab_pmd_cpu"
sink_attach "$ns_b" "$dev_b_peer" swd_xdp_sink_drop

rule_packets() { # MATCH_TEXT: packets of the rule whose match is exactly that
    flows_json | jq --arg m "$1" '[.flows[] | select(.match == $m) | .n_packets] | add // 0'
}
offloaded() { swctl --format json show | jq '.adaptive.offloaded'; }
in_xdp_by_reason() { flows_json | jq '[.flows[] | select(.why | startswith("adaptive: a hot drop rule"))] | length'; }
# Frames lost before any rule: the kernel's drops on the way to port A's socket, and what host
# A's veth could not hand over.
lost_frames() { echo $(($(socket_drops 1) + $(a_tx_dropped))); }
lost_before=$(lost_frames)

declare -A expect # destination port -> frames sent to it
send() {          # SECONDS FIRST_PORT: 10 flows to FIRST_PORT.., in turn, in the background
    ip netns exec "$ns_a" "$swgen_bin" --dev "$dev_a_peer" --mode afxdp --cpu "$lab_gen_cpu" --json \
        --duration "$1" --rate 60000 --flows 10 --vary dst-port --dport "$2" \
        >"$lab_tmp/swgen.json" 2>"$lab_tmp/swgen.log" &
    gen_pid=$!
    lab_pids+=("$gen_pid")
}
sent_by() { # FIRST_PORT: waits for the generator; adds what each of its 10 flows got to expect
    local out sent k
    wait "$gen_pid" || true
    out=$(tail -n 1 "$lab_tmp/swgen.json")
    echo "swgen: $out"
    sent=$(jq .frames <<<"$out")
    check "swgen sent its frames ($sent)" ge "$sent" 10000
    for k in $(seq 0 9); do
        expect[$(($1 + k))]=$((${expect[$(($1 + k))]:-0} + sent / 10 + (k < sent % 10 ? 1 : 0)))
    done
}

wait_offloaded() { # N: until N rules are offloaded, 6 s at most
    for _ in $(seq 60); do
        [[ $(offloaded) == "$1" ]] && return
        sleep 0.1
    done
}

send 7 7000
wait_offloaded 5
check "phase 1: 5 drop rules offloaded under traffic ($(offloaded))" test "$(offloaded)" = 5
check "phase 1: dump-flows says why for exactly those 5" test "$(in_xdp_by_reason)" = 5
sleep 1
xdp_drops_1=$(xdp_counter 1 drop_rule)
check "phase 1: the XDP dispatcher drops by rule ($xdp_drops_1)" ge "$xdp_drops_1" 1
sent_by 7000
check "phase 1: the move is in the log" grep -q "adaptive: drops .* 5 drop rules to XDP, 5 of 5 offloaded" "$lab_tmp/swd.log"
swctl show | grep adaptive

send 6 7005
wait_offloaded 0
check "phase 2: the rules came back to user space under traffic ($(offloaded))" test "$(offloaded)" = 0
check "phase 2: the move is in the log" grep -q "adaptive: drops [0-5]\?[0-9]% of the traffic, below 60% for 1 s: 5 drop rules back to user space" "$lab_tmp/swd.log"
sleep 0.5
xdp_drops_2=$(xdp_counter 1 drop_rule)
sent_by 7005
sleep 0.3
check "phase 2: the XDP dispatcher drops no more by rule once they are back ($xdp_drops_2, then $(xdp_counter 1 drop_rule))" \
    test "$(xdp_counter 1 drop_rule)" = "$xdp_drops_2"

lost=$(($(lost_frames) - lost_before))
sent=0 counted=0
for p in $(seq 7000 7008); do
    n=$(rule_packets "udp,in_port=$dev_a,tp_dst=$p")
    check "drop rule for port $p counted every frame sent to it, but for the lost ($n of ${expect[$p]}, $lost lost)" \
        test "$n" -le "${expect[$p]}" -a $((expect[$p] - n)) -le "$lost"
    s=$(sink_frames_to_port "$p")
    check "nothing sent to port $p reached the sink ($s)" test "$s" = 0
    sent=$((sent + expect[$p])) counted=$((counted + n))
done
forwarded=0 sunk=0
for p in $(seq 7009 7014); do
    s=$(sink_frames_to_port "$p")
    check "every frame sent to port $p reached the sink, but for the lost ($s of ${expect[$p]}, $lost lost)" \
        test "$s" -le "${expect[$p]}" -a $((expect[$p] - s)) -le "$lost"
    forwarded=$((forwarded + expect[$p])) sunk=$((sunk + s))
done
n=$(rule_packets "udp,in_port=$dev_a")
check "the sink received exactly the frames the forwarding rule counted ($sunk, $n)" test "$sunk" = "$n"
sent=$((sent + forwarded)) counted=$((counted + n))
check "every frame was counted by its rule or lost before any rule ($counted + $lost of $sent)" \
    test $((counted + lost)) = "$sent"
check "at most 1 % lost ($lost of $sent)" test $((lost * 100)) -le "$sent"
check "no other drops (no_rule $(port_sum 1 drop_no_rule), tx_full $(port_sum 2 drop_tx_full))" \
    test "$(port_sum 1 drop_no_rule)" = 0 -a "$(port_sum 2 drop_tx_full)" = 0

swd_stop TERM
check "SIGTERM: exit 0 ($swd_rc)" test "$swd_rc" = 0
lab_finish
