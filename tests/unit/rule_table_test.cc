// OpenFlow semantics of the rule table: add/replace, strict and non-strict modify and delete,
// cookie and out_port filters, replace-flows, timeouts, versions, rule ids and pool changes.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include "flows/format.h"
#include "flows/parser.h"
#include "flows/rule_table.h"

namespace swd::flows {
namespace {

using namespace std::chrono_literals;

class RuleTable : public ::testing::Test {
protected:
    RuleTable() { ctx_.ports = {{"eth0", 1}, {"eth1", 2}, {"eth2", 3}}; }

    std::vector<flow_mod> parse(const std::string& text, parse_mode mode = parse_mode::flow_mods,
                                bool strict = false) {
        parse_context c = ctx_;
        c.strict = strict;
        c.pools = table_.current()->pools;
        auto out = parse_flows(text, "<test>", mode, c);
        EXPECT_TRUE(out.ok()) << format_all(out.errors);
        pools_ = out.pools;
        return out.mods;
    }
    change_summary apply(const std::string& text, parse_mode mode = parse_mode::flow_mods,
                         bool strict = false) {
        auto mods = parse(text, mode, strict);
        auto r = table_.apply(mods, pools_, now_);
        EXPECT_TRUE(r.ok());
        return r.ok() ? *r : change_summary{};
    }
    change_summary del(const std::string& match, bool strict = false) {
        return apply(match, parse_mode::match, strict);
    }
    change_summary mod(const std::string& rule, bool strict = false) {
        return apply(rule, parse_mode::modify, strict);
    }
    // The table as canonical text, one rule a line, in dump order.
    std::string dump() const {
        std::string s;
        auto snap = table_.current();
        format_names names{&ctx_.ports, &snap->pools};
        for (const rule* r : snap->sorted()) {
            s += format_rule(*r, names) + "\n";
        }
        return s;
    }
    uint32_t id_of(const std::string& match_text, uint16_t priority) {
        auto mods =
            parse(match_text + ",priority=" + std::to_string(priority), parse_mode::match, true);
        for (const rule* r : table_.current()->sorted()) {
            if (r->priority == priority && r->match == mods[0].spec.match) {
                return r->id;
            }
        }
        return 0;
    }

    parse_context ctx_;
    rule_table table_;
    std::vector<lb_pool> pools_;
    clock::time_point now_ = clock::now();
};

TEST_F(RuleTable, AddSameIdentityReplacesInPlaceKeepingId) {
    apply("priority=10,tcp,tp_dst=80,actions=drop");
    uint32_t id = id_of("tcp,tp_dst=80", 10);
    ASSERT_NE(id, 0u);
    auto s = apply("priority=10,tcp,tp_dst=80,cookie=7,actions=output:2");
    EXPECT_EQ(s.added, 0u);
    EXPECT_EQ(s.modified, 1u);
    EXPECT_EQ(id_of("tcp,tp_dst=80", 10), id);
    EXPECT_EQ(dump(), "cookie=0x7, priority=10,tcp,tp_dst=80 actions=output:eth1\n");
    // Another priority is another rule.
    EXPECT_EQ(apply("priority=11,tcp,tp_dst=80,actions=drop").added, 1u);
    EXPECT_EQ(table_.size(), 2u);
}

TEST_F(RuleTable, NonStrictDeleteRemovesCoveredRulesOnly) {
    apply("priority=1,tcp,tp_dst=80,actions=drop\n"
          "priority=2,tcp,nw_src=10.0.0.0/8,actions=drop\n"
          "priority=3,udp,actions=drop\n"
          "priority=4,ip,actions=drop\n"
          "priority=5,actions=drop\n");
    // "tcp" covers every TCP rule, not the wider "ip" or catch-all, nor udp.
    EXPECT_EQ(del("tcp").deleted, 2u);
    EXPECT_EQ(dump(), "priority=5 actions=drop\n"
                      "priority=4,ip actions=drop\n"
                      "priority=3,udp actions=drop\n");
    // A prefix covers longer prefixes and exact addresses inside it.
    apply("priority=6,ip,nw_src=10.1.0.0/16,actions=drop\n"
          "priority=7,ip,nw_src=10.1.2.3,actions=drop\n"
          "priority=8,ip,nw_src=11.0.0.0/16,actions=drop\n");
    EXPECT_EQ(del("ip,nw_src=10.0.0.0/8").deleted, 2u);
    // No match: everything.
    EXPECT_EQ(del("").deleted, 4u);
    EXPECT_EQ(table_.size(), 0u);
}

TEST_F(RuleTable, StrictDeleteNeedsExactMatchAndPriority) {
    apply("priority=1,tcp,tp_dst=80,actions=drop\n"
          "priority=2,tcp,tp_dst=80,actions=drop\n"
          "priority=1,tcp,actions=drop\n");
    EXPECT_EQ(del("priority=1,tcp", true).deleted, 1u);
    EXPECT_EQ(del("priority=3,tcp,tp_dst=80", true).deleted, 0u);
    EXPECT_EQ(del("priority=2,tcp,tp_dst=80", true).deleted, 1u);
    EXPECT_EQ(dump(), "priority=1,tcp,tp_dst=80 actions=drop\n");
}

TEST_F(RuleTable, TableCookieAndOutPortFilters) {
    apply("table=0,priority=1,cookie=0x10,tcp,actions=output:1\n"
          "table=1,priority=1,cookie=0x11,tcp,actions=output:2\n"
          "table=1,priority=2,cookie=0x20,udp,actions=output:1,output:3\n");
    EXPECT_EQ(del("table=1,cookie=0x10/0xf0").deleted, 1u); // 0x11 in table 1
    EXPECT_EQ(del("out_port=3").deleted, 1u);
    EXPECT_EQ(dump(), "cookie=0x10, priority=1,tcp actions=output:eth0\n");
    EXPECT_EQ(del("cookie=0x11").deleted, 0u); // an unmasked cookie selects exactly
    EXPECT_EQ(del("cookie=0x10").deleted, 1u);
}

TEST_F(RuleTable, NonStrictModifyChangesActionsOfCoveredRules) {
    apply("priority=1,tcp,tp_dst=80,actions=drop\n"
          "priority=2,tcp,tp_dst=443,cookie=0x5,actions=drop\n"
          "priority=3,udp,actions=drop\n");
    uint32_t id = id_of("tcp,tp_dst=443", 2);
    EXPECT_EQ(mod("tcp,actions=output:2").modified, 2u);
    EXPECT_EQ(dump(), "priority=3,udp actions=drop\n"
                      "cookie=0x5, priority=2,tcp,tp_dst=443 actions=output:eth1\n"
                      "priority=1,tcp,tp_dst=80 actions=output:eth1\n");
    EXPECT_EQ(id_of("tcp,tp_dst=443", 2), id); // modify keeps the rule (and its counters)
    // cookie twice: match with the masked one, set the new value (ovs-ofctl's idiom).
    EXPECT_EQ(mod("cookie=0x5/-1,cookie=0x6,actions=in_port").modified, 1u);
    EXPECT_EQ(dump(), "priority=3,udp actions=drop\n"
                      "cookie=0x6, priority=2,tcp,tp_dst=443 actions=in_port\n"
                      "priority=1,tcp,tp_dst=80 actions=output:eth1\n");
    // Nothing selected: nothing added (OpenFlow 1.1+).
    EXPECT_EQ(mod("icmp,actions=drop").modified, 0u);
    EXPECT_EQ(table_.size(), 3u);
}

TEST_F(RuleTable, StrictModifyAndPlacement) {
    apply("priority=1,tcp,actions=drop\npriority=2,tcp,actions=drop\n");
    EXPECT_EQ(mod("priority=2,tcp,placement=xdp,actions=local", true).modified, 1u);
    EXPECT_EQ(dump(), "placement=xdp, priority=2,tcp actions=local\n"
                      "priority=1,tcp actions=drop\n");
}

TEST_F(RuleTable, FlowModsApplyInOrder) {
    auto s = apply("add priority=1,tcp,actions=drop\n"
                   "add priority=2,udp,actions=drop\n"
                   "modify udp,actions=output:1\n"
                   "delete_strict priority=1,tcp\n"
                   "add priority=3,icmp,actions=local\n"
                   "modify_strict priority=3,icmp,actions=drop\n");
    EXPECT_EQ(s.added, 3u);
    EXPECT_EQ(s.modified, 2u);
    EXPECT_EQ(s.deleted, 1u);
    EXPECT_EQ(dump(), "priority=3,icmp actions=drop\npriority=2,udp actions=output:eth0\n");
}

TEST_F(RuleTable, ReplaceKeepsUnchangedRulesAndTheirIds) {
    apply(
        "priority=1,tcp,actions=drop\npriority=2,udp,actions=drop\npriority=3,icmp,actions=drop\n",
        parse_mode::config);
    uint32_t tcp = id_of("tcp", 1), udp = id_of("udp", 2);
    auto mods = parse("priority=1,tcp,actions=drop\n"
                      "priority=2,udp,actions=output:1\n"
                      "priority=4,arp,actions=local\n",
                      parse_mode::config);
    auto r = table_.replace(mods, {}, now_);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->unchanged, 1u);
    EXPECT_EQ(r->modified, 1u);
    EXPECT_EQ(r->deleted, 1u);
    EXPECT_EQ(r->added, 1u);
    EXPECT_EQ(id_of("tcp", 1), tcp);
    EXPECT_EQ(id_of("udp", 2), udp);
    EXPECT_EQ(dump(), "priority=4,arp actions=local\n"
                      "priority=2,udp actions=output:eth0\n"
                      "priority=1,tcp actions=drop\n");
}

TEST_F(RuleTable, PublishedSnapshotsNeverChange) {
    apply("priority=1,tcp,actions=drop\n");
    auto v1 = table_.current();
    const std::string before = dump();
    apply("priority=2,udp,actions=drop\n");
    del("tcp");
    auto v3 = table_.current();
    EXPECT_EQ(v1->n_rules, 1u);
    EXPECT_EQ(v3->n_rules, 1u);
    EXPECT_LT(v1->version, v3->version);
    std::string old;
    v1->for_each([&](const rule& r) { old += format_rule(r, {}) + "\n"; });
    EXPECT_EQ(old, "priority=1,tcp actions=drop\n");
    EXPECT_EQ(v1->pipeline->tables.at(0).n_rules(), 1u);
    EXPECT_NE(before, dump());
}

TEST_F(RuleTable, DeletedIdsAreQuarantinedUntilReclaimed) {
    apply("priority=1,tcp,actions=drop\n");
    uint32_t first = id_of("tcp", 1);
    del("tcp");
    const uint64_t last_with_rule = table_.current()->version - 1;
    apply("priority=2,udp,actions=drop\n");
    EXPECT_NE(id_of("udp", 2), first) << "id reused while an old version may still run";
    table_.reclaim(last_with_rule);
    apply("priority=3,icmp,actions=drop\n");
    EXPECT_EQ(id_of("icmp", 3), first);
    // A reused id is reported as born, so the datapath zeroes its counters.
    const auto& born = table_.current()->born;
    EXPECT_NE(std::find(born.begin(), born.end(), first), born.end());
}

TEST_F(RuleTable, LimitRejectsWholeRequest) {
    rule_table small(2);
    auto mods = parse("priority=1,tcp,actions=drop\npriority=2,udp,actions=drop\n"
                      "priority=3,icmp,actions=drop\n");
    auto r = small.apply(mods, {}, now_);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.err().code, make_error_code(errc::limit));
    EXPECT_EQ(small.size(), 0u);
    EXPECT_EQ(small.current()->version, 1u) << "a rejected request publishes nothing";
}

TEST_F(RuleTable, HardAndIdleTimeoutsExpire) {
    apply("priority=1,hard_timeout=10,tcp,actions=drop\n"
          "priority=2,idle_timeout=5,udp,actions=drop\n"
          "priority=3,icmp,actions=drop\n");
    uint32_t udp = id_of("udp", 2);
    auto never = [](uint32_t) { return clock::time_point{}; };
    EXPECT_EQ(table_.expire(now_ + 4s, never).deleted, 0u);
    // The udp rule was hit at +4 s: it lives until +9 s.
    auto hit = [&](uint32_t id) { return id == udp ? now_ + 4s : clock::time_point{}; };
    EXPECT_EQ(table_.expire(now_ + 6s, hit).deleted, 0u);
    EXPECT_EQ(table_.expire(now_ + 9s, hit).deleted, 1u);
    EXPECT_EQ(table_.expire(now_ + 10s, never).deleted, 1u);
    EXPECT_EQ(dump(), "priority=3,icmp actions=drop\n");
}

TEST_F(RuleTable, PoolsComeWithTheirRules) {
    apply("lb_pool=web, vip=10.0.0.10:80/tcp, backend=10.1.0.1:8080/02:00:00:00:01:01\n"
          "priority=5,tcp,nw_dst=10.0.0.10,tp_dst=80,actions=lb(web),in_port\n",
          parse_mode::config);
    auto snap = table_.current();
    ASSERT_EQ(snap->pools.size(), 1u);
    EXPECT_EQ(dump(), "priority=5,tcp,nw_dst=10.0.0.10,tp_dst=80 actions=lb(web),in_port\n");
    // A later add-flows may use the known pool.
    apply("priority=6,tcp,nw_dst=10.0.0.10,tp_dst=80,actions=lb(web),output:1\n");
    EXPECT_EQ(table_.size(), 2u);
}

// set_pool(): one pool's backends at run time (swctl add-backend, del-backend, set-backend).
TEST_F(RuleTable, SetPoolChangesBackendsKeepsIdAndPublishes) {
    apply("lb_pool=dns, vip=10.0.0.53:53/udp, backend=10.1.0.53:53/02:00:00:00:00:53\n"
          "lb_pool=web, vip=10.0.0.10:80/tcp, backend=10.1.0.1:8080/02:00:00:00:01:01\n"
          "priority=5,tcp,nw_dst=10.0.0.10,tp_dst=80,actions=lb(web),in_port\n",
          parse_mode::config);
    auto before = table_.current();
    lb_pool web = **table_.pool("web");
    const uint16_t id = web.id;
    web.backends.push_back(web.backends[0]);
    web.backends[1].addr[0] = htonl(0x0a010002); // 10.1.0.2
    web.backends[1].weight = 3;
    web.id = 77; // ignored: a pool keeps its id
    auto r = table_.set_pool(web);
    ASSERT_TRUE(r.ok()) << r.err().message();
    EXPECT_TRUE(*r);
    auto after = table_.current();
    EXPECT_EQ(after->version, before->version + 1);
    ASSERT_EQ(after->pools.size(), 2u);
    EXPECT_EQ(after->pools[0].name, "dns");
    EXPECT_EQ(format_pool(after->pools[1]),
              "lb_pool=web, vip=10.0.0.10:80/tcp, backend=10.1.0.1:8080/02:00:00:00:01:01, "
              "backend=10.1.0.2:8080/02:00:00:00:01:01/weight=3");
    EXPECT_EQ(after->pools[1].id, id);
    // The compiled pipeline has the new pool under the same id; the rules did not change.
    ASSERT_NE(after->pipeline->pool(id), nullptr);
    EXPECT_EQ(after->pipeline->pool(id)->backends.size(), 2u);
    EXPECT_EQ(after->chunks, before->chunks);
    // The same pool again publishes nothing.
    r = table_.set_pool(after->pools[1]);
    ASSERT_TRUE(r.ok());
    EXPECT_FALSE(*r);
    EXPECT_EQ(table_.current(), after);
}

TEST_F(RuleTable, SetPoolRejectsWhatADeclarationMayNotHave) {
    apply("lb_pool=web, vip=10.0.0.10:80/tcp, backend=10.1.0.1:8080/02:00:00:00:01:01\n",
          parse_mode::config);
    auto before = table_.current();
    const lb_pool web = **table_.pool("web");
    auto expect_error = [&](lb_pool p, errc code, const std::string& context) {
        auto r = table_.set_pool(std::move(p));
        ASSERT_FALSE(r.ok());
        EXPECT_EQ(r.err().code, make_error_code(code));
        EXPECT_EQ(r.err().context, context);
        EXPECT_EQ(table_.current(), before) << "a failed set_pool must change nothing";
    };
    lb_pool p = web;
    p.name = "api";
    expect_error(p, errc::not_found, "unknown pool 'api'; expected one of the switch's pools: web");
    p = web;
    p.vip_port = 81;
    expect_error(
        p, errc::invalid_input,
        "pool 'web' has another vip; expected its vip, or replace-flows to change the vip");
    p = web;
    p.backends[0].ipv6 = true;
    p.backends[0].addr[0] = htonl(0x20010db8);
    expect_error(p, errc::invalid_input,
                 "backend family differs from the vip 'web': backend [2001:db8::]:8080 is IPv6, "
                 "the vip is IPv4; expected backends of the vip's address family");
    p = web;
    p.backends.push_back(p.backends[0]);
    p.backends[1].weight = 9;
    expect_error(
        p, errc::invalid_input,
        "duplicate backend 'web': 10.1.0.1:8080 is there twice; expected each backend once");
    p = web;
    p.backends.resize(SWD_LB_MAX_BACKENDS + 1);
    expect_error(p, errc::limit,
                 "too many backends 'web': 656 backends; expected at most 655 per pool (the "
                 "Maglev table's size / 100)");
    rule_table empty;
    auto r = empty.pool("web");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.err().context, "unknown pool 'web'; the switch has no pools");
}

} // namespace
} // namespace swd::flows
