// Queue steering (netdev-afxdp/steering.h, ntuple.h): rules to ethtool ntuple filters, on a
// simulated NIC filter table (no NIC of this machine has one), and the kernel ioctl's errors on
// devices without filters.
#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <map>
#include <set>

#include "flows/parser.h"
#include "netdev-afxdp/steering.h"

namespace swd::afxdp {
namespace {

// A NIC's filter table as the ethtool ioctl shows it.
class fake_nic final : public ethtool_channel {
public:
    struct port {
        bool has_filters = true;
        uint32_t capacity = 8;
        bool driver_chooses = false;
        int insert_error = 0; // the driver refuses every filter with this errno
        std::map<uint32_t, ethtool_rx_flow_spec> filters;
    };
    std::map<std::string, port> ports;
    std::vector<std::string> calls;

    int call(const std::string& ifname, void* cmd) override {
        auto it = ports.find(ifname);
        if (it == ports.end()) {
            return ENODEV;
        }
        port& p = it->second;
        auto* nfc = static_cast<ethtool_rxnfc*>(cmd);
        calls.push_back(fmt::format("{} {:#x}", ifname, nfc->cmd));
        if (!p.has_filters) {
            return EOPNOTSUPP;
        }
        switch (nfc->cmd) {
        case ETHTOOL_GRXCLSRLCNT:
            nfc->rule_cnt = static_cast<uint32_t>(p.filters.size());
            nfc->data = p.capacity | (p.driver_chooses ? RX_CLS_LOC_SPECIAL : 0);
            return 0;
        case ETHTOOL_GRXCLSRLALL: {
            if (nfc->rule_cnt < p.filters.size()) {
                return EMSGSIZE;
            }
            uint32_t i = 0;
            for (const auto& [loc, fs] : p.filters) {
                nfc->rule_locs[i++] = loc;
            }
            nfc->rule_cnt = i;
            nfc->data = p.capacity;
            return 0;
        }
        case ETHTOOL_SRXCLSRLINS: {
            if (p.insert_error) {
                return p.insert_error;
            }
            uint32_t loc = nfc->fs.location;
            if (loc == RX_CLS_LOC_ANY) {
                if (!p.driver_chooses) {
                    return EINVAL;
                }
                for (loc = 0; loc < p.capacity && p.filters.contains(loc); loc++) {
                }
            }
            if (loc >= p.capacity || p.filters.contains(loc)) {
                return loc >= p.capacity ? ENOSPC : EBUSY;
            }
            nfc->fs.location = loc;
            p.filters[loc] = nfc->fs;
            return 0;
        }
        case ETHTOOL_SRXCLSRLDEL:
            return p.filters.erase(nfc->fs.location) ? 0 : ENOENT;
        default:
            return EOPNOTSUPP;
        }
    }
};

dp::flow_match match_of(const std::string& text) {
    flows::parse_context ctx;
    ctx.ports = {{"p1", 1}, {"p2", 2}};
    auto out = flows::parse_flows(text + ",actions=drop", "test", flows::parse_mode::config, ctx);
    EXPECT_TRUE(out.ok()) << flows::format_all(out.errors);
    return out.ok() ? out.mods.at(0).spec.match : dp::flow_match{};
}

std::string spec_text(const std::string& match) {
    auto fs = ntuple_spec_of(match_of(match), 3);
    return fs ? describe(*fs) : "error: " + fs.err().context;
}

TEST(Ntuple, FiltersFromMatches) {
    EXPECT_EQ(spec_text("tcp,nw_src=192.0.2.0/24,nw_dst=10.0.0.20,tp_dst=80"),
              "tcp4 src 192.0.2.0/24 dst 10.0.0.20/32 dst-port 80 -> queue 3");
    EXPECT_EQ(spec_text("udp,tp_src=0x1000/0xf000,nw_tos=8"),
              "udp4 src-port 4096/0xf000 tos 0x08/0xfc -> queue 3");
    EXPECT_EQ(spec_text("udp6,ipv6_dst=2001:db8::/64,tp_dst=53"),
              "udp6 dst 2001:db8::/64 dst-port 53 -> queue 3");
    EXPECT_EQ(spec_text("ip,nw_proto=47,nw_dst=10.1.0.0/16"),
              "ip4 dst 10.1.0.0/16 proto 47 -> queue 3");
    EXPECT_EQ(spec_text("ipv6"), "ip6 -> queue 3");
    EXPECT_EQ(spec_text("icmp"), "ip4 proto 1 -> queue 3");

    EXPECT_EQ(spec_text("dl_vlan=5,ip"), "error: an ntuple filter cannot match the VLAN tag");
    EXPECT_EQ(spec_text("dl_src=02:00:00:00:00:01,ip"),
              "error: an ntuple filter cannot match Ethernet addresses");
    EXPECT_EQ(spec_text("arp"), "error: an ntuple filter cannot match a flow that is not IPv4 "
                                "or IPv6 (ip, ipv6, tcp, udp, ...)");
    EXPECT_EQ(spec_text("in_port=p1"), "error: an ntuple filter cannot match a flow that is not "
                                       "IPv4 or IPv6 (ip, ipv6, tcp, udp, ...)");
    EXPECT_EQ(spec_text("icmp,icmp_type=8"), "error: an ntuple filter cannot match an ICMP type "
                                             "or code");
    EXPECT_EQ(spec_text("tcp,tcp_flags=+syn"), "error: an ntuple filter cannot match TCP flags");
    EXPECT_EQ(spec_text("ip,nw_ttl=1"), "error: an ntuple filter cannot match the TTL");
}

TEST(Ntuple, FieldsInTheEthtoolLayout) {
    // The kernel ABI: m_u bits set are the bits to match; addresses and ports in network order.
    auto fs = ntuple_spec_of(match_of("tcp,nw_src=192.0.2.0/24,tp_dst=0x50/0xfff0"), 7);
    ASSERT_TRUE(fs);
    EXPECT_EQ(fs->flow_type, uint32_t(TCP_V4_FLOW));
    EXPECT_EQ(fs->ring_cookie, 7u);
    EXPECT_EQ(fs->location, uint32_t(RX_CLS_LOC_ANY));
    EXPECT_EQ(fs->h_u.tcp_ip4_spec.ip4src, htonl(0xc0000200));
    EXPECT_EQ(fs->m_u.tcp_ip4_spec.ip4src, htonl(0xffffff00));
    EXPECT_EQ(fs->m_u.tcp_ip4_spec.ip4dst, 0u);
    EXPECT_EQ(fs->h_u.tcp_ip4_spec.pdst, htons(0x50));
    EXPECT_EQ(fs->m_u.tcp_ip4_spec.pdst, htons(0xfff0));
    EXPECT_EQ(fs->m_u.tcp_ip4_spec.psrc, 0u);

    auto user = ntuple_spec_of(match_of("ip,nw_dst=10.0.0.1"), 1);
    ASSERT_TRUE(user);
    EXPECT_EQ(user->flow_type, uint32_t(IPV4_USER_FLOW));
    EXPECT_EQ(user->h_u.usr_ip4_spec.ip_ver, ETH_RX_NFC_IP4);
    EXPECT_EQ(user->m_u.usr_ip4_spec.ip_ver, 0) << "the ABI wants a zero mask for ip_ver";
    EXPECT_EQ(user->m_u.usr_ip4_spec.proto, 0) << "any protocol";
}

class Steering : public ::testing::Test {
protected:
    void SetUp() override {
        nic_.ports["p1"] = {};
        nic_.ports["p2"].has_filters = false; // a veth
    }

    void open(std::vector<std::pair<uint32_t, uint32_t>> p1_modes = {}) {
        auto mode_of = [this](std::string name) {
            return [this, name](uint32_t q, uint32_t mode) -> result<void> {
                queue_map_[name][q] = mode;
                return {};
            };
        };
        std::vector<steering_port> ports;
        ports.push_back({"p1", 1, {0, 1, 2, 3}, std::move(p1_modes), mode_of("p1")});
        ports.push_back({"p2", 2, {0, 1, 2, 3}, {}, mode_of("p2")});
        ports.push_back({"swd0-dp", SWD_OFPORT_LOCAL, {0}, {}, mode_of("swd0-dp")});
        nic_.ports["swd0-dp"] = {};
        steering_ = std::make_unique<steering>(nic_, std::move(ports));
    }

    dp::steering_request req(uint32_t id, uint16_t q, const std::string& match) {
        return {id, q, match_of(match)};
    }

    fake_nic nic_;
    std::map<std::string, std::map<uint32_t, uint32_t>> queue_map_;
    std::unique_ptr<steering> steering_;
};

TEST_F(Steering, FiltersWhereThePortHasThemXdpElsewhere) {
    open();
    steering_->apply({req(1, 2, "udp,nw_dst=10.0.0.20,tp_dst=53")});
    EXPECT_EQ(steering_->summary(1), "ntuple:p1/q2+xdp:p2/q2") << "never on the local port";
    EXPECT_EQ(steering_->detail(1),
              "p1: ntuple filter udp4 dst 10.0.0.20/32 dst-port 53 -> queue 2 at location 7; "
              "p2: XDP search (p2 has no ntuple filters (Operation not supported))");
    ASSERT_EQ(nic_.ports["p1"].filters.size(), 1u);
    EXPECT_EQ(nic_.ports["p1"].filters.begin()->first, 7u) << "the highest free location";
    EXPECT_EQ(nic_.ports["p1"].filters.begin()->second.ring_cookie, 2u);
    EXPECT_EQ(queue_map_["p1"][2], uint32_t(SWD_QUEUE_USER)) << "a steered queue skips the search";
    EXPECT_FALSE(queue_map_.contains("p2")) << "the XDP search steers on p2";
    EXPECT_TRUE(nic_.ports["swd0-dp"].filters.empty());
    EXPECT_EQ(steering_->summary(99), "");
    EXPECT_EQ(steering_->port_status(1),
              "ntuple filters: 1 of swd's in a table of 8; steered queues in user mode: 2");
    EXPECT_EQ(steering_->port_status(2),
              "no ntuple filters (Operation not supported): steering by the XDP search");
}

TEST_F(Steering, InPortPicksThePort) {
    open();
    steering_->apply({req(1, 1, "in_port=p2,udp"), req(2, 1, "in_port=p1,tcp")});
    EXPECT_EQ(steering_->summary(1), "xdp:p2/q1");
    EXPECT_EQ(steering_->summary(2), "ntuple:p1/q1");
    EXPECT_EQ(nic_.ports["p1"].filters.size(), 1u);
}

TEST_F(Steering, FallsBackWhereAFilterCannotDoIt) {
    open({{3, SWD_QUEUE_KERNEL}});
    steering_->apply(
        {req(1, 1, "in_port=p1,arp"), req(2, 9, "in_port=p1,udp"), req(3, 3, "in_port=p1,udp")});
    EXPECT_EQ(steering_->detail(1), "p1: XDP search (an ntuple filter cannot match a flow that "
                                    "is not IPv4 or IPv6 (ip, ipv6, tcp, udp, ...))");
    EXPECT_EQ(steering_->detail(2), "p1: XDP search (swd serves no queue 9 on p1)");
    EXPECT_EQ(steering_->detail(3), "p1: XDP search (queue 3 of p1 is a kernel-queue)");
    EXPECT_TRUE(nic_.ports["p1"].filters.empty());
    EXPECT_FALSE(queue_map_.contains("p1"));

    nic_.ports["p1"].insert_error = EINVAL; // e.g. ntuple-filters off
    steering_->apply({req(4, 1, "in_port=p1,udp")});
    EXPECT_EQ(steering_->detail(4), "p1: XDP search (p1: add ntuple filter udp4 -> queue 1: "
                                    "Invalid argument)");
    EXPECT_EQ(steering_->summary(1), "") << "requests that are gone are forgotten";
}

TEST_F(Steering, FullTableFallsBack) {
    nic_.ports["p1"].capacity = 2;
    open();
    steering_->apply({req(1, 1, "in_port=p1,udp,tp_dst=1"), req(2, 1, "in_port=p1,udp,tp_dst=2"),
                      req(3, 1, "in_port=p1,udp,tp_dst=3")});
    EXPECT_EQ(steering_->summary(1), "ntuple:p1/q1");
    EXPECT_EQ(steering_->summary(2), "ntuple:p1/q1");
    EXPECT_EQ(steering_->detail(3),
              "p1: XDP search (p1: ntuple filter table full (2 filters): limit reached)");
}

TEST_F(Steering, DriverChosenLocations) {
    nic_.ports["p1"].driver_chooses = true;
    open();
    steering_->apply({req(1, 1, "in_port=p1,udp,tp_dst=1"), req(2, 1, "in_port=p1,udp,tp_dst=2")});
    EXPECT_EQ(steering_->detail(2), "p1: ntuple filter udp4 dst-port 2 -> queue 1 at location 1");
    for (const auto& c : nic_.calls) {
        EXPECT_NE(c, fmt::format("p1 {:#x}", ETHTOOL_GRXCLSRLALL)) << "no search for a place";
    }
}

TEST_F(Steering, FiltersGoWithTheirRulesAndTheQueueComesBack) {
    open({{1, SWD_QUEUE_USER}});
    steering_->apply({req(1, 2, "in_port=p1,udp,tp_dst=1"), req(2, 2, "in_port=p1,udp,tp_dst=2"),
                      req(3, 1, "in_port=p1,udp,tp_dst=3")});
    EXPECT_EQ(nic_.ports["p1"].filters.size(), 3u);
    EXPECT_EQ(queue_map_["p1"][2], uint32_t(SWD_QUEUE_USER));
    EXPECT_FALSE(queue_map_["p1"].contains(1)) << "queue 1 is a user-queue already";

    steering_->apply({req(2, 2, "in_port=p1,udp,tp_dst=2"), req(3, 1, "in_port=p1,udp,tp_dst=3")});
    EXPECT_EQ(nic_.ports["p1"].filters.size(), 2u);
    EXPECT_EQ(queue_map_["p1"][2], uint32_t(SWD_QUEUE_USER)) << "rule 2 still steers to it";

    steering_->apply({req(2, 0, "in_port=p1,udp,tp_dst=2"), req(3, 1, "in_port=p1,udp,tp_dst=3")});
    EXPECT_EQ(queue_map_["p1"][2], uint32_t(SWD_QUEUE_XDP)) << "no filter points at queue 2";
    EXPECT_EQ(queue_map_["p1"][0], uint32_t(SWD_QUEUE_USER));
    ASSERT_EQ(nic_.ports["p1"].filters.size(), 2u);
    std::set<uint64_t> rings;
    for (const auto& [loc, fs] : nic_.ports["p1"].filters) {
        rings.insert(fs.ring_cookie);
    }
    EXPECT_EQ(rings, (std::set<uint64_t>{0, 1})) << "the changed rule's filter was replaced";
    EXPECT_FALSE(queue_map_["p1"].contains(1)) << "a configured user-queue is never touched";

    steering_.reset(); // swd stops
    EXPECT_TRUE(nic_.ports["p1"].filters.empty());
}

TEST(NtupleKernel, DevicesWithoutFiltersSaySo) {
    auto ch = kernel_ethtool();
    ASSERT_TRUE(ch) << ch.err().message();
    auto lo = ntuple_table::open(**ch, "lo");
    ASSERT_FALSE(lo);
    EXPECT_EQ(lo.err().message(), "lo: ntuple filter table: Operation not supported");
    auto none = ntuple_table::open(**ch, "swd-no-such-if");
    ASSERT_FALSE(none);
    EXPECT_EQ(none.err().message(), "swd-no-such-if: ntuple filter table: No such device");
}

} // namespace
} // namespace swd::afxdp
