#!/bin/bash
# Builds swd and runs every test:
#   1. release build, all test suites: unit, process and (suite lab) lab tests that send real
#      traffic through swd between network namespaces and veths of their own
#   1b. the load balancer on DPDK's rte_hash session table (-Dlb_session_table=rte_hash): its
#      unit tests, the executor, pcap replay and the load-balancer lab test
#   2. AddressSanitizer + UndefinedBehaviorSanitizer build, all test suites again (the lab
#      tests then replay the malformed real-world captures into a sanitized swd)
#   3. clang-format check of every C, C++ and BPF source
#   4. libFuzzer targets (clang) for the flow parser and the control protocol, briefly
# As root it sets SWD_REQUIRE_ROOT_TESTS=1: a privileged test that cannot run fails instead of
# skipping. Exit status 0 only when every step passed.
set -euo pipefail
cd "$(dirname "$0")/.."

jobs=$(nproc)
if [ "$(id -u)" = 0 ]; then
    export SWD_REQUIRE_ROOT_TESTS=1
fi
# The flow corpus is checked against Open vSwitch's own parser (openvswitch-common).
export SWD_OVS_OFCTL=/usr/bin/ovs-ofctl
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1"

step() { printf '\n=== %s ===\n' "$*"; }

step "release build"
[ -d build ] || meson setup build --buildtype=release
ninja -C build -j "$jobs"
step "release tests"
meson test -C build --print-errorlogs --num-processes 1

step "rte_hash session table build (-Dlb_session_table=rte_hash)"
pkg-config --exists libdpdk || { echo "DPDK (libdpdk-dev) is missing: tools/install-deps.sh installs it" >&2; exit 1; }
[ -d build-rte ] || meson setup build-rte --buildtype=release -Dlb_session_table=rte_hash
ninja -C build-rte -j "$jobs"
step "rte_hash session table tests"
meson test -C build-rte --print-errorlogs --num-processes 1 rte_session_table executor replay lb

step "sanitizer build (address, undefined)"
[ -d build-asan ] || meson setup build-asan --buildtype=debugoptimized \
    -Db_sanitize=address,undefined -Db_lundef=false
ninja -C build-asan -j "$jobs"
step "sanitizer tests"
meson test -C build-asan --print-errorlogs --num-processes 1 --timeout-multiplier 3

step "clang-format"
git ls-files '*.c' '*.cc' '*.h' | xargs clang-format --dry-run --Werror
echo "clang-format: $(git ls-files '*.c' '*.cc' '*.h' | wc -l) files clean"

step "fuzzing (libFuzzer)"
[ -d build-fuzz ] || CC=clang CXX=clang++ meson setup build-fuzz --buildtype=debugoptimized \
    -Dfuzz=true -Dtests=disabled -Db_sanitize=address,undefined -Db_lundef=false
ninja -C build-fuzz -j "$jobs" tests/fuzz/flow_parser_fuzz tests/fuzz/control_request_fuzz \
    tests/fuzz/extract_fuzz
for f in flow_parser control_request extract; do
    corpus=$(mktemp -d)
    trap 'rm -rf "$corpus"' EXIT
    cp tests/fuzz/seeds/"$f"/* "$corpus"/
    build-fuzz/tests/fuzz/${f}_fuzz -max_total_time="${SWD_FUZZ_SECONDS:-30}" \
        -max_len=4096 -print_final_stats=1 "$corpus" 2>&1 | tail -n 4
    rm -rf "$corpus"
done

step "all tests passed"
