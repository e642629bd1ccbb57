#include "publisher.h"

#include <algorithm>

namespace swd::dp {

pipeline_publisher::pipeline_publisher(size_t max_threads)
    : slots_(std::make_unique<slot[]>(max_threads)), n_slots_(max_threads) {
    publish(std::make_shared<pipeline>());
}

void pipeline_publisher::publish(std::shared_ptr<const pipeline> p) {
    current_.store(p.get(), std::memory_order_seq_cst);
    held_.push_back(std::move(p));
    collect();
}

uint64_t pipeline_publisher::oldest_held() const {
    uint64_t oldest = held_.back()->version;
    for (size_t i = 0; i < n_slots_; i++) {
        oldest = std::min(oldest, slots_[i].version.load(std::memory_order_seq_cst));
    }
    return oldest;
}

void pipeline_publisher::collect() {
    const uint64_t oldest = oldest_held();
    while (held_.size() > 1 && held_.front()->version < oldest) {
        held_.pop_front();
    }
}

uint64_t pipeline_publisher::retired_version() const {
    const uint64_t oldest = oldest_held();
    return oldest == 0 ? 0 : oldest - 1;
}

} // namespace swd::dp
