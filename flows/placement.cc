#include "placement.h"

#include <algorithm>

#include "calibration.h"

namespace swd::flows {

namespace {

enum class kind { drop, local, pass_through };

// Why XDP cannot run these actions, or nullptr when it can; *k says what the rule does.
const char* xdp_cannot_run(const rule& r, kind* k) {
    if (r.table != 0) {
        return "XDP searches table 0 only";
    }
    if (r.queue) {
        return "queue= steers its flows to a user-space queue";
    }
    *k = kind::drop;
    bool sent = false;
    for (const swd_action& a : r.actions) {
        switch (a.type) {
        case SWD_ACT_OUTPUT:
        case SWD_ACT_IN_PORT:
        case SWD_ACT_LOCAL:
            if (sent) {
                return "more than one output";
            }
            sent = true;
            *k = a.type == SWD_ACT_LOCAL ? kind::local : kind::pass_through;
            break;
        case SWD_ACT_SET_ETH_SRC:
        case SWD_ACT_SET_ETH_DST:
        case SWD_ACT_SET_IPV4_SRC:
        case SWD_ACT_SET_IPV4_DST:
        case SWD_ACT_SET_TP_SRC:
        case SWD_ACT_SET_TP_DST:
        case SWD_ACT_DEC_TTL:
            if (sent) {
                return "a rewrite after an output";
            }
            break;
        case SWD_ACT_SET_QUEUE:
            return "set_queue runs in user space";
        case SWD_ACT_CT_COMMIT:
            if (sent) {
                return "ct(commit) after an output";
            }
            break;
        case SWD_ACT_GOTO_TABLE:
            return "goto_table runs in user space";
        case SWD_ACT_LB:
            if (sent) {
                return "lb() after an output";
            }
            if (a.arg >= SWD_LB_XDP_MAX_POOLS) {
                return "XDP holds the pools of ids 0-15";
            }
            *k = kind::pass_through;
            break;
        default:
            return "an action XDP does not have";
        }
    }
    return nullptr;
}

// The rule matches ct_state or commits: it needs the tracker, which runs in XDP only when all
// of table 0 does (netdev-afxdp/xdp_tables.h).
bool tracks(const rule& r) {
    return r.match.mask.f.ct_state != 0 || std::ranges::any_of(r.actions, [](const swd_action& a) {
               return a.type == SWD_ACT_CT_COMMIT;
           });
}

bool names_local_in_port(const rule& r) {
    return r.match.mask.f.in_port == 0xffff && r.match.value.f.in_port == ofport_local;
}

} // namespace

const char* profile_name(profile p) {
    switch (p) {
    case profile::hybrid:
        return "hybrid";
    case profile::all_xdp:
        return "all-xdp";
    case profile::all_user:
        return "all-user";
    case profile::adaptive:
        return "adaptive";
    case profile::calibrated:
        return "calibrated";
    }
    return "?";
}

std::optional<profile> parse_profile(std::string_view s) {
    for (profile p : {profile::hybrid, profile::all_xdp, profile::all_user, profile::adaptive,
                      profile::calibrated}) {
        if (s == profile_name(p)) {
            return p;
        }
    }
    return std::nullopt;
}

bool offloadable_drop(const rule& r) {
    kind k = kind::drop;
    return xdp_cannot_run(r, &k) == nullptr && k == kind::drop && r.place == placement::automatic &&
           !names_local_in_port(r) && !tracks(r);
}

placement_decision decide_placement(const rule& r, profile p, bool offloaded,
                                    const calibration* cal) {
    kind k = kind::drop;
    if (const char* why = xdp_cannot_run(r, &k)) {
        return {false, why};
    }
    switch (r.place) {
    case placement::xdp:
        return {true, "placement=xdp"};
    case placement::user:
        return {false, "placement=user"};
    case placement::automatic:
        break;
    }
    if (tracks(r) && p != profile::all_xdp) {
        return {false, "connection tracking: in XDP only with all of table 0 (all-xdp)"};
    }
    // Profiles that follow `swctl calibrate` where it measured: calibrated for every kind,
    // adaptive for local and pass-through (it moves drops by the traffic, flows/adaptive.h).
    const bool follows_cal = follows_calibration(p);
    auto calibrated = [&](dp::rule_kind dk) -> std::optional<placement_decision> {
        const std::optional<bool> xdp =
            follows_cal && cal ? cal->xdp[static_cast<size_t>(dk)] : std::nullopt;
        if (!xdp) {
            return std::nullopt;
        }
        return placement_decision{*xdp,
                                  *xdp ? "calibrated: cheaper in XDP on this machine"
                                       : "calibrated: cheaper in user space on this machine",
                                  true};
    };
    if (k == kind::local) {
        return calibrated(dp::rule_kind::local)
            .value_or(placement_decision{true, "local traffic: XDP_PASS to the kernel stack",
                                         follows_cal});
    }
    if (names_local_in_port(r)) {
        // The host's own traffic: only the TC egress program (and the local port's dispatcher)
        // sees it; a rule left to user space would not act on what leaves by a port.
        return {true, "in_port=LOCAL: the TC egress program runs it"};
    }
    switch (p) {
    case profile::all_xdp:
        return {true, "profile all-xdp"};
    case profile::all_user:
        return {false, "profile all-user"};
    case profile::adaptive:
        if (k == kind::drop) {
            return offloaded ? placement_decision{true, "adaptive: a hot drop rule while drops "
                                                        "dominate the traffic"}
                             : placement_decision{false, "drop: user space until drops dominate "
                                                         "(adaptive)"};
        }
        return calibrated(dp::rule_kind::pass_through)
            .value_or(placement_decision{false, "pass-through: user space (adaptive)"});
    case profile::calibrated:
        return calibrated(k == kind::drop ? dp::rule_kind::drop : dp::rule_kind::pass_through)
            .value_or(placement_decision{
                false,
                k == kind::drop ? "drop: no calibrated figures, user space (as hybrid)"
                                : "pass-through: no calibrated figures, user space (as hybrid)",
                true});
    case profile::hybrid:
        break;
    }
    return {false, k == kind::drop ? "drop: user space unless drops dominate (hybrid)"
                                   : "pass-through: user space (hybrid)"};
}

} // namespace swd::flows
