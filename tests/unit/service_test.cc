// The control service without a socket: requests in, answers out, table state checked.
#include <arpa/inet.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "flows/format.h"
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

// dump-conntrack and flush-conntrack: what the datapath's tracker holds, formatted.
class tracking_datapath final : public dp::datapath {
public:
    const char* kind() const override { return "test"; }
    void publish(std::shared_ptr<const dp::pipeline> p, std::span<const uint32_t>) override {
        current_ = std::move(p);
    }
    uint64_t retired_version() const override { return current_ ? current_->version - 1 : 0; }
    void read_counters(std::span<const uint32_t>, std::span<dp::rule_counters> out) const override {
        for (auto& c : out) {
            c = {};
        }
    }
    dp::rule_location where(uint32_t) const override { return dp::rule_location::none; }
    connection_list list_connections(size_t limit) const override {
        connection_list l;
        l.tracker = "xdp";
        l.total = flushed_ ? 0 : 2;
        swd_lb_tuple v4{}, v6{};
        v4.src_ip[0] = htonl(0x0a000001);
        v4.dst_ip[0] = htonl(0x0a000002);
        v4.src_port = htons(40000);
        v4.dst_port = htons(80);
        v4.proto = 6;
        v6.src_ip[0] = htonl(0x20010db8);
        v6.src_ip[3] = htonl(1);
        v6.dst_ip[0] = htonl(0x20010db8);
        v6.dst_ip[3] = htonl(2);
        v6.src_port = htons(5353);
        v6.dst_port = htons(53);
        v6.proto = 17;
        v6.ipv6 = 1;
        for (const auto& t : {v4, v6}) {
            if (!flushed_ && l.entries.size() < limit) {
                l.entries.push_back({t, 1'500'000'000});
            }
        }
        return l;
    }
    size_t flush_connections() override {
        flushed_ = true;
        return 2;
    }

private:
    std::shared_ptr<const dp::pipeline> current_;
    bool flushed_ = false;
};

TEST(ServiceConntrack, DumpAndFlush) {
    service_options o;
    o.ports = {{"eth0", 1}};
    service svc(o, std::make_unique<tracking_datapath>());
    json r = svc.handle({{"cmd", "dump-conntrack"}});
    ASSERT_TRUE(r["ok"].get<bool>()) << r.dump();
    EXPECT_EQ(r["result"]["tracker"], "xdp");
    EXPECT_EQ(r["result"]["total"], 2);
    ASSERT_EQ(r["result"]["connections"].size(), 2u);
    const json& c = r["result"]["connections"];
    EXPECT_EQ(c[0]["proto"], "tcp");
    EXPECT_EQ(c[0]["src"], "10.0.0.1:40000");
    EXPECT_EQ(c[0]["dst"], "10.0.0.2:80");
    EXPECT_DOUBLE_EQ(c[0]["idle"].get<double>(), 1.5);
    EXPECT_EQ(c[1]["proto"], "udp");
    EXPECT_EQ(c[1]["src"], "[2001:db8::1]:5353");
    EXPECT_EQ(c[1]["dst"], "[2001:db8::2]:53");
    r = svc.handle({{"cmd", "dump-conntrack"}, {"limit", 1}});
    EXPECT_EQ(r["result"]["total"], 2);
    EXPECT_EQ(r["result"]["connections"].size(), 1u);
    EXPECT_EQ(svc.handle({{"cmd", "dump-conntrack"}, {"limit", "all"}})["error"]["code"],
              "protocol");
    r = svc.handle({{"cmd", "flush-conntrack"}});
    EXPECT_EQ(r["result"]["flushed"], 2);
    EXPECT_EQ(svc.handle({{"cmd", "dump-conntrack"}})["result"]["total"], 0);
}

TEST_F(Service, SetPlacementMovesRulesAndSaysWhy) {
    json r = call({{"cmd", "add-flows"}, {"text", "priority=5,in_port=1,actions=output:2\n"}});
    ASSERT_TRUE(r["ok"].get<bool>()) << r.dump();
    auto why = [&] {
        json d = call({{"cmd", "dump-flows"}, {"format", "json"}});
        return d["result"]["flows"][0]["why"].get<std::string>();
    };
    const std::string hybrid_why = why();
    r = call({{"cmd", "set"}, {"placement", "all-xdp"}});
    ASSERT_TRUE(r["ok"].get<bool>()) << r.dump();
    EXPECT_TRUE(r["result"]["changed"].get<bool>());
    EXPECT_EQ(call({{"cmd", "show"}})["result"]["profile"], "all-xdp");
    EXPECT_NE(why(), hybrid_why) << "pass-through is placed in XDP under all-xdp";
    r = call({{"cmd", "set"}, {"placement", "all-xdp"}});
    EXPECT_FALSE(r["result"]["changed"].get<bool>());
    r = call({{"cmd", "set"}, {"placement", "fast"}});
    EXPECT_EQ(r["error"]["message"], "<set>: unknown placement 'fast'; expected hybrid, all-xdp, "
                                     "all-user, adaptive or calibrated");
    EXPECT_EQ(call({{"cmd", "show"}})["result"]["profile"], "all-xdp") << "errors change nothing";
    // Calibrated, before any calibration: as hybrid, and why says so.
    r = call({{"cmd", "set"}, {"placement", "calibrated"}});
    ASSERT_TRUE(r["ok"].get<bool>()) << r.dump();
    EXPECT_EQ(why(), "pass-through: no calibrated figures, user space (as hybrid)");
    r = call({{"cmd", "calibrate"}});
    EXPECT_EQ(r["error"]["code"], "unsupported");
    EXPECT_EQ(r["error"]["message"],
              "<calibrate>: nothing to measure without ports: not supported");
    EXPECT_EQ(call({{"cmd", "calibrate"}, {"seconds", 20}})["error"]["message"],
              "<calibrate>: seconds is the live sample's length, 0.1-10");
    r = call({{"cmd", "set"}});
    EXPECT_EQ(r["error"]["code"], "invalid_input");
}

// Run-time pool changes: add-backend, del-backend, set-backend, dump-pools.
class Pools : public Service {
protected:
    Pools() {
        json r =
            call({{"cmd", "add-flows"},
                  {"text", "lb_pool=dns, vip=10.0.0.53:53/udp, "
                           "backend=10.1.0.53:53/02:00:00:00:00:53\n"
                           "lb_pool=web, vip=10.0.0.10:80/tcp, "
                           "backend=10.1.0.1:8080/02:00:00:00:01:01, "
                           "backend=10.1.0.2:8080/02:00:00:00:01:02/weight=2\n"
                           "priority=1,tcp,nw_dst=10.0.0.10,tp_dst=80,actions=lb(web),in_port\n"}});
        EXPECT_TRUE(r["ok"].get<bool>()) << r.dump();
    }
    json backend(const std::string& cmd, const std::string& pool, const std::string& text) {
        return call({{"id", 4}, {"cmd", cmd}, {"pool", pool}, {"backend", text}});
    }
    uint64_t version() { return svc_->table().current()->version; }
    std::string web() { return flows::format_pool(**svc_->table().pool("web")); }
    // A rejected change: the code and message, and nothing changed (version, dump).
    void expect_rejected(const json& r, const std::string& code, const std::string& message,
                         uint64_t version_before, const std::string& dump_before) {
        ASSERT_FALSE(r["ok"].get<bool>()) << r.dump();
        EXPECT_EQ(r["id"], 4);
        EXPECT_EQ(r["error"]["code"], code);
        EXPECT_EQ(r["error"]["message"], message);
        EXPECT_EQ(version(), version_before);
        EXPECT_EQ(dump(), dump_before);
    }
};

constexpr const char* web_pool = "lb_pool=web, vip=10.0.0.10:80/tcp, "
                                 "backend=10.1.0.1:8080/02:00:00:00:01:01, "
                                 "backend=10.1.0.2:8080/02:00:00:00:01:02/weight=2";

TEST_F(Pools, AddBackend) {
    const uint64_t v = version();
    const uint16_t id = (*svc_->table().pool("web"))->id;
    json r = backend("add-backend", "web", "10.1.0.3:8080/02:00:00:00:01:03/weight=3/state=drain");
    ASSERT_TRUE(r["ok"].get<bool>()) << r.dump();
    const json& res = r["result"];
    EXPECT_EQ(res["version"], v + 1);
    EXPECT_EQ(version(), v + 1);
    EXPECT_TRUE(res["changed"].get<bool>());
    EXPECT_EQ(res["backend"], json({{"address", "10.1.0.3:8080"},
                                    {"mac", "02:00:00:00:01:03"},
                                    {"weight", 3},
                                    {"state", "drain"}}));
    EXPECT_EQ(res["pool"]["name"], "web");
    EXPECT_EQ(res["pool"]["id"], id);
    EXPECT_EQ(res["pool"]["backends"].size(), 3u);
    const std::string text =
        std::string(web_pool) + ", backend=10.1.0.3:8080/02:00:00:00:01:03/weight=3/state=drain";
    EXPECT_EQ(res["pool"]["text"], text);
    EXPECT_EQ(web(), text);
    EXPECT_EQ((*svc_->table().pool("web"))->id, id);
    // dump-flows shows the new pool; the pipeline has it under the same id.
    EXPECT_NE(dump().find(text + "\n"), std::string::npos) << dump();
    EXPECT_EQ(svc_->table().current()->pipeline->pool(id)->backends.size(), 3u);
    // The text may be copied from a pool's: backend= in front; IPv6 with brackets.
    call({{"cmd", "add-flows"},
          {"text", "lb_pool=web6, vip=[2001:db8::100]:443/tcp, "
                   "backend=[2001:db8::1]:8443/02:00:00:00:00:03\n"}});
    r = backend("add-backend", "web6", "backend=[2001:db8::2]:8443/02:00:00:00:00:04");
    ASSERT_TRUE(r["ok"].get<bool>()) << r.dump();
    EXPECT_EQ(r["result"]["pool"]["text"], "lb_pool=web6, vip=[2001:db8::100]:443/tcp, "
                                           "backend=[2001:db8::1]:8443/02:00:00:00:00:03, "
                                           "backend=[2001:db8::2]:8443/02:00:00:00:00:04");
}

TEST_F(Pools, AddBackendErrorsChangeNothing) {
    const uint64_t v = version();
    const std::string d = dump();
    // Syntax: the parser's own messages, positioned in the argument.
    json r = backend("add-backend", "web", "10.1.0.3:8080/02:00:00:00:01:03/weight=0");
    expect_rejected(r, "invalid_input", "<add-backend>: 1 error; nothing was changed", v, d);
    const json& diag = r["error"]["diagnostics"][0];
    EXPECT_EQ(diag["text"], "<add-backend>:1:33: error: invalid backend option 'weight=0'; "
                            "expected weight=1-65535 or state=up|drain|down, each at most once\n"
                            "    1 | 10.1.0.3:8080/02:00:00:00:01:03/weight=0\n"
                            "      |                                 ^~~~~~~~");
    r = backend("add-backend", "web", "10.1.0.3:8080");
    expect_rejected(r, "invalid_input", "<add-backend>: 1 error; nothing was changed", v, d);
    EXPECT_EQ(r["error"]["diagnostics"][0]["text"],
              "<add-backend>:1:1: error: invalid backend '10.1.0.3:8080': the next-hop MAC is "
              "missing; expected backend=ADDR:PORT/MAC[/weight=N][/state=up|drain|down] (IPv6: "
              "[ADDR]:PORT/...)\n"
              "    1 | 10.1.0.3:8080\n"
              "      | ^~~~~~~~~~~~~");
    r = backend("add-backend", "web", "10.1.0.300:8080/02:00:00:00:01:03");
    expect_rejected(r, "invalid_input", "<add-backend>: 1 error; nothing was changed", v, d);
    EXPECT_EQ(r["error"]["diagnostics"][0]["what"], "invalid backend address");
    EXPECT_EQ(r["error"]["diagnostics"][0]["found"], "10.1.0.300:8080");
    r = backend("add-backend", "web", "10.1.0.3:8080/02:00:00:00:01:03 /weight=2");
    expect_rejected(r, "invalid_input", "<add-backend>: 1 error; nothing was changed", v, d);
    EXPECT_EQ(r["error"]["diagnostics"][0]["column"], 33);
    EXPECT_EQ(r["error"]["diagnostics"][0]["what"], "unexpected text after the backend");
    r = backend("add-backend", "web", "  ");
    expect_rejected(r, "invalid_input", "<add-backend>: 1 error; nothing was changed", v, d);
    EXPECT_EQ(r["error"]["diagnostics"][0]["what"], "empty backend");
    // Against the pool.
    expect_rejected(backend("add-backend", "api", "10.1.0.3:8080/02:00:00:00:01:03"), "not_found",
                    "<add-backend>: unknown pool 'api'; expected one of the switch's pools: dns, "
                    "web",
                    v, d);
    expect_rejected(backend("add-backend", "web", "10.1.0.2:8080/02:00:00:00:01:09/weight=5"),
                    "exists",
                    "<add-backend>: backend already in pool 'web': 10.1.0.2:8080; expected an "
                    "address and port not in the pool (set-backend changes a backend)",
                    v, d);
    expect_rejected(backend("add-backend", "web", "[2001:db8::1]:8080/02:00:00:00:01:03"),
                    "invalid_input",
                    "<add-backend>: backend family differs from the vip 'web': backend "
                    "[2001:db8::1]:8080 is IPv6, the vip is IPv4; expected backends of the vip's "
                    "address family",
                    v, d);
    json p =
        call({{"id", 4}, {"cmd", "add-backend"}, {"backend", "10.1.0.3:8080/02:00:00:00:01:03"}});
    expect_rejected(p, "protocol", "add-backend needs a \"pool\"", v, d);
    p = call({{"id", 4}, {"cmd", "add-backend"}, {"pool", "web"}, {"backend", 7}});
    expect_rejected(p, "protocol", "field 'backend' has the wrong type", v, d);
}

TEST_F(Pools, AddBackendStopsAtTheMaglevLimit) {
    std::string text = "lb_pool=big, vip=10.0.0.20:80/tcp";
    for (int i = 0; i < SWD_LB_MAX_BACKENDS - 1; i++) {
        text += fmt::format(", backend=10.2.{}.{}:80/02:00:00:00:00:01", i / 256, i % 256);
    }
    json r = call({{"cmd", "add-flows"}, {"text", text}});
    ASSERT_TRUE(r["ok"].get<bool>()) << r.dump();
    r = backend("add-backend", "big", "10.3.0.1:80/02:00:00:00:00:01");
    ASSERT_TRUE(r["ok"].get<bool>()) << r.dump();
    EXPECT_EQ(r["result"]["pool"]["backends"].size(), 655u);
    expect_rejected(backend("add-backend", "big", "10.3.0.2:80/02:00:00:00:00:01"), "limit",
                    "<add-backend>: too many backends 'big': 656 backends; expected at most 655 "
                    "per pool (the Maglev table's size / 100)",
                    version(), dump());
}

TEST_F(Pools, DelBackend) {
    const uint64_t v = version();
    json r = backend("del-backend", "web", "10.1.0.1:8080");
    ASSERT_TRUE(r["ok"].get<bool>()) << r.dump();
    EXPECT_EQ(r["result"]["version"], v + 1);
    EXPECT_EQ(r["result"]["backend"]["mac"], "02:00:00:00:01:01"); // the one removed
    EXPECT_EQ(web(), "lb_pool=web, vip=10.0.0.10:80/tcp, "
                     "backend=10.1.0.2:8080/02:00:00:00:01:02/weight=2");
    r = backend("del-backend", "web", "10.1.0.2:8080");
    ASSERT_TRUE(r["ok"].get<bool>()) << r.dump();
    EXPECT_EQ(web(), "lb_pool=web, vip=10.0.0.10:80/tcp"); // a pool may have no backends
    // Errors.
    const uint64_t v2 = version();
    const std::string d = dump();
    expect_rejected(backend("del-backend", "web", "10.1.0.2:8080"), "not_found",
                    "<del-backend>: backend not in pool 'web': 10.1.0.2:8080; the pool has no "
                    "backends",
                    v2, d);
    expect_rejected(backend("del-backend", "dns", "10.1.0.54:53"), "not_found",
                    "<del-backend>: backend not in pool 'dns': 10.1.0.54:53; expected one of its 1 "
                    "backend",
                    v2, d);
    expect_rejected(backend("del-backend", "nope", "10.1.0.54:53"), "not_found",
                    "<del-backend>: unknown pool 'nope'; expected one of the switch's pools: dns, "
                    "web",
                    v2, d);
    r = backend("del-backend", "dns", "10.1.0.53:53/02:00:00:00:00:53");
    expect_rejected(r, "invalid_input", "<del-backend>: 1 error; nothing was changed", v2, d);
    EXPECT_EQ(r["error"]["diagnostics"][0]["text"],
              "<del-backend>:1:1: error: invalid backend address '10.1.0.53:53/02:00:00:00:00:53': "
              "a backend is named by its address and port only; expected ADDR:PORT (IPv6: "
              "[ADDR]:PORT)\n"
              "    1 | 10.1.0.53:53/02:00:00:00:00:53\n"
              "      | ^~~~~~~~~~~~~~~~~~~~~~~~~~~~~~");
    r = backend("del-backend", "dns", "10.1.0.53:53 10.1.0.54:53");
    expect_rejected(r, "invalid_input", "<del-backend>: 1 error; nothing was changed", v2, d);
    EXPECT_EQ(r["error"]["diagnostics"][0]["what"], "unexpected text after the backend");
    EXPECT_EQ(r["error"]["diagnostics"][0]["column"], 14);
}

TEST_F(Pools, SetBackend) {
    const uint64_t v = version();
    json r = backend("set-backend", "web", "10.1.0.1:8080 state=drain");
    ASSERT_TRUE(r["ok"].get<bool>()) << r.dump();
    EXPECT_TRUE(r["result"]["changed"].get<bool>());
    EXPECT_EQ(r["result"]["version"], v + 1);
    EXPECT_EQ(r["result"]["backend"]["state"], "drain");
    EXPECT_EQ(r["result"]["backend"]["weight"], 1);
    EXPECT_EQ(web(), "lb_pool=web, vip=10.0.0.10:80/tcp, "
                     "backend=10.1.0.1:8080/02:00:00:00:01:01/state=drain, "
                     "backend=10.1.0.2:8080/02:00:00:00:01:02/weight=2");
    r = backend("set-backend", "web", "10.1.0.2:8080, weight=7 state=down");
    ASSERT_TRUE(r["ok"].get<bool>()) << r.dump();
    EXPECT_EQ(web(), "lb_pool=web, vip=10.0.0.10:80/tcp, "
                     "backend=10.1.0.1:8080/02:00:00:00:01:01/state=drain, "
                     "backend=10.1.0.2:8080/02:00:00:00:01:02/weight=7/state=down");
    r = backend("set-backend", "web", "10.1.0.1:8080 state=up");
    ASSERT_TRUE(r["ok"].get<bool>()) << r.dump();
    EXPECT_EQ(version(), v + 3);
    // Setting what is already there publishes nothing.
    r = backend("set-backend", "web", "10.1.0.1:8080 state=up weight=1");
    ASSERT_TRUE(r["ok"].get<bool>()) << r.dump();
    EXPECT_FALSE(r["result"]["changed"].get<bool>());
    EXPECT_EQ(r["result"]["version"], v + 3);
    EXPECT_EQ(version(), v + 3);
    // Errors.
    const std::string d = dump();
    expect_rejected(backend("set-backend", "web", "10.1.0.9:8080 state=up"), "not_found",
                    "<set-backend>: backend not in pool 'web': 10.1.0.9:8080; expected one of its "
                    "2 backends",
                    v + 3, d);
    expect_rejected(backend("set-backend", "api", "10.1.0.1:8080 state=up"), "not_found",
                    "<set-backend>: unknown pool 'api'; expected one of the switch's pools: dns, "
                    "web",
                    v + 3, d);
    r = backend("set-backend", "web", "10.1.0.1:8080");
    expect_rejected(r, "invalid_input", "<set-backend>: 1 error; nothing was changed", v + 3, d);
    EXPECT_EQ(r["error"]["diagnostics"][0]["text"],
              "<set-backend>:1:1: error: nothing to set for backend '10.1.0.1:8080'; expected "
              "weight=1-65535 and/or state=up|drain|down after it\n"
              "    1 | 10.1.0.1:8080\n"
              "      | ^~~~~~~~~~~~~");
    r = backend("set-backend", "web", "10.1.0.1:8080 weight=2 weight=3");
    expect_rejected(r, "invalid_input", "<set-backend>: 1 error; nothing was changed", v + 3, d);
    EXPECT_EQ(r["error"]["diagnostics"][0]["text"],
              "<set-backend>:1:24: error: invalid backend option 'weight=3'; expected "
              "weight=1-65535 or state=up|drain|down, each at most once\n"
              "    1 | 10.1.0.1:8080 weight=2 weight=3\n"
              "      |                        ^~~~~~~~");
    r = backend("set-backend", "web", "10.1.0.1:8080 state=gone");
    expect_rejected(r, "invalid_input", "<set-backend>: 1 error; nothing was changed", v + 3, d);
    EXPECT_EQ(r["error"]["diagnostics"][0]["found"], "state=gone");
}

TEST_F(Pools, DumpPools) {
    json r = call({{"cmd", "dump-pools"}});
    ASSERT_TRUE(r["ok"].get<bool>()) << r.dump();
    ASSERT_EQ(r["result"]["pools"].size(), 2u);
    EXPECT_EQ(r["result"]["pools"][0]["text"],
              "lb_pool=dns, vip=10.0.0.53:53/udp, backend=10.1.0.53:53/02:00:00:00:00:53");
    EXPECT_EQ(r["result"]["pools"][1]["backends"][1], json({{"address", "10.1.0.2:8080"},
                                                            {"mac", "02:00:00:00:01:02"},
                                                            {"weight", 2},
                                                            {"state", "up"}}));
    r = call({{"cmd", "dump-pools"}, {"pool", "web"}});
    ASSERT_EQ(r["result"]["pools"].size(), 1u);
    EXPECT_EQ(r["result"]["pools"][0]["text"], web_pool);
    r = call({{"cmd", "dump-pools"}, {"pool", "api"}});
    EXPECT_EQ(r["error"]["code"], "not_found");
    EXPECT_EQ(r["error"]["message"],
              "<dump-pools>: unknown pool 'api'; expected one of the switch's pools: dns, web");
}

} // namespace
} // namespace swd::ctl
