// The XDP rule index's writer (netdev-afxdp/rule_index.h), read back as the dispatcher reads it
// (find() walks the same slots). Hashes of the test's choice crowd keys on one bucket and one tag.
// Needs root (BPF maps). Not root: skipped, unless SWD_REQUIRE_ROOT_TESTS=1 turns that into a
// failure.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <random>

#include "netdev-afxdp/rule_index.h"
#include "root_test.h"

namespace {

using swd::afxdp::rule_index;

swd_flow_key key_of(uint32_t n) {
    swd_flow_key k{};
    k.eth_type = htons(0x0800);
    k.nw_proto = 17;
    k.nw_src[0] = htonl(n);
    k.tp_dst = htons(static_cast<uint16_t>(n));
    return k;
}

swd_xdp_rule_head head_of(uint32_t rule_id) {
    swd_xdp_rule_head h{};
    h.rule_id = rule_id;
    h.priority = static_cast<uint16_t>(rule_id);
    h.run = SWD_XDP_RUN_XDP;
    h.slot = rule_id * 3;
    h.action_id = rule_id * 7;
    return h;
}

std::unique_ptr<rule_index> make(uint32_t capacity) {
    auto barrier = swd::afxdp::reader_barrier::create();
    EXPECT_TRUE(barrier) << barrier.err().message();
    if (!barrier) {
        return nullptr;
    }
    auto t = rule_index::create(capacity, *barrier);
    EXPECT_TRUE(t) << t.err().message();
    return t ? std::move(*t) : nullptr;
}

class RuleIndex : public swd::test::root_test {};

TEST_F(RuleIndex, HoldsItsCapacityWithTheRealHash) {
    auto t = make(4096);
    ASSERT_TRUE(t);
    EXPECT_EQ(t->index_mask() + 1, 2048u) << "four slots per rule, eight per bucket";
    for (uint32_t n = 0; n < 4096; n++) {
        ASSERT_TRUE(t->put(n % 3, key_of(n), head_of(n))) << n;
    }
    EXPECT_EQ(t->size(), 4096u);
    EXPECT_LE(t->probe(), uint32_t{SWD_XDP_PROBE_BUCKETS});
    for (uint32_t n = 0; n < 4096; n++) {
        auto h = t->find(n % 3, key_of(n));
        ASSERT_TRUE(h) << n;
        EXPECT_EQ(h->rule_id, n);
        EXPECT_EQ(h->action_id, n * 7);
        EXPECT_FALSE(t->find(n % 3 + 1, key_of(n))) << "another mask's key space";
    }
    for (uint32_t n = 0; n < 4096; n += 2) {
        ASSERT_TRUE(t->erase(n % 3, key_of(n)));
    }
    EXPECT_FALSE(t->erase(0, key_of(0))) << "already gone";
    EXPECT_EQ(t->size(), 2048u);
    for (uint32_t n = 0; n < 4096; n++) {
        EXPECT_EQ(t->find(n % 3, key_of(n)).has_value(), n % 2 == 1) << n;
    }
    t->clear();
    EXPECT_EQ(t->size(), 0u);
    EXPECT_EQ(t->probe(), 1u);
    EXPECT_FALSE(t->find(1, key_of(1)));
}

// Keys with one hash share a home bucket and a tag: the ninth goes to the next bucket and probe
// follows it there and back; each key still finds its own record (mask id and key compared).
TEST_F(RuleIndex, CrowdedKeysSpillToTheNextBucket) {
    auto t = make(64);
    ASSERT_TRUE(t);
    const uint64_t h = 0x1234'5678'0000'0005ULL;
    for (uint32_t n = 0; n < SWD_XDP_BUCKET_SLOTS; n++) {
        ASSERT_TRUE(t->put(h, 1, key_of(n), head_of(n)));
    }
    EXPECT_EQ(t->probe(), 1u);
    ASSERT_TRUE(t->put(h, 2, key_of(0), head_of(100))) << "the same key under another mask";
    EXPECT_EQ(t->probe(), 2u);
    for (uint32_t n = 0; n < SWD_XDP_BUCKET_SLOTS; n++) {
        EXPECT_EQ(t->find(h, 1, key_of(n))->rule_id, n);
    }
    EXPECT_EQ(t->find(h, 2, key_of(0))->rule_id, 100u);
    ASSERT_TRUE(t->erase(h, 1, key_of(3)));
    EXPECT_EQ(t->probe(), 2u) << "the spilled key is still a bucket away";
    ASSERT_TRUE(t->erase(h, 2, key_of(0)));
    EXPECT_EQ(t->probe(), 1u);
    // 8 buckets of 8 from home: 64 keys with one hash fit, the 65th does not, and changes
    // nothing.
    for (uint32_t n = 100; t->size() < SWD_XDP_PROBE_BUCKETS * SWD_XDP_BUCKET_SLOTS; n++) {
        ASSERT_TRUE(t->put(h, 1, key_of(n), head_of(n))) << n;
    }
    EXPECT_EQ(t->probe(), uint32_t{SWD_XDP_PROBE_BUCKETS});
    auto full = t->put(h, 1, key_of(999), head_of(999));
    ASSERT_FALSE(full);
    EXPECT_EQ(full.err().code, make_error_code(swd::errc::limit));
    EXPECT_NE(full.err().message().find("no free slot"), std::string::npos);
    EXPECT_FALSE(t->find(h, 1, key_of(999)));
    ASSERT_TRUE(t->put(h, 1, key_of(0), head_of(55))) << "a change in place needs no slot";
    EXPECT_EQ(t->find(h, 1, key_of(0))->rule_id, 55u);
}

// A change in place takes a fresh record; the old ones come back only after a grace period.
// Far more changes than records: every one succeeds and the last is what a reader finds.
TEST_F(RuleIndex, ChangesInPlaceRecycleRecords) {
    auto t = make(8);
    ASSERT_TRUE(t);
    const uint32_t changes = 5 * t->n_records();
    std::mt19937 rng(7);
    for (uint32_t n = 0; n < 4; n++) {
        ASSERT_TRUE(t->put(n, key_of(n), head_of(n)));
    }
    for (uint32_t i = 0; i < changes; i++) {
        const uint32_t n = rng() % 4;
        ASSERT_TRUE(t->put(n, key_of(n), head_of(1000 + i))) << i;
        EXPECT_EQ(t->find(n, key_of(n))->rule_id, 1000 + i);
    }
    EXPECT_EQ(t->size(), 4u);
}

// A number given up is taken again only after a wait for the readers (one wait frees every
// number retired before it); one that the active mask list names, only after the next switch.
TEST_F(RuleIndex, NumbersGivenUpComeBackAfterTheReaders) {
    auto barrier = swd::afxdp::reader_barrier::create();
    ASSERT_TRUE(barrier) << barrier.err().message();
    auto& b = **barrier;
    swd::afxdp::id_pool pool(3, *barrier);
    for (uint32_t want = 0; want < 3; want++) {
        EXPECT_EQ(pool.take(), want) << "never used first";
    }
    EXPECT_EQ(pool.take(), std::nullopt);
    pool.give_back(1);
    const uint64_t before = b.passed();
    EXPECT_EQ(pool.take(), 1u);
    EXPECT_EQ(b.passed(), before + 1) << "taken again only after a wait";

    pool.give_back(0, true); // the active list names it
    EXPECT_EQ(pool.take(), std::nullopt) << "held until the list is switched out";
    pool.list_switched();
    EXPECT_EQ(pool.take(), 0u);
    EXPECT_EQ(b.passed(), before + 2);

    pool.give_back(2);
    b.wait(); // another's wait (the rule index's) frees it too
    EXPECT_EQ(pool.take(), 2u);
    EXPECT_EQ(b.passed(), before + 3) << "no second wait";
}

} // namespace
