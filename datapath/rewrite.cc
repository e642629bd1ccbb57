#include "rewrite.h"

#include <cstring>

#include "checksum.h"

namespace swd::dp {

namespace {

constexpr uint32_t eth_hlen = 14;
constexpr uint8_t proto_tcp = 6;
constexpr uint8_t proto_udp = 17;

// Offsets inside the headers.
constexpr uint32_t ipv4_ttl = 8; // TTL, then protocol: one 16-bit word of the checksum
constexpr uint32_t ipv4_csum = 10;
constexpr uint32_t ipv4_src = 12;
constexpr uint32_t ipv4_dst = 16;
constexpr uint32_t ipv6_hop_limit = 7;
constexpr uint32_t ipv6_src = 8;
constexpr uint32_t ipv6_dst = 24;
constexpr uint8_t proto_icmpv6 = 58;
constexpr uint32_t icmp_csum = 2;
constexpr uint32_t tcp_csum = 16;
constexpr uint32_t udp_csum = 6;

// The TCP or UDP checksum field, or nullptr when the packet has no complete TCP/UDP header.
uint8_t* l4_csum(uint8_t* frame, const header_offsets& where, const flow_key& key) noexcept {
    if (where.l4 == 0) {
        return nullptr;
    }
    switch (key.f.nw_proto) {
    case proto_tcp:
        return frame + where.l4 + tcp_csum;
    case proto_udp:
        return frame + where.l4 + udp_csum;
    default:
        return nullptr;
    }
}

bool is_zero16(const uint8_t* p) noexcept {
    return (p[0] | p[1]) == 0;
}

// A UDP checksum that an update made 0x0000 would read as "no checksum" (IPv4) or be invalid
// (IPv6); 0xffff is the same ones'-complement value.
void udp_fix_zero(uint8_t* csum) noexcept {
    if (is_zero16(csum)) {
        csum[0] = 0xff;
        csum[1] = 0xff;
    }
}

// An IPv4 address change: the header checksum, and the pseudo-header part of the TCP/UDP
// checksum when the packet has an L4 header (ICMP, other protocols and later fragments do not).
bool set_ipv4(uint8_t* frame, const header_offsets& where, uint32_t field, uint32_t addr_be,
              const flow_key& key, __be32& key_field) noexcept {
    if (!where.ipv4) {
        return false;
    }
    uint8_t* ip = frame + where.l3;
    uint32_t old_be;
    std::memcpy(&old_be, ip + field, 4);
    csum_replace32(ip + ipv4_csum, old_be, addr_be);
    if (uint8_t* csum = l4_csum(frame, where, key); csum != nullptr) {
        if (key.f.nw_proto != proto_udp) {
            csum_replace32(csum, old_be, addr_be);
        } else if (!is_zero16(csum)) { // a zero UDP checksum means none: leave it
            csum_replace32(csum, old_be, addr_be);
            udp_fix_zero(csum);
        }
    }
    std::memcpy(ip + field, &addr_be, 4);
    key_field = addr_be;
    return true;
}

// An IPv6 address change: the TCP, UDP or ICMPv6 checksum (all cover the pseudo-header) when
// the packet has that header; IPv6 itself has no checksum.
bool set_ipv6(uint8_t* frame, const header_offsets& where, uint32_t field,
              const uint32_t addr_be[4], const flow_key& key, __be32 (&key_field)[4]) noexcept {
    if (!where.ipv6) {
        return false;
    }
    uint8_t* addr = frame + where.l3 + field;
    uint8_t* csum = l4_csum(frame, where, key);
    if (csum == nullptr && where.l4 != 0 && key.f.nw_proto == proto_icmpv6) {
        csum = frame + where.l4 + icmp_csum;
    }
    const bool keep_zero = key.f.nw_proto == proto_udp && csum != nullptr && is_zero16(csum);
    for (int i = 0; i < 4; i++) {
        uint32_t old_be;
        std::memcpy(&old_be, addr + 4 * i, 4);
        if (csum != nullptr && !keep_zero) {
            csum_replace32(csum, old_be, addr_be[i]);
        }
        key_field[i] = addr_be[i];
    }
    if (csum != nullptr && !keep_zero && key.f.nw_proto == proto_udp) {
        udp_fix_zero(csum);
    }
    std::memcpy(addr, addr_be, 16);
    return true;
}

bool set_port(uint8_t* frame, const header_offsets& where, uint32_t field, uint16_t port_be,
              const flow_key& key, __be16& key_field) noexcept {
    uint8_t* csum = l4_csum(frame, where, key);
    if (csum == nullptr) {
        return false;
    }
    uint8_t* port = frame + where.l4 + field;
    uint16_t old_be;
    std::memcpy(&old_be, port, 2);
    if (key.f.nw_proto == proto_udp) {
        // A zero UDP checksum means none and stays zero: over IPv4 (RFC 768), and over IPv6
        // where tunnels use it (RFC 6935); an update from 0 would make a wrong one.
        if (!is_zero16(csum)) {
            csum_replace16(csum, old_be, port_be);
            udp_fix_zero(csum);
        }
    } else {
        csum_replace16(csum, old_be, port_be);
    }
    std::memcpy(port, &port_be, 2);
    key_field = port_be;
    return true;
}

bool set_eth(uint8_t* frame, uint32_t len, uint32_t field, const uint8_t mac[6],
             uint8_t (&key_field)[6]) noexcept {
    if (len < eth_hlen) {
        return false;
    }
    std::memcpy(frame + field, mac, 6);
    std::memcpy(key_field, mac, 6);
    return true;
}

} // namespace

bool rewrite_eth_src(uint8_t* frame, uint32_t len, const uint8_t mac[6], flow_key& key) noexcept {
    return set_eth(frame, len, 6, mac, key.f.eth_src);
}

bool rewrite_eth_dst(uint8_t* frame, uint32_t len, const uint8_t mac[6], flow_key& key) noexcept {
    return set_eth(frame, len, 0, mac, key.f.eth_dst);
}

bool rewrite_ipv4_src(uint8_t* frame, const header_offsets& where, uint32_t addr_be,
                      flow_key& key) noexcept {
    return set_ipv4(frame, where, ipv4_src, addr_be, key, key.f.nw_src[0]);
}

bool rewrite_ipv4_dst(uint8_t* frame, const header_offsets& where, uint32_t addr_be,
                      flow_key& key) noexcept {
    return set_ipv4(frame, where, ipv4_dst, addr_be, key, key.f.nw_dst[0]);
}

bool rewrite_ipv6_src(uint8_t* frame, const header_offsets& where, const uint32_t addr_be[4],
                      flow_key& key) noexcept {
    return set_ipv6(frame, where, ipv6_src, addr_be, key, key.f.nw_src);
}

bool rewrite_ipv6_dst(uint8_t* frame, const header_offsets& where, const uint32_t addr_be[4],
                      flow_key& key) noexcept {
    return set_ipv6(frame, where, ipv6_dst, addr_be, key, key.f.nw_dst);
}

bool rewrite_tp_src(uint8_t* frame, const header_offsets& where, uint16_t port_be,
                    flow_key& key) noexcept {
    return set_port(frame, where, 0, port_be, key, key.f.tp_src);
}

bool rewrite_tp_dst(uint8_t* frame, const header_offsets& where, uint16_t port_be,
                    flow_key& key) noexcept {
    return set_port(frame, where, 2, port_be, key, key.f.tp_dst);
}

ttl_result decrement_ttl(uint8_t* frame, const header_offsets& where, flow_key& key) noexcept {
    if (where.ipv4) {
        uint8_t* ip = frame + where.l3;
        if (ip[ipv4_ttl] <= 1) {
            return ttl_result::expired;
        }
        uint16_t old_word, new_word;
        std::memcpy(&old_word, ip + ipv4_ttl, 2);
        ip[ipv4_ttl]--;
        std::memcpy(&new_word, ip + ipv4_ttl, 2);
        csum_replace16(ip + ipv4_csum, old_word, new_word);
        key.f.nw_ttl = ip[ipv4_ttl];
        return ttl_result::ok;
    }
    if (where.ipv6) {
        uint8_t* hop = frame + where.l3 + ipv6_hop_limit;
        if (*hop <= 1) {
            return ttl_result::expired;
        }
        (*hop)--;
        key.f.nw_ttl = *hop;
        return ttl_result::ok;
    }
    return ttl_result::not_ip;
}

} // namespace swd::dp
