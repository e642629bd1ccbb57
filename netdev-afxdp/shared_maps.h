// Binding a skeleton's maps to existing ones before it is loaded (bpf_map__reuse_fd): the rule
// maps of xdp_tables, which every XDP dispatcher and TC egress program shares (bpf/tables.h), and
// a program's own maps when a new instance replaces it (rebind()).
#pragma once

#include <cerrno>
#include <initializer_list>
#include <string>
#include <utility>

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
    const auto fds = tables.fds();
    const std::pair<bpf_map*, int> shared[] = {
        {m.swd_config, fds.config},   {m.swd_masks, fds.masks},           {m.swd_rules, fds.rules},
        {m.swd_actions, fds.actions}, {m.swd_rule_stats, fds.rule_stats}, {m.swd_ports, fds.ports}};
    for (auto [map, fd] : shared) {
        if (bpf_map__reuse_fd(map, fd) != 0) {
            return fail(errno_error(errno, std::string("share the map ") + bpf_map__name(map)));
        }
    }
    for (auto [map, fd] : extra) {
        if (bpf_map__reuse_fd(map, fd) != 0) {
            return fail(errno_error(errno, std::string("keep the map ") + bpf_map__name(map)));
        }
    }
    return {};
}

} // namespace swd::afxdp
