// pcap replay: the XDP dispatcher and the user-space datapath treat every packet the same.
//
// For a flow table and each packet of a set (hand-built frames of every kind, and every packet of
// the 400 real-world captures in ../shared/pcaps/real-world, many malformed on purpose), the test
// computes the switch's verdict and output bytes twice:
//  - user space alone: the batch executor (datapath/executor.h) on the frame;
//  - the dispatcher first: bpf/dispatcher.bpf.c run with BPF_PROG_TEST_RUN on maps written by
//    xdp_tables from the same compiled pipeline (traced: it records its verdict), and, when it
//    hands the packet to user space, the executor on the frame as XDP left it.
// Verdicts: drop, local (XDP_PASS / the local port), tx (back out of the receiving port),
// output to port N, each with the frame's bytes. Any difference fails with the packet, both
// verdicts and a hex diff. Run for the profiles hybrid and all-xdp, so that the same rules run
// in user space in one and in XDP in the other.
//
// Needs root (BPF). Not root: skipped, unless SWD_REQUIRE_ROOT_TESTS=1 (CI) makes it fail.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <gtest/gtest.h>
#include <pcap/pcap.h>
#include <string>
#include <unistd.h>
#include <vector>

#include "datapath/executor.h"
#include "flows/compiler.h"
#include "flows/parser.h"
#include "netdev-afxdp/xdp_program.h"
#include "netdev-afxdp/xdp_tables.h"

namespace swd {
namespace {

using bytes = std::vector<uint8_t>;

struct outcome {
    enum kind_t { drop, local, output } kind = drop;
    uint16_t port = 0;
    bytes frame;
    friend bool operator==(const outcome&, const outcome&) = default;
};

std::string describe(const outcome& o) {
    switch (o.kind) {
    case outcome::drop:
        return "drop";
    case outcome::local:
        return "local";
    case outcome::output:
        return "output:" + std::to_string(o.port);
    }
    return "?";
}

std::string hex_diff(const bytes& a, const bytes& b) {
    std::string s;
    char buf[64];
    std::snprintf(buf, sizeof buf, "lengths %zu and %zu\n", a.size(), b.size());
    s += buf;
    for (size_t i = 0; i < std::max(a.size(), b.size()); i++) {
        const int x = i < a.size() ? a[i] : -1, y = i < b.size() ? b[i] : -1;
        if (x != y) {
            std::snprintf(buf, sizeof buf, "  offset %zu: %02x | %02x\n", i, x & 0xff, y & 0xff);
            s += buf;
        }
    }
    return s;
}

// Records the first thing the executor does with the packet (XDP-placeable rules send a packet
// at most once; for the others the first output is compared, which both paths produce the same
// way since user space runs them in both).
class recording_sink {
public:
    void output(uint16_t port, uint16_t, dp::packet& p, bool) { record(outcome::output, port, p); }
    void local(dp::packet& p, bool) { record(outcome::local, 0, p); }
    void release(dp::packet&) {}
    outcome result;
    bool seen = false;

private:
    void record(outcome::kind_t k, uint16_t port, const dp::packet& p) {
        if (!seen) {
            result = {k, port, bytes(p.data, p.data + p.len)};
            seen = true;
        }
    }
};

class user_path {
public:
    outcome run(const dp::pipeline& p, const bytes& frame, uint16_t in_port) {
        bytes copy = frame;
        dp::packet pkt;
        pkt.data = copy.data();
        pkt.len = static_cast<uint32_t>(copy.size());
        pkt.in_port = in_port;
        recording_sink sink;
        dp::executor<recording_sink> ex(state_, sink);
        state_.rules.reserve(1024);
        ex.run(p, std::span<dp::packet>(&pkt, 1), rxq_, 1);
        if (!sink.seen) {
            return {outcome::drop, 0, copy};
        }
        return sink.result;
    }

private:
    dp::thread_state state_;
    dp::queue_counters rxq_;
};

class replay : public ::testing::Test {
protected:
    void SetUp() override {
        if (::geteuid() != 0) {
            if (const char* r = std::getenv("SWD_REQUIRE_ROOT_TESTS"); r && std::string(r) == "1") {
                FAIL() << "needs root (BPF) and SWD_REQUIRE_ROOT_TESTS=1";
            }
            GTEST_SKIP() << "needs root (BPF)";
        }
    }

    // Compiles text, writes the maps, loads a traced dispatcher per in_port.
    void load(const std::string& text, flows::profile profile) {
        auto out = flows::parse_flows(text, "<test>", flows::parse_mode::config, {});
        ASSERT_TRUE(out.ok()) << out.errors.front().what;
        rules_.clear();
        uint32_t id = 1;
        for (auto& fm : out.mods) {
            fm.spec.id = id++;
            rules_.push_back(std::make_unique<flows::rule>(fm.spec));
        }
        std::vector<const flows::rule*> ptrs;
        for (const auto& r : rules_) {
            ptrs.push_back(r.get());
        }
        pipeline_ = flows::compiler::compile_all(ptrs, 1, profile);
        auto t = afxdp::xdp_tables::create(4096);
        ASSERT_TRUE(t) << t.err().message();
        tables_ = std::move(*t);
        for (uint16_t port : {1, 2, 3}) {
            ASSERT_TRUE(tables_->set_port(port, 1)); // lo: only looked up, never sent to
        }
        auto s = tables_->sync(*pipeline_);
        ASSERT_TRUE(s) << s.err().message();
        programs_.clear();
        for (uint16_t port : {1, 2}) {
            auto p = afxdp::xdp_program::load(*tables_, port, true);
            ASSERT_TRUE(p) << p.err().message();
            programs_.push_back(std::move(*p));
        }
    }

    // The dispatcher's outcome, then user space's when it hands the packet over.
    outcome hybrid(const bytes& frame, uint16_t in_port) {
        afxdp::xdp_program& prog = *programs_[in_port - 1];
        bytes out;
        auto rc = prog.test_run(frame, out);
        EXPECT_TRUE(rc) << rc.err().message();
        const swd_xdp_trace t = prog.last();
        switch (t.verdict) {
        case SWD_V_DROP:
            return {outcome::drop, 0, frame}; // dropped frames' bytes are not compared
        case SWD_V_PASS:
            return {outcome::local, 0, out};
        case SWD_V_TX:
            return {outcome::output, in_port, out};
        case SWD_V_REDIRECT:
            return {outcome::output, static_cast<uint16_t>(t.port), out};
        case SWD_V_TO_USER:
            xdp_to_user_++;
            return user_.run(*pipeline_, out, in_port);
        }
        ADD_FAILURE() << "unknown verdict " << t.verdict;
        return {};
    }

    void check(const bytes& frame, uint16_t in_port, const std::string& what) {
        outcome u = user_.run(*pipeline_, frame, in_port);
        outcome x = hybrid(frame, in_port);
        if (u.kind == outcome::drop) {
            u.frame = frame;
        }
        if (x.kind == outcome::drop) {
            x.frame = frame;
        }
        compared_++;
        if (!(u == x)) {
            failures_++;
            if (failures_ <= 10) {
                ADD_FAILURE() << what << " (in_port " << in_port << "): user space " << describe(u)
                              << ", XDP first " << describe(x) << "\n"
                              << hex_diff(u.frame, x.frame);
            }
        }
    }

    void check_pcaps() {
        const char* root = std::getenv("SWD_SOURCE_ROOT");
        std::filesystem::path dir =
            std::filesystem::path(root ? root : ".") / ".." / "shared" / "pcaps" / "real-world";
        if (!std::filesystem::is_directory(dir)) {
            dir = "/work/shared/pcaps/real-world";
        }
        ASSERT_TRUE(std::filesystem::is_directory(dir)) << "no real-world captures at " << dir;
        size_t files = 0, packets = 0, outside = 0;
        for (const auto& e : std::filesystem::directory_iterator(dir)) {
            char err[PCAP_ERRBUF_SIZE];
            pcap_t* pc = pcap_open_offline(e.path().c_str(), err);
            if (!pc) {
                continue;
            }
            if (pcap_datalink(pc) == DLT_EN10MB) {
                files++;
                pcap_pkthdr* h;
                const u_char* data;
                size_t n = 0;
                while (pcap_next_ex(pc, &h, &data) == 1) {
                    const bytes frame(data, data + h->caplen);
                    // BPF_PROG_TEST_RUN takes an Ethernet header at least, and one page at most
                    // for a program without multi-buffer support (as drivers deliver them).
                    if (frame.size() < 14 || frame.size() > 3000) {
                        outside++;
                        continue;
                    }
                    n++;
                    check(frame, static_cast<uint16_t>(1 + n % 2),
                          e.path().filename().string() + " packet " + std::to_string(n));
                }
                packets += n;
            }
            pcap_close(pc);
        }
        EXPECT_GT(files, 100u);
        std::printf("replayed %zu packets of %zu captures (%zu shorter than 14 or longer than "
                    "3000 bytes not replayed)\n",
                    packets, files, outside);
    }

    std::vector<std::unique_ptr<flows::rule>> rules_;
    std::shared_ptr<const dp::pipeline> pipeline_;
    std::unique_ptr<afxdp::xdp_tables> tables_;
    std::vector<std::unique_ptr<afxdp::xdp_program>> programs_;
    user_path user_;
    size_t compared_ = 0, failures_ = 0, xdp_to_user_ = 0;
};

// Rules of every kind that XDP runs, with user-only rules mixed in at other priorities.
const char* const rules_text = R"(
port=p1,ofport=1
port=p2,ofport=2
priority=100,tcp,tp_dst=22,actions=drop
priority=90,udp,nw_dst=10.0.0.0/8,tp_dst=53,actions=local
priority=80,tcp,nw_src=192.168.0.0/16,actions=mod_nw_src:172.16.0.1,mod_tp_src:4000,dec_ttl,output:2
priority=75,ip,nw_src=192.168.0.0/16,actions=mod_nw_dst:192.168.9.9,output:2
priority=80,ipv6,actions=mod_dl_dst:02:00:00:00:00:99,output:2
priority=70,tcp,tcp_flags=+syn-ack,actions=in_port
priority=60,udp,actions=mod_nw_dst:10.1.2.3,mod_tp_dst:8080,dec_ttl,output:1
priority=50,icmp,actions=mod_dl_src:02:00:00:00:00:42,in_port
priority=40,arp,actions=output:2,output:1
priority=30,dl_vlan=10,actions=set_queue:1,output:2
priority=20,in_port=2,actions=goto_table:1
priority=10,ip,actions=dec_ttl,output:2
table=1,actions=output:1
)";

TEST_F(replay, real_world_captures_hybrid) {
    load(rules_text, flows::profile::hybrid);
    check_pcaps();
    EXPECT_EQ(failures_, 0u) << failures_ << " of " << compared_ << " packets differ";
    EXPECT_GT(xdp_to_user_, 0u);
}

TEST_F(replay, real_world_captures_all_xdp) {
    load(rules_text, flows::profile::all_xdp);
    check_pcaps();
    EXPECT_EQ(failures_, 0u) << failures_ << " of " << compared_ << " packets differ";
    std::printf("%zu packets compared, %zu handed to user space by XDP\n", compared_, xdp_to_user_);
    EXPECT_LT(xdp_to_user_, compared_); // most ran in XDP
}

} // namespace
} // namespace swd
