#include "costs.h"

#include <arpa/inet.h>
#include <cstring>

#include "checksum.h"

namespace swd::dp {

const char* rule_kind_name(rule_kind k) {
    switch (k) {
    case rule_kind::drop:
        return "drop";
    case rule_kind::pass_through:
        return "pass-through";
    case rule_kind::local:
        return "local";
    }
    return "?";
}

rule_kind kind_of(std::span<const swd_action> actions) noexcept {
    for (const swd_action& a : actions) {
        switch (a.type) {
        case SWD_ACT_LOCAL:
            return rule_kind::local;
        case SWD_ACT_OUTPUT:
            return a.arg == SWD_OFPORT_LOCAL ? rule_kind::local : rule_kind::pass_through;
        case SWD_ACT_IN_PORT:
        case SWD_ACT_LB:
        case SWD_ACT_GOTO_TABLE:
            return rule_kind::pass_through;
        default:
            break;
        }
    }
    return rule_kind::drop;
}

namespace {

void put16(std::vector<uint8_t>& f, size_t at, uint16_t host) {
    const uint16_t be = htons(host);
    std::memcpy(f.data() + at, &be, 2);
}

uint16_t checksum(const uint8_t* p, size_t n) {
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < n; i += 2) {
        sum += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
    }
    return static_cast<uint16_t>(~csum_fold(sum));
}

} // namespace

std::vector<uint8_t> frame_for(const flow_key& key) {
    const swd_flow_key& k = key.f;
    std::vector<uint8_t> f(14);
    std::memcpy(f.data(), k.eth_dst, 6);
    std::memcpy(f.data() + 6, k.eth_src, 6);
    if (k.vlan_tci & htons(SWD_VLAN_PRESENT)) {
        put16(f, 12, 0x8100);
        f.resize(18);
        put16(f, 14, static_cast<uint16_t>(ntohs(k.vlan_tci) & ~SWD_VLAN_PRESENT));
    }
    const uint16_t type = k.eth_type ? ntohs(k.eth_type) : 0x0800;
    put16(f, f.size() - 2, type);
    const size_t l3 = f.size();
    if (type == 0x0806) {
        f.resize(l3 + 28);
        put16(f, l3, 1);
        put16(f, l3 + 2, 0x0800);
        f[l3 + 4] = 6;
        f[l3 + 5] = 4;
        put16(f, l3 + 6, k.nw_proto ? k.nw_proto : 1);
        std::memcpy(f.data() + l3 + 8, k.eth_src, 6);
        std::memcpy(f.data() + l3 + 14, &k.nw_src[0], 4);
        std::memcpy(f.data() + l3 + 24, &k.nw_dst[0], 4);
    } else if (type == 0x0800 || type == 0x86dd) {
        const bool v6 = type == 0x86dd;
        const uint8_t proto = k.nw_proto ? k.nw_proto : 17;
        const bool later = k.nw_frag & SWD_FRAG_LATER;
        const size_t l4_len = later ? 0 : proto == 6 ? 20 : 8;
        const size_t ip_len = v6 ? 40 + ((k.nw_frag & SWD_FRAG_ANY) ? 8 : 0) : 20;
        f.resize(l3 + ip_len + l4_len);
        uint8_t* ip = f.data() + l3;
        const uint8_t ttl = k.nw_ttl ? k.nw_ttl : 64;
        if (v6) {
            ip[0] = static_cast<uint8_t>(0x60 | k.nw_tos >> 4);
            ip[1] = static_cast<uint8_t>((k.nw_tos & 0x0f) << 4);
            put16(f, l3 + 4, static_cast<uint16_t>(ip_len - 40 + l4_len));
            ip[7] = ttl;
            std::memcpy(ip + 8, k.nw_src, 16);
            std::memcpy(ip + 24, k.nw_dst, 16);
            if (k.nw_frag & SWD_FRAG_ANY) {
                ip[6] = 44;
                ip[40] = proto;
                put16(f, l3 + 42, later ? 8 : 1); // offset 1 (x8 bytes) or the first, with M set
            } else {
                ip[6] = proto;
            }
        } else {
            ip[0] = 0x45;
            ip[1] = k.nw_tos;
            put16(f, l3 + 2, static_cast<uint16_t>(20 + l4_len));
            if (k.nw_frag & SWD_FRAG_ANY) {
                put16(f, l3 + 6, later ? 1 : 0x2000); // offset 1, or the first with MF
            }
            ip[8] = ttl;
            ip[9] = proto;
            std::memcpy(ip + 12, &k.nw_src[0], 4);
            std::memcpy(ip + 16, &k.nw_dst[0], 4);
            put16(f, l3 + 10, checksum(ip, 20));
        }
        uint8_t* l4 = ip + ip_len;
        if (!later) {
            if (proto == 6 || proto == 17) {
                std::memcpy(l4, &k.tp_src, 2);
                std::memcpy(l4 + 2, &k.tp_dst, 2);
                if (proto == 6) {
                    l4[12] = 0x50;
                    const uint16_t flags = ntohs(k.tcp_flags) & SWD_TCP_FLAGS_MASK;
                    l4[12] |= static_cast<uint8_t>(flags >> 8);
                    l4[13] = static_cast<uint8_t>(flags);
                } else {
                    put16(f, static_cast<size_t>(l4 - f.data()) + 4, 8);
                }
            } else if (proto == 1 || proto == 58) {
                l4[0] = static_cast<uint8_t>(ntohs(k.tp_src));
                l4[1] = static_cast<uint8_t>(ntohs(k.tp_dst));
            }
        }
    }
    if (f.size() < 60) {
        f.resize(60);
    }
    return f;
}

} // namespace swd::dp
