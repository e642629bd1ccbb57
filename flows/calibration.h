// The calibrated profile's decision: from the costs `swctl calibrate` measured on this machine
// (datapath/costs.h), where each kind of rule (drop, pass-through, local) runs.
//
// The model, per packet of a kind k:
//   in XDP:        xdp_ns(k) + (pass-through ? xdp_tx_ns : 0)
//   in user space: dispatch + xsk_rx_ns + user_rx_ns + user_exec_ns(k)
//                  + (k sends ? user_tx_ns : 0)
// where dispatch is xdp_ns(k) when the dispatcher searches the rules (some rule runs in XDP: its
// search then costs every packet, the "classified twice" price) and xdp_to_user_ns when it does
// not (local traffic's kernel stack costs the same either way and is left out; user space hands
// it over by a transmit to the local port). Each placement of the kinds is priced by the
// packets of each kind in the live sample (equal weights without traffic) and the cheapest
// wins. So a rule is not moved to XDP for its own sake alone: XDP drops that switch the search
// on for a mostly forwarded traffic can cost more than they save (the study's Takeaways 4 and
// 5, as arithmetic).
//
// A path without the figures it needs is not measured: no rule of the kind that XDP can run,
// no user-space traffic in the live sample (or no transmit, for a kind that sends), no
// transmit probe for XDP pass-through (ports that are not veths). A kind with one measured
// path runs there; a kind with neither follows the hybrid profile (the study's rules); show
// says why.
//
// The adaptive profile (flows/adaptive.h) takes its shares from the same model: drop rules in
// XDP save (user-space drop - XDP drop) on each dropped packet and may cost the others the
// search (when no other kind switches it on already); they pay once drops are at least
// drop_offload_share of the traffic, extra / (saved + extra), with the other kinds weighted by
// the live sample and placed as decided.
#pragma once

#include <array>
#include <chrono>
#include <optional>

#include "datapath/costs.h"

namespace swd::flows {

struct calibration {
    dp::cost_measurements measured;
    std::array<std::optional<bool>, dp::n_rule_kinds> xdp; // nullopt: not measured
    std::array<std::string, dp::n_rule_kinds> why_not;     // when not measured
    std::array<double, dp::n_rule_kinds> weight{};         // share of the live packets
    // Modelled ns per packet of each kind in XDP and in user space, given the chosen placement
    // (the user-space cost depends on whether the dispatcher searches); -1: not measured.
    std::array<double, dp::n_rule_kinds> xdp_ns{-1, -1, -1}, user_ns{-1, -1, -1};
    // Weighted over the measured kinds: the chosen placement, all of them in user space, all
    // of them in XDP.
    double chosen_ns = -1, all_user_ns = -1, all_xdp_ns = -1;
    // The drop share from which drop rules in XDP pay (0: any; +inf: never, XDP drops cost more);
    // nullopt when the drops' two paths are not both measured.
    std::optional<double> drop_offload_share;
    std::chrono::system_clock::time_point when{};
};

calibration decide_calibration(const dp::cost_measurements& m);

} // namespace swd::flows
