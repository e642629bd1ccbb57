// Strict value parsers: what is accepted, what is rejected, and the reasons given.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include "flows/values.h"

namespace swd::flows {
namespace {

TEST(Values, Integers) {
    uint64_t v = 0;
    std::string why;
    EXPECT_TRUE(parse_uint("0", 10, v, why));
    EXPECT_TRUE(parse_uint("0x1F", 31, v, why));
    EXPECT_EQ(v, 31u);
    EXPECT_TRUE(parse_uint("18446744073709551615", UINT64_MAX, v, why));
    EXPECT_FALSE(parse_uint("18446744073709551616", UINT64_MAX, v, why));
    EXPECT_FALSE(parse_uint("0x10000000000000000", UINT64_MAX, v, why));
    EXPECT_FALSE(parse_uint("65536", 65535, v, why));
    EXPECT_EQ(why, "65536 is out of range 0-65535");
    EXPECT_FALSE(parse_uint("-1", 10, v, why));
    EXPECT_FALSE(parse_uint("+1", 10, v, why));
    EXPECT_FALSE(parse_uint("", 10, v, why));
    EXPECT_FALSE(parse_uint("0x", 10, v, why));
    EXPECT_FALSE(parse_uint("1 ", 10, v, why));
}

TEST(Values, Ipv4IsStrict) {
    uint32_t a = 0, m = 0;
    bool host = false;
    std::string why;
    EXPECT_TRUE(parse_ipv4("192.168.1.255", a, why));
    EXPECT_EQ(a, htonl(0xc0a801ff));
    for (const char* bad : {"10.0.0.300", "10.0.0", "10.0.0.1.2", "10..0.1", "a.b.c.d",
                            "10.0.0.01234", " 10.0.0.1", "10.0.0.1 ", "", "1e2.0.0.1"}) {
        EXPECT_FALSE(parse_ipv4(bad, a, why)) << bad;
    }
    EXPECT_FALSE(parse_ipv4("10.0.0.300", a, why));
    EXPECT_EQ(why, "octet 300 is out of range 0-255");
    EXPECT_FALSE(parse_ipv4("10.0.0", a, why));
    EXPECT_EQ(why, "only 3 octets");

    EXPECT_TRUE(parse_ipv4_masked("10.1.2.3/16", a, m, host, why));
    EXPECT_TRUE(host);
    EXPECT_EQ(a, htonl(0x0a010000));
    EXPECT_EQ(m, htonl(0xffff0000));
    EXPECT_TRUE(parse_ipv4_masked("10.0.0.0/255.0.255.0", a, m, host, why));
    EXPECT_FALSE(host);
    EXPECT_EQ(ipv4_prefix_len(m), -1);
    EXPECT_EQ(format_ipv4_masked(a, m), "10.0.0.0/255.0.255.0");
    EXPECT_TRUE(parse_ipv4_masked("0.0.0.0/0", a, m, host, why));
    EXPECT_EQ(m, 0u);
    EXPECT_FALSE(parse_ipv4_masked("10.0.0.0/33", a, m, host, why));
    EXPECT_FALSE(parse_ipv4_masked("10.0.0.0/", a, m, host, why));
    EXPECT_FALSE(parse_ipv4_masked("10.0.0.0/255.255.0.256", a, m, host, why));
}

TEST(Values, Ipv6) {
    uint32_t a[4], m[4];
    bool host = false;
    std::string why;
    EXPECT_TRUE(parse_ipv6_masked("2001:db8::1/64", a, m, host, why));
    EXPECT_TRUE(host);
    EXPECT_EQ(format_ipv6_masked(a, m), "2001:db8::/64");
    EXPECT_TRUE(parse_ipv6_masked("::ffff:10.0.0.1", a, m, host, why));
    EXPECT_EQ(format_ipv6_masked(a, m), "::ffff:10.0.0.1");
    EXPECT_TRUE(parse_ipv6_masked("fe80::/ffff::", a, m, host, why));
    EXPECT_EQ(ipv6_prefix_len(m), 16);
    EXPECT_TRUE(parse_ipv6_masked("fe80::/ffff::ffff", a, m, host, why));
    EXPECT_EQ(ipv6_prefix_len(m), -1);
    EXPECT_FALSE(parse_ipv6_masked("2001:db8::1/129", a, m, host, why));
    EXPECT_FALSE(parse_ipv6_masked("2001:db8:::1", a, m, host, why));
    EXPECT_FALSE(parse_ipv6_masked("10.0.0.1", a, m, host, why));
}

TEST(Values, Mac) {
    uint8_t mac[6];
    std::string why;
    EXPECT_TRUE(parse_mac("00:1A:2b:3c:4d:5e", mac, why));
    EXPECT_EQ(format_mac(mac), "00:1a:2b:3c:4d:5e");
    EXPECT_FALSE(parse_mac("00:1a:2b:3c:4d", mac, why));
    EXPECT_FALSE(parse_mac("00:1a:2b:3c:4d:5g", mac, why));
    EXPECT_FALSE(parse_mac("001a2b3c4d5e", mac, why));
    EXPECT_FALSE(parse_mac("00:1a:2b:3c:4d:5e:", mac, why));
}

TEST(Values, EditDistance) {
    EXPECT_EQ(edit_distance("nw_dts", "nw_dst"), 1u); // a swap of neighbours is one edit
    EXPECT_EQ(edit_distance("tpc", "ip"), 2u);
    EXPECT_EQ(edit_distance("", "abc"), 3u);
    EXPECT_EQ(edit_distance("tcp", "tcp"), 0u);
    constexpr std::string_view names[] = {"ip", "tcp", "udp"};
    EXPECT_EQ(closest_name("tpc", names), "tcp");
    EXPECT_EQ(closest_name("10", names), ""); // too far from any name to be a typo
}

} // namespace
} // namespace swd::flows
