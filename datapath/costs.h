// What `swctl calibrate` measures: per-packet costs of the two paths on this machine, by what a
// rule does (drop, pass-through, local), at the size of the table in use.
//
// The datapath measures (netdev-afxdp/calibrator.h); flows/calibration.h turns the figures into
// a placement. Every figure is nanoseconds per packet; a negative one was not measured, and
// why_not says why.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "flow_key.h"

namespace swd::dp {

enum class rule_kind : uint8_t { drop, pass_through, local };
inline constexpr size_t n_rule_kinds = 3;

const char* rule_kind_name(rule_kind k);
// What a rule does by its actions: local when its first output is local, pass-through when it
// is another output or lb(), drop when it has none.
rule_kind kind_of(std::span<const swd_action> actions) noexcept;

struct kind_costs {
    // The XDP dispatcher running a rule of this kind, every rule XDP can run placed there
    // (BPF_PROG_TEST_RUN on a copy of the dispatcher and its maps: no device, no transmit).
    double xdp_ns = -1;
    // The user-space executor (classify, act, count) on the same frames, no I/O.
    double user_exec_ns = -1;
    uint32_t rules = 0;        // rules of this kind in table 0 that XDP can run
    uint32_t probed_rules = 0; // of those, the ones whose frames were timed
    uint64_t live_packets = 0; // packets of this kind's rules during the live sample
    std::string why_not;       // when xdp_ns or user_exec_ns is not measured
};

struct cost_measurements {
    std::array<kind_costs, n_rule_kinds> kinds;
    // The dispatcher with its rule search off: every frame straight to its queue's socket.
    double xdp_to_user_ns = -1;
    // From the live datapath: the polling threads' time per received packet outside the executor
    // and the transmit flushes (rings, refill, wakeups), and per transmitted packet in the
    // flushes (tx ring, kick, completions), over sample_s seconds of real traffic.
    double user_rx_ns = -1;
    double user_tx_ns = -1;
    // The transmit that follows XDP_TX, per packet (live-frames BPF_PROG_TEST_RUN on a veth pair
    // of swd's own, when the ports are veths: the probe must not send on a real port).
    double xdp_tx_ns = -1;
    std::string xdp_tx_why_not;
    // The kernel's receive into an AF_XDP socket in copy mode (the copy into the UMEM), beyond
    // an XDP_DROP: outside the polling threads, so not in user_rx_ns. Same probe as xdp_tx_ns;
    // not measured: left out of the user-space cost (zero-copy has no such copy).
    double xsk_rx_ns = -1;
    std::string xsk_rx_why_not;
    uint64_t live_rx = 0, live_tx = 0;
    double sample_s = 0;
    std::string user_why_not; // when user_rx_ns is not measured
    size_t table0_rules = 0;
    size_t table0_masks = 0;
};

// A frame that the key's fields describe (Ethernet, VLAN, IPv4/IPv6, TCP/UDP/ICMP, ARP), at
// least 60 bytes: extract_key on it gives the key back on every field a packet can carry.
// Fields left zero get ordinary values (UDP for an IP key without a protocol, TTL 64).
std::vector<uint8_t> frame_for(const flow_key& k);

} // namespace swd::dp
