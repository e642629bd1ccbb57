// The AF_XDP socket's transmit path on a veth pair of the test's own: the test process moves to
// a network namespace of its own first (unshare), so the pair exists nowhere else and vanishes
// with the process, also when a test crashes. Root.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <gtest/gtest.h>
#include <sched.h>
#include <sstream>
#include <string>
#include <sys/socket.h>
#include <thread>

#include "netdev-afxdp/umem.h"
#include "netdev-afxdp/xsk_socket.h"
#include "root_test.h"

namespace {

using namespace swd;
using namespace std::chrono_literals;

// Packets received by dev, from /proc/net/dev (per network namespace, unlike /sys here).
uint64_t rx_packets(const std::string& dev) {
    std::ifstream in("/proc/net/dev");
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream words(line);
        std::string name;
        uint64_t bytes = 0, packets = 0;
        words >> name >> bytes >> packets;
        if (name == dev + ":") {
            return packets;
        }
    }
    ADD_FAILURE() << dev << " not in /proc/net/dev";
    return 0;
}

class XskSocket : public test::root_test {
protected:
    void SetUp() override {
        root_test::SetUp();
        if (IsSkipped() || HasFatalFailure()) {
            return;
        }
        ASSERT_EQ(::unshare(CLONE_NEWNET), 0) << "a network namespace of the test's own";
        // No IPv6 (neighbour discovery would add frames to the counts).
        ASSERT_EQ(std::system("sysctl -qw net.ipv6.conf.all.disable_ipv6=1 "
                              "net.ipv6.conf.default.disable_ipv6=1 && "
                              "ip link add swdt0 type veth peer name swdt1 && "
                              "ip link set swdt0 up && ip link set swdt1 up"),
                  0);
        auto u = afxdp::umem::create({4096, 4096, 2048});
        ASSERT_TRUE(u) << u.err().message();
        umem_ = std::move(*u);
    }

    std::unique_ptr<afxdp::umem> umem_;
};

// Copy mode with the kernel's default of 32 descriptors a sendto() (before Linux 6.17 always; swd
// raises it where it can): the kernel says EAGAIN when it stops at 32 with more in the ring, and
// a flush kicks on while kicks take frames, 16 times at most, so 2048 queued frames outlast it.
// The socket says so (tx_backlog), and flushes with nothing new queued send the rest: without
// them the frames would wait in the ring for the next output.
TEST_F(XskSocket, FlushesWithNothingNewSendTheBacklog) {
    afxdp::socket_options o;
    o.rx = false;
    o.ring_size = 2048;
    auto s = afxdp::xsk_socket::create(*umem_, "swdt0", 0, o);
    ASSERT_TRUE(s) << s.err().message();
    afxdp::xsk_socket& sock = **s;
    unsigned budget = 32;
    const int rc =
        ::setsockopt(sock.fd(), SOL_XDP, 9 /* XDP_MAX_TX_SKB_BUDGET */, &budget, sizeof budget);
    ASSERT_TRUE(rc == 0 || errno == ENOPROTOOPT) << "32 is the default before Linux 6.17";

    const uint64_t before = rx_packets("swdt1");
    constexpr uint32_t frames = 2048;
    for (uint32_t i = 0; i < frames; i++) {
        uint64_t addr = 0;
        ASSERT_TRUE(umem_->alloc(addr));
        uint8_t* f = umem_->data(addr);
        std::fill(f, f + 60, uint8_t{0});
        std::fill(f, f + 6, uint8_t{0xff}); // broadcast
        f[6] = 0x02;                        // a local source MAC
        f[12] = 0x88, f[13] = 0xb5;         // local experimental EtherType: the stack drops it
        ASSERT_TRUE(sock.tx_enqueue(addr, 60)) << i;
    }
    sock.tx_flush();
    EXPECT_TRUE(sock.tx_backlog());
    std::this_thread::sleep_for(100ms);
    const uint64_t first = rx_packets("swdt1") - before;
    EXPECT_EQ(first, 16u * 32) << "16 kicks of 32 (EAGAIN is not a full device)";

    int flushes = 0;
    for (; sock.tx_backlog() && flushes < 100; flushes++) {
        sock.complete();
        sock.tx_flush();
    }
    EXPECT_FALSE(sock.tx_backlog()) << "after " << flushes << " flushes";
    for (int i = 0; i < 100 && sock.tx_in_flight() > 0; i++) {
        std::this_thread::sleep_for(1ms);
        sock.complete();
    }
    EXPECT_EQ(sock.tx_in_flight(), 0u);
    EXPECT_EQ(umem_->n_free(), umem_->n_frames()) << "every frame came back";
    std::this_thread::sleep_for(100ms);
    EXPECT_EQ(rx_packets("swdt1") - before, frames);
    std::printf("first flush: %llu frames; %d more flushes sent the other %llu\n",
                static_cast<unsigned long long>(first), flushes,
                static_cast<unsigned long long>(frames - first));
}

} // namespace
