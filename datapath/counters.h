// Datapath counters: per rule and per (port, queue), kept per thread and summed on read.
//
// Each datapath thread writes only its own counters, with relaxed atomic stores (no locked
// instruction: a plain load-add-store), and the control thread reads them with relaxed loads and
// sums over threads. Rule counters live in fixed-size chunks that are allocated by the control
// thread before it publishes a pipeline that uses those rule ids, and never move or shrink while
// threads run.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "flow_key.h"

namespace swd::dp {

// Relaxed single-writer counter.
struct counter {
    std::atomic<uint64_t> v{0};
    void add(uint64_t n) noexcept {
        v.store(v.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }
    uint64_t get() const noexcept { return v.load(std::memory_order_relaxed); }
    void reset() noexcept { v.store(0, std::memory_order_relaxed); }
};

struct rule_slot {
    counter packets;
    counter bytes;
    counter last_hit_ns; // steady_clock nanoseconds of the last hit; 0 = never
};

// Why a packet was dropped or an event happened; every drop has a named counter.
enum class port_counter : uint8_t {
    rx_packets,
    rx_bytes,
    tx_packets,
    tx_bytes,
    drop_action,      // the rule's actions drop it (actions=drop or no output)
    drop_no_rule,     // no rule matched (table miss)
    drop_ttl_expired, // dec_ttl on TTL 0 or 1
    malformed,     // headers invalid or cut short; the packet is still classified on what was valid
    drop_tx_full,  // the output's tx ring had no room
    drop_no_frame, // no free UMEM frame to copy the packet into
    drop_unsupported,     // an action this datapath cannot run
    drop_lb_no_session,   // lb(): no session, and not addressed to the vip (lb/balancer.h)
    drop_lb_no_backend,   // lb(): a new session, and no backend takes new sessions
    drop_lb_not_balanced, // lb(): not TCP/UDP of the pool's family, or a later fragment
    drop_loop,            // goto_table chain longer than the tables
    rewrite_skipped,      // a set-field or dec_ttl action on a packet without that header
    idle_polls,           // polls of an rx ring that found nothing
    fill_ring_empty,      // the kernel had no frame to receive into (fill ring ran dry)
    tx_wakeups,           // sendto() kicks for tx
    rx_wakeups,           // recvfrom()/poll() syscalls for rx
    busy_polls,           // busy-poll syscalls (sysc mode)
    count_,
};

std::string_view port_counter_name(port_counter c);
// Name of an XDP dispatcher counter (enum swd_xdp_counter), as dump-ports prints it.
const char* xdp_counter_name(unsigned c);
// Name of a TC egress program counter (enum swd_tc_counter), as dump-ports prints it.
const char* tc_counter_name(unsigned c);

struct queue_counters {
    std::array<counter, static_cast<size_t>(port_counter::count_)> c;
    void add(port_counter which, uint64_t n = 1) noexcept { c[static_cast<size_t>(which)].add(n); }
    uint64_t get(port_counter which) const noexcept { return c[static_cast<size_t>(which)].get(); }
};

// One thread's rule counters: chunks of rule_chunk slots, indexed by rule id.
class rule_counter_table {
public:
    static constexpr uint32_t chunk = 1u << 16;
    static constexpr uint32_t max_chunks = 256; // 16M rules

    // Control thread: make ids < n addressable. Allocates; never moves existing chunks.
    void reserve(uint32_t n);
    // Control thread: zero the counters of ids that a new rule takes.
    void reset(uint32_t id) noexcept;

    rule_slot& at(uint32_t id) noexcept {
        return chunks_[id / chunk].load(std::memory_order_relaxed)[id % chunk];
    }
    const rule_slot* find(uint32_t id) const noexcept {
        rule_slot* c =
            id / chunk < max_chunks ? chunks_[id / chunk].load(std::memory_order_acquire) : nullptr;
        return c ? &c[id % chunk] : nullptr;
    }

    rule_counter_table() = default;
    ~rule_counter_table();
    rule_counter_table(const rule_counter_table&) = delete;
    rule_counter_table& operator=(const rule_counter_table&) = delete;

private:
    std::array<std::atomic<rule_slot*>, max_chunks> chunks_{};
};

} // namespace swd::dp
