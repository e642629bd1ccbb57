// The benchmarks' rule tables: flow-file text compiled from scratch as swd compiles it, rule ids
// 1..N in the order of the text. Shared by exec_cost and xdp_cost.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "flows/compiler.h"
#include "flows/parser.h"

namespace swd::bench {

struct compiled_text {
    std::shared_ptr<const dp::pipeline> pipeline; // null: error says why
    size_t n_rules = 0;
    std::string error;
};

inline compiled_text compile_text(std::string_view text, std::string_view name,
                                  flows::profile p = flows::profile::hybrid) {
    auto out = flows::parse_flows(text, name, flows::parse_mode::config, {});
    if (!out.ok()) {
        return {nullptr, 0, std::string(name) + ": " + out.errors.front().what};
    }
    std::vector<flows::rule> rules;
    rules.reserve(out.mods.size());
    for (auto& fm : out.mods) {
        fm.spec.id = static_cast<uint32_t>(rules.size() + 1);
        rules.push_back(std::move(fm.spec));
    }
    std::vector<const flows::rule*> ptrs;
    for (const auto& r : rules) {
        ptrs.push_back(&r);
    }
    return {flows::compiler::compile_all(ptrs, 1, p), rules.size(), {}};
}

} // namespace swd::bench
