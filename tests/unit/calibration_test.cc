// The calibrated profile: what a rule does (dp::kind_of), the probe frames built from matches
// (dp::frame_for), the decision from measured costs (flows/calibration.h) and the placement it
// leads to.
#include <cmath>
#include <gtest/gtest.h>
#include <utility>

#include "datapath/extract.h"
#include "flows/calibration.h"
#include "flows/format.h"
#include "flows/parser.h"
#include "flows/placement.h"
#include "tests/unit/cost_figures.h"

namespace swd::flows {
namespace {

using test::cheap_user_space;

rule parse_rule(const std::string& text) {
    parse_context ctx;
    ctx.ports = {{"p1", 1}, {"p2", 2}};
    auto out = parse_flows(text, "test", parse_mode::config, ctx);
    EXPECT_TRUE(out.ok()) << format_all(out.errors);
    return out.ok() ? out.mods.at(0).spec : rule{};
}

TEST(Calibration, KindOfActions) {
    auto kind = [](const std::string& text) {
        return dp::rule_kind_name(dp::kind_of(parse_rule(text).actions));
    };
    EXPECT_STREQ(kind("ip,actions=drop"), "drop");
    EXPECT_STREQ(kind("ip,actions="), "drop");
    EXPECT_STREQ(kind("ip,actions=local"), "local");
    EXPECT_STREQ(kind("ip,actions=output:LOCAL"), "local");
    EXPECT_STREQ(kind("ip,actions=dec_ttl,output:p2"), "pass-through");
    EXPECT_STREQ(kind("ip,actions=in_port"), "pass-through");
    EXPECT_STREQ(kind("ip,actions=goto_table:1"), "pass-through");
}

// A frame built from a rule's match is matched by that rule: every field a packet can carry.
TEST(Calibration, ProbeFramesMatchTheirRules) {
    for (const char* m : {
             "tcp,nw_src=192.0.2.7,nw_dst=10.0.0.0/8,tp_src=1234,tp_dst=80,tcp_flags=+syn-ack",
             "udp,nw_tos=0x28,nw_ttl=3,tp_dst=53",
             "udp6,ipv6_src=2001:db8::1,ipv6_dst=2001:db8::/64,tp_dst=4789",
             "icmp,icmp_type=8,icmp_code=0",
             "icmp6,icmpv6_type=135",
             "dl_vlan=100,dl_vlan_pcp=5,ip,nw_dst=10.1.2.3",
             "dl_src=02:00:00:00:00:01,dl_dst=02:00:00:00:00:02,ip",
             "arp,arp_op=2,arp_spa=10.0.0.1,arp_tpa=10.0.0.2",
             "ip,nw_frag=later,nw_dst=10.0.0.9",
             "ipv6,nw_frag=first,nw_proto=17",
             "in_port=p2,ip,nw_proto=47",
             "dl_type=0x88b5",
             "priority=0",
         }) {
        const rule r = parse_rule(std::string(m) + ",actions=drop");
        const auto frame = dp::frame_for(r.match.value);
        EXPECT_GE(frame.size(), 60u);
        dp::flow_key key;
        dp::header_offsets where;
        const auto bad = dp::extract_key(frame.data(), static_cast<uint32_t>(frame.size()),
                                         r.match.value.f.in_port, key, where);
        EXPECT_EQ(bad, dp::malformed::none) << m;
        EXPECT_TRUE(r.match.matches(key)) << m;
    }
}

void set_mix(dp::cost_measurements& m, uint64_t drops, uint64_t passes) {
    m.kinds[size_t(dp::rule_kind::drop)].live_packets = drops;
    m.kinds[size_t(dp::rule_kind::pass_through)].live_packets = passes;
}

TEST(Calibration, TheStudysTradeOffAsArithmetic) {
    // Mostly forwarded traffic: XDP drops would switch the search on for every forwarded packet
    // (55 ns instead of 15), so drops stay in user space and the search stays off (Takeaway 4).
    auto m = cheap_user_space();
    set_mix(m, 10, 90);
    auto c = decide_calibration(m);
    ASSERT_TRUE(c.xdp[0] && c.xdp[1]);
    EXPECT_FALSE(*c.xdp[size_t(dp::rule_kind::drop)]);
    EXPECT_FALSE(*c.xdp[size_t(dp::rule_kind::pass_through)]);
    EXPECT_FALSE(c.xdp[size_t(dp::rule_kind::local)]) << "not measured";
    EXPECT_EQ(c.why_not[size_t(dp::rule_kind::local)], "no rule of this kind that XDP can run");
    // user: 15 + 30 + 20 (+ 30 to send); weighted 0.1 * 65 + 0.9 * 95.
    EXPECT_DOUBLE_EQ(c.user_ns[size_t(dp::rule_kind::drop)], 65);
    EXPECT_DOUBLE_EQ(c.user_ns[size_t(dp::rule_kind::pass_through)], 95);
    EXPECT_DOUBLE_EQ(c.chosen_ns, 0.1 * 65 + 0.9 * 95);
    EXPECT_DOUBLE_EQ(c.all_user_ns, c.chosen_ns);
    EXPECT_DOUBLE_EQ(c.all_xdp_ns, 0.1 * 45 + 0.9 * (55 + 90));
    EXPECT_DOUBLE_EQ(c.weight[size_t(dp::rule_kind::drop)], 0.1);

    // An attack: drops dominate, and they move to XDP; the forwarded rest pays the search.
    set_mix(m, 95, 5);
    c = decide_calibration(m);
    EXPECT_TRUE(*c.xdp[size_t(dp::rule_kind::drop)]);
    EXPECT_FALSE(*c.xdp[size_t(dp::rule_kind::pass_through)]);
    EXPECT_DOUBLE_EQ(c.user_ns[size_t(dp::rule_kind::pass_through)], 55 + 30 + 20 + 30)
        << "the search runs before the packet goes to user space";
    EXPECT_LE(c.chosen_ns, c.all_user_ns);
    EXPECT_LE(c.chosen_ns, c.all_xdp_ns);
}

TEST(Calibration, TheDropShareFromWhichXdpDropsPay) {
    // Pass-through in user space: a drop saves 65 - 45 ns in XDP, and each forwarded packet
    // pays 55 - 15 ns more for the search, so drops pay from 40 / (20 + 40) of the traffic,
    // whatever the mix of the sample.
    auto m = cheap_user_space();
    for (auto [drops, passes] : {std::pair{10, 90}, std::pair{95, 5}, std::pair{0, 0}}) {
        set_mix(m, drops, passes);
        const auto c = decide_calibration(m);
        ASSERT_TRUE(c.drop_offload_share) << drops;
        EXPECT_DOUBLE_EQ(*c.drop_offload_share, 2.0 / 3) << drops;
    }
    // Pass-through in XDP has the search on anyway: drops pay at any share.
    m.user_rx_ns = 1500;
    m.user_tx_ns = 900;
    auto c = decide_calibration(m);
    ASSERT_TRUE(c.drop_offload_share);
    EXPECT_EQ(*c.drop_offload_share, 0);
    // Drops that cost more in XDP than in user space never pay.
    m = cheap_user_space();
    m.kinds[size_t(dp::rule_kind::drop)].xdp_ns = 80;
    c = decide_calibration(m);
    ASSERT_TRUE(c.drop_offload_share);
    EXPECT_TRUE(std::isinf(*c.drop_offload_share));
    // Drops not measured: no share, the options' stay.
    m.user_rx_ns = -1;
    m.user_why_not = "no traffic";
    EXPECT_FALSE(decide_calibration(m).drop_offload_share);
}

TEST(Calibration, CopyModeAfXdpLosesEverywhere) {
    // Figures like this machine's veth in copy mode: user space costs microseconds.
    auto m = cheap_user_space();
    m.user_rx_ns = 1500;
    m.user_tx_ns = 900;
    set_mix(m, 50, 50);
    const auto c = decide_calibration(m);
    EXPECT_TRUE(*c.xdp[size_t(dp::rule_kind::drop)]);
    EXPECT_TRUE(*c.xdp[size_t(dp::rule_kind::pass_through)]);
    EXPECT_DOUBLE_EQ(c.chosen_ns, c.all_xdp_ns);
}

TEST(Calibration, AKindWithoutTrafficGoesWhereTheStudySays) {
    auto m = cheap_user_space();
    m.user_rx_ns = 1500;
    m.user_tx_ns = 900;
    auto& local = m.kinds[size_t(dp::rule_kind::local)];
    local.rules = 1;
    local.xdp_ns = 40;
    local.user_exec_ns = 20;
    local.why_not.clear();
    set_mix(m, 50, 50); // and no local packet
    auto c = decide_calibration(m);
    EXPECT_TRUE(*c.xdp[size_t(dp::rule_kind::local)]) << "local in XDP, as the study says";
    EXPECT_EQ(c.weight[size_t(dp::rule_kind::local)], 0);

    // Where XDP would otherwise search for nothing, an idle local rule does not switch it on.
    m = cheap_user_space();
    m.kinds[size_t(dp::rule_kind::local)] = local;
    set_mix(m, 10, 90);
    c = decide_calibration(m);
    EXPECT_FALSE(*c.xdp[size_t(dp::rule_kind::drop)]);
    EXPECT_FALSE(*c.xdp[size_t(dp::rule_kind::local)]);
}

TEST(Calibration, MissingFiguresFallBackToTheStudysRules) {
    auto m = cheap_user_space();
    m.user_rx_ns = -1;
    m.user_tx_ns = -1;
    m.user_why_not = "12 packets reached user space in the 1.0 s live sample (1000 needed)";
    auto c = decide_calibration(m);
    EXPECT_FALSE(c.xdp[size_t(dp::rule_kind::drop)]) << "as hybrid, not XDP for want of a rival";
    EXPECT_EQ(c.why_not[size_t(dp::rule_kind::drop)], "user space: " + m.user_why_not);
    EXPECT_LT(c.chosen_ns, 0) << "nothing priced";

    m = cheap_user_space();
    m.xdp_tx_ns = -1;
    m.xdp_tx_why_not = "port eth0 is not a veth";
    set_mix(m, 10, 90);
    c = decide_calibration(m);
    EXPECT_FALSE(c.xdp[size_t(dp::rule_kind::pass_through)]);
    EXPECT_EQ(c.why_not[size_t(dp::rule_kind::pass_through)], "XDP: port eth0 is not a veth");
    EXPECT_TRUE(c.xdp[size_t(dp::rule_kind::drop)].has_value()) << "drops are still decided";
    EXPECT_DOUBLE_EQ(c.user_ns[size_t(dp::rule_kind::pass_through)], 95) << "priced as hybrid";
}

// A rule that matches ct_state or commits needs the tracker, which runs in XDP only when all of
// table 0 does: such rules go to XDP in all-xdp (or when pinned there), user space otherwise.
TEST(Placement, TrackingRulesRunInXdpOnlyInAllXdp) {
    const rule commit = parse_rule("in_port=p1,tcp,actions=ct(commit),output:p2");
    const rule est = parse_rule("in_port=p2,ct_state=+trk+est,actions=output:p1");
    const rule est_local = parse_rule("in_port=p2,ct_state=+trk+est,actions=local");
    const rule new_drop = parse_rule("ct_state=+trk+new,actions=drop");
    const rule pinned = parse_rule("ct_state=+trk+new,placement=xdp,actions=drop");
    const rule late = parse_rule("tcp,actions=output:p2,ct(commit)");
    for (const rule* r : {&commit, &est, &est_local, &new_drop}) {
        EXPECT_TRUE(decide_placement(*r, profile::all_xdp).xdp);
        for (auto p : {profile::hybrid, profile::adaptive, profile::all_user}) {
            const auto d = decide_placement(*r, p, true);
            EXPECT_FALSE(d.xdp) << profile_name(p);
            EXPECT_STREQ(d.reason,
                         "connection tracking: in XDP only with all of table 0 (all-xdp)");
        }
        EXPECT_FALSE(offloadable_drop(*r)) << "adaptive never moves it";
    }
    EXPECT_TRUE(decide_placement(pinned, profile::hybrid).xdp);
    EXPECT_FALSE(decide_placement(late, profile::all_xdp).xdp);
    EXPECT_STREQ(decide_placement(late, profile::all_xdp).reason, "ct(commit) after an output");
}

TEST(Calibration, PlacementFollowsTheDecision) {
    auto m = cheap_user_space();
    m.user_rx_ns = 1500;
    m.user_tx_ns = 900;
    const auto c = decide_calibration(m);
    const rule drop = parse_rule("udp,tp_dst=7,actions=drop");
    const rule fwd = parse_rule("udp,actions=output:p2");
    const rule two_outputs = parse_rule("udp,actions=output:p1,output:p2");
    const rule pinned = parse_rule("udp,tp_dst=8,placement=user,actions=drop");
    EXPECT_TRUE(decide_placement(drop, profile::calibrated, false, &c).xdp);
    EXPECT_STREQ(decide_placement(drop, profile::calibrated, false, &c).reason,
                 "calibrated: cheaper in XDP on this machine");
    EXPECT_TRUE(decide_placement(fwd, profile::calibrated, false, &c).xdp);
    EXPECT_FALSE(decide_placement(two_outputs, profile::calibrated, false, &c).xdp)
        << "XDP cannot run it";
    EXPECT_FALSE(decide_placement(pinned, profile::calibrated, false, &c).xdp);
    EXPECT_FALSE(decide_placement(drop, profile::calibrated, false, nullptr).xdp)
        << "before a calibration: as hybrid";
    EXPECT_TRUE(
        decide_placement(parse_rule("tcp,actions=local"), profile::calibrated, false, nullptr).xdp);

    // Adaptive follows the calibration for pass-through; its drops move by the traffic.
    EXPECT_TRUE(decide_placement(fwd, profile::adaptive, false, &c).xdp);
    EXPECT_TRUE(decide_placement(fwd, profile::adaptive, false, &c).calibrated);
    EXPECT_FALSE(decide_placement(fwd, profile::adaptive, false, nullptr).xdp);
    EXPECT_FALSE(decide_placement(drop, profile::adaptive, false, &c).xdp);
    EXPECT_TRUE(decide_placement(drop, profile::adaptive, true, &c).xdp);
    EXPECT_FALSE(decide_placement(fwd, profile::hybrid, false, &c).xdp) << "hybrid ignores it";
}

} // namespace
} // namespace swd::flows
