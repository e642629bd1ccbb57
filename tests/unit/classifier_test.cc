// The compiled tuple-space classifier against a brute-force scan of the rule table.
#include <gtest/gtest.h>
#include <random>

#include "flows/compiler.h"
#include "flows/format.h"
#include "flows/rule_table.h"

namespace swd::flows {
namespace {

using dp::flow_key;

// A handful of mask shapes, so that subtables hold many rules and rules overlap.
struct shape {
    bool in_port, eth_type, nw_proto, src, dst, sport, dport;
    int src_prefix, dst_prefix;
};

constexpr shape shapes[] = {
    {false, true, true, true, true, true, true, 32, 32},     // exact 5-tuple
    {false, true, false, true, false, false, false, 24, 0},  // ip,nw_src=/24
    {false, true, false, true, false, false, false, 16, 0},  // ip,nw_src=/16
    {false, true, true, false, true, false, true, 0, 32},    // tcp,nw_dst,tp_dst
    {true, false, false, false, false, false, false, 0, 0},  // in_port
    {false, false, false, false, false, false, false, 0, 0}, // catch-all
    {true, true, true, false, false, false, true, 0, 0},     // in_port,tcp,tp_dst
    {false, true, false, false, true, false, false, 0, 8},   // ip,nw_dst=/8
};

uint32_t prefix_mask(int len) {
    return len == 0 ? 0 : dp::be32(0xffffffffu << (32 - len));
}

// Small value ranges so that random packets hit rules often.
flow_key random_key(std::mt19937_64& rng) {
    flow_key k;
    k.f.in_port = static_cast<uint16_t>(1 + rng() % 3);
    k.f.eth_type = dp::be16(rng() % 8 ? 0x0800 : 0x86dd);
    k.f.nw_proto = rng() % 2 ? 6 : 17;
    k.f.nw_src[0] =
        dp::be32(0x0a000000u | static_cast<uint32_t>(rng() % 4) << 16 |
                 static_cast<uint32_t>(rng() % 4) << 8 | static_cast<uint32_t>(rng() % 4));
    k.f.nw_dst[0] = dp::be32(0x0a000000u | static_cast<uint32_t>(rng() % 3) << 24 |
                             static_cast<uint32_t>(rng() % 4));
    k.f.tp_src = dp::be16(static_cast<uint16_t>(1000 + rng() % 4));
    k.f.tp_dst = dp::be16(static_cast<uint16_t>(80 + rng() % 4));
    k.f.eth_src[5] = static_cast<uint8_t>(rng());
    k.f.nw_ttl = static_cast<uint8_t>(rng());
    return k;
}

rule random_rule(std::mt19937_64& rng) {
    const shape& s = shapes[rng() % std::size(shapes)];
    flow_key pk = random_key(rng);
    dp::flow_match m;
    if (s.in_port) {
        m.mask.f.in_port = 0xffff;
    }
    if (s.eth_type) {
        m.mask.f.eth_type = 0xffff;
    }
    if (s.nw_proto) {
        m.mask.f.nw_proto = 0xff;
    }
    if (s.src) {
        m.mask.f.nw_src[0] = prefix_mask(s.src_prefix);
    }
    if (s.dst) {
        m.mask.f.nw_dst[0] = prefix_mask(s.dst_prefix);
    }
    if (s.sport) {
        m.mask.f.tp_src = 0xffff;
    }
    if (s.dport) {
        m.mask.f.tp_dst = 0xffff;
    }
    m.value = pk & m.mask;
    rule r;
    r.match = m;
    r.priority = static_cast<uint16_t>(rng() % 6 * 100); // few priorities: ties happen
    r.table = static_cast<uint8_t>(rng() % 8 == 0 ? 1 : 0);
    swd_action a{};
    a.type = SWD_ACT_OUTPUT;
    a.arg = static_cast<uint16_t>(rng() % 4);
    r.actions.assign(rng() % 3, a);
    return r;
}

// Reference: highest priority, then lowest rule id.
const rule* brute_force(const table_snapshot& s, unsigned table, const flow_key& k) {
    const rule* best = nullptr;
    s.for_each([&](const rule& r) {
        if (r.table != table || !r.match.matches(k)) {
            return;
        }
        if (!best || r.priority > best->priority ||
            (r.priority == best->priority && r.id < best->id)) {
            best = &r;
        }
    });
    return best;
}

void expect_same(const table_snapshot& s, const flow_key& k, uint64_t seed) {
    for (unsigned t = 0; t < 2; t++) {
        const rule* want = brute_force(s, t, k);
        const dp::classifier* c = s.pipeline->table(t);
        const dp::subtable* owner = nullptr;
        const dp::compiled_rule* got = c ? c->lookup(k, &owner) : nullptr;
        ASSERT_EQ(want == nullptr, got == nullptr)
            << "seed " << seed << " table " << t << ": brute force "
            << (want ? format_rule(*want, {}) : "no rule") << ", classifier "
            << (got ? std::to_string(got->rule_id) : "no rule");
        if (want) {
            ASSERT_EQ(want->id, got->rule_id)
                << "seed " << seed << " table " << t << ": want " << format_rule(*want, {})
                << " (priority " << want->priority << "), got rule " << got->rule_id << " priority "
                << got->priority;
            auto acts = owner->actions(*got);
            ASSERT_EQ(acts.size(), want->actions.size()) << "seed " << seed;
            for (size_t i = 0; i < acts.size(); i++) {
                ASSERT_EQ(0, std::memcmp(&acts[i], &want->actions[i], sizeof(swd_action)));
            }
        }
    }
}

// classifier::lookup_batch must give each key of a batch the winner (and owner) of lookup().
void expect_batch_same(const table_snapshot& s, const std::vector<flow_key>& keys, uint64_t seed) {
    ASSERT_LE(keys.size(), dp::classifier::max_lookup_batch);
    std::vector<const flow_key*> ptrs;
    for (const auto& k : keys) {
        ptrs.push_back(&k);
    }
    for (unsigned t = 0; t < 2; t++) {
        const dp::classifier* c = s.pipeline->table(t);
        if (!c) {
            continue;
        }
        std::vector<const dp::compiled_rule*> rules(keys.size());
        std::vector<const dp::subtable*> owners(keys.size());
        c->lookup_batch(ptrs.data(), ptrs.size(), rules.data(), owners.data());
        for (size_t i = 0; i < keys.size(); i++) {
            const dp::subtable* owner = nullptr;
            const dp::compiled_rule* want = c->lookup(keys[i], &owner);
            ASSERT_EQ(want, rules[i]) << "seed " << seed << " table " << t << " key " << i;
            ASSERT_EQ(owner, owners[i]) << "seed " << seed << " table " << t << " key " << i;
        }
    }
}

TEST(Classifier, MatchesBruteForceOnRandomRuleSets) {
    const auto now = clock::now();
    for (uint64_t seed = 1; seed <= 2000; seed++) {
        std::mt19937_64 rng(seed);
        rule_table table;
        std::vector<flow_mod> mods(1 + rng() % 60);
        for (auto& fm : mods) {
            fm.spec = random_rule(rng);
        }
        ASSERT_TRUE(table.apply(mods, {}, now).ok());
        auto snap = table.current();
        std::vector<flow_key> keys;
        for (int p = 0; p < 40; p++) {
            keys.push_back(random_key(rng));
            expect_same(*snap, keys.back(), seed);
            if (HasFatalFailure()) {
                return;
            }
        }
        expect_batch_same(*snap, keys, seed);
        if (HasFatalFailure()) {
            return;
        }
    }
}

// The incremental compiler (reusing unchanged subtables across versions) must agree with the
// reference after every change, and with a from-scratch compile.
TEST(Classifier, IncrementalUpdatesMatchBruteForce) {
    const auto now = clock::now();
    for (uint64_t seed = 1; seed <= 200; seed++) {
        std::mt19937_64 rng(seed * 7919);
        rule_table table;
        for (int step = 0; step < 30; step++) {
            std::vector<flow_mod> mods(1 + rng() % 5);
            for (auto& fm : mods) {
                fm.spec = random_rule(rng);
                switch (rng() % 4) {
                case 0:
                    fm.command = flow_command::del;
                    fm.spec.match = random_rule(rng).match;
                    break;
                case 1:
                    fm.command = flow_command::modify_strict;
                    break;
                default:
                    fm.command = flow_command::add;
                }
            }
            ASSERT_TRUE(table.apply(mods, {}, now).ok());
            table.reclaim(table.current()->version - 1);
            auto snap = table.current();
            for (int p = 0; p < 20; p++) {
                expect_same(*snap, random_key(rng), seed);
                if (HasFatalFailure()) {
                    return;
                }
            }
            std::vector<const rule*> all;
            snap->for_each([&](const rule& r) { all.push_back(&r); });
            auto scratch = compiler::compile_all(all, snap->version);
            ASSERT_EQ(scratch->n_subtables(), snap->pipeline->n_subtables()) << "seed " << seed;
        }
    }
}

TEST(Classifier, EarlyExitSkipsLowerPrioritySubtables) {
    rule_table table;
    std::vector<flow_mod> mods(2);
    // High-priority exact rule and a low-priority catch-all in another subtable.
    mods[0].spec.priority = 1000;
    mods[0].spec.match.mask.f.in_port = 0xffff;
    mods[0].spec.match.value.f.in_port = 1;
    mods[1].spec.priority = 0;
    ASSERT_TRUE(table.apply(mods, {}, clock::now()).ok());
    const dp::classifier* c = table.current()->pipeline->table(0);
    ASSERT_NE(c, nullptr);
    ASSERT_EQ(c->subtables().size(), 2u);
    EXPECT_EQ(c->subtables()[0]->max_priority(), 1000);
    flow_key k;
    k.f.in_port = 1;
    const dp::subtable* owner = nullptr;
    const dp::compiled_rule* r = c->lookup(k, &owner);
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->priority, 1000);
    k.f.in_port = 2;
    r = c->lookup(k, &owner);
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->priority, 0);
}

TEST(Classifier, SubtablesStoreOnlyMaskedWords) {
    rule r;
    r.match.mask.f.nw_src[0] = 0xffffffff;
    r.match.mask.f.eth_type = 0xffff;
    r.match.value.f.eth_type = dp::be16(0x0800);
    r.match.value.f.nw_src[0] = dp::be32(0x0a000001);
    r.id = 1;
    const rule* rules[] = {&r};
    auto p = compiler::compile_all(rules, 1);
    ASSERT_EQ(p->n_subtables(), 1u);
    size_t seen = 0;
    p->tables[0].subtables()[0]->for_each(
        [&](const flow_key& k, const dp::compiled_rule& cr, std::span<const swd_action>) {
            EXPECT_EQ(k, r.match.value);
            EXPECT_EQ(cr.rule_id, 1u);
            seen++;
        });
    EXPECT_EQ(seen, 1u);
}

} // namespace
} // namespace swd::flows
