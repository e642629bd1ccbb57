// The TC egress program (bpf/egress.bpf.c) under BPF_PROG_TEST_RUN, on maps compiled from a flow
// text by the real compiler and xdp_tables: for frames the host sends (in_port=LOCAL), the verdict,
// the counters and the bytes that leave. Expected frames are built from scratch with the new field
// values (tests/unit/frames.h computes their checksums), never by swd's rewrite code, and every
// IPv4 frame that leaves has its checksums verified by a full recomputation.
//
// Needs root (BPF). Not root: skipped, unless SWD_REQUIRE_ROOT_TESTS=1 turns that into a failure.
#include <array>
#include <bpf/bpf.h>
#include <gtest/gtest.h>
#include <linux/pkt_cls.h>
#include <memory>
#include <string>
#include <vector>

#include "bpf_flow_test.h"
#include "datapath/counters.h"
#include "flows/compiler.h"
#include "flows/parser.h"
#include "flows/placement.h"
#include "frames.h"
#include "netdev-afxdp/tc_program.h"
#include "netdev-afxdp/xdp_program.h"
#include "netdev-afxdp/xdp_tables.h"

namespace swd {
namespace {

using namespace swd::test;

// Rules of table 0. Only those with in_port=LOCAL apply at egress; the others are there to show
// that they do not (a catch-all drop, an in_port=1 rule that would win for the same frame).
const char* const egress_flows = R"(
port=p1,ofport=1
port=p2,ofport=2
port=p9,ofport=9
priority=0,actions=drop
priority=500,in_port=1,udp,tp_dst=9999,actions=output:2
priority=100,in_port=LOCAL,udp,tp_dst=9999,actions=drop
priority=100,in_port=LOCAL,udp,tp_dst=7000,actions=output:2
priority=100,in_port=LOCAL,udp,tp_dst=7001,actions=output:1
priority=100,in_port=LOCAL,udp,tp_dst=7002,actions=local
priority=100,in_port=LOCAL,udp,tp_dst=7003,actions=output:9
priority=100,in_port=LOCAL,udp,tp_dst=7100,placement=user,actions=output:1
priority=100,in_port=LOCAL,udp,tp_dst=7200,actions=dec_ttl,output:1
priority=100,in_port=LOCAL,udp,tp_dst=5000,actions=mod_nw_src:192.0.2.9,mod_tp_src:4000,output:1
priority=100,in_port=LOCAL,udp,tp_dst=5001,actions=mod_tp_dst:5555,output:1
priority=100,in_port=LOCAL,tcp,tp_dst=80,actions=mod_nw_dst:198.51.100.7,mod_tp_dst:8080,mod_dl_src:02:aa:bb:cc:dd:ee,dec_ttl,output:2
priority=100,in_port=LOCAL,udp6,tp_dst=5000,actions=mod_tp_src:4000,dec_ttl,output:1
priority=100,in_port=LOCAL,udp,nw_dst=10.0.0.55,actions=mod_tp_src:1,output:1
priority=110,in_port=LOCAL,dl_vlan=7,udp,tp_dst=5000,actions=mod_nw_src:192.0.2.10,mod_dl_dst:02:11:22:33:44:55,output:1
priority=100,in_port=LOCAL,ip,nw_dst=10.0.0.99,actions=drop
)";

class Egress : public bpf_flow_test {
protected:
    // Compiles text (hybrid profile), writes the maps, loads a traced egress program for port 1.
    void load(const std::string& text) {
        // Ports 1 and 2, not 9: output to a port XDP cannot reach.
        ASSERT_NO_FATAL_FAILURE(load_tables(text, flows::profile::hybrid, {1, 2}));
        auto p = afxdp::tc_program::load(*tables_, 1, true);
        ASSERT_TRUE(p) << p.err().message();
        prog_ = std::move(*p);
    }

    // The id of the rule of egress_flows whose line holds what (ids count the rule lines from 1).
    static uint32_t rule_id(const std::string& what) {
        const std::string text = egress_flows;
        size_t line = 0, start = 0;
        while (start < text.size()) {
            size_t end = text.find('\n', start);
            const std::string l = text.substr(start, end - start);
            if (!l.empty() && l.rfind("port=", 0) != 0) {
                line++;
                if (l.find(what) != std::string::npos) {
                    return static_cast<uint32_t>(line);
                }
            }
            start = end == std::string::npos ? text.size() : end + 1;
        }
        return 0;
    }

    struct result {
        uint32_t action = 0;
        swd_xdp_trace trace{};
        bytes out;
    };

    result run(const bytes& frame) {
        result r;
        auto rc = prog_->test_run(frame, r.out);
        EXPECT_TRUE(rc) << rc.err().message();
        r.action = rc ? *rc : UINT32_MAX;
        r.trace = prog_->last();
        return r;
    }

    uint64_t rule_packets(uint32_t id) const {
        std::vector<dp::rule_counters> c(1);
        const uint32_t ids[] = {id};
        tables_->add_counters(ids, c);
        return c[0].packets;
    }

    std::unique_ptr<afxdp::tc_program> prog_;
};

bytes with_mac(bytes f, size_t at, std::array<uint8_t, 6> mac) {
    std::copy(mac.begin(), mac.end(), f.begin() + static_cast<long>(at));
    return f;
}

TEST_F(Egress, PlacementPutsLocalRulesInXdp) {
    load(egress_flows);
    EXPECT_TRUE(tables_->searching());
    EXPECT_TRUE(tables_->egress()) << "an in_port=LOCAL rule is placed in XDP";
    // in_port=LOCAL drop: XDP under auto in hybrid (where drops go to user space otherwise).
    const flows::rule& drop = rules_[rule_id("tp_dst=9999,actions=drop") - 1];
    for (auto p : {flows::profile::hybrid, flows::profile::all_xdp, flows::profile::all_user}) {
        const auto d = flows::decide_placement(drop, p);
        EXPECT_TRUE(d.xdp) << flows::profile_name(p) << ": " << d.reason;
        EXPECT_NE(std::string(d.reason).find("in_port=LOCAL"), std::string::npos) << d.reason;
    }
    const flows::rule& user = rules_[rule_id("placement=user") - 1];
    EXPECT_FALSE(flows::decide_placement(user, flows::profile::hybrid).xdp);
    const flows::rule& catch_all = rules_[rule_id("priority=0") - 1];
    EXPECT_FALSE(flows::decide_placement(catch_all, flows::profile::hybrid).xdp);
}

TEST_F(Egress, VerdictsCountersAndBytes) {
    load(egress_flows);
    const std::array<uint8_t, 6> mac_src = {0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee};
    const std::array<uint8_t, 6> mac_dst = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};
    size_t checked = 0;

    // Drop: a datagram to 9999. The in_port=1 rule of higher priority does not apply here.
    {
        auto r = run(ipv4_frame(udp(1234, 9999)));
        EXPECT_EQ(r.action, static_cast<uint32_t>(TC_ACT_SHOT));
        EXPECT_EQ(r.trace.verdict, static_cast<uint32_t>(SWD_V_DROP));
        EXPECT_EQ(r.trace.rule_id, rule_id("LOCAL,udp,tp_dst=9999"));
        EXPECT_EQ(rule_packets(rule_id("LOCAL,udp,tp_dst=9999")), 1u);
        EXPECT_EQ(rule_packets(rule_id("in_port=1,udp,tp_dst=9999")), 0u);
        checked++;
    }
    // Miss: no in_port=LOCAL rule; the catch-all drop does not cut the host off. ARP, IPv6 and
    // a VLAN frame.
    for (const bytes& f : {arp_frame(1, "10.0.0.1", "10.0.0.2"), ipv4_frame(udp(1, 2)),
                           ipv6_frame(tcp(1, 2)), ipv4_frame(udp(1, 2), {}, {0x0005})}) {
        auto r = run(f);
        EXPECT_EQ(r.action, static_cast<uint32_t>(TC_ACT_OK));
        EXPECT_EQ(r.trace.verdict, static_cast<uint32_t>(SWD_V_PASS));
        EXPECT_EQ(r.trace.rule_id, 0u);
        EXPECT_EQ(r.out, f) << "a miss leaves the frame unchanged";
        checked++;
    }
    EXPECT_EQ(rule_packets(rule_id("priority=0")), 0u);
    // Output to another port: bpf_redirect (TC_ACT_REDIRECT), port 2 in the trace.
    {
        const bytes f = ipv4_frame(udp(1, 7000));
        auto r = run(f);
        EXPECT_EQ(r.action, static_cast<uint32_t>(TC_ACT_REDIRECT));
        EXPECT_EQ(r.trace.verdict, static_cast<uint32_t>(SWD_V_REDIRECT));
        EXPECT_EQ(r.trace.port, 2u);
        EXPECT_EQ(r.out, f);
        checked++;
    }
    // Output to the port it leaves by, local: pass. A port swd does not have: drop.
    for (uint16_t dport : {7001, 7002}) {
        const bytes f = ipv4_frame(udp(1, dport));
        auto r = run(f);
        EXPECT_EQ(r.action, static_cast<uint32_t>(TC_ACT_OK)) << dport;
        EXPECT_EQ(r.trace.verdict, static_cast<uint32_t>(SWD_V_PASS)) << dport;
        EXPECT_NE(r.trace.rule_id, 0u);
        EXPECT_EQ(r.out, f);
        checked++;
    }
    {
        auto r = run(ipv4_frame(udp(1, 7003)));
        EXPECT_EQ(r.action, static_cast<uint32_t>(TC_ACT_SHOT));
        checked++;
    }
    // A winner placed in user space: passed unchanged, with its own verdict.
    {
        const bytes f = ipv4_frame(udp(1, 7100));
        auto r = run(f);
        EXPECT_EQ(r.action, static_cast<uint32_t>(TC_ACT_OK));
        EXPECT_EQ(r.trace.verdict, static_cast<uint32_t>(SWD_V_TO_USER));
        EXPECT_EQ(r.out, f);
        checked++;
    }
    // dec_ttl: TTL 9 leaves as 8; TTL 1 is dropped.
    {
        auto r = run(ipv4_frame(udp(1, 7200), {.ttl = 9}));
        EXPECT_EQ(r.action, static_cast<uint32_t>(TC_ACT_OK));
        EXPECT_EQ(r.out, ipv4_frame(udp(1, 7200), {.ttl = 8}));
        auto e = run(ipv4_frame(udp(1, 7200), {.ttl = 1}));
        EXPECT_EQ(e.action, static_cast<uint32_t>(TC_ACT_SHOT));
        checked += 2;
    }
    // Rewrites, IPv4: address and port (UDP checksum through the pseudo-header and the port).
    {
        auto r = run(ipv4_frame(udp(1234, 5000, 33)));
        EXPECT_EQ(r.action, static_cast<uint32_t>(TC_ACT_OK));
        const bytes want = ipv4_frame(udp(4000, 5000, 33), {.src = "192.0.2.9"});
        EXPECT_EQ(r.out, want);
        EXPECT_TRUE(ipv4_checksums_ok(r.out));
        auto d = run(ipv4_frame(udp(1234, 5001)));
        EXPECT_EQ(d.out, ipv4_frame(udp(1234, 5555)));
        EXPECT_TRUE(ipv4_checksums_ok(d.out));
        checked += 2;
    }
    // A UDP datagram without a checksum keeps none.
    {
        bytes f = ipv4_frame(udp(1234, 5000));
        f[14 + 20 + 6] = f[14 + 20 + 7] = 0;
        auto r = run(f);
        bytes want = ipv4_frame(udp(4000, 5000), {.src = "192.0.2.9"});
        want[14 + 20 + 6] = want[14 + 20 + 7] = 0;
        EXPECT_EQ(r.out, want);
        checked++;
    }
    // TCP: address, port, MAC and TTL, redirected to port 2.
    {
        auto r = run(ipv4_frame(tcp(33000, 80, 0x018, 100), {.ttl = 64}));
        EXPECT_EQ(r.action, static_cast<uint32_t>(TC_ACT_REDIRECT));
        EXPECT_EQ(r.trace.port, 2u);
        const bytes want =
            with_mac(ipv4_frame(tcp(33000, 8080, 0x018, 100), {.dst = "198.51.100.7", .ttl = 63}),
                     6, mac_src);
        EXPECT_EQ(r.out, want);
        EXPECT_TRUE(ipv4_checksums_ok(r.out));
        checked++;
    }
    // IPv6: port and hop limit. A later fragment has no UDP header: mod_tp_src is skipped and
    // counted.
    {
        auto r = run(ipv6_frame(udp(1234, 5000, 21), {}, 0, 64));
        EXPECT_EQ(r.action, static_cast<uint32_t>(TC_ACT_OK));
        EXPECT_EQ(r.out, ipv6_frame(udp(4000, 5000, 21), {}, 0, 63));
        const bytes f = ipv4_frame(udp(1234, 5002), {.dst = "10.0.0.55", .frag = 0x0010});
        auto s = run(f);
        EXPECT_EQ(s.action, static_cast<uint32_t>(TC_ACT_OK));
        EXPECT_EQ(s.out, f);
        checked += 2;
    }
    // VLAN: address and MAC behind a tag.
    {
        auto r = run(ipv4_frame(udp(1234, 5000), {}, {0x0007}));
        EXPECT_EQ(r.action, static_cast<uint32_t>(TC_ACT_OK));
        const bytes want =
            with_mac(ipv4_frame(udp(1234, 5000), {.src = "192.0.2.10"}, {0x0007}), 0, mac_dst);
        EXPECT_EQ(r.out, want);
        EXPECT_TRUE(ipv4_checksums_ok(r.out, 18));
        checked++;
    }
    // Malformed: the IP header says 24 bytes (a UDP header cut to 4): matched on what is valid.
    {
        bytes f = ipv4_frame(udp(1, 2), {.dst = "10.0.0.99"});
        f.resize(14 + 24);
        put16(f, 14 + 2, 24);
        f[14 + 10] = f[14 + 11] = 0;
        put16(f, 14 + 10, fold(sum16(f.data() + 14, 20)));
        auto r = run(f);
        EXPECT_EQ(r.action, static_cast<uint32_t>(TC_ACT_SHOT));
        EXPECT_EQ(r.trace.malformed, static_cast<uint32_t>(SWD_MALFORMED_L4));
        EXPECT_EQ(r.trace.rule_id, rule_id("nw_dst=10.0.0.99"));
        checked++;
    }

    const auto c = prog_->counters();
    std::string line;
    for (unsigned i = 0; i < SWD_TC_COUNT; i++) {
        line += std::string(" ") + dp::tc_counter_name(i) + "=" + std::to_string(c[i]);
    }
    std::printf("[ egress ] %zu frames checked; counters:%s\n", checked, line.c_str());
    EXPECT_EQ(c[SWD_TC_IDLE], 0u);
    EXPECT_EQ(c[SWD_TC_RX], 20u);
    EXPECT_EQ(c[SWD_TC_PASS_MISS], 4u);
    EXPECT_EQ(c[SWD_TC_PASS_USER], 1u);
    // 7001, 7002, dec_ttl, udp 5000, 5001, no checksum, IPv6, fragment, VLAN
    EXPECT_EQ(c[SWD_TC_PASS_RULE], 9u);
    EXPECT_EQ(c[SWD_TC_REDIRECT], 2u);
    EXPECT_EQ(c[SWD_TC_DROP_RULE], 2u); // 9999, malformed
    EXPECT_EQ(c[SWD_TC_DROP_TTL], 1u);
    EXPECT_EQ(c[SWD_TC_DROP_NO_PORT], 1u);
    EXPECT_EQ(c[SWD_TC_DROP_REWRITE], 0u);
    EXPECT_EQ(c[SWD_TC_MALFORMED], 1u);
    EXPECT_EQ(c[SWD_TC_REWRITE_SKIPPED], 1u);
    EXPECT_EQ(c[SWD_TC_PULLED], 0u);
    // (BPF_PROG_TEST_RUN neither sets nor reports tc_index: the mark of redirected frames is
    // checked by tests/lab/egress_test.sh.)
    EXPECT_EQ(c[SWD_TC_PASS_REDIRECTED], 0u);
}

TEST_F(Egress, IdleWithoutLocalRules) {
    // Rules, some in XDP, none with in_port=LOCAL: the program passes every frame unsearched.
    load("port=p1,ofport=1\n"
         "priority=0,actions=drop\n"
         "priority=10,in_port=1,udp,tp_dst=9999,actions=local\n"
         "priority=20,udp,tp_dst=9999,actions=drop\n");
    EXPECT_TRUE(tables_->searching());
    EXPECT_FALSE(tables_->egress());
    const bytes f = ipv4_frame(udp(1, 9999));
    auto r = run(f);
    EXPECT_EQ(r.action, static_cast<uint32_t>(TC_ACT_OK));
    EXPECT_EQ(r.out, f);
    const auto c = prog_->counters();
    EXPECT_EQ(c[SWD_TC_IDLE], 1u);
    EXPECT_EQ(c[SWD_TC_RX], 0u);
}

// The host's own connections: its packets out of port 1 commit in the egress program, their
// replies arriving on port 1 are established for the dispatcher (one connection map).
TEST_F(Egress, TracksConnectionsWithTheDispatcher) {
    ASSERT_NO_FATAL_FAILURE(
        load_tables("port=p1,ofport=1\n"
                    "priority=100,in_port=LOCAL,ip,actions=ct(commit),output:1\n"
                    "priority=100,in_port=1,ct_state=+trk+est,actions=local\n"
                    "priority=10,in_port=1,actions=drop\n",
                    flows::profile::all_xdp, {1}));
    ASSERT_TRUE(tables_->tracks()) << tables_->why_not();
    auto tc = afxdp::tc_program::load(*tables_, 1, true);
    auto xdp = afxdp::xdp_program::load(*tables_, 1, true);
    ASSERT_TRUE(tc && xdp);
    ipv4_opts out_opts, back_opts;
    back_opts.src = out_opts.dst;
    back_opts.dst = out_opts.src;
    const bytes request = ipv4_frame(tcp(40000, 80), out_opts);
    const bytes reply = ipv4_frame(tcp(80, 40000, 0x012), back_opts);
    bytes out;
    ASSERT_TRUE((*xdp)->test_run(reply, out));
    EXPECT_EQ((*xdp)->last().verdict, SWD_V_DROP) << "no connection yet";
    auto rc = (*tc)->test_run(request, out);
    ASSERT_TRUE(rc);
    EXPECT_EQ(*rc, static_cast<uint32_t>(TC_ACT_OK));
    EXPECT_EQ((*tc)->counters()[SWD_TC_CT_CREATED], 1u);
    ASSERT_TRUE((*xdp)->test_run(reply, out));
    EXPECT_EQ((*xdp)->last().verdict, SWD_V_PASS) << "the reply of the host's connection";
    ASSERT_TRUE((*tc)->test_run(request, out));
    EXPECT_EQ((*tc)->counters()[SWD_TC_CT_CREATED], 1u) << "established: not committed again";
}

// Mean run time of the program on frame over many BPF_PROG_TEST_RUN repeats, in ns.
double mean_ns(int prog_fd, const bytes& frame) {
    bytes out(frame.size() + 64);
    LIBBPF_OPTS(bpf_test_run_opts, opts);
    opts.data_in = frame.data();
    opts.data_size_in = static_cast<uint32_t>(frame.size());
    opts.data_out = out.data();
    opts.data_size_out = static_cast<uint32_t>(out.size());
    opts.repeat = 200000;
    EXPECT_EQ(bpf_prog_test_run_opts(prog_fd, &opts), 0);
    return opts.duration; // the kernel's mean over the repeats
}

TEST_F(Egress, IdleCostsLessThanASearch) {
    // Without in_port=LOCAL rules in XDP the program leaves at once: cheaper than a search that
    // misses (parse, then the masks of the table). Figures for docs, one check of the claim.
    load("port=p1,ofport=1\npriority=10,in_port=1,actions=local\n"
         "priority=20,udp,tp_dst=9999,actions=drop\n");
    const bytes f = ipv4_frame(udp(1, 7000));
    const double idle = mean_ns(prog_->prog_fd(), f);
    load(egress_flows);
    const double miss = mean_ns(prog_->prog_fd(), f);
    const double drop = mean_ns(prog_->prog_fd(), ipv4_frame(udp(1, 9999)));
    const double rewrite = mean_ns(prog_->prog_fd(), ipv4_frame(udp(1, 5000)));
    std::printf("[ egress ] mean per frame under BPF_PROG_TEST_RUN: idle %.0f ns, miss %.0f ns, "
                "drop %.0f ns, two rewrites %.0f ns (%zu masks)\n",
                idle, miss, drop, rewrite, tables_->n_masks());
    EXPECT_LT(idle, miss);
}

TEST_F(Egress, RulesComeAndGo) {
    // The egress flag follows the table through incremental syncs.
    load("port=p1,ofport=1\npriority=10,in_port=1,actions=local\n");
    EXPECT_FALSE(tables_->egress());
    // The rule of the first table keeps its id, as in swd's rule table.
    const std::string local_rule = "port=p1,ofport=1\npriority=10,in_port=1,actions=local\n";
    flows::text_pipeline_options opts;
    opts.version = ++version_;
    auto with = flows::compile_text(
        local_rule + "priority=100,in_port=LOCAL,udp,tp_dst=9999,actions=drop\n", "<test>", opts);
    ASSERT_TRUE(with) << with.err().message();
    ASSERT_TRUE(tables_->sync(*with->pipeline));
    EXPECT_TRUE(tables_->egress());
    auto r = run(ipv4_frame(udp(1, 9999)));
    EXPECT_EQ(r.action, static_cast<uint32_t>(TC_ACT_SHOT));
    opts.version = ++version_;
    auto without = flows::compile_text(local_rule, "<test>", opts);
    ASSERT_TRUE(without) << without.err().message();
    ASSERT_TRUE(tables_->sync(*without->pipeline));
    EXPECT_FALSE(tables_->egress());
    r = run(ipv4_frame(udp(1, 9999)));
    EXPECT_EQ(r.action, static_cast<uint32_t>(TC_ACT_OK));
}

} // namespace
} // namespace swd
