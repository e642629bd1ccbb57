#!/bin/sh
# Installs what swd needs to build, test and run on Debian 12 (as root).
#   tools/install-deps.sh          build, test and demo dependencies (openvswitch-common gives
#                                  ovs-ofctl, the oracle of the flow-syntax corpus test;
#                                  memcached is the local application of the dispatcher lab test;
#                                  libdpdk-dev gives the rte_hash session table its build and
#                                  tests, -Dlb_session_table=rte_hash)
#   tools/install-deps.sh --bench  also Open vSwitch, the peer the benchmarks compare against
set -eu
packages="g++ clang llvm meson ninja-build pkg-config clang-format
  libbpf-dev libxdp-dev bpftool libboost-program-options-dev libgtest-dev libgmock-dev
  libpcap-dev libfmt-dev nlohmann-json3-dev iproute2 tcpdump ethtool procps iputils-ping
  netcat-openbsd jq memcached
  openvswitch-common libdpdk-dev"
if [ "${1:-}" = "--bench" ]; then
    packages="$packages openvswitch-switch"
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $packages >/dev/null
echo "install-deps: installed $(echo $packages | wc -w) packages"
