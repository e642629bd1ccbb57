// A load-balancer pool as the datapath runs it: the vip, each backend's rewrite data, and the
// Maglev table that chooses the backend of a new session (maglev.h).
//
// Built by the control plane (flows/pools.h) from a declared pool, immutable afterwards, and
// published with the pipeline whose rules name it (pipeline::pools, indexed by pool id). A pool
// that changes (a backend added, removed, drained) is a new compiled_pool in the next pipeline:
// new sessions follow its table, established ones keep the backend their session entry holds
// (session_table.h), whatever the table says now.
#pragma once

#include <arpa/inet.h>
#include <cstdint>
#include <utility>
#include <vector>

#include "maglev.h"
#include "session_table.h"

namespace swd::dp::lb {

struct compiled_pool {
    compiled_pool(uint16_t id, bool ipv6, uint8_t proto, const uint32_t vip[4], uint16_t vip_port,
                  std::vector<session_backend> backends, maglev_table table)
        : id(id), ipv6(ipv6), proto(proto), vip_port(vip_port), backends(std::move(backends)),
          table(std::move(table)) {
        for (int i = 0; i < 4; i++) {
            this->vip[i] = vip[i];
        }
    }

    // Whether t is addressed to the vip: a client's packet that may open a session.
    bool is_vip(const swd_lb_tuple& t) const noexcept {
        return t.proto == proto && t.ipv6 == ipv6 && ntohs(t.dst_port) == vip_port &&
               t.dst_ip[0] == vip[0] && t.dst_ip[1] == vip[1] && t.dst_ip[2] == vip[2] &&
               t.dst_ip[3] == vip[3];
    }

    uint16_t id;
    bool ipv6;
    uint8_t proto;                         // IPPROTO_TCP or IPPROTO_UDP
    uint32_t vip[4] = {};                  // network order, IPv4 in [0]
    uint16_t vip_port = 0;                 // host order
    std::vector<session_backend> backends; // index = position in the declared list
    maglev_table table;
};

} // namespace swd::dp::lb
