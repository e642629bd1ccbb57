#!/usr/bin/env bash
# Lab test: rule changes under traffic (root only).
#
#   tests/lab/update_test.sh [BUILDDIR]      BUILDDIR defaults to build; nothing is built
#
# The generator sends two UDP flows from host A through swd to a counting XDP sink on host B,
# alternating frame by frame, at a rate swd keeps up with: flow X to port 7000 (matched by its
# own rule, which no change touches) and flow Y to port 7001 (the rule for other UDP). While they run:
#   - `swctl add-flow` installs a drop rule for Y;
#   - 20000 unrelated rules are added, replaced, and deleted again (each a new published table).
# Then: every X frame reached the sink and hit X's rule (no X frame lost or misclassified while
# the tables changed under it); Y was forwarded before the drop rule and dropped after it, with
# forwarded + dropped = sent; the datapath counted no drop other than the new rule's.
# Exit 0 all passed, 1 a check failed, 77 not root (lib.sh).
source "$(dirname "$0")/lib.sh" update_test "${1:-build}"

lab_two_hosts 1
cat >"$lab_tmp/flows.txt" <<EOF
port=$dev_a, ofport=1
port=$dev_b, ofport=2
priority=5,in_port=1,actions=output:2
priority=10,udp,in_port=1,actions=output:2
priority=10,in_port=2,actions=output:1
priority=20,udp,in_port=1,tp_dst=7000,actions=output:2
EOF
# Unrelated rules: exact matches on addresses the traffic never carries.
awk 'BEGIN { for (i = 0; i < 20000; i++)
    printf "priority=30,udp,in_port=1,nw_src=172.16.%d.%d,tp_dst=%d,actions=drop\n", i / 250, i % 250 + 1, 1000 + i % 50 }' \
    >"$lab_tmp/unrelated.txt"
swd_start "$lab_tmp/flows.txt" --pmd-cpus "$lab_pmd_cpu"
sink_attach "$ns_b" "$dev_b_peer" swd_xdp_sink_drop

rule_packets() { # rule_packets MATCH_TEXT: packets of the rule whose match is exactly MATCH_TEXT
    flows_json | jq --arg m "$1" '[.flows[] | select(.match == $m) | .n_packets] | add // 0'
}

# 6 s at 60 kpps, flows alternate: X (dport 7000) on even frames, Y (7001) on odd ones.
rate=60000
ip netns exec "$ns_a" "$swgen_bin" --dev "$dev_a_peer" --mode afxdp --cpu "$lab_gen_cpu" --json \
    --duration 6 --rate "$rate" --flows 2 --vary dst-port --dport 7000 \
    >"$lab_tmp/swgen.json" 2>"$lab_tmp/swgen.log" &
gen_pid=$!
lab_pids+=("$gen_pid")

sleep 1.5
y_before=$(sink_frames_to_port 7001)
check "add-flow under traffic: drop rule for flow Y accepted" \
    swctl add-flow "priority=40,udp,in_port=1,tp_dst=7001,actions=drop"
sleep 0.5
y_after_add=$(sink_frames_to_port 7001)
sleep 0.5
y_later=$(sink_frames_to_port 7001)
check "add-flows of 20000 unrelated rules under traffic" swctl add-flows "$lab_tmp/unrelated.txt"
check "mod-flows of the unrelated rules under traffic" \
    swctl mod-flows "udp,nw_src=172.16.0.0/16,actions=drop"
check "del-flows of the unrelated rules under traffic" swctl del-flows "udp,nw_src=172.16.0.0/16"
wait "$gen_pid" || true
sleep 0.3
out=$(tail -n 1 "$lab_tmp/swgen.json")
echo "swgen: $out"
sent=$(jq .frames <<<"$out")
x_sent=$(((sent + 1) / 2))
y_sent=$((sent / 2))
x_sink=$(sink_frames_to_port 7000)
y_sink=$(sink_frames_to_port 7001)
x_rule=$(rule_packets "udp,in_port=$dev_a,tp_dst=7000")
y_fwd_rule=$(rule_packets "udp,in_port=$dev_a")
y_drop_rule=$(rule_packets "udp,in_port=$dev_a,tp_dst=7001")
echo "sent $sent: X $x_sent (sink $x_sink, rule $x_rule); Y $y_sent (sink $y_sink, forwarded by the default rule $y_fwd_rule, dropped $y_drop_rule)"
echo "Y at the sink: $y_before before the add-flow, $y_after_add 0.5 s after, $y_later 1 s after"
echo "port counters: $(ports_json | jq -c '[.ports[] | select(.ofport <= 2) | {ofport, c: (.queues | map(.counters) | add | with_entries(select(.value > 0 and (.key | startswith("drop") or . == "malformed"))))}]')"

check "swgen sent its 6 s of frames ($sent)" ge "$sent" $((rate * 5))
check "X: every frame reached the sink ($x_sink of $x_sent)" test "$x_sink" = "$x_sent"
check "X: every frame hit X's rule ($x_rule of $x_sent)" test "$x_rule" = "$x_sent"
check "Y: forwarded before the change ($y_before at the sink)" ge "$y_before" 1
check "Y: no longer forwarded 0.5 s after the change ($y_after_add, then $y_later)" \
    test "$y_after_add" = "$y_later"
check "Y: forwarded + dropped = sent ($y_sink + $y_drop_rule of $y_sent)" \
    test $((y_sink + y_drop_rule)) = "$y_sent"
check "Y: the default rule forwarded exactly what reached the sink ($y_fwd_rule)" \
    test "$y_fwd_rule" = "$y_sink"
check "no drop other than the new rule's (drop_action $(port_sum 1 drop_action) = $y_drop_rule)" \
    test "$(port_sum 1 drop_action)" = "$y_drop_rule" -a "$(port_sum 2 drop_tx_full)" = 0 \
    -a "$(port_sum 1 drop_no_rule)" = 0
check "the unrelated rules are gone again (4 + 1 rules)" \
    test "$(flows_json | jq '.flows | length')" = 5

swd_stop TERM
check "SIGTERM: exit 0 ($swd_rc)" test "$swd_rc" = 0
lab_finish
