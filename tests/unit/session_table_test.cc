// The load balancer's session table (datapath/lb/session_table.h): insert, lookup and erase,
// aging, a full table's eviction and refusals with their counters, grace periods, readers racing
// writers (values are never torn), no allocation after construction, and sessions that keep
// their backend while Maglev drains it.
#include <arpa/inet.h>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <gtest/gtest.h>
#include <new>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "datapath/lb/maglev.h"
#include "datapath/lb/session_table.h"
#include "tests/unit/session_values.h"

// Counts allocations while armed, for the no-allocation test. new and delete are both replaced
// (malloc and free underneath), so sanitizers see matching pairs; GCC cannot know that.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
namespace {
std::atomic<bool> count_allocations{false};
std::atomic<uint64_t> allocations{0};
} // namespace

void* operator new(size_t n) {
    if (count_allocations.load(std::memory_order_relaxed)) {
        allocations.fetch_add(1, std::memory_order_relaxed);
    }
    if (void* p = std::malloc(n ? n : 1)) {
        return p;
    }
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
    std::free(p);
}
void operator delete(void* p, size_t) noexcept {
    std::free(p);
}

namespace swd::dp::lb {
namespace {

using status = session_table::insert_status;

using test::check_value;
using test::key_of;
using test::v4_tuple;
using test::value_of;

std::unique_ptr<session_table> make(uint32_t capacity, uint64_t idle = 1000, uint32_t readers = 1,
                                    uint32_t slack = 0) {
    session_table_config cfg;
    cfg.capacity = capacity;
    cfg.idle_timeout = idle;
    cfg.readers = readers;
    cfg.grace_slack = slack;
    auto t = session_table::create(cfg);
    if (!t) {
        ADD_FAILURE() << t.err().message();
        std::abort();
    }
    return std::move(t).value();
}

bool lookup(session_table& t, const swd_lb_tuple& k, uint64_t now, swd_lb_session* out,
            uint32_t reader = 0) {
    t.enter(reader);
    const bool hit = t.lookup(reader, k, session_table::hash(k), now, out);
    t.leave(reader);
    return hit;
}

status insert(session_table& t, const swd_lb_tuple& k, const swd_lb_session& v, uint64_t now,
              swd_lb_session* existing = nullptr) {
    return t.insert(k, session_table::hash(k), v, now, existing);
}

TEST(SessionTable, InsertLookupErase) {
    auto t = make(1000);
    EXPECT_EQ(t->buckets(), 1024u);
    EXPECT_EQ(t->pool_size(), 1000u + 64u);
    swd_lb_session v{};
    EXPECT_FALSE(lookup(*t, key_of(1), 0, &v));
    EXPECT_EQ(insert(*t, key_of(1), value_of(1, 7), 0), status::inserted);
    EXPECT_EQ(t->size(), 1u);
    ASSERT_TRUE(lookup(*t, key_of(1), 1, &v));
    EXPECT_TRUE(check_value(1, v));
    EXPECT_EQ(v.backend, 7);

    // A second insert of the key changes nothing and returns what is there.
    swd_lb_session existing{};
    EXPECT_EQ(insert(*t, key_of(1), value_of(1, 8), 2, &existing), status::exists);
    EXPECT_EQ(existing.backend, 7);
    ASSERT_TRUE(lookup(*t, key_of(1), 3, &v));
    EXPECT_EQ(v.backend, 7);

    EXPECT_TRUE(t->erase(key_of(1), session_table::hash(key_of(1))));
    EXPECT_FALSE(t->erase(key_of(1), session_table::hash(key_of(1))));
    EXPECT_FALSE(lookup(*t, key_of(1), 4, &v));
    EXPECT_EQ(t->size(), 0u);

    const session_counters c = t->counters();
    EXPECT_EQ(c.inserts, 1u);
    EXPECT_EQ(c.insert_exists, 1u);
    EXPECT_EQ(c.hits, 2u);
    EXPECT_EQ(c.misses, 2u);
    EXPECT_EQ(c.deletes, 1u);
    EXPECT_EQ(c.evictions + c.expirations + c.full_no_victim + c.wait_grace, 0u);
}

TEST(SessionTable, ManyKeysSameBucketAndBothFamilies) {
    auto t = make(4); // 4 buckets: long chains
    for (uint32_t i = 0; i < 4; i++) {
        ASSERT_EQ(insert(*t, key_of(i), value_of(i, i), 0), status::inserted);
    }
    // An IPv6 tuple whose first words equal an IPv4 one's is another key.
    swd_lb_tuple v6 = key_of(0);
    v6.ipv6 = 1;
    swd_lb_session v{};
    EXPECT_FALSE(lookup(*t, v6, 0, &v));
    for (uint32_t i = 0; i < 4; i++) {
        ASSERT_TRUE(lookup(*t, key_of(i), 0, &v));
        EXPECT_TRUE(check_value(i, v));
    }
    // Erase from the middle of a chain keeps the rest.
    ASSERT_TRUE(t->erase(key_of(2), session_table::hash(key_of(2))));
    for (uint32_t i = 0; i < 4; i++) {
        EXPECT_EQ(lookup(*t, key_of(i), 0, &v), i != 2);
    }
}

TEST(SessionTable, Ipv6Keys) {
    auto t = make(100);
    // 2001:db8::i port 40000 -> 2001:db8::1 port 443, TCP.
    auto key_v6 = [](uint32_t i) {
        swd_lb_tuple k{};
        k.src_ip[0] = htonl(0x20010db8);
        k.src_ip[3] = htonl(i);
        k.dst_ip[0] = htonl(0x20010db8);
        k.dst_ip[3] = htonl(1);
        k.src_port = htons(40000);
        k.dst_port = htons(443);
        k.proto = 6;
        k.ipv6 = 1;
        return k;
    };
    for (uint32_t i = 0; i < 100; i++) {
        ASSERT_EQ(insert(*t, key_v6(i), value_of(i, 1), 0), status::inserted);
    }
    for (uint32_t i = 0; i < 100; i++) {
        swd_lb_session v{};
        ASSERT_TRUE(lookup(*t, key_v6(i), 0, &v));
        EXPECT_TRUE(check_value(i, v));
    }
}

TEST(SessionTable, EntriesAgeOutByIdleTime) {
    auto t = make(100, /*idle=*/100);
    ASSERT_EQ(insert(*t, key_of(1), value_of(1, 1), 0), status::inserted);
    ASSERT_EQ(insert(*t, key_of(2), value_of(2, 1), 0), status::inserted);
    swd_lb_session v{};
    EXPECT_TRUE(lookup(*t, key_of(1), 50, &v));   // refreshed to 50
    EXPECT_TRUE(lookup(*t, key_of(1), 140, &v));  // idle 90: alive, refreshed to 140
    EXPECT_FALSE(lookup(*t, key_of(2), 140, &v)); // idle 140: dead for readers
    // A reader with an older clock than the last hit is not "idle for a negative time".
    EXPECT_TRUE(lookup(*t, key_of(1), 100, &v));
    EXPECT_EQ(t->size(), 2u); // readers never remove

    EXPECT_EQ(t->expire(150, t->buckets()), 1u);
    EXPECT_EQ(t->size(), 1u);
    EXPECT_EQ(t->expire(241, t->buckets()), 1u); // 241 - 140 > 100
    EXPECT_EQ(t->size(), 0u);
    EXPECT_EQ(t->counters().expirations, 2u);

    // A dead entry of the key being inserted is replaced (an expiration, not an exists).
    ASSERT_EQ(insert(*t, key_of(3), value_of(3, 1), 1000), status::inserted);
    ASSERT_EQ(insert(*t, key_of(3), value_of(3, 2), 2000), status::inserted);
    ASSERT_TRUE(lookup(*t, key_of(3), 2000, &v));
    EXPECT_EQ(v.backend, 2);
    EXPECT_EQ(t->counters().expirations, 3u);
    EXPECT_EQ(t->counters().insert_exists, 0u);
}

// What the connection tracker hands to XDP's when tracking moves there (netdev-afxdp/ct_map.h).
TEST(SessionTable, LiveEntriesListsWhatIsNotIdle) {
    auto t = make(1024, /*idle=*/100);
    for (uint32_t i = 0; i < 500; i++) {
        ASSERT_EQ(insert(*t, key_of(i), value_of(i, 0), i < 300 ? 1000 : 900), status::inserted);
    }
    const auto live = t->live_entries(1050); // the 200 used at 900 are idle for 150
    ASSERT_EQ(live.size(), 300u);
    std::set<uint32_t> seen;
    for (const auto& e : live) {
        EXPECT_EQ(e.last_used, 1000u);
        for (uint32_t i = 0; i < 300; i++) {
            const swd_lb_tuple k = key_of(i);
            if (std::memcmp(&e.key, &k, sizeof k) == 0) {
                seen.insert(i);
            }
        }
    }
    EXPECT_EQ(seen.size(), 300u) << "each live key once";
    EXPECT_TRUE(t->live_entries(2000).empty());
}

TEST(SessionTable, ExpireSweepsInSteps) {
    auto t = make(1024, 10);
    for (uint32_t i = 0; i < 1000; i++) {
        ASSERT_EQ(insert(*t, key_of(i), value_of(i, 0), 0), status::inserted);
    }
    size_t removed = 0;
    for (int step = 0; step < 8; step++) {
        removed += t->expire(100, 128); // 8 x 128 = every bucket once
    }
    EXPECT_EQ(removed, 1000u);
    EXPECT_EQ(t->size(), 0u);
}

TEST(SessionTable, FullTableEvictsTheIdlestAndCounts) {
    constexpr uint32_t cap = 256;
    auto t = make(cap, /*idle=*/1'000'000);
    for (uint32_t i = 0; i < cap; i++) {
        ASSERT_EQ(insert(*t, key_of(i), value_of(i, 0), i), status::inserted);
    }
    EXPECT_EQ(t->size(), cap);
    uint32_t inserted = 0, refused = 0;
    for (uint32_t i = cap; i < 2 * cap; i++) {
        const status s = insert(*t, key_of(i), value_of(i, 0), 10'000 + i);
        inserted += s == status::inserted;
        refused += s == status::full;
        ASSERT_LE(t->size(), cap);
    }
    const session_counters c = t->counters();
    std::printf("256 inserts into a full table of 256: %u in (%lu evictions), %u refused "
                "(%lu with no entry in 8 buckets)\n",
                inserted, c.evictions, refused, c.full_no_victim);
    EXPECT_EQ(t->size(), cap);
    EXPECT_EQ(c.evictions, inserted);
    EXPECT_EQ(c.full_no_victim, refused);
    EXPECT_GT(inserted, cap * 3 / 4); // a sample of 8 buckets is rarely empty
    EXPECT_EQ(c.expirations, 0u);
    // An insert of a key that is there evicts nothing, full or not.
    uint32_t there = 2 * cap - 1;
    swd_lb_session seen{};
    while (!lookup(*t, key_of(there), 15'000, &seen)) {
        there--;
    }
    ASSERT_EQ(insert(*t, key_of(there), value_of(there, 0), 15'000), status::exists);
    EXPECT_EQ(t->counters().evictions, c.evictions);
    // The victims are the idlest of a sample (8 buckets, about 8 entries), not of the whole
    // table: most are old entries, and a new one goes only when its sample has no old one left.
    swd_lb_session v{};
    uint32_t new_found = 0;
    for (uint32_t i = cap; i < 2 * cap; i++) {
        new_found += lookup(*t, key_of(i), 20'000, &v);
    }
    std::printf("new entries still there: %u of %u\n", new_found, inserted);
    EXPECT_GT(new_found, inserted * 3 / 4);
}

TEST(SessionTable, FullTableExpiresBeforeEvicting) {
    constexpr uint32_t cap = 64;
    auto t = make(cap, /*idle=*/100);
    for (uint32_t i = 0; i < cap; i++) {
        ASSERT_EQ(insert(*t, key_of(i), value_of(i, 0), 0), status::inserted);
    }
    // Every entry is idle by t = 1000: room comes from expiring, nothing live is evicted.
    for (uint32_t i = cap; i < cap + 32; i++) {
        ASSERT_EQ(insert(*t, key_of(i), value_of(i, 0), 1000), status::inserted);
    }
    const session_counters c = t->counters();
    EXPECT_EQ(c.evictions, 0u);
    EXPECT_GE(c.expirations, 32u);
    EXPECT_LE(t->size(), cap);
}

TEST(SessionTable, NodesWaitForTheGracePeriod) {
    // Capacity 4 and 2 spare nodes. A reader inside a section holds back the reuse of every node
    // retired after it entered.
    auto t = make(4, 1000, /*readers=*/1, /*slack=*/2);
    EXPECT_EQ(t->pool_size(), 6u);
    t->enter(0);
    for (uint32_t i = 0; i < 4; i++) {
        ASSERT_EQ(insert(*t, key_of(i), value_of(i, 0), 0), status::inserted);
    }
    for (uint32_t i = 0; i < 4; i++) {
        ASSERT_TRUE(t->erase(key_of(i), session_table::hash(key_of(i))));
    }
    EXPECT_EQ(t->size(), 0u);
    EXPECT_EQ(insert(*t, key_of(10), value_of(10, 0), 0), status::inserted);
    EXPECT_EQ(insert(*t, key_of(11), value_of(11, 0), 0), status::inserted);
    EXPECT_EQ(insert(*t, key_of(12), value_of(12, 0), 0), status::full);
    EXPECT_EQ(t->counters().wait_grace, 1u);
    EXPECT_EQ(t->nodes_in_use(), 6u);
    t->leave(0);
    EXPECT_EQ(insert(*t, key_of(12), value_of(12, 0), 0), status::inserted);
    EXPECT_EQ(t->nodes_in_use(), 3u); // the 4 retired ones came back; 3 live
    EXPECT_LE(t->nodes_high_water(), t->pool_size());
}

TEST(SessionTable, CreateChecksItsConfig) {
    session_table_config cfg;
    cfg.capacity = 0;
    auto t = session_table::create(cfg);
    ASSERT_FALSE(t);
    EXPECT_EQ(t.err().context, "session table: capacity 0; expected 1 to 1073741824");
    cfg.capacity = 10;
    cfg.readers = 0;
    t = session_table::create(cfg);
    ASSERT_FALSE(t);
    EXPECT_EQ(t.err().context, "session table: 0 reader slots; expected 1 to 1024");
}

TEST(SessionTable, NoAllocationAfterConstruction) {
    auto t = make(1000, 50, 2, 8);
    std::mt19937 rng(1);
    allocations = 0;
    count_allocations = true;
    uint64_t now = 0;
    swd_lb_session v{};
    // Far more inserts than nodes: every node is reused many times over.
    for (int i = 0; i < 200'000; i++) {
        const uint32_t id = rng() % 5000;
        const swd_lb_tuple k = key_of(id);
        const uint32_t h = session_table::hash(k);
        now++;
        switch (rng() % 4) {
        case 0:
        case 1:
            (void)t->insert(k, h, value_of(id, i), now);
            break;
        case 2:
            t->enter(i & 1);
            (void)t->lookup(i & 1, k, h, now, &v);
            t->leave(i & 1);
            break;
        case 3:
            (void)t->erase(k, h);
            break;
        }
        if (i % 1000 == 0) {
            (void)t->expire(now, 64);
        }
    }
    count_allocations = false;
    EXPECT_EQ(allocations.load(), 0u);
    EXPECT_LE(t->nodes_high_water(), t->pool_size());
    EXPECT_LE(t->size(), t->capacity());
    const session_counters c = t->counters();
    EXPECT_GT(c.inserts, 50'000u);
    EXPECT_GT(c.evictions + c.expirations, 0u);
}

// Readers look up while writers insert, erase and expire; every value a reader copies must be
// one that was written whole (check_value), and the node pool is never exceeded.
// With more threads than CPUs (5 on 2 here) a reader preempted inside its section holds back
// the reuse of nodes for a time slice, so many inserts are refused as wait_grace: counted, and
// not what a PMD pinned to its own core sees.
TEST(SessionTable, ReadersRaceWriters) {
    constexpr uint32_t readers = 3, writers = 2, keys = 4096;
    auto t = make(2048, /*idle=*/5000, readers, /*slack=*/64);
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> now{1}, bad{0}, hits{0}, lookups{0};
    std::vector<std::thread> threads;
    for (uint32_t r = 0; r < readers; r++) {
        threads.emplace_back([&, r] {
            std::mt19937 rng(100 + r);
            swd_lb_session v{};
            uint64_t my_hits = 0, my_lookups = 0;
            while (!stop.load(std::memory_order_relaxed)) {
                t->enter(r);
                for (int i = 0; i < 32; i++) { // a batch
                    const uint32_t id = rng() % keys;
                    const swd_lb_tuple k = key_of(id);
                    if (t->lookup(r, k, session_table::hash(k), now.load(), &v)) {
                        my_hits++;
                        if (!check_value(id, v)) {
                            bad.fetch_add(1);
                        }
                    }
                    my_lookups++;
                }
                t->leave(r);
            }
            hits += my_hits;
            lookups += my_lookups;
        });
    }
    for (uint32_t w = 0; w < writers; w++) {
        threads.emplace_back([&, w] {
            std::mt19937 rng(200 + w);
            uint32_t gen = 0;
            while (!stop.load(std::memory_order_relaxed)) {
                const uint32_t id = rng() % keys;
                const swd_lb_tuple k = key_of(id);
                const uint32_t h = session_table::hash(k);
                const uint64_t n = now.fetch_add(1) + 1;
                if (rng() % 3 == 0) {
                    (void)t->erase(k, h);
                } else {
                    (void)t->insert(k, h, value_of(id, ++gen * writers + w), n);
                }
                if (gen % 512 == 0) {
                    (void)t->expire(n, 32);
                }
                if (t->nodes_in_use() > t->pool_size() || t->size() > t->capacity()) {
                    bad.fetch_add(1000000);
                }
            }
        });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    stop = true;
    for (auto& th : threads) {
        th.join();
    }
    const session_counters c = t->counters();
    std::printf("%lu lookups (%lu hits) against %lu inserts, %lu deletes, %lu evictions, "
                "%lu expirations, %lu refused waiting for grace, %lu with no victim; nodes in "
                "use at most %u of %u\n",
                lookups.load(), hits.load(), c.inserts, c.deletes, c.evictions, c.expirations,
                c.wait_grace, c.full_no_victim, t->nodes_high_water(), t->pool_size());
    EXPECT_EQ(bad.load(), 0u);
    EXPECT_GT(hits.load(), 0u);
    EXPECT_GT(c.inserts, 1000u);
    EXPECT_EQ(c.hits, hits.load());
    EXPECT_EQ(c.hits + c.misses, lookups.load());
    EXPECT_LE(t->nodes_high_water(), t->pool_size());
    EXPECT_LE(t->size(), t->capacity());

    // Quiescent again: every retired node comes back, and the live ones are all still readable.
    t->reclaim();
    EXPECT_EQ(t->nodes_in_use(), t->size());
}

// A session keeps its backend when Maglev no longer gives it new sessions (drain), and new
// sessions never go there: the "draining a backend keeps its sessions".
TEST(SessionTable, DrainKeepsEstablishedSessions) {
    std::vector<maglev_backend> b(3);
    for (uint32_t i = 0; i < 3; i++) {
        b[i].addr[0] = htonl(0x0a010001 + i);
        b[i].port = 8080;
    }
    auto before = maglev_table::build(b);
    ASSERT_TRUE(before);
    auto t = make(10'000);
    std::vector<uint16_t> chosen(2000);
    for (uint32_t i = 0; i < 2000; i++) {
        const swd_lb_tuple k = key_of(i);
        const uint32_t h = session_table::hash(k);
        swd_lb_session s{};
        s.backend = before->pick(h); // the miss path: Maglev, then insert
        s.dir = SWD_LB_TO_BACKEND;
        std::memcpy(s.addr, b[s.backend].addr, sizeof s.addr);
        s.port = htons(b[s.backend].port);
        ASSERT_EQ(t->insert(k, h, s, 0), status::inserted);
        chosen[i] = s.backend;
    }
    b[1].state = backend_state::drain;
    auto after = maglev_table::build(b);
    ASSERT_TRUE(after);
    uint32_t kept_on_drained = 0;
    for (uint32_t i = 0; i < 2000; i++) {
        swd_lb_session s{};
        ASSERT_TRUE(lookup(*t, key_of(i), 1, &s));
        EXPECT_EQ(s.backend, chosen[i]);
        kept_on_drained += s.backend == 1;
    }
    EXPECT_GT(kept_on_drained, 500u);
    for (uint32_t i = 2000; i < 4000; i++) {
        const swd_lb_tuple k = key_of(i);
        EXPECT_NE(after->pick(session_table::hash(k)), 1);
    }
}

// A miss inserts both directions; the reply's tuple then finds the VIP to write back.
TEST(SessionTable, SessionPairRewritesBothWays) {
    const uint8_t client_mac[6] = {2, 0, 0, 0, 0, 0xc1};
    const uint8_t vip_mac[6] = {2, 0, 0, 0, 0, 0x10};
    session_backend b;
    b.addr[0] = htonl(0x0a010002); // 10.1.0.2
    b.port = 8080;
    b.mac[5] = 0xb2;
    b.index = 1;
    const swd_lb_tuple client = v4_tuple(7, 40000); // 192.168.0.7:40000 -> 10.0.0.10:80
    const session_pair p = make_session_pair(client, client_mac, vip_mac, b, 3);

    EXPECT_EQ(std::memcmp(&p.to_backend_key, &client, sizeof client), 0);
    EXPECT_EQ(p.to_backend.dir, SWD_LB_TO_BACKEND);
    EXPECT_EQ(p.to_backend.addr[0], htonl(0x0a010002));
    EXPECT_EQ(p.to_backend.port, htons(8080));
    EXPECT_EQ(p.to_backend.eth_dst[5], 0xb2);
    EXPECT_EQ(p.to_backend.eth_src[5], 0x10);
    EXPECT_EQ(p.to_backend.backend, 1);
    EXPECT_EQ(p.to_backend.pool, 3);

    // The backend's reply: 10.1.0.2:8080 -> 192.168.0.7:40000.
    swd_lb_tuple reply{};
    reply.src_ip[0] = htonl(0x0a010002);
    reply.dst_ip[0] = htonl(0xc0a80007);
    reply.src_port = htons(8080);
    reply.dst_port = htons(40000);
    reply.proto = 6;
    EXPECT_EQ(std::memcmp(&p.to_client_key, &reply, sizeof reply), 0);
    EXPECT_EQ(p.to_client.dir, SWD_LB_TO_CLIENT);
    EXPECT_EQ(p.to_client.addr[0], htonl(0x0a00000a));
    EXPECT_EQ(p.to_client.port, htons(80));
    EXPECT_EQ(p.to_client.eth_dst[5], 0xc1);
    EXPECT_EQ(p.to_client.eth_src[5], 0x10);

    auto t = make(16);
    ASSERT_EQ(insert(*t, p.to_backend_key, p.to_backend, 0), status::inserted);
    ASSERT_EQ(insert(*t, p.to_client_key, p.to_client, 0), status::inserted);
    swd_lb_session v{};
    ASSERT_TRUE(lookup(*t, reply, 1, &v));
    EXPECT_EQ(v.dir, SWD_LB_TO_CLIENT);
    EXPECT_EQ(v.addr[0], htonl(0x0a00000a));
}

} // namespace
} // namespace swd::dp::lb
