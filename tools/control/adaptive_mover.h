// The adaptive profile at work: once a tick, reads what the datapath received and what rules
// dropped, asks flows::adaptive_policy (flows/adaptive.h) what to do, and moves drop rules
// between user space and XDP through the rule table (rule_table::set_offloaded). Every move is
// logged and kept for show. Control thread only.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "datapath/datapath.h"
#include "flows/adaptive.h"
#include "flows/rule_table.h"
#include "protocol.h"

namespace swd::ctl {

class adaptive_mover {
public:
    explicit adaptive_mover(flows::adaptive_options o) : configured_(o), policy_(o) {}

    // Forgets streaks and samples (the profile just became adaptive).
    void restart();

    // One tick of the adaptive profile. Returns whether the table was published (moves made).
    bool tick(flows::rule_table& table, const dp::datapath& dp);

    // For show: the share, the streaks, the options, what is offloaded, the last move.
    json status(const flows::rule_table& table) const;

private:
    using hits = std::vector<std::pair<uint32_t, uint64_t>>; // (rule id, packets)

    // The offloadable drop rules not offloaded yet, with their packet counts.
    hits sample(const flows::rule_table& table, const dp::datapath& dp) const;
    void moved(std::string what);
    // The shares in force: the calibration's when it priced the drops, else the options'.
    void follow(const flows::calibration* cal);

    flows::adaptive_options configured_;
    bool calibrated_shares_ = false;
    flows::adaptive_policy policy_;
    bool have_totals_ = false;
    uint64_t received_ = 0, dropped_ = 0; // totals at the last tick
    hits sample_;
    std::string last_move_;
    uint64_t moves_ = 0;
};

} // namespace swd::ctl
