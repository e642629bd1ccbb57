#include "counters.h"

#include <iterator>

namespace swd::dp {

std::string_view port_counter_name(port_counter c) {
    switch (c) {
    case port_counter::rx_packets:
        return "rx_packets";
    case port_counter::rx_bytes:
        return "rx_bytes";
    case port_counter::tx_packets:
        return "tx_packets";
    case port_counter::tx_bytes:
        return "tx_bytes";
    case port_counter::drop_action:
        return "drop_action";
    case port_counter::drop_no_rule:
        return "drop_no_rule";
    case port_counter::drop_ttl_expired:
        return "drop_ttl_expired";
    case port_counter::malformed:
        return "malformed";
    case port_counter::drop_tx_full:
        return "drop_tx_full";
    case port_counter::drop_no_frame:
        return "drop_no_frame";
    case port_counter::drop_unsupported:
        return "drop_unsupported";
    case port_counter::drop_lb_no_session:
        return "drop_lb_no_session";
    case port_counter::drop_lb_no_backend:
        return "drop_lb_no_backend";
    case port_counter::drop_lb_not_balanced:
        return "drop_lb_not_balanced";
    case port_counter::drop_loop:
        return "drop_loop";
    case port_counter::rewrite_skipped:
        return "rewrite_skipped";
    case port_counter::idle_polls:
        return "idle_polls";
    case port_counter::fill_ring_empty:
        return "fill_ring_empty";
    case port_counter::tx_wakeups:
        return "tx_wakeups";
    case port_counter::rx_wakeups:
        return "rx_wakeups";
    case port_counter::busy_polls:
        return "busy_polls";
    case port_counter::count_:
        break;
    }
    return "?";
}

void rule_counter_table::reserve(uint32_t n) {
    for (uint32_t c = 0; c * chunk < n && c < max_chunks; c++) {
        if (!chunks_[c].load(std::memory_order_relaxed)) {
            chunks_[c].store(new rule_slot[chunk], std::memory_order_release);
        }
    }
}

void rule_counter_table::reset(uint32_t id) noexcept {
    if (const rule_slot* s = find(id)) {
        auto* w = const_cast<rule_slot*>(s);
        w->packets.reset();
        w->bytes.reset();
        w->last_hit_ns.reset();
    }
}

rule_counter_table::~rule_counter_table() {
    for (auto& c : chunks_) {
        delete[] c.load(std::memory_order_relaxed);
    }
}

const char* xdp_counter_name(unsigned c) {
    static constexpr const char* names[SWD_XC_COUNT] = {
        "rx",
        "to_user",
        "no_socket_pass",
        "pass_local",
        "tx",
        "redirect",
        "drop_rule",
        "drop_no_rule",
        "drop_ttl_expired",
        "drop_no_port",
        "malformed",
        "rewrite_skipped",
        "queue_kernel",
        "queue_user",
        "drop_lb_no_session",
        "drop_lb_no_backend",
        "drop_lb_not_balanced",
        "lb_session_full",
        "ct_created",
        "ct_renewed",
    };
    static_assert(std::size(names) == SWD_XC_COUNT, "a name for every enum swd_xdp_counter");
    return c < SWD_XC_COUNT ? names[c] : "?";
}

const char* tc_counter_name(unsigned c) {
    static constexpr const char* names[] = {
        "idle_pass",    "rx",
        "pass_no_rule", "pass_user_rule",
        "pass_rule",    "redirect",
        "drop_rule",    "drop_ttl_expired",
        "drop_no_port", "drop_rewrite_failed",
        "malformed",    "rewrite_skipped",
        "pulled",       "pass_redirected",
        "ct_created",   "ct_renewed",
    };
    static_assert(std::size(names) == SWD_TC_COUNT, "a name for every enum swd_tc_counter");
    return c < SWD_TC_COUNT ? names[c] : "?";
}

} // namespace swd::dp
