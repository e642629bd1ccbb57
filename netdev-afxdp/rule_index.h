// The XDP dispatcher's rule records and their hash index (bpf/tables.h; layouts and the rules
// for writers in bpf/shared/swd_abi.h): two BPF array maps that swd writes through mmap, so that
// a lookup in XDP is a few array reads instead of the kernel's hash-map code, and a change is a
// record written where no program looks plus one 8-byte slot store.
//
// Open addressing over buckets of SWD_XDP_BUCKET_SLOTS slots (a cache line): a key goes into the
// first free slot of the SWD_XDP_PROBE_BUCKETS buckets from its home, and probe() is how many of
// them a lookup must read (the farthest any key lives now, plus one). With four slots per rule of
// the capacity, a key almost always lives in its home bucket (1M exact 5-tuple rules: probe 2;
// with two slots per rule, linear probing's clusters overran 4 buckets at 830K). Erasing clears
// the slot: lookups read probe() buckets whatever they meet, so no tombstones are needed.
//
// Records are never rewritten while a slot may name them: a changed entry gets a fresh record,
// and a record left behind is retired; retired records are reused only after every program run
// that could still read them has ended (reader_barrier.h). There are spare records beyond the
// capacity for changes in place.
//
// Thread-safety: control thread only. The maps are read by the XDP programs concurrently.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "bpf/shared/swd_abi.h"
#include "datapath/util/result.h"
#include "datapath/util/unique_fd.h"
#include "map_memory.h"
#include "reader_barrier.h"

namespace swd::afxdp {

class rule_index {
public:
    // For capacity rules: capacity + capacity / 4 + 64 records, and at least 4 * capacity slots
    // (a power of two of buckets, at least two). barrier: for the reuse of records.
    static result<std::unique_ptr<rule_index>> create(uint32_t capacity,
                                                      std::shared_ptr<reader_barrier> barrier);
    ~rule_index();
    rule_index(const rule_index&) = delete;
    rule_index& operator=(const rule_index&) = delete;

    int records_fd() const { return records_fd_.get(); }
    int index_fd() const { return index_fd_.get(); }
    uint32_t index_mask() const { return n_buckets_ - 1; }
    uint32_t probe() const; // buckets a lookup reads: 1..SWD_XDP_PROBE_BUCKETS
    size_t size() const { return size_; }
    uint32_t n_records() const { return n_records_; }

    // Makes (mask_id, key) name a record of head: a new entry, or a new record for the entry
    // that exists (one slot store, so a program sees the old head or the new one, whole).
    // errc::limit when no record or no slot within reach of the key's home is free.
    result<void> put(uint32_t mask_id, const swd_flow_key& key, const swd_xdp_rule_head& head) {
        return put(hash(mask_id, key), mask_id, key, head);
    }
    // Removes the entry; false when there is none.
    bool erase(uint32_t mask_id, const swd_flow_key& key) {
        return erase(hash(mask_id, key), mask_id, key);
    }
    // The head that (mask_id, key) names now, read as the program reads it.
    std::optional<swd_xdp_rule_head> find(uint32_t mask_id, const swd_flow_key& key) const;
    // Removes every entry (the caller has switched the search off first).
    void clear();

    // The same with a hash of the caller's choice: the unit tests crowd keys on one bucket and
    // one tag with it (real 64-bit collisions are out of reach).
    result<void> put(uint64_t hash, uint32_t mask_id, const swd_flow_key& key,
                     const swd_xdp_rule_head& head);
    bool erase(uint64_t hash, uint32_t mask_id, const swd_flow_key& key);
    std::optional<swd_xdp_rule_head> find(uint64_t hash, uint32_t mask_id,
                                          const swd_flow_key& key) const;

    static uint64_t hash(uint32_t mask_id, const swd_flow_key& key);

private:
    struct place {
        uint32_t bucket, slot;
    };

    explicit rule_index(uint32_t n_records, std::shared_ptr<reader_barrier> barrier)
        : n_records_(n_records), records_pool_(n_records, std::move(barrier)) {}
    swd_xdp_bucket& bucket(uint32_t b) const { return index_.as<swd_xdp_bucket>()[b]; }
    swd_xdp_rule& record(uint32_t r) const { return records_.as<swd_xdp_rule>()[r]; }
    static uint64_t load(const __u64& slot);
    static void store(__u64& slot, uint64_t value);
    std::optional<place> locate(uint64_t hash, uint32_t mask_id, const swd_flow_key& key) const;

    unique_fd records_fd_, index_fd_;
    map_memory records_, index_;
    uint32_t n_records_ = 0, n_buckets_ = 0;
    size_t size_ = 0;
    std::array<size_t, SWD_XDP_PROBE_BUCKETS> at_distance_{}; // entries by bucket from home
    id_pool records_pool_;
};

} // namespace swd::afxdp
