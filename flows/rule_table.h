// The rule table: OpenFlow semantics over a set of rules, published as immutable versions.
//
// Owned and mutated by one thread (the control thread). Every change produces a new version:
// a table_snapshot with the rules, pools, ports and the compiled pipeline. A snapshot never
// changes after publish(); readers on any thread hold it by shared_ptr. Rules are stored in
// chunks shared between versions, so a publish copies only the chunks that changed.
//
// Operations follow OpenFlow 1.3 as Open vSwitch implements them:
//  - add: a rule with the same table, priority and match is replaced in place; it keeps its
//    counters (no reset_counts), its duration restarts.
//  - modify (non-strict): every rule whose match is covered by the given match (and cookie
//    filter, table) gets the new actions; modify_strict selects by exact match and priority.
//    A modify that selects nothing adds nothing (OpenFlow 1.1+).
//  - delete / delete_strict: the same selection; out_port= keeps rules that output there.
// A request is all or nothing: limits are checked before anything changes, and validation
// (parsing) happened before.
//
// Pools change with replace()/apply() (whole declarations) or set_pool() (one pool's backends, at
// run time: swctl add-backend, del-backend, set-backend). A pool keeps its id for its life.
//
// Rule ids are dense and stable for a rule's life; counters are indexed by them. An id freed in
// version v is reused only after reclaim(v) says no datapath thread still runs version v.
#pragma once

#include <array>
#include <chrono>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "compiler.h"
#include "datapath/util/result.h"
#include "pools.h"
#include "rule.h"

namespace swd::flows {

using clock = std::chrono::steady_clock;

inline constexpr size_t rule_chunk_size = 1024;
using rule_chunk = std::array<std::shared_ptr<const rule>, rule_chunk_size>;

struct table_snapshot {
    uint64_t version = 0;
    std::vector<std::shared_ptr<const rule_chunk>> chunks;
    size_t n_rules = 0;
    std::vector<lb_pool> pools;
    std::vector<port_decl> ports;
    std::shared_ptr<const dp::pipeline> pipeline;
    std::vector<uint32_t> born; // ids first used in this version: their counters start at zero

    const rule* find(uint32_t id) const {
        size_t c = id / rule_chunk_size;
        return c < chunks.size() && chunks[c] ? (*chunks[c])[id % rule_chunk_size].get() : nullptr;
    }
    template <class Fn>
    void for_each(Fn&& fn) const {
        for (const auto& c : chunks) {
            if (c) {
                for (const auto& r : *c) {
                    if (r) {
                        fn(*r);
                    }
                }
            }
        }
    }
    // Rules in dump order: table, then priority (highest first), then id.
    std::vector<const rule*> sorted() const;
};

// Whether a modify/delete/dump request selects rule r: exact identity with --strict, else r's
// match is covered by the request's; then the table, cookie and out_port filters.
bool selects(const flow_mod& fm, const rule& r);

// A backend's address and port as the flow language writes them: "10.1.0.1:8080",
// "[2001:db8::1]:8443".
std::string backend_address(const backend& b);

struct change_summary {
    size_t added = 0;
    size_t modified = 0;
    size_t deleted = 0;
    size_t unchanged = 0; // replace(): rules already present as given
};

class rule_table {
public:
    explicit rule_table(size_t max_rules = 16u << 20);
    ~rule_table();
    rule_table(const rule_table&) = delete;
    rule_table& operator=(const rule_table&) = delete;

    // Applies flow mods in order, adds the pools declared with them, and publishes.
    // The rules are moved out of mods.
    result<change_summary> apply(std::vector<flow_mod> mods, std::span<const lb_pool> pools,
                                 clock::time_point now);
    // Makes the table exactly `rules` (all adds) with these pools and publishes. Rules already
    // present with the same content keep their ids, counters and duration.
    result<change_summary> replace(std::vector<flow_mod> rules, std::vector<lb_pool> pools,
                                   clock::time_point now);
    // The pool of this name, or not_found: "unknown pool 'x'; expected one of the switch's pools:
    // a, b".
    result<const lb_pool*> pool(std::string_view name) const;
    // Replaces the backends of the pool named p.name with p's and publishes. The pool keeps its
    // id; its vip and protocol must stay. Checked as the parser checks a declaration: at most
    // SWD_LB_MAX_BACKENDS backends (limit), each of the vip's address family and each address
    // and port once (invalid_input); an unknown name is not_found. A failure changes nothing.
    // Returns whether a new version was published (not when p equals the pool already there).
    // Established sessions keep their backends (datapath/lb/): only new sessions see the change.
    result<bool> set_pool(lb_pool p);
    void set_ports(std::vector<port_decl> ports);
    // Changes the placement profile (flows/placement.h) and publishes the table marked with it.
    void set_profile(profile p);
    profile current_profile() const { return compiler_.current_profile(); }
    // The adaptive profile's moves (flows/adaptive.h): marks these rules offloaded to XDP (on)
    // or not, and publishes when any changed. Ids of rules no longer present are skipped.
    // Returns how many changed.
    size_t set_offloaded(std::span<const uint32_t> ids, bool on);
    bool offloaded(uint32_t id) const { return compiler_.offloaded(id); }
    size_t n_offloaded() const { return compiler_.n_offloaded(); }
    // The calibrated figures (flows/calibration.h); publishes when the profile in force follows
    // them (follows_calibration), since rules may move.
    void set_calibration(std::shared_ptr<const calibration> c);
    const calibration* current_calibration() const { return compiler_.current_calibration(); }

    // Deletes rules whose idle or hard timeout has passed. last_hit(id) gives the time a packet
    // last matched the rule (or a default-constructed time_point when never).
    change_summary expire(clock::time_point now,
                          const std::function<clock::time_point(uint32_t)>& last_hit);

    std::shared_ptr<const table_snapshot> current() const { return current_; }
    // Call when no datapath thread runs version v or older: ids of rules last present in those
    // versions may then be given to new rules.
    void reclaim(uint64_t retired_version);

    size_t size() const { return n_rules_; }
    size_t max_rules() const { return max_rules_; }

private:
    class identity_index;

    const rule* get(uint32_t id) const;
    static uint32_t identity_hash(const rule& r);
    uint32_t find_identity(const rule& r) const;
    uint32_t find_identity(const rule& r, uint32_t hash) const;
    std::vector<uint32_t> select(const flow_mod& fm) const;
    uint32_t allocate_id();
    void insert(rule r, clock::time_point now, uint32_t identity_hash);
    void replace_rule(uint32_t id, rule r);
    void erase(uint32_t id);
    void store(uint32_t id, std::shared_ptr<const rule> r);
    void publish();

    size_t max_rules_;
    size_t n_rules_ = 0;
    size_t n_timed_ = 0; // rules with a timeout: expire() scans only when > 0
    uint64_t version_ = 0;
    std::vector<std::shared_ptr<rule_chunk>> chunks_;
    std::unique_ptr<identity_index> index_;
    compiler compiler_;
    pool_compiler pool_compiler_;
    std::vector<lb_pool> pools_;
    std::vector<port_decl> ports_;
    uint32_t next_id_ = 1; // id 0 is never used
    std::vector<uint32_t> free_ids_;
    std::vector<std::pair<uint64_t, uint32_t>> quarantine_; // (version freed in, id)
    std::vector<uint32_t> born_;
    std::shared_ptr<const table_snapshot> current_;
};

} // namespace swd::flows
