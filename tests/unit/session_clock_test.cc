// The clock of XDP's load-balancer sessions and connections (bpf/clock.h) against user space's:
// entries that user space writes with clock_gettime(CLOCK_MONOTONIC) (the connection hand-off of
// netdev-afxdp/ct_map.cc) may be up to a timer tick later than the coarse clock the BPF side
// reads; such an entry is live, not idle, and an entry idle for longer than the timeout is a miss.
// The dispatcher runs under BPF_PROG_TEST_RUN on maps written from a flow text, with entries
// planted in its session and connection maps.
//
// Needs root (BPF): see root_test.h.
#include <bpf/bpf.h>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <gtest/gtest.h>
#include <memory>
#include <netinet/in.h>
#include <vector>

#include "bpf_flow_test.h"
#include "datapath/util/clock.h"
#include "frames.h"
#include "netdev-afxdp/ct_map.h"
#include "netdev-afxdp/lb_maps.h"
#include "netdev-afxdp/xdp_program.h"

namespace swd {
namespace {

using namespace swd::test;

constexpr uint64_t second = 1'000'000'000;
constexpr uint64_t idle_timeout = 1 * second;

// The tuple of ipv4_frame(tcp(sport, dport)) with the default addresses, as swd_tuple_of builds
// it (network byte order, unused address words zero).
swd_lb_tuple tcp_tuple(uint16_t sport, uint16_t dport) {
    swd_lb_tuple t{};
    const auto s = v4(ipv4_opts{}.src), d = v4(ipv4_opts{}.dst);
    std::memcpy(&t.src_ip[0], s.data(), 4);
    std::memcpy(&t.dst_ip[0], d.data(), 4);
    t.src_port = htons(sport);
    t.dst_port = htons(dport);
    t.proto = IPPROTO_TCP;
    return t;
}

class SessionClock : public bpf_flow_test {
protected:
    // Loads the dispatcher of port 1 on tables_ (before the entries are planted: a load takes
    // longer than the 20 ms by which a planted time leads).
    void load_program() {
        auto xdp = afxdp::xdp_program::load(*tables_, 1, true);
        ASSERT_TRUE(xdp) << xdp.err().message();
        xdp_ = std::move(*xdp);
    }

    // The dispatcher's verdict on frame, and the bytes that leave in out.
    uint32_t verdict(const bytes& frame, bytes& out) {
        if (!xdp_->test_run(frame, out)) {
            ADD_FAILURE() << "BPF_PROG_TEST_RUN";
            return UINT32_MAX;
        }
        return xdp_->last().verdict;
    }

    std::unique_ptr<afxdp::xdp_program> xdp_;
};

// A connection committed by its outgoing packet: its replies are established while it is live.
TEST_F(SessionClock, ConnectionsWrittenByUserSpace) {
    auto ct = afxdp::ct_map::create(1024, idle_timeout);
    ASSERT_TRUE(ct) << ct.err().message();
    ASSERT_NO_FATAL_FAILURE(load_tables("port=p1,ofport=1\n"
                                        "priority=100,in_port=1,ct_state=+trk+est,actions=local\n"
                                        "priority=10,in_port=1,actions=drop\n",
                                        flows::profile::all_xdp, {1}, *ct));
    ASSERT_TRUE(tables_->tracks()) << tables_->why_not();
    ASSERT_NO_FATAL_FAILURE(load_program());
    const bytes frame = ipv4_frame(tcp(40000, 80));
    const swd_lb_tuple t = tcp_tuple(40000, 80);
    bytes out;
    struct {
        const char* what;
        int64_t age_ns; // now - last_used, in user space's clock
        uint32_t verdict;
    } cases[] = {
        {"last used 20 ms in user space's future (a tick ahead of BPF's coarse clock)", -20'000'000,
         SWD_V_PASS},
        {"last used just now", 0, SWD_V_PASS},
        {"idle for half the timeout", int64_t(idle_timeout / 2), SWD_V_PASS},
        {"idle for twice the timeout", int64_t(2 * idle_timeout), SWD_V_DROP},
    };
    for (const auto& c : cases) {
        const swd_ct_entry e{monotonic_ns() - static_cast<uint64_t>(c.age_ns)};
        ASSERT_EQ(bpf_map_update_elem((*ct)->fd(), &t, &e, BPF_ANY), 0);
        EXPECT_EQ(verdict(frame, out), c.verdict) << c.what;
        swd_ct_entry after{};
        ASSERT_EQ(bpf_map_lookup_elem((*ct)->fd(), &t, &after), 0);
        EXPECT_GE(after.last_used, e.last_used) << c.what << ": the time never goes back";
    }
}

// A session of the load balancer: a live one keeps its backend (here one the pool no longer
// has), an idle one is a miss and the pool's table chooses again.
TEST_F(SessionClock, BalancerSessions) {
    auto lb = afxdp::lb_maps::create(1024, idle_timeout);
    ASSERT_TRUE(lb) << lb.err().message();
    ASSERT_NO_FATAL_FAILURE(
        load_tables("port=p1,ofport=1\n"
                    "lb_pool=web, vip=10.0.0.2:80/tcp, backend=10.9.0.1:8080/02:00:00:00:00:09\n"
                    "priority=10,in_port=1,tcp,nw_dst=10.0.0.2,tp_dst=80,actions=lb(web),in_port\n",
                    flows::profile::all_xdp, {1}, nullptr, *lb));
    ASSERT_NO_FATAL_FAILURE(load_program());
    const bytes frame = ipv4_frame(tcp(40000, 80));
    const swd_lb_tuple t = tcp_tuple(40000, 80);
    swd_lb_session_entry old{};
    const auto gone = v4("10.9.0.7");
    std::memcpy(&old.s.addr[0], gone.data(), 4);
    old.s.port = htons(7777);
    old.s.dir = SWD_LB_TO_BACKEND;
    const std::vector<uint8_t> gone_dst = {10, 9, 0, 7}, chosen_dst = {10, 9, 0, 1};
    struct {
        const char* what;
        int64_t age_ns;
        const std::vector<uint8_t>& dst;
    } cases[] = {
        {"last used 20 ms in user space's future", -20'000'000, gone_dst},
        {"last used just now", 0, gone_dst},
        {"idle for half the timeout", int64_t(idle_timeout / 2), gone_dst},
        {"idle for twice the timeout", int64_t(2 * idle_timeout), chosen_dst},
    };
    for (const auto& c : cases) {
        old.last_used = monotonic_ns() - static_cast<uint64_t>(c.age_ns);
        ASSERT_EQ(bpf_map_update_elem((*lb)->sessions_fd(), &t, &old, BPF_ANY), 0);
        bytes out;
        ASSERT_EQ(verdict(frame, out), SWD_V_TX) << c.what;
        ASSERT_GE(out.size(), 34u);
        EXPECT_EQ(std::vector<uint8_t>(out.begin() + 30, out.begin() + 34), c.dst) << c.what;
    }
}

} // namespace
} // namespace swd
