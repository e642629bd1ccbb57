// Waits until every XDP and TC program run that began before has ended, so that user space may
// reuse what those runs could still read (a rule record, a mask list, an action list, a counter
// slot). Programs run inside RCU read-side sections, and the kernel waits for a grace period
// (synchronize_rcu) before an update of a map-in-map returns: wait() is such an update of a map
// of its own. It takes a grace period, ~9 ms on the lab machine: callers retire what they give
// up and wait only when they must reuse it (passed() tells whether a wait has ended since).
//
// Thread-safety: control thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "datapath/util/result.h"
#include "datapath/util/unique_fd.h"

namespace swd::afxdp {

class reader_barrier {
public:
    static result<std::shared_ptr<reader_barrier>> create();

    void wait();
    // Waits ended so far: what was retired when passed() was n is free once passed() > n.
    uint64_t passed() const { return passed_; }

private:
    reader_barrier() = default;
    unique_fd outer_, inner_;
    uint64_t passed_ = 0;
};

// Numbers 0..limit-1 (counter slots, action lists) that programs find through the maps: a
// number given up is retired, and taken again only after a wait of the barrier; one that the
// active mask list names (a rule alone in its mask) is held until the list is switched out.
class id_pool {
public:
    id_pool(uint32_t limit, std::shared_ptr<reader_barrier> barrier)
        : limit_(limit), barrier_(std::move(barrier)) {}

    // A number that no program run reads: given up before a wait that has ended, else never
    // used, else one retired (after a wait). std::nullopt when all limit numbers are in use.
    std::optional<uint32_t> take();
    // listed: the active mask list names it.
    void give_back(uint32_t id, bool listed = false);
    // A new mask list is active: the held numbers are named only by runs that began before.
    void list_switched();

private:
    uint32_t limit_;
    std::shared_ptr<reader_barrier> barrier_;
    uint32_t next_ = 0; // never used: next_..limit_-1
    std::vector<uint32_t> free_, retired_, held_;
    uint64_t retired_at_ = 0; // barrier_->passed() when the last of retired_ was given up
};

} // namespace swd::afxdp
