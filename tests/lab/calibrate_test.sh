#!/usr/bin/env bash
# Lab test: swctl calibrate measures both paths on real ports and the calibrated profile places
# the rules by the figures (root only).
#
#   tests/lab/calibrate_test.sh [BUILDDIR]      BUILDDIR defaults to build; nothing is built
#
# swd runs with --profile calibrated between host A and a counting XDP sink on host B: ten drop
# rules (UDP to ports 7000-7009), a rule that forwards the other UDP, a local rule.
#   1. Before any calibration every rule is placed as hybrid, and dump-flows says why.
#   2. With no traffic, calibrate measures the XDP side (the probes) but not user space: the
#      kinds it cannot price keep the study's rules, and say why.
#   3. Under traffic (20 flows, half of them to the drop rules, from before calibrate until 1.5 s
#      after it), calibrate measures every figure (the transmit probe too: the ports are veths),
#      decides, and the rules move at once, under traffic: dump-flows' runs= follows each kind's
#      decision, frames were handled both in user space and in XDP, and no frame is lost or
#      misclassified across the move: every frame sent is counted by its drop rule, or at the
#      sink (none of the drop rules' flows there), or by the kernel as dropped on its way to
#      user space (a full ring while the probes load the CPUs: at most 1 %).
#   4. show prints the table; the transmit probe's veth pair is gone; SIGTERM exits 0.
# Exit 0 all passed, 1 a check failed, 77 not root (lib.sh).
source "$(dirname "$0")/lib.sh" calibrate_test "${1:-build}"

lab_two_hosts 1
{
    echo "port=$dev_a, ofport=1"
    echo "port=$dev_b, ofport=2"
    echo "priority=5,udp,in_port=1,actions=output:2"
    echo "priority=1,in_port=1,actions=output:2"
    echo "priority=5,in_port=2,actions=output:1"
    echo "priority=30,tcp,in_port=1,tp_dst=11211,actions=local"
    for p in $(seq 7000 7009); do
        echo "priority=20,udp,in_port=1,tp_dst=$p,actions=drop"
    done
} >"$lab_tmp/flows.txt"
swd_start "$lab_tmp/flows.txt" --profile calibrated --pmd-cpus "$lab_pmd_cpu"
sink_attach "$ns_b" "$dev_b_peer" swd_xdp_sink_drop

# The probes run in the control thread: it must be off the polling thread's CPU.
affinity() { taskset -p "$1" | sed 's/.*: //'; } # a thread's CPU mask, in hex
pmd_tid=$(grep -lx swd-pmd0 /proc/"$swd_pid"/task/*/comm | cut -d/ -f5)
pmd_mask=$((1 << lab_pmd_cpu))
check "the polling thread is on CPU $lab_pmd_cpu (mask $(affinity "$pmd_tid")), the control thread off it (mask $(affinity "$swd_pid"))" \
    test $((16#$(affinity "$pmd_tid"))) = "$pmd_mask" -a $((16#$(affinity "$swd_pid") & pmd_mask)) = 0 \
    -a $((16#$(affinity "$swd_pid"))) != 0

fwd="udp,in_port=$dev_a"
drop7000="udp,in_port=$dev_a,tp_dst=7000"
local_rule="tcp,in_port=$dev_a,tp_dst=11211"

# 1. Not calibrated yet.
check "before calibrate: drops as hybrid ($(rule_field "$drop7000" why))" \
    test "$(rule_field "$drop7000" why)" = "drop: no calibrated figures, user space (as hybrid)"
check "before calibrate: show has no calibration" \
    test "$(swctl --format json show | jq '.calibration')" = null

# 2. No traffic: the probes run, the live sample is empty.
cal=$(swctl --format json calibrate 0.3)
echo "$cal" | jq -c '.calibration.kinds[] | {kind, rules, probed_rules, xdp_program_ns, user_exec_ns, placed, why_not}'
kind() { jq --arg k "$2" '.calibration.kinds[] | select(.kind == $k)' <<<"$1"; }
for k in drop pass-through local; do
    x=$(kind "$cal" "$k" | jq '.xdp_program_ns')
    check "idle: the dispatcher was timed for $k rules ($x ns)" jq -e "$x > 0" <<<null
    u=$(kind "$cal" "$k" | jq '.user_exec_ns')
    check "idle: the executor was timed for $k rules ($u ns)" jq -e "$u > 0" <<<null
done
check "idle: 10 drop rules counted, some probed" \
    jq -e '.calibration.kinds[0] | .rules == 10 and .probed_rules >= 1' <<<"$cal"
check "idle: the dispatcher with the search off was timed" jq -e '.calibration.xdp_to_user_ns > 0' <<<"$cal"
check "idle: the XDP_TX transmit was probed on a veth pair of swd's own" \
    jq -e '.calibration.xdp_tx_ns >= 0' <<<"$cal"
check "idle: no user-space figure without traffic ($(jq -r .calibration.user_why_not <<<"$cal"))" \
    jq -e '.calibration.user_rx_ns == null and (.calibration.user_why_not | test("packets reached user space in the 0.3 s live sample"))' <<<"$cal"
check "idle: drops keep the study's rule, and say why" \
    jq -e '.calibration.kinds[0] | .placed == null and (.why_not | startswith("user space: "))' <<<"$cal"
check "idle: drops still in user space" test "$(rule_field "$drop7000" runs)" = user

# 3. Under traffic.
ip netns exec "$ns_a" "$swgen_bin" --dev "$dev_a_peer" --mode afxdp --cpu "$lab_gen_cpu" --json \
    --rate 60000 --flows 20 --vary dst-port --dport 7000 \
    >"$lab_tmp/swgen.json" 2>"$lab_tmp/swgen.log" &
gen_pid=$!
lab_pids+=("$gen_pid")
sleep 1.5
cal=$(swctl --format json calibrate 1)
echo "$cal" | jq -c '.calibration | {user_rx_ns, user_tx_ns, xdp_tx_ns, xdp_to_user_ns, live_rx, live_tx, chosen_ns, all_user_ns, all_xdp_ns}'
echo "$cal" | jq -c '.calibration.kinds[] | {kind, live_packets, xdp_ns, user_ns, placed, why_not}'
check "traffic: user-space receive and transmit measured" \
    jq -e '.calibration.user_rx_ns > 0 and .calibration.user_tx_ns > 0 and .calibration.live_rx >= 1000' <<<"$cal"
check "traffic: drops and pass-through both priced and placed" \
    jq -e '[.calibration.kinds[0,1] | .placed != null and .xdp_ns > 0 and .user_ns > 0] | all' <<<"$cal"
check "traffic: the drop rules' packets were counted by kind" \
    jq -e '.calibration.kinds[0].live_packets > 0 and .calibration.kinds[1].live_packets > 0' <<<"$cal"
check "traffic: the chosen placement costs no more than all-user or all-xdp" \
    jq -e '.calibration | .chosen_ns <= .all_user_ns + 0.001 and .chosen_ns <= .all_xdp_ns + 0.001' <<<"$cal"
placed_drop=$(kind "$cal" drop | jq -r .placed)
placed_fwd=$(kind "$cal" pass-through | jq -r .placed)
check "the drop rules run where calibrate placed drops ($placed_drop)" \
    test "$(rule_field "$drop7000" runs | sed 's/both/xdp/')" = "$placed_drop"
check "dump-flows says why, with the figures ($(rule_field "$drop7000" why))" \
    grep -q "^calibrated: cheaper in .* on this machine (drop: [0-9]* ns a packet in XDP, [0-9]* ns in user space)" <<<"$(rule_field "$drop7000" why)"
check "the forwarding rule runs where calibrate placed pass-through ($placed_fwd)" \
    test "$(rule_field "$fwd" runs | sed 's/both/xdp/')" = "$placed_fwd"
check "the local rule: $(rule_field "$local_rule" why)" test -n "$(rule_field "$local_rule" runs)"
sleep 1.5
kill -TERM "$gen_pid"
wait "$gen_pid" || true
out=$(tail -n 1 "$lab_tmp/swgen.json")
echo "swgen: $out"
sent=$(jq .frames <<<"$out")
sleep 0.5
port_a=$(swctl --format json dump-ports "$dev_a" | jq -c '.ports[0] | {xdp_drops: .xdp.drop_rule, xdp_redirects: .xdp.redirect, user_drops: .queues[0].counters.drop_action, kernel: .queues[0].kernel}')
echo "port A: $port_a"
check "the move was under traffic: drops in user space, then in XDP" \
    jq -e '.user_drops > 0 and .xdp_drops > 0' <<<"$port_a"
# Frames the kernel could not hand to port A's socket (no free frame in the fill ring, or a
# full receive ring): they met no rule.
lost=$(socket_drops 1)
counted=0 wanted=0
for k in $(seq 0 9); do
    p=$((7000 + k))
    want=$((sent / 20 + (k < sent % 20 ? 1 : 0)))
    n=$(rule_field "udp,in_port=$dev_a,tp_dst=$p" n_packets)
    check "drop rule $p counted its flow's frames across the move, but for the kernel's drops ($n of $want, $lost dropped)" \
        test "$n" -le "$want" -a $((want - n)) -le "$lost"
    counted=$((counted + n)) wanted=$((wanted + want))
done
forwarded=$((sent - wanted))
s=0
for p in $(seq 7010 7019); do
    s=$((s + $(sink_frames_to_port "$p")))
done
misplaced=0
for p in $(seq 7000 7009); do
    misplaced=$((misplaced + $(sink_frames_to_port "$p")))
done
check "the sink got the forwarded flows' frames, but for the kernel's drops ($s of $forwarded)" test "$s" -le "$forwarded"
check "no frame of a drop rule's flow reached the sink ($misplaced)" test "$misplaced" = 0
check "every frame is counted: by its drop rule, at the sink or as dropped by the kernel ($counted + $s + $lost of $sent)" \
    test $((counted + s + lost)) = "$sent"
check "the kernel dropped at most 1 % on the way to user space ($lost of $sent)" test "$lost" -le $((sent / 100))

# 4. show, cleanup.
swctl show | sed -n '/^calibration (/,/^  expected/p'
rule_field "$drop7000" why
show_has() { swctl show | grep -F "$1" >/dev/null; }
check "show prints the calibration table" show_has "calibration ("
check "show prints the drop row" show_has "  drop "
check "the transmit probe's veth pair is gone" test -z "$(ip -n "$ns_sw" link show swdcal0 2>/dev/null)"
check "the calibration is in the log" grep -q "calibrated: drop in " "$lab_tmp/swd.log"
swd_stop TERM
check "SIGTERM: exit 0 ($swd_rc)" test "$swd_rc" = 0
lab_finish
