#include "values.h"

#include <algorithm>
#include <arpa/inet.h>
#include <bit>
#include <cstring>
#include <fmt/format.h>
#include <span>
#include <vector>

namespace swd::flows {

namespace {

int hex_digit(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

} // namespace

bool parse_uint(std::string_view s, uint64_t max, uint64_t& out, std::string& why) {
    if (s.empty()) {
        why = "empty value";
        return false;
    }
    uint64_t v = 0;
    bool overflow = false;
    if (s == "0x" || s == "0X") {
        why = "no hexadecimal digits after 0x";
        return false;
    }
    if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        for (char c : s.substr(2)) {
            int d = hex_digit(c);
            if (d < 0) {
                why = fmt::format("'{}' is not a hexadecimal digit", c);
                return false;
            }
            overflow |= v > (UINT64_MAX >> 4);
            v = v << 4 | static_cast<uint64_t>(d);
        }
    } else {
        for (char c : s) {
            if (c < '0' || c > '9') {
                why = fmt::format("'{}' is not a decimal digit", c);
                return false;
            }
            uint64_t d = static_cast<uint64_t>(c - '0');
            overflow |= v > (UINT64_MAX - d) / 10;
            v = v * 10 + d;
        }
    }
    if (overflow || v > max) {
        why = fmt::format("{} is out of range 0-{}", s, max);
        return false;
    }
    out = v;
    return true;
}

bool parse_mac(std::string_view s, uint8_t out[6], std::string& why) {
    if (s.size() != 17) {
        why = "a MAC address has six hex pairs separated by ':'";
        return false;
    }
    for (int i = 0; i < 6; i++) {
        int hi = hex_digit(s[i * 3]);
        int lo = hex_digit(s[i * 3 + 1]);
        if (hi < 0 || lo < 0 || (i < 5 && s[i * 3 + 2] != ':' && s[i * 3 + 2] != '-')) {
            why = fmt::format("byte {} is not a hex pair", i + 1);
            return false;
        }
        out[i] = static_cast<uint8_t>(hi << 4 | lo);
    }
    return true;
}

namespace {

bool parse_prefix_len(std::string_view m, uint64_t max, uint64_t& len, std::string& why) {
    if (parse_uint(m, max, len, why)) {
        return true;
    }
    why = !m.empty() && m.find_first_not_of("0123456789") == std::string_view::npos
              ? fmt::format("prefix length {} is out of range 0-{}", m, max)
              : "prefix length: " + why;
    return false;
}

} // namespace

bool parse_ipv4(std::string_view s, uint32_t& out, std::string& why) {
    uint32_t host = 0;
    size_t pos = 0;
    for (int octet = 0; octet < 4; octet++) {
        size_t start = pos;
        uint32_t v = 0;
        while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9' && pos - start < 4) {
            v = v * 10 + static_cast<uint32_t>(s[pos] - '0');
            pos++;
        }
        if (pos == start) {
            why = pos < s.size()
                      ? fmt::format("'{}' where octet {} should start", s[pos], octet + 1)
                      : fmt::format("only {} octet{}", octet, octet == 1 ? "" : "s");
            return false;
        }
        if (pos - start > 3 || v > 255) {
            size_t end = pos;
            while (end < s.size() && s[end] >= '0' && s[end] <= '9') {
                end++;
            }
            why = fmt::format("octet {} is out of range 0-255", s.substr(start, end - start));
            return false;
        }
        host = host << 8 | v;
        if (octet < 3) {
            if (pos >= s.size() || s[pos] != '.') {
                why = pos < s.size()
                          ? fmt::format("'{}' after octet {}", s[pos], octet + 1)
                          : fmt::format("only {} octet{}", octet + 1, octet == 0 ? "" : "s");
                return false;
            }
            pos++;
        }
    }
    if (pos != s.size()) {
        why = fmt::format("unexpected '{}' after the fourth octet", s.substr(pos));
        return false;
    }
    out = htonl(host);
    return true;
}

int ipv4_prefix_len(uint32_t mask) {
    uint32_t m = ntohl(mask);
    int n = std::countl_one(m);
    return (n == 32 || (m << n) == 0) ? n : -1;
}

bool parse_ipv4_masked(std::string_view s, uint32_t& value, uint32_t& mask, bool& host_bits,
                       std::string& why) {
    size_t slash = s.find('/');
    if (!parse_ipv4(s.substr(0, slash), value, why)) {
        return false;
    }
    mask = 0xffffffffu;
    if (slash != std::string_view::npos) {
        std::string_view m = s.substr(slash + 1);
        if (m.find('.') != std::string_view::npos) {
            if (!parse_ipv4(m, mask, why)) {
                why = "mask: " + why;
                return false;
            }
        } else {
            uint64_t len = 0;
            if (!parse_prefix_len(m, 32, len, why)) {
                return false;
            }
            mask = len == 0 ? 0 : htonl(0xffffffffu << (32 - len));
        }
    }
    host_bits = (value & ~mask) != 0;
    value &= mask;
    return true;
}

bool parse_ipv6(std::string_view s, uint32_t out[4], std::string& why) {
    if (s.empty() || s.size() > 45) {
        why = "not an IPv6 address";
        return false;
    }
    std::string z(s);
    in6_addr a{};
    if (inet_pton(AF_INET6, z.c_str(), &a) != 1) {
        why = "not an IPv6 address";
        return false;
    }
    std::memcpy(out, &a, 16);
    return true;
}

int ipv6_prefix_len(const uint32_t mask[4]) {
    int n = 0;
    for (int i = 0; i < 4; i++) {
        uint32_t m = ntohl(mask[i]);
        if (m == 0xffffffffu) {
            n += 32;
            continue;
        }
        int k = std::countl_one(m);
        if ((m << k) != 0) {
            return -1;
        }
        n += k;
        for (int j = i + 1; j < 4; j++) {
            if (mask[j] != 0) {
                return -1;
            }
        }
        return n;
    }
    return n;
}

bool parse_ipv6_masked(std::string_view s, uint32_t value[4], uint32_t mask[4], bool& host_bits,
                       std::string& why) {
    size_t slash = s.find('/');
    if (!parse_ipv6(s.substr(0, slash), value, why)) {
        return false;
    }
    for (int i = 0; i < 4; i++) {
        mask[i] = 0xffffffffu;
    }
    if (slash != std::string_view::npos) {
        std::string_view m = s.substr(slash + 1);
        if (m.find(':') != std::string_view::npos) {
            if (!parse_ipv6(m, mask, why)) {
                why = "mask: " + why;
                return false;
            }
        } else {
            uint64_t len = 0;
            if (!parse_prefix_len(m, 128, len, why)) {
                return false;
            }
            for (int i = 0; i < 4; i++) {
                int bits = std::clamp(static_cast<int>(len) - 32 * i, 0, 32);
                mask[i] = bits == 0 ? 0 : htonl(0xffffffffu << (32 - bits));
            }
        }
    }
    host_bits = false;
    for (int i = 0; i < 4; i++) {
        host_bits |= (value[i] & ~mask[i]) != 0;
        value[i] &= mask[i];
    }
    return true;
}

std::string format_mac(const uint8_t m[6]) {
    return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", m[0], m[1], m[2], m[3], m[4],
                       m[5]);
}

std::string format_ipv4(uint32_t be) {
    uint32_t h = ntohl(be);
    return fmt::format("{}.{}.{}.{}", h >> 24, (h >> 16) & 255, (h >> 8) & 255, h & 255);
}

std::string format_ipv4_masked(uint32_t value, uint32_t mask) {
    if (mask == 0xffffffffu) {
        return format_ipv4(value);
    }
    int len = ipv4_prefix_len(mask);
    if (len >= 0) {
        return fmt::format("{}/{}", format_ipv4(value), len);
    }
    return format_ipv4(value) + "/" + format_ipv4(mask);
}

std::string format_ipv6(const uint32_t addr[4]) {
    char buf[INET6_ADDRSTRLEN];
    in6_addr a;
    std::memcpy(&a, addr, 16);
    inet_ntop(AF_INET6, &a, buf, sizeof buf);
    return buf;
}

std::string format_ipv6_masked(const uint32_t value[4], const uint32_t mask[4]) {
    int len = ipv6_prefix_len(mask);
    if (len == 128) {
        return format_ipv6(value);
    }
    if (len >= 0) {
        return fmt::format("{}/{}", format_ipv6(value), len);
    }
    return format_ipv6(value) + "/" + format_ipv6(mask);
}

size_t edit_distance(std::string_view a, std::string_view b) {
    // Optimal string alignment: insertions, deletions, substitutions and swaps of neighbours
    // ("tpc" -> "tcp") each cost one.
    const size_t n = a.size(), m = b.size();
    std::vector<size_t> d((n + 1) * (m + 1));
    auto at = [&](size_t i, size_t j) -> size_t& { return d[i * (m + 1) + j]; };
    for (size_t i = 0; i <= n; i++) {
        at(i, 0) = i;
    }
    for (size_t j = 0; j <= m; j++) {
        at(0, j) = j;
    }
    for (size_t i = 1; i <= n; i++) {
        for (size_t j = 1; j <= m; j++) {
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            at(i, j) = std::min({at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
                at(i, j) = std::min(at(i, j), at(i - 2, j - 2) + 1);
            }
        }
    }
    return at(n, m);
}

std::string closest_name(std::string_view name, std::span<const std::string_view> candidates) {
    std::string best;
    size_t best_d = SIZE_MAX;
    for (auto c : candidates) {
        size_t d = edit_distance(name, c);
        if (d < best_d) {
            best_d = d;
            best = std::string(c);
        }
    }
    // Close enough to be a typo, not a different word.
    return best_d <= 2 && best_d < name.size() / 2 + 1 ? best : std::string();
}

} // namespace swd::flows
