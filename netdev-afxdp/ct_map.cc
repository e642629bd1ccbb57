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

} // namespace swd::afxdp
