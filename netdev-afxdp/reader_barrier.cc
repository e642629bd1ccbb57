#include "reader_barrier.h"

extern "C" {
#include <bpf/bpf.h>
}

#include "xdp_tables.h"

namespace swd::afxdp {

result<std::shared_ptr<reader_barrier>> reader_barrier::create() {
    auto inner = create_bpf_map(BPF_MAP_TYPE_ARRAY, "swd_barrier_in", 4, 4, 1);
    if (!inner) {
        return fail(inner.err());
    }
    LIBBPF_OPTS(bpf_map_create_opts, opts, .inner_map_fd = static_cast<__u32>(inner->get()));
    const int outer = bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, "swd_barrier", 4, 4, 1, &opts);
    if (outer < 0) {
        return fail(errno_error(-outer, "create the readers' barrier map"));
    }
    std::shared_ptr<reader_barrier> b(new reader_barrier());
    b->outer_.reset(outer);
    b->inner_ = std::move(*inner);
    return b;
}

void reader_barrier::wait() {
    const uint32_t zero = 0;
    const int inner = inner_.get();
    // Cannot fail once both maps exist (same inner map, valid key).
    (void)bpf_map_update_elem(outer_.get(), &zero, &inner, BPF_ANY);
    passed_++;
}

std::optional<uint32_t> id_pool::take() {
    if (!retired_.empty() && barrier_->passed() > retired_at_) {
        free_.insert(free_.end(), retired_.begin(), retired_.end());
        retired_.clear();
    }
    if (free_.empty() && next_ < limit_) {
        return next_++;
    }
    if (free_.empty() && !retired_.empty()) {
        barrier_->wait();
        free_.swap(retired_);
    }
    if (free_.empty()) {
        return std::nullopt;
    }
    const uint32_t id = free_.back();
    free_.pop_back();
    return id;
}

void id_pool::give_back(uint32_t id, bool listed) {
    if (listed) {
        held_.push_back(id);
        return;
    }
    retired_.push_back(id);
    retired_at_ = barrier_->passed();
}

void id_pool::list_switched() {
    if (!held_.empty()) {
        retired_.insert(retired_.end(), held_.begin(), held_.end());
        held_.clear();
        retired_at_ = barrier_->passed();
    }
}

} // namespace swd::afxdp
