#include "ct_map.h"

#include <algorithm>

#include "xdp_tables.h"

extern "C" {
#include <bpf/bpf.h>
}

namespace swd::afxdp {

static_assert(sizeof(swd_ct_entry) == 8);

result<std::shared_ptr<ct_map>> ct_map::create(uint32_t entries, uint64_t idle_timeout_ns) {
    std::shared_ptr<ct_map> m(new ct_map());
    m->capacity_ = std::max<uint32_t>(entries, 1);
    m->idle_timeout_ns_ = idle_timeout_ns;
    auto map = create_bpf_map(BPF_MAP_TYPE_LRU_HASH, "swd_ct", sizeof(swd_lb_tuple),
                              sizeof(swd_ct_entry), m->capacity_);
    if (!map) {
        return fail(map.err());
    }
    m->map_ = std::move(*map);
    return m;
}

uint64_t ct_map::entries() const {
    uint64_t n = 0;
    swd_lb_tuple key{}, next{};
    for (const swd_lb_tuple* k = nullptr; bpf_map_get_next_key(map_.get(), k, &next) == 0;
         k = &key) {
        key = next;
        n++;
    }
    return n;
}

size_t ct_map::load_from(const dp::lb::session_table& user, uint64_t now) {
    size_t n = 0;
    for (const auto& e : user.live_entries(now)) {
        const swd_ct_entry v{e.last_used};
        n += bpf_map_update_elem(map_.get(), &e.key, &v, BPF_ANY) == 0 ? 1 : 0;
    }
    return n;
}

std::vector<dp::lb::session_table::live_entry> ct_map::live_entries(uint64_t now) const {
    std::vector<dp::lb::session_table::live_entry> out;
    swd_lb_tuple key{}, next{};
    for (const swd_lb_tuple* k = nullptr; bpf_map_get_next_key(map_.get(), k, &next) == 0;
         k = &key) {
        key = next;
        swd_ct_entry v{};
        if (bpf_map_lookup_elem(map_.get(), &key, &v) == 0 &&
            !(now > v.last_used && now - v.last_used > idle_timeout_ns_)) {
            out.push_back({key, v.last_used});
        }
    }
    return out;
}

size_t ct_map::clear(uint64_t now) {
    const size_t live = live_entries(now).size();
    swd_lb_tuple key{};
    while (bpf_map_get_next_key(map_.get(), nullptr, &key) == 0) {
        bpf_map_delete_elem(map_.get(), &key);
    }
    return live;
}

size_t ct_map::store_into(dp::lb::session_table& user, uint64_t now) const {
    size_t n = 0;
    for (const auto& e : live_entries(now)) {
        using status = dp::lb::session_table::insert_status;
        const status st =
            user.insert(e.key, dp::lb::session_table::hash(e.key), swd_lb_session{}, e.last_used);
        n += st != status::full ? 1 : 0; // exists: user space still had it
    }
    return n;
}

} // namespace swd::afxdp
