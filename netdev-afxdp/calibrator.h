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
// On veth ports, probe_veth adds the transmit after XDP_TX and the kernel's receive into an
// AF_XDP socket in copy mode; on other drivers those are not probed (it would mean sending on
// them). Control thread; allocates.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "datapath/classifier.h"
#include "datapath/costs.h"
#include "datapath/util/result.h"
#include "ntuple.h"
#include "pmd.h"

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

// On a veth pair that swd creates for the probe and deletes after (nothing leaves it), by
// live-frames BPF_PROG_TEST_RUN of a program returning XDP_TX on one end, whose frames the
// other end's NAPI takes in the same loop: the transmit (against XDP_DROP on that end), and the
// receive into an AF_XDP socket in copy mode there (against the same drop).
struct veth_costs {
    double xdp_tx_ns = -1;
    double xsk_rx_ns = -1;
    std::string xsk_why_not;
};
result<veth_costs> probe_veth(uint32_t frames);

// The kernel-side costs: xdp_tx_ns and xsk_rx_ns when every port is a veth (probe_veth), else
// the why_nots.
void probe_kernel_side(ethtool_channel& channel, std::span<const std::string> ports,
                       dp::cost_measurements& m);

// The polling threads' own clock (pmd::set_timing) over seconds of the traffic running: fills
// user_rx_ns, user_tx_ns (or user_why_not), live_rx, live_tx and sample_s. Sleeps.
void sample_threads(std::span<const std::unique_ptr<pmd>> threads, double seconds,
                    dp::cost_measurements& m);

// Fills xdp_ns, xdp_to_user_ns and user_exec_ns; iterations per frame for each.
result<void> probe_static(const dp::pipeline& p, std::span<const probe_frame> frames,
                          std::span<const probe_port> ports, uint32_t max_rules,
                          uint32_t iterations, dp::cost_measurements& m);

} // namespace swd::afxdp
