// frame: the template frame swgen sends and the per-flow rewrite of it.
//
// A template is Ethernet + IPv4 (no options, DF, TTL 64) + UDP or a TCP SYN, padded with a
// payload to the requested size, with valid IPv4, UDP and TCP checksums. Flow f of N is the
// template with each varied field set to base + f (addresses in host order, ports modulo
// 2^16); flow 0 is the template itself. set_flow() performs the same rewrite as swd_xdp_tx in
// bpf/swgen_tx.bpf.c, with the same incremental checksum arithmetic (RFC 1624), so the AF_XDP
// fallback sends the very frames the live-frames mode sends.
//
// Thread-safety: plain functions on caller-owned buffers.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace swd::swgen {

enum class l4_proto { udp, tcp };

using mac_addr = std::array<uint8_t, 6>;

struct frame_spec {
    l4_proto proto = l4_proto::udp;
    mac_addr src_mac{};
    mac_addr dst_mac{};
    uint32_t src_ip = 0; // host order
    uint32_t dst_ip = 0;
    uint16_t src_port = 0;
    uint16_t dst_port = 0;
    size_t size = 60; // frame bytes handed to the device, without the FCS
};

struct flow_spec {
    uint32_t n_flows = 1;
    bool vary_src_ip = false;
    bool vary_dst_ip = false;
    bool vary_src_port = false;
    bool vary_dst_port = false;
};

inline constexpr size_t eth_hlen = 14;
inline constexpr size_t ipv4_hlen = 20;
inline constexpr size_t udp_hlen = 8;
inline constexpr size_t tcp_hlen = 20;

// Smallest frame that holds the headers of `proto`.
constexpr size_t header_size(l4_proto proto) {
    return eth_hlen + ipv4_hlen + (proto == l4_proto::udp ? udp_hlen : tcp_hlen);
}

// Builds the template. Precondition: spec.size >= header_size(spec.proto) and <= 65535 + 14.
std::vector<uint8_t> build_template(const frame_spec& spec);

// Internet checksum (RFC 1071) of `bytes`, added to the partial sum `seed`, folded and
// complemented.
uint16_t inet_checksum(std::span<const uint8_t> bytes, uint32_t seed = 0) noexcept;

// Rewrites `frame`, a template of `spec` that may hold any flow, to flow `flow` of `flows`.
// Frames that are not IPv4 UDP/TCP without options are left alone. A UDP checksum of 0 stays 0.
void set_flow(std::span<uint8_t> frame, const frame_spec& spec, const flow_spec& flows,
              uint32_t flow) noexcept;

} // namespace swd::swgen
