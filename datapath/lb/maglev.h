// Maglev consistent hashing: the load balancer's choice of backend for a new session.
//
// What it is for. A pool's new sessions are spread over its backends by a lookup table of prime
// size M (SWD_LB_MAGLEV_SIZE = 65537 by default): backend = entry[swd_lb_hash(tuple) % M]. The
// XDP program and user space hold the same table (struct swd_lb_maglev, bpf/shared/swd_abi.h,
// an array map's value verbatim) and the same hash, so both send the same 5-tuple to the same
// backend. The table only decides new sessions; an established session keeps its backend
// through the session table (session_table.h), whatever the table says later.
//
// How it works (Eisenbud et al., "Maglev: A Fast and Reliable Software Network Load Balancer",
// NSDI 2016, section 3.4). Each backend that takes new sessions (state up, weight > 0) has a
// preference list over the M slots, a permutation given by offset = h1(id) % M and
// skip = h2(id) % (M - 1) + 1: slot j of the list is (offset + j * skip) % M, which visits every
// slot because M is prime. The backends take turns claiming the next slot of their own list that
// is still free until the table is full. Weights: on each turn a backend gains its weight in
// credit and claims a slot only once its credit reaches the largest weight of the pool (then
// pays that much), so a backend of weight w claims w / w_max slots per round and its share of
// the table is w / sum(w) to within one entry. Equal weights give each backend floor(M / N) or
// ceil(M / N) entries.
//
// Identity. A backend's permutation comes from its identity (family, address, port), never from
// its position in the list, and the turns go in the order of the identities, so the same set of
// backends gives the same table (as identities) on every run and machine, whatever the order of
// the list; the hashes read the address as numbers, not host-order bytes. The entries hold
// positions in the list given to build(), so a caller that reorders the list gets the same
// backends at other indexes.
//
// Disruption. Removing one of N equal backends moves its own M / N entries (unavoidable) and
// some others: Maglev trades a little disruption for its even balance, as the paper says, and the
// extra grows as M / N shrinks. Measured by tests/unit/maglev_test.cc over N = 2..100 at
// M = 65537, removing the first, middle or last backend or adding one: the fraction of entries
// that change is at most 1.62 / N (N = 100, M / N = 655; 1.25 / N at N = 50, 1.07 / N at 20), and
// the test asserts the bound 1.75 / N. So about 1 / N of new-session choices move: the unavoidable
// 1 / N and at most 0.62 / N between surviving backends. Established sessions never move
// (the session table keeps them). Draining a backend (state drain), setting it down or its weight
// to 0 takes it out of the table exactly as removing it would, for new sessions only.
//
// Size. M must be prime and more than SWD_LB_MAGLEV_MIN_PER_BACKEND (100) times the number of
// backends in the list (all of them, drained and down ones included: they may come back), so
// that rounding keeps each share within about 1 % of its weight; at most SWD_LB_MAGLEV_MAX_SIZE,
// hence at most SWD_LB_MAX_BACKENDS (655) backends per pool. build() rejects anything else with
// an error that says what would work.
//
// Thread-safety: a built table is immutable; share it freely. A pool change builds a new table
// (about 2 ms at M = 65537, N = 100) and publishes it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "datapath/util/result.h"

extern "C" {
#include "bpf/shared/swd_abi.h"
}

namespace swd::dp::lb {

static_assert(sizeof(swd_lb_maglev_entry) == 2);
static_assert(offsetof(swd_lb_maglev, entry) == 8);
static_assert(sizeof(swd_lb_maglev) == 131084); // 8 + 2 x 65537, padded to 4
static_assert(SWD_LB_MAX_BACKENDS == (SWD_LB_MAGLEV_MAX_SIZE - 1) / SWD_LB_MAGLEV_MIN_PER_BACKEND);
static_assert(SWD_LB_MAX_BACKENDS < SWD_LB_NO_BACKEND);

enum class backend_state : uint8_t { up, drain, down };

// A backend as the table sees it: its identity and its share of new sessions.
struct maglev_backend {
    bool ipv6 = false;
    uint32_t addr[4] = {}; // network order, IPv4 in [0] and the rest zero
    uint16_t port = 0;     // host order
    uint16_t weight = 1;   // 0: no new sessions
    backend_state state = backend_state::up;
};

// "10.1.0.1:8080", "[2001:db8::1]:8080": for messages.
std::string format_backend(const maglev_backend& b);

bool is_prime(uint32_t n) noexcept;
// The smallest prime >= n (n <= 4294967291).
uint32_t next_prime(uint32_t n) noexcept;

class maglev_table {
public:
    // Builds the table of `backends` with `size` entries. Fails (errc::invalid_input) when size
    // is not prime, is not more than 100 x backends.size(), is above SWD_LB_MAGLEV_MAX_SIZE, or
    // two backends have the same identity. No backend taking new sessions is not an error: every
    // entry is then SWD_LB_NO_BACKEND.
    static result<maglev_table> build(std::span<const maglev_backend> backends,
                                      uint32_t size = SWD_LB_MAGLEV_SIZE);

    // The backend (index in the list given to build()) for a new session of flow hash `hash`
    // (swd_lb_hash), or SWD_LB_NO_BACKEND.
    uint16_t pick(uint32_t hash) const noexcept { return entries_[hash % size_]; }

    uint32_t size() const noexcept { return size_; }
    std::span<const swd_lb_maglev_entry> entries() const noexcept { return entries_; }
    // Entries held by each backend, indexed like the list given to build().
    std::vector<uint32_t> shares() const;
    // The table in the array map's value layout (the entries after size() are left as they are).
    void export_to(swd_lb_maglev& out) const noexcept;

private:
    maglev_table(uint32_t size, uint32_t n_backends)
        : size_(size), n_backends_(n_backends), entries_(size, SWD_LB_NO_BACKEND) {}

    uint32_t size_;
    uint32_t n_backends_;
    std::vector<swd_lb_maglev_entry> entries_;
};

} // namespace swd::dp::lb
