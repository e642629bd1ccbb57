// Incremental update of the Internet checksum (RFC 1071) when one field of the checksummed data
// changes, as RFC 1624 describes: HC' = ~(~HC + ~m + m').
//
// The ones'-complement sum does not depend on byte order (RFC 1071, 2.(B)), so the checksum and
// the old and new field values are all used as they are in memory (network byte order) and never
// swapped. Fields must start at an even offset of the checksummed data, as every header field
// that swd rewrites does (addresses, ports, the TTL/protocol word).
//
// Why equation 3 and not HC' = HC - ~m - m' (RFC 1624's eqn. 2): the data covered by an IP,
// TCP or UDP checksum is never all zero, so its ones'-complement sum, computed with end-around
// carry, is never +0 (0x0000) and a freshly computed checksum is never 0xffff. Equation 3 adds
// with end-around carry too, so it gives the same representative of the sum as a full
// recomputation does, bit for bit, where equation 2 can give 0xffff when a full recomputation
// gives 0x0000. (UDP maps a computed 0x0000 to 0xffff itself; see rewrite.cc.)
//
// No allocation, no failure; csum may be unaligned. Thread-safety: none needed (pure functions
// of the bytes they are given).
#pragma once

#include <cstdint>
#include <cstring>

namespace swd::dp {

// Folds a 32-bit sum of 16-bit words to 16 bits with end-around carry. For acc > 0 the result
// is in [1, 0xffff]; it is 0 only for acc == 0.
inline uint16_t csum_fold(uint32_t acc) noexcept {
    acc = (acc & 0xffff) + (acc >> 16);
    acc = (acc & 0xffff) + (acc >> 16);
    return static_cast<uint16_t>(acc);
}

// The checksum at csum (2 bytes, network order, unaligned) after a 16-bit field of the data
// changes from old_be to new_be (both as stored in memory).
inline void csum_replace16(uint8_t* csum, uint16_t old_be, uint16_t new_be) noexcept {
    uint16_t hc;
    std::memcpy(&hc, csum, 2);
    const uint32_t acc =
        static_cast<uint16_t>(~hc) + static_cast<uint32_t>(static_cast<uint16_t>(~old_be)) + new_be;
    const uint16_t res = static_cast<uint16_t>(~csum_fold(acc));
    std::memcpy(csum, &res, 2);
}

// The same for a 32-bit field (two 16-bit words of the data), e.g. an IPv4 address.
inline void csum_replace32(uint8_t* csum, uint32_t old_be, uint32_t new_be) noexcept {
    uint16_t hc;
    std::memcpy(&hc, csum, 2);
    const uint32_t nold = ~old_be;
    // Each term is < 2^16, so five of them cannot overflow 32 bits.
    const uint32_t acc = static_cast<uint16_t>(~hc) + (nold & 0xffff) + (nold >> 16) +
                         (new_be & 0xffff) + (new_be >> 16);
    const uint16_t res = static_cast<uint16_t>(~csum_fold(acc));
    std::memcpy(csum, &res, 2);
}

} // namespace swd::dp
