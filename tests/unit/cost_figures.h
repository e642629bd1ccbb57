// Cost figures for tests of the calibrated and adaptive profiles (datapath/costs.h), as
// `swctl calibrate` would measure them.
#pragma once

#include "datapath/costs.h"

namespace swd::test {

// Figures of a machine where AF_XDP is cheap (a NIC in zero-copy, busy polling).
inline dp::cost_measurements cheap_user_space() {
    dp::cost_measurements m;
    m.xdp_to_user_ns = 15;
    m.user_rx_ns = 30;
    m.user_tx_ns = 30;
    m.xdp_tx_ns = 90;
    const double xdp[] = {45, 55, 40};
    for (size_t k = 0; k < dp::n_rule_kinds; k++) {
        m.kinds[k].xdp_ns = xdp[k];
        m.kinds[k].user_exec_ns = 20;
        m.kinds[k].rules = 10;
        m.kinds[k].probed_rules = 10;
    }
    m.kinds[size_t(dp::rule_kind::local)].rules = 0; // no local rule
    m.kinds[size_t(dp::rule_kind::local)].xdp_ns = -1;
    m.kinds[size_t(dp::rule_kind::local)].user_exec_ns = -1;
    m.kinds[size_t(dp::rule_kind::local)].why_not = "no rule of this kind that XDP can run";
    return m;
}

} // namespace swd::test
