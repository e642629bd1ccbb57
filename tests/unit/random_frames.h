// A generator of random frames for datapath tests: IPv4 (options, fragments, DF, VLAN tag, UDP
// without checksum) and IPv6 (hop-by-hop, fragment headers, VLAN tag) carrying TCP, UDP, ICMP or
// other protocols with random fields and payloads and valid checksums, some ARP, other EtherTypes
// and runts, some with trailing bytes. The sequence depends only on the seed.
#pragma once

#include <arpa/inet.h>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "frames.h"

namespace swd::test {

struct random_frames {
    std::mt19937_64 rng;

    uint64_t pick(uint64_t n) { return rng() % n; }
    uint8_t byte() { return static_cast<uint8_t>(rng()); }

    std::string addr(int family) {
        uint8_t a[16];
        for (auto& b : a) {
            b = byte();
        }
        char s[INET6_ADDRSTRLEN];
        inet_ntop(family, a, s, sizeof s);
        return s;
    }

    uint8_t ttl() { return pick(4) == 0 ? static_cast<uint8_t>(pick(3)) : byte(); }

    l4 segment(bool ipv6) {
        const size_t payload = pick(4) == 0 ? pick(4) : pick(300);
        l4 s;
        size_t hdr = 0;
        switch (pick(5)) {
        case 0:
            s = tcp(static_cast<uint16_t>(rng()), static_cast<uint16_t>(rng()),
                    static_cast<uint16_t>(rng()), payload, static_cast<uint8_t>(5 + pick(11)));
            hdr = (s.data[12] >> 4) * 4u;
            break;
        case 1:
        case 2:
            s = udp(static_cast<uint16_t>(rng()), static_cast<uint16_t>(rng()), payload);
            hdr = 8;
            break;
        case 3:
            s = icmp(byte(), byte(), ipv6);
            s.data.resize(8 + payload);
            hdr = 2; // type, code; the rest is random
            break;
        default:
            s = l4{static_cast<uint8_t>(pick(2) ? 47 : 50), bytes(payload), SIZE_MAX};
            break;
        }
        for (size_t i = hdr; i < s.data.size(); i++) {
            if (s.csum_at == SIZE_MAX || (i != s.csum_at && i != s.csum_at + 1)) {
                s.data[i] = byte();
            }
        }
        return s;
    }

    bytes frame() {
        switch (pick(40)) {
        case 0:
            return bytes(pick(14), 0x99); // runt
        case 1:
            return arp_frame(static_cast<uint16_t>(1 + pick(2)), addr(AF_INET).c_str(),
                             addr(AF_INET).c_str());
        case 2: {
            bytes f = eth(0x88b5);
            f.resize(14 + pick(60), 0x42);
            return f;
        }
        default:
            break;
        }
        const bool ipv6 = pick(3) == 0;
        const l4 seg = segment(ipv6);
        bytes f;
        if (!ipv6) {
            const std::string src = addr(AF_INET), dst = addr(AF_INET);
            ipv4_opts o{.src = src.c_str(), .dst = dst.c_str(), .tos = byte(), .ttl = ttl()};
            switch (pick(6)) {
            case 0:
                o.frag = 0x4000; // DF
                break;
            case 1:
                o.frag = 0x2000; // first fragment
                break;
            case 2:
                o.frag = static_cast<uint16_t>((pick(2) ? 0x2000 : 0) | (1 + pick(0x1fff)));
                break;
            default:
                break;
            }
            o.options = 4 * pick(11);
            f = pick(3) == 0 ? ipv4_frame(seg, o, {static_cast<uint16_t>(rng())})
                             : ipv4_frame(seg, o);
            if (seg.proto == 17 && pick(3) == 0) {
                put16(f, f.size() - seg.data.size() + 6, 0); // no checksum
            }
        } else {
            std::vector<ext> exts;
            switch (pick(6)) {
            case 0:
                exts.push_back(hop_by_hop(pick(3)));
                break;
            case 1:
                exts.push_back(fragment(0, true));
                break;
            case 2:
                exts.push_back(fragment(static_cast<uint16_t>(1 + pick(8000)), pick(2)));
                break;
            default:
                break;
            }
            const std::string src = addr(AF_INET6), dst = addr(AF_INET6);
            f = ipv6_frame(seg, exts, byte(), ttl(), src.c_str(), dst.c_str());
            const size_t csum = f.size() - seg.data.size() + 6;
            if (seg.proto == 17 && f[csum] == 0 && f[csum + 1] == 0) {
                // frames.h stores a computed 0 as 0 over IPv6; RFC 8200 wants 0xffff.
                put16(f, csum, 0xffff);
            }
            if (pick(3) == 0) {
                f = add_vlan(f, static_cast<uint16_t>(rng()));
            }
        }
        if (pick(4) == 0) {
            const size_t n = pick(30);
            for (size_t i = 0; i < n; i++) {
                f.push_back(byte());
            }
        }
        return f;
    }
};

} // namespace swd::test
