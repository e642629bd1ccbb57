#!/usr/bin/env bash
# prog_time.sh COMMAND...: runs COMMAND (a benchmark, e.g. tests/bench/dispatcher.sh build) with
# the kernel's BPF run-time statistics on (kernel.bpf_stats_enabled), samples every XDP
# program's run_time_ns and run_cnt once a second, and prints, per program, the median time of
# one run over the seconds in which it ran at least 100000 times: the program's own cost per
# frame, in the place where it runs. Root only.
#
# The statistics read the clock twice per run (~30 ns here, the same for every program) and slow
# everything down: compare programs with each other in one such run, never throughputs of this
# run with those of a run without statistics. The sysctl is put back on exit.
set -euo pipefail
(($# > 0)) || { echo "usage: prog_time.sh COMMAND..." >&2; exit 2; }
command -v bpftool >/dev/null && command -v jq >/dev/null || { echo "prog_time.sh: needs bpftool and jq" >&2; exit 1; }

was=$(sysctl -n kernel.bpf_stats_enabled)
samples=$(mktemp)
sampler=
cleanup() {
    if [[ -n $sampler ]]; then
        kill "$sampler" 2>/dev/null || true
        wait "$sampler" 2>/dev/null || true
    fi
    sysctl -qw kernel.bpf_stats_enabled="$was"
    rm -f "$samples"
}
trap cleanup EXIT
sysctl -qw kernel.bpf_stats_enabled=1
while :; do
    bpftool -j prog show 2>/dev/null |
        jq -c '.[] | select(.type == "xdp" and .run_cnt != null) | [.id, .name, .run_time_ns, .run_cnt]'
    sleep 1
done >"$samples" &
sampler=$!

rc=0
"$@" || rc=$?

echo "== prog_time.sh: ns per run, median over the seconds with >= 100000 runs (statistics on) =="
jq -rs '
  group_by(.[0])[]
  | . as $s
  | [range(1; length) | [$s[.][2] - $s[. - 1][2], $s[.][3] - $s[. - 1][3]] | select(.[1] >= 100000)]
  | select(length > 0)
  | (map(.[0] / .[1]) | sort) as $ns
  | (map(.[1]) | sort) as $runs
  | "\($s[0][0])\t\($s[0][1])\t\($ns[length / 2 | floor] * 10 | round / 10) ns (\($ns[0] * 10 | round / 10)-\($ns[-1] * 10 | round / 10)), \(length) s at \($runs[length / 2 | floor]) runs/s"' \
    "$samples" | column -t -s $'\t'
exit "$rc"
