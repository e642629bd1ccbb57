// Flow-key extraction: parses a frame's headers (Ethernet, one 802.1Q/802.1ad tag, IPv4 with
// options, IPv6 with the common extension headers, ARP, TCP, UDP, ICMP, ICMPv6) into a
// swd_flow_key, and records where the headers are for the actions that rewrite them.
//
// Rules (bpf/parse.h implements the same ones for XDP, so both paths build the same key):
//  - Every read is bounds-checked against the frame length. A header that is truncated or
//    inconsistent (bad version, IHL < 5, a length that claims more bytes than the frame has,
//    TCP data offset < 5) ends the parse: the key keeps the fields of the headers before it,
//    the fields of that header and everything after stay zero, and `malformed` names why.
//  - IPv4/IPv6 payloads end at the IP length, not at the frame's end (Ethernet padding is not
//    payload). A fragment that is not the first has no L4 fields.
//  - ICMP/ICMPv6 type and code go to tp_src/tp_dst; TCP flags keep their low 12 bits.
//  - ARP (Ethernet/IPv4 only) gives nw_proto = opcode (when < 256), nw_src = SPA, nw_dst = TPA.
// The function never allocates or fails; it is the first step of the per-packet path.
#pragma once

#include <cstdint>

#include "flow_key.h"

namespace swd::dp {

// Why a parse stopped early; 0 for a frame whose headers are all complete. The values are the
// ABI's enum swd_malformed, which the XDP parser (bpf/parse.h) returns.
enum class malformed : uint8_t {
    none = SWD_MALFORMED_NONE,
    runt = SWD_MALFORMED_RUNT,               // shorter than an Ethernet header (or empty)
    vlan = SWD_MALFORMED_VLAN,               // a VLAN tag cut short
    ipv4_header = SWD_MALFORMED_IPV4_HEADER, // truncated, version != 4, IHL < 5
    ipv4_length = SWD_MALFORMED_IPV4_LENGTH, // total length < IHL, or more than the frame
    ipv6_header = SWD_MALFORMED_IPV6_HEADER, // truncated, or version != 6
    ipv6_length = SWD_MALFORMED_IPV6_LENGTH, // payload length more than the frame holds
    ipv6_ext = SWD_MALFORMED_IPV6_EXT,       // an extension header cut short, or too many
    arp = SWD_MALFORMED_ARP,                 // truncated ARP, or not Ethernet/IPv4 ARP
    l4 = SWD_MALFORMED_L4,                   // TCP/UDP/ICMP cut short, or TCP data offset < 5
    count_ = SWD_MALFORMED_COUNT,
};
// The codes keep their numbers: counters and the dispatcher's trace report them as numbers.
static_assert(SWD_MALFORMED_NONE == 0 && SWD_MALFORMED_L4 == 9 && SWD_MALFORMED_COUNT == 10);

const char* malformed_name(malformed m);

// Where the headers are, for actions. Offsets are from the start of the frame; 0 means absent.
struct header_offsets {
    uint32_t l3 = 0;     // IPv4/IPv6/ARP header
    uint32_t l4 = 0;     // TCP/UDP/ICMP header (complete when set)
    uint32_t l3_end = 0; // end of the IP payload (IP total length), <= frame length
    bool ipv4 = false;
    bool ipv6 = false;
};

malformed extract_key(const uint8_t* frame, uint32_t len, uint16_t in_port, flow_key& key,
                      header_offsets& where) noexcept;

} // namespace swd::dp
