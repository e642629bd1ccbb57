#include "session_table.h"

#include <algorithm>
#include <arpa/inet.h>
#include <bit>
#include <cstring>
#include <fmt/format.h>
#include <thread>

namespace swd::dp::lb {

namespace {

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

inline bool same_key(const swd_lb_tuple& a, const swd_lb_tuple& b) noexcept {
    return std::memcmp(&a, &b, sizeof a) == 0;
}

inline void bump(std::atomic<uint64_t>& c, uint64_t n = 1) noexcept {
    c.fetch_add(n, std::memory_order_relaxed);
}

// Single-writer counter: no locked instruction.
inline void bump_own(std::atomic<uint64_t>& c) noexcept {
    c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

constexpr uint32_t max_capacity = 1u << 30;
constexpr uint32_t max_readers = 1024;
constexpr uint32_t evict_sample = 8; // buckets searched for room

} // namespace

result<std::unique_ptr<session_table>> session_table::create(const session_table_config& cfg) {
    if (cfg.capacity < 1 || cfg.capacity > max_capacity) {
        return fail(errc::invalid_input, fmt::format("session table: capacity {}; expected 1 to {}",
                                                     cfg.capacity, max_capacity));
    }
    if (cfg.readers < 1 || cfg.readers > max_readers) {
        return fail(errc::invalid_input,
                    fmt::format("session table: {} reader slots; expected 1 to {}", cfg.readers,
                                max_readers));
    }
    return std::unique_ptr<session_table>(new session_table(cfg));
}

session_table::session_table(const session_table_config& cfg)
    : capacity_(cfg.capacity), mask_(std::bit_ceil(cfg.capacity) - 1),
      n_nodes_(cfg.capacity +
               (cfg.grace_slack ? cfg.grace_slack : std::max(64u, cfg.capacity / 16))),
      n_readers_(cfg.readers), idle_timeout_(cfg.idle_timeout),
      buckets_(std::make_unique<bucket[]>(size_t(mask_) + 1)),
      nodes_(std::make_unique<node[]>(n_nodes_)),
      slots_(std::make_unique<reader_slot[]>(n_readers_)) {
    for (uint32_t i = n_nodes_; i-- > 0;) {
        nodes_[i].free_next = free_;
        free_ = &nodes_[i];
    }
    n_free_.store(n_nodes_, std::memory_order_relaxed);
}

session_table::~session_table() = default;

void session_table::lock(std::atomic<uint32_t>& l) noexcept {
    for (;;) {
        if (l.exchange(1, std::memory_order_acquire) == 0) {
            return;
        }
        // Spin, then yield: a holder preempted on a busy CPU should get it back.
        for (uint32_t spins = 1; l.load(std::memory_order_relaxed) != 0; spins++) {
            if (spins % 128 == 0) {
                std::this_thread::yield();
            } else {
                cpu_relax();
            }
        }
    }
}

bool session_table::idle_past(const node* n, uint64_t now) const noexcept {
    const uint64_t last = n->last_used.load(std::memory_order_relaxed);
    return now > last && now - last > idle_timeout_;
}

bool session_table::lookup(uint32_t reader, const swd_lb_tuple& key, uint32_t hash, uint64_t now,
                           swd_lb_session* out) noexcept {
    reader_slot& s = slots_[reader];
    for (node* n = buckets_[hash & mask_].head.load(std::memory_order_acquire); n != nullptr;
         n = n->next.load(std::memory_order_acquire)) {
        if (n->hash != hash || !same_key(n->key, key)) {
            continue;
        }
        const uint64_t last = n->last_used.load(std::memory_order_relaxed);
        if (now > last) {
            if (now - last > idle_timeout_) {
                break; // dead: a writer will remove it
            }
            n->last_used.store(now, std::memory_order_relaxed);
        }
        *out = n->value;
        bump_own(s.hits);
        return true;
    }
    bump_own(s.misses);
    return false;
}

void session_table::unlink(std::atomic<node*>* link, node* n, chain& c) noexcept {
    // Readers on n keep following n->next, which stays as it is until n is reused.
    link->store(n->next.load(std::memory_order_relaxed), std::memory_order_release);
    live_.fetch_sub(1, std::memory_order_relaxed);
    n->free_next = nullptr;
    if (c.last != nullptr) {
        c.last->free_next = n;
    } else {
        c.first = n;
    }
    c.last = n;
    c.n++;
}

void session_table::retire(chain& c) noexcept {
    if (c.first == nullptr) {
        return;
    }
    // After the unlinks: a reader that announces a later epoch has seen them (it read epoch_
    // after this increment, which the unlinks precede), so it cannot reach these nodes.
    const uint64_t e = epoch_.fetch_add(1, std::memory_order_seq_cst);
    for (node* n = c.first; n != nullptr; n = n->free_next) {
        n->retired_at = e;
    }
    lock(pool_lock_);
    if (retired_tail_ != nullptr) {
        retired_tail_->free_next = c.first;
    } else {
        retired_head_ = c.first;
    }
    retired_tail_ = c.last;
    unlock(pool_lock_);
    c = chain{};
}

void session_table::reclaim_locked() noexcept {
    if (retired_head_ == nullptr) {
        return;
    }
    // Pairs with the fence in enter(): either that reader's slot store is seen here, or its
    // walk after the fence sees the unlinks that preceded our epoch stamps.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    uint64_t oldest = idle;
    for (uint32_t i = 0; i < n_readers_; i++) {
        oldest = std::min(oldest, slots_[i].epoch.load(std::memory_order_acquire));
    }
    // Stamps are nearly in queue order (two writers may retire out of order); stopping at the
    // first node still in its grace period only delays the ones behind it.
    uint32_t freed = 0;
    while (retired_head_ != nullptr && retired_head_->retired_at < oldest) {
        node* n = retired_head_;
        retired_head_ = n->free_next;
        n->free_next = free_;
        free_ = n;
        freed++;
    }
    if (retired_head_ == nullptr) {
        retired_tail_ = nullptr;
    }
    n_free_.fetch_add(freed, std::memory_order_relaxed);
}

void session_table::reclaim() noexcept {
    lock(pool_lock_);
    reclaim_locked();
    unlock(pool_lock_);
}

session_table::node* session_table::alloc_node() noexcept {
    lock(pool_lock_);
    if (free_ == nullptr) {
        reclaim_locked();
    }
    node* n = free_;
    if (n != nullptr) {
        free_ = n->free_next;
        const uint32_t in_use = n_nodes_ - (n_free_.fetch_sub(1, std::memory_order_relaxed) - 1);
        if (in_use > high_water_.load(std::memory_order_relaxed)) {
            high_water_.store(in_use, std::memory_order_relaxed);
        }
    }
    unlock(pool_lock_);
    return n;
}

void session_table::free_unpublished(node* n) noexcept {
    lock(pool_lock_);
    n->free_next = free_;
    free_ = n;
    n_free_.fetch_add(1, std::memory_order_relaxed);
    unlock(pool_lock_);
}

size_t session_table::expire_bucket(bucket& b, uint64_t now, chain& c) noexcept {
    size_t removed = 0;
    std::atomic<node*>* link = &b.head;
    while (node* n = link->load(std::memory_order_relaxed)) {
        if (idle_past(n, now)) {
            unlink(link, n, c);
            removed++;
        } else {
            link = &n->next;
        }
    }
    if (removed != 0) {
        bump(wc_.expirations, removed);
    }
    return removed;
}

bool session_table::make_room(uint32_t start, uint64_t now) noexcept {
    uint32_t victim_bucket = 0;
    uint64_t oldest = UINT64_MAX;
    bool have_victim = false;
    for (uint32_t i = 0; i < evict_sample; i++) {
        bucket& b = buckets_[(start + i) & mask_];
        chain c;
        lock(b.lock);
        const size_t expired = expire_bucket(b, now, c);
        if (expired == 0) {
            for (node* n = b.head.load(std::memory_order_relaxed); n != nullptr;
                 n = n->next.load(std::memory_order_relaxed)) {
                const uint64_t last = n->last_used.load(std::memory_order_relaxed);
                if (!have_victim || last < oldest) {
                    oldest = last;
                    victim_bucket = (start + i) & mask_;
                    have_victim = true;
                }
            }
        }
        unlock(b.lock);
        if (expired != 0) {
            retire(c);
            return true;
        }
    }
    if (!have_victim) {
        return false;
    }
    // The least recently used entry of the bucket that held the oldest one (it may have changed
    // since: any entry there is as good a victim as the sample can tell).
    bucket& b = buckets_[victim_bucket];
    chain c;
    lock(b.lock);
    std::atomic<node*>* victim_link = nullptr;
    oldest = UINT64_MAX;
    for (std::atomic<node*>* link = &b.head; node* n = link->load(std::memory_order_relaxed);
         link = &n->next) {
        const uint64_t last = n->last_used.load(std::memory_order_relaxed);
        if (victim_link == nullptr || last < oldest) {
            oldest = last;
            victim_link = link;
        }
    }
    if (victim_link != nullptr) {
        unlink(victim_link, victim_link->load(std::memory_order_relaxed), c);
        bump(wc_.evictions);
    }
    unlock(b.lock);
    retire(c);
    return true; // evicted, or someone else emptied the bucket meanwhile: room either way
}

bool session_table::reserve_live(uint32_t hash, uint64_t now) noexcept {
    for (int attempt = 0; attempt < 3; attempt++) {
        uint32_t live = live_.load(std::memory_order_relaxed);
        while (live < capacity_) {
            if (live_.compare_exchange_weak(live, live + 1, std::memory_order_relaxed)) {
                return true;
            }
        }
        if (!make_room(hash & mask_, now)) {
            return false;
        }
    }
    return false;
}

session_table::insert_status session_table::insert(const swd_lb_tuple& key, uint32_t hash,
                                                   const swd_lb_session& value, uint64_t now,
                                                   swd_lb_session* existing) noexcept {
    bucket& b = buckets_[hash & mask_];
    if (live_.load(std::memory_order_relaxed) >= capacity_) {
        // Full: making room evicts a session, which a key already there must not cost.
        lock(b.lock);
        for (node* o = b.head.load(std::memory_order_relaxed); o != nullptr;
             o = o->next.load(std::memory_order_relaxed)) {
            if (o->hash == hash && same_key(o->key, key) && !idle_past(o, now)) {
                if (existing != nullptr) {
                    *existing = o->value;
                }
                unlock(b.lock);
                bump(wc_.insert_exists);
                return insert_status::exists;
            }
        }
        unlock(b.lock);
    }
    if (!reserve_live(hash, now)) {
        bump(wc_.full_no_victim);
        return insert_status::full;
    }
    node* n = alloc_node();
    if (n == nullptr) {
        live_.fetch_sub(1, std::memory_order_relaxed);
        bump(wc_.wait_grace);
        return insert_status::full;
    }
    n->hash = hash;
    n->key = key;
    n->value = value;
    n->last_used.store(now, std::memory_order_relaxed);

    chain c;
    lock(b.lock);
    expire_bucket(b, now, c); // an idle entry of this key goes too
    for (node* o = b.head.load(std::memory_order_relaxed); o != nullptr;
         o = o->next.load(std::memory_order_relaxed)) {
        if (o->hash == hash && same_key(o->key, key)) {
            if (existing != nullptr) {
                *existing = o->value;
            }
            unlock(b.lock);
            retire(c);
            free_unpublished(n);
            live_.fetch_sub(1, std::memory_order_relaxed);
            bump(wc_.insert_exists);
            return insert_status::exists;
        }
    }
    n->next.store(b.head.load(std::memory_order_relaxed), std::memory_order_relaxed);
    b.head.store(n, std::memory_order_release); // publishes the filled node
    unlock(b.lock);
    retire(c);
    bump(wc_.inserts);
    return insert_status::inserted;
}

bool session_table::erase(const swd_lb_tuple& key, uint32_t hash) noexcept {
    bucket& b = buckets_[hash & mask_];
    chain c;
    lock(b.lock);
    for (std::atomic<node*>* link = &b.head; node* n = link->load(std::memory_order_relaxed);
         link = &n->next) {
        if (n->hash == hash && same_key(n->key, key)) {
            unlink(link, n, c);
            break;
        }
    }
    unlock(b.lock);
    if (c.n == 0) {
        return false;
    }
    retire(c);
    bump(wc_.deletes);
    return true;
}

std::vector<session_table::live_entry> session_table::live_entries(uint64_t now) const {
    std::vector<live_entry> out;
    out.reserve(live_.load(std::memory_order_relaxed));
    for (uint32_t i = 0; i <= mask_; i++) {
        bucket& b = buckets_[i];
        if (b.head.load(std::memory_order_relaxed) == nullptr) {
            continue;
        }
        lock(b.lock);
        for (node* n = b.head.load(std::memory_order_relaxed); n != nullptr;
             n = n->next.load(std::memory_order_relaxed)) {
            if (!idle_past(n, now)) {
                out.push_back({n->key, n->last_used.load(std::memory_order_relaxed)});
            }
        }
        unlock(b.lock);
    }
    return out;
}

size_t session_table::expire(uint64_t now, size_t max_buckets) noexcept {
    const uint32_t n = uint32_t(std::min<size_t>(max_buckets, size_t(mask_) + 1));
    const uint32_t start = sweep_.fetch_add(n, std::memory_order_relaxed);
    size_t removed = 0;
    for (uint32_t i = 0; i < n; i++) {
        bucket& b = buckets_[(start + i) & mask_];
        if (b.head.load(std::memory_order_relaxed) == nullptr) {
            continue;
        }
        chain c;
        lock(b.lock);
        removed += expire_bucket(b, now, c);
        unlock(b.lock);
        retire(c);
    }
    reclaim();
    return removed;
}

uint32_t session_table::nodes_in_use() const noexcept {
    return n_nodes_ - n_free_.load(std::memory_order_relaxed);
}

session_counters session_table::counters() const noexcept {
    session_counters c;
    for (uint32_t i = 0; i < n_readers_; i++) {
        c.hits += slots_[i].hits.load(std::memory_order_relaxed);
        c.misses += slots_[i].misses.load(std::memory_order_relaxed);
    }
    auto get = [](const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); };
    c.inserts = get(wc_.inserts);
    c.insert_exists = get(wc_.insert_exists);
    c.deletes = get(wc_.deletes);
    c.expirations = get(wc_.expirations);
    c.evictions = get(wc_.evictions);
    c.full_no_victim = get(wc_.full_no_victim);
    c.wait_grace = get(wc_.wait_grace);
    return c;
}

session_pair make_session_pair(const swd_lb_tuple& client, const uint8_t client_mac[6],
                               const uint8_t vip_mac[6], const session_backend& b,
                               uint16_t pool) noexcept {
    session_pair p{};
    p.to_backend_key = client;
    swd_lb_session& f = p.to_backend;
    std::memcpy(f.addr, b.addr, sizeof f.addr);
    f.port = htons(b.port);
    f.backend = b.index;
    f.pool = pool;
    f.dir = SWD_LB_TO_BACKEND;
    f.ipv6 = client.ipv6;
    std::memcpy(f.eth_src, vip_mac, 6);
    std::memcpy(f.eth_dst, b.mac, 6);

    swd_lb_tuple& k = p.to_client_key;
    std::memcpy(k.src_ip, b.addr, sizeof k.src_ip);
    std::memcpy(k.dst_ip, client.src_ip, sizeof k.dst_ip);
    k.src_port = htons(b.port);
    k.dst_port = client.src_port;
    k.proto = client.proto;
    k.ipv6 = client.ipv6;
    swd_lb_session& r = p.to_client;
    std::memcpy(r.addr, client.dst_ip, sizeof r.addr);
    r.port = client.dst_port;
    r.backend = b.index;
    r.pool = pool;
    r.dir = SWD_LB_TO_CLIENT;
    r.ipv6 = client.ipv6;
    std::memcpy(r.eth_src, vip_mac, 6);
    std::memcpy(r.eth_dst, client_mac, 6);
    return p;
}

} // namespace swd::dp::lb
