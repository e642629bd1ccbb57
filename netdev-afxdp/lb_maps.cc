#include "lb_maps.h"

#include <arpa/inet.h>
#include <cstring>
#include <fmt/format.h>

#include "xdp_tables.h"

extern "C" {
#include <bpf/bpf.h>
}

namespace swd::afxdp {

static_assert(sizeof(swd_lb_pool_info) == 40);
static_assert(sizeof(swd_lb_backend) == 24);

result<std::shared_ptr<lb_maps>> lb_maps::create(uint32_t sessions, uint64_t idle_timeout_ns) {
    auto barrier = reader_barrier::create();
    if (!barrier) {
        return fail(barrier.err());
    }
    std::shared_ptr<lb_maps> m(new lb_maps());
    m->barrier_ = std::move(*barrier);
    m->idle_timeout_ns_ = idle_timeout_ns;
    auto pools = create_bpf_map(BPF_MAP_TYPE_ARRAY, "swd_lb_pools", 4, sizeof(swd_lb_pool_info),
                                SWD_LB_XDP_MAX_POOLS);
    auto maglev = create_bpf_map(BPF_MAP_TYPE_ARRAY, "swd_lb_maglev", 4, sizeof(swd_lb_maglev),
                                 2 * SWD_LB_XDP_MAX_POOLS);
    auto backends = create_bpf_map(BPF_MAP_TYPE_ARRAY, "swd_lb_backends", 4, sizeof(swd_lb_backend),
                                   2 * SWD_LB_XDP_MAX_POOLS * SWD_LB_MAX_BACKENDS);
    auto table = create_bpf_map(BPF_MAP_TYPE_LRU_HASH, "swd_lb_sessions", sizeof(swd_lb_tuple),
                                sizeof(swd_lb_session_entry), std::max<uint32_t>(sessions, 1));
    for (auto* r : {&pools, &maglev, &backends, &table}) {
        if (!*r) {
            return fail(r->err());
        }
    }
    m->pools_ = std::move(*pools);
    m->maglev_ = std::move(*maglev);
    m->backends_ = std::move(*backends);
    m->sessions_ = std::move(*table);
    return m;
}

result<void> lb_maps::sync(std::span<const std::shared_ptr<const dp::lb::compiled_pool>> pools) {
    for (uint32_t id = 0; id < SWD_LB_XDP_MAX_POOLS; id++) {
        const auto& p = id < pools.size() ? pools[id] : nullptr;
        if (p == installed_[id]) {
            continue;
        }
        if (auto r = write_pool(id, p.get()); !r) {
            return r;
        }
        installed_[id] = p;
    }
    return {};
}

result<void> lb_maps::write_pool(uint32_t id, const dp::lb::compiled_pool* p) {
    auto update = [](int fd, uint32_t key, const void* value, const char* what) -> result<void> {
        if (bpf_map_update_elem(fd, &key, value, BPF_ANY) != 0) {
            return fail(errno_error(errno, fmt::format("write the load balancer's {}", what)));
        }
        return {};
    };
    swd_lb_pool_info info{};
    if (p != nullptr) {
        const uint32_t half = installed_[id] ? active_[id] ^ 1u : 0u;
        if (const auto left = left_at_[id][half]; left && barrier_->passed() <= *left) {
            barrier_->wait(); // runs that began on that half may go on reading it
        }
        auto table = std::make_unique<swd_lb_maglev>();
        std::memset(table.get(), 0, sizeof *table);
        p->table.export_to(*table);
        if (auto r = update(maglev_.get(), id * 2 + half, table.get(), "Maglev table"); !r) {
            return r;
        }
        for (size_t b = 0; b < p->backends.size(); b++) {
            swd_lb_backend v{};
            std::memcpy(v.addr, p->backends[b].addr, sizeof v.addr);
            v.port = htons(p->backends[b].port);
            std::memcpy(v.mac, p->backends[b].mac, sizeof v.mac);
            const uint32_t at = (id * 2 + half) * SWD_LB_MAX_BACKENDS + static_cast<uint32_t>(b);
            if (auto r = update(backends_.get(), at, &v, "backends"); !r) {
                return r;
            }
        }
        std::memcpy(info.vip, p->vip, sizeof info.vip);
        info.vip_port = htons(p->vip_port);
        info.proto = p->proto;
        info.ipv6 = p->ipv6 ? 1 : 0;
        info.present = 1;
        info.active = half;
        info.idle_timeout_ns = idle_timeout_ns_;
    }
    if (auto r = update(pools_.get(), id, &info, "pools"); !r) {
        return r;
    }
    if (installed_[id]) { // the half in use until now: no program starts on it any more
        left_at_[id][active_[id]] = barrier_->passed();
    }
    if (p != nullptr) {
        active_[id] = info.active;
    }
    return {};
}

} // namespace swd::afxdp
