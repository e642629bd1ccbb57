#include "compiler.h"

#include <algorithm>
#include <map>

namespace swd::flows {

namespace {

// offloaded: by rule id, the adaptive profile's choices (null: none).
std::shared_ptr<const dp::subtable> build_group(uint8_t table, const dp::flow_key& mask,
                                                std::span<const rule* const> rules, profile p,
                                                const std::vector<bool>* offloaded,
                                                const calibration* cal) {
    std::vector<dp::subtable_rule> in;
    in.reserve(rules.size());
    for (const rule* r : rules) {
        const bool off = offloaded && r->id < offloaded->size() && (*offloaded)[r->id];
        in.push_back({r->match.value, r->id, r->priority, r->actions,
                      decide_placement(*r, p, off, cal).xdp});
    }
    return dp::subtable::build(table, mask, in);
}

std::shared_ptr<const dp::pipeline>
assemble(std::map<uint8_t, std::vector<std::shared_ptr<const dp::subtable>>> by_table,
         uint64_t version, std::vector<std::shared_ptr<const dp::lb::compiled_pool>> pools,
         std::shared_ptr<const std::vector<dp::steering_request>> steering) {
    auto p = std::make_shared<dp::pipeline>();
    p->version = version;
    p->pools = std::move(pools);
    if (steering) {
        p->steering = std::move(steering);
    }
    if (!by_table.empty()) {
        p->tables.resize(static_cast<size_t>(by_table.rbegin()->first) + 1);
    }
    for (auto& [t, subs] : by_table) {
        for (const auto& st : subs) {
            p->tracks |= st->tracks();
        }
        p->tables[t] = dp::classifier(std::move(subs));
    }
    return p;
}

} // namespace

void compiler::note_steering(const rule& r, bool present) {
    const auto q = present ? r.steering_queue() : std::nullopt;
    auto it = steering_.find(r.id);
    if (!q) {
        if (it != steering_.end()) {
            steering_.erase(it);
            steering_compiled_.reset();
        }
        return;
    }
    const dp::steering_request want{r.id, *q, r.match};
    if (it == steering_.end() || !(it->second == want)) {
        steering_[r.id] = want;
        steering_compiled_.reset();
    }
}

void compiler::insert(const rule& r) {
    note_steering(r, true);
    group& g = groups_[group_key{r.match.mask, r.table}];
    if (pos_.size() <= r.id) {
        pos_.resize(std::max<size_t>(r.id + 1, pos_.size() * 2));
    }
    pos_[r.id] = static_cast<uint32_t>(g.ids.size());
    g.ids.push_back(r.id);
    g.compiled.reset();
}

compiler::group* compiler::group_of(const rule& r) {
    auto it = groups_.find(group_key{r.match.mask, r.table});
    return it == groups_.end() ? nullptr : &it->second;
}

void compiler::remove(const rule& r) {
    auto it = groups_.find(group_key{r.match.mask, r.table});
    if (it == groups_.end()) {
        return;
    }
    note_steering(r, false);
    if (offloaded(r.id)) {
        offloaded_[r.id] = false;
        n_offloaded_--;
    }
    group& g = it->second;
    uint32_t at = pos_[r.id];
    uint32_t last = g.ids.back();
    g.ids[at] = last;
    pos_[last] = at;
    g.ids.pop_back();
    g.compiled.reset();
    if (g.ids.empty()) {
        groups_.erase(it);
    }
}

void compiler::changed(const rule& r) {
    note_steering(r, true);
    if (group* g = group_of(r)) {
        g->compiled.reset();
    }
}

void compiler::set_profile(profile p) {
    if (p == profile_) {
        return;
    }
    profile_ = p;
    offloaded_.clear();
    n_offloaded_ = 0;
    for (auto& [key, g] : groups_) {
        g.compiled.reset();
    }
}

void compiler::set_calibration(std::shared_ptr<const calibration> c) {
    calibration_ = std::move(c);
    if (follows_calibration(profile_)) {
        for (auto& [key, g] : groups_) {
            g.compiled.reset();
        }
    }
}

void compiler::set_offloaded(const rule& r, bool on) {
    if (offloaded(r.id) == on) {
        return;
    }
    if (offloaded_.size() <= r.id) {
        offloaded_.resize(std::max<size_t>(r.id + 1, offloaded_.size() * 2));
    }
    offloaded_[r.id] = on;
    if (on) {
        n_offloaded_++;
    } else {
        n_offloaded_--;
    }
    changed(r);
}

std::shared_ptr<const dp::pipeline>
compiler::compile(const rule_lookup& lookup, uint64_t version,
                  std::vector<std::shared_ptr<const dp::lb::compiled_pool>> pools) {
    std::map<uint8_t, std::vector<std::shared_ptr<const dp::subtable>>> by_table;
    std::vector<const rule*> rules;
    for (auto& [key, g] : groups_) {
        if (!g.compiled) {
            rules.clear();
            rules.reserve(g.ids.size());
            for (uint32_t id : g.ids) {
                rules.push_back(lookup(id));
            }
            g.compiled =
                build_group(key.table, key.mask, rules, profile_, &offloaded_, calibration_.get());
        }
        by_table[key.table].push_back(g.compiled);
    }
    if (!steering_compiled_) {
        std::vector<dp::steering_request> list;
        list.reserve(steering_.size());
        for (const auto& [id, req] : steering_) {
            list.push_back(req);
        }
        steering_compiled_ = std::make_shared<const std::vector<dp::steering_request>>(list);
    }
    return assemble(std::move(by_table), version, std::move(pools), steering_compiled_);
}

std::shared_ptr<const dp::pipeline>
compiler::compile_all(std::span<const rule* const> rules, uint64_t version, profile p,
                      std::vector<std::shared_ptr<const dp::lb::compiled_pool>> pools) {
    std::unordered_map<group_key, std::vector<const rule*>, group_key_hash> groups;
    auto steering = std::make_shared<std::vector<dp::steering_request>>();
    for (const rule* r : rules) {
        groups[group_key{r->match.mask, r->table}].push_back(r);
        if (const auto q = r->steering_queue()) {
            steering->push_back({r->id, *q, r->match});
        }
    }
    std::sort(steering->begin(), steering->end(),
              [](const auto& a, const auto& b) { return a.rule_id < b.rule_id; });
    std::map<uint8_t, std::vector<std::shared_ptr<const dp::subtable>>> by_table;
    for (auto& [key, list] : groups) {
        by_table[key.table].push_back(build_group(key.table, key.mask, list, p, nullptr, nullptr));
    }
    return assemble(std::move(by_table), version, std::move(pools), std::move(steering));
}

} // namespace swd::flows
