// The compiled rule table: the one form that both the user-space datapath and the XDP dispatcher
// execute.
//
// A pipeline holds one classifier per OpenFlow table. A classifier is a tuple-space search: one
// subtable per distinct mask, each an open-addressing hash table from masked key to the best rule
// with that masked key (priority, rule id, action list). Subtables are ordered by their highest
// priority, so a lookup stops as soon as the best rule found so far outranks every rule of the
// remaining subtables (priority-based early exit). Rank: higher priority first, then lower rule id;
// the XDP program applies the same order.
//
// Subtables store only the mask's non-zero words of each key (a 5-tuple rule keeps 3 of 8 words),
// so a lookup touches few cache lines.
//
// Everything here is immutable once built and shared by shared_ptr: a new table version reuses the
// subtables whose rules did not change. Readers (datapath threads) need no locks; the control
// plane publishes a new pipeline by pointer swap.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "flow_key.h"
#include "lb/pool.h"

namespace swd::dp {

// What a lookup returns: the winning rule of one table.
struct compiled_rule {
    uint32_t rule_id;
    uint16_t priority;
    uint16_t table;
    uint32_t first_action; // index into the subtable's action store
    uint16_t n_actions;
    bool xdp; // placed in the XDP dispatcher (flows/placement.h); user space runs it regardless
};

inline bool outranks(const compiled_rule& a, const compiled_rule& b) noexcept {
    return a.priority != b.priority ? a.priority > b.priority : a.rule_id < b.rule_id;
}

// Input to subtable::build: one rule of that mask.
struct subtable_rule {
    flow_key value; // already masked
    uint32_t rule_id;
    uint16_t priority;
    std::span<const swd_action> actions;
    bool xdp = false;
};

class subtable {
public:
    // Builds the hash table; when several rules share a masked key only the best one is kept
    // (the others can never win a lookup). Allocates; control plane only.
    static std::shared_ptr<const subtable> build(uint16_t table, const flow_key& mask,
                                                 std::span<const subtable_rule> rules);

    const compiled_rule* lookup(const flow_key& k) const noexcept {
        uint64_t masked[key_words];
        return find(masked, hash_masked(k, masked));
    }

    // lookup() in three steps, for a batch of keys whose memory accesses overlap
    // (classifier::lookup_batch): hash_masked() writes k's masked words and returns their hash;
    // prefetch_slot() and prefetch_entry(), called for every key of the batch before the next
    // step, bring in the key's home slot and then the entry that slot names; find() compares.
    uint64_t hash_masked(const flow_key& k, uint64_t* masked) const noexcept {
        for (unsigned i = 0; i < n_words_; i++) {
            masked[i] = k.w[words_[i]] & mask_.w[words_[i]];
        }
        return hash_words(masked, n_words_);
    }
    void prefetch_slot(uint64_t hash) const noexcept {
        __builtin_prefetch(&slots_[hash & slot_mask_]);
    }
    void prefetch_entry(uint64_t hash) const noexcept {
        const uint64_t slot = slots_[hash & slot_mask_];
        if (slot != 0 && (slot & 0xffffffff00000000ULL) == (hash & 0xffffffff00000000ULL)) {
            const size_t e = (slot & 0xffffffffULL) - 1;
            __builtin_prefetch(keys_.data() + e * n_words_);
            __builtin_prefetch(&rules_[e]);
        }
    }
    const compiled_rule* find(const uint64_t* masked, uint64_t hash) const noexcept;

    std::span<const swd_action> actions(const compiled_rule& r) const noexcept {
        return {actions_.data() + r.first_action, r.n_actions};
    }

    const flow_key& mask() const noexcept { return mask_; }
    uint16_t table() const noexcept { return table_; }
    uint16_t max_priority() const noexcept { return max_priority_; }
    // A rule matches ct_state or commits connections (datapath/conntrack.h).
    bool tracks() const noexcept { return tracks_; }
    size_t size() const noexcept { return rules_.size(); }
    size_t memory_bytes() const noexcept;

    // Visits every entry with its full masked key (for writing BPF maps, dumps and tests).
    template <class Fn>
    void for_each(Fn&& fn) const {
        for (size_t e = 0; e < rules_.size(); e++) {
            flow_key k;
            for (unsigned i = 0; i < n_words_; i++) {
                k.w[words_[i]] = keys_[e * n_words_ + i];
            }
            fn(k, rules_[e], actions(rules_[e]));
        }
    }

private:
    subtable() = default;

    flow_key mask_;
    uint16_t table_ = 0;
    uint16_t max_priority_ = 0;
    bool tracks_ = false;
    unsigned n_words_ = 0;
    uint8_t words_[key_words] = {}; // indexes of the mask's non-zero words
    uint64_t slot_mask_ = 0;
    // Open addressing with linear probing. A slot is (hash >> 32) << 32 | (entry index + 1);
    // 0 is empty. The stored hash half skips most key compares.
    std::vector<uint64_t> slots_;
    std::vector<uint64_t> keys_; // n_words_ per entry
    std::vector<compiled_rule> rules_;
    std::vector<swd_action> actions_;
};

// One OpenFlow table.
class classifier {
public:
    classifier() = default;
    explicit classifier(std::vector<std::shared_ptr<const subtable>> subtables);

    // The best rule matching k in this table, or nullptr. *owner receives the subtable that holds
    // it (for its actions). No allocation, no lock.
    const compiled_rule* lookup(const flow_key& k, const subtable** owner) const noexcept {
        const compiled_rule* best = nullptr;
        const subtable* best_st = nullptr;
        for (const auto& st : subtables_) {
            if (best && best->priority > st->max_priority()) {
                break;
            }
            const compiled_rule* r = st->lookup(k);
            if (r && (!best || outranks(*r, *best))) {
                best = r;
                best_st = st.get();
            }
        }
        *owner = best_st;
        return best;
    }

    // lookup() of n keys at once (n <= max_lookup_batch): rules[i] and owners[i] for keys[i]. The
    // same winners, with the cache misses of a batch overlapped: subtable by subtable, every key
    // that still needs it is hashed and its slot prefetched, then the entries that the slots
    // name are prefetched, then compared (OVS's dpcls does the same per subtable).
    static constexpr size_t max_lookup_batch = 64;
    void lookup_batch(const flow_key* const* keys, size_t n, const compiled_rule** rules,
                      const subtable** owners) const noexcept;

    std::span<const std::shared_ptr<const subtable>> subtables() const noexcept {
        return subtables_;
    }
    size_t n_rules() const noexcept;

private:
    std::vector<std::shared_ptr<const subtable>> subtables_; // by max_priority, descending
};

// A rule of table 0 that asks for its flows on one receive queue (flows/rule.h, steering_queue):
// the datapath programs the NIC's ntuple filters or falls back to the XDP search.
struct steering_request {
    uint32_t rule_id = 0;
    uint16_t queue = 0;
    flow_match match;

    friend bool operator==(const steering_request&, const steering_request&) noexcept = default;
};

// The whole compiled table: classifiers indexed by OpenFlow table id, the load-balancer pools
// that lb() actions name, and the steering requests.
struct pipeline {
    uint64_t version = 0;
    std::vector<classifier> tables;                              // size = highest table in use + 1
    std::vector<std::shared_ptr<const lb::compiled_pool>> pools; // by pool id; null: none
    bool tracks = false; // a subtable tracks(): packets get ct_state before table 0
    // By rule id; shared between versions while no request changes. Never null.
    std::shared_ptr<const std::vector<steering_request>> steering =
        std::make_shared<const std::vector<steering_request>>();

    const classifier* table(unsigned id) const noexcept {
        return id < tables.size() ? &tables[id] : nullptr;
    }
    const lb::compiled_pool* pool(uint16_t id) const noexcept {
        return id < pools.size() ? pools[id].get() : nullptr;
    }
    size_t n_subtables() const noexcept;
    size_t memory_bytes() const noexcept;
};

} // namespace swd::dp
