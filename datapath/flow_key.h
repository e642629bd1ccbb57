// flow_key: the C++ view of struct swd_flow_key (bpf/shared/swd_abi.h), the one key that both the
// XDP program and the user-space datapath extract from a frame and match against.
//
// The key is 8 words of 64 bits; a match is a (value, mask) pair of keys with value & mask ==
// value. Word-wise access goes through the union (GCC defines type punning through unions).
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

extern "C" {
#include "bpf/shared/swd_abi.h"
}

namespace swd::dp {

static_assert(sizeof(swd_flow_key) == 64, "swd_abi: flow key is 8 words");
static_assert(offsetof(swd_flow_key, eth_type) == 16);
static_assert(offsetof(swd_flow_key, tp_src) == 24);
static_assert(offsetof(swd_flow_key, nw_src) == 28);
static_assert(offsetof(swd_flow_key, nw_dst) == 44);
static_assert(sizeof(swd_rule_ref) == 8);
static_assert(sizeof(swd_action) == 20);
static_assert(sizeof(swd_action_list) == 4 + 20 * SWD_MAX_ACTIONS);

constexpr size_t key_words = SWD_FLOW_KEY_WORDS;

union alignas(8) flow_key {
    swd_flow_key f;
    uint64_t w[key_words];

    flow_key() noexcept : w{} {}

    friend bool operator==(const flow_key& a, const flow_key& b) noexcept {
        return std::memcmp(a.w, b.w, sizeof a.w) == 0;
    }
    bool is_zero() const noexcept {
        uint64_t acc = 0;
        for (uint64_t x : w) {
            acc |= x;
        }
        return acc == 0;
    }
};
static_assert(sizeof(flow_key) == 64);

inline flow_key operator&(const flow_key& a, const flow_key& b) noexcept {
    flow_key r;
    for (size_t i = 0; i < key_words; i++) {
        r.w[i] = a.w[i] & b.w[i];
    }
    return r;
}

// A match: packets whose key k satisfies (k & mask) == value. value never has bits outside mask.
struct flow_match {
    flow_key value;
    flow_key mask;

    friend bool operator==(const flow_match&, const flow_match&) noexcept = default;

    bool matches(const flow_key& k) const noexcept {
        uint64_t diff = 0;
        for (size_t i = 0; i < key_words; i++) {
            diff |= (k.w[i] & mask.w[i]) ^ value.w[i];
        }
        return diff == 0;
    }

    // True when every packet this match accepts is also accepted by `wider` (OpenFlow's
    // non-strict "covered by" relation used by del-flows and mod-flows).
    bool is_covered_by(const flow_match& wider) const noexcept {
        for (size_t i = 0; i < key_words; i++) {
            if ((wider.mask.w[i] & ~mask.w[i]) != 0 ||
                (value.w[i] & wider.mask.w[i]) != wider.value.w[i]) {
                return false;
            }
        }
        return true;
    }
};

// Byte order helpers for key fields, which are in network order.
inline uint16_t be16(uint16_t host) noexcept {
    return __builtin_bswap16(host);
}
inline uint32_t be32(uint32_t host) noexcept {
    return __builtin_bswap32(host);
}
inline uint16_t host16(uint16_t be) noexcept {
    return __builtin_bswap16(be);
}
inline uint32_t host32(uint32_t be) noexcept {
    return __builtin_bswap32(be);
}

// 64-bit mixing hash over selected words (murmur3's finaliser per step).
inline uint64_t mix64(uint64_t h) noexcept {
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

// Word i goes to lane i % 4, one multiply and shift per word: the lanes' multiplies overlap
// instead of forming one dependent chain (a full finaliser per word made the exact-match cache's
// hash of a key ~100 cycles, a third of the polling thread's own time per packet); one finaliser
// mixes the lanes.
inline uint64_t hash_words(const uint64_t* words, size_t n, uint64_t seed = 0) noexcept {
    uint64_t lane[4] = {seed ^ (n * 0x9e3779b97f4a7c15ULL), 0x243f6a8885a308d3ULL,
                        0x13198a2e03707344ULL, 0xa4093822299f31d0ULL};
    for (size_t i = 0; i < n; i++) {
        const uint64_t x = (lane[i & 3] ^ words[i]) * 0xff51afd7ed558ccdULL;
        lane[i & 3] = x ^ (x >> 32);
    }
    return mix64(lane[0] ^ std::rotl(lane[1], 16) ^ std::rotl(lane[2], 32) ^
                 std::rotl(lane[3], 48));
}

struct flow_match_hash {
    size_t operator()(const flow_match& m) const noexcept {
        return hash_words(m.value.w, key_words, hash_words(m.mask.w, key_words));
    }
};

struct flow_key_hash {
    size_t operator()(const flow_key& k) const noexcept { return hash_words(k.w, key_words); }
};

} // namespace swd::dp
