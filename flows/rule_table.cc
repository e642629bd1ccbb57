#include "rule_table.h"

#include <algorithm>
#include <fmt/format.h>

#include "values.h"

namespace swd::flows {

bool rule::same_content(const rule& o) const noexcept {
    return cookie == o.cookie && idle_timeout == o.idle_timeout && hard_timeout == o.hard_timeout &&
           place == o.place && queue == o.queue && actions.size() == o.actions.size() &&
           std::equal(actions.begin(), actions.end(), o.actions.begin(),
                      [](const swd_action& a, const swd_action& b) {
                          return std::memcmp(&a, &b, sizeof a) == 0;
                      });
}

std::optional<uint16_t> rule::steering_queue() const noexcept {
    if (queue || table != 0) {
        return queue;
    }
    for (const swd_action& a : actions) {
        if (a.type == SWD_ACT_SET_QUEUE) {
            return a.arg;
        }
    }
    return std::nullopt;
}

std::vector<const rule*> table_snapshot::sorted() const {
    std::vector<const rule*> out;
    out.reserve(n_rules);
    for_each([&](const rule& r) { out.push_back(&r); });
    std::sort(out.begin(), out.end(), [](const rule* a, const rule* b) {
        if (a->table != b->table) {
            return a->table < b->table;
        }
        if (a->priority != b->priority) {
            return a->priority > b->priority;
        }
        return a->id < b->id;
    });
    return out;
}

// Open-addressing set of rule ids keyed by identity (table, priority, match). A slot is
// hash32 << 32 | id; 0 is empty (id 0 is never used). Deletion shifts entries back, so there
// are no tombstones.
class rule_table::identity_index {
public:
    static uint32_t hash(const rule& r) {
        return static_cast<uint32_t>(
            dp::hash_words(r.match.value.w, dp::key_words,
                           dp::hash_words(r.match.mask.w, dp::key_words,
                                          static_cast<uint64_t>(r.priority) << 8 | r.table)));
    }

    template <class Get>
    uint32_t find(const rule& probe, uint32_t h, Get&& get) const {
        if (slots_.empty()) {
            return 0;
        }
        for (size_t i = h & mask_;; i = (i + 1) & mask_) {
            uint64_t s = slots_[i];
            if (s == 0) {
                return 0;
            }
            if (static_cast<uint32_t>(s >> 32) == h) {
                uint32_t id = static_cast<uint32_t>(s);
                if (get(id)->same_identity(probe)) {
                    return id;
                }
            }
        }
    }

    void insert(uint32_t id, uint32_t h) {
        if ((size_ + 1) * 2 > slots_.size()) {
            grow();
        }
        place(static_cast<uint64_t>(h) << 32 | id);
        size_++;
    }

    void erase(uint32_t id, uint32_t h) {
        size_t i = h & mask_;
        while (slots_[i] != (static_cast<uint64_t>(h) << 32 | id)) {
            i = (i + 1) & mask_;
        }
        size_t j = i;
        while (true) {
            j = (j + 1) & mask_;
            if (slots_[j] == 0) {
                break;
            }
            size_t k = static_cast<uint32_t>(slots_[j] >> 32) & mask_;
            // Move slot j back to i unless its home k lies cyclically in (i, j].
            bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
            if (!stays) {
                slots_[i] = slots_[j];
                i = j;
            }
        }
        slots_[i] = 0;
        size_--;
    }

private:
    void place(uint64_t s) {
        size_t i = static_cast<uint32_t>(s >> 32) & mask_;
        while (slots_[i] != 0) {
            i = (i + 1) & mask_;
        }
        slots_[i] = s;
    }
    void grow() {
        std::vector<uint64_t> old = std::move(slots_);
        slots_.assign(std::max<size_t>(64, old.size() * 2), 0);
        mask_ = slots_.size() - 1;
        for (uint64_t s : old) {
            if (s) {
                place(s);
            }
        }
    }

    std::vector<uint64_t> slots_;
    size_t mask_ = 0;
    size_t size_ = 0;
};

rule_table::rule_table(size_t max_rules)
    : max_rules_(max_rules), index_(std::make_unique<identity_index>()) {
    publish();
}

rule_table::~rule_table() = default;

const rule* rule_table::get(uint32_t id) const {
    return (*chunks_[id / rule_chunk_size])[id % rule_chunk_size].get();
}

uint32_t rule_table::find_identity(const rule& r) const {
    return find_identity(r, identity_index::hash(r));
}

uint32_t rule_table::find_identity(const rule& r, uint32_t hash) const {
    return index_->find(r, hash, [this](uint32_t id) { return get(id); });
}

uint32_t rule_table::identity_hash(const rule& r) {
    return identity_index::hash(r);
}

void rule_table::store(uint32_t id, std::shared_ptr<const rule> r) {
    size_t c = id / rule_chunk_size;
    if (chunks_.size() <= c) {
        chunks_.resize(c + 1);
    }
    auto& chunk = chunks_[c];
    if (!chunk) {
        chunk = std::make_shared<rule_chunk>();
    } else if (chunk.use_count() > 1) {
        // A published snapshot shares this chunk: copy before writing. Only this thread makes
        // new references, so a count of 1 cannot be stale.
        chunk = std::make_shared<rule_chunk>(*chunk);
    }
    (*chunk)[id % rule_chunk_size] = std::move(r);
}

uint32_t rule_table::allocate_id() {
    if (!free_ids_.empty()) {
        uint32_t id = free_ids_.back();
        free_ids_.pop_back();
        return id;
    }
    return next_id_++;
}

void rule_table::insert(rule r, clock::time_point now, uint32_t h) {
    r.id = allocate_id();
    r.created = r.modified = now;
    n_timed_ += (r.idle_timeout || r.hard_timeout) ? 1 : 0;
    const uint32_t id = r.id;
    auto p = std::make_shared<const rule>(std::move(r));
    compiler_.insert(*p);
    index_->insert(id, h);
    born_.push_back(id);
    store(id, std::move(p));
    n_rules_++;
}

// Same identity, new content.
void rule_table::replace_rule(uint32_t id, rule r) {
    const rule* old = get(id);
    n_timed_ -= (old->idle_timeout || old->hard_timeout) ? 1 : 0;
    n_timed_ += (r.idle_timeout || r.hard_timeout) ? 1 : 0;
    r.id = id;
    auto p = std::make_shared<const rule>(std::move(r));
    compiler_.changed(*p);
    store(id, std::move(p));
}

void rule_table::erase(uint32_t id) {
    const rule* r = get(id);
    n_timed_ -= (r->idle_timeout || r->hard_timeout) ? 1 : 0;
    compiler_.remove(*r);
    index_->erase(id, identity_index::hash(*r));
    store(id, nullptr);
    quarantine_.emplace_back(version_, id); // the last version that has it
    n_rules_--;
}

bool selects(const flow_mod& fm, const rule& r) {
    const bool strict =
        fm.command == flow_command::del_strict || fm.command == flow_command::modify_strict;
    if (fm.table_given && r.table != fm.spec.table) {
        return false;
    }
    if (strict ? !(r.priority == fm.spec.priority && r.match == fm.spec.match)
               : !r.match.is_covered_by(fm.spec.match)) {
        return false;
    }
    if ((r.cookie & fm.cookie_mask) != fm.cookie_filter) {
        return false;
    }
    if (fm.out_port) {
        return std::any_of(r.actions.begin(), r.actions.end(), [&](const swd_action& a) {
            return a.type == SWD_ACT_OUTPUT && a.arg == *fm.out_port;
        });
    }
    return true;
}

std::vector<uint32_t> rule_table::select(const flow_mod& fm) const {
    std::vector<uint32_t> ids;
    if (fm.command == flow_command::del_strict || fm.command == flow_command::modify_strict) {
        // Exact identity through the index; without table= every table is searched.
        rule probe;
        probe.match = fm.spec.match;
        probe.priority = fm.spec.priority;
        for (unsigned t = 0; t <= SWD_MAX_TABLE; t++) {
            if (fm.table_given && t != fm.spec.table) {
                continue;
            }
            probe.table = static_cast<uint8_t>(t);
            if (uint32_t id = find_identity(probe); id && selects(fm, *get(id))) {
                ids.push_back(id);
            }
        }
        return ids;
    }
    for (const auto& c : chunks_) {
        if (!c) {
            continue;
        }
        for (const auto& r : *c) {
            if (r && selects(fm, *r)) {
                ids.push_back(r->id);
            }
        }
    }
    return ids;
}

result<change_summary> rule_table::apply(std::vector<flow_mod> mods, std::span<const lb_pool> pools,
                                         clock::time_point now) {
    size_t adds = 0;
    for (const auto& fm : mods) {
        adds += fm.command == flow_command::add ? 1 : 0;
    }
    if (n_rules_ + adds > max_rules_) {
        return fail(errc::limit,
                    fmt::format("{} rules would exceed the limit of {} (the table has {})", adds,
                                max_rules_, n_rules_));
    }
    bool new_pools = false;
    for (const auto& p : pools) {
        if (std::none_of(pools_.begin(), pools_.end(),
                         [&](const lb_pool& q) { return q.name == p.name; })) {
            pools_.push_back(p);
            new_pools = true;
        }
    }
    change_summary sum;
    for (auto& fm : mods) {
        switch (fm.command) {
        case flow_command::add: {
            const uint32_t h = identity_hash(fm.spec);
            if (uint32_t id = find_identity(fm.spec, h)) {
                fm.spec.created = fm.spec.modified = now;
                replace_rule(id, std::move(fm.spec));
                sum.modified++;
            } else {
                insert(std::move(fm.spec), now, h);
                sum.added++;
            }
            break;
        }
        case flow_command::modify:
        case flow_command::modify_strict:
            for (uint32_t id : select(fm)) {
                rule r = *get(id);
                r.actions = fm.spec.actions;
                if (fm.cookie_given) {
                    r.cookie = fm.spec.cookie;
                }
                if (fm.placement_given) {
                    r.place = fm.spec.place;
                }
                if (fm.queue_given) {
                    r.queue = fm.spec.queue;
                }
                r.modified = now; // restarts hard_timeout, keeps duration
                replace_rule(id, std::move(r));
                sum.modified++;
            }
            break;
        case flow_command::del:
        case flow_command::del_strict:
            for (uint32_t id : select(fm)) {
                erase(id);
                sum.deleted++;
            }
            break;
        }
    }
    if (new_pools || sum.added || sum.modified || sum.deleted) {
        publish(); // a request that selected nothing leaves the version as it was
    }
    return sum;
}

result<change_summary> rule_table::replace(std::vector<flow_mod> rules, std::vector<lb_pool> pools,
                                           clock::time_point now) {
    if (rules.size() > max_rules_) {
        return fail(errc::limit,
                    fmt::format("{} rules exceed the limit of {}", rules.size(), max_rules_));
    }
    change_summary sum;
    std::vector<bool> keep(next_id_, false);
    std::vector<std::pair<flow_mod*, uint32_t>> to_add; // with identity hashes
    for (auto& fm : rules) {
        const uint32_t h = identity_hash(fm.spec);
        uint32_t id = find_identity(fm.spec, h);
        if (!id) {
            to_add.emplace_back(&fm, h);
            continue;
        }
        keep[id] = true;
        const rule* old = get(id);
        if (old->same_content(fm.spec)) {
            sum.unchanged++;
        } else {
            fm.spec.created = old->created;
            fm.spec.modified = now;
            replace_rule(id, std::move(fm.spec));
            sum.modified++;
        }
    }
    // Delete before adding, so that freed capacity is available (ids stay quarantined).
    std::vector<uint32_t> gone;
    for (const auto& c : chunks_) {
        if (!c) {
            continue;
        }
        for (const auto& r : *c) {
            if (r && !keep[r->id]) {
                gone.push_back(r->id);
            }
        }
    }
    for (uint32_t id : gone) {
        erase(id);
        sum.deleted++;
    }
    for (auto [fm, h] : to_add) {
        // The same rule twice in one text: the later line wins, as for add-flows.
        if (uint32_t id = find_identity(fm->spec, h)) {
            replace_rule(id, std::move(fm->spec));
            continue;
        }
        insert(std::move(fm->spec), now, h);
        sum.added++;
    }
    const bool same_pools = pools == pools_;
    pools_ = std::move(pools);
    if (!same_pools || sum.added || sum.modified || sum.deleted) {
        publish(); // replacing a table with itself leaves the version as it was
    }
    return sum;
}

std::string backend_address(const backend& b) {
    return b.ipv6 ? fmt::format("[{}]:{}", format_ipv6(b.addr), b.port)
                  : fmt::format("{}:{}", format_ipv4(b.addr[0]), b.port);
}

result<const lb_pool*> rule_table::pool(std::string_view name) const {
    for (const auto& p : pools_) {
        if (p.name == name) {
            return &p;
        }
    }
    std::string names;
    for (const auto& p : pools_) {
        names += (names.empty() ? "" : ", ") + p.name;
    }
    return fail(errc::not_found,
                names.empty()
                    ? fmt::format("unknown pool '{}'; the switch has no pools", name)
                    : fmt::format("unknown pool '{}'; expected one of the switch's pools: {}", name,
                                  names));
}

result<bool> rule_table::set_pool(lb_pool p) {
    auto cur = pool(p.name);
    if (!cur) {
        return fail(std::move(cur).err());
    }
    const lb_pool& old = **cur;
    if (p.ipv6 != old.ipv6 || p.proto != old.proto || p.vip_port != old.vip_port ||
        !std::equal(p.vip, p.vip + 4, old.vip)) {
        return fail(errc::invalid_input,
                    fmt::format("pool '{}' has another vip; expected its vip, or replace-flows to "
                                "change the vip",
                                p.name));
    }
    if (p.backends.size() > SWD_LB_MAX_BACKENDS) {
        return fail(errc::limit,
                    fmt::format("too many backends '{}': {} backends; expected at most "
                                "{} per pool (the Maglev table's size / 100)",
                                p.name, p.backends.size(), SWD_LB_MAX_BACKENDS));
    }
    for (size_t k = 0; k < p.backends.size(); k++) {
        const backend& b = p.backends[k];
        if (b.ipv6 != p.ipv6) {
            return fail(errc::invalid_input,
                        fmt::format("backend family differs from the vip '{}': backend {} is "
                                    "IPv{}, the vip is IPv{}; expected backends of the vip's "
                                    "address family",
                                    p.name, backend_address(b), b.ipv6 ? 6 : 4, p.ipv6 ? 6 : 4));
        }
        for (size_t j = 0; j < k; j++) {
            if (std::equal(b.addr, b.addr + 4, p.backends[j].addr) &&
                b.port == p.backends[j].port) {
                return fail(errc::invalid_input,
                            fmt::format("duplicate backend '{}': {} is there twice; expected each "
                                        "backend once",
                                        p.name, backend_address(b)));
            }
        }
    }
    p.id = old.id;
    if (p == old) {
        return false; // as for a request that selects nothing: the version stays
    }
    for (auto& q : pools_) {
        if (q.name == p.name) {
            q = std::move(p);
            break;
        }
    }
    publish();
    return true;
}

void rule_table::set_ports(std::vector<port_decl> ports) {
    ports_ = std::move(ports);
    publish();
}

change_summary rule_table::expire(clock::time_point now,
                                  const std::function<clock::time_point(uint32_t)>& last_hit) {
    change_summary sum;
    if (n_timed_ == 0) {
        return sum;
    }
    std::vector<uint32_t> gone;
    for (const auto& c : chunks_) {
        if (!c) {
            continue;
        }
        for (const auto& r : *c) {
            if (!r || (!r->idle_timeout && !r->hard_timeout)) {
                continue;
            }
            bool hard =
                r->hard_timeout && now - r->modified >= std::chrono::seconds(r->hard_timeout);
            bool idle = false;
            if (r->idle_timeout) {
                clock::time_point last = std::max(r->modified, last_hit(r->id));
                idle = now - last >= std::chrono::seconds(r->idle_timeout);
            }
            if (hard || idle) {
                gone.push_back(r->id);
            }
        }
    }
    if (gone.empty()) {
        return sum;
    }
    for (uint32_t id : gone) {
        erase(id);
        sum.deleted++;
    }
    publish();
    return sum;
}

void rule_table::reclaim(uint64_t retired_version) {
    auto it = std::partition(quarantine_.begin(), quarantine_.end(),
                             [&](const auto& q) { return q.first > retired_version; });
    for (auto q = it; q != quarantine_.end(); ++q) {
        free_ids_.push_back(q->second);
    }
    quarantine_.erase(it, quarantine_.end());
}

void rule_table::set_profile(profile p) {
    if (p != compiler_.current_profile()) {
        compiler_.set_profile(p);
        publish();
    }
}

size_t rule_table::set_offloaded(std::span<const uint32_t> ids, bool on) {
    size_t n = 0;
    for (uint32_t id : ids) {
        const rule* r = current_->find(id);
        if (r && compiler_.offloaded(id) != on) {
            compiler_.set_offloaded(*r, on);
            n++;
        }
    }
    if (n) {
        publish();
    }
    return n;
}

void rule_table::set_calibration(std::shared_ptr<const calibration> c) {
    compiler_.set_calibration(std::move(c));
    if (follows_calibration(compiler_.current_profile())) {
        publish();
    }
}

void rule_table::publish() {
    auto s = std::make_shared<table_snapshot>();
    s->version = ++version_;
    s->chunks.assign(chunks_.begin(), chunks_.end());
    s->n_rules = n_rules_;
    s->pools = pools_;
    s->ports = ports_;
    s->born = std::move(born_);
    born_.clear();
    s->pipeline = compiler_.compile([this](uint32_t id) { return get(id); }, s->version,
                                    pool_compiler_.compile(pools_));
    current_ = std::move(s);
}

} // namespace swd::flows
