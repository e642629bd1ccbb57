// The load balancer's BPF maps (bpf/lb.h, layouts in bpf/shared/swd_abi.h), shared by the XDP
// dispatcher of every port, and the writer that keeps their pools equal to the pipeline's.
//
// Pools with an id below SWD_LB_XDP_MAX_POOLS are written; the placement step keeps lb() rules of
// other pools in user space. A changed pool's Maglev table and backend list go to the half of its
// slots that is not in use, then one update of the pool's entry switches `active` to it: a packet
// reads `active` once and finds a table whose backend indexes belong to the list beside it. A half
// that was in use is rewritten only after every program run that began on it has ended
// (reader_barrier.h: a wait when a pool changes twice within a grace period). The session map (an
// LRU hash) outlives every pipeline and every move of the rule maps to larger ones
// (xdp_tables::create takes the same lb_maps), so established sessions keep their backend.
//
// Thread-safety: control thread only; the maps are read and the sessions written by XDP programs.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>

#include "datapath/lb/pool.h"
#include "datapath/util/result.h"
#include "datapath/util/unique_fd.h"
#include "reader_barrier.h"

namespace swd::afxdp {

class lb_maps {
public:
    static constexpr uint32_t default_sessions = 1u << 16;
    static constexpr uint64_t default_idle_timeout_ns = 300'000'000'000;

    // sessions: entries of the LRU session map (two per session).
    static result<std::shared_ptr<lb_maps>>
    create(uint32_t sessions = default_sessions,
           uint64_t idle_timeout_ns = default_idle_timeout_ns);

    // Writes the pools (indexed by id, as dp::pipeline::pools) that changed since the last call.
    result<void> sync(std::span<const std::shared_ptr<const dp::lb::compiled_pool>> pools);

    int pools_fd() const { return pools_.get(); }
    int maglev_fd() const { return maglev_.get(); }
    int backends_fd() const { return backends_.get(); }
    int sessions_fd() const { return sessions_.get(); }

private:
    lb_maps() = default;
    result<void> write_pool(uint32_t id, const dp::lb::compiled_pool* p);

    unique_fd pools_, maglev_, backends_, sessions_;
    uint64_t idle_timeout_ns_ = default_idle_timeout_ns;
    std::array<std::shared_ptr<const dp::lb::compiled_pool>, SWD_LB_XDP_MAX_POOLS> installed_{};
    std::array<uint32_t, SWD_LB_XDP_MAX_POOLS> active_{}; // the half in use, per pool id
    std::shared_ptr<reader_barrier> barrier_;
    // barrier_->passed() when each half of each pool was last switched out (nothing: never).
    std::array<std::array<std::optional<uint64_t>, 2>, SWD_LB_XDP_MAX_POOLS> left_at_{};
};

} // namespace swd::afxdp
