#include "tools/swgen/frame.h"

#include <algorithm>
#include <cstring>

namespace swd::swgen {

namespace {

constexpr uint8_t ipproto_tcp = 6;
constexpr uint8_t ipproto_udp = 17;
constexpr size_t ip_off = eth_hlen;
constexpr size_t l4_off = eth_hlen + ipv4_hlen;

// Words are handled as big-endian numbers; the one's-complement sum does not care which order
// is used as long as it is the same for every word and for the checksum field.
uint16_t get16(const uint8_t* p) noexcept {
    return static_cast<uint16_t>(p[0] << 8 | p[1]);
}

void put16(uint8_t* p, uint16_t v) noexcept {
    p[0] = static_cast<uint8_t>(v >> 8);
    p[1] = static_cast<uint8_t>(v);
}

uint32_t get32(const uint8_t* p) noexcept {
    return static_cast<uint32_t>(get16(p)) << 16 | get16(p + 2);
}

void put32(uint8_t* p, uint32_t v) noexcept {
    put16(p, static_cast<uint16_t>(v >> 16));
    put16(p + 2, static_cast<uint16_t>(v));
}

uint32_t sum_words(std::span<const uint8_t> bytes, uint32_t sum) noexcept {
    size_t i = 0;
    for (; i + 1 < bytes.size(); i += 2) {
        sum += get16(&bytes[i]);
        sum = (sum & 0xffff) + (sum >> 16);
    }
    if (i < bytes.size()) {
        sum += static_cast<uint32_t>(bytes[i]) << 8;
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return sum;
}

uint32_t word_delta(uint16_t old_word, uint16_t new_word) noexcept {
    return static_cast<uint16_t>(~old_word) + static_cast<uint32_t>(new_word);
}

uint32_t word32_delta(uint32_t old_word, uint32_t new_word) noexcept {
    return word_delta(static_cast<uint16_t>(old_word >> 16),
                      static_cast<uint16_t>(new_word >> 16)) +
           word_delta(static_cast<uint16_t>(old_word), static_cast<uint16_t>(new_word));
}

// RFC 1624 eqn. 3: HC' = ~(~HC + sum(~m + m')).
uint16_t csum_apply(uint16_t check, uint32_t delta) noexcept {
    uint32_t s = static_cast<uint16_t>(~check) + delta;
    s = (s & 0xffff) + (s >> 16);
    s = (s & 0xffff) + (s >> 16);
    return static_cast<uint16_t>(~s);
}

} // namespace

uint16_t inet_checksum(std::span<const uint8_t> bytes, uint32_t seed) noexcept {
    uint32_t s = sum_words(bytes, seed);
    s = (s & 0xffff) + (s >> 16);
    return static_cast<uint16_t>(~s);
}

std::vector<uint8_t> build_template(const frame_spec& spec) {
    std::vector<uint8_t> f(spec.size, 0);
    uint8_t* p = f.data();
    const bool udp = spec.proto == l4_proto::udp;
    const size_t l4_len = spec.size - l4_off;
    const size_t l4_hdr = udp ? udp_hlen : tcp_hlen;

    std::copy(spec.dst_mac.begin(), spec.dst_mac.end(), p);
    std::copy(spec.src_mac.begin(), spec.src_mac.end(), p + 6);
    put16(p + 12, 0x0800);

    uint8_t* ip = p + ip_off;
    ip[0] = 0x45; // version 4, 5 words
    put16(ip + 2, static_cast<uint16_t>(spec.size - eth_hlen));
    put16(ip + 6, 0x4000); // DF
    ip[8] = 64;
    ip[9] = udp ? ipproto_udp : ipproto_tcp;
    put32(ip + 12, spec.src_ip);
    put32(ip + 16, spec.dst_ip);
    put16(ip + 10, inet_checksum({ip, ipv4_hlen}));

    uint8_t* l4 = p + l4_off;
    put16(l4, spec.src_port);
    put16(l4 + 2, spec.dst_port);
    if (udp) {
        put16(l4 + 4, static_cast<uint16_t>(l4_len));
    } else {
        put32(l4 + 4, 1); // sequence number
        l4[12] = 5 << 4;  // data offset: 5 words
        l4[13] = 0x02;    // SYN
        put16(l4 + 14, 65535);
    }
    // A recognisable payload helps when reading captures.
    static constexpr char tag[] = "swgen";
    for (size_t i = l4_off + l4_hdr, j = 0; i < spec.size; i++, j++) {
        p[i] = static_cast<uint8_t>(tag[j % (sizeof(tag) - 1)]);
    }

    // Pseudo-header: addresses, protocol, L4 length.
    uint32_t pseudo = sum_words({ip + 12, 8}, 0);
    pseudo += ip[9];
    pseudo += static_cast<uint32_t>(l4_len);
    uint16_t check = inet_checksum({l4, l4_len}, pseudo);
    if (udp && check == 0) {
        check = 0xffff; // 0 means "no checksum" in UDP
    }
    put16(l4 + (udp ? 6 : 16), check);
    return f;
}

void set_flow(std::span<uint8_t> frame, const frame_spec& spec, const flow_spec& flows,
              uint32_t flow) noexcept {
    if (frame.size() < l4_off + 4) {
        return;
    }
    uint8_t* p = frame.data();
    uint8_t* ip = p + ip_off;
    uint8_t* l4 = p + l4_off;
    if (get16(p + 12) != 0x0800 || ip[0] != 0x45) {
        return;
    }
    size_t check_off;
    if (ip[9] == ipproto_udp && frame.size() >= l4_off + udp_hlen) {
        check_off = 6;
    } else if (ip[9] == ipproto_tcp && frame.size() >= l4_off + tcp_hlen) {
        check_off = 16;
    } else {
        return;
    }

    uint32_t ip_delta = 0;
    uint32_t port_delta = 0;
    if (flows.vary_src_ip) {
        const uint32_t v = spec.src_ip + flow;
        ip_delta += word32_delta(get32(ip + 12), v);
        put32(ip + 12, v);
    }
    if (flows.vary_dst_ip) {
        const uint32_t v = spec.dst_ip + flow;
        ip_delta += word32_delta(get32(ip + 16), v);
        put32(ip + 16, v);
    }
    if (flows.vary_src_port) {
        const auto v = static_cast<uint16_t>(spec.src_port + flow);
        port_delta += word_delta(get16(l4), v);
        put16(l4, v);
    }
    if (flows.vary_dst_port) {
        const auto v = static_cast<uint16_t>(spec.dst_port + flow);
        port_delta += word_delta(get16(l4 + 2), v);
        put16(l4 + 2, v);
    }
    if (ip_delta != 0) {
        put16(ip + 10, csum_apply(get16(ip + 10), ip_delta));
    }
    const bool udp = ip[9] == ipproto_udp;
    const uint16_t old_check = get16(l4 + check_off);
    if (udp && old_check == 0) {
        return;
    }
    uint16_t check = csum_apply(old_check, ip_delta + port_delta);
    if (udp && check == 0) {
        check = 0xffff;
    }
    put16(l4 + check_off, check);
}

} // namespace swd::swgen
