// The batch executor (datapath/executor.h) on pipelines compiled from flow text and on hand-built
// frames, through a fake sink that records every output, local and release with the frame's bytes
// at that moment. Checked: ownership (each packet ends exactly once: taken on its last output or
// released), forwarding and queues, drops and their counters, rewrites against frames built from
// scratch with the new values (so every checksum is verified by full recomputation), goto_table on
// the rewritten key, priorities, rule counters, the exact-match cache across pipeline versions,
// and malformed frames. Each frame lives in a heap buffer of exactly its length, so that
// AddressSanitizer reports any access past its end.
#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <gtest/gtest.h>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "datapath/executor.h"
#include "flows/text_pipeline.h"
#include "frames.h"

namespace swd::dp {
namespace {

using namespace swd::test;

// One call of the executor on the sink.
struct event {
    enum kind_t { output, local, release } kind;
    uint64_t pkt; // packet::frame: the packet's index in its batch
    uint16_t port;
    uint16_t queue;
    bool take;
    bytes frame; // the frame's bytes at the time of the call
};

// Records sink calls and checks ownership as they come: once a packet is taken or released, the
// executor must not hand it to the sink again.
class fake_sink {
public:
    void output(uint16_t port, uint16_t queue, packet& p, bool take) {
        record(event::output, p, port, queue, take);
    }
    void local(packet& p, bool take) { record(event::local, p, 0, p.queue, take); }
    void release(packet& p) { record(event::release, p, 0, 0, false); }

    void begin(size_t n) {
        events.clear();
        violations.clear();
        ended.assign(n, 0);
    }

    std::vector<event> events;
    std::vector<std::string> violations;
    std::vector<int> ended; // per packet: how many times it was taken or released

private:
    void record(event::kind_t kind, packet& p, uint16_t port, uint16_t queue, bool take) {
        if (p.frame >= ended.size()) {
            violations.push_back("unknown packet " + std::to_string(p.frame));
            return;
        }
        if (ended[p.frame] != 0) {
            violations.push_back("packet " + std::to_string(p.frame) + " used after it ended");
        }
        events.push_back({kind, p.frame, port, queue, take, bytes(p.data, p.data + p.len)});
        if (take || kind == event::release) {
            ended[p.frame]++;
        }
    }
};

// Every offset where two frames differ, for failure messages.
std::string diff(const bytes& want, const bytes& got) {
    std::string s;
    char b[64];
    if (want.size() != got.size()) {
        std::snprintf(b, sizeof b, "size %zu -> %zu\n", want.size(), got.size());
        s += b;
    }
    for (size_t i = 0; i < std::min(want.size(), got.size()); i++) {
        if (want[i] != got[i]) {
            std::snprintf(b, sizeof b, "offset %zu: %02x -> %02x\n", i, want[i], got[i]);
            s += b;
        }
    }
    return s;
}

// The fields a test frame is built from; a rewritten frame is built again from scratch with the
// new values, which gives the expected bytes and checksums.
struct fields {
    const char* src = "10.0.0.1";
    const char* dst = "10.0.0.2";
    uint16_t sport = 1000;
    uint16_t dport = 80;
    uint8_t ttl = 64;
    std::array<uint8_t, 6> dl_src = {0x02, 0, 0, 0, 0, 0x01}; // frames.h's eth()
    std::array<uint8_t, 6> dl_dst = {0x02, 0, 0, 0, 0, 0x02};
};

enum class l4_proto { udp, tcp };

bytes build(l4_proto proto, const fields& f, std::initializer_list<uint16_t> vlans = {}) {
    ipv4_opts o;
    o.src = f.src;
    o.dst = f.dst;
    o.ttl = f.ttl;
    // An odd TCP payload length exercises the checksum's odd byte.
    bytes b = ipv4_frame(proto == l4_proto::udp ? udp(f.sport, f.dport)
                                                : tcp(f.sport, f.dport, 0x018, 13),
                         o, vlans);
    std::copy(f.dl_dst.begin(), f.dl_dst.end(), b.begin());
    std::copy(f.dl_src.begin(), f.dl_src.end(), b.begin() + 6);
    return b;
}

bytes udp4(const fields& f = {}) {
    return build(l4_proto::udp, f);
}
bytes tcp4(const fields& f = {}) {
    return build(l4_proto::tcp, f);
}

// An IPv4 header checksum made valid again after a test broke the header on purpose.
void fix_ipv4_csum(bytes& f, size_t l3 = 14) {
    const size_t ihl = std::max<size_t>((f[l3] & 0x0f) * 4u, 20);
    put16(f, l3 + 10, 0);
    put16(f, l3 + 10, fold(sum16(f.data() + l3, ihl)));
}

// UDP over IPv4 whose UDP header is cut to 4 bytes (IPv4 total length and frame agree).
bytes truncated_udp4() {
    bytes f = udp4();
    put16(f, 14 + 2, 20 + 4);
    fix_ipv4_csum(f);
    f.resize(14 + 20 + 4);
    return f;
}

// TCP over IPv4 whose data offset claims 60 bytes of header where there are 20 + 13.
bytes bad_doff_tcp4() {
    bytes f = tcp4();
    f[14 + 20 + 12] = static_cast<uint8_t>(15 << 4);
    return f;
}

// An Ethernet header saying IPv4 followed by 10 bytes.
bytes truncated_ipv4() {
    bytes f = udp4();
    f.resize(14 + 10);
    return f;
}

// A complete UDP frame whose IPv4 IHL is 4 (less than the minimum 5).
bytes bad_ihl_ipv4() {
    bytes f = udp4();
    f[14] = 0x44;
    fix_ipv4_csum(f);
    return f;
}

// An IPv4 header whose total length claims more than the frame holds.
bytes long_ipv4() {
    bytes f = udp4();
    put16(f, 14 + 2, static_cast<uint16_t>(f.size()));
    fix_ipv4_csum(f);
    return f;
}

struct rx_frame {
    bytes data;
    uint16_t in_port = 1;
    uint16_t queue = 0;
};

class Executor : public ::testing::Test {
protected:
    // Compiles flow text (add-flows syntax; ports 1-6 are declared) as pipeline `version`. Rule
    // ids follow the order of the rules in the text, from first_id.
    std::shared_ptr<const pipeline> compile(const std::string& text, uint64_t version,
                                            uint32_t first_id = 1) {
        flows::text_pipeline_options o;
        o.mode = flows::parse_mode::flow_mods;
        for (uint16_t p = 1; p <= 6; p++) {
            o.ctx.ports.push_back({"p" + std::to_string(p), p, {}});
        }
        o.version = version;
        o.first_id = first_id;
        o.pools = &pools_;
        auto compiled = flows::compile_text(text, "<test>", o);
        if (!compiled) {
            ADD_FAILURE() << compiled.err().message();
            return nullptr;
        }
        // As the control thread does before it publishes: counters for every id in use.
        ts_.rules.reserve(first_id + static_cast<uint32_t>(compiled->rules.size()));
        return compiled->pipeline;
    }

    // Runs frames as one batch (packet i has frame handle i) and checks what holds for every
    // batch: each packet ends exactly once, nothing follows its end, only sends take, and the
    // executor leaves the packet's buffer and length alone.
    void run(const pipeline& p, const std::vector<rx_frame>& frames, uint64_t now_ns = 1000) {
        bufs_.clear();
        pkts_.assign(frames.size(), packet{});
        for (size_t i = 0; i < frames.size(); i++) {
            const bytes& d = frames[i].data;
            bufs_.push_back(std::make_unique<uint8_t[]>(d.size()));
            std::copy(d.begin(), d.end(), bufs_.back().get());
            pkts_[i].data = bufs_.back().get();
            pkts_[i].len = static_cast<uint32_t>(d.size());
            pkts_[i].in_port = frames[i].in_port;
            pkts_[i].queue = frames[i].queue;
            pkts_[i].frame = i;
        }
        sink_.begin(frames.size());
        exec_.run(p, std::span<packet>(pkts_), rxq_, now_ns);

        for (const auto& v : sink_.violations) {
            ADD_FAILURE() << v;
        }
        for (size_t i = 0; i < frames.size(); i++) {
            EXPECT_EQ(sink_.ended[i], 1) << "packet " << i << " (" << trace(i) << ")";
            EXPECT_EQ(pkts_[i].data, bufs_[i].get()) << "packet " << i;
            EXPECT_EQ(pkts_[i].len, frames[i].data.size()) << "packet " << i;
            const auto ev = of(i);
            for (size_t e = 0; e < ev.size(); e++) {
                if (ev[e].take) {
                    EXPECT_NE(ev[e].kind, event::release);
                    EXPECT_EQ(e + 1, ev.size()) << "packet " << i << ": take before its end";
                }
            }
        }
    }

    std::vector<event> of(size_t i) const {
        std::vector<event> r;
        for (const auto& e : sink_.events) {
            if (e.pkt == i) {
                r.push_back(e);
            }
        }
        return r;
    }

    // Packet i's sink calls in order, as "out:2 q0 take, local, release".
    std::string trace(size_t i) const {
        std::string s;
        for (const auto& e : of(i)) {
            if (!s.empty()) {
                s += ", ";
            }
            switch (e.kind) {
            case event::output:
                s += "out:" + std::to_string(e.port) + " q" + std::to_string(e.queue);
                break;
            case event::local:
                s += "local";
                break;
            case event::release:
                s += "release";
                break;
            }
            if (e.take) {
                s += " take";
            }
        }
        return s;
    }

    // The frame packet i had at its first output (or local).
    bytes sent(size_t i) const {
        for (const auto& e : of(i)) {
            if (e.kind != event::release) {
                return e.frame;
            }
        }
        ADD_FAILURE() << "packet " << i << " was not sent";
        return {};
    }

    uint64_t count(port_counter c) const { return rxq_.get(c); }
    uint64_t hits(uint32_t id) { return ts_.rules.at(id).packets.get(); }

    template <class Table>
    static std::unique_ptr<Table> make_sessions() {
        lb::session_table_config c;
        c.capacity = 4096;
        c.idle_timeout = 1'000'000'000; // 1 s of the batches' clock
        auto t = Table::create(c);
        return t ? std::move(*t) : nullptr;
    }

    std::unique_ptr<lb::session_store> sessions_ = make_sessions<lb::session_store>();
    std::unique_ptr<lb::session_table> conntrack_ = make_sessions<lb::session_table>();
    thread_state ts_{.sessions = sessions_.get(), .conntrack = conntrack_.get()};
    flows::pool_compiler pools_;
    fake_sink sink_;
    executor<fake_sink> exec_{ts_, sink_};
    queue_counters rxq_;
    std::vector<std::unique_ptr<uint8_t[]>> bufs_;
    std::vector<packet> pkts_;
};

// --- Ownership over whole batches ---------------------------------------------------------------

// Frame kinds with what the executor must do with each, for the mixed batches.
struct kind {
    const char* name;
    rx_frame frame;
    const char* trace;
    bool malformed;
    port_counter drop; // rx_packets: none
};

std::vector<kind> kinds() {
    fields ttl1;
    ttl1.ttl = 1;
    fields lb;
    lb.dst = "10.0.0.10";
    const auto none = port_counter::rx_packets;
    return {
        {"forward", {udp4(), 1}, "out:2 q0 take", false, none},
        {"copies", {udp4(), 2, 3}, "out:3 q3, out:4 q3, local take", false, none},
        {"drop", {udp4(), 3}, "release", false, port_counter::drop_action},
        {"dec_ttl", {udp4(), 4}, "out:1 q0 take", false, none},
        {"ttl expired", {udp4(ttl1), 4}, "release", false, port_counter::drop_ttl_expired},
        {"no rule", {udp4(), 6}, "release", false, port_counter::drop_no_rule},
        {"runt", {bytes(10, 0xee), 1}, "out:1 q0 take", true, none},
        {"empty, no rule", {bytes(), 6}, "release", true, port_counter::drop_no_rule},
        {"lb", {tcp4(lb), 5}, "out:5 q0 take", false, none},
        {"lb, no session", {tcp4(), 5}, "release", false, port_counter::drop_lb_no_session},
        {"goto", {udp4(), 5}, "out:2 q0, out:3 q0 take", false, none},
        {"goto miss", {ipv4_frame(icmp(8, 0)), 5}, "out:2 q0, release", false, none},
        {"truncated udp", {truncated_udp4(), 1}, "out:2 q0 take", true, none},
    };
}

constexpr const char* mixed_flows = R"(
lb_pool=web, vip=10.0.0.10:80/tcp, backend=10.1.0.1:8080/02:00:00:00:01:01
priority=10,in_port=1,udp,actions=output:2
priority=1,in_port=1,actions=in_port
priority=10,in_port=2,udp,actions=output:3,output:4,local
priority=10,in_port=3,actions=drop
priority=10,in_port=4,ip,actions=dec_ttl,output:1
priority=10,in_port=5,tcp,tp_dst=80,actions=lb(web),in_port
priority=10,in_port=5,udp,actions=output:2,goto_table:1
priority=10,in_port=5,icmp,actions=output:2,goto_table:1
table=1,priority=10,udp,actions=mod_tp_dst:53,output:3
)";

TEST_F(Executor, EveryPacketEndsExactlyOnceInMixedBatches) {
    auto p = compile(mixed_flows, 1);
    ASSERT_NE(p, nullptr);
    const auto catalogue = kinds();
    std::mt19937_64 rng(42);
    for (size_t n : {size_t{1}, size_t{32}, size_t{64}, size_t{64}}) {
        std::vector<size_t> which(n);
        std::vector<rx_frame> frames;
        for (size_t i = 0; i < n; i++) {
            // The first batches of 64 go through the catalogue in order, so that every kind is
            // seen; the rest are random.
            which[i] = n == 64 && i < catalogue.size() ? i : rng() % catalogue.size();
            frames.push_back(catalogue[which[i]].frame);
        }
        const uint64_t rx = count(port_counter::rx_packets);
        const uint64_t rx_bytes = count(port_counter::rx_bytes);
        std::array<uint64_t, static_cast<size_t>(port_counter::count_)> before{};
        for (size_t c = 0; c < before.size(); c++) {
            before[c] = count(static_cast<port_counter>(c));
        }
        run(*p, frames);
        std::array<uint64_t, static_cast<size_t>(port_counter::count_)> want{};
        uint64_t bytes_in = 0;
        for (size_t i = 0; i < n; i++) {
            const kind& k = catalogue[which[i]];
            EXPECT_EQ(trace(i), k.trace) << "batch of " << n << ", packet " << i << ": " << k.name;
            if (k.malformed) {
                want[static_cast<size_t>(port_counter::malformed)]++;
            }
            if (k.drop != port_counter::rx_packets) {
                want[static_cast<size_t>(k.drop)]++;
            }
            bytes_in += k.frame.data.size();
        }
        EXPECT_EQ(count(port_counter::rx_packets) - rx, n);
        EXPECT_EQ(count(port_counter::rx_bytes) - rx_bytes, bytes_in);
        for (auto c : {port_counter::malformed, port_counter::drop_action,
                       port_counter::drop_no_rule, port_counter::drop_ttl_expired,
                       port_counter::drop_unsupported, port_counter::drop_loop,
                       port_counter::rewrite_skipped, port_counter::drop_lb_no_session,
                       port_counter::drop_lb_no_backend, port_counter::drop_lb_not_balanced}) {
            const size_t ci = static_cast<size_t>(c);
            EXPECT_EQ(count(c) - before[ci], want[ci])
                << "batch of " << n << ": " << port_counter_name(c);
        }
        if (HasFailure()) {
            return;
        }
    }
}

TEST_F(Executor, EmptyBatchDoesNothing) {
    auto p = compile("actions=output:2", 1);
    ASSERT_NE(p, nullptr);
    run(*p, {});
    EXPECT_TRUE(sink_.events.empty());
    EXPECT_EQ(count(port_counter::rx_packets), 0u);
}

// --- Forwarding ---------------------------------------------------------------------------------

TEST_F(Executor, ForwardsToPortsInPortAndLocal) {
    auto p = compile("priority=10,in_port=1,actions=output:2\n"
                     "priority=10,in_port=2,actions=in_port\n"
                     "priority=10,in_port=3,actions=output:2,output:4,local\n"
                     "priority=10,in_port=4,actions=local\n"
                     "priority=10,in_port=5,actions=output:2,output:3\n",
                     1);
    ASSERT_NE(p, nullptr);
    const bytes f = udp4();
    run(*p, {{f, 1, 5}, {f, 2, 5}, {f, 3, 5}, {f, 4, 5}, {f, 5, 0}});
    EXPECT_EQ(trace(0), "out:2 q5 take");
    EXPECT_EQ(trace(1), "out:2 q5 take"); // in_port: back where it came from
    EXPECT_EQ(trace(2), "out:2 q5, out:4 q5, local take");
    EXPECT_EQ(trace(3), "local take");
    EXPECT_EQ(trace(4), "out:2 q0, out:3 q0 take");
    for (const auto& e : sink_.events) {
        EXPECT_EQ(e.frame, f) << "packet " << e.pkt << ": " << diff(f, e.frame);
    }
    EXPECT_EQ(count(port_counter::rx_packets), 5u);
    EXPECT_EQ(count(port_counter::rx_bytes), 5 * f.size());
    EXPECT_EQ(count(port_counter::drop_action), 0u);
    EXPECT_EQ(count(port_counter::drop_no_rule), 0u);
}

TEST_F(Executor, SetQueueChangesTheQueueOfLaterOutputs) {
    auto p = compile("priority=10,in_port=1,actions=output:2,set_queue:7,output:3,set_queue:9,"
                     "in_port\n"
                     "priority=10,in_port=2,actions=set_queue:4,local\n"
                     "priority=10,in_port=3,actions=set_queue:6,goto_table:1\n"
                     "table=1,priority=10,actions=output:4\n",
                     1);
    ASSERT_NE(p, nullptr);
    run(*p, {{udp4(), 1, 2}, {udp4(), 2, 2}, {udp4(), 3, 2}});
    EXPECT_EQ(trace(0), "out:2 q2, out:3 q7, out:1 q9 take");
    EXPECT_EQ(trace(1), "local take");
    EXPECT_EQ(sink_.events[3].queue, 4u);
    EXPECT_EQ(trace(2), "out:4 q6 take"); // the queue survives goto_table
}

// --- Drops --------------------------------------------------------------------------------------

TEST_F(Executor, DropsAreCountedAndReleased) {
    auto p = compile("lb_pool=web, vip=10.0.0.10:80/tcp, "
                     "backend=10.1.0.1:8080/02:00:00:00:01:01/state=down\n"
                     "priority=10,in_port=1,actions=drop\n"
                     "priority=10,in_port=2,ip,actions=dec_ttl,output:3\n"
                     "priority=10,in_port=3,tcp,nw_dst=10.0.0.10,tp_dst=80,actions=lb(web),"
                     "in_port\n"
                     "priority=10,in_port=4,ip,actions=output:2,dec_ttl,output:3\n"
                     "priority=10,in_port=5,actions=\n",
                     1);
    ASSERT_NE(p, nullptr);
    fields ttl1, ttl0, vip;
    ttl1.ttl = 1;
    ttl0.ttl = 0;
    vip.dst = "10.0.0.10";
    run(*p, {
                {udp4(), 1},     // 0 actions=drop
                {udp4(), 6},     // 1 no rule
                {udp4(ttl1), 2}, // 2 TTL 1: expires
                {udp4(ttl0), 2}, // 3 TTL 0: expires
                {tcp4(vip), 3},  // 4 lb: no backend takes new sessions
                {udp4(ttl1), 4}, // 5 a copy out, then expires
                {udp4(), 5},     // 6 actions= (empty: drop)
            });
    EXPECT_EQ(trace(0), "release");
    EXPECT_EQ(trace(1), "release");
    EXPECT_EQ(trace(2), "release");
    EXPECT_EQ(trace(3), "release");
    EXPECT_EQ(trace(4), "release");
    EXPECT_EQ(trace(5), "out:2 q0, release");
    EXPECT_EQ(trace(6), "release");
    EXPECT_EQ(sent(5), udp4(ttl1)); // the copy left before dec_ttl
    EXPECT_EQ(count(port_counter::drop_action), 2u);
    EXPECT_EQ(count(port_counter::drop_no_rule), 1u);
    EXPECT_EQ(count(port_counter::drop_ttl_expired), 3u);
    EXPECT_EQ(count(port_counter::drop_lb_no_backend), 1u);
    EXPECT_EQ(count(port_counter::drop_unsupported), 0u);
    EXPECT_EQ(count(port_counter::malformed), 0u);
    EXPECT_EQ(count(port_counter::rewrite_skipped), 0u);
    // The expired packets are left as they came (the TTL is not written down to 0).
    EXPECT_EQ(of(2).back().frame, udp4(ttl1));
    EXPECT_EQ(of(3).back().frame, udp4(ttl0));
}

TEST_F(Executor, EmptyPipelineDropsEverythingAsNoRule) {
    auto p = compile("", 1);
    ASSERT_NE(p, nullptr);
    run(*p, {{udp4(), 1}, {bytes(), 2}, {tcp4(), 3}});
    EXPECT_EQ(trace(0), "release");
    EXPECT_EQ(trace(1), "release");
    EXPECT_EQ(trace(2), "release");
    EXPECT_EQ(count(port_counter::drop_no_rule), 3u);
    EXPECT_EQ(count(port_counter::malformed), 1u);
}

TEST_F(Executor, DecTtlDecrementsAndKeepsTheChecksumValid) {
    auto p = compile("priority=10,ip,actions=dec_ttl,output:3\n"
                     "priority=10,ipv6,actions=dec_ttl,output:4\n",
                     1);
    ASSERT_NE(p, nullptr);
    fields ttl64, ttl63, ttl2, ttl1;
    ttl63.ttl = 63;
    ttl2.ttl = 2;
    ttl1.ttl = 1;
    run(*p, {
                {udp4(ttl64), 1},
                {tcp4(ttl64), 1},
                {udp4(ttl2), 1},
                {ipv6_frame(udp(1000, 80), {}, 0, 64), 1},
                {ipv6_frame(udp(1000, 80), {}, 0, 1), 1},
                {ipv4_frame(udp(1000, 80), {}, {100}), 1}, // VLAN-tagged
            });
    EXPECT_EQ(trace(0), "out:3 q0 take");
    EXPECT_EQ(sent(0), udp4(ttl63)) << diff(udp4(ttl63), sent(0));
    EXPECT_EQ(sent(0)[14 + 8], 63);
    EXPECT_TRUE(ipv4_checksums_ok(sent(0)));
    EXPECT_EQ(sent(1), tcp4(ttl63)) << diff(tcp4(ttl63), sent(1));
    EXPECT_TRUE(ipv4_checksums_ok(sent(1)));
    EXPECT_EQ(sent(2), udp4(ttl1)) << diff(udp4(ttl1), sent(2));
    EXPECT_EQ(trace(3), "out:4 q0 take");
    EXPECT_EQ(sent(3), ipv6_frame(udp(1000, 80), {}, 0, 63));
    EXPECT_EQ(trace(4), "release");
    ipv4_opts o;
    o.ttl = 63;
    EXPECT_EQ(sent(5), ipv4_frame(udp(1000, 80), o, {100}));
    EXPECT_TRUE(ipv4_checksums_ok(sent(5), 18));
    EXPECT_EQ(count(port_counter::drop_ttl_expired), 1u);
}

// --- Rewrites -----------------------------------------------------------------------------------

struct rewrite_case {
    const char* actions;
    fields want;
};

std::vector<rewrite_case> rewrite_cases() {
    std::vector<rewrite_case> cs;
    fields f;
    f.dst = "192.0.2.2";
    cs.push_back({"mod_nw_dst:192.0.2.2", f});
    f = {};
    f.src = "198.51.100.77";
    cs.push_back({"mod_nw_src:198.51.100.77", f});
    f = {};
    f.dport = 53;
    cs.push_back({"mod_tp_dst:53", f});
    f = {};
    f.sport = 65535;
    cs.push_back({"mod_tp_src:65535", f});
    f = {};
    f.dl_src = {0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f};
    cs.push_back({"mod_dl_src:0a:0b:0c:0d:0e:0f", f});
    f = {};
    f.dl_dst = {0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54};
    cs.push_back({"mod_dl_dst:fe:dc:ba:98:76:54", f});
    f = {};
    f.src = "172.16.5.4";
    f.dst = "0.0.0.0";
    f.sport = 0;
    f.dport = 4321;
    f.ttl = 63;
    f.dl_src = {0x0a, 0, 0, 0, 0, 0x01};
    f.dl_dst = {0x0a, 0, 0, 0, 0, 0x02};
    cs.push_back({"mod_nw_src:172.16.5.4,mod_nw_dst:0.0.0.0,mod_tp_src:0,mod_tp_dst:4321,dec_ttl,"
                  "mod_dl_src:0a:00:00:00:00:01,mod_dl_dst:0a:00:00:00:00:02",
                  f});
    return cs;
}

TEST_F(Executor, RewritesUdpAndTcpWithValidChecksums) {
    uint64_t version = 1;
    for (l4_proto proto : {l4_proto::udp, l4_proto::tcp}) {
        const char* match = proto == l4_proto::udp ? "udp" : "tcp";
        for (const auto& c : rewrite_cases()) {
            SCOPED_TRACE(std::string(match) + " actions=" + c.actions);
            auto p = compile(std::string("priority=10,") + match + ",actions=" + c.actions +
                                 ",output:2\n",
                             version++);
            ASSERT_NE(p, nullptr);
            const bytes want = build(proto, c.want);
            const bytes want_vlan = build(proto, c.want, {0x0123});
            // Ethernet padding after the IP packet is not payload: not summed, not changed.
            bytes padded = build(proto, {});
            padded.resize(padded.size() + 11, 0x5a);
            bytes want_padded = want;
            want_padded.resize(want.size() + 11, 0x5a);
            run(*p, {{build(proto, {}), 1}, {build(proto, {}, {0x0123}), 3}, {padded, 2}});
            EXPECT_EQ(trace(0), "out:2 q0 take");
            EXPECT_EQ(sent(0), want) << diff(want, sent(0));
            EXPECT_TRUE(ipv4_checksums_ok(sent(0)));
            EXPECT_EQ(sent(1), want_vlan) << diff(want_vlan, sent(1));
            EXPECT_TRUE(ipv4_checksums_ok(sent(1), 18));
            EXPECT_EQ(sent(2), want_padded) << diff(want_padded, sent(2));
            EXPECT_TRUE(ipv4_checksums_ok(sent(2)));
        }
    }
    EXPECT_EQ(count(port_counter::rewrite_skipped), 0u);
    EXPECT_EQ(count(port_counter::malformed), 0u);
}

// A UDP checksum of zero over IPv4 means "none" and stays zero through rewrites.
TEST_F(Executor, ZeroUdpChecksumStaysZero) {
    auto p = compile("priority=10,udp,actions=mod_nw_dst:192.0.2.2,mod_tp_dst:53,output:2\n", 1);
    ASSERT_NE(p, nullptr);
    bytes in = udp4();
    put16(in, 14 + 20 + 6, 0);
    fields f;
    f.dst = "192.0.2.2";
    f.dport = 53;
    bytes want = udp4(f);
    put16(want, 14 + 20 + 6, 0);
    run(*p, {{in, 1}});
    EXPECT_EQ(sent(0), want) << diff(want, sent(0));
    EXPECT_TRUE(ipv4_checksums_ok(sent(0)));
}

// A rewrite of a header the frame lacks changes nothing, is counted, and stays inside the frame
// (the buffers are exactly the frames' size: AddressSanitizer checks the "inside").
TEST_F(Executor, RewriteOfAMissingHeaderIsSkippedAndCounted) {
    auto p = compile("priority=10,in_port=1,udp,actions=mod_tp_dst:53,output:2\n"
                     "priority=10,in_port=2,ip,actions=mod_nw_dst:10.9.9.9,mod_nw_src:10.8.8.8,"
                     "output:2\n"
                     "priority=10,in_port=3,actions=mod_dl_src:0a:0b:0c:0d:0e:0f,"
                     "mod_dl_dst:0a:0b:0c:0d:0e:0e,output:2\n"
                     "priority=10,in_port=4,tcp,actions=mod_tp_src:99,output:2\n"
                     "priority=10,in_port=5,ip,actions=mod_nw_dst:10.9.9.9,output:2\n"
                     "priority=10,in_port=6,ip,actions=dec_ttl,output:2\n",
                     1);
    ASSERT_NE(p, nullptr);
    const std::vector<rx_frame> frames = {
        {truncated_udp4(), 1}, // UDP header cut at 4 bytes: no ports to rewrite
        {truncated_ipv4(), 2}, // IPv4 header cut at 10 bytes
        {bytes(13, 0xee), 3},  // one byte short of an Ethernet header
        {bytes(), 3},          // nothing at all
        {bad_doff_tcp4(), 4},  // TCP data offset past the end
        {bad_ihl_ipv4(), 5},   // IHL 4
        {truncated_ipv4(), 6}, // dec_ttl with no valid IPv4 header: forwarded unchanged
    };
    run(*p, frames);
    for (size_t i = 0; i < frames.size(); i++) {
        EXPECT_EQ(trace(i), "out:2 q0 take") << "packet " << i;
        EXPECT_EQ(sent(i), frames[i].data)
            << "packet " << i << ": " << diff(frames[i].data, sent(i));
    }
    EXPECT_EQ(count(port_counter::rewrite_skipped), 1u + 2 + 2 + 2 + 1 + 1 + 1);
    EXPECT_EQ(count(port_counter::malformed), frames.size());
}

// The IPv4 address of a packet whose L4 header is cut short is rewritten (the IPv4 header is
// complete); the ports are not.
TEST_F(Executor, RewriteOfTheCompleteHeadersOfATruncatedFrame) {
    auto p = compile("priority=10,udp,actions=mod_nw_dst:10.9.9.9,mod_tp_dst:53,output:2\n", 1);
    ASSERT_NE(p, nullptr);
    run(*p, {{truncated_udp4(), 1}});
    bytes want = truncated_udp4();
    auto d = v4("10.9.9.9");
    std::copy(d.begin(), d.end(), want.begin() + 14 + 16);
    fix_ipv4_csum(want);
    EXPECT_EQ(sent(0), want) << diff(want, sent(0));
    EXPECT_EQ(fold(sum16(sent(0).data() + 14, 20)), 0);
    EXPECT_EQ(count(port_counter::rewrite_skipped), 1u);
}

// --- goto_table ---------------------------------------------------------------------------------

TEST_F(Executor, GotoTableMatchesTheRewrittenKey) {
    auto p =
        compile("table=0,priority=10,udp,nw_dst=10.0.0.2,actions=mod_nw_dst:10.0.0.9,mod_tp_dst:53,"
                "goto_table:1\n"                                                       // 1
                "table=1,priority=20,udp,nw_dst=10.0.0.9,tp_dst=53,actions=output:2\n" // 2
                "table=1,priority=30,udp,nw_dst=10.0.0.2,actions=output:3\n" // 3: stale key
                "table=1,priority=1,actions=output:4\n"                      // 4
                "table=0,priority=10,tcp,actions=mod_dl_dst:0a:00:00:00:00:09,goto_table:2\n" // 5
                "table=2,priority=10,dl_dst=0a:00:00:00:00:09,actions=goto_table:3\n"         // 6
                "table=2,priority=5,actions=output:4\n"                                       // 7
                "table=3,priority=10,tcp,tp_dst=80,actions=mod_tp_dst:8080,output:5\n",       // 8
                1);
    ASSERT_NE(p, nullptr);
    run(*p, {{udp4(), 1}, {tcp4(), 1}}, 777);
    fields f;
    f.dst = "10.0.0.9";
    f.dport = 53;
    EXPECT_EQ(trace(0), "out:2 q0 take");
    EXPECT_EQ(sent(0), udp4(f)) << diff(udp4(f), sent(0));
    EXPECT_TRUE(ipv4_checksums_ok(sent(0)));
    fields t;
    t.dl_dst = {0x0a, 0, 0, 0, 0, 0x09};
    t.dport = 8080;
    EXPECT_EQ(trace(1), "out:5 q0 take");
    EXPECT_EQ(sent(1), tcp4(t)) << diff(tcp4(t), sent(1));
    EXPECT_TRUE(ipv4_checksums_ok(sent(1)));
    // Every rule on the way counts the packet.
    const uint64_t want_hits[] = {0, 1, 1, 0, 0, 1, 1, 0, 1};
    for (uint32_t id = 1; id <= 8; id++) {
        EXPECT_EQ(hits(id), want_hits[id]) << "rule " << id;
        EXPECT_EQ(ts_.rules.at(id).last_hit_ns.get(), want_hits[id] ? 777u : 0u) << "rule " << id;
    }
    EXPECT_EQ(ts_.rules.at(1).bytes.get(), udp4().size());
    EXPECT_EQ(ts_.rules.at(8).bytes.get(), tcp4().size());
}

// An output before goto_table sends a copy (the next table may still change or send the packet);
// only the last send of the last table takes it.
TEST_F(Executor, OutputBeforeGotoTableDoesNotTake) {
    auto p = compile("table=0,priority=10,in_port=1,actions=output:2,goto_table:1\n"
                     "table=1,priority=10,in_port=1,actions=mod_dl_dst:0a:00:00:00:00:09,output:3\n"
                     "table=0,priority=10,in_port=2,actions=output:2,goto_table:2\n"
                     "table=2,priority=10,in_port=3,actions=output:4\n"
                     "table=0,priority=10,in_port=3,actions=goto_table:2\n"
                     "table=0,priority=10,in_port=4,actions=goto_table:1\n"
                     "table=0,priority=10,in_port=5,actions=local,goto_table:1\n"
                     "table=1,priority=10,in_port=5,actions=drop\n"
                     "table=0,priority=10,in_port=6,actions=goto_table:1\n"
                     "table=1,priority=10,in_port=6,actions=drop\n",
                     1);
    ASSERT_NE(p, nullptr);
    const bytes f = udp4();
    run(*p, {{f, 1}, {f, 2}, {f, 3}, {f, 4}, {f, 5}, {f, 6}});
    EXPECT_EQ(trace(0), "out:2 q0, out:3 q0 take");
    EXPECT_EQ(of(0)[0].frame, f); // the copy left before table 1's rewrite
    fields want;
    want.dl_dst = {0x0a, 0, 0, 0, 0, 0x09};
    EXPECT_EQ(of(0)[1].frame, udp4(want));
    EXPECT_EQ(trace(1), "out:2 q0, release"); // table 2 has no rule for it: sent, not a miss
    EXPECT_EQ(trace(2), "out:4 q0 take");
    EXPECT_EQ(trace(3), "release"); // a miss in table 1
    EXPECT_EQ(trace(4), "local, release");
    EXPECT_EQ(trace(5), "release"); // table 1 drops it
    EXPECT_EQ(count(port_counter::drop_no_rule), 1u);
    EXPECT_EQ(count(port_counter::drop_action), 1u);
}

// --- Priorities and rule counters ---------------------------------------------------------------

TEST_F(Executor, HighestPriorityWinsAcrossMasks) {
    auto p = compile("priority=100,udp,nw_dst=10.0.0.2,tp_dst=53,actions=output:2\n" // 1
                     "priority=200,ip,nw_dst=10.0.0.0/24,actions=output:3\n"         // 2
                     "priority=50,in_port=1,actions=output:4\n"                      // 3
                     "priority=300,udp,tp_dst=99,actions=output:5\n"                 // 4
                     "priority=200,ip,nw_src=10.0.0.1,actions=local\n"               // 5: ties 2
                     "priority=0,actions=drop\n",                                    // 6
                     1);
    ASSERT_NE(p, nullptr);
    fields a, b, c, d, e;
    a.dport = 53;       // 1, 2, 3, 5 and 6 match: 2 (priority 200 and a lower id than 5)
    b.dport = 99;       // 4 (priority 300) and the ones a matches: 4
    c.src = "10.0.1.1"; // 3 and 6: 3
    c.dst = "10.0.1.2";
    c.dport = 53;
    d.src = "10.0.7.1"; // only 6 (in_port 2)
    d.dst = "10.0.5.5";
    e.src = "10.0.0.1"; // 5, 3 and 6: 5
    e.dst = "10.0.9.9";
    run(*p, {{udp4(a), 1}, {udp4(b), 1}, {udp4(c), 1}, {tcp4(d), 2}, {tcp4(e), 1}}, 5000);
    EXPECT_EQ(trace(0), "out:3 q0 take");
    EXPECT_EQ(trace(1), "out:5 q0 take");
    EXPECT_EQ(trace(2), "out:4 q0 take");
    EXPECT_EQ(trace(3), "release");
    EXPECT_EQ(trace(4), "local take");
    EXPECT_EQ(count(port_counter::drop_action), 1u);
    EXPECT_EQ(hits(1), 0u);
    EXPECT_EQ(hits(2), 1u);
    EXPECT_EQ(hits(3), 1u);
    EXPECT_EQ(hits(4), 1u);
    EXPECT_EQ(hits(5), 1u);
    EXPECT_EQ(hits(6), 1u);
}

TEST_F(Executor, RuleCountersCountPacketsBytesAndLastHit) {
    auto p = compile("priority=10,udp,actions=output:2\n"
                     "priority=10,tcp,actions=output:3\n"
                     "priority=10,icmp,actions=output:4\n",
                     1);
    ASSERT_NE(p, nullptr);
    const bytes u = udp4(), t = tcp4();
    run(*p, {{u, 1}, {t, 1}, {u, 2}, {u, 3}}, 1'000'000);
    EXPECT_EQ(hits(1), 3u);
    EXPECT_EQ(ts_.rules.at(1).bytes.get(), 3 * u.size());
    EXPECT_EQ(ts_.rules.at(1).last_hit_ns.get(), 1'000'000u);
    EXPECT_EQ(hits(2), 1u);
    EXPECT_EQ(ts_.rules.at(2).bytes.get(), t.size());
    EXPECT_EQ(hits(3), 0u);
    EXPECT_EQ(ts_.rules.at(3).last_hit_ns.get(), 0u);

    run(*p, {{t, 1}, {t, 1}}, 2'000'000);
    EXPECT_EQ(hits(1), 3u);
    EXPECT_EQ(ts_.rules.at(1).last_hit_ns.get(), 1'000'000u);
    EXPECT_EQ(hits(2), 3u);
    EXPECT_EQ(ts_.rules.at(2).bytes.get(), 3 * t.size());
    EXPECT_EQ(ts_.rules.at(2).last_hit_ns.get(), 2'000'000u);
}

// --- Exact-match cache --------------------------------------------------------------------------

// The rule the EMC holds for a frame under a pipeline version, or 0.
uint32_t emc_rule(const exact_match_cache& emc, const bytes& f, uint16_t in_port,
                  uint64_t version) {
    flow_key k;
    header_offsets w;
    extract_key(f.data(), static_cast<uint32_t>(f.size()), in_port, k, w);
    const subtable* owner = nullptr;
    const compiled_rule* r = emc.find(k, exact_match_cache::hash(k), version, &owner);
    return r ? r->rule_id : 0;
}

TEST_F(Executor, EmcFollowsNewPipelineVersions) {
    auto v1 = compile("priority=10,udp,nw_dst=10.0.0.2,actions=output:2\n" // 1
                      "priority=5,in_port=1,actions=output:3\n",           // 2
                      1);
    ASSERT_NE(v1, nullptr);
    std::vector<rx_frame> frames;
    for (uint16_t s = 0; s < 8; s++) {
        fields f;
        f.sport = static_cast<uint16_t>(2000 + s);
        frames.push_back({udp4(f), 1});
    }
    frames.push_back({tcp4(), 1});
    const auto check = [&](const char* want_udp, const char* want_tcp) {
        for (size_t i = 0; i + 1 < frames.size(); i++) {
            EXPECT_EQ(trace(i), want_udp) << "packet " << i;
        }
        EXPECT_EQ(trace(frames.size() - 1), want_tcp);
    };

    run(*v1, frames);
    check("out:2 q0 take", "out:3 q0 take");
    EXPECT_EQ(emc_rule(ts_.emc, frames[0].data, 1, 1), 1u);
    EXPECT_EQ(emc_rule(ts_.emc, frames.back().data, 1, 1), 2u);

    // The same flows again: answered from the cache, same rules.
    run(*v1, frames);
    check("out:2 q0 take", "out:3 q0 take");
    EXPECT_EQ(hits(1), 16u);
    EXPECT_EQ(hits(2), 2u);

    // Version 2 has another rule for the UDP flows. The old pipeline is gone (AddressSanitizer
    // would see a stale cache entry used).
    v1.reset();
    auto v2 = compile("priority=10,udp,nw_dst=10.0.0.2,actions=output:4\n" // 10
                      "priority=5,in_port=1,actions=output:3\n",           // 11
                      2, 10);
    ASSERT_NE(v2, nullptr);
    run(*v2, frames);
    check("out:4 q0 take", "out:3 q0 take");
    EXPECT_EQ(hits(1), 16u);
    EXPECT_EQ(hits(10), 8u);
    EXPECT_EQ(hits(11), 1u);
    EXPECT_EQ(emc_rule(ts_.emc, frames[0].data, 1, 1), 0u);
    EXPECT_EQ(emc_rule(ts_.emc, frames[0].data, 1, 2), 10u);

    // Version 3 keeps rule 10's id with new actions (what mod-flows does).
    auto v3 = compile("priority=10,udp,nw_dst=10.0.0.2,actions=mod_tp_dst:7,in_port\n" // 10
                      "priority=5,in_port=1,actions=drop\n",                           // 11
                      3, 10);
    ASSERT_NE(v3, nullptr);
    run(*v3, frames);
    check("out:1 q0 take", "release");
    fields f;
    f.sport = 2000;
    f.dport = 7;
    EXPECT_EQ(sent(0), udp4(f));
    EXPECT_EQ(hits(10), 16u);

    // Back to a pipeline without the UDP rule.
    auto v4 = compile("priority=5,in_port=1,actions=output:6\n", 4, 20);
    ASSERT_NE(v4, nullptr);
    run(*v4, frames);
    check("out:6 q0 take", "out:6 q0 take");
    EXPECT_EQ(hits(20), frames.size());
}

// --- Malformed frames ---------------------------------------------------------------------------

TEST_F(Executor, MalformedFramesAreCountedAndMatchedOnWhatIsValid) {
    auto p = compile("priority=10,in_port=1,actions=output:2\n"
                     "priority=20,in_port=1,ip,actions=output:3\n"
                     "priority=30,in_port=1,udp,actions=output:4\n"
                     "priority=30,in_port=1,ipv6,actions=output:5\n",
                     1);
    ASSERT_NE(p, nullptr);
    bytes vlan_cut = eth(0x8100); // a VLAN TPID with no tag after it
    bytes ipv6_cut = ipv6_frame(udp(1, 2));
    ipv6_cut.resize(14 + 30);
    const std::vector<std::pair<rx_frame, const char*>> cases = {
        {{bytes(), 1}, "out:2 q0 take"},          // zero length
        {{bytes(10, 0x11), 1}, "out:2 q0 take"},  // 10 bytes
        {{vlan_cut, 1}, "out:2 q0 take"},         // VLAN tag cut
        {{truncated_ipv4(), 1}, "out:3 q0 take"}, // IPv4 header cut: still ip
        {{bad_ihl_ipv4(), 1}, "out:3 q0 take"},   // IHL 4: ip, no protocol
        {{long_ipv4(), 1}, "out:3 q0 take"},      // total length past the frame
        {{truncated_udp4(), 1}, "out:4 q0 take"}, // UDP header cut: still udp
        {{bad_doff_tcp4(), 1}, "out:3 q0 take"},  // TCP header bad: tcp, not udp
        {{ipv6_cut, 1}, "out:5 q0 take"},         // IPv6 header cut: still ipv6
        {{bytes(), 2}, "release"},                // no rule
        {{udp4(), 1}, "out:4 q0 take"},           // well-formed
    };
    std::vector<rx_frame> frames;
    for (const auto& c : cases) {
        frames.push_back(c.first);
    }
    run(*p, frames);
    for (size_t i = 0; i < cases.size(); i++) {
        EXPECT_EQ(trace(i), cases[i].second) << "packet " << i;
        if (!of(i).empty() && of(i).front().kind != event::release) {
            EXPECT_EQ(sent(i), cases[i].first.data) << "packet " << i;
        }
    }
    EXPECT_EQ(count(port_counter::malformed), cases.size() - 1);
    EXPECT_EQ(count(port_counter::drop_no_rule), 1u);
    EXPECT_EQ(count(port_counter::rx_packets), cases.size());
}

// --- Load balancer (lb/balancer.h) --------------------------------------------------------------

// A one-armed load balancer: clients and backends on port 1, frames sent back out of it. The
// backends' replies (from 10.1.0.0/24, port 8080) go through lb() too, for the way back.
constexpr const char* lb_flows = R"(
lb_pool=web, vip=10.0.0.10:80/tcp, backend=10.1.0.1:8080/02:00:00:00:01:01, \
    backend=10.1.0.2:8080/02:00:00:00:01:02, backend=10.1.0.3:8080/02:00:00:00:01:03
priority=10,in_port=1,tcp,nw_dst=10.0.0.10,actions=lb(web),in_port
priority=10,in_port=1,tcp,nw_src=10.1.0.0/24,tp_src=8080,actions=lb(web),in_port
)";

const std::array<uint8_t, 6> vip_mac = {0x02, 0, 0, 0, 0, 0x02};    // frames' eth_dst
const std::array<uint8_t, 6> client_mac = {0x02, 0, 0, 0, 0, 0x01}; // frames' eth_src
const char* const backend_ip[] = {"10.1.0.1", "10.1.0.2", "10.1.0.3"};

fields client(uint16_t sport) {
    fields f;
    f.src = "10.0.0.1";
    f.dst = "10.0.0.10";
    f.sport = sport;
    f.dport = 80;
    return f;
}

// The backend index packet 0 of the last batch went to; -1 when it went elsewhere.
int backend_of(const bytes& sent_frame) {
    for (int b = 0; b < 3; b++) {
        const auto a = v4(backend_ip[b]);
        if (std::equal(a.begin(), a.end(), sent_frame.begin() + 14 + 16)) {
            return b;
        }
    }
    return -1;
}

TEST_F(Executor, LbNewSessionGoesToTheMaglevChoiceAndTheReplyComesBackFromTheVip) {
    auto p = compile(lb_flows, 1);
    ASSERT_NE(p, nullptr);
    const lb::compiled_pool* pool = p->pool(0);
    ASSERT_NE(pool, nullptr);
    std::array<int, 3> used{};
    for (uint16_t sport = 1000; sport < 1300; sport++) {
        run(*p, {{tcp4(client(sport)), 1}});
        ASSERT_EQ(trace(0), "out:1 q0 take") << "client port " << sport;
        // The table's choice for this tuple's hash, computed here independently.
        swd_lb_tuple t{};
        t.src_ip[0] = std::bit_cast<uint32_t>(v4("10.0.0.1"));
        t.dst_ip[0] = std::bit_cast<uint32_t>(v4("10.0.0.10"));
        t.src_port = htons(sport);
        t.dst_port = htons(80);
        t.proto = 6;
        const int b = pool->table.pick(swd_lb_hash(&t));
        ASSERT_GE(b, 0);
        ASSERT_LT(b, 3);
        used[static_cast<size_t>(b)]++;
        // The whole frame as built from scratch for the backend: addresses, port, MACs and
        // every checksum.
        fields want = client(sport);
        want.dst = backend_ip[b];
        want.dport = 8080;
        want.dl_src = vip_mac;
        want.dl_dst = {0x02, 0, 0, 0, 0x01, static_cast<uint8_t>(b + 1)};
        EXPECT_EQ(sent(0), tcp4(want))
            << "client port " << sport << ": " << diff(tcp4(want), sent(0));
        // The backend's reply leaves from the vip to the client's MAC.
        fields reply;
        reply.src = backend_ip[b];
        reply.dst = "10.0.0.1";
        reply.sport = 8080;
        reply.dport = sport;
        reply.dl_src = want.dl_dst;
        reply.dl_dst = vip_mac;
        run(*p, {{tcp4(reply), 1}});
        ASSERT_EQ(trace(0), "out:1 q0 take");
        fields back = reply;
        back.src = "10.0.0.10";
        back.sport = 80;
        back.dl_src = vip_mac;
        back.dl_dst = client_mac;
        EXPECT_EQ(sent(0), tcp4(back)) << diff(tcp4(back), sent(0));
    }
    for (int n : used) {
        EXPECT_GT(n, 60) << "300 sessions over 3 equal backends";
    }
    EXPECT_EQ(sessions_->size(), 600u);
    EXPECT_EQ(sessions_->counters().inserts, 600u);
}

TEST_F(Executor, LbSessionsKeepTheirBackendWhenThePoolChanges) {
    auto p1 = compile(lb_flows, 1);
    ASSERT_NE(p1, nullptr);
    std::vector<int> first(200);
    for (uint16_t i = 0; i < 200; i++) {
        run(*p1, {{tcp4(client(static_cast<uint16_t>(2000 + i))), 1}});
        first[i] = backend_of(sent(0));
        ASSERT_GE(first[i], 0);
    }
    // Backend 1 drains and backend 3 goes away: a new pipeline, the same session table.
    std::string changed = lb_flows;
    const std::string pool_line = changed.substr(1, changed.find("priority") - 1);
    changed.replace(1, pool_line.size(),
                    "lb_pool=web, vip=10.0.0.10:80/tcp, backend=10.1.0.1:8080/02:00:00:00:01:01, "
                    "backend=10.1.0.2:8080/02:00:00:00:01:02/state=drain\n");
    auto p2 = compile(changed, 2);
    ASSERT_NE(p2, nullptr);
    ASSERT_EQ(p2->pool(0)->backends.size(), 2u);
    for (uint16_t i = 0; i < 200; i++) {
        run(*p2, {{tcp4(client(static_cast<uint16_t>(2000 + i))), 1}});
        EXPECT_EQ(backend_of(sent(0)), first[i]) << "an established session moved";
    }
    // New sessions go to backend 0 only: 1 drains, 2 is gone.
    for (uint16_t i = 0; i < 100; i++) {
        run(*p2, {{tcp4(client(static_cast<uint16_t>(3000 + i))), 1}});
        EXPECT_EQ(backend_of(sent(0)), 0);
    }
}

TEST_F(Executor, LbDropsWhatItCannotBalanceWithACounterEach) {
    auto p = compile(lb_flows, 1);
    ASSERT_NE(p, nullptr);
    fields stray; // a reply from a backend with no session
    stray.src = "10.1.0.1";
    stray.dst = "10.0.0.1";
    stray.sport = 8080;
    stray.dport = 4444;
    ipv4_opts later; // a later fragment to the vip: no ports to balance on
    later.dst = "10.0.0.10";
    later.frag = 100;
    run(*p, {{tcp4(stray), 1}, {ipv4_frame(tcp(1, 80), later), 1}});
    EXPECT_EQ(trace(0), "release");
    EXPECT_EQ(trace(1), "release");
    EXPECT_EQ(count(port_counter::drop_lb_no_session), 1u);
    EXPECT_EQ(count(port_counter::drop_lb_not_balanced), 1u);

    auto down = compile("lb_pool=web, vip=10.0.0.10:80/tcp, "
                        "backend=10.1.0.1:8080/02:00:00:00:01:01/state=down\n"
                        "priority=10,in_port=1,tcp,nw_dst=10.0.0.10,actions=lb(web),in_port\n",
                        2);
    ASSERT_NE(down, nullptr);
    run(*down, {{tcp4(client(5000)), 1}});
    EXPECT_EQ(trace(0), "release");
    EXPECT_EQ(count(port_counter::drop_lb_no_backend), 1u);
    EXPECT_EQ(sessions_->size(), 0u);
}

TEST_F(Executor, LbIdleSessionsEndAndTheTableDecidesAgain) {
    auto p = compile(lb_flows, 1);
    ASSERT_NE(p, nullptr);
    run(*p, {{tcp4(client(6000)), 1}}, 1'000);
    const int b = backend_of(sent(0));
    ASSERT_GE(b, 0);
    run(*p, {{tcp4(client(6000)), 1}}, 900'000'000); // within the 1 s timeout: a hit
    EXPECT_EQ(sessions_->counters().hits, 1u);
    run(*p, {{tcp4(client(6000)), 1}}, 2'000'000'000); // idle 1.1 s: a miss, a new session
    EXPECT_EQ(sessions_->counters().hits, 1u);
    EXPECT_EQ(backend_of(sent(0)), b); // the same table decides the same
    EXPECT_GE(sessions_->counters().inserts, 3u);
}

TEST_F(Executor, LbOverIpv6RewritesAddressesAndChecksums) {
    auto p = compile("lb_pool=web6, vip=[2001:db8::100]:443/tcp, "
                     "backend=[2001:db8:1::1]:8443/02:00:00:00:01:01\n"
                     "priority=10,in_port=1,tcp6,ipv6_dst=2001:db8::100,actions=lb(web6),in_port\n"
                     "priority=10,in_port=1,tcp6,ipv6_src=2001:db8:1::1,actions=lb(web6),in_port\n",
                     1);
    ASSERT_NE(p, nullptr);
    auto frame6 = [](const char* src, const char* dst, uint16_t sport, uint16_t dport,
                     const std::array<uint8_t, 6>& dl_src, const std::array<uint8_t, 6>& dl_dst) {
        bytes b = ipv6_frame(tcp(sport, dport, 0x018, 13), {}, 0, 64, src, dst);
        std::copy(dl_dst.begin(), dl_dst.end(), b.begin());
        std::copy(dl_src.begin(), dl_src.end(), b.begin() + 6);
        return b;
    };
    const std::array<uint8_t, 6> backend_mac = {0x02, 0, 0, 0, 0x01, 0x01};
    run(*p, {{frame6("2001:db8::1", "2001:db8::100", 1234, 443, client_mac, vip_mac), 1}});
    ASSERT_EQ(trace(0), "out:1 q0 take");
    bytes want = frame6("2001:db8::1", "2001:db8:1::1", 1234, 8443, vip_mac, backend_mac);
    EXPECT_EQ(sent(0), want) << diff(want, sent(0));
    run(*p, {{frame6("2001:db8:1::1", "2001:db8::1", 8443, 1234, backend_mac, vip_mac), 1}});
    ASSERT_EQ(trace(0), "out:1 q0 take");
    want = frame6("2001:db8::100", "2001:db8::1", 443, 1234, vip_mac, client_mac);
    EXPECT_EQ(sent(0), want) << diff(want, sent(0));
}

// --- Connection tracking (conntrack.h) ----------------------------------------------------------

TEST_F(Executor, CtStateTellsNewEstablishedReplyAndUntracked) {
    auto p = compile("priority=20,in_port=1,tcp,ct_state=+trk+new,actions=ct(commit),output:3\n"
                     "priority=20,ct_state=+trk+est-rpl,actions=output:4\n"
                     "priority=20,ct_state=+trk+est+rpl,actions=output:5\n"
                     "priority=20,ct_state=-trk,actions=output:6\n"
                     "priority=10,actions=drop\n",
                     1);
    ASSERT_NE(p, nullptr);
    ASSERT_TRUE(p->tracks);
    fields reply;
    reply.src = "10.0.0.2";
    reply.dst = "10.0.0.1";
    reply.sport = 80;
    reply.dport = 1000;
    ipv4_opts later;
    later.frag = 10;
    run(*p, {{tcp4(), 1},                             // new: committed
             {tcp4(), 1},                             // the same way again: established
             {tcp4(reply), 2},                        // the reply
             {udp4(), 1},                             // UDP, not committed: new, no rule
             {ipv4_frame(icmp(8, 0)), 1},             // not TCP/UDP: untracked
             {ipv4_frame(tcp(1000, 80), later), 1}}); // a later fragment: untracked
    EXPECT_EQ(trace(0), "out:3 q0 take");
    EXPECT_EQ(trace(1), "out:4 q0 take");
    EXPECT_EQ(trace(2), "out:5 q0 take");
    EXPECT_EQ(trace(3), "release");
    EXPECT_EQ(trace(4), "out:6 q0 take");
    EXPECT_EQ(trace(5), "out:6 q0 take");
    EXPECT_EQ(conntrack_->size(), 1u);
}

TEST_F(Executor, StatefulFirewallAdmitsRepliesOfCommittedConnectionsOnly) {
    auto p = compile("priority=10,in_port=1,tcp,actions=ct(commit),output:2\n"
                     "priority=10,in_port=2,ct_state=+trk+est,actions=output:1\n"
                     "priority=5,in_port=2,actions=drop\n",
                     1);
    ASSERT_NE(p, nullptr);
    fields reply;
    reply.src = "10.0.0.2";
    reply.dst = "10.0.0.1";
    reply.sport = 80;
    reply.dport = 1000;
    fields stranger = reply;
    stranger.dport = 2000;
    run(*p, {{tcp4(reply), 2}}, 1'000); // before the client's first packet: refused
    EXPECT_EQ(trace(0), "release");
    run(*p, {{tcp4(), 1}, {tcp4(reply), 2}, {tcp4(stranger), 2}}, 2'000);
    EXPECT_EQ(trace(0), "out:2 q0 take");
    EXPECT_EQ(trace(1), "out:1 q0 take");
    EXPECT_EQ(trace(2), "release");
    EXPECT_EQ(sent(1), tcp4(reply)) << "admitted unchanged";
    run(*p, {{tcp4(reply), 2}}, 900'000'000); // idle < 1 s: still established
    EXPECT_EQ(trace(0), "out:1 q0 take");
    run(*p, {{tcp4(reply), 2}}, 2'000'000'000); // idle 1.1 s: the connection ended
    EXPECT_EQ(trace(0), "release");
    EXPECT_EQ(count(port_counter::drop_action), 3u);
}

TEST_F(Executor, NoTrackingWithoutCtRules) {
    auto p = compile("priority=10,in_port=1,tcp,actions=output:2\n", 1);
    ASSERT_NE(p, nullptr);
    EXPECT_FALSE(p->tracks);
    run(*p, {{tcp4(), 1}});
    EXPECT_EQ(trace(0), "out:2 q0 take");
    EXPECT_EQ(conntrack_->counters().misses + conntrack_->counters().hits, 0u)
        << "no lookup when no rule uses ct_state";
}

} // namespace
} // namespace swd::dp
