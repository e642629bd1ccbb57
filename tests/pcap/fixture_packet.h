// Frames for the pcap fixtures (tests/pcap/make_fixtures.cc), built from a description.
//
// A fixture's expected output frame is the description of the input with the rewritten values
// (new address, port, TTL, MAC), built again from scratch: every length and checksum is computed
// here, by full summation, never by the datapath's incremental updates. Nothing here uses swd's
// datapath code, so the expectations are independent of what they check.
//
// build() gives Ethernet (+ any number of 802.1Q / 802.1ad tags) + IPv4 (with options) or IPv6
// (with extension headers) or ARP + TCP / UDP / ICMP / ICMPv6 or raw payload, padded to the
// 60-byte Ethernet minimum. Fragments: a first fragment carries the L4 header and part of the
// datagram, and its L4 checksum and UDP length cover the whole datagram (`hidden` bytes follow
// that are not in the frame); a later fragment carries raw bytes only.
#pragma once

#include <algorithm>
#include <arpa/inet.h>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

namespace swd::fixtures {

using bytes = std::vector<uint8_t>;
using mac = std::array<uint8_t, 6>;

inline mac parse_mac(const char* s) {
    mac m{};
    unsigned v[6];
    if (std::sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6) {
        throw std::invalid_argument(std::string("bad MAC ") + s);
    }
    for (int i = 0; i < 6; i++) {
        m[i] = static_cast<uint8_t>(v[i]);
    }
    return m;
}

inline void put16(bytes& b, size_t at, uint16_t v) {
    b[at] = static_cast<uint8_t>(v >> 8);
    b[at + 1] = static_cast<uint8_t>(v);
}

inline void put32(bytes& b, size_t at, uint32_t v) {
    put16(b, at, static_cast<uint16_t>(v >> 16));
    put16(b, at + 2, static_cast<uint16_t>(v));
}

inline uint16_t get16(const bytes& b, size_t at) {
    return static_cast<uint16_t>(b[at] << 8 | b[at + 1]);
}

inline void append(bytes& to, const bytes& from) {
    to.insert(to.end(), from.begin(), from.end());
}

// Ones'-complement sum of 16-bit big-endian words (an odd last byte is padded with zero).
inline uint32_t sum16(const uint8_t* p, size_t n, uint32_t acc = 0) {
    for (size_t i = 0; i + 1 < n; i += 2) {
        acc += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
    }
    if (n & 1) {
        acc += static_cast<uint32_t>(p[n - 1] << 8);
    }
    return acc;
}

inline uint16_t fold(uint32_t acc) {
    while (acc >> 16) {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    return static_cast<uint16_t>(acc);
}

inline uint16_t checksum(uint32_t acc) {
    return static_cast<uint16_t>(~fold(acc));
}

inline bytes ip4(const std::string& s) {
    bytes a(4);
    if (inet_pton(AF_INET, s.c_str(), a.data()) != 1) {
        throw std::invalid_argument("bad IPv4 address " + s);
    }
    return a;
}

inline bytes ip6(const std::string& s) {
    bytes a(16);
    if (inet_pton(AF_INET6, s.c_str(), a.data()) != 1) {
        throw std::invalid_argument("bad IPv6 address " + s);
    }
    return a;
}

struct vlan_tag {
    uint16_t tpid = 0x8100; // 0x88a8: 802.1ad
    uint16_t tci = 0;       // PCP << 13 | DEI << 12 | VID
};

// An IPv6 extension header; body[0] (next header) is filled in by build().
struct ip6_ext {
    uint8_t type = 0;
    bytes body;
};

// Hop-by-hop (0), routing (43) and destination options (60): (units + 1) * 8 bytes of Pad1.
inline ip6_ext ext_opts(uint8_t type, uint8_t units = 0) {
    ip6_ext e{type, bytes((units + 1u) * 8u, 0)};
    e.body[1] = units;
    if (type == 43) {
        e.body[2] = 253; // routing type: experimental, segments left 0 (no addresses)
    }
    return e;
}

// Authentication header (51): (units + 2) * 4 bytes.
inline ip6_ext ext_ah(uint8_t units = 4) {
    ip6_ext e{51, bytes((units + 2u) * 4u, 0)};
    e.body[1] = units;
    put32(e.body, 4, 0x100); // SPI
    put32(e.body, 8, 1);     // sequence number
    return e;
}

// Fragment header (44): offset in 8-byte units, more-fragments flag.
inline ip6_ext ext_frag(uint16_t offset_units, bool more, uint32_t id = 0x5eed) {
    ip6_ext e{44, bytes(8, 0)};
    put16(e.body, 2, static_cast<uint16_t>(offset_units << 3 | (more ? 1 : 0)));
    put32(e.body, 4, id);
    return e;
}

enum class net { none, ipv4, ipv6, arp };

struct packet {
    mac dst = {0x02, 0, 0, 0, 0, 0x02};
    mac src = {0x02, 0, 0, 0, 0, 0x01};
    std::vector<vlan_tag> vlans;
    net l3 = net::ipv4;
    uint16_t eth_type = 0x88b5; // net::none only: the type after the tags

    // IPv4 / IPv6 / ARP addresses (ARP: SPA and TPA).
    std::string nw_src = "10.0.0.1";
    std::string nw_dst = "10.0.0.2";
    uint8_t tos = 0; // IPv4 ToS, IPv6 traffic class
    uint8_t ttl = 64;
    // IPv4
    uint16_t ip_id = 0x1234;
    uint16_t frag = 0;     // flags (DF 0x4000, MF 0x2000) | offset in 8-byte units
    size_t ip_options = 0; // bytes of NOP options, a multiple of 4
    // IPv6
    uint32_t flow_label = 0;
    std::vector<ip6_ext> exts;
    // ARP
    uint16_t arp_op = 1;
    mac arp_sha = {0x02, 0, 0, 0, 0, 0x01};
    mac arp_tha = {0, 0, 0, 0, 0, 0};

    // L4: TCP (6), UDP (17), ICMP (1), ICMPv6 (58) get a header, anything else is raw payload.
    uint8_t proto = 17;
    bool l4_header = true; // false: raw bytes after IP (a later fragment)
    uint16_t sport = 1000;
    uint16_t dport = 80;
    uint16_t tcp_flags = 0x018; // ACK|PSH; 12 bits, NS is 0x100
    uint32_t seq = 0x01020304;
    uint32_t ack = 0x0a0b0c0d;
    uint8_t doff = 5; // TCP header in 32-bit words; options are NOPs
    uint8_t icmp_type = 8;
    uint8_t icmp_code = 0;
    uint16_t icmp_id = 0x4242;
    uint16_t icmp_seq = 1;
    bool udp_no_csum = false; // UDP checksum 0 ("none", IPv4 only)
    bytes payload = {'s', 'w', 'd', '-', 'f', 'x', 't', 'r'};
    size_t hidden = 0; // first fragment: datagram bytes after this fragment (checksum, UDP length)

    size_t min_frame = 60; // pad the frame with zeros to this length
};

inline uint8_t hidden_byte(size_t i) {
    return static_cast<uint8_t>(0x30 + i % 61);
}

// The L4 part: header + payload (+ hidden bytes, for the checksum only, cut off afterwards),
// with its checksum over pseudo (the pseudo-header's address part).
inline bytes build_l4(const packet& p, const bytes& pseudo_addrs, bool ipv6) {
    bytes l4;
    size_t csum_at = SIZE_MAX;
    bool pseudo = true;
    if (!p.l4_header || (p.proto != 6 && p.proto != 17 && p.proto != 1 && p.proto != 58)) {
        return p.payload;
    }
    switch (p.proto) {
    case 6: {
        l4.assign(p.doff * 4u, 0);
        put16(l4, 0, p.sport);
        put16(l4, 2, p.dport);
        put32(l4, 4, p.seq);
        put32(l4, 8, p.ack);
        put16(l4, 12, static_cast<uint16_t>(p.doff << 12 | (p.tcp_flags & 0x0fff)));
        put16(l4, 14, 8192);
        for (size_t i = 20; i < l4.size(); i++) {
            l4[i] = 1; // NOP options
        }
        csum_at = 16;
        break;
    }
    case 17:
        l4.assign(8, 0);
        put16(l4, 0, p.sport);
        put16(l4, 2, p.dport);
        put16(l4, 4, static_cast<uint16_t>(8 + p.payload.size() + p.hidden));
        csum_at = 6;
        break;
    default: // ICMP, ICMPv6: echo-style header
        l4.assign(8, 0);
        l4[0] = p.icmp_type;
        l4[1] = p.icmp_code;
        put16(l4, 4, p.icmp_id);
        put16(l4, 6, p.icmp_seq);
        csum_at = 2;
        pseudo = p.proto == 58; // ICMPv4 has no pseudo-header
        break;
    }
    append(l4, p.payload);
    const size_t sent = l4.size();
    for (size_t i = 0; i < p.hidden; i++) {
        l4.push_back(hidden_byte(i));
    }
    uint32_t acc = sum16(l4.data(), l4.size());
    if (pseudo) {
        acc = sum16(pseudo_addrs.data(), pseudo_addrs.size(), acc);
        acc += p.proto;
        if (ipv6) {
            acc += static_cast<uint32_t>(l4.size() >> 16);
        }
        acc += static_cast<uint32_t>(l4.size() & 0xffff);
    }
    uint16_t c = checksum(acc);
    if (p.proto == 17 && c == 0) {
        c = 0xffff; // RFC 768: a computed 0 is sent as all ones
    }
    if (p.proto == 17 && p.udp_no_csum) {
        c = 0;
    }
    put16(l4, csum_at, c);
    l4.resize(sent);
    return l4;
}

inline bytes build_ipv4(const packet& p) {
    const bytes src = ip4(p.nw_src), dst = ip4(p.nw_dst);
    bytes addrs = src;
    append(addrs, dst);
    const bytes l4 = build_l4(p, addrs, false);
    const size_t ihl = 20 + p.ip_options;
    bytes h(ihl, 0);
    h[0] = static_cast<uint8_t>(0x40 | ihl / 4);
    h[1] = p.tos;
    put16(h, 2, static_cast<uint16_t>(ihl + l4.size()));
    put16(h, 4, p.ip_id);
    put16(h, 6, p.frag);
    h[8] = p.ttl;
    h[9] = p.proto;
    std::copy(src.begin(), src.end(), h.begin() + 12);
    std::copy(dst.begin(), dst.end(), h.begin() + 16);
    for (size_t i = 20; i < ihl; i++) {
        h[i] = 1; // NOP
    }
    put16(h, 10, checksum(sum16(h.data(), ihl)));
    append(h, l4);
    return h;
}

inline bytes build_ipv6(const packet& p) {
    const bytes src = ip6(p.nw_src), dst = ip6(p.nw_dst);
    bytes addrs = src;
    append(addrs, dst);
    bytes h(40, 0);
    put32(h, 0, 6u << 28 | static_cast<uint32_t>(p.tos) << 20 | (p.flow_label & 0xfffff));
    h[6] = p.exts.empty() ? p.proto : p.exts[0].type;
    h[7] = p.ttl;
    std::copy(src.begin(), src.end(), h.begin() + 8);
    std::copy(dst.begin(), dst.end(), h.begin() + 24);
    for (size_t i = 0; i < p.exts.size(); i++) {
        bytes body = p.exts[i].body;
        body[0] = i + 1 < p.exts.size() ? p.exts[i + 1].type : p.proto;
        append(h, body);
    }
    append(h, build_l4(p, addrs, true));
    put16(h, 4, static_cast<uint16_t>(h.size() - 40));
    return h;
}

inline bytes build_arp(const packet& p) {
    bytes a(28, 0);
    put16(a, 0, 1);
    put16(a, 2, 0x0800);
    a[4] = 6;
    a[5] = 4;
    put16(a, 6, p.arp_op);
    std::copy(p.arp_sha.begin(), p.arp_sha.end(), a.begin() + 8);
    const bytes spa = ip4(p.nw_src), tpa = ip4(p.nw_dst);
    std::copy(spa.begin(), spa.end(), a.begin() + 14);
    std::copy(p.arp_tha.begin(), p.arp_tha.end(), a.begin() + 18);
    std::copy(tpa.begin(), tpa.end(), a.begin() + 24);
    return a;
}

inline bytes build(const packet& p) {
    bytes f(p.dst.begin(), p.dst.end());
    f.insert(f.end(), p.src.begin(), p.src.end());
    for (const vlan_tag& t : p.vlans) {
        f.resize(f.size() + 4);
        put16(f, f.size() - 4, t.tpid);
        put16(f, f.size() - 2, t.tci);
    }
    uint16_t type = p.eth_type;
    bytes l3 = p.payload;
    switch (p.l3) {
    case net::none:
        break;
    case net::ipv4:
        type = 0x0800;
        l3 = build_ipv4(p);
        break;
    case net::ipv6:
        type = 0x86dd;
        l3 = build_ipv6(p);
        break;
    case net::arp:
        type = 0x0806;
        l3 = build_arp(p);
        break;
    }
    f.resize(f.size() + 2);
    put16(f, f.size() - 2, type);
    append(f, l3);
    if (f.size() < p.min_frame) {
        f.resize(p.min_frame, 0);
    }
    return f;
}

// Offset of the L3 header in a frame built from p (after the tags).
inline size_t l3_offset(const packet& p) {
    return 14 + 4 * p.vlans.size();
}

// Recomputes the IPv4 header checksum at l3 from scratch, after a test broke the header on
// purpose (IHL or total length): the header stays "valid" apart from the field under test. The
// sum covers max(IHL, 5) words, as much as the frame holds.
inline void fix_ipv4_checksum(bytes& f, size_t l3) {
    size_t ihl = std::max<size_t>((f[l3] & 0x0f) * 4u, 20);
    ihl = std::min(ihl, f.size() - l3);
    put16(f, l3 + 10, 0);
    put16(f, l3 + 10, checksum(sum16(f.data() + l3, ihl)));
}

} // namespace swd::fixtures
