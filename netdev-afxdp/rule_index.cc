#include "rule_index.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <cstring>
#include <fmt/format.h>

#include "xdp_tables.h"

extern "C" {
#include <bpf/bpf.h>
}

namespace swd::afxdp {

static_assert(sizeof(swd_xdp_rule) == 88);
static_assert(sizeof(swd_xdp_bucket) == 64);
static_assert(std::atomic_ref<__u64>::is_always_lock_free);

result<std::unique_ptr<rule_index>> rule_index::create(uint32_t capacity,
                                                       std::shared_ptr<reader_barrier> barrier) {
    std::unique_ptr<rule_index> t(new rule_index(capacity + capacity / 4 + 64, std::move(barrier)));
    t->n_buckets_ = std::bit_ceil(std::max<uint32_t>(2, capacity / (SWD_XDP_BUCKET_SLOTS / 4)));
    auto records = create_bpf_map(BPF_MAP_TYPE_ARRAY, "swd_rules", 4, sizeof(swd_xdp_rule),
                                  t->n_records_, BPF_F_MMAPABLE);
    auto index = create_bpf_map(BPF_MAP_TYPE_ARRAY, "swd_rule_index", 4, sizeof(swd_xdp_bucket),
                                t->n_buckets_, BPF_F_MMAPABLE);
    for (auto* m : {&records, &index}) {
        if (!*m) {
            return fail(m->err());
        }
    }
    t->records_fd_ = std::move(*records);
    t->index_fd_ = std::move(*index);
    auto records_memory = map_memory::map(
        t->records_fd_.get(), size_t{t->n_records_} * sizeof(swd_xdp_rule), "the XDP rule records");
    auto index_memory = map_memory::map(
        t->index_fd_.get(), size_t{t->n_buckets_} * sizeof(swd_xdp_bucket), "the XDP rule index");
    for (auto* m : {&records_memory, &index_memory}) {
        if (!*m) {
            return fail(m->err());
        }
    }
    t->records_ = std::move(*records_memory);
    t->index_ = std::move(*index_memory);
    return t;
}

rule_index::~rule_index() = default;

uint64_t rule_index::hash(uint32_t mask_id, const swd_flow_key& key) {
    __u64 words[SWD_FLOW_KEY_WORDS];
    std::memcpy(words, &key, sizeof words);
    return swd_rule_hash(mask_id, words);
}

uint64_t rule_index::load(const __u64& slot) {
    return std::atomic_ref<__u64>(const_cast<__u64&>(slot)).load(std::memory_order_acquire);
}

void rule_index::store(__u64& slot, uint64_t value) {
    // Release: the record that the slot names is written before a program can see the slot.
    std::atomic_ref<__u64>(slot).store(value, std::memory_order_release);
}

uint32_t rule_index::probe() const {
    uint32_t d = SWD_XDP_PROBE_BUCKETS;
    while (d > 1 && at_distance_[d - 1] == 0) {
        d--;
    }
    return d;
}

std::optional<rule_index::place> rule_index::locate(uint64_t hash, uint32_t mask_id,
                                                    const swd_flow_key& key) const {
    const auto tag = static_cast<uint32_t>(hash >> 32);
    for (uint32_t p = 0; p < probe(); p++) {
        const uint32_t b = (static_cast<uint32_t>(hash) + p) & index_mask();
        for (uint32_t s = 0; s < SWD_XDP_BUCKET_SLOTS; s++) {
            const uint64_t v = load(bucket(b).slot[s]);
            const auto rec = static_cast<uint32_t>(v);
            if (rec == 0 || static_cast<uint32_t>(v >> 32) != tag) {
                continue;
            }
            const swd_xdp_rule& r = record(rec - 1);
            if (r.mask_id == mask_id && std::memcmp(&r.masked, &key, sizeof key) == 0) {
                return place{b, s};
            }
        }
    }
    return std::nullopt;
}

result<void> rule_index::put(uint64_t hash, uint32_t mask_id, const swd_flow_key& key,
                             const swd_xdp_rule_head& head) {
    const auto existing = locate(hash, mask_id, key);
    std::optional<place> free_slot;
    uint32_t distance = 0;
    for (uint32_t p = 0; !existing && !free_slot && p < SWD_XDP_PROBE_BUCKETS; p++) {
        const uint32_t b = (static_cast<uint32_t>(hash) + p) & index_mask();
        for (uint32_t s = 0; s < SWD_XDP_BUCKET_SLOTS; s++) {
            if (static_cast<uint32_t>(load(bucket(b).slot[s])) == 0) {
                free_slot = place{b, s};
                distance = p;
                break;
            }
        }
    }
    if (!existing && !free_slot) {
        return fail(errc::limit, fmt::format("the XDP rule index has no free slot within {} "
                                             "buckets of a key's home ({} rules in {} slots)",
                                             SWD_XDP_PROBE_BUCKETS, size_,
                                             size_t{n_buckets_} * SWD_XDP_BUCKET_SLOTS));
    }
    const auto rec = records_pool_.take();
    if (!rec) {
        return fail(errc::limit,
                    fmt::format("the XDP rule records are all in use ({})", n_records_));
    }
    swd_xdp_rule& r = record(*rec);
    r = swd_xdp_rule{};
    r.h = head;
    r.masked = key;
    r.mask_id = mask_id;
    const place at = existing ? *existing : *free_slot;
    __u64& slot = bucket(at.bucket).slot[at.slot];
    const uint64_t before = load(slot);
    store(slot, (hash >> 32) << 32 | (uint64_t{*rec} + 1));
    if (existing) {
        records_pool_.give_back(static_cast<uint32_t>(before) - 1);
    } else {
        at_distance_[distance]++;
        size_++;
    }
    return {};
}

bool rule_index::erase(uint64_t hash, uint32_t mask_id, const swd_flow_key& key) {
    const auto at = locate(hash, mask_id, key);
    if (!at) {
        return false;
    }
    __u64& slot = bucket(at->bucket).slot[at->slot];
    records_pool_.give_back(static_cast<uint32_t>(load(slot)) - 1);
    store(slot, 0);
    at_distance_[(at->bucket - static_cast<uint32_t>(hash)) & index_mask()]--;
    size_--;
    return true;
}

std::optional<swd_xdp_rule_head> rule_index::find(uint64_t hash, uint32_t mask_id,
                                                  const swd_flow_key& key) const {
    const auto at = locate(hash, mask_id, key);
    if (!at) {
        return std::nullopt;
    }
    return record(static_cast<uint32_t>(load(bucket(at->bucket).slot[at->slot])) - 1).h;
}

std::optional<swd_xdp_rule_head> rule_index::find(uint32_t mask_id, const swd_flow_key& key) const {
    return find(hash(mask_id, key), mask_id, key);
}

void rule_index::clear() {
    for (uint32_t b = 0; b < n_buckets_; b++) {
        for (__u64& slot : bucket(b).slot) {
            if (const uint64_t v = load(slot); static_cast<uint32_t>(v) != 0) {
                records_pool_.give_back(static_cast<uint32_t>(v) - 1);
                store(slot, 0);
            }
        }
    }
    at_distance_ = {};
    size_ = 0;
}

} // namespace swd::afxdp
