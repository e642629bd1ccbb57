// The fixture generator's cases (tests/pcap/make_fixtures.cc writes them out).
//
// A fixture is a flow text, packets with the port each comes in on, and for each packet what the
// switch must do with it: the sends in order (port or local, queue, frame), or nothing (drop).
// Each case function builds its packets from descriptions (fixture_packet.h) and states the
// expected result of each by hand; an expected frame that differs from the input is built again
// from its description with the new values, so lengths and checksums are computed from scratch.
//
// Known differences: where swd does not do what Open vSwitch does, a packet is added with
// known(): the expected result (OVS semantics) and what swd does today, with the reason. The
// replay test accepts either, reports which, and fails when the difference is gone (so that
// the fixture is updated).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "fixture_format.h"
#include "fixture_packet.h"

namespace swd::fixtures {

struct fixture_packet {
    std::string what;
    uint16_t in_port = 1;
    bytes frame;
    sends want;
    std::optional<sends> swd_today;
    std::string known_why;
};

class fixture {
public:
    // about: what the case covers (comment lines); flows: the rules, after the port lines
    // port=p1,ofport=1 ... port=p3,ofport=3 that every case has.
    fixture(std::string name, std::string about, std::string flows)
        : name(std::move(name)), about(std::move(about)), flows(std::move(flows)) {}

    // A send with an empty frame means the input frame unchanged.
    void add(std::string what, uint16_t in_port, const bytes& frame, sends want) {
        packets.push_back(
            {std::move(what), in_port, frame, resolve(std::move(want), frame), {}, {}});
    }
    void add(std::string what, uint16_t in_port, const packet& p, sends want) {
        add(std::move(what), in_port, build(p), std::move(want));
    }
    void known(std::string what, uint16_t in_port, const bytes& frame, sends want, sends today,
               std::string why) {
        packets.push_back({std::move(what), in_port, frame, resolve(std::move(want), frame),
                           resolve(std::move(today), frame), std::move(why)});
    }

    std::string name;
    std::string about;
    std::string flows;
    std::vector<fixture_packet> packets;

private:
    static sends resolve(sends s, const bytes& input) {
        for (send& x : s) {
            if (x.frame.empty()) {
                x.frame = input;
            }
        }
        return s;
    }
};

// Result helpers: out(2) is the input unchanged out of port 2; out(2, frame) a rewritten frame.
inline send out(uint16_t port, bytes frame = {}, uint16_t queue = 0) {
    return {send::output, port, queue, std::move(frame)};
}
inline send out_q(uint16_t port, uint16_t queue, bytes frame = {}) {
    return {send::output, port, queue, std::move(frame)};
}
inline send to_local(bytes frame = {}, uint16_t queue = 0) {
    return {send::local, 0, queue, std::move(frame)};
}
inline const sends dropped = {};

// The source MAC a rule sets to show which rule ran: 02:00:00:00:ff:NN (flows: "ff:NN").
inline mac tag_mac(uint8_t n) {
    return {0x02, 0, 0, 0, 0xff, n};
}
inline bytes tagged(packet p, uint8_t n) {
    p.src = tag_mac(n);
    return build(p);
}

// Packet descriptions to start from (fixture_packet.h has the defaults: 10.0.0.1 -> 10.0.0.2,
// 02:00:00:00:00:01 -> 02:00:00:00:00:02, TTL 64).
inline packet tcp4(uint16_t sport = 1000, uint16_t dport = 80, uint16_t flags = 0x018) {
    packet p;
    p.proto = 6;
    p.sport = sport;
    p.dport = dport;
    p.tcp_flags = flags;
    return p;
}
inline packet udp4(uint16_t sport = 1000, uint16_t dport = 53) {
    packet p;
    p.proto = 17;
    p.sport = sport;
    p.dport = dport;
    return p;
}
inline packet icmp4(uint8_t type = 8, uint8_t code = 0) {
    packet p;
    p.proto = 1;
    p.icmp_type = type;
    p.icmp_code = code;
    return p;
}
inline packet as_ipv6(packet p) {
    p.l3 = net::ipv6;
    p.nw_src = "2001:db8::1";
    p.nw_dst = "2001:db8::2";
    if (p.proto == 1 && p.l4_header) {
        p.proto = 58;
    }
    return p;
}
inline packet tcp6(uint16_t sport = 1000, uint16_t dport = 80, uint16_t flags = 0x018) {
    return as_ipv6(tcp4(sport, dport, flags));
}
inline packet udp6(uint16_t sport = 1000, uint16_t dport = 53) {
    return as_ipv6(udp4(sport, dport));
}
inline packet icmp6(uint8_t type = 128, uint8_t code = 0) {
    return as_ipv6(icmp4(type, code));
}
inline packet arp(uint16_t op = 1, const char* spa = "10.0.0.1", const char* tpa = "10.0.0.2") {
    packet p;
    p.l3 = net::arp;
    p.arp_op = op;
    p.nw_src = spa;
    p.nw_dst = tpa;
    if (op == 1) {
        p.dst = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    }
    return p;
}
inline packet raw(uint16_t eth_type, size_t n = 46) {
    packet p;
    p.l3 = net::none;
    p.eth_type = eth_type;
    p.l4_header = false;
    p.payload.assign(n, 0);
    for (size_t i = 0; i < n; i++) {
        p.payload[i] = static_cast<uint8_t>(i * 7 + 1);
    }
    return p;
}
inline packet ip_raw(uint8_t proto, size_t n = 24) { // GRE and other protocols without a parser
    packet p = raw(0x0800, n);
    p.l3 = net::ipv4;
    p.proto = proto;
    return p;
}
inline packet with_vlan(packet p, uint16_t tci, uint16_t tpid = 0x8100) {
    p.vlans.push_back({tpid, tci});
    return p;
}

// The case groups (fixtures_match.cc, fixtures_actions.cc, fixtures_malformed.cc).
std::vector<fixture> match_fixtures();
std::vector<fixture> action_fixtures();
std::vector<fixture> malformed_fixtures();

} // namespace swd::fixtures
