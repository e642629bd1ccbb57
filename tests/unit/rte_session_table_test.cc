// The rte_hash session table (datapath/lb/rte_session_table.h) against ours: the same operations
// give the same results, entries age out, the table stays within its capacity when full, and
// readers racing writers only ever copy values that were written whole. Built with DPDK only.
#include <arpa/inet.h>
#include <atomic>
#include <cstring>
#include <gtest/gtest.h>
#include <random>
#include <thread>
#include <vector>

#include "datapath/lb/rte_session_table.h"
#include "datapath/lb/session_table.h"
#include "tests/unit/session_values.h"

namespace swd::dp::lb {
namespace {

using status = session_table::insert_status;

using test::check_value;
using test::key_of;
using test::value_of;

template <class Table>
std::unique_ptr<Table> make(uint32_t capacity, uint64_t idle, uint32_t readers = 1) {
    session_table_config cfg;
    cfg.capacity = capacity;
    cfg.idle_timeout = idle;
    cfg.readers = readers;
    auto t = Table::create(cfg);
    if (!t) {
        ADD_FAILURE() << t.err().message();
        std::abort();
    }
    return std::move(t).value();
}

template <class Table>
bool lookup(Table& t, const swd_lb_tuple& k, uint64_t now, swd_lb_session* out) {
    t.enter(0);
    const bool hit = t.lookup(0, k, Table::hash(k), now, out);
    t.leave(0);
    return hit;
}

// Random inserts, lookups and erases on both tables, below capacity and without aging (when an
// idle entry is removed differs between the two): every result the same.
TEST(RteSessionTable, BehavesAsOurs) {
    auto ours = make<session_table>(4096, UINT64_MAX / 2);
    auto rte = make<rte_session_table>(4096, UINT64_MAX / 2);
    std::mt19937 rng(7);
    uint64_t now = 1;
    size_t hits = 0;
    for (int i = 0; i < 200'000; i++) {
        const uint32_t id = rng() % 3000;
        const swd_lb_tuple k = key_of(id);
        const uint32_t h = session_table::hash(k);
        now += rng() % 3;
        swd_lb_session a{}, b{};
        switch (rng() % 4) {
        case 0: {
            const swd_lb_session v = value_of(id, uint32_t(i));
            ASSERT_EQ(ours->insert(k, h, v, now, &a), rte->insert(k, h, v, now, &b)) << i;
            ASSERT_EQ(std::memcmp(&a, &b, sizeof a), 0) << i;
            break;
        }
        case 1:
        case 2: {
            const bool x = lookup(*ours, k, now, &a);
            ASSERT_EQ(x, lookup(*rte, k, now, &b)) << i;
            if (x) {
                hits++;
                ASSERT_EQ(std::memcmp(&a, &b, sizeof a), 0) << i;
            }
            break;
        }
        case 3:
            ASSERT_EQ(ours->erase(k, h), rte->erase(k, h)) << i;
            break;
        }
    }
    EXPECT_GT(hits, 10'000u);
    EXPECT_EQ(ours->counters().inserts, rte->counters().inserts);
    EXPECT_EQ(ours->counters().hits, rte->counters().hits);
}

TEST(RteSessionTable, EntriesAgeOutByIdleTime) {
    auto t = make<rte_session_table>(100, 100);
    ASSERT_EQ(t->insert(key_of(1), rte_session_table::hash(key_of(1)), value_of(1, 1), 0),
              status::inserted);
    ASSERT_EQ(t->insert(key_of(2), rte_session_table::hash(key_of(2)), value_of(2, 1), 0),
              status::inserted);
    swd_lb_session v{};
    EXPECT_TRUE(lookup(*t, key_of(1), 50, &v));   // refreshed to 50
    EXPECT_TRUE(lookup(*t, key_of(1), 140, &v));  // idle 90: alive
    EXPECT_FALSE(lookup(*t, key_of(2), 140, &v)); // idle 140: dead for readers
    EXPECT_EQ(t->size(), 2u);
    EXPECT_EQ(t->expire(150, 1000), 1u);
    EXPECT_EQ(t->size(), 1u);
    // A dead entry of the key being inserted is replaced.
    ASSERT_EQ(t->insert(key_of(1), rte_session_table::hash(key_of(1)), value_of(1, 2), 1000),
              status::inserted);
    ASSERT_TRUE(lookup(*t, key_of(1), 1000, &v));
    EXPECT_EQ(v.backend, 2);
}

// Inserting far more keys than the capacity: the table stays within it, evicting the least
// recently used of a sample, and the newest key is always there.
TEST(RteSessionTable, FullTableEvictsAndStaysBounded) {
    auto t = make<rte_session_table>(1000, 1'000'000'000);
    swd_lb_session v{};
    for (uint32_t id = 0; id < 20'000; id++) {
        const swd_lb_tuple k = key_of(id);
        ASSERT_EQ(t->insert(k, rte_session_table::hash(k), value_of(id, 0), 1 + id),
                  status::inserted)
            << id;
        ASSERT_LE(t->size(), 1000u);
        ASSERT_TRUE(lookup(*t, k, 1 + id, &v));
    }
    const session_counters c = t->counters();
    EXPECT_EQ(c.inserts, 20'000u);
    EXPECT_EQ(c.evictions, 19'000u);
    EXPECT_EQ(c.full_no_victim, 0u);
}

// Readers look up in sections of 32 while a writer inserts, erases and expires: every value a
// reader copies was written whole, and a deleted node is not reused under a reader.
TEST(RteSessionTable, ReadersRaceAWriter) {
    constexpr uint32_t readers = 2, keys = 4096;
    auto t = make<rte_session_table>(2048, 5000, readers);
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> now{1}, bad{0}, hits{0};
    std::vector<std::thread> threads;
    for (uint32_t r = 0; r < readers; r++) {
        threads.emplace_back([&, r] {
            std::mt19937 rng(100 + r);
            swd_lb_session v{};
            while (!stop.load(std::memory_order_relaxed)) {
                t->enter(r);
                for (int i = 0; i < 32; i++) {
                    const uint32_t id = rng() % keys;
                    const swd_lb_tuple k = key_of(id);
                    if (t->lookup(r, k, rte_session_table::hash(k), now.load(), &v)) {
                        hits.fetch_add(1, std::memory_order_relaxed);
                        if (!check_value(id, v)) {
                            bad.fetch_add(1);
                        }
                    }
                }
                t->leave(r);
            }
        });
    }
    threads.emplace_back([&] {
        std::mt19937 rng(200);
        uint32_t gen = 0;
        while (!stop.load(std::memory_order_relaxed)) {
            const uint32_t id = rng() % keys;
            const swd_lb_tuple k = key_of(id);
            const uint32_t h = rte_session_table::hash(k);
            const uint64_t n = now.fetch_add(1) + 1;
            if (rng() % 3 == 0) {
                (void)t->erase(k, h);
            } else {
                (void)t->insert(k, h, value_of(id, ++gen), n);
            }
            if (gen % 512 == 0) {
                (void)t->expire(n, 32);
            }
            if (t->size() > t->capacity()) {
                bad.fetch_add(1000000);
            }
        }
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    stop = true;
    for (auto& th : threads) {
        th.join();
    }
    EXPECT_EQ(bad.load(), 0u);
    EXPECT_GT(hits.load(), 10'000u);
    EXPECT_GT(t->counters().inserts, 10'000u);
}

} // namespace
} // namespace swd::dp::lb
