#include "adaptive.h"

#include <algorithm>

namespace swd::flows {

adaptive_policy::step adaptive_policy::observe(uint64_t received, uint64_t dropped,
                                               bool any_offloaded) {
    if (received < opts_.min_packets) {
        share_ = -1;
        high_ = low_ = 0;
        return step::none;
    }
    share_ = static_cast<double>(std::min(dropped, received)) / static_cast<double>(received);
    if (share_ >= opts_.offload_share) {
        low_ = 0;
        high_++;
        if (high_ == 1) {
            return step::sample;
        }
        return (high_ - 1) % opts_.sustain == 0 ? step::offload : step::none;
    }
    high_ = 0;
    if (share_ >= opts_.return_share) {
        low_ = 0;
        return step::none;
    }
    low_++;
    if (low_ >= opts_.sustain && any_offloaded) {
        low_ = 0;
        return step::take_back;
    }
    return step::none;
}

std::vector<uint32_t> hottest(std::span<const std::pair<uint32_t, uint64_t>> hits, size_t n) {
    std::vector<std::pair<uint32_t, uint64_t>> moved;
    for (const auto& h : hits) {
        if (h.second) {
            moved.push_back(h);
        }
    }
    n = std::min(n, moved.size());
    auto more = [](const auto& a, const auto& b) {
        return a.second != b.second ? a.second > b.second : a.first < b.first;
    };
    std::partial_sort(moved.begin(), moved.begin() + static_cast<ptrdiff_t>(n), moved.end(), more);
    std::vector<uint32_t> ids(n);
    for (size_t i = 0; i < n; i++) {
        ids[i] = moved[i].first;
    }
    return ids;
}

} // namespace swd::flows
