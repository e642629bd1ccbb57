// The load balancer's session table on DPDK's rte_hash: the interface and behaviour of
// session_table.h, so that lb_bench and the tests run both and compare them. Built when meson
// finds libdpdk (option dpdk=auto; SWD_HAVE_DPDK is then defined).
//
// How it works:
// - rte_hash (a cuckoo hash: buckets of 8 entries with 16-bit signatures) in lock-free reader
//   mode (RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF), keyed by struct swd_lb_tuple with our flow
//   hash passed in (the *_with_hash calls). Its data pointer names a node of our own (the
//   session and its last-used time) from a pool allocated by create().
// - Reclamation by DPDK's RCU (rte_rcu_qsbr, defer-queue mode): a deleted key's slot and node
//   are reused once every reader has been offline since (a delete reclaims when 32 wait; the
//   pool has a node for every entry and every place of the defer queue). A reader is online
//   between enter(r) and leave(r) and offline otherwise: our table's reader sections, in DPDK's
//   terms.
// - Writers take one lock: rte_hash's own writer concurrency would not make "insert unless the
//   key has a live entry" atomic. Aging, the bound on live entries and the counters are ours,
//   as in session_table.h; when full, an insert expires idle entries among the next 8 of a
//   sweep over the table (rte_hash_iterate), else evicts the least recently used of them: the
//   sample of ours (8 buckets at load 1). rte_hash gets an eighth more key slots than the
//   capacity, since a cuckoo hash filled to the last slot refuses keys.
//
// DPDK needs its environment (EAL) once per process: create() starts it when nobody has
// (dpdk_init: no hugepages, no PCI, memory from anonymous mmap, the calling thread's CPU
// affinity restored afterwards).
//
// Thread-safety: as session_table.h.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "session_table.h"

struct rte_hash;
struct rte_rcu_qsbr;

namespace swd::dp::lb {

// Starts DPDK's EAL with memory_mb of (non-huge) memory, once per process; later calls return
// the first one's result.
result<void> dpdk_init(size_t memory_mb);

class rte_session_table {
public:
    using insert_status = session_table::insert_status;

    static result<std::unique_ptr<rte_session_table>> create(const session_table_config& cfg);
    ~rte_session_table();
    rte_session_table(const rte_session_table&) = delete;
    rte_session_table& operator=(const rte_session_table&) = delete;

    static uint32_t hash(const swd_lb_tuple& key) noexcept { return swd_lb_hash(&key); }

    void enter(uint32_t reader) noexcept;
    void leave(uint32_t reader) noexcept;
    bool lookup(uint32_t reader, const swd_lb_tuple& key, uint32_t hash, uint64_t now,
                swd_lb_session* out) noexcept;
    insert_status insert(const swd_lb_tuple& key, uint32_t hash, const swd_lb_session& value,
                         uint64_t now, swd_lb_session* existing = nullptr) noexcept;
    bool erase(const swd_lb_tuple& key, uint32_t hash) noexcept;
    // Removes entries idle for longer than the timeout among the next max_entries of the sweep.
    size_t expire(uint64_t now, size_t max_entries) noexcept;

    uint32_t capacity() const noexcept { return capacity_; }
    uint32_t size() const noexcept { return live_.load(std::memory_order_relaxed); }
    session_counters counters() const noexcept;

private:
    struct node {
        swd_lb_session value{};
        std::atomic<uint64_t> last_used{0};
        node* free_next = nullptr;
    };
    struct alignas(64) reader_counters {
        std::atomic<uint64_t> hits{0}, misses{0};
    };

    explicit rte_session_table(const session_table_config& cfg);
    static void free_node(void* table, void* node_ptr);
    bool idle_past(const node* n, uint64_t now) const noexcept;
    // Under the writer lock: the sweep's next `max` entries; removes the idle ones and, when
    // evict is set and none was idle, the least recently used. Returns how many it removed.
    size_t sweep(uint64_t now, size_t max, bool evict) noexcept;
    bool remove(const swd_lb_tuple& key, uint32_t hash) noexcept; // under the writer lock

    uint32_t capacity_;
    uint32_t n_readers_;
    uint64_t idle_timeout_;
    rte_hash* hash_ = nullptr;
    rte_rcu_qsbr* rcu_ = nullptr;
    std::unique_ptr<node[]> nodes_;
    std::unique_ptr<reader_counters[]> readers_;
    node* free_ = nullptr; // under lock_
    uint32_t cursor_ = 0;  // the sweep's position (rte_hash_iterate), under lock_
    alignas(64) std::atomic<uint32_t> lock_{0};
    std::atomic<uint32_t> live_{0};
    std::atomic<uint64_t> inserts_{0}, insert_exists_{0}, deletes_{0}, expirations_{0},
        evictions_{0}, full_{0};
};

} // namespace swd::dp::lb
