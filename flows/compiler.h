// The compiler: turns the rule table into the pipeline that both paths execute
// (datapath/classifier.h: one tuple space per (table, mask), priority-ordered).
//
// It is incremental. The rule table tells it which rules were inserted, removed or changed; it
// keeps each rule in the group of its (table, mask) and, on compile(), rebuilds only the groups
// that changed. The others' subtables are shared with the previous pipeline. Control thread only.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <span>
#include <unordered_map>
#include <vector>

#include "calibration.h"
#include "datapath/classifier.h"
#include "placement.h"
#include "rule.h"

namespace swd::flows {

class compiler {
public:
    using rule_lookup = std::function<const rule*(uint32_t id)>;

    void insert(const rule& r);
    void remove(const rule& r);
    void changed(const rule& r); // same match/priority/table, new actions
    // The placement profile the next compile() marks rules with (every group is rebuilt when it
    // changes).
    void set_profile(profile p);
    profile current_profile() const { return profile_; }
    // The adaptive profile's choice of rule r (flows/adaptive.h); the next compile() rebuilds r's
    // group. Cleared when r is removed and when the profile changes.
    void set_offloaded(const rule& r, bool on);
    bool offloaded(uint32_t id) const { return id < offloaded_.size() && offloaded_[id]; }
    size_t n_offloaded() const { return n_offloaded_; }
    // The calibrated profile's figures; every group is rebuilt when that profile is in force.
    void set_calibration(std::shared_ptr<const calibration> c);
    const calibration* current_calibration() const { return calibration_.get(); }

    // A pipeline for the current rules and these pools (by id); groups untouched since the last
    // call are reused.
    std::shared_ptr<const dp::pipeline>
    compile(const rule_lookup& lookup, uint64_t version,
            std::vector<std::shared_ptr<const dp::lb::compiled_pool>> pools = {});

    size_t n_groups() const { return groups_.size(); }

    // From scratch, for tests and tools.
    static std::shared_ptr<const dp::pipeline>
    compile_all(std::span<const rule* const> rules, uint64_t version, profile p = profile::hybrid,
                std::vector<std::shared_ptr<const dp::lb::compiled_pool>> pools = {});

private:
    struct group_key {
        dp::flow_key mask;
        uint8_t table;
        friend bool operator==(const group_key&, const group_key&) = default;
    };
    struct group_key_hash {
        size_t operator()(const group_key& k) const noexcept {
            return dp::hash_words(k.mask.w, dp::key_words, k.table);
        }
    };
    struct group {
        std::vector<uint32_t> ids;
        std::shared_ptr<const dp::subtable> compiled; // null when dirty
    };

    group* group_of(const rule& r); // null when r is in none
    void note_steering(const rule& r, bool present);

    std::unordered_map<group_key, group, group_key_hash> groups_;
    std::vector<uint32_t> pos_;   // rule id -> index in its group's ids
    std::vector<bool> offloaded_; // rule id -> the adaptive profile put it in XDP
    size_t n_offloaded_ = 0;
    profile profile_ = profile::hybrid;
    std::shared_ptr<const calibration> calibration_;
    std::map<uint32_t, dp::steering_request> steering_;                          // by rule id
    std::shared_ptr<const std::vector<dp::steering_request>> steering_compiled_; // null: dirty
};

} // namespace swd::flows
