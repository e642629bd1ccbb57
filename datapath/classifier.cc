#include "classifier.h"

#include <algorithm>
#include <bit>

namespace swd::dp {

std::shared_ptr<const subtable> subtable::build(uint16_t table, const flow_key& mask,
                                                std::span<const subtable_rule> rules) {
    std::shared_ptr<subtable> st(new subtable());
    st->mask_ = mask;
    st->table_ = table;
    for (unsigned i = 0; i < key_words; i++) {
        if (mask.w[i] != 0) {
            st->words_[st->n_words_++] = static_cast<uint8_t>(i);
        }
    }

    // Load factor <= 0.5 keeps probe sequences short.
    size_t n_slots = std::bit_ceil(std::max<size_t>(8, rules.size() * 2));
    st->slots_.assign(n_slots, 0);
    st->slot_mask_ = n_slots - 1;
    st->keys_.reserve(rules.size() * st->n_words_);
    st->rules_.reserve(rules.size());

    size_t total_actions = 0;
    st->tracks_ = mask.f.ct_state != 0;
    for (const auto& r : rules) {
        total_actions += r.actions.size();
        for (const swd_action& a : r.actions) {
            st->tracks_ |= a.type == SWD_ACT_CT_COMMIT;
        }
    }
    st->actions_.reserve(total_actions);

    uint64_t key[key_words];
    for (const auto& r : rules) {
        for (unsigned i = 0; i < st->n_words_; i++) {
            key[i] = r.value.w[st->words_[i]];
        }
        uint64_t h = hash_words(key, st->n_words_);
        compiled_rule cr{r.rule_id,
                         r.priority,
                         table,
                         static_cast<uint32_t>(st->actions_.size()),
                         static_cast<uint16_t>(r.actions.size()),
                         r.xdp};
        uint64_t tag = h & 0xffffffff00000000ULL;
        size_t pos = h & st->slot_mask_;
        for (;; pos = (pos + 1) & st->slot_mask_) {
            uint64_t slot = st->slots_[pos];
            if (slot == 0) {
                st->slots_[pos] = tag | (st->rules_.size() + 1);
                st->keys_.insert(st->keys_.end(), key, key + st->n_words_);
                st->rules_.push_back(cr);
                st->actions_.insert(st->actions_.end(), r.actions.begin(), r.actions.end());
                break;
            }
            if ((slot & 0xffffffff00000000ULL) != tag) {
                continue;
            }
            size_t e = (slot & 0xffffffffULL) - 1;
            if (!std::equal(key, key + st->n_words_, st->keys_.begin() + e * st->n_words_)) {
                continue;
            }
            // Same masked key: keep the better rule. Its actions are appended (the loser's
            // stay unused in the store; duplicates are rare).
            if (outranks(cr, st->rules_[e])) {
                st->rules_[e] = cr;
                st->actions_.insert(st->actions_.end(), r.actions.begin(), r.actions.end());
            }
            break;
        }
    }
    for (const auto& cr : st->rules_) {
        st->max_priority_ = std::max(st->max_priority_, cr.priority);
    }
    return st;
}

const compiled_rule* subtable::find(const uint64_t* masked, uint64_t hash) const noexcept {
    const uint64_t tag = hash & 0xffffffff00000000ULL;
    for (size_t pos = hash & slot_mask_;; pos = (pos + 1) & slot_mask_) {
        uint64_t slot = slots_[pos];
        if (slot == 0) {
            return nullptr;
        }
        if ((slot & 0xffffffff00000000ULL) != tag) {
            continue;
        }
        size_t e = (slot & 0xffffffffULL) - 1;
        const uint64_t* k = keys_.data() + e * n_words_;
        bool same = true;
        for (unsigned i = 0; i < n_words_; i++) {
            same &= k[i] == masked[i];
        }
        if (same) {
            return &rules_[e];
        }
    }
}

size_t subtable::memory_bytes() const noexcept {
    return sizeof(*this) + slots_.capacity() * sizeof(uint64_t) +
           keys_.capacity() * sizeof(uint64_t) + rules_.capacity() * sizeof(compiled_rule) +
           actions_.capacity() * sizeof(swd_action);
}

void classifier::lookup_batch(const flow_key* const* keys, size_t n, const compiled_rule** rules,
                              const subtable** owners) const noexcept {
    uint64_t masked[max_lookup_batch][key_words];
    uint64_t hashes[max_lookup_batch];
    uint8_t todo[max_lookup_batch]; // the keys that the current subtable may still change
    for (size_t i = 0; i < n; i++) {
        rules[i] = nullptr;
        owners[i] = nullptr;
    }
    for (const auto& st : subtables_) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++) {
            if (!rules[i] || rules[i]->priority <= st->max_priority()) {
                todo[m++] = static_cast<uint8_t>(i);
            }
        }
        if (m == 0) {
            break;
        }
        for (size_t j = 0; j < m; j++) {
            const size_t i = todo[j];
            hashes[i] = st->hash_masked(*keys[i], masked[i]);
            st->prefetch_slot(hashes[i]);
        }
        if (m > 1) { // for one key the prefetches would wait for the loads they precede
            for (size_t j = 0; j < m; j++) {
                st->prefetch_entry(hashes[todo[j]]);
            }
        }
        for (size_t j = 0; j < m; j++) {
            const size_t i = todo[j];
            const compiled_rule* r = st->find(masked[i], hashes[i]);
            if (r && (!rules[i] || outranks(*r, *rules[i]))) {
                rules[i] = r;
                owners[i] = st.get();
            }
        }
    }
}

classifier::classifier(std::vector<std::shared_ptr<const subtable>> subtables)
    : subtables_(std::move(subtables)) {
    // Ties in max priority are ordered by the mask bytes, so that every build of the same rules
    // visits subtables in the same order.
    std::stable_sort(subtables_.begin(), subtables_.end(), [](const auto& a, const auto& b) {
        if (a->max_priority() != b->max_priority()) {
            return a->max_priority() > b->max_priority();
        }
        return std::memcmp(a->mask().w, b->mask().w, sizeof a->mask().w) < 0;
    });
}

size_t classifier::n_rules() const noexcept {
    size_t n = 0;
    for (const auto& st : subtables_) {
        n += st->size();
    }
    return n;
}

size_t pipeline::n_subtables() const noexcept {
    size_t n = 0;
    for (const auto& t : tables) {
        n += t.subtables().size();
    }
    return n;
}

size_t pipeline::memory_bytes() const noexcept {
    size_t n = sizeof(*this);
    for (const auto& t : tables) {
        for (const auto& st : t.subtables()) {
            n += st->memory_bytes();
        }
    }
    return n;
}

} // namespace swd::dp
