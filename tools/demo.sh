#!/bin/bash
# swd demo: builds swd, validates the example configuration, runs the switch daemon and drives it
# with swctl (add, reject, dump, diff, replace), then stops it with SIGTERM.
# Later issues grow this into the namespace lab demo with real traffic.
set -euo pipefail
cd "$(dirname "$0")/.."

[ -d build ] || meson setup build --buildtype=release >/dev/null
ninja -C build tools/swd tools/swctl >/dev/null
swd=build/tools/swd
swctl=build/tools/swctl
example=docs/examples/edge.txt

dir=$(mktemp -d /tmp/swd-demo.XXXXXX)
swd_pid=
cleanup() {
    if [ -n "$swd_pid" ] && kill -0 "$swd_pid" 2>/dev/null; then
        kill "$swd_pid"
        wait "$swd_pid" 2>/dev/null || true
    fi
    rm -rf "$dir"
}
trap cleanup EXIT
sock="$dir/swd.sock"
ctl() { echo "\$ swctl $*"; "$swctl" --control "$sock" "$@"; }
say() { printf '\n### %s\n' "$*"; }

say "validate the example configuration ($example)"
"$swd" --check --config "$example"

say "a configuration with a mistake is rejected with its position"
sed 's/198.51.100.0\/24/198.51.100.300\/24/' "$example" > "$dir/broken.txt"
"$swd" --check --config "$dir/broken.txt" || echo "(swd --check exit status $?)"

say "start swd"
# No interfaces here yet: the control plane alone (the lab demo comes with the datapath issues).
"$swd" --config "$example" --control "$sock" --log-level warn --datapath none &
swd_pid=$!
for _ in $(seq 50); do "$swctl" --control "$sock" ping >/dev/null 2>&1 && break; sleep 0.1; done
ctl show

say "change the table at run time"
ctl add-flow "priority=350, udp, nw_src=203.0.113.0/24, tp_dst=53, actions=drop"
ctl add-flow "priority=350, udp, nw_src=203.0.113.0/24, tp_dst=5300000, actions=drop" \
    || echo "(swctl exit status $?: nothing was changed)"
ctl dump-flows

say "what differs from the file, then make the table the file again, atomically"
ctl diff-flows "$example" swd || echo "(diff-flows exit status $?: differences found)"
ctl -v replace-flows "$example"
ctl diff-flows "$example" swd && echo "(no differences)"

say "stop swd (SIGTERM)"
kill "$swd_pid"
wait "$swd_pid"
swd_pid=
[ ! -e "$sock" ] && echo "swd stopped; control socket removed"
