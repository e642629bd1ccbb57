// Binding a skeleton's maps to existing ones before it is loaded (bpf_map__reuse_fd): the rule
// maps of xdp_tables, which every XDP dispatcher and TC egress program shares (bpf/tables.h), and
// a program's own maps when a new instance replaces it (rebind()).
#pragma once

#include <cerrno>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "datapath/util/result.h"
#include "xdp_tables.h"

extern "C" {
#include <bpf/libbpf.h>
}

namespace swd::afxdp {

// Maps: a skeleton's maps struct (bpf/tables.h's maps, by their names); extra: (map, fd) pairs.
template <class Maps>
result<void> share_maps(Maps& m, const xdp_tables& tables,
                        std::initializer_list<std::pair<bpf_map*, int>> extra = {}) {
    auto reuse = [](bpf_map* map, int fd, const char* verb) -> result<void> {
        if (bpf_map__reuse_fd(map, fd) != 0) {
            return fail(errno_error(errno, std::string(verb) + " the map " + bpf_map__name(map)));
        }
        return {};
    };
    const auto fds = tables.fds();
    std::vector<std::pair<bpf_map*, int>> shared = {
        {m.swd_config, fds.config},   {m.swd_masks, fds.masks},
        {m.swd_rules, fds.rules},     {m.swd_rule_index, fds.rule_index},
        {m.swd_actions, fds.actions}, {m.swd_rule_stats, fds.rule_stats},
        {m.swd_ports, fds.ports}};
    if constexpr (requires { m.swd_lb_sessions; }) { // the dispatcher's load balancer
        shared.insert(shared.end(), {{m.swd_lb_pools, fds.lb_pools},
                                     {m.swd_lb_maglev, fds.lb_maglev},
                                     {m.swd_lb_backends, fds.lb_backends},
                                     {m.swd_lb_sessions, fds.lb_sessions}});
    }
    if constexpr (requires { m.swd_ct; }) { // the connection tracker (bpf/conntrack.h)
        shared.push_back({m.swd_ct, fds.ct});
    }
    for (auto [map, fd] : shared) {
        if (auto r = reuse(map, fd, "share"); !r) {
            return r;
        }
    }
    for (auto [map, fd] : extra) {
        if (auto r = reuse(map, fd, "keep"); !r) {
            return r;
        }
    }
    return {};
}

} // namespace swd::afxdp
