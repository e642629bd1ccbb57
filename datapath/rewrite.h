// Packet rewrites for the user-space datapath's set-field and dec_ttl actions (per-packet path).
//
// Each function changes a frame in place, keeps the IPv4 header checksum and the TCP/UDP
// checksum correct by incremental update (checksum.h), and updates the packet's flow key so that
// a later table lookup (goto_table) sees the rewritten packet: after a successful call, the key
// equals what extract_key would give for the rewritten frame.
//
// `where` and `key` must come from extract_key on this frame (and from earlier rewrites of it);
// the offsets in `where` are inside the frame, so no function reads or writes outside it. Which
// transport protocol the packet carries is taken from key.f.nw_proto.
//
// A function returns false (ttl_result::not_ip) and changes nothing, frame or key, when the
// packet lacks the header it rewrites; the caller counts that. Checksum rules:
//  - IPv4 address: the IPv4 header checksum, and the TCP or UDP checksum (its pseudo-header
//    holds the addresses) when the L4 header is present (where.l4 != 0: not for later
//    fragments). ICMP has no pseudo-header.
//  - A UDP checksum of 0 means "none" and stays 0, over IPv4 (RFC 768) and over IPv6, where
//    tunnels use it (RFC 6935; Open vSwitch does the same). A UDP checksum that an update makes
//    0x0000 is stored as 0xffff (RFC 768, RFC 8200 8.1).
//  - IPv6 has no header checksum.
//
// No allocation, exceptions or syscalls. Thread-safety: a frame and its key belong to the
// calling thread.
#pragma once

#include <cstdint>

#include "extract.h"
#include "flow_key.h"

namespace swd::dp {

// Ethernet source/destination address. False for a frame shorter than an Ethernet header.
bool rewrite_eth_src(uint8_t* frame, uint32_t len, const uint8_t mac[6], flow_key& key) noexcept;
bool rewrite_eth_dst(uint8_t* frame, uint32_t len, const uint8_t mac[6], flow_key& key) noexcept;

// IPv4 source/destination address (addr_be in network order). False when the packet is not
// IPv4 (including ARP, whose addresses are not rewritten).
bool rewrite_ipv4_src(uint8_t* frame, const header_offsets& where, uint32_t addr_be,
                      flow_key& key) noexcept;
bool rewrite_ipv4_dst(uint8_t* frame, const header_offsets& where, uint32_t addr_be,
                      flow_key& key) noexcept;

// IPv6 source/destination address (addr_be: 16 bytes in network order, as four words), with
// the TCP, UDP or ICMPv6 checksum (all three cover the pseudo-header). False when the packet is
// not IPv6.
bool rewrite_ipv6_src(uint8_t* frame, const header_offsets& where, const uint32_t addr_be[4],
                      flow_key& key) noexcept;
bool rewrite_ipv6_dst(uint8_t* frame, const header_offsets& where, const uint32_t addr_be[4],
                      flow_key& key) noexcept;

// TCP/UDP source/destination port (port_be in network order), over IPv4 or IPv6. False when the
// packet has no complete TCP or UDP header (other protocols, later fragments, truncated).
bool rewrite_tp_src(uint8_t* frame, const header_offsets& where, uint16_t port_be,
                    flow_key& key) noexcept;
bool rewrite_tp_dst(uint8_t* frame, const header_offsets& where, uint16_t port_be,
                    flow_key& key) noexcept;

enum class ttl_result { ok, expired, not_ip };

// IPv4 TTL or IPv6 hop limit minus one. A packet whose TTL is 0 or 1 is `expired` and left
// unchanged (the caller drops it with a counter), as Open vSwitch's dec_ttl does; a packet that
// is neither IPv4 nor IPv6 is `not_ip` and left unchanged.
ttl_result decrement_ttl(uint8_t* frame, const header_offsets& where, flow_key& key) noexcept;

} // namespace swd::dp
