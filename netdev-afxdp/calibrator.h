// swctl calibrate's probes (datapath/costs.h): what a packet costs in the XDP dispatcher and in
// user space on this machine, with the table in use.
//
//  - probe_rules(): up to 16 rules of each kind (drop, pass-through, local) of table 0 that XDP
//    can run, spread over the table, each with a frame built from its match (dp::frame_for)
//    and checked to be won by a rule of that kind. p is table 0 compiled in the all-xdp
//    profile: every rule XDP can run is marked so.
//  - probe_static(): the dispatcher's time per frame by BPF_PROG_TEST_RUN (repeat) on a copy of
//    the dispatcher over fresh maps holding p (so no live counter or session moves), and its
//    time with the search off; the user-space executor's time per frame on the same frames
//    (classify, act, count; outputs discarded), on private state.
//  - the live figures (user_rx_ns, user_tx_ns, live packets per kind) come from the running
//    datapath: afxdp_datapath::measure_costs.
// Not in either path's figure: the transmit that follows XDP_TX / XDP_REDIRECT, the kernel's
// copy into the UMEM in copy mode and the driver's receive work (except in busy-poll mode, where
// the polling thread does it). Control thread; allocates.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "datapath/classifier.h"
#include "datapath/costs.h"
#include "datapath/util/result.h"

namespace swd::afxdp {

struct probe_frame {
    dp::rule_kind kind;
    uint16_t in_port;
    std::vector<uint8_t> frame;
};

struct probe_port {
    uint16_t ofport;
    int ifindex;
};

// Fills m.kinds[*].rules, probed_rules and why_not; default_in_port for rules without in_port.
std::vector<probe_frame> probe_rules(const dp::pipeline& p, uint16_t default_in_port,
                                     dp::cost_measurements& m);

// The transmit after XDP_TX, in ns per packet: live-frames BPF_PROG_TEST_RUN of a program
// returning XDP_TX against one returning XDP_DROP, on a veth pair that swd creates for the
// probe (its peer drops) and deletes after.
result<double> probe_xdp_transmit(uint32_t frames);

// Fills xdp_ns, xdp_to_user_ns and user_exec_ns; iterations per frame for each.
result<void> probe_static(const dp::pipeline& p, std::span<const probe_frame> frames,
                          std::span<const probe_port> ports, uint32_t max_rules,
                          uint32_t iterations, dp::cost_measurements& m);

} // namespace swd::afxdp
