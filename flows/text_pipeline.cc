#include "text_pipeline.h"

namespace swd::flows {

result<text_pipeline> compile_text(std::string_view text, std::string_view name,
                                   const text_pipeline_options& o) {
    auto out = parse_flows(text, name, o.mode, o.ctx);
    if (!out.ok()) {
        return fail(errc::invalid_input, format_all(out.errors));
    }
    text_pipeline t;
    t.rules.reserve(out.mods.size());
    for (auto& fm : out.mods) {
        fm.spec.id = o.first_id + static_cast<uint32_t>(t.rules.size());
        t.rules.push_back(std::move(fm.spec));
    }
    std::vector<const rule*> ptrs;
    ptrs.reserve(t.rules.size());
    for (const auto& r : t.rules) {
        ptrs.push_back(&r);
    }
    pool_compiler fresh;
    pool_compiler& pools = o.pools ? *o.pools : fresh;
    t.pipeline = compiler::compile_all(ptrs, o.version, o.placement, pools.compile(out.pools));
    return t;
}

} // namespace swd::flows
