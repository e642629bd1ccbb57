// The benchmarks' test frame: flow k of the generator's UDP traffic, as tests/bench/dispatcher.sh
// and forward.sh send it and rules_exact() there matches it: 60 bytes, 10.77.0.2+k:1024+k ->
// 10.77.0.1:9, with a valid IPv4 checksum.
#pragma once

#include <arpa/inet.h>
#include <cstdint>
#include <cstring>
#include <vector>

namespace swd::bench {

inline std::vector<uint8_t> udp_frame(uint32_t k) {
    std::vector<uint8_t> f(60, 0);
    const uint8_t dst[6] = {2, 0, 0, 0, 0, 2}, src[6] = {2, 0, 0, 0, 0, 1};
    std::memcpy(f.data(), dst, 6);
    std::memcpy(f.data() + 6, src, 6);
    f[12] = 0x08;
    uint8_t* ip = f.data() + 14;
    ip[0] = 0x45;
    const uint16_t tot = htons(46);
    std::memcpy(ip + 2, &tot, 2);
    ip[8] = 64;
    ip[9] = 17;
    const uint32_t s = htonl((10u << 24 | 77u << 16) + 2 + k), d = htonl(10u << 24 | 77u << 16 | 1);
    std::memcpy(ip + 12, &s, 4);
    std::memcpy(ip + 16, &d, 4);
    uint32_t sum = 0;
    for (int i = 0; i < 20; i += 2) {
        sum += static_cast<uint32_t>(ip[i] << 8 | ip[i + 1]);
    }
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    const uint16_t c = htons(static_cast<uint16_t>(~sum));
    std::memcpy(ip + 10, &c, 2);
    uint8_t* udp = ip + 20;
    const uint16_t sp = htons(static_cast<uint16_t>(1024 + k)), dp = htons(9), ul = htons(26);
    std::memcpy(udp, &sp, 2);
    std::memcpy(udp + 2, &dp, 2);
    std::memcpy(udp + 4, &ul, 2);
    return f;
}

} // namespace swd::bench
