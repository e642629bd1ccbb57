// Publication of compiled pipelines to datapath threads, without locks on their side.
//
// The control thread publishes a new pipeline with one atomic pointer store. A datapath thread
// calls enter() before it classifies a batch and leave() when the batch is done (and before it
// blocks in poll()); between the two it may use the pipeline enter() returned. enter() announces
// the version it took in a per-thread slot and re-reads the pointer, so a publish that races with
// it is either seen or waits for it (the hazard-pointer pattern). The control thread frees a
// pipeline once no slot announces its version or an older one; it never frees the current one.
//
// Thread-safety: publish(), collect() and retired_version() on the control thread only;
// enter(i)/leave(i) on datapath thread i only.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>

#include "classifier.h"

namespace swd::dp {

class pipeline_publisher {
public:
    explicit pipeline_publisher(size_t max_threads);

    void publish(std::shared_ptr<const pipeline> p);
    // Frees pipelines that no thread can still hold.
    void collect();
    // Every version <= the result is held by no thread (so ids freed by them may be reused).
    uint64_t retired_version() const;

    const pipeline* enter(size_t thread) noexcept {
        auto& slot = slots_[thread].version;
        for (;;) {
            const pipeline* p = current_.load(std::memory_order_acquire);
            slot.store(p->version, std::memory_order_seq_cst);
            if (current_.load(std::memory_order_seq_cst) == p) {
                return p;
            }
        }
    }
    void leave(size_t thread) noexcept {
        slots_[thread].version.store(idle, std::memory_order_release);
    }

private:
    static constexpr uint64_t idle = UINT64_MAX;
    uint64_t oldest_held() const;

    struct alignas(64) slot {
        std::atomic<uint64_t> version{idle};
    };
    std::unique_ptr<slot[]> slots_;
    size_t n_slots_;
    std::atomic<const pipeline*> current_{nullptr};
    std::deque<std::shared_ptr<const pipeline>> held_; // published, not yet freed; back = current
};

} // namespace swd::dp
