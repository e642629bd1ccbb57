// The interface between the control plane (tools/swd) and a datapath.
//
// The control plane compiles the rule table into a dp::pipeline and calls publish(); the
// datapath makes it the table that packets are classified against (user-space threads switch at
// their next batch, the XDP maps are rewritten), and reports rule counters and where each rule
// runs. Implementations: null_datapath (no ports: the switch only holds the table), and the
// AF_XDP + XDP datapath of later issues.
//
// Thread-safety: every method is called from the control thread only.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "classifier.h"
#include "costs.h"
#include "counters.h"
#include "util/result.h"

namespace swd::dp {

struct rule_counters {
    uint64_t packets = 0;
    uint64_t bytes = 0;
    std::chrono::steady_clock::time_point last_hit{}; // epoch when never hit
    uint64_t xdp_packets = 0;                         // of packets, those the XDP dispatcher ran
};

enum class rule_location : uint8_t { none, user, xdp, both };

// One receive/transmit queue of a port, as dump-ports shows it.
struct queue_stats {
    uint32_t queue = 0;
    int thread = -1; // datapath thread serving it; -1: transmit only
    bool rx = true;  // false: a transmit-only socket
    std::array<uint64_t, static_cast<size_t>(port_counter::count_)> counters{};
    // From the kernel (XDP_STATISTICS).
    uint64_t kernel_rx_dropped = 0, kernel_rx_invalid = 0, kernel_tx_invalid = 0;
    uint64_t kernel_rx_ring_full = 0, kernel_fill_ring_empty = 0, kernel_tx_ring_empty = 0;
};

struct port_stats {
    std::string name;
    uint16_t ofport = 0;
    std::string mode;     // e.g. "copy, need_wakeup, spin, XDP native"
    std::string steering; // its ntuple filters, or why it has none
    std::vector<queue_stats> queues;
    std::array<uint64_t, SWD_XC_COUNT> xdp{};    // the port's XDP dispatcher (enum swd_xdp_counter)
    bool has_egress = false;                     // a TC egress program (not on the local port)
    std::array<uint64_t, SWD_TC_COUNT> egress{}; // its counters (enum swd_tc_counter)
};

struct thread_info {
    int index = 0;
    int cpu = -1;                    // -1: not pinned
    std::vector<std::string> queues; // "eth0/q0"
};

// How a rule's queue steering is in force (netdev-afxdp/steering.h).
struct steering_state {
    std::string summary; // "ntuple:eth0/q2+xdp:eth1/q2"; "": no datapath steers it
    std::string detail;  // with the filters and the reasons for the fallbacks
};

const char* location_name(rule_location l);

class datapath {
public:
    virtual ~datapath() = default;

    virtual const char* kind() const = 0;

    // Makes p current. born lists rule ids that are new in p: their counters start at zero.
    virtual void publish(std::shared_ptr<const pipeline> p, std::span<const uint32_t> born) = 0;

    // Every version <= the returned one is no longer used by any datapath thread.
    virtual uint64_t retired_version() const = 0;

    // Counters of the given rules, summed over threads and paths.
    virtual void read_counters(std::span<const uint32_t> ids,
                               std::span<rule_counters> out) const = 0;

    virtual rule_location where(uint32_t rule_id) const = 0;
    // For a rule with a steering request (flows/rule.h steering_queue).
    virtual steering_state steering_of(uint32_t) const { return {}; }

    // swctl calibrate (datapath/costs.h): probe is the table compiled in the all-xdp profile
    // (every rule XDP can run marked so); the live sample takes sample_s seconds of the
    // control thread.
    virtual result<cost_measurements> measure_costs(const pipeline& /*probe*/,
                                                    double /*sample_s*/) {
        return fail(errc::unsupported, "nothing to measure without ports");
    }

    // The XDP dispatcher's state in a line, for show.
    virtual std::string xdp_status() const { return "no XDP dispatcher (no ports)"; }

    virtual std::vector<port_stats> ports() const { return {}; }
    virtual std::vector<thread_info> threads() const { return {}; }

    // The control thread's periodic work (about once a second): ages load-balancer sessions and
    // tracked connections.
    virtual void tick() {}
    // The load balancer's session table and the connection table in (name, value) pairs, for
    // show; empty: none.
    using table_stats = std::vector<std::pair<std::string, uint64_t>>;
    virtual table_stats lb_sessions() const { return {}; }
    virtual table_stats connections() const { return {}; }

    // The live connections of the tracker in use ("xdp" or "user"): at most `limit` of them,
    // and how many there are. Control thread; walks the whole table.
    struct connection {
        swd_lb_tuple tuple; // the committed direction
        uint64_t idle_ns;   // since its last packet
    };
    struct connection_list {
        std::string tracker = "none";
        size_t total = 0;
        std::vector<connection> entries;
    };
    virtual connection_list list_connections(size_t /*limit*/) const { return {}; }
    // Forgets every connection of both trackers; returns how many were live.
    virtual size_t flush_connections() { return 0; }
};

// No ports: holds the current pipeline so the control plane can be run and tested on its own.
class null_datapath final : public datapath {
public:
    const char* kind() const override { return "none"; }
    void publish(std::shared_ptr<const pipeline> p, std::span<const uint32_t>) override {
        current_ = std::move(p);
    }
    uint64_t retired_version() const override { return current_ ? current_->version - 1 : 0; }
    void read_counters(std::span<const uint32_t>, std::span<rule_counters> out) const override {
        for (auto& c : out) {
            c = {};
        }
    }
    rule_location where(uint32_t) const override { return rule_location::none; }
    const pipeline* current() const { return current_.get(); }

private:
    std::shared_ptr<const pipeline> current_;
};

} // namespace swd::dp
