// Placement: where each rule runs, in the XDP dispatcher or in the user-space datapath.
//
// The dispatcher searches table 0 with every rule in it (docs/architecture.md, "The XDP
// dispatcher"); a winning rule placed in XDP runs there, any other winner sends the packet to
// user space. So placement is a property of one rule, decided from its actions, its own
// placement= and the switch's profile:
//  - XDP can run a rule of table 0 whose actions are rewrites (mod_*, dec_ttl) followed by at
//    most one of output, in_port and local, or a drop. Several outputs, set_queue, goto_table,
//    lb(), queue= (steering to a user-space queue) and rules of other tables run in user space,
//    and the reason says why.
//  - placement=xdp and placement=user are obeyed when possible.
//  - placement=auto puts rules that name in_port=LOCAL in XDP in every profile: they act on
//    what this host sends, which the TC egress program sees (docs/architecture.md, "The TC
//    egress program") and user space does not.
//  - otherwise placement=auto follows the study (../shared/docs/paper-notes.md, Takeaways 1-5) in
//    the profile in force:
//      hybrid   (default) local rules in XDP (XDP_PASS: the kernel stack at no extra copy), drops
//               and pass-through in user space;
//      all-xdp  everything XDP can run, in XDP;
//      all-user only local rules in XDP; the rest goes to user space.
//      adaptive as hybrid, but the drop rules that flows/adaptive.h chose while drops dominated
//               the traffic (the compiler marks them "offloaded") run in XDP (Takeaway 4).
//               After a calibration, local and pass-through rules go where it measured them
//               cheaper, and the drop share that moves drops comes from its figures.
//      calibrated each kind of rule (drop, pass-through, local) where `swctl calibrate`
//               measured it cheaper on this machine (flows/calibration.h); a kind it could not
//               measure, and every rule before a calibration, as hybrid.
#pragma once

#include <optional>
#include <string_view>

#include "rule.h"

namespace swd::flows {

enum class profile : uint8_t { hybrid, all_xdp, all_user, adaptive, calibrated };

struct calibration;

const char* profile_name(profile p);
// Whether rules are placed by `swctl calibrate`'s figures (flows/calibration.h) in this profile:
// calibrated, and adaptive (all but its drop rules).
inline bool follows_calibration(profile p) {
    return p == profile::calibrated || p == profile::adaptive;
}
std::optional<profile> parse_profile(std::string_view s);

struct placement_decision {
    bool xdp = false;
    const char* reason = ""; // why, in a few words, for dump-flows
    bool calibrated = false; // the calibrated profile's figures for the rule's kind decided (or
                             // were missing, and hybrid's rule did)
};

// offloaded: the adaptive profile chose this rule for XDP; cal: the calibrated profile's
// figures (null: none yet). Each is ignored by the other profiles.
placement_decision decide_placement(const rule& r, profile p, bool offloaded = false,
                                    const calibration* cal = nullptr);

// Whether the adaptive profile may move this rule: a drop rule of table 0 that XDP can run,
// with placement=auto and not in_port=LOCAL (those are in XDP in every profile).
bool offloadable_drop(const rule& r);

} // namespace swd::flows
