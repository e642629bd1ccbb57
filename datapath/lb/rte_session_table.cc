#include "rte_session_table.h"

#include <algorithm>
#include <cerrno>
#include <fmt/format.h>
#include <mutex>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>
#include <sched.h>
#include <string>
#include <thread>
#include <vector>

namespace swd::dp::lb {

namespace {

uint32_t tuple_hash(const void* key, uint32_t, uint32_t) {
    return swd_lb_hash(static_cast<const swd_lb_tuple*>(key));
}

constexpr size_t sweep_sample = 64; // entries an expire() pass reads at a time
constexpr size_t evict_sample = 8;  // entries a full insert considers, as ours (8 buckets)

} // namespace

result<void> dpdk_init(size_t memory_mb) {
    static std::once_flag once;
    static result<void> status;
    std::call_once(once, [memory_mb] {
        cpu_set_t affinity;
        CPU_ZERO(&affinity);
        const bool saved = sched_getaffinity(0, sizeof affinity, &affinity) == 0;
        // One lcore (this thread's CPU), so that EAL starts no worker threads.
        const int cpu = std::max(0, sched_getcpu());
        std::vector<std::string> args = {"swd",
                                         "--no-huge",
                                         "--no-pci",
                                         "--no-shconf",
                                         "--no-telemetry",
                                         "--log-level=4", // errors only
                                         "-m",
                                         std::to_string(memory_mb),
                                         "-l",
                                         std::to_string(cpu)};
        std::vector<char*> argv;
        for (auto& a : args) {
            argv.push_back(a.data());
        }
        if (rte_eal_init(static_cast<int>(argv.size()), argv.data()) < 0) {
            status = fail(errno_error(rte_errno, "start DPDK's environment (rte_eal_init)"));
        }
        if (saved) { // EAL pinned this thread to the lcore's CPU
            sched_setaffinity(0, sizeof affinity, &affinity);
        }
    });
    return status;
}

rte_session_table::rte_session_table(const session_table_config& cfg)
    : capacity_(cfg.capacity), n_readers_(cfg.readers), idle_timeout_(cfg.idle_timeout) {}

result<std::unique_ptr<rte_session_table>>
rte_session_table::create(const session_table_config& cfg) {
    if (cfg.capacity == 0 || cfg.capacity > (1u << 30) || cfg.readers == 0 || cfg.readers > 1024) {
        return fail(errc::invalid_input, "rte_hash session table: capacity 1 .. 2^30, readers "
                                         "1 .. 1024");
    }
    // DPDK's memory, when this table starts it: 512 MiB, or 1 GiB a million entries (keys,
    // buckets, the free-slot ring, the defer queue).
    if (auto r = dpdk_init(std::max<size_t>(512, size_t(cfg.capacity) * 512 / 1048576 * 2)); !r) {
        return fail(r.err());
    }
    std::unique_ptr<rte_session_table> t(new rte_session_table(cfg));
    static std::atomic<uint32_t> serial{0};
    const std::string name = fmt::format("swd_sessions_{}", serial.fetch_add(1));
    rte_hash_parameters p{};
    p.name = name.c_str();
    // An eighth more key slots than live entries: a cuckoo hash filled to the last slot refuses
    // keys whose buckets are full (our bound on live entries is capacity either way).
    p.entries = std::max<uint32_t>(cfg.capacity + cfg.capacity / 8, 8);
    p.key_len = sizeof(swd_lb_tuple);
    p.hash_func = tuple_hash;
    p.socket_id = SOCKET_ID_ANY;
    p.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF;
    t->hash_ = rte_hash_create(&p);
    if (t->hash_ == nullptr) {
        return fail(errno_error(rte_errno, "rte_hash_create"));
    }
    const size_t rcu_size = rte_rcu_qsbr_get_memsize(cfg.readers);
    t->rcu_ = static_cast<rte_rcu_qsbr*>(rte_zmalloc(nullptr, rcu_size, RTE_CACHE_LINE_SIZE));
    if (t->rcu_ == nullptr || rte_rcu_qsbr_init(t->rcu_, cfg.readers) != 0) {
        return fail(errc::limit, "rte_hash session table: no memory for the RCU variable");
    }
    for (uint32_t r = 0; r < cfg.readers; r++) {
        rte_rcu_qsbr_thread_register(t->rcu_, r); // offline until enter()
    }
    // Nodes: the live entries, and as many deleted ones waiting in the defer queue.
    const uint32_t n_nodes = 2 * p.entries;
    rte_hash_rcu_config rc{};
    rc.v = t->rcu_;
    rc.mode = RTE_HASH_QSBR_MODE_DQ;
    rc.dq_size = p.entries;
    rc.trigger_reclaim_limit = 32; // a delete reclaims once 32 wait
    rc.max_reclaim_size = 64;
    rc.key_data_ptr = t.get();
    rc.free_key_data_func = &rte_session_table::free_node;
    if (rte_hash_rcu_qsbr_add(t->hash_, &rc) != 0) {
        return fail(errno_error(rte_errno, "rte_hash_rcu_qsbr_add"));
    }
    t->nodes_ = std::make_unique<node[]>(n_nodes);
    for (uint32_t i = n_nodes; i-- > 0;) {
        t->nodes_[i].free_next = t->free_;
        t->free_ = &t->nodes_[i];
    }
    t->readers_ = std::make_unique<reader_counters[]>(cfg.readers);
    return t;
}

rte_session_table::~rte_session_table() {
    if (hash_ != nullptr) {
        rte_hash_free(hash_);
    }
    rte_free(rcu_);
}

void rte_session_table::free_node(void* table, void* node_ptr) {
    // Called by rte_hash's defer queue while a writer holds lock_ (a delete that reclaims).
    auto* t = static_cast<rte_session_table*>(table);
    auto* n = static_cast<node*>(node_ptr);
    n->free_next = t->free_;
    t->free_ = n;
}

bool rte_session_table::idle_past(const node* n, uint64_t now) const noexcept {
    const uint64_t last = n->last_used.load(std::memory_order_relaxed);
    return now > last && now - last > idle_timeout_;
}

void rte_session_table::enter(uint32_t reader) noexcept {
    rte_rcu_qsbr_thread_online(rcu_, reader);
}

void rte_session_table::leave(uint32_t reader) noexcept {
    rte_rcu_qsbr_thread_offline(rcu_, reader);
}

bool rte_session_table::lookup(uint32_t reader, const swd_lb_tuple& key, uint32_t hash,
                               uint64_t now, swd_lb_session* out) noexcept {
    reader_counters& c = readers_[reader];
    void* data = nullptr;
    if (rte_hash_lookup_with_hash_data(hash_, &key, hash, &data) < 0) {
        c.misses.store(c.misses.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
        return false;
    }
    node* n = static_cast<node*>(data);
    const uint64_t last = n->last_used.load(std::memory_order_relaxed);
    if (now > last && now - last > idle_timeout_) {
        c.misses.store(c.misses.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
        return false;
    }
    if (now > last) {
        n->last_used.store(now, std::memory_order_relaxed);
    }
    *out = n->value;
    c.hits.store(c.hits.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    return true;
}

bool rte_session_table::remove(const swd_lb_tuple& key, uint32_t hash) noexcept {
    if (rte_hash_del_key_with_hash(hash_, &key, hash) < 0) {
        return false;
    }
    live_.fetch_sub(1, std::memory_order_relaxed);
    return true;
}

size_t rte_session_table::sweep(uint64_t now, size_t max, bool evict) noexcept {
    struct seen {
        swd_lb_tuple key;
        uint64_t last_used;
    };
    seen sample[sweep_sample];
    size_t removed = 0;
    bool wrapped = false;
    for (size_t done = 0; done < max;) {
        // The next entries of the sweep, up to the end of the table (then it starts over).
        size_t n = 0;
        const size_t want = std::min(sweep_sample, max - done);
        while (n < want) {
            const void* key = nullptr;
            void* data = nullptr;
            if (rte_hash_iterate(hash_, &key, &data, &cursor_) < 0) {
                cursor_ = 0;
                break;
            }
            sample[n++] = {*static_cast<const swd_lb_tuple*>(key),
                           static_cast<node*>(data)->last_used.load(std::memory_order_relaxed)};
        }
        if (n == 0) {
            if (wrapped) {
                break; // an empty table
            }
            wrapped = true;
            continue;
        }
        done += n;
        size_t oldest = 0, expired = 0;
        for (size_t i = 0; i < n; i++) {
            const uint64_t last = sample[i].last_used;
            if (now > last && now - last > idle_timeout_) {
                expired += remove(sample[i].key, hash(sample[i].key)) ? 1 : 0;
            } else if (last < sample[oldest].last_used) {
                oldest = i;
            }
        }
        expirations_.fetch_add(expired, std::memory_order_relaxed);
        removed += expired;
        if (evict) {
            if (expired == 0 && remove(sample[oldest].key, hash(sample[oldest].key))) {
                evictions_.fetch_add(1, std::memory_order_relaxed);
                removed++;
            }
            break;
        }
        if (n < want) {
            break; // the end of the table: the next call goes on from its start
        }
    }
    return removed;
}

rte_session_table::insert_status rte_session_table::insert(const swd_lb_tuple& key, uint32_t hash,
                                                           const swd_lb_session& value,
                                                           uint64_t now,
                                                           swd_lb_session* existing) noexcept {
    while (lock_.exchange(1, std::memory_order_acquire) != 0) {
        std::this_thread::yield();
    }
    insert_status st = insert_status::inserted;
    void* data = nullptr;
    if (rte_hash_lookup_with_hash_data(hash_, &key, hash, &data) >= 0) {
        node* old = static_cast<node*>(data);
        if (!idle_past(old, now)) {
            if (existing != nullptr) {
                *existing = old->value;
            }
            insert_exists_.fetch_add(1, std::memory_order_relaxed);
            lock_.store(0, std::memory_order_release);
            return insert_status::exists;
        }
        if (remove(key, hash)) { // a dead entry of the key: replaced
            expirations_.fetch_add(1, std::memory_order_relaxed);
        }
    }
    if (live_.load(std::memory_order_relaxed) >= capacity_) {
        (void)sweep(now, evict_sample, true);
    }
    node* n = free_;
    if (n == nullptr || live_.load(std::memory_order_relaxed) >= capacity_) {
        full_.fetch_add(1, std::memory_order_relaxed);
        st = insert_status::full;
    } else {
        free_ = n->free_next;
        n->value = value;
        n->last_used.store(now, std::memory_order_relaxed);
        if (rte_hash_add_key_with_hash_data(hash_, &key, hash, n) != 0) {
            n->free_next = free_; // no room in the key's buckets
            free_ = n;
            full_.fetch_add(1, std::memory_order_relaxed);
            st = insert_status::full;
        } else {
            live_.fetch_add(1, std::memory_order_relaxed);
            inserts_.fetch_add(1, std::memory_order_relaxed);
        }
    }
    lock_.store(0, std::memory_order_release);
    return st;
}

bool rte_session_table::erase(const swd_lb_tuple& key, uint32_t hash) noexcept {
    while (lock_.exchange(1, std::memory_order_acquire) != 0) {
        std::this_thread::yield();
    }
    const bool found = remove(key, hash);
    if (found) {
        deletes_.fetch_add(1, std::memory_order_relaxed);
    }
    lock_.store(0, std::memory_order_release);
    return found;
}

size_t rte_session_table::expire(uint64_t now, size_t max_entries) noexcept {
    while (lock_.exchange(1, std::memory_order_acquire) != 0) {
        std::this_thread::yield();
    }
    const size_t removed = sweep(now, max_entries, false);
    lock_.store(0, std::memory_order_release);
    return removed;
}

session_counters rte_session_table::counters() const noexcept {
    session_counters c;
    for (uint32_t r = 0; r < n_readers_; r++) {
        c.hits += readers_[r].hits.load(std::memory_order_relaxed);
        c.misses += readers_[r].misses.load(std::memory_order_relaxed);
    }
    c.inserts = inserts_.load(std::memory_order_relaxed);
    c.insert_exists = insert_exists_.load(std::memory_order_relaxed);
    c.deletes = deletes_.load(std::memory_order_relaxed);
    c.expirations = expirations_.load(std::memory_order_relaxed);
    c.evictions = evictions_.load(std::memory_order_relaxed);
    c.full_no_victim = full_.load(std::memory_order_relaxed);
    return c;
}

} // namespace swd::dp::lb
