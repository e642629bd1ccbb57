// The XDP dispatcher's rule maps (bpf/dispatcher.bpf.c, layouts in bpf/shared/swd_abi.h), shared
// by the dispatcher of every port, and the writer that keeps them equal to table 0 of the
// published pipeline.
//
// Every rule of table 0 is written, with its placement: the dispatcher then finds the same
// winner as user space, runs it when it is placed in XDP and hands the packet to user space
// otherwise. sync() is incremental: a subtable (one mask) that the new pipeline shares with the
// installed one costs nothing; a rebuilt subtable with the same mask is diffed entry by entry
// against the installed one, so that only changed entries reach the kernel; a new mask gets a
// new mask id and its entries are written before the mask list that names it is switched in.
// The mask list is switched by one 4-byte config store among SWD_XDP_MASK_LISTS lists, then the
// entries of masks that left are deleted. Nothing that a program run may still read is rewritten:
// a list, counter slot or action list given up is reused only after a grace period
// (reader_barrier.h). An entry changed in place is seen by packets at once, entry by
// entry, as Open vSwitch's flow mods are (a new entry that lives buckets away from its home, once
// the config store at the end raises the index's probe).
//
// When table 0 does not fit (more masks than SWD_XDP_MAX_MASKS, more rules than the rule index
// holds) or no rule is placed in XDP, the rule search is switched off and the dispatcher sends
// every frame to user space; why() says which. The config's egress flag tells the TC egress
// programs (bpf/egress.bpf.c) whether a rule that names in_port=LOCAL is placed in XDP, its
// tracks flag whether they track connections (the table uses tracking and every rule of table 0
// is placed in XDP; a table that tracks with a rule in user space switches the search off).
//
// Thread-safety: control thread only. The maps are read by the XDP programs concurrently.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "ct_map.h"
#include "datapath/classifier.h"
#include "datapath/datapath.h"
#include "datapath/util/result.h"
#include "datapath/util/unique_fd.h"
#include "lb_maps.h"
#include "map_memory.h"
#include "reader_barrier.h"
#include "rule_index.h"

namespace swd::afxdp {

// bpf_map_create() with a clear error; type: enum bpf_map_type (not named here: pcap.h's struct
// bpf_insn clashes with linux/bpf.h's in files that include both).
result<unique_fd> create_bpf_map(unsigned type, const char* name, uint32_t key, uint32_t value,
                                 uint32_t entries, uint32_t flags = 0);

class xdp_tables {
public:
    static constexpr uint32_t default_max_rules = 1u << 20;
    static constexpr uint32_t initial_capacity = 1u << 16;

    // Creates the maps, sized for capacity rules of table 0 (at most max_rules): the rule index
    // (rule_index.h) and the per-CPU rule counters. A table that outgrows them gets a larger set
    // of maps and new programs on them (wanted_capacity(), afxdp_datapath::publish): maps sized
    // for the limit from the start cost ~1 s of start-up and tens of MiB of per-CPU memory at 1M.
    // lb, ct: the load balancer's maps and the connection tracker's, which a move to larger
    // rule maps keeps (sessions and connections live on); null: new ones of the default size.
    static result<std::unique_ptr<xdp_tables>> create(uint32_t max_rules = default_max_rules,
                                                      uint32_t capacity = initial_capacity,
                                                      std::shared_ptr<lb_maps> lb = nullptr,
                                                      std::shared_ptr<ct_map> ct = nullptr);
    ~xdp_tables();

    // Makes the maps hold table 0 of p. On failure the rule search is off (every frame goes to
    // user space, which has the whole table) and the maps are empty.
    result<void> sync(const dp::pipeline& p);

    // Whether the dispatcher searches the rules, and if not, why.
    bool searching() const { return searching_; }
    // Whether the TC egress programs search (a rule of table 0 with in_port=LOCAL is placed in
    // XDP, and the search is on); else they pass every frame at once.
    bool egress() const { return egress_; }
    // Whether the BPF programs track connections (bpf/conntrack.h): the table uses tracking and
    // all of table 0 runs in XDP. When the table tracks and this is false, user space does.
    bool tracks() const { return tracks_; }
    // Whether sync(p) would make them track (unless writing the maps fails).
    static bool would_track(const dp::pipeline& p);
    const std::string& why_not() const { return why_not_; }
    size_t n_rules() const { return installed_rules_; }
    size_t n_masks() const { return active_.size(); }

    // Whether the rule runs in XDP now (placed there, and the search is on).
    bool runs_in_xdp(uint32_t rule_id) const;
    // Adds XDP's per-CPU counts of these rules to out, with what they counted in XDP before
    // they left it (moved to user space, or the search switched off).
    void add_counters(std::span<const uint32_t> ids, std::span<dp::rule_counters> out) const;
    // These ids now name new rules (datapath::publish's born): their XDP counts start at zero.
    void forget(std::span<const uint32_t> born);

    // The port map (ofport -> interface) for output to another port.
    result<void> set_port(uint16_t ofport, int ifindex);

    struct map_fds {
        int config, masks, rules, rule_index, actions, rule_stats, ports;
        int lb_pools, lb_maglev, lb_backends, lb_sessions, ct;
    };
    map_fds fds() const;
    const std::shared_ptr<lb_maps>& lb() const { return lb_; }
    const std::shared_ptr<ct_map>& ct() const { return ct_; }
    // The rule records and their index (tests plant entries in it).
    rule_index& index() { return *index_; }
    uint32_t max_rules() const { return max_rules_; }
    uint32_t capacity() const { return capacity_; }

    // 0 when the maps have room for twice table 0 of p (a change writes its new entries before
    // it deletes the old ones), or cannot grow; otherwise the capacity to grow them to.
    uint32_t wanted_capacity(const dp::pipeline& p) const;
    // The last sync() failed for want of room in the maps; they are empty now (search off).
    bool out_of_room() const { return out_of_room_; }
    // After a move to larger maps: the counts that the rules had in old's maps are added to
    // theirs here, so that dump-flows goes on counting from where it was.
    void carry_counters(const xdp_tables& old);

private:
    struct installed_mask {
        uint32_t id;
        std::shared_ptr<const dp::subtable> table;
        bool egress = false; // holds an XDP-placed rule with in_port=LOCAL
    };
    struct action_list_ref {
        uint32_t id;
        uint32_t users;
    };
    struct rule_place {
        uint32_t slot;
        uint32_t action_id;
        uint64_t seen_packets; // XDP's count when last read, and when it last moved
        std::chrono::steady_clock::time_point last_change;
        uint64_t carried_packets = 0, carried_bytes = 0; // counted in earlier maps
    };
    struct table0 {
        std::span<const std::shared_ptr<const dp::subtable>> subtables;
        size_t n_rules = 0;
        bool any_xdp = false;                  // a rule placed in XDP
        std::optional<uint16_t> user_priority; // of a rule placed in user space (if p.tracks)
    };
    static table0 summary(const dp::pipeline& p);
    // The rule's counts in these maps plus those carried; false when it has no XDP slot.
    bool read_counts(uint32_t rule_id, uint64_t& packets, uint64_t& bytes) const;

    xdp_tables(uint32_t max_rules, uint32_t capacity, std::shared_ptr<reader_barrier> barrier)
        : max_rules_(max_rules), capacity_(capacity), barrier_(barrier), slots_(capacity, barrier),
          action_lists_(SWD_XDP_MAX_ACTION_LISTS, barrier) {}
    result<void> write_subtable(const dp::subtable& st, uint32_t mask_id, const dp::subtable* old);
    result<swd_xdp_rule_head> entry_for(const dp::compiled_rule& r,
                                        std::span<const swd_action> acts);
    // Frees the rule's slot; keep_counts: the rule lives on elsewhere, its counts go to departed_.
    void release_rule(uint32_t rule_id, bool keep_counts = false);
    // listed: the active mask list names it (its rule is alone in its mask).
    void release_action_list(uint32_t id, bool listed = false);
    // The head that entry_for() wrote for r, from its slot and action list.
    swd_xdp_rule_head head_of(const dp::compiled_rule& r) const;
    result<void> switch_masks(const std::vector<installed_mask>& list, bool search,
                              bool egress = false, bool tracks = false);
    void disable(std::string why);

    unique_fd config_, masks_, actions_, rule_stats_, ports_;
    map_memory config_memory_; // struct swd_xdp_config
    std::shared_ptr<lb_maps> lb_;
    std::shared_ptr<ct_map> ct_;
    uint32_t max_rules_ = 0;
    uint32_t capacity_ = 0; // of the rule index and the rule counters
    std::shared_ptr<reader_barrier> barrier_;
    std::unique_ptr<rule_index> index_;
    id_pool slots_;            // of the rule counters
    id_pool action_lists_;     // ids in the action-list map
    bool out_of_room_ = false; // the last sync() found the maps full
    uint32_t active_list_ = 0; // the mask list that the config names
    // barrier_->passed() when each list was last switched out (nothing: never active).
    std::array<std::optional<uint64_t>, SWD_XDP_MASK_LISTS> list_left_at_{};
    bool searching_ = false;
    // (packets, bytes) that rules counted in XDP before they left it, by rule id; dropped when
    // the id is given to a new rule (forget()).
    std::unordered_map<uint32_t, std::pair<uint64_t, uint64_t>> departed_;
    bool egress_ = false;
    bool tracks_ = false;
    std::string why_not_ = "no rules yet";
    size_t installed_rules_ = 0;
    unsigned n_cpus_ = 1;

    std::vector<installed_mask> active_; // in search order
    uint32_t next_mask_id_ = 1;
    std::unordered_map<std::string, action_list_ref> action_ids_; // by the list's bytes
    std::vector<std::string> action_bytes_;                       // action list id -> bytes
    // rule id -> slot and action list; mutable: reading counters notes when they moved
    mutable std::unordered_map<uint32_t, rule_place> xdp_rules_;
    // The rules that the active mask list carries in its entries (masks with one rule): the
    // slots and action lists they give up are named there until the next switch.
    std::unordered_set<uint32_t> single_rules_;
    mutable std::vector<swd_rule_stats> per_cpu_; // read_counts' buffer
};

} // namespace swd::afxdp
