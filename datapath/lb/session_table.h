// The load balancer's session table in user space: 5-tuple -> rewrite (struct swd_lb_session).
//
// What it is for. A packet of a known session gets its rewrite from here: the client's tuple
// (client -> VIP) gives the backend to send it to, the backend's tuple (backend -> client) gives
// the VIP to put back as the source. A miss chooses a backend (maglev.h) and inserts both
// entries (make_session_pair() at the end builds them). Key and value are the ABI's struct
// swd_lb_tuple and struct swd_lb_session, so the XDP side can keep the same layout in a BPF hash or
// LRU hash map.
//
// How it works: the kernel's BPF hash map (kernel/bpf/hashtab.c) with preallocated elements,
// rebuilt in C++.
// - Buckets: a power of two, at least the capacity (load factor <= 1); bucket = hash & mask,
//   hash = swd_lb_hash(key), which is also the Maglev hash, so a miss hashes once. Each bucket is
//   a singly linked chain and a one-word spinlock.
// - Nodes: all allocated by the constructor (capacity + a slack for nodes waiting out a grace
//   period), kept on a free list. Nothing is allocated after construction.
// - Writers (insert, erase, expire, evict) take the bucket's lock, and a second small lock for the
//   free list. A new node is filled, then linked at the head with a release store; an erased node
//   is unlinked with a release store and retired, never changed while readers may hold it.
// - Readers never block nor write shared state except the last-used time (below): they walk the
//   chain with acquire loads. They run between enter(r) and leave(r) with their own reader slot
//   r (the datapath thread's index), as a PMD does per batch. enter() announces the global epoch
//   in the slot (the scheme of publisher.h's version slots, for nodes). A node unlinked at epoch e
//   is reused only once every slot is idle or announces an epoch > e: a grace period, so a
//   reader never sees a node change under it, and every value it copies is one a writer wrote.
//   (The kernel instead reuses elements at once and lets readers see a value being replaced.)
// - Aging: each node holds the time of its last hit; lookup() refreshes it with a relaxed store
//   when it moved on. An entry idle for more than the idle timeout is a miss for readers and is
//   removed by expire() (an incremental sweep for a timer) or by a writer that meets it in a
//   bucket. Times are whatever clock the caller passes (CLOCK_MONOTONIC ns in the datapath: the
//   BPF side's clock, bpf/clock.h), so tests control them.
// - Full: the table holds at most `capacity` live sessions. An insert into a full table (of a key
//   that is not there: that one changes nothing) first removes idle entries in its own and the next
//   7 buckets (counted as expirations); if there were none, it evicts the least recently used entry
//   among those 8 buckets (counted as evictions). Why evict rather than refuse: the sessions that
//   suffer are the idlest in the sample, as in the BPF LRU hash map the XDP side will use, and a
//   refused new session would run without an entry (a backend change would move it); 8 buckets keep
//   the search short, under one lock at a time. An insert still fails, counted, if the sampled
//   buckets were all empty (full_no_victim) or every spare node waits for a grace period because a
//   reader has not left (wait_grace): the caller then forwards by Maglev alone.
//
// Thread-safety: lookup() between enter(r) and leave(r), one thread per reader slot at a time.
// insert(), erase(), expire() and reclaim() from any thread, concurrently, in or out of a reader
// section; a writer in a reader section only delays its own reuse of nodes. counters() and the
// size accessors from any thread (a racy but consistent-per-field snapshot).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "datapath/util/result.h"

extern "C" {
#include "bpf/shared/swd_abi.h"
}

namespace swd::dp::lb {

static_assert(sizeof(swd_lb_tuple) == 40);
static_assert(sizeof(swd_lb_session) == 40);
static_assert(offsetof(swd_lb_session, eth_src) == 24);
static_assert(sizeof(swd_lb_session_entry) == 48);

struct session_table_config {
    uint32_t capacity = 1u << 20;            // live sessions at most, 1 .. 2^30
    uint32_t readers = 1;                    // reader slots (datapath threads), 1 .. 1024
    uint64_t idle_timeout = 300'000'000'000; // in the callers' time unit (ns: 300 s)
    // Spare nodes for entries waiting out a grace period; 0: max(64, capacity / 16).
    uint32_t grace_slack = 0;
};

struct session_counters {
    uint64_t hits = 0;
    uint64_t misses = 0; // including entries found idle past the timeout
    uint64_t inserts = 0;
    uint64_t insert_exists = 0; // the key was there (another thread inserted it first)
    uint64_t deletes = 0;
    uint64_t expirations = 0;    // idle entries removed
    uint64_t evictions = 0;      // live entries removed to make room
    uint64_t full_no_victim = 0; // insert refused: full, nothing to evict in the sampled buckets
    uint64_t wait_grace = 0;     // insert refused: every spare node waits for a grace period
};

class session_table {
public:
    // Allocates everything the table will ever use. Fails (errc::invalid_input) on a capacity or
    // reader count out of range.
    static result<std::unique_ptr<session_table>> create(const session_table_config& cfg);
    ~session_table();
    session_table(const session_table&) = delete;
    session_table& operator=(const session_table&) = delete;

    static uint32_t hash(const swd_lb_tuple& key) noexcept { return swd_lb_hash(&key); }

    // Reader sections. Cost: one full fence in enter().
    void enter(uint32_t reader) noexcept {
        reader_slot& s = slots_[reader];
        s.epoch.store(epoch_.load(std::memory_order_acquire), std::memory_order_release);
        std::atomic_thread_fence(std::memory_order_seq_cst);
    }
    void leave(uint32_t reader) noexcept {
        slots_[reader].epoch.store(idle, std::memory_order_release);
    }

    // Copies the session of `key` into *out and refreshes its last-used time to `now`; false (a
    // miss) when there is none or it has been idle longer than the timeout. hash = hash(key).
    // Between enter(reader) and leave(reader) only. Never blocks.
    bool lookup(uint32_t reader, const swd_lb_tuple& key, uint32_t hash, uint64_t now,
                swd_lb_session* out) noexcept;

    enum class insert_status : uint8_t { inserted, exists, full };
    // Inserts key -> value, used at `now`, unless the key has a live entry: then `exists`, with
    // that entry's value in *existing (if not null) and nothing changed. `full` when no room
    // could be made (counted). Never allocates.
    insert_status insert(const swd_lb_tuple& key, uint32_t hash, const swd_lb_session& value,
                         uint64_t now, swd_lb_session* existing = nullptr) noexcept;

    // The keys of the entries not idle at `now`, with their last-used times, read bucket by
    // bucket under the bucket's lock (a writer's consistent view). Control plane: allocates, and
    // walks every bucket.
    struct live_entry {
        swd_lb_tuple key;
        uint64_t last_used;
    };
    std::vector<live_entry> live_entries(uint64_t now) const;

    // Removes the entry of `key`; false if there was none.
    bool erase(const swd_lb_tuple& key, uint32_t hash) noexcept;

    // Removes entries idle for longer than the timeout from the next `max_buckets` buckets (a
    // sweep that wraps around; call it from a timer with a budget). Returns how many it removed.
    size_t expire(uint64_t now, size_t max_buckets) noexcept;

    // Moves retired nodes whose grace period is over back to the free list. Inserts call it when
    // the free list is empty; expire() calls it too.
    void reclaim() noexcept;

    uint32_t capacity() const noexcept { return capacity_; }
    uint32_t buckets() const noexcept { return mask_ + 1; }
    uint32_t pool_size() const noexcept { return n_nodes_; }
    uint32_t size() const noexcept { return live_.load(std::memory_order_relaxed); }
    // Nodes not on the free list: live, being inserted, or retired and waiting; <= pool_size().
    uint32_t nodes_in_use() const noexcept;
    // The most nodes ever in use at once.
    uint32_t nodes_high_water() const noexcept {
        return high_water_.load(std::memory_order_relaxed);
    }
    session_counters counters() const noexcept;

private:
    struct node {
        std::atomic<node*> next{nullptr}; // the chain; left as it was when unlinked
        uint32_t hash = 0;
        uint32_t pad = 0;
        swd_lb_tuple key{};
        swd_lb_session value{};
        std::atomic<uint64_t> last_used{0};
        node* free_next = nullptr; // free list and retired queue (writers, under pool_lock_)
        uint64_t retired_at = 0;   // epoch stamp
    };
    struct bucket {
        std::atomic<node*> head{nullptr};
        std::atomic<uint32_t> lock{0};
    };
    static constexpr uint64_t idle = UINT64_MAX;
    struct alignas(64) reader_slot {
        std::atomic<uint64_t> epoch{idle};
        std::atomic<uint64_t> hits{0}; // written by the slot's reader only
        std::atomic<uint64_t> misses{0};
    };
    struct alignas(64) writer_counters {
        std::atomic<uint64_t> inserts{0}, insert_exists{0}, deletes{0}, expirations{0},
            evictions{0}, full_no_victim{0}, wait_grace{0};
    };

    // Nodes unlinked under a bucket lock (through free_next), retired once it is released.
    struct chain {
        node* first = nullptr;
        node* last = nullptr;
        size_t n = 0;
    };

    explicit session_table(const session_table_config& cfg);

    static void lock(std::atomic<uint32_t>& l) noexcept;
    static void unlock(std::atomic<uint32_t>& l) noexcept { l.store(0, std::memory_order_release); }
    bool idle_past(const node* n, uint64_t now) const noexcept;
    // Under the bucket's lock: unlinks n (*link points to it) from the chain, out of live_, into c.
    void unlink(std::atomic<node*>* link, node* n, chain& c) noexcept;
    // Stamps c's nodes with the epoch and queues them for reuse after a grace period.
    void retire(chain& c) noexcept;
    void reclaim_locked() noexcept;
    node* alloc_node() noexcept;
    void free_unpublished(node* n) noexcept;
    // Under b's lock: unlinks its idle entries into c (counted as expirations).
    size_t expire_bucket(bucket& b, uint64_t now, chain& c) noexcept;
    // Makes room for one live entry near bucket `start`: expires, else evicts. False: no victim.
    bool make_room(uint32_t start, uint64_t now) noexcept;
    // Counts one more live entry, making room when full. False: no room.
    bool reserve_live(uint32_t hash, uint64_t now) noexcept;

    uint32_t capacity_;
    uint32_t mask_;
    uint32_t n_nodes_;
    uint32_t n_readers_;
    uint64_t idle_timeout_;
    std::unique_ptr<bucket[]> buckets_;
    std::unique_ptr<node[]> nodes_;
    std::unique_ptr<reader_slot[]> slots_;

    alignas(64) std::atomic<uint64_t> epoch_{0};
    alignas(64) std::atomic<uint32_t> live_{0};
    std::atomic<uint32_t> sweep_{0}; // expire()'s next bucket
    alignas(64) std::atomic<uint32_t> pool_lock_{0};
    node* free_ = nullptr; // under pool_lock_, as are the retired queue's ends
    std::atomic<uint32_t> n_free_{0};
    node* retired_head_ = nullptr; // oldest first
    node* retired_tail_ = nullptr;
    std::atomic<uint32_t> high_water_{0};
    writer_counters wc_;
};

// The two entries of a new session, for the miss path: `client` is its first packet's tuple
// (client -> VIP), whose frame came from client_mac to vip_mac. The client's entry rewrites the
// destination to the backend (and the frame to go from vip_mac to the backend's next hop); the
// backend's entry, keyed by the reply's tuple (backend -> client), rewrites the source back to
// the VIP (and the frame to go from vip_mac to client_mac). The backend must be of the client's
// family (no NAT46).
struct session_backend {
    uint32_t addr[4] = {}; // network order, IPv4 in [0]
    uint16_t port = 0;     // host order
    uint8_t mac[6] = {};   // next hop towards it
    uint16_t index = 0;    // in its pool
};

struct session_pair {
    swd_lb_tuple to_backend_key; // = client
    swd_lb_session to_backend;
    swd_lb_tuple to_client_key; // backend -> client
    swd_lb_session to_client;
};

session_pair make_session_pair(const swd_lb_tuple& client, const uint8_t client_mac[6],
                               const uint8_t vip_mac[6], const session_backend& b,
                               uint16_t pool) noexcept;

} // namespace swd::dp::lb
