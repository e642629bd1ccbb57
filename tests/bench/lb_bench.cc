// lb_bench: the load balancer's building blocks on one core, in process (datapath/lb/).
//
//   lb_bench [--sizes 1,1000,100000,1000000] [--lookups N] [--seed S] [--backend swd|rte|both]
//
// Prints, as lookups (or inserts) per second of one thread:
// - Maglev: building the table (N = 10 and 100 backends, M = 65537), the flow hash alone
//   (swd_lb_hash) and a new-session choice (hash + table[hash % M]) over random 5-tuples;
// - the session table at each size S (capacity S, every session present): inserting the S
//   sessions into an empty table, hits (random present keys), misses (absent keys), and inserts
//   into the full table (each one evicts). Lookups run in reader sections of 32, as a PMD batch.
// Tuples are generated up front, so the figures are the table's cost plus the memory traffic of
// reading the keys. Built with DPDK, the same figures for the rte_hash table
// (datapath/lb/rte_session_table.h), size by size next to ours (--backend both, the default then).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fmt/core.h>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "datapath/lb/maglev.h"
#include "datapath/lb/session_table.h"
#ifdef SWD_HAVE_DPDK
#include "datapath/lb/rte_session_table.h"
#endif

using namespace swd::dp::lb;
using clk = std::chrono::steady_clock;

namespace {

std::vector<swd_lb_tuple> random_tuples(size_t n, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<swd_lb_tuple> v(n);
    for (auto& t : v) {
        t = {};
        const uint64_t r = rng();
        t.src_ip[0] = uint32_t(r);
        t.dst_ip[0] = uint32_t(r >> 32);
        t.src_port = uint16_t(rng());
        t.dst_port = 80;
        t.proto = 6;
    }
    return v;
}

double seconds_since(clk::time_point t0) {
    return std::chrono::duration<double>(clk::now() - t0).count();
}

void print_rate(std::string_view what, size_t ops, double secs) {
    fmt::print("  {:<44} {:>10.2f} M/s  {:>7.1f} ns/op\n", what, ops / secs / 1e6,
               secs * 1e9 / ops);
}

volatile uint64_t sink;

void bench_maglev(size_t lookups, uint64_t seed) {
    fmt::print("Maglev (M = {})\n", SWD_LB_MAGLEV_SIZE);
    for (uint32_t n : {10u, 100u}) {
        std::vector<maglev_backend> b(n);
        for (uint32_t i = 0; i < n; i++) {
            b[i].addr[0] = 0x0a010000 + i;
            b[i].port = 8080;
        }
        const auto t0 = clk::now();
        constexpr int builds = 20;
        for (int i = 0; i < builds; i++) {
            auto t = maglev_table::build(b);
            sink = t->pick(0);
        }
        fmt::print("  build, {:>3} backends {:>35.2f} ms\n", n, seconds_since(t0) * 1e3 / builds);
    }
    std::vector<maglev_backend> b(100);
    for (uint32_t i = 0; i < 100; i++) {
        b[i].addr[0] = 0x0a010000 + i;
        b[i].port = 8080;
    }
    const maglev_table table = *maglev_table::build(b);
    const auto tuples = random_tuples(1 << 20, seed);
    uint64_t acc = 0;
    auto t0 = clk::now();
    for (size_t i = 0; i < lookups; i++) {
        acc += swd_lb_hash(&tuples[i & (tuples.size() - 1)]);
    }
    print_rate("swd_lb_hash", lookups, seconds_since(t0));
    t0 = clk::now();
    for (size_t i = 0; i < lookups; i++) {
        acc += table.pick(swd_lb_hash(&tuples[i & (tuples.size() - 1)]));
    }
    print_rate("choice: hash + table[hash % M], 100 backends", lookups, seconds_since(t0));
    sink = acc;
}

template <class Table>
void bench_sessions(const char* name, uint32_t size, size_t lookups, uint64_t seed) {
    session_table_config cfg;
    cfg.capacity = size;
    cfg.idle_timeout = UINT64_MAX / 2;
    auto made = Table::create(cfg);
    if (!made) {
        fmt::print(stderr, "lb_bench: {}\n", made.err().message());
        std::exit(1);
    }
    Table& t = **made;
    const auto present = random_tuples(size, seed);
    const auto absent = random_tuples(std::max<size_t>(size, 1 << 16), seed + 1);
    std::vector<uint32_t> hp(present.size()), ha(absent.size());
    for (size_t i = 0; i < present.size(); i++) {
        hp[i] = session_table::hash(present[i]);
    }
    for (size_t i = 0; i < absent.size(); i++) {
        ha[i] = session_table::hash(absent[i]);
    }
    swd_lb_session v{};
    v.dir = SWD_LB_TO_BACKEND;
    if constexpr (requires { t.buckets(); }) {
        fmt::print("{}, {} sessions ({} buckets, {} nodes)\n", name, size, t.buckets(),
                   t.pool_size());
    } else {
        fmt::print("{}, {} sessions\n", name, size);
    }

    auto t0 = clk::now();
    for (uint32_t i = 0; i < size; i++) {
        v.backend = uint16_t(i);
        (void)t.insert(present[i], hp[i], v, 1);
    }
    print_rate("insert into an empty table", size, seconds_since(t0));

    // Random order over the present keys: an index permutation computed up front.
    std::mt19937_64 rng(seed + 2);
    std::vector<uint32_t> order(std::min<size_t>(lookups, 1 << 22));
    for (auto& o : order) {
        o = uint32_t(rng() % size);
    }
    uint64_t hits = 0;
    t0 = clk::now();
    for (size_t i = 0; i < lookups; i += 32) {
        t.enter(0);
        for (size_t j = i; j < i + 32; j++) {
            const uint32_t k = order[j % order.size()];
            hits += t.lookup(0, present[k], hp[k], 2, &v);
        }
        t.leave(0);
    }
    print_rate("lookup, hit", lookups, seconds_since(t0));
    if (hits != lookups) {
        fmt::print("  (only {} of {} hit)\n", hits, lookups);
    }
    t0 = clk::now();
    for (size_t i = 0; i < lookups; i += 32) {
        t.enter(0);
        for (size_t j = i; j < i + 32; j++) {
            const size_t k = j % absent.size();
            hits += t.lookup(0, absent[k], ha[k], 2, &v);
        }
        t.leave(0);
    }
    print_rate("lookup, miss", lookups, seconds_since(t0));

    const size_t evicting = std::min<size_t>(absent.size(), 1 << 20);
    t0 = clk::now();
    for (size_t k = 0; k < evicting; k++) {
        (void)t.insert(absent[k], ha[k], v, 3 + k);
        if constexpr (requires { t.reclaim(); }) {
            if (k % 32 == 31) {
                t.reclaim(); // what the PMD's quiescent point allows
            }
        }
    }
    print_rate("insert into the full table (evicting)", evicting, seconds_since(t0));
    const session_counters c = t.counters();
    fmt::print("  counters: inserts {}, evictions {}, expirations {}, refused {} (+{} grace)\n",
               c.inserts, c.evictions, c.expirations, c.full_no_victim, c.wait_grace);
}

} // namespace

int main(int argc, char** argv) {
    std::vector<uint32_t> sizes = {1, 1000, 100'000, 1'000'000};
    size_t lookups = 20'000'000;
    uint64_t seed = 1;
#ifdef SWD_HAVE_DPDK
    std::string_view backend = "both";
#else
    std::string_view backend = "swd";
#endif
    for (int i = 1; i < argc; i++) {
        const std::string_view a = argv[i];
        if (a == "--sizes" && i + 1 < argc) {
            sizes.clear();
            for (char* p = argv[++i]; *p != '\0';) {
                sizes.push_back(uint32_t(std::strtoul(p, &p, 10)));
                if (*p == ',') {
                    p++;
                }
            }
        } else if (a == "--lookups" && i + 1 < argc) {
            lookups = std::strtoull(argv[++i], nullptr, 10) / 32 * 32;
        } else if (a == "--seed" && i + 1 < argc) {
            seed = std::strtoull(argv[++i], nullptr, 10);
        } else if (a == "--backend" && i + 1 < argc) {
            backend = argv[++i];
        } else {
            fmt::print(stderr, "usage: lb_bench [--sizes 1,1000,100000,1000000] [--lookups N] "
                               "[--seed S] [--backend swd|rte|both]\n");
            return 2;
        }
    }
#ifndef SWD_HAVE_DPDK
    if (backend != "swd") {
        fmt::print(stderr, "lb_bench: built without DPDK (meson found no libdpdk): no rte "
                           "backend\n");
        return 2;
    }
#else
    if (backend != "swd") {
        size_t biggest = 1;
        for (uint32_t s : sizes) {
            biggest = std::max<size_t>(biggest, s);
        }
        // Room for the largest table with the others still allocated.
        if (auto r = dpdk_init(512 + biggest * 2048 / 1048576); !r) {
            fmt::print(stderr, "lb_bench: {}\n", r.err().message());
            return 1;
        }
    }
#endif
    bench_maglev(lookups, seed);
    for (uint32_t s : sizes) {
        if (backend == "swd" || backend == "both") {
            bench_sessions<session_table>("Session table (swd)", s, lookups, seed);
        }
#ifdef SWD_HAVE_DPDK
        if (backend == "rte" || backend == "both") {
            bench_sessions<rte_session_table>("Session table (rte_hash)", s, lookups, seed);
        }
#endif
    }
    return 0;
}
