// The flow-rule model shared by the parser, the rule table, the compiler and the formatter.
//
// A rule is what one ovs-ofctl line describes: a match, a priority, OpenFlow properties and an
// action list in the ABI encoding (struct swd_action). Rules are immutable once inserted in a rule
// table; a change makes a new rule object.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "datapath/flow_key.h"

namespace swd::flows {

enum class placement : uint8_t { automatic, xdp, user };

struct rule {
    dp::flow_match match;
    uint16_t priority = SWD_DEFAULT_PRIORITY;
    uint8_t table = 0;
    placement place = placement::automatic;
    uint16_t idle_timeout = 0; // seconds, 0 = never
    uint16_t hard_timeout = 0;
    uint64_t cookie = 0;
    std::vector<swd_action> actions; // empty = drop
    // queue=N: steer the rule's flows to receive queue N (NIC ntuple filters where the port has
    // them, else the XDP search sends them to user space; netdev-afxdp/steering.h).
    std::optional<uint16_t> queue;

    // Set by the rule table when the rule is installed.
    uint32_t id = 0;
    std::chrono::steady_clock::time_point created{};  // for duration and hard_timeout
    std::chrono::steady_clock::time_point modified{}; // mod-flows restarts hard_timeout

    // Identity in OpenFlow terms: table, priority and match (what --strict compares).
    bool same_identity(const rule& o) const noexcept {
        return table == o.table && priority == o.priority && match == o.match;
    }
    // What replace-flows and diff-flows compare besides identity.
    bool same_content(const rule& o) const noexcept;
    // The receive queue this rule asks its flows to be steered to: queue=N, else the first
    // set_queue:N of a table 0 rule (the queue a flow leaves on is the one it arrives on).
    std::optional<uint16_t> steering_queue() const noexcept;
};

enum class flow_command : uint8_t { add, modify, modify_strict, del, del_strict };

// One parsed line of an add-flows file, or a del-flows / mod-flows / dump-flows argument.
struct flow_mod {
    flow_command command = flow_command::add;
    rule spec;
    // Filters for modify/delete/dump. cookie_mask == 0 means "any cookie".
    uint64_t cookie_filter = 0;
    uint64_t cookie_mask = 0;
    bool table_given = false;  // no table= in modify/delete means all tables
    bool cookie_given = false; // a new cookie (cookie= without mask)
    bool placement_given = false;
    bool queue_given = false;
    std::optional<uint16_t> out_port; // del-flows/dump-flows out_port= filter
    int line = 0;                     // where it came from, for messages
};

// Load-balancer pool declared in the flow text.
enum class backend_state : uint8_t { up, drain, down };

struct backend {
    bool ipv6 = false;
    uint32_t addr[4] = {}; // network order, IPv4 in [0]
    uint16_t port = 0;     // host order
    uint8_t mac[6] = {};
    uint16_t weight = 1;
    backend_state state = backend_state::up;

    friend bool operator==(const backend&, const backend&) = default;
};

struct lb_pool {
    std::string name;
    uint16_t id = 0; // stable while the pool exists; actions refer to it
    bool ipv6 = false;
    uint32_t vip[4] = {}; // network order
    uint16_t vip_port = 0;
    uint8_t proto = 6; // IPPROTO_TCP or IPPROTO_UDP
    std::vector<backend> backends;

    friend bool operator==(const lb_pool&, const lb_pool&) = default;
};

// How an AF_XDP port runs (docs/flow-syntax.md, "Ports"). The names follow Open vSwitch's
// afxdp options where it has them (xdp-mode, use-need-wakeup, n_rxq).
struct port_options {
    enum class xdp_mode : uint8_t { best_effort, native_with_zerocopy, native, generic };
    enum class wait_mode : uint8_t { spin, poll, busy };

    xdp_mode xdp = xdp_mode::best_effort;
    bool use_need_wakeup = true;
    wait_mode wait = wait_mode::spin;
    uint32_t busy_poll_usecs = 20;
    uint32_t busy_poll_budget = 64;
    uint32_t napi_defer_hard_irqs = 2;
    uint32_t gro_flush_timeout = 200000; // ns
    uint32_t first_queue = 0;
    uint32_t n_queues = 0; // 0: every receive queue of the interface
    // Receive queues whose frames the XDP dispatcher sends straight to user space (user) or to
    // the kernel stack (kernel), without searching the rules; count 0: none.
    uint32_t first_user_queue = 0, n_user_queues = 0;
    uint32_t first_kernel_queue = 0, n_kernel_queues = 0;

    friend bool operator==(const port_options&, const port_options&) = default;
};

// A port declared in the flow text (port=NAME, ofport=N, options) or on the command line.
struct port_decl {
    std::string name;
    uint16_t ofport = 0;
    port_options options;
    friend bool operator==(const port_decl&, const port_decl&) = default;
};

// OpenFlow's LOCAL port: this host's kernel stack (in_port=LOCAL, output:LOCAL).
inline constexpr uint16_t ofport_local = 0xfffe;

} // namespace swd::flows
