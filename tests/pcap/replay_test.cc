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
// The fixtures (tests/pcap/cases/<case>/, made by tests/pcap/make_fixtures; README.md there) add
// expected results: for each case, flows.txt, input.pcap and expected.txt (what the switch must do
// with each packet: the sends in order, with port, queue and frame, or drop). Every packet runs
// through user space alone and through the dispatcher first, in the profiles hybrid and all-xdp;
// each of the four results must equal the expected one, and in each profile the two paths must
// equal each other. A failure names the case, the packet, the profile and path, both verdicts and
// a hex diff. Frames shorter than 14 bytes run in user space only (BPF_PROG_TEST_RUN refuses
// them); the test says how many. A line of expected.txt may record a known difference (the
// expected result, then what swd does today): either is accepted and reported; the test fails
// when the difference is gone, so that the fixture is updated.
//
// Needs root (BPF). Not root: skipped, unless SWD_REQUIRE_ROOT_TESTS=1 (CI) makes it fail.
#include <algorithm>
#include <arpa/inet.h>
#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <map>
#include <pcap/pcap.h>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include "datapath/executor.h"
#include "datapath/util/clock.h"
#include "fixture_format.h"
#include "flows/compiler.h"
#include "flows/parser.h"
#include "flows/rule_table.h"
#include "netdev-afxdp/xdp_program.h"
#include "netdev-afxdp/xdp_tables.h"

// libbpf's bpf/bpf.h includes linux/bpf.h, whose struct bpf_insn clashes with pcap's: the one
// call the tests need, as libbpf declares it.
extern "C" int bpf_map_update_elem(int fd, const void* key, const void* value, uint64_t flags);
extern "C" int bpf_map_get_next_key(int fd, const void* key, void* next_key);
#include "tests/unit/bpf_flow_test.h"
#include "tests/unit/frames.h"

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
    size_t shown = 0;
    for (size_t i = 0; i < std::max(a.size(), b.size()); i++) {
        const int x = i < a.size() ? a[i] : -1, y = i < b.size() ? b[i] : -1;
        if (x != y && ++shown > 64) {
            s += "  ... (more differences)\n";
            break;
        }
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

// Records everything the executor sends, in order, for the fixtures.
class sends_sink {
public:
    void output(uint16_t port, uint16_t queue, dp::packet& p, bool) {
        result.push_back({fixtures::send::output, port, queue, bytes(p.data, p.data + p.len)});
    }
    void local(dp::packet& p, bool) {
        result.push_back({fixtures::send::local, 0, p.queue, bytes(p.data, p.data + p.len)});
    }
    void release(dp::packet&) {}
    fixtures::sends result;
};

// The executor on one frame, in a buffer of exactly the frame's length (AddressSanitizer sees
// any access past its end). One per pipeline: the exact-match cache holds rule pointers.
class user_path {
public:
    user_path() {
        state_.rules.reserve(1024);
        state_.sessions = sessions_.get();
        state_.conntrack = conntrack_.get();
    }

    outcome run(const dp::pipeline& p, const bytes& frame, uint16_t in_port) {
        recording_sink sink;
        bytes copy = execute(p, frame, in_port, sink);
        if (!sink.seen) {
            return {outcome::drop, 0, copy};
        }
        return sink.result;
    }

    fixtures::sends run_all(const dp::pipeline& p, const bytes& frame, uint16_t in_port) {
        sends_sink sink;
        execute(p, frame, in_port, sink);
        return sink.result;
    }

private:
    template <class Sink>
    bytes execute(const dp::pipeline& p, const bytes& frame, uint16_t in_port, Sink& sink) {
        bytes copy = frame;
        dp::packet pkt;
        pkt.data = copy.data();
        pkt.len = static_cast<uint32_t>(copy.size());
        pkt.in_port = in_port;
        dp::executor<Sink> ex(state_, sink);
        ex.run(p, std::span<dp::packet>(&pkt, 1), rxq_, 1);
        return copy;
    }

    template <class Table>
    static std::unique_ptr<Table> table() {
        auto t = Table::create({.capacity = 4096});
        return t ? std::move(*t) : nullptr;
    }
    std::unique_ptr<dp::lb::session_store> sessions_ = table<dp::lb::session_store>();
    std::unique_ptr<dp::lb::session_table> conntrack_ = table<dp::lb::session_table>();
    dp::thread_state state_;
    dp::queue_counters rxq_;
};

// Differences between two send lists: verdicts, then a hex diff of each frame that differs.
std::string sends_diff(const fixtures::sends& a, const fixtures::sends& b,
                       const std::string& a_name = "expected", const std::string& b_name = "got") {
    const size_t w = std::max(a_name.size(), b_name.size()) + 1;
    std::string s = "  " + (a_name + ":").append(w - a_name.size(), ' ') + fixtures::verdicts(a) +
                    "\n  " + (b_name + ":").append(w - b_name.size(), ' ') + fixtures::verdicts(b) +
                    "\n";
    for (size_t i = 0; i < std::min(a.size(), b.size()); i++) {
        if (a[i].frame != b[i].frame) {
            s += "  frame of send " + std::to_string(i + 1) + " (" + fixtures::dest_name(a[i]) +
                 "), " + a_name + " | " + b_name + ": " + hex_diff(a[i].frame, b[i].frame);
        }
    }
    return s;
}

struct fixture_failure {
    std::string where; // case, packet, profile, path
    std::string what;
};

struct fixture_case {
    std::string name;
    std::string flows;
    std::vector<bytes> frames;
    std::vector<fixtures::expectation> expect;
};

// Reads a case directory; an error makes the returned string non-empty.
std::string read_case(const std::filesystem::path& dir, fixture_case& c) {
    c.name = dir.filename().string();
    std::ifstream flows(dir / "flows.txt");
    if (!flows) {
        return "no flows.txt";
    }
    std::stringstream ss;
    ss << flows.rdbuf();
    c.flows = ss.str();
    char err[PCAP_ERRBUF_SIZE];
    pcap_t* pc = pcap_open_offline((dir / "input.pcap").c_str(), err);
    if (!pc) {
        return std::string("input.pcap: ") + err;
    }
    pcap_pkthdr* h;
    const u_char* data;
    while (pcap_next_ex(pc, &h, &data) == 1) {
        c.frames.emplace_back(data, data + h->caplen);
    }
    pcap_close(pc);
    std::ifstream in(dir / "expected.txt");
    if (!in) {
        return "no expected.txt";
    }
    std::string line, note;
    for (unsigned lineno = 1; std::getline(in, line); lineno++) {
        const std::string where = "expected.txt:" + std::to_string(lineno) + ": ";
        if (line.empty()) {
            note.clear();
            continue;
        }
        if (line[0] == '#') {
            note += (note.empty() ? "" : "\n") + line;
            continue;
        }
        std::istringstream ls(line);
        fixtures::expectation e;
        std::string in_tok;
        if (!(ls >> e.number >> in_tok) || in_tok.rfind("in=", 0) != 0) {
            return where + "expected 'N in=PORT ...'";
        }
        e.in_port = static_cast<uint16_t>(std::stoul(in_tok.substr(3)));
        if (e.number != c.expect.size() + 1 || e.number > c.frames.size()) {
            return where + "packet " + std::to_string(e.number) +
                   " out of order or not in the pcap";
        }
        if (e.in_port < 1 || e.in_port > 3) {
            return where + "in_port must be 1, 2 or 3";
        }
        const bytes& input = c.frames[e.number - 1];
        bool more = false;
        std::string why;
        if (!fixtures::parse_sends(ls, input, e.want, more, why)) {
            return where + why;
        }
        if (more) {
            std::string swd;
            fixtures::sends today;
            bool again = false;
            if (!(ls >> swd) || swd != "swd" ||
                !fixtures::parse_sends(ls, input, today, again, why) || again) {
                return where + "expected '| swd RESULT...' (" + why + ")";
            }
            e.swd_today = std::move(today);
        }
        e.note = note;
        note.clear();
        c.expect.push_back(std::move(e));
    }
    if (c.expect.size() != c.frames.size()) {
        return std::to_string(c.frames.size()) + " packets in input.pcap, " +
               std::to_string(c.expect.size()) + " in expected.txt";
    }
    return {};
}

class replay : public test::bpf_flow_test {
protected:
    // Compiles text, writes the maps, loads a traced dispatcher per in_port.
    void load(const std::string& text, flows::profile profile) {
        ASSERT_NO_FATAL_FAILURE(load_tables(text, profile, {1, 2, 3}));
        user_ = std::make_unique<user_path>();
        after_xdp_ = std::make_unique<user_path>();
        programs_.clear();
        runs_ = {};
        for (uint16_t port : {1, 2, 3}) {
            auto p = afxdp::xdp_program::load(*tables_, port, true);
            ASSERT_TRUE(p) << p.err().message();
            programs_.push_back(std::move(*p));
        }
    }

    // Each run of a dispatcher ends in exactly one outcome counter: their sum, the received
    // count that dump-ports shows, is the number of runs.
    void expect_one_outcome_per_run() {
        for (size_t i = 0; i < programs_.size(); i++) {
            EXPECT_EQ(programs_[i]->counters()[SWD_XC_RX], runs_[i]) << "port " << i + 1;
        }
    }

    // The dispatcher's outcome, then user space's when it hands the packet over.
    outcome hybrid(const bytes& frame, uint16_t in_port) {
        afxdp::xdp_program& prog = *programs_[in_port - 1];
        bytes out;
        runs_[in_port - 1]++;
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
            return after_xdp_->run(*pipeline_, out, in_port);
        }
        ADD_FAILURE() << "unknown verdict " << t.verdict;
        return {};
    }

    void check(const bytes& frame, uint16_t in_port, const std::string& what) {
        outcome u = user_->run(*pipeline_, frame, in_port);
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

    // The dispatcher's sends, then user space's when it hands the packet over.
    fixtures::sends xdp_first(const bytes& frame, uint16_t in_port) {
        afxdp::xdp_program& prog = *programs_[in_port - 1];
        bytes out;
        auto rc = prog.test_run(frame, out);
        EXPECT_TRUE(rc) << rc.err().message();
        const swd_xdp_trace t = prog.last();
        switch (t.verdict) {
        case SWD_V_DROP:
            xdp_ran_++;
            return {};
        case SWD_V_PASS:
            xdp_ran_++;
            return {{fixtures::send::local, 0, 0, out}};
        case SWD_V_TX:
            xdp_ran_++;
            return {{fixtures::send::output, in_port, 0, out}};
        case SWD_V_REDIRECT:
            xdp_ran_++;
            return {{fixtures::send::output, static_cast<uint16_t>(t.port), 0, out}};
        case SWD_V_TO_USER:
            return after_xdp_->run_all(*pipeline_, out, in_port);
        }
        ADD_FAILURE() << "unknown verdict " << t.verdict;
        return {};
    }

    // Every packet of c through both paths in the loaded profile.
    void check_fixture(const fixture_case& c, const std::string& profile) {
        for (size_t i = 0; i < c.frames.size(); i++) {
            const bytes& frame = c.frames[i];
            const fixtures::expectation& e = c.expect[i];
            const std::string pkt = c.name + " packet " + std::to_string(e.number);
            const std::string at = pkt + " (in=" + std::to_string(e.in_port) + ", " + profile;
            const fixtures::sends user = user_->run_all(*pipeline_, frame, e.in_port);
            judge(e, pkt, at + ", user space)", user);
            if (frame.size() < 14) {
                xdp_not_run_++; // BPF_PROG_TEST_RUN needs an Ethernet header
                continue;
            }
            const fixtures::sends xdp = xdp_first(frame, e.in_port);
            judge(e, pkt, at + ", XDP first)", xdp);
            if (xdp != user) {
                fixture_failures_.push_back(
                    {at + "): the paths differ",
                     e.note + "\n" + sends_diff(user, xdp, "user space", "XDP first")});
            }
        }
    }

    void judge(const fixtures::expectation& e, const std::string& pkt, const std::string& at,
               const fixtures::sends& got) {
        fixture_results_++;
        if (got == e.want) {
            if (e.swd_today) {
                fixture_failures_.push_back(
                    {at, e.note + "\n  a known difference is gone: swd now gives the expected "
                                  "result; make it an ordinary expectation (fixture::add in the "
                                  "generator) and run tests/pcap/make_fixtures.sh"});
            }
            return;
        }
        if (e.swd_today && got == *e.swd_today) {
            known_seen_[pkt] = e.note;
            return;
        }
        fixture_failures_.push_back({at, e.note + "\n" + sends_diff(e.want, got)});
    }

    std::vector<fixture_failure> fixture_failures_;
    std::map<std::string, std::string> known_seen_; // "case packet N" -> why
    size_t fixture_results_ = 0, xdp_not_run_ = 0, xdp_ran_ = 0;

    // Loads the dispatcher of port 1 on new tables (64 rules, ports 1-3) synced to `first`, then
    // syncs `second`, `first`, ... `changes` times while another thread calls
    // reader(program) without pause until the changes end. Every sync must succeed, and the
    // program must never have dropped a frame for want of a rule.
    template <class Reader>
    void alternate_under_reader(const dp::pipeline& first, const dp::pipeline& second, int changes,
                                Reader reader) {
        auto t = afxdp::xdp_tables::create(64, 64);
        ASSERT_TRUE(t) << t.err().message();
        auto& tables = **t;
        for (uint16_t port : {1, 2, 3}) {
            ASSERT_TRUE(tables.set_port(port, 1));
        }
        ASSERT_TRUE(tables.sync(first));
        auto p = afxdp::xdp_program::load(tables, 1, true);
        ASSERT_TRUE(p) << p.err().message();
        std::atomic<bool> done{false};
        std::thread thread([&] {
            while (!done.load()) {
                reader(**p);
            }
        });
        bool ok = true;
        for (int i = 0; i < changes && ok; i++) {
            ok = bool(tables.sync(i % 2 == 0 ? second : first));
        }
        done = true;
        thread.join();
        ASSERT_TRUE(ok) << tables.why_not();
        EXPECT_EQ((*p)->counters()[SWD_XC_DROP_MISS], 0u);
        records_used_ = tables.index().n_records();
    }

    // Alternates the pipelines of drop_text and local_text 1500 times (the index has 144
    // records) under a reader that runs a UDP frame to port 53 which rule 1 matches: every run
    // must see rule 1 whole, with its actions of local_text (pass) or of drop_text (drop), never
    // a miss or another rule's actions.
    void expect_never_torn(const std::string& local_text, const std::string& drop_text) {
        load(local_text, flows::profile::all_xdp);
        const auto local = pipeline_;
        load(drop_text, flows::profile::all_xdp);
        const auto drop = pipeline_;
        const bytes frame = test::ipv4_frame(test::udp(1000, 53));
        uint64_t runs = 0, drops = 0, passes = 0, others = 0;
        bytes out;
        ASSERT_NO_FATAL_FAILURE(
            alternate_under_reader(*drop, *local, 1500, [&](afxdp::xdp_program& program) {
                if (!program.test_run(frame, out) || program.last().rule_id != 1) {
                    others++; // a failed run, a miss, or another rule
                    return;
                }
                runs++;
                const uint32_t v = program.last().verdict;
                drops += v == SWD_V_DROP;
                passes += v == SWD_V_PASS;
                others += v != SWD_V_DROP && v != SWD_V_PASS;
            }));
        EXPECT_GT(runs, 1000u);
        EXPECT_GT(drops, 0u);
        EXPECT_GT(passes, 0u);
        EXPECT_EQ(others, 0u) << "of " << runs << " runs";
    }
    uint32_t records_used_ = 0;

    std::vector<std::unique_ptr<afxdp::xdp_program>> programs_;
    // User space alone, and user space after XDP handed a packet over: each has its own state
    // (sessions, connections), as each path keeps its own.
    std::unique_ptr<user_path> user_, after_xdp_;
    size_t compared_ = 0, failures_ = 0, xdp_to_user_ = 0;
    std::array<uint64_t, 3> runs_{}; // hybrid() runs of each port's dispatcher
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
    expect_one_outcome_per_run();
    EXPECT_EQ(failures_, 0u) << failures_ << " of " << compared_ << " packets differ";
    EXPECT_GT(xdp_to_user_, 0u);
}

TEST_F(replay, real_world_captures_all_xdp) {
    load(rules_text, flows::profile::all_xdp);
    check_pcaps();
    expect_one_outcome_per_run();
    EXPECT_EQ(failures_, 0u) << failures_ << " of " << compared_ << " packets differ";
    std::printf("%zu packets compared, %zu handed to user space by XDP\n", compared_, xdp_to_user_);
    EXPECT_LT(xdp_to_user_, compared_); // most ran in XDP
}

// The maps written incrementally: a rule table changed in 40 random steps (adds, strict deletes
// and modifies; prefixes of many lengths on two fields, so the table crosses the 16 masks that
// the dispatcher searches inline and uses bpf_loop beyond), synced into the same xdp_tables each
// time, and after every step the same packets through both paths.
TEST_F(replay, incremental_updates) {
    flows::parse_context ctx;
    ctx.ports = {{"p1", 1}, {"p2", 2}, {"p3", 3}};
    ctx.ports_fixed = true;
    flows::rule_table table;
    table.set_ports(ctx.ports);
    table.set_profile(flows::profile::all_xdp);
    auto t = afxdp::xdp_tables::create(65536);
    ASSERT_TRUE(t) << t.err().message();
    tables_ = std::move(*t);
    for (uint16_t port : {1, 2, 3}) {
        ASSERT_TRUE(tables_->set_port(port, 1));
    }
    for (uint16_t port : {1, 2, 3}) {
        auto p = afxdp::xdp_program::load(*tables_, port, true);
        ASSERT_TRUE(p) << p.err().message();
        programs_.push_back(std::move(*p));
    }

    std::mt19937 rng(20261130);
    auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
    auto addr = [&] { return "10.0." + std::to_string(pick(4)) + "." + std::to_string(pick(8)); };
    const int lens[] = {8, 16, 22, 24, 28, 30, 32};
    const char* acts[] = {"drop",
                          "output:p2",
                          "in_port",
                          "local",
                          "mod_nw_dst:10.9.9.9,output:p3",
                          "dec_ttl,output:p1",
                          "mod_dl_src:02:00:00:00:00:77,output:p2",
                          "output:p2,output:p3"};
    std::vector<bytes> frames;
    for (int i = 0; i < 300; i++) {
        test::ipv4_opts o;
        const std::string s = addr(), d = addr();
        o.src = s.c_str();
        o.dst = d.c_str();
        o.ttl = static_cast<uint8_t>(1 + pick(3));
        const uint16_t sp = static_cast<uint16_t>(1000 + pick(3)),
                       dp = static_cast<uint16_t>(pick(3));
        frames.push_back(test::ipv4_frame(pick(2) ? test::udp(sp, dp) : test::tcp(sp, dp), o));
    }
    std::vector<std::string> live; // matches (with priority) of rules added and not deleted
    size_t max_masks = 0;
    for (int step = 0; step < 40; step++) {
        std::string text;
        for (int i = 0; i < 12; i++) {
            std::string m = "priority=" + std::to_string(1 + pick(40)) + "," +
                            (pick(2) ? "udp" : "tcp") + ",nw_src=" + addr() + "/" +
                            std::to_string(lens[pick(7)]);
            if (pick(2)) {
                m += ",nw_dst=" + addr() + "/" + std::to_string(lens[pick(7)]);
            }
            if (pick(3) == 0) {
                m += ",tp_dst=" + std::to_string(pick(3));
            }
            text += "add " + m + ",actions=" + acts[pick(8)] + "\n";
            live.push_back(m);
        }
        for (int i = 0; i < 4 && !live.empty(); i++) {
            const size_t k = pick(live.size());
            if (pick(2)) {
                text += "delete_strict " + live[k] + "\n";
                live.erase(live.begin() + static_cast<std::ptrdiff_t>(k));
            } else {
                text += "modify_strict " + live[k] + ",actions=" + acts[pick(8)] + "\n";
            }
        }
        auto out = flows::parse_flows(text, "<step>", flows::parse_mode::flow_mods, ctx);
        ASSERT_TRUE(out.ok()) << out.errors.front().what << "\n" << text;
        auto r = table.apply(std::move(out.mods), out.pools, flows::clock::now());
        ASSERT_TRUE(r) << r.err().message();
        pipeline_ = table.current()->pipeline;
        user_ = std::make_unique<user_path>();
        after_xdp_ = std::make_unique<user_path>();
        auto s = tables_->sync(*pipeline_);
        ASSERT_TRUE(s) << s.err().message();
        ASSERT_TRUE(tables_->searching()) << tables_->why_not();
        max_masks = std::max(max_masks, tables_->n_masks());
        for (size_t i = 0; i < frames.size(); i++) {
            check(frames[i], static_cast<uint16_t>(1 + i % 3),
                  "step " + std::to_string(step) + " frame " + std::to_string(i));
        }
    }
    EXPECT_EQ(failures_, 0u) << failures_ << " of " << compared_ << " packets differ";
    EXPECT_GT(max_masks, 16u) << "the table never needed bpf_loop";
    size_t entries = 0; // one per masked key: a rule hidden by a better one of its key has none
    for (const auto& st : pipeline_->table(0)->subtables()) {
        entries += st->size();
    }
    EXPECT_EQ(tables_->n_rules(), entries);
    std::printf("40 steps, %zu rules, up to %zu masks, %zu packets compared, %zu to user space\n",
                table.size(), max_masks, compared_, xdp_to_user_);
}

// The queue map decides before any rule: kernel queues pass, user queues go to the socket,
// the others search the rules (BPF_PROG_TEST_RUN runs on receive queue 0).
TEST_F(replay, queue_modes) {
    load("port=p1, ofport=1\nport=p2, ofport=2\nport=p3, ofport=3\n"
         "priority=5,udp,in_port=1,actions=drop\n",
         flows::profile::all_xdp);
    afxdp::xdp_program& prog = *programs_[0];
    const bytes frame = test::ipv4_frame(test::udp(1000, 53));
    auto verdict_of = [&] {
        bytes out;
        auto rc = prog.test_run(frame, out);
        EXPECT_TRUE(rc) << rc.err().message();
        return prog.last().verdict;
    };
    EXPECT_EQ(verdict_of(), SWD_V_DROP) << "queue 0 searches the rules by default";
    ASSERT_TRUE(prog.set_queue_mode(0, SWD_QUEUE_KERNEL));
    EXPECT_EQ(verdict_of(), SWD_V_PASS);
    ASSERT_TRUE(prog.set_queue_mode(0, SWD_QUEUE_USER));
    EXPECT_EQ(verdict_of(), SWD_V_TO_USER);
    ASSERT_TRUE(prog.set_queue_mode(1, SWD_QUEUE_KERNEL)); // another queue: no effect on 0
    ASSERT_TRUE(prog.set_queue_mode(0, SWD_QUEUE_XDP));
    EXPECT_EQ(verdict_of(), SWD_V_DROP);
    const auto c = prog.counters();
    EXPECT_EQ(c[SWD_XC_QUEUE_KERNEL], 1u);
    EXPECT_EQ(c[SWD_XC_QUEUE_USER], 1u);
    EXPECT_EQ(c[SWD_XC_TO_USER], 1u);
    EXPECT_EQ(c[SWD_XC_DROP_RULE], 2u);
    EXPECT_EQ(c[SWD_XC_RX], 4u) << "one outcome per frame";
}

// The rule index crowded on purpose: before the rule is written, its home bucket is filled with
// keys that have its hash (same bucket, same tag) but another masked key or another mask. The
// rule goes to the next bucket (probe 2), and XDP passes over the look-alikes to find it, as
// user space's find() does. Erasing them leaves the rule where it is, still found.
TEST_F(replay, crowded_rule_index_still_finds_the_rule) {
    const char* text = "port=p1, ofport=1\nport=p2, ofport=2\nport=p3, ofport=3\n"
                       "priority=5,udp,in_port=1,actions=drop\n";
    load(text, flows::profile::all_xdp);
    auto t = afxdp::xdp_tables::create(64, 64);
    ASSERT_TRUE(t) << t.err().message();
    tables_ = std::move(*t);
    const auto subs = pipeline_->table(0)->subtables();
    ASSERT_EQ(subs.size(), 1u);
    swd_flow_key rule_key{};
    subs[0]->for_each([&](const dp::flow_key& masked, const dp::compiled_rule&,
                          std::span<const swd_action>) { rule_key = masked.f; });
    afxdp::rule_index& index = tables_->index();
    const uint32_t mask_id = 1; // the first mask a fresh writer installs
    const uint64_t h = afxdp::rule_index::hash(mask_id, rule_key);
    swd_xdp_rule_head look_alike{};
    look_alike.rule_id = 999;
    look_alike.priority = 65535;
    look_alike.run = SWD_XDP_RUN_USER;
    for (uint8_t i = 0; i < SWD_XDP_BUCKET_SLOTS; i++) {
        swd_flow_key k = rule_key;
        uint32_t id = mask_id;
        if (i == 0) {
            id = 77; // the same masked key under another mask
        } else {
            k.nw_tos = i; // another masked key of the same mask
        }
        ASSERT_TRUE(index.put(h, id, k, look_alike));
    }
    ASSERT_EQ(index.probe(), 1u);
    ASSERT_TRUE(tables_->sync(*pipeline_)) << tables_->why_not();
    ASSERT_TRUE(tables_->searching()) << tables_->why_not();
    EXPECT_EQ(index.probe(), 2u) << "the home bucket was full";
    auto p = afxdp::xdp_program::load(*tables_, 1, true);
    ASSERT_TRUE(p) << p.err().message();
    bytes out;
    ASSERT_TRUE((*p)->test_run(test::ipv4_frame(test::udp(1000, 53)), out));
    EXPECT_EQ((*p)->last().verdict, SWD_V_DROP);
    EXPECT_NE((*p)->last().rule_id, 999u);
    EXPECT_NE((*p)->last().rule_id, 0u);
    for (uint8_t i = 0; i < SWD_XDP_BUCKET_SLOTS; i++) {
        swd_flow_key k = rule_key;
        if (i != 0) {
            k.nw_tos = i;
        }
        ASSERT_TRUE(index.erase(h, i == 0 ? 77 : mask_id, k));
    }
    ASSERT_TRUE((*p)->test_run(test::ipv4_frame(test::udp(1000, 53)), out));
    EXPECT_EQ((*p)->last().verdict, SWD_V_DROP) << "the rule lives on a bucket from home";
    EXPECT_EQ(index.size(), 1u);
}

// A rule whose list is just a drop or just local runs from its head (enum swd_xdp_only), without
// reading the list: with every action list overwritten by in_port, those two keep their
// verdicts while a rule with another list follows the overwritten one. Rules alone in their mask
// (the mask list carries them) and rules of a shared mask (the index) both.
TEST_F(replay, drop_and_local_rules_run_without_their_action_list) {
    load("port=p1, ofport=1\nport=p2, ofport=2\nport=p3, ofport=3\n"
         "priority=5,udp,tp_dst=53,actions=drop\n"
         "priority=5,udp,tp_dst=54,actions=local\n"
         "priority=5,udp,tp_dst=55,actions=output:p2\n"
         "priority=4,udp,nw_dst=10.9.0.1,actions=drop\n"
         "priority=3,udp,nw_dst=10.0.0.0/24,actions=local\n",
         flows::profile::all_xdp);
    afxdp::xdp_program& prog = *programs_[0];
    auto verdict_of = [&](uint16_t dport, const char* dst) {
        bytes out;
        test::ipv4_opts o;
        o.dst = dst;
        EXPECT_TRUE(prog.test_run(test::ipv4_frame(test::udp(1000, dport), o), out));
        return prog.last().verdict;
    };
    const char* const other_dst = "10.9.0.1"; // the masks of priority 4 and 3: one rule each
    const char* const b_dst = "10.0.0.2";
    ASSERT_EQ(verdict_of(53, b_dst), SWD_V_DROP);
    ASSERT_EQ(verdict_of(54, b_dst), SWD_V_PASS);
    ASSERT_EQ(verdict_of(55, b_dst), SWD_V_REDIRECT);
    ASSERT_EQ(verdict_of(99, other_dst), SWD_V_DROP);
    ASSERT_EQ(verdict_of(99, b_dst), SWD_V_PASS);
    swd_action_list in_port{};
    in_port.n = 1;
    in_port.a[0].type = SWD_ACT_IN_PORT;
    for (uint32_t id = 0; id < 16; id++) {
        ASSERT_EQ(bpf_map_update_elem(tables_->fds().actions, &id, &in_port, 0 /* BPF_ANY */), 0);
    }
    EXPECT_EQ(verdict_of(53, b_dst), SWD_V_DROP);
    EXPECT_EQ(verdict_of(54, b_dst), SWD_V_PASS);
    EXPECT_EQ(verdict_of(55, b_dst), SWD_V_TX) << "output:p2 reads its (overwritten) list";
    EXPECT_EQ(verdict_of(99, other_dst), SWD_V_DROP);
    EXPECT_EQ(verdict_of(99, b_dst), SWD_V_PASS);
}

// A rule changed in place while XDP runs: the writer swaps the rule's record thousands of times
// (drop, local, drop, ...), recycling records through grace periods (a small index), while a
// reader runs the dispatcher without pause. Every run sees one version or the other, whole:
// never a miss, never a torn record.
TEST_F(replay, rule_changes_under_running_programs_are_never_torn) {
    // Four rules of one mask that all change at each step, so that a recycled record may come
    // back as another rule's: a reader that met it too early would see a key that is not its own.
    auto text = [](const char* action) {
        std::string t = "port=p1, ofport=1\nport=p2, ofport=2\nport=p3, ofport=3\n";
        for (int port = 53; port < 57; port++) {
            t += "priority=5,udp,in_port=1,tp_dst=" + std::to_string(port) + ",actions=" + action +
                 "\n";
        }
        return t;
    };
    ASSERT_NO_FATAL_FAILURE(expect_never_torn(text("local"), text("drop")));
    EXPECT_LT(records_used_, 4u * 1500) << "4 new records a change: records had to be recycled";
}

TEST_F(replay, changes_of_rules_alone_in_their_mask_are_never_torn) {
    // Rule 1 and rule 2 each alone in its mask: the mask list carries them (single). At each
    // step rule 1 gives up its action list and rule 2 needs a new one: rule 1's list must not
    // be reused before the new mask list is in, which still runs it.
    auto text = [](const char* a1, const char* a2) {
        return std::string("port=p1, ofport=1\nport=p2, ofport=2\nport=p3, ofport=3\n") +
               "priority=9,udp,in_port=1,tp_dst=53,actions=" + a1 + "\n" +
               "priority=5,udp,in_port=1,nw_dst=10.0.0.9,actions=" + a2 + "\n";
    };
    ASSERT_NO_FATAL_FAILURE(
        expect_never_torn(text("local", "output:p2"), text("drop", "output:p3")));
}

// The maps hold twice the table; past that, wanted_capacity asks for more (up to the limit),
// and a table larger than the maps switches the search off with the reason.
TEST_F(replay, rule_maps_capacity) {
    std::string text = "port=p1, ofport=1\nport=p2, ofport=2\nport=p3, ofport=3\n";
    for (int k = 0; k < 100; k++) {
        text += "priority=5,udp,in_port=1,tp_dst=" + std::to_string(k) + ",actions=drop\n";
    }
    load(text, flows::profile::all_xdp);
    EXPECT_EQ(tables_->wanted_capacity(*pipeline_), 0u) << "4096 entries hold 100 rules";
    auto small = afxdp::xdp_tables::create(1000, 64);
    ASSERT_TRUE(small) << small.err().message();
    EXPECT_EQ((*small)->capacity(), 64u);
    EXPECT_EQ((*small)->wanted_capacity(*pipeline_), 256u);
    auto capped = afxdp::xdp_tables::create(150, 64);
    ASSERT_TRUE(capped) << capped.err().message();
    EXPECT_EQ((*capped)->wanted_capacity(*pipeline_), 150u);
    ASSERT_TRUE((*small)->sync(*pipeline_));
    EXPECT_FALSE((*small)->searching());
    EXPECT_NE((*small)->why_not().find("holds 64"), std::string::npos) << (*small)->why_not();
}

// An Ethernet/IPv4 frame of seg from src to dst.
bytes ipv4_between(const test::l4& seg, const char* src, const char* dst) {
    test::ipv4_opts o;
    o.src = src;
    o.dst = dst;
    return test::ipv4_frame(seg, o);
}

// A stateful firewall: port 1 opens connections, port 2 may only answer them.
const char* const firewall_text = "port=p1, ofport=1\nport=p2, ofport=2\n"
                                  "priority=100,in_port=1,ip,actions=ct(commit),output:2\n"
                                  "priority=100,in_port=2,ct_state=+trk+est,actions=output:1\n"
                                  "priority=10,in_port=2,actions=drop\n";

// lb() in the all-xdp profile runs in XDP itself (the fixtures check what it does; this checks
// where): a new session is redirected to the backend's port with both session entries written
// to the shared LRU map, later packets and the reply find them, and what cannot be balanced is
// dropped with the counter of its reason. In hybrid the same rule goes to user space.
TEST_F(replay, lb_runs_in_xdp_in_all_xdp) {
    const std::string text =
        "port=p1, ofport=1\nport=p2, ofport=2\nport=p3, ofport=3\n"
        "lb_pool=web, vip=10.0.0.10:80/tcp, backend=10.1.0.1:8080/02:00:00:00:01:01\n"
        "lb_pool=none, vip=10.0.0.20:80/tcp, backend=10.1.0.9:80/02:00:00:00:09:09/state=down\n"
        "priority=10,in_port=1,tcp,nw_dst=10.0.0.10,actions=lb(web),output:2\n"
        "priority=10,in_port=1,tcp,nw_dst=10.0.0.20,actions=lb(none),output:2\n"
        "priority=10,in_port=2,tcp,tp_src=8080,actions=lb(web),output:1\n";
    auto tcp_frame = [](const char* src, const char* dst, uint16_t sport, uint16_t dport) {
        return ipv4_between(test::tcp(sport, dport), src, dst);
    };
    load(text, flows::profile::hybrid);
    {
        auto p = afxdp::xdp_program::load(*tables_, 1, true);
        ASSERT_TRUE(p) << p.err().message();
        bytes out;
        ASSERT_TRUE((*p)->test_run(tcp_frame("10.0.0.5", "10.0.0.10", 1000, 80), out));
        EXPECT_EQ((*p)->last().verdict, SWD_V_TO_USER) << "hybrid: lb() runs in user space";
    }
    load(text, flows::profile::all_xdp);
    auto p1 = afxdp::xdp_program::load(*tables_, 1, true);
    auto p2 = afxdp::xdp_program::load(*tables_, 2, true);
    ASSERT_TRUE(p1 && p2);
    auto& in1 = **p1;
    auto& in2 = **p2;
    bytes out;
    ASSERT_TRUE(in1.test_run(tcp_frame("10.0.0.5", "10.0.0.10", 1000, 80), out));
    EXPECT_EQ(in1.last().verdict, SWD_V_REDIRECT);
    EXPECT_EQ(in1.last().port, 2u);
    bytes want = tcp_frame("10.0.0.5", "10.1.0.1", 1000, 8080);
    const std::array<uint8_t, 12> macs = {2, 0, 0, 0, 1, 1, 2, 0, 0, 0, 0, 2};
    std::copy(macs.begin(), macs.end(), want.begin());
    EXPECT_EQ(out, want);
    size_t entries = 0;
    swd_lb_tuple key{}, next{};
    for (const swd_lb_tuple* k = nullptr;
         bpf_map_get_next_key(tables_->fds().lb_sessions, k, &next) == 0; k = &key) {
        key = next;
        entries++;
    }
    EXPECT_EQ(entries, 2u) << "the client's entry and the reply's";
    ASSERT_TRUE(in1.test_run(tcp_frame("10.0.0.5", "10.0.0.10", 1000, 80), out));
    EXPECT_EQ(in1.last().verdict, SWD_V_REDIRECT);
    ASSERT_TRUE(in2.test_run(tcp_frame("10.1.0.1", "10.0.0.5", 8080, 1000), out));
    EXPECT_EQ(in2.last().verdict, SWD_V_REDIRECT);
    EXPECT_EQ(in2.last().port, 1u);
    ASSERT_TRUE(in2.test_run(tcp_frame("10.1.0.1", "10.0.0.6", 8080, 1000), out));
    ASSERT_TRUE(in1.test_run(tcp_frame("10.0.0.5", "10.0.0.20", 1000, 80), out));
    ASSERT_TRUE(in1.test_run(
        [&] {
            test::ipv4_opts o;
            o.dst = "10.0.0.10";
            o.frag = 3; // a later fragment: no ports
            return test::ipv4_frame(test::tcp(1, 80), o);
        }(),
        out));
    const auto c1 = in1.counters(), c2 = in2.counters();
    EXPECT_EQ(c1[SWD_XC_REDIRECT], 2u);
    EXPECT_EQ(c2[SWD_XC_REDIRECT], 1u);
    EXPECT_EQ(c2[SWD_XC_DROP_LB_NO_SESSION], 1u);
    EXPECT_EQ(c1[SWD_XC_DROP_LB_NO_BACKEND], 1u);
    EXPECT_EQ(c1[SWD_XC_DROP_LB_NOT_BALANCED], 1u);
}

// A stateful firewall runs in XDP when all of table 0 does (all-xdp): the dispatcher tracks with
// its LRU map, commits, ages entries out; in hybrid the search is off and user space tracks.
TEST_F(replay, conntrack_runs_in_xdp_when_all_of_table_0_does) {
    const std::string text = firewall_text;
    auto frame = [](const char* src, const char* dst, uint16_t sport, uint16_t dport) {
        return ipv4_between(test::udp(sport, dport), src, dst);
    };
    const bytes request = frame("10.0.0.1", "10.0.0.2", 5000, 53);
    const bytes answer = frame("10.0.0.2", "10.0.0.1", 53, 5000);

    ASSERT_NO_FATAL_FAILURE(load_tables(text, flows::profile::hybrid, {1, 2}));
    EXPECT_FALSE(tables_->searching());
    EXPECT_FALSE(tables_->tracks());
    EXPECT_NE(tables_->why_not().find("tracks connections"), std::string::npos)
        << tables_->why_not();

    // An idle timeout of 200 ms, to see an entry age out.
    auto ct = afxdp::ct_map::create(64, 200'000'000);
    ASSERT_TRUE(ct) << ct.err().message();
    ASSERT_NO_FATAL_FAILURE(load_tables(text, flows::profile::all_xdp, {1, 2}, *ct));
    ASSERT_TRUE(tables_->searching()) << tables_->why_not();
    EXPECT_TRUE(tables_->tracks());
    auto p1 = afxdp::xdp_program::load(*tables_, 1, true);
    auto p2 = afxdp::xdp_program::load(*tables_, 2, true);
    ASSERT_TRUE(p1 && p2);
    auto& in1 = **p1;
    auto& in2 = **p2;
    bytes out;
    auto verdict = [&](afxdp::xdp_program& p, const bytes& f) {
        EXPECT_TRUE(p.test_run(f, out));
        return p.last().verdict;
    };
    EXPECT_EQ(verdict(in2, answer), SWD_V_DROP) << "nothing committed yet: +new";
    EXPECT_EQ(verdict(in1, request), SWD_V_REDIRECT) << "committed, out of port 2";
    EXPECT_EQ((*ct)->entries(), 1u);
    EXPECT_EQ(verdict(in2, answer), SWD_V_REDIRECT) << "the reply: +est+rpl";
    EXPECT_EQ(verdict(in1, request), SWD_V_REDIRECT) << "established: no second entry";
    EXPECT_EQ((*ct)->entries(), 1u);
    EXPECT_EQ(verdict(in2, frame("10.0.0.2", "10.0.0.1", 53, 5001)), SWD_V_DROP)
        << "another port: +new";
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    EXPECT_EQ(verdict(in2, answer), SWD_V_DROP) << "idle past the timeout: forgotten";
    EXPECT_EQ(verdict(in1, request), SWD_V_REDIRECT);
    EXPECT_EQ(verdict(in2, answer), SWD_V_REDIRECT) << "committed again";
    EXPECT_EQ(in1.counters()[SWD_XC_CT_CREATED], 1u);
    EXPECT_EQ(in1.counters()[SWD_XC_CT_RENEWED], 1u) << "the idle entry was reused";

    // A bounded table: 64 entries, 200 commits; the LRU map keeps the newest.
    for (uint16_t port = 0; port < 200; port++) {
        ASSERT_EQ(
            verdict(in1, frame("10.0.0.1", "10.0.0.3", static_cast<uint16_t>(10000 + port), 80)),
            SWD_V_REDIRECT);
    }
    EXPECT_LE((*ct)->entries(), 64u);
    EXPECT_EQ(verdict(in2, frame("10.0.0.3", "10.0.0.1", 80, 10199)), SWD_V_REDIRECT)
        << "the newest connection is still there";
    EXPECT_EQ(verdict(in2, frame("10.0.0.3", "10.0.0.1", 80, 10000)), SWD_V_DROP)
        << "the oldest was evicted";
    EXPECT_EQ(in1.counters()[SWD_XC_CT_CREATED], 201u);

    // A rule that must run in user space moves the tracking there.
    ASSERT_NO_FATAL_FAILURE(load_tables(text + "priority=5,in_port=1,actions=goto_table:1\n",
                                        flows::profile::all_xdp, {1, 2}, *ct));
    EXPECT_FALSE(tables_->searching());
    EXPECT_FALSE(tables_->tracks());
}

// The load balancer's pool changes while XDP balances: pool web has one backend, 10.1.0.1 or
// 10.1.0.2 (each with a MAC of its own), and the writer switches between the two 200 times while
// a reader balances new connections (a fresh source port each run). Every frame must leave for
// one backend whole: its address with its MAC, never a half-rewritten backend entry.
TEST_F(replay, pool_changes_under_running_programs_are_never_torn) {
    auto text = [](int b) {
        return std::string("port=p1, ofport=1\nport=p2, ofport=2\n") +
               "lb_pool=web, vip=10.0.0.10:80/tcp, backend=10.1.0." + std::to_string(b) +
               ":8080/02:00:00:00:0" + std::to_string(b) + ":0" + std::to_string(b) + "\n" +
               "priority=10,in_port=1,tcp,nw_dst=10.0.0.10,actions=lb(web),output:2\n";
    };
    load(text(1), flows::profile::all_xdp);
    const auto one = pipeline_;
    load(text(2), flows::profile::all_xdp);
    const auto two = pipeline_;
    uint64_t runs = 0, to_one = 0, to_two = 0, others = 0;
    uint32_t i = 0;
    bytes out;
    // A grace period each change: the other half just left.
    ASSERT_NO_FATAL_FAILURE(
        alternate_under_reader(*one, *two, 200, [&](afxdp::xdp_program& program) {
            const std::string src = "10.0." + std::to_string(i / 50000 % 250) + ".5";
            const auto sport = static_cast<uint16_t>(1024 + i++ % 50000);
            if (!program.test_run(ipv4_between(test::tcp(sport, 80), src.c_str(), "10.0.0.10"),
                                  out) ||
                program.last().verdict != SWD_V_REDIRECT || out.size() < 34) {
                others++;
                return;
            }
            runs++;
            const uint8_t mac = out[5], ip = out[33]; // 02:00:00:00:0b:0b, 10.1.0.b
            to_one += mac == 1 && ip == 1;
            to_two += mac == 2 && ip == 2;
            others += !(mac == ip && (ip == 1 || ip == 2));
        }));
    EXPECT_GT(runs, 1000u);
    EXPECT_GT(to_one, 0u);
    EXPECT_GT(to_two, 0u);
    EXPECT_EQ(others, 0u) << "of " << runs << " runs";
}

// When tracking moves, the live connections go with it (afxdp_datapath::publish).
TEST_F(replay, connections_are_handed_over_between_the_trackers) {
    const std::string text = firewall_text;
    auto frame = [](uint16_t sport, uint16_t dport, bool reply) {
        return reply ? ipv4_between(test::tcp(dport, sport), "10.0.0.2", "10.0.0.1")
                     : ipv4_between(test::tcp(sport, dport), "10.0.0.1", "10.0.0.2");
    };
    auto tuple = [](uint16_t sport) {
        swd_lb_tuple t{};
        t.src_ip[0] = htonl(0x0a000001);
        t.dst_ip[0] = htonl(0x0a000002);
        t.src_port = htons(sport);
        t.dst_port = htons(80);
        t.proto = 6;
        return t;
    };
    auto user = dp::lb::session_table::create({.capacity = 64});
    ASSERT_TRUE(user);
    auto& users = **user;
    for (uint16_t sport = 1000; sport < 1010; sport++) { // user space committed ten
        const swd_lb_tuple t = tuple(sport);
        ASSERT_EQ(users.insert(t, dp::lb::session_table::hash(t), {}, monotonic_ns()),
                  dp::lb::session_table::insert_status::inserted);
    }
    auto ct = afxdp::ct_map::create(64);
    ASSERT_TRUE(ct);
    ASSERT_NO_FATAL_FAILURE(load_tables(text, flows::profile::all_xdp, {1, 2}, *ct));
    ASSERT_TRUE(tables_->tracks());
    auto p2 = afxdp::xdp_program::load(*tables_, 2, true);
    ASSERT_TRUE(p2);
    bytes out;
    ASSERT_TRUE((*p2)->test_run(frame(1003, 80, true), out));
    EXPECT_EQ((*p2)->last().verdict, SWD_V_DROP) << "XDP does not know it yet";
    EXPECT_EQ((*ct)->load_from(users, monotonic_ns()), 10u);
    for (uint16_t sport = 1000; sport < 1010; sport++) {
        ASSERT_TRUE((*p2)->test_run(frame(sport, 80, true), out));
        EXPECT_EQ((*p2)->last().verdict, SWD_V_REDIRECT) << "the reply of " << sport;
    }
    auto p1 = afxdp::xdp_program::load(*tables_, 1, true);
    ASSERT_TRUE(p1);
    ASSERT_TRUE((*p1)->test_run(frame(2000, 80, false), out)); // XDP commits one more
    auto back = dp::lb::session_table::create({.capacity = 64});
    ASSERT_TRUE(back);
    EXPECT_EQ((*ct)->store_into(**back, monotonic_ns()), 11u);
    swd_lb_session unused;
    const swd_lb_tuple t = tuple(2000);
    (*back)->enter(0);
    EXPECT_TRUE((*back)->lookup(0, t, dp::lb::session_table::hash(t), monotonic_ns(), &unused));
    (*back)->leave(0);
}

// Every case of tests/pcap/cases against its expected results, in both profiles and both paths.
TEST_F(replay, fixtures) {
    const char* root = std::getenv("SWD_SOURCE_ROOT");
    const std::filesystem::path dir =
        std::filesystem::path(root ? root : ".") / "tests" / "pcap" / "cases";
    ASSERT_TRUE(std::filesystem::is_directory(dir))
        << "no fixtures at " << dir << " (set SWD_SOURCE_ROOT to the source tree)";
    std::vector<std::filesystem::path> dirs;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        if (e.is_directory()) {
            dirs.push_back(e.path());
        }
    }
    std::sort(dirs.begin(), dirs.end());
    ASSERT_FALSE(dirs.empty()) << "no cases in " << dir;
    size_t cases = 0, packets = 0;
    for (const auto& d : dirs) {
        fixture_case c;
        if (const std::string err = read_case(d, c); !err.empty()) {
            ADD_FAILURE() << c.name << ": " << err;
            continue;
        }
        for (const auto& [profile, name] : {std::pair{flows::profile::hybrid, "hybrid"},
                                            std::pair{flows::profile::all_xdp, "all-xdp"}}) {
            load(c.flows, profile);
            if (HasFatalFailure()) {
                ADD_FAILURE() << c.name << ": flows.txt does not load";
                return;
            }
            check_fixture(c, name);
        }
        cases++;
        packets += c.frames.size();
    }
    for (size_t i = 0; i < fixture_failures_.size() && i < 40; i++) {
        ADD_FAILURE() << fixture_failures_[i].where << "\n" << fixture_failures_[i].what;
    }
    EXPECT_EQ(fixture_failures_.size(), 0u) << fixture_failures_.size() << " failures";
    std::printf("fixtures: %zu cases, %zu packets, %zu results checked against expected.txt "
                "(user space and XDP first, profiles hybrid and all-xdp), %zu failures\n",
                cases, packets, fixture_results_, fixture_failures_.size());
    std::printf("fixtures: XDP first: %zu packet runs ended in XDP (drop, pass, tx, redirect), "
                "the others went on to user space; XDP not run for %zu packet runs shorter than "
                "14 bytes (BPF_PROG_TEST_RUN refuses them): user space only\n",
                xdp_ran_, xdp_not_run_);
    std::printf("fixtures: %zu known differences from Open vSwitch (swd's result accepted, see "
                "expected.txt):\n",
                known_seen_.size());
    for (const auto& [pkt, note] : known_seen_) {
        std::printf("  %s\n", pkt.c_str());
    }
}

} // namespace
} // namespace swd
