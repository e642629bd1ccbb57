// Prints rules, pools and ports in the flow language, canonically: the text parses back to the
// same rule (round trip), field order and spelling follow ovs-ofctl's dump-flows.
#pragma once

#include <string>
#include <vector>

#include "rule.h"

namespace swd::flows {

struct format_names {
    const std::vector<port_decl>* ports = nullptr; // print port names where known
    const std::vector<lb_pool>* pools = nullptr;   // pool ids to names
};

// Statistics shown by dump-flows (the parser accepts and ignores them).
struct rule_stats_text {
    double duration_s = 0;
    uint64_t packets = 0;
    uint64_t bytes = 0;
    const char* runs = "user"; // where the rule executes: xdp, user, both
    std::string steering; // how its queue= / set_queue is in force ("ntuple:eth0/q2"); "": none
};

// "priority=300,tcp,nw_src=10.0.0.0/8 actions=drop" with properties that differ from their
// defaults in front ("cookie=0x5, table=1, idle_timeout=10, "), and statistics when given.
std::string format_rule(const rule& r, const format_names& names,
                        const rule_stats_text* stats = nullptr);
std::string format_match(const dp::flow_match& m, const format_names& names);
std::string format_actions(const std::vector<swd_action>& actions, const format_names& names);
std::string format_pool(const lb_pool& p);
// ADDR:PORT or [ADDR]:PORT; addr in network byte order, port in host order.
std::string format_endpoint(bool ipv6, const uint32_t* addr, uint16_t port);
std::string format_port(const port_decl& p);
const char* placement_name(placement p);

} // namespace swd::flows
