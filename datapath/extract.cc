#include "extract.h"

#include <cstring>

namespace swd::dp {

namespace {

constexpr uint16_t eth_hlen = 14;
constexpr unsigned max_ipv6_ext_headers = SWD_IPV6_MAX_EXT_HEADERS;

inline uint16_t load_be16(const uint8_t* p) noexcept {
    return static_cast<uint16_t>(p[0] << 8 | p[1]);
}

// L4 header at [off, end): end is the IP payload's end.
malformed extract_l4(const uint8_t* p, uint32_t off, uint32_t end, uint8_t proto, bool ipv6,
                     flow_key& k, header_offsets& w) noexcept {
    const uint32_t avail = end - off;
    const uint8_t* h = p + off;
    switch (proto) {
    case 6: { // TCP
        if (avail < 20) {
            return malformed::l4;
        }
        const uint32_t doff = (h[12] >> 4) * 4u;
        if (doff < 20 || doff > avail) {
            return malformed::l4;
        }
        std::memcpy(&k.f.tp_src, h, 2);
        std::memcpy(&k.f.tp_dst, h + 2, 2);
        k.f.tcp_flags = be16(load_be16(h + 12) & SWD_TCP_FLAGS_MASK);
        break;
    }
    case 17: // UDP
        if (avail < 8) {
            return malformed::l4;
        }
        std::memcpy(&k.f.tp_src, h, 2);
        std::memcpy(&k.f.tp_dst, h + 2, 2);
        break;
    case 1:  // ICMP
    case 58: // ICMPv6
        if ((proto == 58) != ipv6) {
            return malformed::none; // ICMP over IPv6 or ICMPv6 over IPv4: not parsed
        }
        if (avail < 4) {
            return malformed::l4;
        }
        k.f.tp_src = be16(h[0]);
        k.f.tp_dst = be16(h[1]);
        break;
    default:
        return malformed::none;
    }
    w.l4 = off;
    return malformed::none;
}

malformed extract_ipv4(const uint8_t* p, uint32_t len, uint32_t off, flow_key& k,
                       header_offsets& w) noexcept {
    if (len - off < 20) {
        return malformed::ipv4_header;
    }
    const uint8_t* ip = p + off;
    const uint32_t ihl = (ip[0] & 0x0f) * 4u;
    if ((ip[0] >> 4) != 4 || ihl < 20) {
        return malformed::ipv4_header;
    }
    const uint32_t tot = load_be16(ip + 2);
    if (tot < ihl || tot > len - off) {
        return malformed::ipv4_length;
    }
    k.f.nw_tos = ip[1];
    k.f.nw_ttl = ip[8];
    k.f.nw_proto = ip[9];
    std::memcpy(&k.f.nw_src[0], ip + 12, 4);
    std::memcpy(&k.f.nw_dst[0], ip + 16, 4);
    const uint16_t frag = load_be16(ip + 6);
    if (frag & 0x3fff) { // MF or a fragment offset
        k.f.nw_frag = SWD_FRAG_ANY | ((frag & 0x1fff) ? SWD_FRAG_LATER : 0);
    }
    w.l3 = off;
    w.l3_end = off + tot;
    w.ipv4 = true;
    if (k.f.nw_frag & SWD_FRAG_LATER) {
        return malformed::none;
    }
    return extract_l4(p, off + ihl, off + tot, ip[9], false, k, w);
}

malformed extract_ipv6(const uint8_t* p, uint32_t len, uint32_t off, flow_key& k,
                       header_offsets& w) noexcept {
    if (len - off < 40) {
        return malformed::ipv6_header;
    }
    const uint8_t* ip = p + off;
    if ((ip[0] >> 4) != 6) {
        return malformed::ipv6_header;
    }
    const uint32_t payload = load_be16(ip + 4);
    if (payload > len - off - 40) {
        return malformed::ipv6_length;
    }
    k.f.nw_tos = static_cast<uint8_t>((ip[0] & 0x0f) << 4 | ip[1] >> 4);
    k.f.nw_ttl = ip[7];
    std::memcpy(k.f.nw_src, ip + 8, 16);
    std::memcpy(k.f.nw_dst, ip + 24, 16);
    const uint32_t end = off + 40 + payload;
    w.l3 = off;
    w.l3_end = end;
    w.ipv6 = true;

    uint8_t next = ip[6];
    uint32_t cur = off + 40;
    for (unsigned i = 0;; i++) {
        if (next != 0 && next != 43 && next != 44 && next != 51 && next != 60) {
            break; // an upper-layer protocol
        }
        if (i == max_ipv6_ext_headers || end - cur < 8) {
            return malformed::ipv6_ext; // every extension header is at least 8 bytes
        }
        const uint8_t* h = p + cur;
        uint32_t hlen = 8;
        if (next == 44) { // fragment: fixed 8 bytes
            const uint16_t fo = load_be16(h + 2);
            k.f.nw_frag = SWD_FRAG_ANY | ((fo & 0xfff8) ? SWD_FRAG_LATER : 0);
        } else if (next == 51) { // authentication header: length in 4-byte units, minus 2
            hlen = (h[1] + 2u) * 4u;
        } else { // hop-by-hop, routing, destination options: 8-byte units, minus 1
            hlen = (h[1] + 1u) * 8u;
        }
        if (hlen > end - cur) {
            return malformed::ipv6_ext;
        }
        next = h[0];
        cur += hlen;
        if (k.f.nw_frag & SWD_FRAG_LATER) {
            k.f.nw_proto = next;
            return malformed::none;
        }
    }
    k.f.nw_proto = next;
    return extract_l4(p, cur, end, next, true, k, w);
}

malformed extract_arp(const uint8_t* p, uint32_t len, uint32_t off, flow_key& k,
                      header_offsets& w) noexcept {
    if (len - off < 28) {
        return malformed::arp;
    }
    const uint8_t* a = p + off;
    if (load_be16(a) != 1 || load_be16(a + 2) != 0x0800 || a[4] != 6 || a[5] != 4) {
        return malformed::arp;
    }
    const uint16_t op = load_be16(a + 6);
    if (op < 256) {
        k.f.nw_proto = static_cast<uint8_t>(op);
    }
    std::memcpy(&k.f.nw_src[0], a + 14, 4);
    std::memcpy(&k.f.nw_dst[0], a + 24, 4);
    w.l3 = off;
    return malformed::none;
}

} // namespace

const char* malformed_name(malformed m) {
    switch (m) {
    case malformed::none:
        return "none";
    case malformed::runt:
        return "runt";
    case malformed::vlan:
        return "vlan";
    case malformed::ipv4_header:
        return "ipv4_header";
    case malformed::ipv4_length:
        return "ipv4_length";
    case malformed::ipv6_header:
        return "ipv6_header";
    case malformed::ipv6_length:
        return "ipv6_length";
    case malformed::ipv6_ext:
        return "ipv6_ext";
    case malformed::arp:
        return "arp";
    case malformed::l4:
        return "l4";
    case malformed::count_:
        break;
    }
    return "?";
}

malformed extract_key(const uint8_t* frame, uint32_t len, uint16_t in_port, flow_key& key,
                      header_offsets& where) noexcept {
    key = flow_key();
    where = header_offsets();
    key.f.in_port = in_port;
    if (len < eth_hlen) {
        return malformed::runt;
    }
    std::memcpy(key.f.eth_dst, frame, 6);
    std::memcpy(key.f.eth_src, frame + 6, 6);
    uint16_t type = load_be16(frame + 12);
    uint32_t off = eth_hlen;
    if (type == 0x8100 || type == 0x88a8) {
        if (len - off < 4) {
            return malformed::vlan; // no tag, no type: the header is incomplete
        }
        key.f.vlan_tci = be16(load_be16(frame + off) | SWD_VLAN_PRESENT);
        type = load_be16(frame + off + 2);
        off += 4;
    }
    key.f.eth_type = be16(type);
    switch (type) {
    case 0x0800:
        return extract_ipv4(frame, len, off, key, where);
    case 0x86dd:
        return extract_ipv6(frame, len, off, key, where);
    case 0x0806:
        return extract_arp(frame, len, off, key, where);
    default:
        return malformed::none;
    }
}

} // namespace swd::dp
