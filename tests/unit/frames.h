// Hand-built frames for datapath tests: Ethernet, VLAN, IPv4, IPv6 (+ extension headers), ARP,
// TCP, UDP, ICMP, with correct lengths and checksums unless a test breaks them on purpose.
#pragma once

#include <algorithm>
#include <arpa/inet.h>
#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace swd::test {

using bytes = std::vector<uint8_t>;

inline void put16(bytes& b, size_t at, uint16_t v) {
    b[at] = static_cast<uint8_t>(v >> 8);
    b[at + 1] = static_cast<uint8_t>(v);
}

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
    return static_cast<uint16_t>(~acc);
}

inline std::array<uint8_t, 4> v4(const char* s) {
    std::array<uint8_t, 4> a{};
    inet_pton(AF_INET, s, a.data());
    return a;
}
inline std::array<uint8_t, 16> v6(const char* s) {
    std::array<uint8_t, 16> a{};
    inet_pton(AF_INET6, s, a.data());
    return a;
}

// An L4 segment: header + payload; its checksum is filled in by the IP layer.
struct l4 {
    uint8_t proto = 17;
    bytes data;
    size_t csum_at = 6; // offset of the checksum in the header (SIZE_MAX: none)
};

inline l4 udp(uint16_t sport, uint16_t dport, size_t payload = 8) {
    l4 s{17, bytes(8 + payload, 0xab), 6};
    put16(s.data, 0, sport);
    put16(s.data, 2, dport);
    put16(s.data, 4, static_cast<uint16_t>(8 + payload));
    put16(s.data, 6, 0);
    return s;
}

inline l4 tcp(uint16_t sport, uint16_t dport, uint16_t flags = 0x002, size_t payload = 0,
              uint8_t doff_words = 5) {
    l4 s{6, bytes(doff_words * 4 + payload, 0), 16};
    put16(s.data, 0, sport);
    put16(s.data, 2, dport);
    put16(s.data, 12, static_cast<uint16_t>(doff_words << 12 | (flags & 0x0fff)));
    put16(s.data, 14, 65535);
    return s;
}

inline l4 icmp(uint8_t type, uint8_t code, bool v6 = false) {
    l4 s{static_cast<uint8_t>(v6 ? 58 : 1), bytes(8, 0), 2};
    s.data[0] = type;
    s.data[1] = code;
    return s;
}

inline bytes eth(uint16_t type, std::initializer_list<uint16_t> vlans = {}) {
    bytes b = {0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01};
    for (uint16_t tci : vlans) {
        b.insert(b.end(), {0x81, 0x00, static_cast<uint8_t>(tci >> 8), static_cast<uint8_t>(tci)});
    }
    b.push_back(static_cast<uint8_t>(type >> 8));
    b.push_back(static_cast<uint8_t>(type));
    return b;
}

struct ipv4_opts {
    const char* src = "10.0.0.1";
    const char* dst = "10.0.0.2";
    uint8_t tos = 0;
    uint8_t ttl = 64;
    uint16_t frag = 0;  // flags and offset field
    size_t options = 0; // bytes of options (multiple of 4)
};

// Ethernet (+VLANs) + IPv4 + segment, with valid checksums.
inline bytes ipv4_frame(const l4& seg, ipv4_opts o = {},
                        std::initializer_list<uint16_t> vlans = {}) {
    bytes f = eth(0x0800, vlans);
    const size_t l3 = f.size();
    const size_t ihl = 20 + o.options;
    f.resize(l3 + ihl, 0);
    f[l3] = static_cast<uint8_t>(0x40 | ihl / 4);
    f[l3 + 1] = o.tos;
    put16(f, l3 + 2, static_cast<uint16_t>(ihl + seg.data.size()));
    put16(f, l3 + 6, o.frag);
    f[l3 + 8] = o.ttl;
    f[l3 + 9] = seg.proto;
    auto s = v4(o.src), d = v4(o.dst);
    std::copy(s.begin(), s.end(), f.begin() + l3 + 12);
    std::copy(d.begin(), d.end(), f.begin() + l3 + 16);
    for (size_t i = 20; i < ihl; i++) {
        f[l3 + i] = 1; // NOP options
    }
    put16(f, l3 + 10, fold(sum16(f.data() + l3, ihl)));
    const size_t l4o = f.size();
    f.insert(f.end(), seg.data.begin(), seg.data.end());
    if (seg.csum_at == SIZE_MAX) {
        // no L4 checksum to fill in
    } else if (seg.proto != 1) {
        uint32_t acc = sum16(f.data() + l3 + 12, 8);
        acc += seg.proto + static_cast<uint32_t>(seg.data.size());
        acc = sum16(f.data() + l4o, seg.data.size(), acc);
        uint16_t c = fold(acc);
        put16(f, l4o + seg.csum_at, seg.proto == 17 && c == 0 ? 0xffff : c);
    } else {
        put16(f, l4o + seg.csum_at, fold(sum16(f.data() + l4o, seg.data.size())));
    }
    return f;
}

// An IPv6 extension header: next-header is patched in by ipv6_frame.
struct ext {
    uint8_t type; // 0, 43, 44, 51, 60
    bytes body;   // including the next-header byte at [0]
};

inline ext hop_by_hop(size_t units = 0) { // (units + 1) * 8 bytes
    ext e{0, bytes((units + 1) * 8, 0)};
    e.body[1] = static_cast<uint8_t>(units);
    return e;
}
inline ext fragment(uint16_t offset_units, bool more) {
    ext e{44, bytes(8, 0)};
    put16(e.body, 2, static_cast<uint16_t>(offset_units << 3 | (more ? 1 : 0)));
    return e;
}

// Any extension header by type: routing (43) and destination options (60) are (units + 1) * 8
// bytes like hop-by-hop, AH (51) is (units + 2) * 4 bytes, a fragment header (44) is 8 bytes with
// offset `units` and MF clear.
inline ext ext_header(uint8_t type, size_t units) {
    if (type == 44) {
        return fragment(static_cast<uint16_t>(units), false);
    }
    ext e{type, bytes(type == 51 ? (units + 2) * 4 : (units + 1) * 8, 0)};
    e.body[1] = static_cast<uint8_t>(units);
    return e;
}

inline bytes ipv6_frame(const l4& seg, std::vector<ext> exts = {}, uint8_t tclass = 0,
                        uint8_t hops = 64, const char* src = "2001:db8::1",
                        const char* dst = "2001:db8::2") {
    bytes f = eth(0x86dd);
    const size_t l3 = f.size();
    f.resize(l3 + 40, 0);
    f[l3] = static_cast<uint8_t>(0x60 | tclass >> 4);
    f[l3 + 1] = static_cast<uint8_t>(tclass << 4);
    size_t ext_len = 0;
    for (const auto& e : exts) {
        ext_len += e.body.size();
    }
    put16(f, l3 + 4, static_cast<uint16_t>(ext_len + seg.data.size()));
    f[l3 + 6] = exts.empty() ? seg.proto : exts[0].type;
    f[l3 + 7] = hops;
    auto s = v6(src), d = v6(dst);
    std::copy(s.begin(), s.end(), f.begin() + l3 + 8);
    std::copy(d.begin(), d.end(), f.begin() + l3 + 24);
    for (size_t i = 0; i < exts.size(); i++) {
        bytes body = exts[i].body;
        body[0] = i + 1 < exts.size() ? exts[i + 1].type : seg.proto;
        f.insert(f.end(), body.begin(), body.end());
    }
    const size_t l4o = f.size();
    f.insert(f.end(), seg.data.begin(), seg.data.end());
    if (seg.csum_at != SIZE_MAX) {
        uint32_t acc = sum16(f.data() + l3 + 8, 32);
        acc += seg.proto + static_cast<uint32_t>(seg.data.size());
        acc = sum16(f.data() + l4o, seg.data.size(), acc);
        const uint16_t c = fold(acc);
        put16(f, l4o + seg.csum_at, seg.proto == 17 && c == 0 ? 0xffff : c); // RFC 8200 8.1
    }
    return f;
}

inline bytes arp_frame(uint16_t op, const char* spa, const char* tpa) {
    bytes f = eth(0x0806);
    bytes a(28, 0);
    put16(a, 0, 1);
    put16(a, 2, 0x0800);
    a[4] = 6;
    a[5] = 4;
    put16(a, 6, op);
    auto s = v4(spa), t = v4(tpa);
    std::copy(s.begin(), s.end(), a.begin() + 14);
    std::copy(t.begin(), t.end(), a.begin() + 24);
    f.insert(f.end(), a.begin(), a.end());
    return f;
}

// Inserts a VLAN tag after the MAC addresses (ipv6_frame has no VLAN parameter; 0x88a8 gives an
// 802.1ad outer tag).
inline bytes add_vlan(bytes f, uint16_t tci, uint16_t tpid = 0x8100) {
    const uint8_t tag[] = {static_cast<uint8_t>(tpid >> 8), static_cast<uint8_t>(tpid),
                           static_cast<uint8_t>(tci >> 8), static_cast<uint8_t>(tci)};
    f.insert(f.begin() + 12, tag, tag + 4);
    return f;
}

// Appends n bytes of value v after the frame (Ethernet padding, or trailing garbage).
inline bytes pad(bytes f, size_t n, uint8_t v = 0x5a) {
    f.insert(f.end(), n, v);
    return f;
}

// Verifies the IPv4 header checksum and the L4 checksum (TCP/UDP/ICMP) from scratch.
inline bool ipv4_checksums_ok(const bytes& f, size_t l3 = 14) {
    const size_t ihl = (f[l3] & 0x0f) * 4u;
    if (fold(sum16(f.data() + l3, ihl)) != 0) {
        return false;
    }
    const size_t tot = static_cast<size_t>(f[l3 + 2] << 8 | f[l3 + 3]);
    const uint8_t proto = f[l3 + 9];
    const size_t l4o = l3 + ihl, l4len = tot - ihl;
    const bool later_fragment = ((f[l3 + 6] & 0x1f) | f[l3 + 7]) != 0;
    if (later_fragment || (proto != 1 && proto != 6 && proto != 17)) {
        return true; // no L4 header here, or none with a checksum this helper knows
    }
    if (proto == 1) {
        return fold(sum16(f.data() + l4o, l4len)) == 0;
    }
    if (proto == 17 && f[l4o + 6] == 0 && f[l4o + 7] == 0) {
        return true; // no UDP checksum
    }
    uint32_t acc = sum16(f.data() + l3 + 12, 8) + proto + static_cast<uint32_t>(l4len);
    return fold(sum16(f.data() + l4o, l4len, acc)) == 0;
}

} // namespace swd::test
