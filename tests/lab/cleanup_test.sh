#!/usr/bin/env bash
# Lab test: swd leaves nothing behind, however it stops (root only).
#
#   tests/lab/cleanup_test.sh [BUILDDIR]      BUILDDIR defaults to build; nothing is built
#
# After each way of stopping, the switch namespace must hold no XDP program on the ports, no
# AF_XDP socket, no local port veth (swd0/swd0-dp), no control socket file, and the busy-poll
# sysfs settings must be back to what they were:
#   1. SIGTERM under traffic: exit 0 within 2 s;
#   2. SIGINT in busy-poll mode: exit 0, napi_defer_hard_irqs/gro_flush_timeout restored;
#   3. SIGKILL: the kernel drops the XDP programs (bpf_link) and sockets with the process; the
#      local port veth stays, and the next swd removes it, says so, and starts;
#   4. start-up that fails half-way (second port missing): exit 1, the first port's program gone;
#   5. a port that already carries someone else's XDP program: refused, the program untouched;
#   6. a second swd for the same local port in the same namespace: refused, the first unharmed.
# Exit 0 all passed, 1 a check failed, 77 not root (lib.sh).
source "$(dirname "$0")/lib.sh" cleanup_test "${1:-build}"

lab_two_hosts 1
write_flows() { # write_flows [PORT OPTIONS] [EXTRA PORT LINE]
    {
        echo "port=$dev_a, ofport=1${1:-}"
        echo "port=$dev_b, ofport=2${1:-}"
        [[ -n ${2:-} ]] && echo "$2"
        echo "priority=10,in_port=1,actions=output:2"
        echo "priority=10,in_port=2,actions=output:1"
    } >"$lab_tmp/flows.txt"
}
sysfs_busy() { in_sw cat /sys/class/net/"$dev_a"/napi_defer_hard_irqs /sys/class/net/"$dev_a"/gro_flush_timeout | tr '\n' ' '; }
# The maps (the XSKMAP) of the XDP programs swd attached, remembered while it runs: the kernel
# frees them once no program and no process holds them.
swd_maps=()
remember_maps() {
    local dev id ids
    for dev in "$dev_a" "$dev_b"; do
        id=$(xdp_prog_id "$ns_sw" "$dev")
        [[ -n $id ]] || continue
        mapfile -t ids < <(bpftool -j prog show id "$id" | jq '.map_ids[]')
        swd_maps+=("${ids[@]}")
    done
}
# Everything swd may leave behind, in one line ("" when nothing).
leftovers() {
    local l=""
    [[ -n $(xdp_prog_id "$ns_sw" "$dev_a") ]] && l+="xdp($dev_a) "
    [[ -n $(xdp_prog_id "$ns_sw" "$dev_b") ]] && l+="xdp($dev_b) "
    local m
    for m in "${swd_maps[@]}"; do
        bpftool map show id "$m" >/dev/null 2>&1 && l+="map($m) "
    done
    ip -n "$ns_sw" link show swd0 >/dev/null 2>&1 && l+="swd0 "
    [[ -e $lab_tmp/swd.sock ]] && l+="control-socket "
    echo "$l"
}
alive() { kill -0 "$swd_pid" 2>/dev/null; }
sysfs0=$(sysfs_busy)
echo "busy-poll sysfs settings before: $sysfs0"

# ---- 1. SIGTERM under traffic -----------------------------------------------------------------
write_flows
swd_start "$lab_tmp/flows.txt"
remember_maps
check "running: XDP programs with their maps on both ports (${#swd_maps[@]} maps), swd0 exists" \
    test "${#swd_maps[@]}" -ge 2 -a "$(ip -n "$ns_sw" -o link show swd0 | wc -l)" = 1
ip netns exec "$ns_a" "$swgen_bin" --dev "$dev_a_peer" --mode afxdp --duration 5 --rate 200000 \
    >/dev/null 2>&1 &
gen=$!
lab_pids+=("$gen")
sleep 1
start=$(date +%s%N)
swd_stop TERM
ms=$((($(date +%s%N) - start) / 1000000))
kill "$gen" 2>/dev/null || true
wait "$gen" || true
check "SIGTERM under traffic: exit 0 ($swd_rc) in $ms ms (< 2000)" test "$swd_rc" = 0 -a "$ms" -lt 2000
check "SIGTERM: nothing left behind ($(leftovers))" test -z "$(leftovers)"

# ---- 2. SIGINT in busy-poll mode ------------------------------------------------------------
write_flows ", wait=busy"
swd_start "$lab_tmp/flows.txt"
remember_maps
check "busy mode running: sysfs set ($(sysfs_busy))" test "$(sysfs_busy)" = "2 200000 "
swd_stop INT
check "SIGINT: exit 0 ($swd_rc)" test "$swd_rc" = 0
check "SIGINT: nothing left behind ($(leftovers))" test -z "$(leftovers)"
check "SIGINT: busy-poll sysfs settings restored ($(sysfs_busy))" test "$(sysfs_busy)" = "$sysfs0"

# ---- 3. SIGKILL, then a restart ---------------------------------------------------------------
write_flows
swd_start "$lab_tmp/flows.txt"
remember_maps
swd_stop KILL
rm -f "$lab_tmp/swd.sock" # a killed process cannot remove its socket file; swd replaces it
check "SIGKILL: the kernel detached the XDP programs and closed the sockets ($(leftovers))" \
    test "$(leftovers)" = "swd0 "
swd_start "$lab_tmp/flows.txt"
check "restart after SIGKILL: swd removes the stale local port and says so" \
    grep -q "removing swd0/swd0-dp, left behind" "$lab_tmp/swd.log"
check "restart after SIGKILL: forwarding works" in_a ping -c 3 -i 0.05 -W 2 -q "$ip_b"
swd_stop TERM
check "... and stops clean ($swd_rc; $(leftovers))" test "$swd_rc" = 0 -a -z "$(leftovers)"

# ---- 4. start-up that fails half-way ------------------------------------------------------------
write_flows "" "port=swl-none$$, ofport=3"
rc=0
in_sw timeout 20 "$swd_bin" --config "$lab_tmp/flows.txt" --control "$lab_tmp/swd.sock" \
    >"$lab_tmp/half.log" 2>&1 || rc=$?
echo "swd: $(grep -m1 -iE "error|swd:" "$lab_tmp/half.log" || true)"
check "a missing third port: exit 1 ($rc), the error names it" \
    test "$rc" = 1 -a "$(grep -c "swl-none$$" "$lab_tmp/half.log")" -ge 1
check "... and the ports opened before it are released ($(leftovers))" test -z "$(leftovers)"

# ---- 5. someone else's XDP program -------------------------------------------------------------
sink_attach "$ns_sw" "$dev_b" swd_xdp_sink
foreign=$(xdp_prog_id "$ns_sw" "$dev_b")
write_flows
rc=0
in_sw timeout 20 "$swd_bin" --config "$lab_tmp/flows.txt" --control "$lab_tmp/swd.sock" \
    >"$lab_tmp/foreign.log" 2>&1 || rc=$?
echo "swd: $(grep -m1 -iE "error|swd:" "$lab_tmp/foreign.log" || true)"
check "a port with another XDP program: refused, exit 1 ($rc)" test "$rc" = 1
check "... that program is still attached ($(xdp_prog_id "$ns_sw" "$dev_b") = $foreign)" \
    test "$(xdp_prog_id "$ns_sw" "$dev_b")" = "$foreign"
check "... and swd's own program on the other port is gone" test -z "$(xdp_prog_id "$ns_sw" "$dev_a")"
ip -n "$ns_sw" link set dev "$dev_b" xdp off

# ---- 6. two swd for one local port -------------------------------------------------------------
swd_start "$lab_tmp/flows.txt"
rc=0
in_sw timeout 20 "$swd_bin" --config "$lab_tmp/flows.txt" --control "$lab_tmp/second.sock" \
    >"$lab_tmp/second.log" 2>&1 || rc=$?
echo "second swd: $(grep -m1 -iE "error|swd:" "$lab_tmp/second.log" || true)"
check "a second swd on the same local port: refused, exit 1 ($rc), says it is in use" \
    test "$rc" = 1 -a "$(grep -c "in use by another swd" "$lab_tmp/second.log")" -ge 1
check "... the first swd still forwards" in_a ping -c 3 -i 0.05 -W 2 -q "$ip_b"
check "... and still has its local port" ip -n "$ns_sw" link show swd0
swd_stop TERM
check "... and stops clean ($swd_rc; $(leftovers))" test "$swd_rc" = 0 -a -z "$(leftovers)"
lab_finish
