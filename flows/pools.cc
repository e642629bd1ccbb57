#include "pools.h"

#include <algorithm>
#include <fmt/format.h>

namespace swd::flows {

result<std::shared_ptr<const dp::lb::compiled_pool>> compile_pool(const lb_pool& p) {
    std::vector<dp::lb::maglev_backend> mb;
    std::vector<dp::lb::session_backend> sb;
    mb.reserve(p.backends.size());
    sb.reserve(p.backends.size());
    for (size_t i = 0; i < p.backends.size(); i++) {
        const backend& b = p.backends[i];
        dp::lb::maglev_backend m;
        m.ipv6 = b.ipv6;
        std::copy(b.addr, b.addr + 4, m.addr);
        m.port = b.port;
        m.weight = b.weight;
        m.state = static_cast<dp::lb::backend_state>(b.state);
        mb.push_back(m);
        dp::lb::session_backend s;
        std::copy(b.addr, b.addr + 4, s.addr);
        s.port = b.port;
        std::copy(b.mac, b.mac + 6, s.mac);
        s.index = static_cast<uint16_t>(i);
        sb.push_back(s);
    }
    auto table = dp::lb::maglev_table::build(mb);
    if (!table) {
        return fail(errc::invalid_input, fmt::format("pool {}: {}", p.name, table.err().message()));
    }
    return std::make_shared<const dp::lb::compiled_pool>(p.id, p.ipv6, p.proto, p.vip, p.vip_port,
                                                         std::move(sb), std::move(*table));
}

std::vector<std::shared_ptr<const dp::lb::compiled_pool>>
pool_compiler::compile(std::span<const lb_pool> pools) {
    std::vector<std::shared_ptr<const dp::lb::compiled_pool>> out;
    for (const lb_pool& p : pools) {
        std::shared_ptr<const dp::lb::compiled_pool> c;
        for (size_t i = 0; i < decl_.size(); i++) {
            if (decl_[i] == p) {
                c = compiled_[i];
                break;
            }
        }
        if (!c) {
            auto built = compile_pool(p);
            if (built) { // the parser rejects what would fail
                c = std::move(*built);
            }
        }
        if (out.size() <= p.id) {
            out.resize(p.id + 1u);
        }
        out[p.id] = std::move(c);
    }
    decl_.assign(pools.begin(), pools.end());
    compiled_.clear();
    for (const lb_pool& p : pools) {
        compiled_.push_back(out[p.id]);
    }
    return out;
}

} // namespace swd::flows
