#include "calibration_report.h"

#include <cmath>
#include <ctime>
#include <fmt/format.h>

namespace swd::ctl {

namespace {

json ns(double v) {
    return v < 0 ? json() : json(std::round(v * 10) / 10);
}

} // namespace

json calibration_json(const flows::calibration& c) {
    const dp::cost_measurements& m = c.measured;
    json kinds = json::array();
    for (size_t k = 0; k < dp::n_rule_kinds; k++) {
        const dp::kind_costs& kc = m.kinds[k];
        kinds.push_back({{"kind", dp::rule_kind_name(static_cast<dp::rule_kind>(k))},
                         {"rules", kc.rules},
                         {"probed_rules", kc.probed_rules},
                         {"live_packets", kc.live_packets},
                         {"weight", c.xdp[k] ? json(c.weight[k]) : json()},
                         {"xdp_program_ns", ns(kc.xdp_ns)},
                         {"user_exec_ns", ns(kc.user_exec_ns)},
                         {"xdp_ns", ns(c.xdp_ns[k])},
                         {"user_ns", ns(c.user_ns[k])},
                         {"placed", c.xdp[k] ? json(*c.xdp[k] ? "xdp" : "user") : json()},
                         {"why_not", c.why_not[k]}});
    }
    const std::time_t t = std::chrono::system_clock::to_time_t(c.when);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char when[32];
    std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return {{"when", when},
            {"table0_rules", m.table0_rules},
            {"table0_masks", m.table0_masks},
            {"sample_s", m.sample_s},
            {"live_rx", m.live_rx},
            {"live_tx", m.live_tx},
            {"xdp_to_user_ns", ns(m.xdp_to_user_ns)},
            {"user_rx_ns", ns(m.user_rx_ns)},
            {"user_tx_ns", ns(m.user_tx_ns)},
            {"user_why_not", m.user_why_not},
            {"xdp_tx_ns", ns(m.xdp_tx_ns)},
            {"xdp_tx_why_not", m.xdp_tx_why_not},
            {"xsk_rx_ns", ns(m.xsk_rx_ns)},
            {"xsk_rx_why_not", m.xsk_rx_why_not},
            {"kinds", std::move(kinds)},
            {"chosen_ns", ns(c.chosen_ns)},
            {"all_user_ns", ns(c.all_user_ns)},
            {"all_xdp_ns", ns(c.all_xdp_ns)},
            // null: not priced; "never": XDP drops cost more than user-space ones.
            {"drop_offload_share", !c.drop_offload_share ? json()
                                   : std::isinf(*c.drop_offload_share)
                                       ? json("never")
                                       : json(*c.drop_offload_share)}};
}

} // namespace swd::ctl
