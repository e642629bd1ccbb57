// Keys and values for the session table tests (session_table_test, rte_session_table_test): a
// value whose every field follows from (id, generation), so that a reader that copies a mix of
// two writes, or a write that was never made, fails check_value().
#pragma once

#include <arpa/inet.h>
#include <cstdint>
#include <cstring>

#include "bpf/shared/swd_abi.h"

namespace swd::test {

inline swd_lb_tuple v4_tuple(uint32_t client, uint16_t port) {
    swd_lb_tuple t{};
    t.src_ip[0] = htonl(0xc0a80000 + client);
    t.dst_ip[0] = htonl(0x0a00000a);
    t.src_port = htons(port);
    t.dst_port = htons(80);
    t.proto = 6;
    return t;
}

inline swd_lb_tuple key_of(uint32_t id) {
    return v4_tuple(id, uint16_t(1000 + id % 50000));
}

inline swd_lb_session value_of(uint32_t id, uint32_t gen) {
    swd_lb_session v{};
    v.addr[0] = id;
    v.addr[1] = gen;
    v.addr[2] = id * 2654435761u ^ gen;
    v.addr[3] = ~(id + gen);
    v.port = uint16_t(id ^ gen);
    v.backend = uint16_t(gen);
    v.pool = uint16_t(id);
    v.dir = SWD_LB_TO_BACKEND;
    for (int i = 0; i < 6; i++) {
        v.eth_src[i] = uint8_t(id >> i);
        v.eth_dst[i] = uint8_t(gen >> i);
    }
    v.pad = id + 3 * gen;
    return v;
}

inline bool check_value(uint32_t id, const swd_lb_session& v) {
    const swd_lb_session want = value_of(id, v.addr[1]);
    return std::memcmp(&want, &v, sizeof v) == 0;
}

} // namespace swd::test
