#include "xdp_tables.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fmt/format.h>
#include <unordered_set>

extern "C" {
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
}

namespace swd::afxdp {

static_assert(sizeof(swd_xdp_mask) == 152);
static_assert(sizeof(swd_xdp_rule_head) == 16);
static_assert(sizeof(swd_xdp_list_config) == 40);
static_assert(sizeof(swd_xdp_config) == 8 + SWD_XDP_MASK_LISTS * 40);

result<unique_fd> create_bpf_map(unsigned type, const char* name, uint32_t key, uint32_t value,
                                 uint32_t entries, uint32_t flags) {
    LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = flags);
    const int fd =
        bpf_map_create(static_cast<bpf_map_type>(type), name, key, value, entries, &opts);
    if (fd < 0) {
        return fail(
            errno_error(-fd, fmt::format("create the BPF map {} ({} entries)", name, entries)));
    }
    return unique_fd(fd);
}

namespace {

bool same_actions(std::span<const swd_action> a, std::span<const swd_action> b) {
    return a.size() == b.size() &&
           (a.empty() || std::memcmp(a.data(), b.data(), a.size_bytes()) == 0);
}

} // namespace

result<std::unique_ptr<xdp_tables>> xdp_tables::create(uint32_t max_rules, uint32_t capacity,
                                                       std::shared_ptr<lb_maps> lb,
                                                       std::shared_ptr<ct_map> ct) {
    auto barrier = reader_barrier::create();
    if (!barrier) {
        return fail(barrier.err());
    }
    std::unique_ptr<xdp_tables> t(
        new xdp_tables(max_rules, std::max<uint32_t>(1, std::min(max_rules, capacity)), *barrier));
    if (!lb) {
        auto created = lb_maps::create();
        if (!created) {
            return fail(created.err());
        }
        lb = std::move(*created);
    }
    if (!ct) {
        auto created = ct_map::create();
        if (!created) {
            return fail(created.err());
        }
        ct = std::move(*created);
    }
    t->lb_ = std::move(lb);
    t->ct_ = std::move(ct);
    const int cpus = libbpf_num_possible_cpus();
    t->n_cpus_ = cpus > 0 ? static_cast<unsigned>(cpus) : 1;
    auto config = create_bpf_map(BPF_MAP_TYPE_ARRAY, "swd_config", 4, sizeof(swd_xdp_config), 1,
                                 BPF_F_MMAPABLE);
    auto masks = create_bpf_map(BPF_MAP_TYPE_ARRAY, "swd_masks", 4, sizeof(swd_xdp_mask),
                                SWD_XDP_MASK_LISTS * SWD_XDP_MAX_MASKS);
    auto index = rule_index::create(t->capacity_, t->barrier_);
    auto actions = create_bpf_map(BPF_MAP_TYPE_ARRAY, "swd_actions", 4, sizeof(swd_action_list),
                                  SWD_XDP_MAX_ACTION_LISTS);
    auto stats = create_bpf_map(BPF_MAP_TYPE_PERCPU_ARRAY, "swd_rule_stats", 4,
                                sizeof(swd_rule_stats), t->capacity_);
    auto ports =
        create_bpf_map(BPF_MAP_TYPE_DEVMAP_HASH, "swd_ports", 4, sizeof(bpf_devmap_val), 256);
    for (auto* m : {&config, &masks, &actions, &stats, &ports}) {
        if (!*m) {
            return fail(m->err());
        }
    }
    if (!index) {
        return fail(index.err());
    }
    t->config_ = std::move(*config);
    auto config_memory =
        map_memory::map(t->config_.get(), sizeof(swd_xdp_config), "the XDP dispatcher's config");
    if (!config_memory) {
        return fail(config_memory.err());
    }
    t->config_memory_ = std::move(*config_memory);
    t->masks_ = std::move(*masks);
    t->index_ = std::move(*index);
    t->actions_ = std::move(*actions);
    t->rule_stats_ = std::move(*stats);
    t->ports_ = std::move(*ports);
    return t;
}

xdp_tables::~xdp_tables() = default;

xdp_tables::map_fds xdp_tables::fds() const {
    return {config_.get(),    masks_.get(),       index_->records_fd(), index_->index_fd(),
            actions_.get(),   rule_stats_.get(),  ports_.get(),         lb_->pools_fd(),
            lb_->maglev_fd(), lb_->backends_fd(), lb_->sessions_fd(),   ct_->fd()};
}

result<void> xdp_tables::set_port(uint16_t ofport, int ifindex) {
    const uint32_t key = ofport;
    bpf_devmap_val v{};
    v.ifindex = static_cast<uint32_t>(ifindex);
    if (bpf_map_update_elem(ports_.get(), &key, &v, BPF_ANY) != 0) {
        return fail(errno_error(errno, fmt::format("XDP port map entry for port {}", ofport)));
    }
    return {};
}

bool xdp_tables::runs_in_xdp(uint32_t rule_id) const {
    return searching_ && xdp_rules_.contains(rule_id);
}

bool xdp_tables::read_counts(uint32_t rule_id, uint64_t& packets, uint64_t& bytes) const {
    auto it = xdp_rules_.find(rule_id);
    if (it == xdp_rules_.end()) {
        return false;
    }
    per_cpu_.resize(n_cpus_);
    packets = it->second.carried_packets;
    bytes = it->second.carried_bytes;
    if (bpf_map_lookup_elem(rule_stats_.get(), &it->second.slot, per_cpu_.data()) == 0) {
        for (const auto& s : per_cpu_) {
            packets += s.packets;
            bytes += s.bytes;
        }
    }
    return true;
}

void xdp_tables::add_counters(std::span<const uint32_t> ids,
                              std::span<dp::rule_counters> out) const {
    for (size_t i = 0; i < ids.size(); i++) {
        uint64_t packets = 0, bytes = 0;
        if (auto d = departed_.find(ids[i]); d != departed_.end()) {
            out[i].packets += d->second.first;
            out[i].bytes += d->second.second;
            out[i].xdp_packets += d->second.first;
        }
        if (!searching_ || !read_counts(ids[i], packets, bytes)) {
            continue;
        }
        out[i].packets += packets;
        out[i].bytes += bytes;
        out[i].xdp_packets += packets;
        // The last hit is when the count was first seen to have moved (idle timeouts read the
        // counters every second).
        rule_place& p = xdp_rules_.at(ids[i]);
        if (packets != p.seen_packets) {
            p.seen_packets = packets;
            p.last_change = std::chrono::steady_clock::now();
        }
        if (p.seen_packets != 0 && p.last_change > out[i].last_hit) {
            out[i].last_hit = p.last_change;
        }
    }
}

void xdp_tables::forget(std::span<const uint32_t> born) {
    if (departed_.empty()) {
        return;
    }
    for (uint32_t id : born) {
        departed_.erase(id);
    }
}

void xdp_tables::carry_counters(const xdp_tables& old) {
    departed_ = old.departed_;
    for (auto& [id, place] : xdp_rules_) {
        uint64_t packets = 0, bytes = 0;
        if (old.read_counts(id, packets, bytes)) {
            place.carried_packets += packets;
            place.carried_bytes += bytes;
            const rule_place& before = old.xdp_rules_.at(id);
            place.seen_packets = before.seen_packets;
            place.last_change = before.last_change;
        }
    }
}

xdp_tables::table0 xdp_tables::summary(const dp::pipeline& p) {
    table0 t;
    if (const dp::classifier* c = p.table(0)) {
        t.subtables = c->subtables();
    }
    for (const auto& st : t.subtables) {
        t.n_rules += st->size();
        if (t.any_xdp && !p.tracks) {
            continue; // a user-placed rule matters only to a table that tracks
        }
        st->for_each(
            [&](const dp::flow_key&, const dp::compiled_rule& r, std::span<const swd_action>) {
                t.any_xdp = t.any_xdp || r.xdp;
                if (!r.xdp && !t.user_priority) {
                    t.user_priority = r.priority;
                }
            });
    }
    return t;
}

bool xdp_tables::would_track(const dp::pipeline& p) {
    if (!p.tracks) {
        return false;
    }
    const table0 t = summary(p);
    return p.tracks && !t.user_priority && t.any_xdp && t.subtables.size() <= SWD_XDP_MAX_MASKS;
}

uint32_t xdp_tables::wanted_capacity(const dp::pipeline& p) const {
    size_t n_rules = 0;
    if (const dp::classifier* c = p.table(0)) {
        for (const auto& st : c->subtables()) {
            n_rules += st->size();
        }
    }
    // Room for twice the table: a change writes new entries before it deletes the old ones.
    const auto want = static_cast<uint32_t>(
        std::min<uint64_t>(max_rules_, std::bit_ceil(2 * static_cast<uint64_t>(n_rules))));
    if (want <= capacity_) {
        return 0;
    }
    const table0 t = summary(p); // walks the rules: only when the maps would grow
    if (!t.any_xdp || t.subtables.size() > SWD_XDP_MAX_MASKS || t.n_rules > max_rules_) {
        return 0; // sync() switches the search off and says why
    }
    return want;
}

result<swd_xdp_rule_head> xdp_tables::entry_for(const dp::compiled_rule& r,
                                                std::span<const swd_action> acts) {
    if (!r.xdp) {
        return head_of(r);
    }
    const std::string bytes(reinterpret_cast<const char*>(acts.data()), acts.size_bytes());
    auto [ref, fresh] = action_ids_.try_emplace(bytes, action_list_ref{0, 0});
    if (fresh) {
        const std::optional<uint32_t> id = action_lists_.take();
        if (!id) {
            action_ids_.erase(ref);
            return fail(errc::limit, fmt::format("more than {} distinct action lists in XDP",
                                                 SWD_XDP_MAX_ACTION_LISTS));
        }
        swd_action_list list{};
        list.n = static_cast<uint16_t>(acts.size());
        if (!acts.empty()) { // a drop has none
            std::memcpy(list.a, acts.data(), acts.size_bytes());
        }
        if (bpf_map_update_elem(actions_.get(), &*id, &list, BPF_ANY) != 0) {
            const int err = errno;
            action_lists_.give_back(*id);
            action_ids_.erase(ref);
            return fail(errno_error(err, "write an XDP action list"));
        }
        ref->second.id = *id;
        if (action_bytes_.size() <= *id) {
            action_bytes_.resize(*id + 1);
        }
        action_bytes_[*id] = bytes;
    }
    ref->second.users++;
    auto [place, is_new] = xdp_rules_.try_emplace(r.rule_id, rule_place{0, UINT32_MAX, 0, {}});
    if (is_new) {
        const std::optional<uint32_t> slot = slots_.take();
        if (!slot) {
            xdp_rules_.erase(place);
            release_action_list(ref->second.id);
            out_of_room_ = true;
            return fail(errc::limit, fmt::format("the XDP rule counters hold {} rules", capacity_));
        }
        const std::vector<swd_rule_stats> zero(n_cpus_);
        bpf_map_update_elem(rule_stats_.get(), &*slot, zero.data(), BPF_ANY);
        place->second.slot = *slot;
    } else if (place->second.action_id != UINT32_MAX) { // it had another list before this change
        release_action_list(place->second.action_id, single_rules_.contains(r.rule_id));
    }
    place->second.action_id = ref->second.id;
    return head_of(r);
}

swd_xdp_rule_head xdp_tables::head_of(const dp::compiled_rule& r) const {
    swd_xdp_rule_head v{};
    v.rule_id = r.rule_id;
    v.priority = r.priority;
    v.run = r.xdp ? SWD_XDP_RUN_XDP : SWD_XDP_RUN_USER;
    if (auto it = xdp_rules_.find(r.rule_id); r.xdp && it != xdp_rules_.end()) {
        v.slot = it->second.slot;
        v.action_id = it->second.action_id;
        const std::string& list = action_bytes_[v.action_id];
        swd_action first{};
        std::memcpy(&first, list.data(), std::min(list.size(), sizeof first));
        if (list.empty()) {
            v.only = SWD_XDP_ONLY_DROP;
        } else if (list.size() == sizeof first && first.type == SWD_ACT_LOCAL) {
            v.only = SWD_XDP_ONLY_LOCAL;
        }
    }
    return v;
}

void xdp_tables::release_rule(uint32_t rule_id, bool keep_counts) {
    auto it = xdp_rules_.find(rule_id);
    if (it == xdp_rules_.end()) {
        return;
    }
    if (uint64_t packets = 0, bytes = 0; keep_counts && read_counts(rule_id, packets, bytes)) {
        auto& d = departed_[rule_id];
        d.first += packets;
        d.second += bytes;
    }
    const bool listed = single_rules_.contains(rule_id);
    slots_.give_back(it->second.slot, listed);
    release_action_list(it->second.action_id, listed);
    xdp_rules_.erase(it);
}

void xdp_tables::release_action_list(uint32_t id, bool listed) {
    auto a = action_ids_.find(action_bytes_[id]);
    if (a != action_ids_.end() && --a->second.users == 0) {
        action_lists_.give_back(id, listed);
        action_ids_.erase(a);
    }
}

result<void> xdp_tables::write_subtable(const dp::subtable& st, uint32_t mask_id,
                                        const dp::subtable* old) {
    result<void> status;
    st.for_each(
        [&](const dp::flow_key& key, const dp::compiled_rule& r, std::span<const swd_action> acts) {
            if (!status) {
                return;
            }
            const dp::compiled_rule* o = old ? old->lookup(key) : nullptr;
            if (o && o->rule_id == r.rule_id && o->priority == r.priority && o->xdp == r.xdp &&
                same_actions(old->actions(*o), acts)) {
                return; // unchanged
            }
            auto v = entry_for(r, acts);
            if (!v) {
                status = fail(v.err());
                return;
            }
            if (auto w = index_->put(mask_id, key.f, *v); !w) {
                out_of_room_ = true;
                status = fail(w.err());
                return;
            }
            if (!o) {
                installed_rules_++;
            } else if (o->rule_id != r.rule_id) {
                release_rule(o->rule_id);
            }
            if (!r.xdp) {
                release_rule(r.rule_id, true); // it ran in XDP before this change
            }
        });
    if (!status || !old) {
        return status;
    }
    old->for_each(
        [&](const dp::flow_key& key, const dp::compiled_rule& r, std::span<const swd_action>) {
            if (st.lookup(key) == nullptr) {
                index_->erase(mask_id, key.f);
                installed_rules_--;
                release_rule(r.rule_id);
            }
        });
    return {};
}

result<void> xdp_tables::switch_masks(const std::vector<installed_mask>& list, bool search,
                                      bool egress, bool tracks) {
    const uint32_t next = (active_list_ + 1) % SWD_XDP_MASK_LISTS;
    if (const auto left = list_left_at_[next]; left && barrier_->passed() <= *left) {
        barrier_->wait(); // runs that began on that list may go on reading it
    }
    std::unordered_set<uint32_t> singles;
    for (size_t i = 0; i < list.size(); i++) {
        swd_xdp_mask m{};
        std::memcpy(&m.mask, &list[i].table->mask().f, sizeof m.mask);
        m.id = list[i].id;
        m.max_priority = list[i].table->max_priority();
        if (list[i].table->size() == 1) {
            list[i].table->for_each([&](const dp::flow_key& key, const dp::compiled_rule& r,
                                        std::span<const swd_action>) {
                m.single = 1;
                m.single_key = key.f;
                m.single_head = head_of(r);
                singles.insert(r.rule_id);
            });
        }
        const uint32_t idx = next * SWD_XDP_MAX_MASKS + static_cast<uint32_t>(i);
        if (bpf_map_update_elem(masks_.get(), &idx, &m, BPF_ANY) != 0) {
            return fail(errno_error(errno, "write the XDP mask list"));
        }
    }
    auto* config = config_memory_.as<swd_xdp_config>();
    swd_xdp_list_config& c = config->list[next];
    c.first_mask = next * SWD_XDP_MAX_MASKS;
    c.n_masks = static_cast<uint32_t>(list.size());
    c.search = search ? 1 : 0;
    c.egress = search && egress ? 1 : 0;
    c.tracks = search && tracks ? 1 : 0;
    c.ct_idle_timeout_ns = ct_->idle_timeout_ns();
    c.probe = index_->probe();
    c.index_mask = index_->index_mask();
    // Release: the list and its settings are written before a program can see them named.
    std::atomic_ref<__u32>(config->active).store(next, std::memory_order_release);
    // No program starts on the old list any more.
    list_left_at_[active_list_] = barrier_->passed();
    active_list_ = next;
    single_rules_ = std::move(singles);
    slots_.list_switched();
    action_lists_.list_switched();
    searching_ = search;
    egress_ = c.egress != 0;
    tracks_ = c.tracks != 0;
    return {};
}

void xdp_tables::disable(std::string why) {
    // User space has the whole table: sending every frame there first is always correct. Then
    // the maps are emptied, whatever a failed sync left in them.
    (void)switch_masks({}, false);
    while (!xdp_rules_.empty()) { // their rules may live on in user space
        release_rule(xdp_rules_.begin()->first, true);
    }
    for (const auto& [bytes, ref] : action_ids_) { // none, unless a failed sync left one
        action_lists_.give_back(ref.id);
    }
    action_ids_.clear();
    index_->clear();
    active_.clear();
    installed_rules_ = 0;
    why_not_ = std::move(why);
}

result<void> xdp_tables::sync(const dp::pipeline& p) {
    // The pools first: a rule placed in XDP that names one finds it written.
    if (auto r = lb_->sync(p.pools); !r) {
        disable(r.err().message());
        return r;
    }
    const table0 t = summary(p);
    const auto subs = t.subtables;
    if (p.tracks && t.user_priority) {
        // One tracker judges every packet: XDP's when XDP decides them all, else user space's
        // (a packet XDP hands over would meet connections it does not know).
        disable(fmt::format("the table tracks connections and a rule of priority {} is placed "
                            "in user space: tracking runs in XDP only when all of table 0 does",
                            *t.user_priority));
        return {};
    }
    if (!t.any_xdp) {
        disable("no rule of table 0 is placed in XDP");
        return {};
    }
    if (subs.size() > SWD_XDP_MAX_MASKS) {
        disable(fmt::format("table 0 has {} masks; XDP searches at most {}", subs.size(),
                            SWD_XDP_MAX_MASKS));
        return {};
    }
    if (t.n_rules > std::min(max_rules_, capacity_)) {
        disable(fmt::format("table 0 has {} rules; the XDP rule index holds {}{}", t.n_rules,
                            std::min(max_rules_, capacity_),
                            capacity_ < max_rules_ ? "" : " (--xdp-max-rules)"));
        return {};
    }
    out_of_room_ = false;
    std::vector<installed_mask> next;
    std::unordered_set<uint32_t> kept;
    bool any_egress = false; // an XDP-placed rule with in_port=LOCAL: the TC programs search
    // Whether a subtable holds such a rule; a shared subtable keeps what was found before.
    auto has_egress = [](const dp::subtable& st) {
        bool found = false;
        if (st.mask().f.in_port == 0xffff) {
            st.for_each([&](const dp::flow_key& k, const dp::compiled_rule& r,
                            std::span<const swd_action>) {
                found = found || (r.xdp && k.f.in_port == SWD_OFPORT_LOCAL);
            });
        }
        return found;
    };
    auto write_all = [&]() -> result<void> {
        for (const auto& st : subs) {
            const installed_mask* old = nullptr;
            for (const auto& m : active_) {
                if (m.table->mask() == st->mask()) {
                    old = &m;
                    break;
                }
            }
            if (old) {
                if (old->table != st) {
                    if (auto r = write_subtable(*st, old->id, old->table.get()); !r) {
                        return r;
                    }
                }
                kept.insert(old->id);
                next.push_back({old->id, st, old->table == st ? old->egress : has_egress(*st)});
            } else {
                const uint32_t id = next_mask_id_++;
                next.push_back({id, st, has_egress(*st)});
                if (auto r = write_subtable(*st, id, nullptr); !r) {
                    return r;
                }
            }
        }
        for (const auto& m : next) {
            any_egress = any_egress || m.egress;
        }
        return switch_masks(next, true, any_egress, p.tracks);
    };
    if (auto r = write_all(); !r) {
        disable("writing the XDP maps failed: " + r.err().message());
        return r;
    }
    for (const auto& m : active_) { // masks that left: nothing searches them any more
        if (kept.contains(m.id)) {
            continue;
        }
        m.table->for_each(
            [&](const dp::flow_key& key, const dp::compiled_rule& r, std::span<const swd_action>) {
                index_->erase(m.id, key.f);
                installed_rules_--;
                release_rule(r.rule_id);
            });
    }
    active_ = std::move(next);
    why_not_.clear();
    return {};
}

} // namespace swd::afxdp
