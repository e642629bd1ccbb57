// Adaptive placement: the policy's streaks and hysteresis (flows/adaptive.h), the choice of the
// hottest rules, and the control service moving drop rules to XDP and back on counters that a
// scripted datapath reports.
#include <gtest/gtest.h>
#include <map>

#include "tests/unit/cost_figures.h"
#include "tools/control/service.h"

namespace swd {
namespace {

using flows::adaptive_policy;
using step = adaptive_policy::step;
using ctl::json;

flows::adaptive_options options(unsigned sustain) {
    flows::adaptive_options o;
    o.sustain = sustain;
    return o;
}

TEST(AdaptivePolicy, OffloadsAfterASustainedHighShareAndAgainWhileItLasts) {
    adaptive_policy p(options(3));
    EXPECT_EQ(p.observe(10000, 8000, false), step::sample);
    EXPECT_DOUBLE_EQ(p.last_share(), 0.8);
    EXPECT_EQ(p.observe(10000, 8000, false), step::none);
    EXPECT_EQ(p.observe(10000, 7500, false), step::none) << "75% is at the threshold";
    EXPECT_EQ(p.observe(10000, 9000, false), step::offload);
    EXPECT_EQ(p.observe(10000, 9000, true), step::none);
    EXPECT_EQ(p.observe(10000, 9000, true), step::none);
    EXPECT_EQ(p.observe(10000, 9000, true), step::offload) << "rules that became hot since";
}

TEST(AdaptivePolicy, ABreakInTheStreakStartsItAgain) {
    adaptive_policy p(options(2));
    EXPECT_EQ(p.observe(10000, 9000, false), step::sample);
    EXPECT_EQ(p.observe(10000, 7000, false), step::none) << "inside the hysteresis band";
    EXPECT_EQ(p.observe(10000, 9000, false), step::sample);
    EXPECT_EQ(p.observe(500, 500, false), step::none) << "too little traffic says nothing";
    EXPECT_LT(p.last_share(), 0);
    EXPECT_EQ(p.observe(10000, 9000, false), step::sample);
    EXPECT_EQ(p.observe(10000, 9000, false), step::none);
    EXPECT_EQ(p.observe(10000, 9000, false), step::offload);
}

TEST(AdaptivePolicy, TakesBackOnlyBelowTheReturnShareAndOnlyWhatWasOffloaded) {
    adaptive_policy p(options(2));
    for (int i = 0; i < 10; i++) {
        EXPECT_EQ(p.observe(10000, 6500, true), step::none) << "65%: between the shares";
    }
    EXPECT_EQ(p.observe(10000, 1000, false), step::none);
    EXPECT_EQ(p.observe(10000, 1000, false), step::none) << "nothing offloaded: nothing to do";
    EXPECT_EQ(p.observe(10000, 1000, true), step::take_back);
    EXPECT_EQ(p.observe(10000, 1000, true), step::none) << "the streak starts again after a move";
    EXPECT_EQ(p.observe(10000, 1000, true), step::take_back);
    EXPECT_EQ(p.observe(10000, 12000, true), step::sample) << "a share is at most 100%";
    EXPECT_DOUBLE_EQ(p.last_share(), 1.0);
}

TEST(Hottest, MostPacketsFirstNeverIdleAtMostN) {
    const std::vector<std::pair<uint32_t, uint64_t>> hits = {
        {1, 5}, {2, 0}, {3, 90}, {4, 5}, {5, 40}};
    EXPECT_EQ(flows::hottest(hits, 2), (std::vector<uint32_t>{3, 5}));
    EXPECT_EQ(flows::hottest(hits, 10), (std::vector<uint32_t>{3, 5, 1, 4}));
    EXPECT_TRUE(flows::hottest(hits, 0).empty());
}

// A datapath whose traffic the test writes: one port's dispatcher counters and rule counts.
class scripted_datapath final : public dp::datapath {
public:
    const char* kind() const override { return "scripted"; }
    void publish(std::shared_ptr<const dp::pipeline> p, std::span<const uint32_t>) override {
        current = std::move(p);
    }
    uint64_t retired_version() const override { return current ? current->version - 1 : 0; }
    void read_counters(std::span<const uint32_t> ids,
                       std::span<dp::rule_counters> out) const override {
        for (size_t i = 0; i < ids.size(); i++) {
            auto it = packets.find(ids[i]);
            out[i] = {};
            out[i].packets = it == packets.end() ? 0 : it->second;
        }
    }
    result<dp::cost_measurements> measure_costs(const dp::pipeline&, double) override {
        return costs;
    }
    dp::rule_location where(uint32_t id) const override {
        return in_xdp(id) ? dp::rule_location::xdp : dp::rule_location::user;
    }
    std::vector<dp::port_stats> ports() const override {
        dp::port_stats p;
        p.name = "eth0";
        p.ofport = 1;
        p.xdp[SWD_XC_RX] = offered;
        p.xdp[SWD_XC_DROP_RULE] = dropped_in_xdp;
        dp::queue_stats q;
        q.counters[static_cast<size_t>(dp::port_counter::rx_packets)] = user_rx;
        q.counters[static_cast<size_t>(dp::port_counter::drop_action)] = dropped_in_user;
        p.queues.push_back(q);
        return {p};
    }
    // Whether the published pipeline places rule id in XDP.
    bool in_xdp(uint32_t id) const {
        bool xdp = false;
        for (const auto& st : current->table(0)->subtables()) {
            st->for_each([&](const dp::flow_key&, const dp::compiled_rule& r, auto) {
                if (r.rule_id == id) {
                    xdp = r.xdp;
                }
            });
        }
        return xdp;
    }

    std::shared_ptr<const dp::pipeline> current;
    dp::cost_measurements costs; // what swctl calibrate measures
    std::map<uint32_t, uint64_t> packets;
    uint64_t offered = 0; // frames at the dispatcher, most lost on a full ring (overload)
    uint64_t dropped_in_xdp = 0, user_rx = 0, dropped_in_user = 0;
};

class Adaptive : public ::testing::Test {
protected:
    Adaptive() {
        ctl::service_options o;
        o.ports = {{"eth0", 1}, {"eth1", 2}};
        o.profile = flows::profile::adaptive;
        o.adaptive.sustain = 2;
        o.adaptive.budget = 2;
        auto d = std::make_unique<scripted_datapath>();
        dp_ = d.get();
        svc_ = std::make_unique<ctl::service>(o, std::move(d));
        json r = svc_->handle({{"cmd", "add-flows"},
                               {"text", "priority=10,udp,tp_src=1000,actions=drop\n"
                                        "priority=10,udp,tp_src=1001,actions=drop\n"
                                        "priority=10,udp,tp_src=1002,actions=drop\n"
                                        "priority=10,udp,tp_src=1003,placement=user,actions=drop\n"
                                        "priority=1,actions=output:2\n"}});
        EXPECT_TRUE(r["ok"].get<bool>()) << r.dump();
        json d2 = svc_->handle({{"cmd", "dump-flows"}, {"format", "json"}});
        for (const auto& f : d2["result"]["flows"]) {
            ids_[f["match"].get<std::string>()] = f["id"].get<uint32_t>();
        }
    }
    uint32_t id(const std::string& match) { return ids_.at(match); }
    std::string why(uint32_t id) {
        json d = svc_->handle({{"cmd", "dump-flows"}, {"format", "json"}});
        for (const auto& f : d["result"]["flows"]) {
            if (f["id"] == id) {
                return f["why"];
            }
        }
        return "no such rule";
    }
    json adaptive() { return svc_->handle({{"cmd", "show"}})["result"]["adaptive"]; }
    // One second of traffic, overloaded: 100000 frames offered, 10000 met the rules; port
    // 1000's rule matches a, 1001's b, 1002's c, the rest is forwarded by user space. A drop
    // lands on the XDP or the user-space counters as its rule is placed now.
    void second(uint64_t a, uint64_t b, uint64_t c) {
        dp_->offered += 100000;
        dp_->user_rx += 10000 - a - b - c;
        for (auto [match, n] : {std::pair{"udp,tp_src=1000", a}, std::pair{"udp,tp_src=1001", b},
                                std::pair{"udp,tp_src=1002", c}}) {
            dp_->packets[id(match)] += n;
            if (dp_->in_xdp(id(match))) {
                dp_->dropped_in_xdp += n;
            } else {
                dp_->user_rx += n;
                dp_->dropped_in_user += n;
            }
        }
        svc_->tick(flows::clock::now());
    }

    scripted_datapath* dp_ = nullptr;
    std::unique_ptr<ctl::service> svc_;
    std::map<std::string, uint32_t> ids_;
};

TEST_F(Adaptive, MovesTheHottestDropRulesToXdpWhileDropsDominateAndBack) {
    const uint32_t a = id("udp,tp_src=1000"), b = id("udp,tp_src=1001"), c = id("udp,tp_src=1002");
    EXPECT_EQ(why(a), "drop: user space until drops dominate (adaptive)");
    second(5000, 3000, 1000); // the first tick only reads the totals
    second(5000, 3000, 1000); // 90%: a streak begins, the rules' counts are sampled
    EXPECT_EQ(adaptive()["high_streak"], 1);
    second(5000, 3000, 1000);
    EXPECT_FALSE(dp_->in_xdp(a)) << "not sustained yet";
    second(5000, 3000, 1000); // sustained for 2 more ticks: the 2 hottest move (budget 2)
    EXPECT_TRUE(dp_->in_xdp(a));
    EXPECT_TRUE(dp_->in_xdp(b));
    EXPECT_FALSE(dp_->in_xdp(c));
    EXPECT_FALSE(dp_->in_xdp(id("udp,tp_src=1003"))) << "placement=user is obeyed";
    EXPECT_FALSE(dp_->in_xdp(id(""))) << "pass-through stays in user space";
    EXPECT_EQ(why(a), "adaptive: a hot drop rule while drops dominate the traffic");
    EXPECT_EQ(why(c), "drop: user space until drops dominate (adaptive)");
    json s = adaptive();
    EXPECT_EQ(s["offloaded"], 2);
    EXPECT_EQ(s["moves"], 1);
    EXPECT_DOUBLE_EQ(s["drop_share"].get<double>(), 0.9);
    EXPECT_EQ(s["last_move"], "drops 90% of the traffic for 3 s: 2 drop rules to XDP, 2 of 2 "
                              "offloaded");

    for (int i = 0; i < 6; i++) { // 65%: inside the hysteresis band, nothing moves
        second(4000, 2000, 500);
        EXPECT_TRUE(dp_->in_xdp(a) && dp_->in_xdp(b));
    }
    second(500, 300, 100); // 9%: below the return share...
    EXPECT_TRUE(dp_->in_xdp(a));
    second(500, 300, 100); // ...for 2 ticks: every offloaded rule returns
    EXPECT_FALSE(dp_->in_xdp(a));
    EXPECT_FALSE(dp_->in_xdp(b));
    s = adaptive();
    EXPECT_EQ(s["offloaded"], 0);
    EXPECT_EQ(s["moves"], 2);
    EXPECT_EQ(s["last_move"], "drops 9% of the traffic, below 60% for 2 s: 2 drop rules back to "
                              "user space");
}

TEST_F(Adaptive, ADeletedRuleLeavesTheBudgetAndAnotherProfileClearsTheMoves) {
    const uint32_t a = id("udp,tp_src=1000"), c = id("udp,tp_src=1002");
    for (int i = 0; i < 4; i++) {
        second(5000, 3000, 1000);
    }
    ASSERT_EQ(adaptive()["offloaded"], 2);
    json r = svc_->handle({{"cmd", "del-flows"}, {"match", "udp,tp_src=1000"}});
    ASSERT_TRUE(r["ok"].get<bool>()) << r.dump();
    EXPECT_EQ(adaptive()["offloaded"], 1);
    dp_->packets.erase(a);
    for (int i = 0; i < 2; i++) { // rule c is now among the 2 hottest, and there is room
        second(0, 0, 9000);
    }
    EXPECT_TRUE(dp_->in_xdp(c));
    EXPECT_EQ(adaptive()["offloaded"], 2);
    r = svc_->handle({{"cmd", "set"}, {"placement", "hybrid"}});
    ASSERT_TRUE(r["ok"].get<bool>()) << r.dump();
    EXPECT_FALSE(dp_->in_xdp(c));
    EXPECT_TRUE(adaptive().is_null()) << "show has no adaptive state in another profile";
    r = svc_->handle({{"cmd", "set"}, {"placement", "adaptive"}});
    EXPECT_EQ(adaptive()["offloaded"], 0) << "a new adaptive period starts from user space";
}

// Figures like this machine's veths in copy mode: user space costs microseconds a packet, so
// pass-through runs in XDP, the dispatcher searches anyway, and drops pay in XDP at any share.
dp::cost_measurements copy_mode_costs() {
    dp::cost_measurements m = test::cheap_user_space();
    m.user_rx_ns = 1500;
    m.user_tx_ns = 900;
    return m;
}

TEST_F(Adaptive, AfterACalibrationTheRestAndTheSharesAreMeasured) {
    const uint32_t a = id("udp,tp_src=1000"), fwd = id("");
    dp_->costs = copy_mode_costs();
    json r = svc_->handle({{"cmd", "calibrate"}, {"seconds", 0.1}});
    ASSERT_TRUE(r["ok"].get<bool>()) << r.dump();
    EXPECT_EQ(r["result"]["calibration"]["drop_offload_share"], 0.0);
    EXPECT_TRUE(dp_->in_xdp(fwd)) << "pass-through where the calibration put it";
    EXPECT_EQ(why(fwd).rfind("calibrated: cheaper in XDP on this machine", 0), 0u) << why(fwd);
    EXPECT_FALSE(dp_->in_xdp(a)) << "drops still move by the traffic";
    for (int i = 0; i < 4; i++) { // 20% drops: below the options' 75%, above the measured 0%
        second(1500, 500, 0);
    }
    EXPECT_TRUE(dp_->in_xdp(a));
    EXPECT_TRUE(dp_->in_xdp(id("udp,tp_src=1001")));
    json s = adaptive();
    EXPECT_EQ(s["shares_from"], "calibration");
    EXPECT_EQ(s["offload_share"], 0.0);
    EXPECT_EQ(s["return_share"], 0.0);
    for (int i = 0; i < 4; i++) { // no drops at all: nothing costs the rest, nothing returns
        second(0, 0, 0);
    }
    EXPECT_TRUE(dp_->in_xdp(a));

    // Figures where XDP drops cost more: drops never move, and offloaded ones return.
    auto dear = test::cheap_user_space(); // no search: pass-through in user space
    dear.kinds[static_cast<size_t>(dp::rule_kind::drop)].xdp_ns = 5000;
    dp_->costs = dear;
    r = svc_->handle({{"cmd", "calibrate"}, {"seconds", 0.1}});
    ASSERT_TRUE(r["ok"].get<bool>()) << r.dump();
    EXPECT_EQ(r["result"]["calibration"]["drop_offload_share"], "never");
    EXPECT_FALSE(dp_->in_xdp(fwd));
    for (int i = 0; i < 2; i++) {
        second(5000, 3000, 1000);
    }
    EXPECT_FALSE(dp_->in_xdp(a)) << "90% drops, and still back in user space";
    s = adaptive();
    EXPECT_TRUE(s["offload_share"].is_null());
    EXPECT_EQ(s["offloaded"], 0);
}

} // namespace
} // namespace swd
