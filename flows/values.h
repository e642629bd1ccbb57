// Strict parsers for the values that appear in flow text, and their canonical printers.
//
// Each parser accepts the whole string or fails with a short reason ("octet 300 is out of range
// 0-255") that the caller puts into a positioned diagnostic. Nothing is silently truncated or
// masked: OVS reads nw_src=10.0.0.300 as 10.0.0.44, swd rejects it.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace swd::flows {

// Decimal or 0x-hex unsigned integer <= max.
bool parse_uint(std::string_view s, uint64_t max, uint64_t& out, std::string& why);

// xx:xx:xx:xx:xx:xx (hex pairs; '-' separators accepted too).
bool parse_mac(std::string_view s, uint8_t out[6], std::string& why);

// Dotted quad, four decimal octets 0-255, no leading '+', no empty parts. out is network order.
bool parse_ipv4(std::string_view s, uint32_t& out, std::string& why);

// a.b.c.d, a.b.c.d/N (0-32) or a.b.c.d/m.m.m.m. host_bits is set when the address has bits
// outside the mask (they are cleared). Network order.
bool parse_ipv4_masked(std::string_view s, uint32_t& value, uint32_t& mask, bool& host_bits,
                       std::string& why);

bool parse_ipv6(std::string_view s, uint32_t out[4], std::string& why);
bool parse_ipv6_masked(std::string_view s, uint32_t value[4], uint32_t mask[4], bool& host_bits,
                       std::string& why);

// Printers (canonical forms the parsers accept back).
std::string format_mac(const uint8_t mac[6]);
std::string format_ipv4(uint32_t be);
std::string format_ipv4_masked(uint32_t value, uint32_t mask);
std::string format_ipv6(const uint32_t addr[4]);
std::string format_ipv6_masked(const uint32_t value[4], const uint32_t mask[4]);

// Number of leading one bits when mask is a contiguous prefix, else -1. Network order in.
int ipv4_prefix_len(uint32_t mask);
int ipv6_prefix_len(const uint32_t mask[4]);

// Edit distance (a swap of neighbours counts as one edit), for "did you mean" hints.
size_t edit_distance(std::string_view a, std::string_view b);
// The candidate closest to name, or "" when none is close enough to be a typo of it.
std::string closest_name(std::string_view name, std::span<const std::string_view> candidates);

} // namespace swd::flows
