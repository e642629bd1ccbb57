// Adaptive placement (the study's Takeaway 4; ../shared/docs/paper-notes.md): when drops make up
// most of the traffic for a while, the hottest drop rules move into the XDP dispatcher, where a
// drop costs a fraction of a trip through AF_XDP; when drops fall back, they return to user
// space. This file is the decision, fed once a tick (about a second) by the control service
// (tools/control/service.cc), which reads the counters and applies the moves:
//
//  - the drop share of a tick: frames that rules dropped (in XDP and in user space) over frames
//    that met the rules (XDP ran a rule on them, or user space received them: under overload
//    the frames lost on a full AF_XDP ring are a sample neither way); a tick with fewer than
//    min_packets frames says nothing and breaks a streak;
//  - at or above offload_share: a streak begins, and the service samples the counters of the
//    offloadable drop rules (flows/placement.h). When the share has stayed there `sustain`
//    more ticks: offload. The service ranks those rules by the packets they matched since the
//    sample and marks the hottest ones that matched any, up to `budget` rules offloaded in
//    all, then samples again; while the share stays high it does so every `sustain` ticks,
//    for rules that became hot since;
//  - below return_share for `sustain` ticks in a row, with rules offloaded: every offloaded
//    rule returns to user space. Between the two shares nothing moves (hysteresis).
//  - the two shares are the options' (the study's 75 % and 60 % by default) until `swctl
//    calibrate` prices the drops on this machine: then the offload share is the break-even
//    share of its model (flows/calibration.h; 0 when drops in XDP cost the rest nothing, as
//    where pass-through runs in XDP too; infinite when XDP drops cost more) and the return
//    share keeps the options' ratio to it.
//
// A move is hitless: a rule is in the XDP maps and in the user-space classifier in every
// profile (the dispatcher finds the same winner as user space), and a move flips where that
// winner runs, entry by entry, so every packet meets the rule on one path or the other.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

namespace swd::flows {

struct adaptive_options {
    double offload_share = 0.75; // drops at or above this share of the traffic...
    double return_share = 0.60;  // ...or below this one...
    unsigned sustain = 3;        // ...for this many ticks in a row move rules
    size_t budget = 1024;        // rules offloaded at most (the study: what fits L2/L3)
    uint64_t min_packets = 1000; // a tick with less traffic says nothing
};

class adaptive_policy {
public:
    enum class step : uint8_t {
        none,
        sample,    // a streak of high ticks begins: sample the candidates' counters
        offload,   // offload the hottest candidates since the sample, then sample again
        take_back, // return every offloaded rule to user space
    };

    explicit adaptive_policy(adaptive_options o = {}) : opts_(o) {}

    // New shares from the next tick on; the streaks go on.
    void set_shares(double offload, double ret) {
        opts_.offload_share = offload;
        opts_.return_share = ret;
    }

    // One tick: frames received and dropped by rules since the last one; any_offloaded: whether
    // rules are offloaded now.
    step observe(uint64_t received, uint64_t dropped, bool any_offloaded);

    const adaptive_options& options() const { return opts_; }
    double last_share() const { return share_; } // < 0: the last tick said nothing
    unsigned high_streak() const { return high_; }
    unsigned low_streak() const { return low_; }

private:
    adaptive_options opts_;
    double share_ = -1;
    unsigned high_ = 0, low_ = 0;
};

// The ids of at most n of these (rule id, packets) pairs with the most packets, most first;
// pairs with 0 packets are never chosen.
std::vector<uint32_t> hottest(std::span<const std::pair<uint32_t, uint64_t>> hits, size_t n);

} // namespace swd::flows
