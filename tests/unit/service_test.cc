// The control service without a socket: requests in, answers out, table state checked.
#include <gtest/gtest.h>

#include "tools/control/service.h"

namespace swd::ctl {
namespace {

class Service : public ::testing::Test {
protected:
    Service() {
        service_options o;
        o.ports = {{"eth0", 1}, {"eth1", 2}};
        svc_ = std::make_unique<service>(o, std::make_unique<dp::null_datapath>());
    }
    json call(json req) { return svc_->handle(req); }
    std::string dump() {
        json r = call({{"id", 9}, {"cmd", "dump-flows"}, {"stats", false}});
        EXPECT_TRUE(r["ok"].get<bool>()) << r.dump();
        return r["result"]["text"];
    }
    std::unique_ptr<service> svc_;
};

TEST_F(Service, AddFlowsAnswersWithSummaryAndVersion) {
    json r = call({{"id", 1},
                   {"cmd", "add-flows"},
                   {"text", "priority=5,tcp,actions=output:eth1\n"
                            "priority=6,udp,actions=drop\n"}});
    ASSERT_TRUE(r["ok"].get<bool>()) << r.dump();
    EXPECT_EQ(r["id"], 1);
    EXPECT_EQ(r["result"]["added"], 2);
    EXPECT_GT(r["result"]["version"].get<uint64_t>(), 0u);
    EXPECT_EQ(dump(), "priority=6,udp actions=drop\npriority=5,tcp actions=output:eth1\n");
}

TEST_F(Service, RejectedRequestChangesNothingAndCarriesDiagnostics) {
    call({{"id", 1}, {"cmd", "add-flows"}, {"text", "priority=1,actions=drop"}});
    const std::string before = dump();
    json r =
        call({{"id", 2},
              {"cmd", "add-flows"},
              {"source", "fw.txt"},
              {"text", "priority=2,actions=drop\npriority=3,ip,nw_src=1.2.3.256,actions=drop\n"}});
    ASSERT_FALSE(r["ok"].get<bool>());
    EXPECT_EQ(r["error"]["code"], "invalid_input");
    EXPECT_EQ(r["error"]["message"], "fw.txt: 1 error; nothing was changed");
    const json& d = r["error"]["diagnostics"][0];
    EXPECT_EQ(d["source"], "fw.txt");
    EXPECT_EQ(d["line"], 2);
    EXPECT_EQ(d["column"], 22);
    EXPECT_EQ(d["found"], "1.2.3.256");
    EXPECT_EQ(d["expected"], "an IPv4 address a.b.c.d[/prefix|/mask]");
    EXPECT_EQ(dump(), before);
}

TEST_F(Service, DeleteModifyReplace) {
    call({{"cmd", "add-flows"},
          {"text", "priority=1,tcp,actions=drop\npriority=2,udp,actions=drop"}});
    json r = call({{"cmd", "mod-flows"}, {"rule", "udp,actions=local"}});
    EXPECT_EQ(r["result"]["modified"], 1);
    r = call({{"cmd", "del-flows"}, {"match", "priority=1,tcp"}, {"strict", true}});
    EXPECT_EQ(r["result"]["deleted"], 1);
    EXPECT_EQ(dump(), "priority=2,udp actions=local\n");
    r = call({{"cmd", "replace-flows"}, {"text", "priority=9,icmp,actions=drop\n"}});
    ASSERT_TRUE(r["ok"].get<bool>()) << r.dump();
    EXPECT_EQ(r["result"]["added"], 1);
    EXPECT_EQ(r["result"]["deleted"], 1);
    EXPECT_EQ(dump(), "priority=9,icmp actions=drop\n");
    // replace-flows may not invent ports.
    r = call({{"cmd", "replace-flows"}, {"text", "port=eth5\npriority=9,icmp,actions=drop\n"}});
    EXPECT_FALSE(r["ok"].get<bool>());
    EXPECT_EQ(dump(), "priority=9,icmp actions=drop\n");
}

TEST_F(Service, DumpFlowsJsonAndFilter) {
    call({{"cmd", "add-flows"},
          {"text",
           "cookie=0x7,priority=1,tcp,tp_dst=80,actions=drop\npriority=2,udp,actions=drop"}});
    json r = call({{"cmd", "dump-flows"}, {"format", "json"}, {"match", "tcp"}});
    ASSERT_TRUE(r["ok"].get<bool>()) << r.dump();
    ASSERT_EQ(r["result"]["flows"].size(), 1u);
    const json& f = r["result"]["flows"][0];
    EXPECT_EQ(f["match"], "tcp,tp_dst=80");
    EXPECT_EQ(f["actions"], "drop");
    EXPECT_EQ(f["cookie"], "0x7");
    EXPECT_EQ(f["priority"], 1);
    EXPECT_EQ(f["n_packets"], 0);
    EXPECT_EQ(f["runs"], "none");
    EXPECT_EQ(f["text"], "cookie=0x7, priority=1,tcp,tp_dst=80 actions=drop");
    r = call({{"cmd", "dump-flows"}});
    std::string text = r["result"]["text"];
    EXPECT_NE(text.find("n_packets=0, n_bytes=0"), std::string::npos) << text;
}

TEST_F(Service, MalformedRequests) {
    EXPECT_EQ(call(json::array())["error"]["code"], "protocol");
    EXPECT_EQ(call({{"id", 3}})["error"]["code"], "unknown_command");
    EXPECT_EQ(call({{"cmd", "frobnicate"}})["error"]["message"], "unknown command 'frobnicate'");
    json r = call({{"cmd", "add-flows"}, {"text", 42}});
    EXPECT_EQ(r["error"]["code"], "protocol");
    EXPECT_EQ(r["error"]["message"], "field 'text' has the wrong type");
    EXPECT_EQ(call({{"cmd", "dump-flows"}, {"format", "xml"}})["error"]["code"], "protocol");
}

TEST_F(Service, ShowDescribesTheSwitch) {
    call({{"cmd", "add-flows"},
          {"text", "lb_pool=web, vip=10.0.0.10:80/tcp, backend=10.1.0.1:80/02:00:00:00:00:01\n"
                   "priority=1,tcp,nw_dst=10.0.0.10,tp_dst=80,actions=lb(web),in_port\n"
                   "table=1,priority=1,actions=drop\n"}});
    json r = call({{"cmd", "show"}});
    ASSERT_TRUE(r["ok"].get<bool>());
    const json& s = r["result"];
    EXPECT_EQ(s["ports"].size(), 2u);
    EXPECT_EQ(s["ports"][1]["name"], "eth1");
    EXPECT_EQ(s["rules"], 2);
    EXPECT_EQ(s["tables"].size(), 2u);
    EXPECT_EQ(s["pools"][0]["name"], "web");
    EXPECT_EQ(s["datapath"], "none");
    EXPECT_GT(s["memory"]["resident_bytes"].get<uint64_t>(), 0u);
}

} // namespace
} // namespace swd::ctl
