#include "calibration.h"

#include <algorithm>
#include <limits>
#include <utility>

namespace swd::flows {

namespace {

bool sends(size_t k) {
    return static_cast<dp::rule_kind>(k) != dp::rule_kind::drop;
}

} // namespace

calibration decide_calibration(const dp::cost_measurements& m) {
    calibration c;
    c.measured = m;
    c.when = std::chrono::system_clock::now();
    constexpr size_t n = dp::n_rule_kinds;
    // Which paths of each kind have every figure they need.
    bool can_xdp[n] = {}, can_user[n] = {};
    std::string why_xdp[n], why_user[n];
    for (size_t k = 0; k < n; k++) {
        const dp::kind_costs& kc = m.kinds[k];
        if (kc.xdp_ns < 0 || kc.user_exec_ns < 0) {
            why_xdp[k] = why_user[k] = kc.why_not.empty() ? "not probed" : kc.why_not;
            continue;
        }
        if (m.xdp_tx_ns < 0 && static_cast<dp::rule_kind>(k) == dp::rule_kind::pass_through) {
            why_xdp[k] = m.xdp_tx_why_not;
        } else {
            can_xdp[k] = true;
        }
        if (m.user_rx_ns < 0) {
            why_user[k] = m.user_why_not;
        } else if (sends(k) && m.user_tx_ns < 0) {
            why_user[k] = "no packet sent in user space during the live sample";
        } else {
            can_user[k] = true;
        }
    }
    // Kinds with both paths measured are free; the others follow hybrid (local in XDP, the
    // rest in user space), priced when that path is measured.
    unsigned free = 0, fixed_xdp = 0, priced = 0;
    double total_weight = 0;
    for (size_t k = 0; k < n; k++) {
        const bool hybrid_xdp = static_cast<dp::rule_kind>(k) == dp::rule_kind::local;
        if (can_xdp[k] && can_user[k]) {
            free |= 1u << k;
        } else {
            fixed_xdp |= hybrid_xdp && m.kinds[k].rules > 0 ? 1u << k : 0;
            c.why_not[k] = !can_xdp[k] && !can_user[k] && why_xdp[k] == why_user[k] ? why_xdp[k]
                           : !can_xdp[k] && !can_user[k]
                               ? "XDP: " + why_xdp[k] + "; user space: " + why_user[k]
                           : !can_xdp[k] ? "XDP: " + why_xdp[k]
                                         : "user space: " + why_user[k];
            if (!(hybrid_xdp ? can_xdp[k] : can_user[k])) {
                continue;
            }
        }
        priced |= 1u << k;
        total_weight += static_cast<double>(m.kinds[k].live_packets);
    }
    for (size_t k = 0; k < n; k++) {
        if ((priced >> k) & 1) {
            c.weight[k] = total_weight > 0
                              ? static_cast<double>(m.kinds[k].live_packets) / total_weight
                              : 1.0;
        }
    }
    // ns per packet of kind k on each path when the kinds of in_xdp run in XDP.
    auto costs = [&](size_t k, unsigned in_xdp) {
        const dp::kind_costs& kc = m.kinds[k];
        const bool search = in_xdp != 0;
        const double dispatch = search || m.xdp_to_user_ns < 0 ? kc.xdp_ns : m.xdp_to_user_ns;
        const double user = can_user[k] ? dispatch + std::max(0.0, m.xsk_rx_ns) + m.user_rx_ns +
                                              kc.user_exec_ns + (sends(k) ? m.user_tx_ns : 0)
                                        : -1;
        const bool transmits = static_cast<dp::rule_kind>(k) == dp::rule_kind::pass_through;
        const double xdp = can_xdp[k] ? kc.xdp_ns + (transmits ? m.xdp_tx_ns : 0) : -1;
        return std::pair{xdp, user};
    };
    auto total = [&](unsigned in_xdp) {
        double sum = 0, weights = 0;
        for (size_t k = 0; k < n; k++) {
            if ((priced >> k) & 1) {
                auto [x, u] = costs(k, in_xdp);
                sum += c.weight[k] * (((in_xdp >> k) & 1) ? x : u);
                weights += c.weight[k];
            }
        }
        return weights > 0 ? sum / weights : -1;
    };
    if (priced == 0) {
        return c;
    }
    unsigned best = fixed_xdp;
    double best_ns = total(best);
    for (unsigned choice = 1; choice < (1u << n); choice++) {
        if ((choice & ~free) == 0) {
            const double t = total(fixed_xdp | choice);
            if (t < best_ns) {
                best = fixed_xdp | choice;
                best_ns = t;
            }
        }
    }
    // A kind without traffic costs nothing either way: it goes where the study puts it (local
    // in XDP, the rest in user space) unless that makes the others dearer.
    for (size_t k = 0; k < n; k++) {
        if (((free >> k) & 1) && c.weight[k] == 0) {
            const bool study_xdp = static_cast<dp::rule_kind>(k) == dp::rule_kind::local;
            const unsigned other = study_xdp ? best | (1u << k) : best & ~(1u << k);
            if (total(other) <= best_ns) {
                best = other;
            }
        }
    }
    c.chosen_ns = best_ns;
    if (fixed_xdp == 0) {
        c.all_user_ns = total(0);
    }
    c.all_xdp_ns = total(fixed_xdp | free);
    if (constexpr size_t d = static_cast<size_t>(dp::rule_kind::drop); (free >> d) & 1) {
        const unsigned on = best | (1u << d), off = best & ~(1u << d);
        const double saved = costs(d, off).second - costs(d, on).first;
        // What a packet of another kind in user space pays more with the drops in XDP (the
        // search, unless another kind in XDP has it on already), weighted by the live packets
        // (equally without any).
        double extra = 0, weights = 0, extra_equal = 0, kinds = 0;
        for (size_t k = 0; k < n; k++) {
            if (k != d && ((priced >> k) & 1)) {
                const double more =
                    ((best >> k) & 1) ? 0 : costs(k, on).second - costs(k, off).second;
                extra += c.weight[k] * more;
                weights += c.weight[k];
                extra_equal += more;
                kinds += 1;
            }
        }
        extra = std::max(0.0, weights > 0 ? extra / weights : kinds > 0 ? extra_equal / kinds : 0);
        c.drop_offload_share =
            saved <= 0 ? std::numeric_limits<double>::infinity() : extra / (saved + extra);
    }
    for (size_t k = 0; k < n; k++) {
        if ((free >> k) & 1) {
            c.xdp[k] = ((best >> k) & 1) != 0;
        }
        if ((priced >> k) & 1) {
            auto [x, u] = costs(k, best);
            c.xdp_ns[k] = x;
            c.user_ns[k] = u;
        }
    }
    return c;
}

} // namespace swd::flows
