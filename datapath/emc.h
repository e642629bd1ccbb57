// Exact-match cache: one datapath thread's memory of which table-0 rule recent flows hit.
//
// Direct-mapped on the hash of the whole key; an entry is valid only for the pipeline version it
// was filled under (rule pointers belong to that pipeline), so a new table version invalidates the
// cache without touching it. A hit costs one hash, one 64-byte compare and one version compare,
// against one hash and probe per subtable for the classifier. Single thread; no allocation after
// construction.
#pragma once

#include <cstdint>
#include <memory>

#include "classifier.h"

namespace swd::dp {

class exact_match_cache {
public:
    static constexpr size_t entries = 4096;

    exact_match_cache() : slots_(std::make_unique<slot[]>(entries)) {}

    static uint64_t hash(const flow_key& k) noexcept { return hash_words(k.w, key_words); }

    // Brings in the slot of hash h (a batch prefetches every slot before its first find).
    void prefetch(uint64_t h) const noexcept {
        const slot& s = slots_[h & (entries - 1)];
        __builtin_prefetch(&s);
        __builtin_prefetch(reinterpret_cast<const char*>(&s + 1) - 1); // a slot spans two lines
    }

    const compiled_rule* find(const flow_key& k, uint64_t h, uint64_t version,
                              const subtable** owner) const noexcept {
        const slot& s = slots_[h & (entries - 1)];
        if (s.version != version || s.hash != h || !(s.key == k)) {
            return nullptr;
        }
        *owner = s.owner;
        return s.rule;
    }

    void insert(const flow_key& k, uint64_t h, uint64_t version, const compiled_rule* r,
                const subtable* owner) noexcept {
        slot& s = slots_[h & (entries - 1)];
        s.key = k;
        s.hash = h;
        s.version = version;
        s.rule = r;
        s.owner = owner;
    }

private:
    struct slot {
        flow_key key;
        uint64_t hash = 0;
        uint64_t version = UINT64_MAX; // never a real version: empty
        const compiled_rule* rule = nullptr;
        const subtable* owner = nullptr;
    };
    std::unique_ptr<slot[]> slots_;
};

} // namespace swd::dp
