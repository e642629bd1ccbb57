#include "adaptive_mover.h"

#include <cmath>
#include <fmt/format.h>

#include "datapath/util/log.h"

namespace swd::ctl {

namespace {

// Frames that met the rules (XDP ran a rule on them, or user space received them), and frames
// rules dropped (in XDP and in user space), since the datapath started. Not the frames the
// dispatchers received: under overload most of those are lost on a full AF_XDP ring before any
// rule sees them, and the share would say little about the rules.
std::pair<uint64_t, uint64_t> traffic(const dp::datapath& dp) {
    uint64_t met = 0, dropped = 0;
    for (const auto& p : dp.ports()) {
        met += p.xdp[SWD_XC_DROP_RULE] + p.xdp[SWD_XC_PASS] + p.xdp[SWD_XC_TX] +
               p.xdp[SWD_XC_REDIRECT];
        dropped += p.xdp[SWD_XC_DROP_RULE];
        for (const auto& q : p.queues) {
            met += q.counters[static_cast<size_t>(dp::port_counter::rx_packets)];
            dropped += q.counters[static_cast<size_t>(dp::port_counter::drop_action)];
        }
    }
    return {met, dropped};
}

std::vector<uint64_t> packets_of(const dp::datapath& dp, std::span<const uint32_t> ids) {
    std::vector<dp::rule_counters> c(ids.size());
    dp.read_counters(ids, c);
    std::vector<uint64_t> out(ids.size());
    for (size_t i = 0; i < ids.size(); i++) {
        out[i] = c[i].packets;
    }
    return out;
}

} // namespace

void adaptive_mover::restart() {
    policy_ = flows::adaptive_policy(policy_.options());
    have_totals_ = false;
    sample_.clear();
}

adaptive_mover::hits adaptive_mover::sample(const flows::rule_table& table,
                                            const dp::datapath& dp) const {
    std::vector<uint32_t> ids;
    table.current()->for_each([&](const flows::rule& r) {
        if (flows::offloadable_drop(r) && !table.offloaded(r.id)) {
            ids.push_back(r.id);
        }
    });
    const auto packets = packets_of(dp, ids);
    hits h(ids.size());
    for (size_t i = 0; i < ids.size(); i++) {
        h[i] = {ids[i], packets[i]};
    }
    return h;
}

void adaptive_mover::moved(std::string what) {
    log::info("adaptive: {}", what);
    last_move_ = std::move(what);
    moves_++;
}

void adaptive_mover::follow(const flows::calibration* cal) {
    const bool calibrated = cal && cal->drop_offload_share;
    double offload = configured_.offload_share, ret = configured_.return_share;
    if (calibrated) {
        offload = *cal->drop_offload_share;
        ret = offload * configured_.return_share / configured_.offload_share;
    }
    const auto& o = policy_.options();
    if (calibrated != calibrated_shares_ || offload != o.offload_share || ret != o.return_share) {
        log::info("adaptive: shares from the {}: {}", calibrated ? "calibration" : "options",
                  std::isinf(offload) ? std::string("drop rules stay in user space (XDP drops "
                                                    "cost more)")
                                      : fmt::format("drop rules to XDP at {:.0f}%, back below "
                                                    "{:.0f}%",
                                                    offload * 100, ret * 100));
    }
    calibrated_shares_ = calibrated;
    policy_.set_shares(offload, ret);
}

bool adaptive_mover::tick(flows::rule_table& table, const dp::datapath& dp) {
    follow(table.current_calibration());
    const auto [received, dropped] = traffic(dp);
    if (!have_totals_) {
        have_totals_ = true;
        received_ = received;
        dropped_ = dropped;
        return false;
    }
    const uint64_t d_received = received - received_, d_dropped = dropped - dropped_;
    received_ = received;
    dropped_ = dropped;
    const size_t before = table.n_offloaded();
    const auto& o = policy_.options();
    switch (policy_.observe(d_received, d_dropped, before > 0)) {
    case flows::adaptive_policy::step::none:
        return false;
    case flows::adaptive_policy::step::sample:
        sample_ = sample(table, dp);
        return false;
    case flows::adaptive_policy::step::offload: {
        std::vector<uint32_t> ids(sample_.size());
        for (size_t i = 0; i < ids.size(); i++) {
            ids[i] = sample_[i].first;
        }
        const auto now = packets_of(dp, ids);
        for (size_t i = 0; i < ids.size(); i++) {
            // A rule deleted since the sample may have given its id to a new rule: its count
            // restarted, and it is skipped below unless it is still an offloadable drop.
            sample_[i].second = now[i] >= sample_[i].second ? now[i] - sample_[i].second : 0;
        }
        const size_t room = o.budget > before ? o.budget - before : 0;
        auto chosen = flows::hottest(sample_, room);
        std::erase_if(chosen, [&](uint32_t id) {
            const flows::rule* r = table.current()->find(id);
            return !r || !flows::offloadable_drop(*r);
        });
        const size_t n = table.set_offloaded(chosen, true);
        sample_ = sample(table, dp);
        if (n == 0) {
            return false;
        }
        moved(fmt::format("drops {:.0f}% of the traffic for {} s: {} drop rule{} to XDP, {} of "
                          "{} offloaded",
                          policy_.last_share() * 100, policy_.high_streak(), n, n == 1 ? "" : "s",
                          table.n_offloaded(), o.budget));
        return true;
    }
    case flows::adaptive_policy::step::take_back: {
        std::vector<uint32_t> ids;
        table.current()->for_each([&](const flows::rule& r) {
            if (table.offloaded(r.id)) {
                ids.push_back(r.id);
            }
        });
        const size_t n = table.set_offloaded(ids, false);
        const std::string why =
            std::isinf(o.return_share)
                ? std::string("XDP drops cost more by the calibration")
                : fmt::format("below {:.0f}% for {} s", o.return_share * 100, o.sustain);
        moved(fmt::format("drops {:.0f}% of the traffic, {}: {} drop rule{} back to user space",
                          policy_.last_share() * 100, why, n, n == 1 ? "" : "s"));
        return n > 0;
    }
    }
    return false;
}

json adaptive_mover::status(const flows::rule_table& table) const {
    const auto& o = policy_.options();
    // Shares are null when drops never move (XDP drops cost more, by the calibration).
    auto share = [](double s) { return std::isinf(s) ? json() : json(s); };
    json j{{"offloaded", table.n_offloaded()},
           {"budget", o.budget},
           {"offload_share", share(o.offload_share)},
           {"return_share", share(o.return_share)},
           {"shares_from", calibrated_shares_ ? "calibration" : "options"},
           {"sustain_ticks", o.sustain},
           {"high_streak", policy_.high_streak()},
           {"low_streak", policy_.low_streak()},
           {"moves", moves_},
           {"last_move", last_move_}};
    j["drop_share"] = policy_.last_share() >= 0 ? json(policy_.last_share()) : json();
    return j;
}

} // namespace swd::ctl
