// Flow-key extraction on hand-built frames of every kind, and on malformed ones.
#include <array>
#include <gtest/gtest.h>
#include <memory>
#include <random>

#include "datapath/extract.h"
#include "frames.h"

namespace swd::dp {
namespace {

using namespace swd::test;

struct parsed {
    flow_key key;
    header_offsets where;
    malformed why;
};

// Copies the frame into a buffer of exactly its size, so that AddressSanitizer sees any read
// past the end.
parsed parse(const bytes& f, uint16_t in_port = 1) {
    auto buf = std::make_unique<uint8_t[]>(f.size() ? f.size() : 1);
    std::copy(f.begin(), f.end(), buf.get());
    parsed p;
    p.why = extract_key(buf.get(), static_cast<uint32_t>(f.size()), in_port, p.key, p.where);
    return p;
}

uint32_t ip(const char* s) {
    auto a = v4(s);
    uint32_t x;
    std::memcpy(&x, a.data(), 4);
    return x;
}

TEST(Extract, Udp4) {
    parsed p = parse(
        ipv4_frame(udp(1234, 53), {.src = "10.1.2.3", .dst = "10.9.8.7", .tos = 0xb8, .ttl = 17}),
        7);
    EXPECT_EQ(p.why, malformed::none);
    const auto& k = p.key.f;
    EXPECT_EQ(k.in_port, 7);
    EXPECT_EQ(k.eth_src[5], 0x01);
    EXPECT_EQ(k.eth_dst[5], 0x02);
    EXPECT_EQ(k.eth_type, be16(0x0800));
    EXPECT_EQ(k.vlan_tci, 0);
    EXPECT_EQ(k.nw_src[0], ip("10.1.2.3"));
    EXPECT_EQ(k.nw_dst[0], ip("10.9.8.7"));
    EXPECT_EQ(k.nw_proto, 17);
    EXPECT_EQ(k.nw_tos, 0xb8);
    EXPECT_EQ(k.nw_ttl, 17);
    EXPECT_EQ(k.nw_frag, 0);
    EXPECT_EQ(k.tp_src, be16(1234));
    EXPECT_EQ(k.tp_dst, be16(53));
    EXPECT_EQ(p.where.l3, 14u);
    EXPECT_EQ(p.where.l4, 34u);
    EXPECT_TRUE(p.where.ipv4);
}

TEST(Extract, TcpFlagsOptionsAndIpOptions) {
    parsed p = parse(ipv4_frame(tcp(40000, 443, 0x112, 10, 8), {.options = 12}));
    EXPECT_EQ(p.why, malformed::none);
    EXPECT_EQ(p.key.f.nw_proto, 6);
    EXPECT_EQ(p.key.f.tcp_flags, be16(0x112));
    EXPECT_EQ(p.key.f.tp_dst, be16(443));
    EXPECT_EQ(p.where.l4, 14u + 32u);
}

TEST(Extract, IcmpTypeAndCodeInPorts) {
    parsed p = parse(ipv4_frame(icmp(8, 3)));
    EXPECT_EQ(p.why, malformed::none);
    EXPECT_EQ(p.key.f.tp_src, be16(8));
    EXPECT_EQ(p.key.f.tp_dst, be16(3));
    parsed q = parse(ipv6_frame(icmp(135, 0, true)));
    EXPECT_EQ(q.key.f.nw_proto, 58);
    EXPECT_EQ(q.key.f.tp_src, be16(135));
}

TEST(Extract, VlanTagSetsPresentBit) {
    parsed p = parse(ipv4_frame(udp(1, 2), {}, {0x6005})); // PCP 3, VID 5
    EXPECT_EQ(p.why, malformed::none);
    EXPECT_EQ(p.key.f.vlan_tci, be16(0x6005 | SWD_VLAN_PRESENT));
    EXPECT_EQ(p.key.f.eth_type, be16(0x0800));
    EXPECT_EQ(p.where.l3, 18u);
    EXPECT_EQ(p.key.f.tp_dst, be16(2));
    // VID 0 with PCP 0 is still a tag.
    EXPECT_EQ(parse(ipv4_frame(udp(1, 2), {}, {0})).key.f.vlan_tci, be16(SWD_VLAN_PRESENT));
}

TEST(Extract, Ipv4Fragments) {
    parsed first = parse(ipv4_frame(udp(1, 2), {.frag = 0x2000})); // MF, offset 0
    EXPECT_EQ(first.key.f.nw_frag, SWD_FRAG_ANY);
    EXPECT_EQ(first.key.f.tp_dst, be16(2));
    parsed later = parse(ipv4_frame(udp(1, 2), {.frag = 0x0010})); // offset 16 units
    EXPECT_EQ(later.key.f.nw_frag, SWD_FRAG_ANY | SWD_FRAG_LATER);
    EXPECT_EQ(later.key.f.tp_dst, 0) << "a later fragment has no L4 header";
    EXPECT_EQ(later.key.f.nw_proto, 17);
    EXPECT_EQ(later.why, malformed::none);
    // DF alone is not a fragment.
    EXPECT_EQ(parse(ipv4_frame(udp(1, 2), {.frag = 0x4000})).key.f.nw_frag, 0);
}

TEST(Extract, Ipv6WithExtensionHeaders) {
    parsed p = parse(ipv6_frame(tcp(5, 6, 0x010), {hop_by_hop(1)}, 0xa4, 9));
    EXPECT_EQ(p.why, malformed::none);
    EXPECT_EQ(p.key.f.eth_type, be16(0x86dd));
    EXPECT_EQ(p.key.f.nw_proto, 6);
    EXPECT_EQ(p.key.f.nw_tos, 0xa4);
    EXPECT_EQ(p.key.f.nw_ttl, 9);
    EXPECT_EQ(p.key.f.tp_dst, be16(6));
    EXPECT_EQ(p.key.f.tcp_flags, be16(0x010));
    auto d = v6("2001:db8::2");
    EXPECT_EQ(0, std::memcmp(p.key.f.nw_dst, d.data(), 16));
    EXPECT_EQ(p.where.l4, 14u + 40u + 16u);

    parsed f0 = parse(ipv6_frame(udp(7, 8), {hop_by_hop(), fragment(0, true)}));
    EXPECT_EQ(f0.key.f.nw_frag, SWD_FRAG_ANY);
    EXPECT_EQ(f0.key.f.nw_proto, 17);
    EXPECT_EQ(f0.key.f.tp_dst, be16(8));
    parsed f1 = parse(ipv6_frame(udp(7, 8), {fragment(100, false)}));
    EXPECT_EQ(f1.key.f.nw_frag, SWD_FRAG_ANY | SWD_FRAG_LATER);
    EXPECT_EQ(f1.key.f.nw_proto, 17);
    EXPECT_EQ(f1.key.f.tp_dst, 0);

    std::vector<ext> nine(9, hop_by_hop());
    EXPECT_EQ(parse(ipv6_frame(udp(7, 8), nine)).why, malformed::ipv6_ext);
    EXPECT_EQ(parse(ipv6_frame(udp(7, 8), nine)).key.f.nw_proto, 0);
}

TEST(Extract, Arp) {
    parsed p = parse(arp_frame(2, "10.0.0.5", "10.0.0.9"));
    EXPECT_EQ(p.why, malformed::none);
    EXPECT_EQ(p.key.f.eth_type, be16(0x0806));
    EXPECT_EQ(p.key.f.nw_proto, 2);
    EXPECT_EQ(p.key.f.nw_src[0], ip("10.0.0.5"));
    EXPECT_EQ(p.key.f.nw_dst[0], ip("10.0.0.9"));
    bytes bad = arp_frame(1, "1.1.1.1", "2.2.2.2");
    bad[14 + 4] = 8; // hardware address length 8: not Ethernet ARP
    EXPECT_EQ(parse(bad).why, malformed::arp);
    EXPECT_EQ(parse(bad).key.f.nw_src[0], 0u);
}

TEST(Extract, OtherEtherTypesKeepL2Only) {
    bytes f = eth(0x88cc);
    f.resize(60, 0x55);
    parsed p = parse(f);
    EXPECT_EQ(p.why, malformed::none);
    EXPECT_EQ(p.key.f.eth_type, be16(0x88cc));
    EXPECT_EQ(p.key.f.nw_proto, 0);
    EXPECT_EQ(p.where.l3, 0u);
}

TEST(Extract, EthernetPaddingIsNotPayload) {
    bytes f = ipv4_frame(tcp(1, 2, 0x002)); // 54 bytes
    f.resize(60, 0xee);                     // padded to the Ethernet minimum
    parsed p = parse(f);
    EXPECT_EQ(p.why, malformed::none);
    EXPECT_EQ(p.where.l3_end, 54u);
}

TEST(Extract, JumboFrame) {
    parsed p = parse(ipv4_frame(udp(9, 9, 8900)));
    EXPECT_EQ(p.why, malformed::none);
    EXPECT_EQ(p.where.l3_end, 14u + 20 + 8 + 8900);
}

TEST(Extract, MalformedHeadersStopTheParse) {
    EXPECT_EQ(parse({}).why, malformed::runt);
    EXPECT_EQ(parse(bytes(13, 0xff)).why, malformed::runt);
    EXPECT_EQ(parse(bytes(13, 0xff)).key.f.in_port, 1) << "in_port is always known";

    bytes vlan = eth(0x0800, {5});
    vlan.resize(16);
    EXPECT_EQ(parse(vlan).why, malformed::vlan);

    bytes f = ipv4_frame(udp(1, 2));
    bytes bad_ihl = f;
    bad_ihl[14] = 0x44; // IHL 4
    EXPECT_EQ(parse(bad_ihl).why, malformed::ipv4_header);
    EXPECT_EQ(parse(bad_ihl).key.f.nw_src[0], 0u);
    EXPECT_EQ(parse(bad_ihl).key.f.eth_type, be16(0x0800)) << "L2 fields stay";
    bytes bad_version = f;
    bad_version[14] = 0x65;
    EXPECT_EQ(parse(bad_version).why, malformed::ipv4_header);
    bytes long_ihl = f;
    long_ihl[14] = 0x4f; // 60-byte header in a 36-byte packet
    EXPECT_EQ(parse(long_ihl).why, malformed::ipv4_length);
    bytes lying = f;
    put16(lying, 16, 1500); // total length larger than the frame
    EXPECT_EQ(parse(lying).why, malformed::ipv4_length);
    bytes short_len = f;
    put16(short_len, 16, 19);
    EXPECT_EQ(parse(short_len).why, malformed::ipv4_length);
    bytes no_udp = f;
    put16(no_udp, 16, 24); // IP says the UDP header is 4 bytes
    EXPECT_EQ(parse(no_udp).why, malformed::l4);
    EXPECT_EQ(parse(no_udp).key.f.nw_proto, 17) << "IP fields stay";
    EXPECT_EQ(parse(no_udp).key.f.tp_src, 0);

    bytes t = ipv4_frame(tcp(1, 2));
    t[14 + 20 + 12] = 0x40; // data offset 4
    EXPECT_EQ(parse(t).why, malformed::l4);
    t[14 + 20 + 12] = 0xf0; // data offset 15 words past the end
    EXPECT_EQ(parse(t).why, malformed::l4);

    bytes v6 = ipv6_frame(udp(1, 2));
    put16(v6, 18, 4000); // payload length lies
    EXPECT_EQ(parse(v6).why, malformed::ipv6_length);
    bytes v6ext = ipv6_frame(udp(1, 2), {hop_by_hop(3)});
    EXPECT_EQ(parse(v6ext).why, malformed::none);
    v6ext[14 + 40 + 1] = 200; // extension header longer than the packet
    EXPECT_EQ(parse(v6ext).why, malformed::ipv6_ext);
}

// Every prefix of every frame: never a read past the end (AddressSanitizer), and a key that
// holds only fields the whole frame also has ("match as far as the headers are valid").
TEST(Extract, EveryTruncationKeepsAPrefixOfTheKey) {
    std::vector<bytes> frames = {
        ipv4_frame(udp(1, 2)),          ipv4_frame(tcp(3, 4, 0x18, 6, 6), {.options = 8}, {0x1234}),
        ipv4_frame(icmp(0, 0)),         ipv6_frame(tcp(5, 6), {hop_by_hop(1), fragment(0, true)}),
        ipv6_frame(icmp(128, 0, true)), arp_frame(1, "10.0.0.1", "10.0.0.2"),
    };
    for (const auto& full : frames) {
        parsed whole = parse(full);
        ASSERT_EQ(whole.why, malformed::none);
        for (size_t n = 0; n < full.size(); n++) {
            bytes cut(full.begin(), full.begin() + static_cast<long>(n));
            parsed p = parse(cut);
            for (size_t b = 0; b < sizeof(swd_flow_key); b++) {
                const auto* got = reinterpret_cast<const uint8_t*>(&p.key.f);
                const auto* want = reinterpret_cast<const uint8_t*>(&whole.key.f);
                ASSERT_TRUE(got[b] == 0 || got[b] == want[b])
                    << "prefix of " << n << " bytes: key byte " << b << " is " << int(got[b])
                    << ", the whole frame has " << int(want[b]);
            }
            if (n < full.size() && p.where.l4 == 0 && whole.where.l4 != 0) {
                EXPECT_EQ(p.key.f.tp_src, 0);
            }
        }
    }
}

TEST(Extract, RandomBytesNeverCrash) {
    std::mt19937_64 rng(42);
    for (int i = 0; i < 200000; i++) {
        bytes f(rng() % 200);
        for (auto& b : f) {
            b = static_cast<uint8_t>(rng());
        }
        if (f.size() > 14 && rng() % 2) { // steer half of them into the IP parsers
            f[12] = rng() % 2 ? 0x08 : 0x86;
            f[13] = f[12] == 0x08 ? 0x00 : 0xdd;
            f[14] = static_cast<uint8_t>((f[12] == 0x08 ? 0x40 : 0x60) | (f[14] & 0x0f));
        }
        parsed p = parse(f);
        EXPECT_LE(p.where.l3_end, f.size());
        EXPECT_LE(p.where.l4, f.size());
    }
}

} // namespace
} // namespace swd::dp
