#include "ntuple.h"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <vector>

#include "datapath/util/log.h"
#include "datapath/util/unique_fd.h"

namespace swd::afxdp {

namespace {

class kernel_channel final : public ethtool_channel {
public:
    explicit kernel_channel(unique_fd fd) : fd_(std::move(fd)) {}
    int call(const std::string& ifname, void* cmd) override {
        ifreq ifr{};
        std::strncpy(ifr.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
        ifr.ifr_data = static_cast<char*>(cmd);
        return ::ioctl(fd_.get(), SIOCETHTOOL, &ifr) == 0 ? 0 : errno;
    }

private:
    unique_fd fd_;
};

result<void> checked(int err, const std::string& what) {
    if (err != 0) {
        return fail(errno_error(err, what));
    }
    return {};
}

std::string address(bool v6, const __be32* a) {
    char buf[INET6_ADDRSTRLEN] = {};
    ::inet_ntop(v6 ? AF_INET6 : AF_INET, a, buf, sizeof buf);
    return buf;
}

int prefix_length(const __be32* mask, int words) {
    int n = 0;
    for (int i = 0; i < words; i++) {
        n += __builtin_popcount(ntohl(mask[i]));
    }
    return n;
}

} // namespace

result<std::unique_ptr<ethtool_channel>> kernel_ethtool() {
    unique_fd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!fd) {
        return fail(errno_error(errno, "socket for the ethtool ioctl"));
    }
    return std::unique_ptr<ethtool_channel>(new kernel_channel(std::move(fd)));
}

result<std::string> driver_name(ethtool_channel& channel, const std::string& ifname) {
    ethtool_drvinfo info{};
    info.cmd = ETHTOOL_GDRVINFO;
    if (auto r = checked(channel.call(ifname, &info), ifname + ": driver"); !r) {
        return fail(std::move(r).err());
    }
    return std::string(info.driver, strnlen(info.driver, sizeof info.driver));
}

result<ethtool_rx_flow_spec> ntuple_spec_of(const dp::flow_match& m, uint32_t queue) {
    const swd_flow_key& v = m.value.f;
    const swd_flow_key& k = m.mask.f;
    auto cannot = [](const char* what) {
        return fail(errc::unsupported, fmt::format("an ntuple filter cannot match {}", what));
    };
    auto any = [](const auto& field) {
        const auto* b = reinterpret_cast<const uint8_t*>(&field);
        for (size_t i = 0; i < sizeof field; i++) {
            if (b[i]) {
                return true;
            }
        }
        return false;
    };
    if (k.vlan_tci) {
        return cannot("the VLAN tag");
    }
    if (any(k.eth_src) || any(k.eth_dst)) {
        return cannot("Ethernet addresses");
    }
    if (k.nw_ttl) {
        return cannot("the TTL");
    }
    if (k.nw_frag) {
        return cannot("fragments (nw_frag)");
    }
    if (k.tcp_flags) {
        return cannot("TCP flags");
    }
    if (k.ct_state) {
        return cannot("connection state");
    }
    const bool v4 = k.eth_type == 0xffff && v.eth_type == htons(0x0800);
    const bool v6 = k.eth_type == 0xffff && v.eth_type == htons(0x86dd);
    if (!v4 && !v6) {
        return cannot("a flow that is not IPv4 or IPv6 (ip, ipv6, tcp, udp, ...)");
    }
    const bool has_proto = k.nw_proto != 0;
    const uint8_t proto = v.nw_proto;
    const bool l4 =
        has_proto && (proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_SCTP);
    if (has_proto && (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6) && (k.tp_src || k.tp_dst)) {
        return cannot("an ICMP type or code");
    }

    ethtool_rx_flow_spec fs{};
    fs.ring_cookie = queue;
    fs.location = RX_CLS_LOC_ANY;
    fs.flow_type = v4 ? (!l4                    ? IPV4_USER_FLOW
                         : proto == IPPROTO_TCP ? TCP_V4_FLOW
                         : proto == IPPROTO_UDP ? UDP_V4_FLOW
                                                : SCTP_V4_FLOW)
                      : (!l4                    ? IPV6_USER_FLOW
                         : proto == IPPROTO_TCP ? TCP_V6_FLOW
                         : proto == IPPROTO_UDP ? UDP_V6_FLOW
                                                : SCTP_V6_FLOW);
    // The values from the match's value, the masks from its mask: the same fields.
    auto fill = [&](ethtool_flow_union& u, const swd_flow_key& f) {
        if (v4 && l4) {
            u.tcp_ip4_spec.ip4src = f.nw_src[0];
            u.tcp_ip4_spec.ip4dst = f.nw_dst[0];
            u.tcp_ip4_spec.psrc = f.tp_src;
            u.tcp_ip4_spec.pdst = f.tp_dst;
            u.tcp_ip4_spec.tos = f.nw_tos;
        } else if (v4) {
            u.usr_ip4_spec.ip4src = f.nw_src[0];
            u.usr_ip4_spec.ip4dst = f.nw_dst[0];
            u.usr_ip4_spec.tos = f.nw_tos;
            u.usr_ip4_spec.proto = f.nw_proto;
        } else if (l4) {
            std::memcpy(u.tcp_ip6_spec.ip6src, f.nw_src, 16);
            std::memcpy(u.tcp_ip6_spec.ip6dst, f.nw_dst, 16);
            u.tcp_ip6_spec.psrc = f.tp_src;
            u.tcp_ip6_spec.pdst = f.tp_dst;
            u.tcp_ip6_spec.tclass = f.nw_tos;
        } else {
            std::memcpy(u.usr_ip6_spec.ip6src, f.nw_src, 16);
            std::memcpy(u.usr_ip6_spec.ip6dst, f.nw_dst, 16);
            u.usr_ip6_spec.tclass = f.nw_tos;
            u.usr_ip6_spec.l4_proto = f.nw_proto;
        }
    };
    fill(fs.h_u, v);
    fill(fs.m_u, k);
    if (v4 && !l4) {
        fs.h_u.usr_ip4_spec.ip_ver = ETH_RX_NFC_IP4; // its mask stays 0, as the ABI asks
    }
    return fs;
}

std::string describe(const ethtool_rx_flow_spec& fs) {
    const uint32_t type = fs.flow_type & ~(FLOW_EXT | FLOW_MAC_EXT | FLOW_RSS);
    const bool v6 = type == TCP_V6_FLOW || type == UDP_V6_FLOW || type == SCTP_V6_FLOW ||
                    type == IPV6_USER_FLOW;
    const bool ports = type != IPV4_USER_FLOW && type != IPV6_USER_FLOW;
    std::string s;
    switch (type) {
    case TCP_V4_FLOW:
    case TCP_V6_FLOW:
        s = "tcp";
        break;
    case UDP_V4_FLOW:
    case UDP_V6_FLOW:
        s = "udp";
        break;
    case SCTP_V4_FLOW:
    case SCTP_V6_FLOW:
        s = "sctp";
        break;
    default:
        s = "ip";
    }
    s += v6 ? "6" : "4";
    const __be32 *src, *dst, *msrc, *mdst;
    uint8_t tos, mtos;
    if (v6) {
        src = ports ? fs.h_u.tcp_ip6_spec.ip6src : fs.h_u.usr_ip6_spec.ip6src;
        dst = ports ? fs.h_u.tcp_ip6_spec.ip6dst : fs.h_u.usr_ip6_spec.ip6dst;
        msrc = ports ? fs.m_u.tcp_ip6_spec.ip6src : fs.m_u.usr_ip6_spec.ip6src;
        mdst = ports ? fs.m_u.tcp_ip6_spec.ip6dst : fs.m_u.usr_ip6_spec.ip6dst;
        tos = ports ? fs.h_u.tcp_ip6_spec.tclass : fs.h_u.usr_ip6_spec.tclass;
        mtos = ports ? fs.m_u.tcp_ip6_spec.tclass : fs.m_u.usr_ip6_spec.tclass;
    } else {
        src = ports ? &fs.h_u.tcp_ip4_spec.ip4src : &fs.h_u.usr_ip4_spec.ip4src;
        dst = ports ? &fs.h_u.tcp_ip4_spec.ip4dst : &fs.h_u.usr_ip4_spec.ip4dst;
        msrc = ports ? &fs.m_u.tcp_ip4_spec.ip4src : &fs.m_u.usr_ip4_spec.ip4src;
        mdst = ports ? &fs.m_u.tcp_ip4_spec.ip4dst : &fs.m_u.usr_ip4_spec.ip4dst;
        tos = ports ? fs.h_u.tcp_ip4_spec.tos : fs.h_u.usr_ip4_spec.tos;
        mtos = ports ? fs.m_u.tcp_ip4_spec.tos : fs.m_u.usr_ip4_spec.tos;
    }
    const int words = v6 ? 4 : 1;
    if (const int n = prefix_length(msrc, words)) {
        s += fmt::format(" src {}/{}", address(v6, src), n);
    }
    if (const int n = prefix_length(mdst, words)) {
        s += fmt::format(" dst {}/{}", address(v6, dst), n);
    }
    if (ports) {
        const __be16 psrc = v6 ? fs.h_u.tcp_ip6_spec.psrc : fs.h_u.tcp_ip4_spec.psrc;
        const __be16 pdst = v6 ? fs.h_u.tcp_ip6_spec.pdst : fs.h_u.tcp_ip4_spec.pdst;
        const __be16 mpsrc = v6 ? fs.m_u.tcp_ip6_spec.psrc : fs.m_u.tcp_ip4_spec.psrc;
        const __be16 mpdst = v6 ? fs.m_u.tcp_ip6_spec.pdst : fs.m_u.tcp_ip4_spec.pdst;
        if (mpsrc) {
            s += fmt::format(" src-port {}", ntohs(psrc));
            if (mpsrc != 0xffff) {
                s += fmt::format("/{:#06x}", ntohs(mpsrc));
            }
        }
        if (mpdst) {
            s += fmt::format(" dst-port {}", ntohs(pdst));
            if (mpdst != 0xffff) {
                s += fmt::format("/{:#06x}", ntohs(mpdst));
            }
        }
    } else {
        const uint8_t proto = v6 ? fs.h_u.usr_ip6_spec.l4_proto : fs.h_u.usr_ip4_spec.proto;
        const uint8_t mproto = v6 ? fs.m_u.usr_ip6_spec.l4_proto : fs.m_u.usr_ip4_spec.proto;
        if (mproto) {
            s += fmt::format(" proto {}", proto);
        }
    }
    if (mtos) {
        s += fmt::format(" tos {:#04x}/{:#04x}", tos, mtos);
    }
    return s + fmt::format(" -> queue {}", fs.ring_cookie);
}

result<std::unique_ptr<ntuple_table>> ntuple_table::open(ethtool_channel& channel,
                                                         const std::string& ifname) {
    ethtool_rxnfc nfc{};
    nfc.cmd = ETHTOOL_GRXCLSRLCNT;
    if (auto r = checked(channel.call(ifname, &nfc), ifname + ": ntuple filter table"); !r) {
        return fail(std::move(r).err());
    }
    std::unique_ptr<ntuple_table> t(new ntuple_table(channel, ifname));
    t->driver_chooses_ = (nfc.data & RX_CLS_LOC_SPECIAL) != 0;
    t->capacity_ = static_cast<uint32_t>(nfc.data & ~uint64_t(RX_CLS_LOC_SPECIAL));
    return t;
}

result<uint32_t> ntuple_table::free_location() {
    ethtool_rxnfc count{};
    count.cmd = ETHTOOL_GRXCLSRLCNT;
    if (auto r = checked(channel_->call(ifname_, &count), ifname_ + ": count ntuple filters"); !r) {
        return fail(std::move(r).err());
    }
    capacity_ = static_cast<uint32_t>(count.data & ~uint64_t(RX_CLS_LOC_SPECIAL));
    const uint32_t n = count.rule_cnt;
    std::vector<uint8_t> buf(sizeof(ethtool_rxnfc) + sizeof(uint32_t) * n);
    auto* all = reinterpret_cast<ethtool_rxnfc*>(buf.data());
    all->cmd = ETHTOOL_GRXCLSRLALL;
    all->rule_cnt = n;
    if (auto r = checked(channel_->call(ifname_, all), ifname_ + ": list ntuple filters"); !r) {
        return fail(std::move(r).err());
    }
    std::vector<bool> used(capacity_);
    for (uint32_t i = 0; i < std::min(n, all->rule_cnt); i++) {
        if (all->rule_locs[i] < capacity_) {
            used[all->rule_locs[i]] = true;
        }
    }
    for (uint32_t loc = capacity_; loc-- > 0;) {
        if (!used[loc]) {
            return loc;
        }
    }
    return fail(errc::limit,
                fmt::format("{}: ntuple filter table full ({} filters)", ifname_, capacity_));
}

result<uint32_t> ntuple_table::insert(ethtool_rx_flow_spec fs) {
    if (driver_chooses_) {
        fs.location = RX_CLS_LOC_ANY;
    } else {
        auto loc = free_location();
        if (!loc) {
            return fail(std::move(loc).err());
        }
        fs.location = *loc;
    }
    ethtool_rxnfc nfc{};
    nfc.cmd = ETHTOOL_SRXCLSRLINS;
    nfc.fs = fs;
    if (auto r = checked(channel_->call(ifname_, &nfc),
                         fmt::format("{}: add ntuple filter {}", ifname_, describe(fs)));
        !r) {
        return fail(std::move(r).err());
    }
    return nfc.fs.location;
}

void ntuple_table::remove(uint32_t location) noexcept {
    ethtool_rxnfc nfc{};
    nfc.cmd = ETHTOOL_SRXCLSRLDEL;
    nfc.fs.location = location;
    if (const int err = channel_->call(ifname_, &nfc)) {
        log::warn("{}: delete ntuple filter at location {}: {}", ifname_, location,
                  std::strerror(err));
    }
}

result<std::unique_ptr<ntuple_filter>> ntuple_filter::install(ntuple_table& table,
                                                              const ethtool_rx_flow_spec& fs) {
    auto loc = table.insert(fs);
    if (!loc) {
        return fail(std::move(loc).err());
    }
    return std::unique_ptr<ntuple_filter>(new ntuple_filter(table, *loc));
}

} // namespace swd::afxdp
