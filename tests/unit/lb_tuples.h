// Random load-balancer 5-tuples (struct swd_lb_tuple, bpf/shared/swd_abi.h) for the tests of the
// flow hash and Maglev in user space (maglev_test) and in XDP (lb_bpf_test).
#pragma once

#include <cstdint>
#include <random>

#include "bpf/shared/swd_abi.h"

namespace swd::test {

// An IPv4 (one address word) or IPv6 tuple of random addresses and ports, TCP or UDP; the words
// it does not use are zero.
inline swd_lb_tuple random_tuple(std::mt19937_64& rng, bool ipv6) {
    swd_lb_tuple t{};
    for (int i = 0; i < (ipv6 ? 4 : 1); i++) {
        t.src_ip[i] = uint32_t(rng());
        t.dst_ip[i] = uint32_t(rng());
    }
    t.src_port = uint16_t(rng());
    t.dst_port = uint16_t(rng());
    t.proto = (rng() & 1) ? 6 : 17;
    t.ipv6 = ipv6;
    return t;
}

} // namespace swd::test
