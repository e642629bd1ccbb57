#include "maglev.h"

#include <algorithm>
#include <arpa/inet.h>
#include <fmt/format.h>
#include <tuple>

namespace swd::dp::lb {

namespace {

// A backend's identity as numbers (independent of the host's byte order), for ordering and for
// the two hashes that give its permutation.
struct identity {
    uint32_t family; // 4 or 6
    uint32_t addr[4];
    uint32_t port;

    auto tie() const { return std::tie(family, addr[0], addr[1], addr[2], addr[3], port); }
    friend bool operator<(const identity& a, const identity& b) { return a.tie() < b.tie(); }
    friend bool operator==(const identity& a, const identity& b) { return a.tie() == b.tie(); }

    uint64_t hash(uint64_t seed) const noexcept {
        uint64_t h = seed;
        h = swd_lb_hash_round(h, (uint64_t(addr[0]) << 32) | addr[1]);
        h = swd_lb_hash_round(h, (uint64_t(addr[2]) << 32) | addr[3]);
        h = swd_lb_hash_round(h, (uint64_t(port) << 32) | family);
        return swd_lb_hash_fmix(h);
    }
};

identity identity_of(const maglev_backend& b) {
    identity id{};
    id.family = b.ipv6 ? 6 : 4;
    for (int i = 0; i < (b.ipv6 ? 4 : 1); i++) {
        id.addr[i] = ntohl(b.addr[i]);
    }
    id.port = b.port;
    return id;
}

// One backend's state while the table fills.
struct turn {
    identity id;
    uint16_t index;  // position in the caller's list
    uint32_t weight; // > 0
    uint32_t credit = 0;
    uint32_t pos = 0;  // the next slot of its permutation
    uint32_t skip = 0; // 1 .. size - 1
};

bool takes_new_sessions(const maglev_backend& b) {
    return b.state == backend_state::up && b.weight > 0;
}

} // namespace

std::string format_backend(const maglev_backend& b) {
    char buf[INET6_ADDRSTRLEN] = "?";
    inet_ntop(b.ipv6 ? AF_INET6 : AF_INET, b.addr, buf, sizeof buf);
    return b.ipv6 ? fmt::format("[{}]:{}", buf, b.port) : fmt::format("{}:{}", buf, b.port);
}

bool is_prime(uint32_t n) noexcept {
    if (n < 2) {
        return false;
    }
    for (uint64_t d = 2; d * d <= n; d++) {
        if (n % d == 0) {
            return false;
        }
    }
    return true;
}

uint32_t next_prime(uint32_t n) noexcept {
    while (!is_prime(n)) {
        n++;
    }
    return n;
}

result<maglev_table> maglev_table::build(std::span<const maglev_backend> backends, uint32_t size) {
    const size_t n = backends.size();
    if (n > SWD_LB_MAX_BACKENDS) {
        return fail(errc::invalid_input,
                    fmt::format("maglev: {} backends in one pool; expected at most {}", n,
                                SWD_LB_MAX_BACKENDS));
    }
    if (size > SWD_LB_MAGLEV_MAX_SIZE) {
        return fail(
            errc::invalid_input,
            fmt::format("maglev: table size {} is too large; expected a prime of at most {}", size,
                        SWD_LB_MAGLEV_MAX_SIZE));
    }
    if (!is_prime(size)) {
        return fail(errc::invalid_input,
                    fmt::format("maglev: table size {} is not prime; expected a prime such as {}",
                                size, next_prime(size)));
    }
    const uint64_t min_size = uint64_t(SWD_LB_MAGLEV_MIN_PER_BACKEND) * n;
    if (size <= min_size) {
        return fail(errc::invalid_input,
                    fmt::format("maglev: table size {} is too small for {} backends; expected a "
                                "prime above {} x {} = {}, such as {}",
                                size, n, SWD_LB_MAGLEV_MIN_PER_BACKEND, n, min_size,
                                next_prime(uint32_t(min_size + 1))));
    }

    std::vector<turn> turns;
    std::vector<std::pair<identity, size_t>> seen;
    seen.reserve(n);
    for (size_t i = 0; i < n; i++) {
        seen.emplace_back(identity_of(backends[i]), i);
    }
    std::sort(seen.begin(), seen.end());
    for (size_t i = 1; i < seen.size(); i++) {
        if (seen[i].first == seen[i - 1].first) {
            const size_t a = std::min(seen[i - 1].second, seen[i].second);
            const size_t b = std::max(seen[i - 1].second, seen[i].second);
            return fail(errc::invalid_input,
                        fmt::format("maglev: backends {} and {} are the same ({}); expected each "
                                    "address and port once in a pool",
                                    a + 1, b + 1, format_backend(backends[a])));
        }
    }

    maglev_table t(size, uint32_t(n));
    uint32_t max_weight = 0;
    for (const auto& [id, i] : seen) { // in identity order: the turns' order
        const maglev_backend& b = backends[i];
        if (!takes_new_sessions(b)) {
            continue;
        }
        turn tn{id, uint16_t(i), b.weight};
        tn.pos = uint32_t(id.hash(0x6d61676c65763031ULL) % size);
        tn.skip = uint32_t(id.hash(0x6d61676c65763032ULL) % (size - 1)) + 1;
        turns.push_back(tn);
        max_weight = std::max(max_weight, uint32_t(b.weight));
    }
    if (turns.empty()) {
        return t;
    }

    uint32_t filled = 0;
    for (;;) {
        for (turn& tn : turns) {
            tn.credit += tn.weight;
            if (tn.credit < max_weight) {
                continue;
            }
            tn.credit -= max_weight;
            // The next slot of this backend's permutation that nobody has claimed. It exists:
            // the permutation visits every slot and the table is not full yet.
            uint32_t slot = tn.pos;
            while (t.entries_[slot] != SWD_LB_NO_BACKEND) {
                slot += tn.skip;
                if (slot >= size) {
                    slot -= size;
                }
            }
            t.entries_[slot] = tn.index;
            tn.pos = slot + tn.skip >= size ? slot + tn.skip - size : slot + tn.skip;
            if (++filled == size) {
                return t;
            }
        }
    }
}

std::vector<uint32_t> maglev_table::shares() const {
    std::vector<uint32_t> s(n_backends_, 0);
    for (swd_lb_maglev_entry e : entries_) {
        if (e != SWD_LB_NO_BACKEND) {
            s[e]++;
        }
    }
    return s;
}

void maglev_table::export_to(swd_lb_maglev& out) const noexcept {
    out.size = size_;
    out.pad = 0;
    std::copy(entries_.begin(), entries_.end(), out.entry);
}

} // namespace swd::dp::lb
