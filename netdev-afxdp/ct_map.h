// The connection tracker's BPF map (bpf/conntrack.h), shared by the XDP dispatcher and the TC
// egress program of every port. Like the load balancer's session map (lb_maps.h) it outlives
// every pipeline and every move of the rule maps to larger ones, so committed connections stay
// established; xdp_tables writes its idle timeout into the dispatcher's configuration.
//
// Thread-safety: control thread only; the map is read and written by the BPF programs.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "datapath/lb/session_table.h"
#include "datapath/util/result.h"
#include "datapath/util/unique_fd.h"

namespace swd::afxdp {

class ct_map {
public:
    static constexpr uint32_t default_entries = 1u << 16;
    static constexpr uint64_t default_idle_timeout_ns = 300'000'000'000;

    // entries: of the LRU map (one per committed connection).
    static result<std::shared_ptr<ct_map>>
    create(uint32_t entries = default_entries, uint64_t idle_timeout_ns = default_idle_timeout_ns);

    int fd() const { return map_.get(); }
    uint32_t capacity() const { return capacity_; }
    uint64_t idle_timeout_ns() const { return idle_timeout_ns_; }
    // Entries in the map, idle ones included (a walk over the keys: for show, not per packet).
    uint64_t entries() const;
    // The entries not idle at `now`, with their last-used times (a walk over the map).
    std::vector<dp::lb::session_table::live_entry> live_entries(uint64_t now) const;
    // Deletes every entry; returns how many were live at `now`.
    size_t clear(uint64_t now);

    // Hand-off between the trackers when tracking moves between XDP and user space (the table
    // changed, xdp_tables::tracks()): the live connections of one are written into the other,
    // with their last-used times (both clocks are CLOCK_MONOTONIC), so that established
    // connections stay established. Returns how many the other tracker holds now.
    size_t load_from(const dp::lb::session_table& user, uint64_t now);
    size_t store_into(dp::lb::session_table& user, uint64_t now) const;

private:
    ct_map() = default;

    unique_fd map_;
    uint32_t capacity_ = 0;
    uint64_t idle_timeout_ns_ = default_idle_timeout_ns;
};

} // namespace swd::afxdp
