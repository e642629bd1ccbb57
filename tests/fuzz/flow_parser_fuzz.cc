// libFuzzer target: the flow parser in every mode. Besides "never crash, never read out of
// bounds", it checks a property: every rule the parser accepts formats to text that parses back
// to the same rule.
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "flows/format.h"
#include "flows/parser.h"

using namespace swd::flows;

namespace {

bool same_rule(const rule& a, const rule& b) {
    return a.same_identity(b) && a.same_content(b);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    parse_context ctx;
    ctx.ports = {{"eth0", 1}, {"eth1", 2}};
    ctx.pools.push_back({});
    ctx.pools[0].name = "known";
    ctx.pools[0].id = 7;
    for (auto mode :
         {parse_mode::config, parse_mode::flow_mods, parse_mode::match, parse_mode::modify}) {
        for (bool strict : {false, true}) {
            ctx.strict = strict;
            parse_output out = parse_flows(text, "<fuzz>", mode, ctx);
            for (const auto& d : out.errors) {
                if (d.format().empty()) {
                    std::abort();
                }
            }
            if (!out.ok() || mode != parse_mode::config) {
                continue;
            }
            std::vector<port_decl> ports = ctx.ports;
            ports.insert(ports.end(), out.ports.begin(), out.ports.end());
            format_names names{&ports, &out.pools};
            std::string again;
            for (const auto& p : out.pools) {
                again += format_pool(p) + "\n";
            }
            for (const auto& m : out.mods) {
                again += format_rule(m.spec, names) + "\n";
            }
            parse_context ctx2;
            ctx2.ports = ports;
            parse_output back = parse_flows(again, "<again>", mode, ctx2);
            if (!back.ok() || back.mods.size() != out.mods.size()) {
                std::abort();
            }
            for (size_t i = 0; i < out.mods.size(); i++) {
                if (!same_rule(out.mods[i].spec, back.mods[i].spec)) {
                    std::abort();
                }
            }
        }
    }
    return 0;
}
