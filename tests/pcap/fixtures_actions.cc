// Fixtures for the actions (docs/flow-syntax.md section 7): outputs of every kind, set_queue,
// the set-field rewrites with their checksum rules, dec_ttl, goto_table, several outputs in one
// rule, rewrites under VLAN tags. Expected frames are built again from the packet description
// with the new values; checksums are computed from scratch (fixture_packet.h).
#include <arpa/inet.h>
#include <functional>
#include <tuple>

#include "datapath/lb/maglev.h"
#include "make_fixtures.h"

namespace swd::fixtures {

namespace {

const char* const ovs_in_port_why =
    "Open vSwitch skips an output to the port the packet came in on (\"skipping output to input "
    "port\", ofproto-dpif-xlate.c); only in_port (output:in_port) sends it back. swd sends it "
    "(XDP_TX in XDP, an output in user space)";

fixture output_case() {
    fixture f("output",
              "output:N (by number, by name, bare), in_port, output:in_port, local, "
              "output:local, drop, an empty action list, rewrites without output.",
              "priority=10,dl_dst=02:00:00:00:00:02,actions=output:2\n"
              "priority=10,dl_dst=02:00:00:00:00:03,actions=output:p3\n"
              "priority=10,dl_dst=02:00:00:00:00:04,actions=in_port\n"
              "priority=10,dl_dst=02:00:00:00:00:05,actions=output:in_port\n"
              "priority=10,dl_dst=02:00:00:00:00:06,actions=local\n"
              "priority=10,dl_dst=02:00:00:00:00:07,actions=output:local\n"
              "priority=10,dl_dst=02:00:00:00:00:08,actions=drop\n"
              "priority=10,dl_dst=02:00:00:00:00:09,actions=\n"
              "priority=10,dl_dst=02:00:00:00:00:0a,actions=p2\n"
              "priority=10,dl_dst=02:00:00:00:00:0b,actions=3\n"
              "priority=10,dl_dst=02:00:00:00:00:0c,actions=IN_PORT\n"
              "priority=10,dl_dst=02:00:00:00:00:0d,actions=mod_dl_src:02:00:00:00:ff:0d\n");
    auto to = [](uint8_t last, packet p = udp4()) {
        p.dst[5] = last;
        return p;
    };
    f.add("output:2", 1, to(2), {out(2)});
    f.add("output:2 from port 3", 3, to(2), {out(2)});
    f.add("output:2, TCP6", 1, to(2, tcp6()), {out(2)});
    f.add("output:p3", 1, to(3), {out(3)});
    f.add("output:p3 from port 2", 2, to(3), {out(3)});
    f.add("in_port from port 1", 1, to(4), {out(1)});
    f.add("in_port from port 2", 2, to(4), {out(2)});
    f.add("in_port from port 3, ARP", 3, to(4, arp(2)), {out(3)});
    f.add("output:in_port from port 2", 2, to(5), {out(2)});
    f.add("local", 1, to(6), {to_local()});
    f.add("local, IPv6", 2, to(6, udp6()), {to_local()});
    f.add("output:local", 1, to(7), {to_local()});
    f.add("drop", 1, to(8), dropped);
    f.add("actions= (empty): drop", 1, to(9), dropped);
    f.add("bare port name p2", 1, to(10), {out(2)});
    f.add("bare port number 3", 2, to(11), {out(3)});
    f.add("IN_PORT (upper case)", 3, to(12), {out(3)});
    f.add("a rewrite and no output: drop", 1, to(13), dropped);
    f.add("no rule", 1, to(14), dropped);
    return f;
}

fixture output_in_port_case() {
    fixture f("output_in_port",
              "output:N where N is the input port. Open vSwitch does not send a packet back out "
              "of its input port unless the action is in_port; swd does (known differences).",
              "priority=10,dl_dst=02:00:00:00:00:02,actions=output:2\n"
              "priority=10,dl_dst=02:00:00:00:00:03,actions=output:1,output:2\n"
              "priority=10,dl_dst=02:00:00:00:00:04,actions=mod_dl_src:02:00:00:00:ff:04,"
              "output:3\n");
    auto to = [](uint8_t last) {
        packet p = udp4();
        p.dst[5] = last;
        return p;
    };
    f.add("output:2 from port 1", 1, build(to(2)), {out(2)});
    f.known("output:2 from port 2", 2, build(to(2)), dropped, {out(2)}, ovs_in_port_why);
    f.add("output:1,output:2 from port 3", 3, build(to(3)), {out(1), out(2)});
    f.known("output:1,output:2 from port 1", 1, build(to(3)), {out(2)}, {out(1), out(2)},
            ovs_in_port_why);
    f.known("output:1,output:2 from port 2", 2, build(to(3)), {out(1)}, {out(1), out(2)},
            ovs_in_port_why);
    const packet t = to(4);
    f.add("rewrite, output:3 from port 1", 1, build(t), {out(3, tagged(t, 0x04))});
    f.known("rewrite, output:3 from port 3", 3, build(t), dropped, {out(3, tagged(t, 0x04))},
            ovs_in_port_why);
    return f;
}

fixture set_queue_case() {
    fixture f("set_queue",
              "set_queue: the queue of the outputs that follow it, changed between "
              "outputs; with local.",
              "priority=10,in_port=1,actions=set_queue:3,output:2\n"
              "priority=20,in_port=1,udp,actions=set_queue:7,mod_tp_dst:9999,output:3\n"
              "priority=10,in_port=2,actions=set_queue:1,output:1,set_queue:2,output:3\n"
              "priority=10,in_port=3,actions=set_queue:5,local\n"
              "priority=20,in_port=3,tcp,actions=output:1,set_queue:4,in_port\n");
    f.add("TCP from port 1", 1, tcp4(), {out_q(2, 3)});
    packet u = udp4();
    packet u2 = u;
    u2.dport = 9999;
    f.add("UDP from port 1: queue 7, new port", 1, u, {out_q(3, 7, build(u2))});
    f.add("ARP from port 2: two queues", 2, arp(), {out_q(1, 1), out_q(3, 2)});
    f.add("UDP6 from port 3: local on queue 5", 3, udp6(), {to_local({}, 5)});
    f.add("TCP from port 3: queue 0, then 4", 3, tcp4(), {out(1), out_q(3, 4)});
    return f;
}

fixture mod_dl_case() {
    fixture f("mod_dl",
              "mod_dl_src and mod_dl_dst on IPv4, IPv6, ARP, VLAN-tagged and non-IP "
              "frames.",
              "priority=10,in_port=1,actions=mod_dl_src:0a:0b:0c:0d:0e:0f,output:2\n"
              "priority=10,in_port=2,actions=mod_dl_dst:ff:ff:ff:ff:ff:ff,output:3\n"
              "priority=10,in_port=3,actions=mod_dl_src:02:aa:00:00:00:01,"
              "mod_dl_dst:02:bb:00:00:00:02,in_port\n");
    const std::vector<std::pair<const char*, packet>> pkts = {
        {"UDP", udp4()},
        {"TCP6", tcp6()},
        {"ARP reply", arp(2)},
        {"TCP in VLAN 10", with_vlan(tcp4(), 10)},
        {"UDP6 in 802.1ad VLAN 20", with_vlan(udp6(), 20, 0x88a8)},
        {"type 0x88b5", raw(0x88b5)},
        {"ICMP", icmp4()},
    };
    for (const auto& [what, p] : pkts) {
        packet a = p, b = p, c = p;
        a.src = parse_mac("0a:0b:0c:0d:0e:0f");
        f.add(std::string(what) + " from port 1: new source", 1, p, {out(2, build(a))});
        b.dst = parse_mac("ff:ff:ff:ff:ff:ff");
        f.add(std::string(what) + " from port 2: new destination", 2, p, {out(3, build(b))});
        c.src = parse_mac("02:aa:00:00:00:01");
        c.dst = parse_mac("02:bb:00:00:00:02");
        f.add(std::string(what) + " from port 3: both", 3, p, {out(3, build(c))});
    }
    return f;
}

// The UDP checksum over p's bytes as built (at its usual place).
uint16_t udp_checksum_of(const packet& p) {
    const bytes b = build(p);
    size_t l4 = l3_offset(p) + (p.l3 == net::ipv4 ? 20 + p.ip_options : 40);
    for (const ip6_ext& e : p.exts) {
        l4 += e.body.size();
    }
    return get16(b, l4 + 6);
}

// p with the first two payload bytes chosen so that the UDP checksum of rewrite(p), computed
// from scratch, is 0x0000 (sent as 0xffff). With rewrite the identity, p's own checksum is.
packet udp_checksum_zero(packet p, const std::function<void(packet&)>& rewrite) {
    p.payload[0] = 0;
    p.payload[1] = 0;
    packet q = p;
    rewrite(q);
    const uint16_t c = udp_checksum_of(q); // ~sum with the word at 0: adding c makes the sum ~0
    p.payload[0] = static_cast<uint8_t>(c >> 8);
    p.payload[1] = static_cast<uint8_t>(c);
    q = p;
    rewrite(q);
    if (udp_checksum_of(q) != 0xffff) {
        throw std::logic_error("udp_checksum_zero: no zero checksum");
    }
    return p;
}

fixture mod_nw_case() {
    fixture f("mod_nw",
              "mod_nw_src / mod_nw_dst: the IPv4 header checksum and the TCP/UDP "
              "pseudo-header; a UDP checksum 0 stays 0, one that becomes 0 is sent as "
              "0xffff; ICMP and GRE have no pseudo-header; fragments, options, VLAN, "
              "a full-size frame.",
              "priority=10,in_port=1,ip,actions=mod_nw_src:192.0.2.1,output:2\n"
              "priority=10,in_port=2,ip,actions=mod_nw_dst:198.51.100.7,output:3\n"
              "priority=10,in_port=3,ip,actions=mod_nw_src:203.0.113.9,"
              "mod_nw_dst:203.0.113.10,output:2\n"
              "priority=5,actions=drop\n");
    const std::vector<std::function<void(packet&)>> rw = {
        [](packet& p) { p.nw_src = "192.0.2.1"; },
        [](packet& p) { p.nw_dst = "198.51.100.7"; },
        [](packet& p) {
            p.nw_src = "203.0.113.9";
            p.nw_dst = "203.0.113.10";
        },
    };
    const uint16_t port_of[] = {2, 3, 2};
    for (uint16_t in = 1; in <= 3; in++) {
        const auto& rewrite = rw[in - 1];
        std::vector<std::pair<std::string, packet>> pkts = {
            {"TCP", tcp4()},
            {"UDP", udp4()},
            {"ICMP echo", icmp4()},
            {"GRE", ip_raw(47)},
            {"TCP with 8 bytes of IPv4 options",
             [] {
                 packet p = tcp4();
                 p.ip_options = 8;
                 return p;
             }()},
            {"TCP in VLAN 10", with_vlan(tcp4(), 10)},
            {"UDP in 802.1ad VLAN 10", with_vlan(udp4(), 10, 0x88a8)},
            {"TCP, 13 bytes of payload (odd)",
             [] {
                 packet p = tcp4();
                 p.payload.assign(13, 0xc3);
                 return p;
             }()},
            {"TCP, 1514-byte frame",
             [] {
                 packet p = tcp4();
                 p.payload.resize(1460);
                 for (size_t i = 0; i < p.payload.size(); i++) {
                     p.payload[i] = static_cast<uint8_t>(i * 13);
                 }
                 return p;
             }()},
            {"UDP first fragment (checksum over the whole datagram)",
             [] {
                 packet p = udp4();
                 p.frag = 0x2000;
                 p.hidden = 64;
                 return p;
             }()},
            {"UDP later fragment: only the IPv4 checksum",
             [] {
                 packet p = udp4();
                 p.frag = 0x2000 | 3;
                 p.l4_header = false;
                 return p;
             }()},
            {"UDP, checksum 0 (none): stays 0",
             [] {
                 packet p = udp4();
                 p.udp_no_csum = true;
                 return p;
             }()},
            {"UDP whose new checksum computes to 0: sent as 0xffff",
             udp_checksum_zero(udp4(), rewrite)},
            {"UDP whose checksum is 0xffff (computed 0)",
             udp_checksum_zero(udp4(), [](packet&) {})},
        };
        for (const auto& [what, p] : pkts) {
            packet q = p;
            rewrite(q);
            f.add(what + " from port " + std::to_string(in), in, p,
                  {out(port_of[in - 1], build(q))});
        }
        f.add("IPv6 from port " + std::to_string(in) + ": not ip", in, udp6(), dropped);
        f.add("ARP from port " + std::to_string(in) + ": not ip", in, arp(), dropped);
    }
    return f;
}

fixture mod_tp_case() {
    fixture f("mod_tp",
              "mod_tp_src / mod_tp_dst on TCP and UDP over IPv4 and IPv6: checksums, "
              "TCP options, IPv4 options, VLAN, extension headers, fragments (a later "
              "fragment has no ports: unchanged), UDP checksum 0.",
              "priority=10,in_port=1,tcp,actions=mod_tp_src:4000,output:2\n"
              "priority=10,in_port=1,udp,actions=mod_tp_dst:5353,output:2\n"
              "priority=10,in_port=2,tcp6,actions=mod_tp_dst:8443,output:3\n"
              "priority=10,in_port=2,udp6,actions=mod_tp_src:1,mod_tp_dst:65535,output:3\n"
              "priority=10,in_port=3,ip,nw_proto=17,actions=mod_tp_src:53,output:2\n"
              "priority=10,in_port=3,tcp,actions=mod_tp_src:0,mod_tp_dst:0,in_port\n");
    auto add = [&f](const std::string& what, uint16_t in, const packet& p, uint16_t port,
                    const std::function<void(packet&)>& rw) {
        packet q = p;
        rw(q);
        f.add(what, in, p, {out(port, build(q))});
    };
    auto tsrc = [](packet& p) { p.sport = 4000; };
    auto udst = [](packet& p) { p.dport = 5353; };
    auto t6 = [](packet& p) { p.dport = 8443; };
    auto u6 = [](packet& p) {
        p.sport = 1;
        p.dport = 65535;
    };
    packet p = tcp4();
    add("TCP", 1, p, 2, tsrc);
    add("TCP in VLAN 7", 1, with_vlan(p, 7), 2, tsrc);
    p.ip_options = 12;
    add("TCP after 12 bytes of IPv4 options", 1, p, 2, tsrc);
    p = tcp4(1000, 80, 0x002);
    p.doff = 8;
    add("TCP SYN with 12 bytes of TCP options", 1, p, 2, tsrc);
    p = tcp4();
    p.payload.assign(1, 0x7f);
    add("TCP with 1 byte of payload", 1, p, 2, tsrc);
    p.payload.assign(1460, 0x5a);
    add("TCP, 1514-byte frame", 1, p, 2, tsrc);
    p = tcp4();
    p.frag = 0x2000;
    p.hidden = 80;
    add("TCP first fragment", 1, p, 2, tsrc);
    p = udp4();
    add("UDP", 1, p, 2, udst);
    p.udp_no_csum = true;
    add("UDP, checksum 0: stays 0", 1, p, 2, udst);
    add("UDP whose new checksum computes to 0: 0xffff", 1, udp_checksum_zero(udp4(), udst), 2,
        udst);
    p = udp4();
    p.frag = 0x2000 | 10;
    p.l4_header = false;
    f.add("UDP later fragment: no ports, unchanged", 1, p, {out(2)});

    p = tcp6();
    add("TCP6", 2, p, 3, t6);
    p.exts = {ext_opts(0), ext_opts(60, 2)};
    add("TCP6 after hop-by-hop and destination options", 2, p, 3, t6);
    p = udp6();
    add("UDP6", 2, p, 3, u6);
    add("UDP6 in 802.1ad VLAN 3", 2, with_vlan(p, 3, 0x88a8), 3, u6);
    add("UDP6 whose new checksum computes to 0: 0xffff", 2, udp_checksum_zero(udp6(), u6), 3, u6);
    p.exts = {ext_frag(0, true)};
    p.hidden = 24;
    add("UDP6 first fragment", 2, p, 3, u6);
    p = udp6();
    p.exts = {ext_frag(20, false)};
    p.l4_header = false;
    f.add("UDP6 last fragment: no ports, unchanged", 2, p, {out(3)});
    p = udp6();
    p.udp_no_csum = true;
    {
        // OVS leaves a zero UDP checksum alone over IPv6 as over IPv4 (packet_set_udp_port,
        // lib/packets.c); zero-checksum UDP over IPv6 is used by tunnels (RFC 6935, 6936).
        const bytes in = build(p);
        packet q = p;
        u6(q);
        f.add("UDP6 with checksum 0: stays 0", 2, in, {out(3, build(q))});
    }

    p = udp4(1000, 99);
    add("UDP from port 3 (ip,nw_proto=17)", 3, p, 2, [](packet& q) { q.sport = 53; });
    p = tcp4(1234, 443);
    add("TCP from port 3: ports 0", 3, p, 3, [](packet& q) {
        q.sport = 0;
        q.dport = 0;
    });
    return f;
}

packet ttl(packet p, uint8_t t) {
    p.ttl = t;
    return p;
}

fixture dec_ttl_case() {
    fixture f("dec_ttl",
              "dec_ttl: IPv4 TTL (header checksum) and IPv6 hop limit; 1 and 0 drop, "
              "also after an output; twice in one rule; on a packet whose IP header "
              "is not valid (known differences).",
              "priority=10,in_port=1,ip,actions=dec_ttl,output:2\n"
              "priority=10,in_port=1,ipv6,actions=dec_ttl,output:2\n"
              "priority=10,in_port=2,ip,actions=dec_ttl,dec_ttl,output:3\n"
              "priority=10,in_port=2,ipv6,actions=dec_ttl,mod_dl_dst:02:00:00:00:00:66,in_port\n"
              "priority=10,in_port=3,ip,actions=output:2,dec_ttl,output:1\n"
              "priority=10,in_port=3,ipv6,actions=dec_ttl,local\n");
    auto dec = [](packet p, int by = 1) {
        p.ttl = static_cast<uint8_t>(p.ttl - by);
        return build(p);
    };
    f.add("UDP TTL 64", 1, udp4(), {out(2, dec(udp4()))});
    f.add("UDP TTL 255", 1, ttl(udp4(), 255), {out(2, dec(ttl(udp4(), 255)))});
    f.add("UDP TTL 2", 1, ttl(udp4(), 2), {out(2, dec(ttl(udp4(), 2)))});
    f.add("UDP TTL 1: drop", 1, ttl(udp4(), 1), dropped);
    f.add("UDP TTL 0: drop", 1, ttl(udp4(), 0), dropped);
    f.add("ICMP TTL 64", 1, icmp4(), {out(2, dec(icmp4()))});
    packet o = ttl(tcp4(), 9);
    o.ip_options = 4;
    f.add("TCP with IPv4 options, TTL 9", 1, o, {out(2, dec(o))});
    f.add("TCP in VLAN 5, TTL 64", 1, with_vlan(tcp4(), 5), {out(2, dec(with_vlan(tcp4(), 5)))});
    packet later = udp4();
    later.frag = 7;
    later.l4_header = false;
    f.add("later fragment, TTL 64", 1, later, {out(2, dec(later))});
    f.add("UDP6 hop limit 64", 1, udp6(), {out(2, dec(udp6()))});
    f.add("UDP6 hop limit 2", 1, ttl(udp6(), 2), {out(2, dec(ttl(udp6(), 2)))});
    f.add("UDP6 hop limit 1: drop", 1, ttl(udp6(), 1), dropped);
    f.add("UDP6 hop limit 0: drop", 1, ttl(udp6(), 0), dropped);
    packet h = tcp6();
    h.exts = {ext_opts(0)};
    f.add("TCP6 after hop-by-hop, hop limit 64", 1, h, {out(2, dec(h))});

    f.add("TTL 3, dec_ttl twice", 2, ttl(udp4(), 3), {out(3, dec(ttl(udp4(), 3), 2))});
    f.add("TTL 2, dec_ttl twice: the second drops", 2, ttl(udp4(), 2), dropped);
    f.add("TTL 1, dec_ttl twice", 2, ttl(tcp4(), 1), dropped);
    packet v6 = udp6();
    packet v6out = ttl(v6, 63);
    v6out.dst = parse_mac("02:00:00:00:00:66");
    f.add("UDP6 hop limit 64, new destination, in_port", 2, v6, {out(2, build(v6out))});

    f.add("TTL 5: output, dec_ttl, output", 3, ttl(udp4(), 5),
          {out(2), out(1, dec(ttl(udp4(), 5)))});
    f.add("TTL 1: the output before dec_ttl happens", 3, ttl(udp4(), 1), {out(2)});
    f.add("UDP6 hop limit 1 to local: drop", 3, ttl(udp6(), 1), dropped);
    f.add("UDP6 hop limit 9 to local", 3, ttl(udp6(), 9), {to_local(dec(ttl(udp6(), 9)))});

    // dec_ttl on frames whose IPv4/IPv6 header swd does not accept (the flow has dl_type but no
    // IP fields, TTL 0): Open vSwitch's dec_ttl sees TTL 0 and stops with the TTL exception.
    const std::string why = "the IP header is not valid, so the flow has no TTL (0): Open "
                            "vSwitch's dec_ttl (compose_dec_ttl, ofproto-dpif-xlate.c) raises "
                            "the TTL exception and drops the packet; swd skips dec_ttl "
                            "(rewrite_skipped) and forwards the packet unchanged";
    packet u = udp4();
    u.min_frame = 0;
    bytes ihl4 = build(u);
    ihl4[14] = 0x44;
    fix_ipv4_checksum(ihl4, 14);
    f.known("IPv4 with IHL 4", 1, ihl4, dropped, {out(2)}, why);
    bytes cut = build(u);
    cut.resize(14 + 10);
    f.known("IPv4 header cut after 10 bytes", 1, cut, dropped, {out(2)}, why);
    bytes longer = build(u);
    put16(longer, 16, static_cast<uint16_t>(longer.size() - 14 + 1));
    fix_ipv4_checksum(longer, 14);
    f.known("IPv4 total length 1 more than the frame holds", 1, longer, dropped, {out(2)},
            why + " (the OVS kernel datapath does not check the total length and would "
                  "decrement)");
    packet u6 = udp6();
    u6.min_frame = 0;
    bytes plen = build(u6);
    put16(plen, 18, static_cast<uint16_t>(plen.size() - 54 + 1));
    f.known("IPv6 payload length 1 more than the frame holds", 1, plen, dropped, {out(2)}, why);
    return f;
}

fixture goto_case() {
    fixture f("goto_table",
              "goto_table: the next table sees the rewritten packet; outputs before "
              "goto_table; a miss in a later table; several tables in a row.",
              "priority=10,in_port=1,ip,actions=mod_nw_dst:10.9.9.9,goto_table:1\n"
              "table=1,priority=10,ip,nw_dst=10.9.9.9,actions=output:2\n"
              "table=1,priority=0,actions=output:3\n"
              "priority=10,in_port=2,actions=goto_table:2\n"
              "table=2,priority=10,tcp,actions=mod_tp_dst:8080,goto_table:5\n"
              "table=2,priority=5,udp,actions=local\n"
              "table=5,priority=10,tcp,tp_dst=8080,actions=mod_dl_src:02:00:00:00:ff:05,output:3\n"
              "priority=10,in_port=3,actions=output:1,goto_table:3\n"
              "table=3,priority=10,ip,actions=dec_ttl,output:2\n"
              "table=3,priority=5,ipv6,actions=drop\n");
    packet u = udp4();
    packet u2 = u;
    u2.nw_dst = "10.9.9.9";
    f.add("UDP from port 1: table 1 matches the new address", 1, u, {out(2, build(u2))});
    packet t = tcp4();
    packet t2 = t;
    t2.nw_dst = "10.9.9.9";
    f.add("TCP from port 1", 1, t, {out(2, build(t2))});
    f.add("ARP from port 1: no rule in table 0", 1, arp(), dropped);
    t = tcp4(1000, 80);
    t2 = t;
    t2.dport = 8080;
    t2.src = tag_mac(0x05);
    f.add("TCP from port 2: tables 2 and 5", 2, t, {out(3, build(t2))});
    f.add("UDP from port 2: table 2", 2, udp4(), {to_local()});
    f.add("ICMP from port 2: a miss in table 2", 2, icmp4(), dropped);
    packet d = ttl(udp4(), 64);
    f.add("UDP from port 3: output, then table 3", 3, d, {out(1), out(2, build(ttl(d, 63)))});
    f.add("UDP TTL 1 from port 3: output, then dec_ttl drops", 3, ttl(udp4(), 1), {out(1)});
    f.add("IPv6 from port 3: output, then drop", 3, udp6(), {out(1)});
    f.add("ARP from port 3: output, then a miss", 3, arp(), {out(1)});
    return f;
}

fixture multi_output_case() {
    fixture f("multi_output",
              "Several outputs in one rule: each sees the rewrites before it; "
              "local among them; the same port twice.",
              "priority=10,in_port=1,actions=output:2,output:3,local\n"
              "priority=10,in_port=2,ip,actions=output:1,mod_dl_dst:02:00:00:00:00:99,output:3,"
              "mod_nw_src:192.0.2.55,in_port\n"
              "priority=10,in_port=3,udp,actions=mod_tp_dst:7,output:1,mod_tp_dst:8,output:2,"
              "local\n"
              "priority=10,in_port=3,tcp6,actions=output:2,output:2\n");
    for (const auto& [what, p] : std::vector<std::pair<const char*, packet>>{
             {"UDP", udp4()}, {"ARP", arp()}, {"TCP6", tcp6()}}) {
        f.add(std::string(what) + " from port 1: 2, 3, local", 1, p, {out(2), out(3), to_local()});
    }
    packet t = tcp4();
    packet t1 = t;
    t1.dst = parse_mac("02:00:00:00:00:99");
    packet t2 = t1;
    t2.nw_src = "192.0.2.55";
    f.add("TCP from port 2", 2, t, {out(1), out(3, build(t1)), out(2, build(t2))});
    packet v = with_vlan(udp4(), 6);
    packet v1 = v;
    v1.dst = parse_mac("02:00:00:00:00:99");
    packet v2 = v1;
    v2.nw_src = "192.0.2.55";
    f.add("UDP in VLAN 6 from port 2", 2, v, {out(1), out(3, build(v1)), out(2, build(v2))});
    packet u = udp4(1000, 53);
    packet u7 = u, u8 = u;
    u7.dport = 7;
    u8.dport = 8;
    f.add("UDP from port 3", 3, u, {out(1, build(u7)), out(2, build(u8)), to_local(build(u8))});
    f.add("TCP6 from port 3: port 2 twice", 3, tcp6(), {out(2), out(2)});
    f.add("TCP from port 3: no rule", 3, tcp4(), dropped);
    return f;
}

fixture vlan_rewrite_case() {
    fixture f("vlan_rewrite",
              "Rewrites and dec_ttl under 802.1Q and 802.1ad tags: the tag stays, "
              "the offsets move.",
              "priority=10,in_port=1,tcp,actions=mod_nw_src:192.0.2.1,mod_tp_dst:8080,dec_ttl,"
              "output:2\n"
              "priority=10,in_port=2,udp6,actions=mod_tp_src:5000,dec_ttl,"
              "mod_dl_dst:02:00:00:00:00:77,output:3\n"
              "priority=10,in_port=3,dl_vlan=10,actions=mod_dl_src:02:00:00:00:ff:0a,in_port\n");
    auto r1 = [](packet p) {
        p.nw_src = "192.0.2.1";
        p.dport = 8080;
        p.ttl--;
        return build(p);
    };
    auto r2 = [](packet p) {
        p.sport = 5000;
        p.ttl--;
        p.dst = parse_mac("02:00:00:00:00:77");
        return build(p);
    };
    for (const auto& [what, tags] : std::vector<std::pair<const char*, std::vector<vlan_tag>>>{
             {"untagged", {}},
             {"802.1Q VLAN 10", {{0x8100, 10}}},
             {"802.1ad VLAN 10", {{0x88a8, 10}}},
             {"802.1Q VLAN 10 PCP 6 DEI", {{0x8100, 0xd00a}}}}) {
        packet t = tcp4();
        t.vlans = tags;
        f.add(std::string("TCP, ") + what, 1, t, {out(2, r1(t))});
        packet u = udp6();
        u.vlans = tags;
        f.add(std::string("UDP6, ") + what, 2, u, {out(3, r2(u))});
    }
    f.add("TCP, 802.1ad VLAN 100 + 802.1Q VLAN 10: dl_type 0x8100, not tcp", 1,
          with_vlan(with_vlan(tcp4(), 100, 0x88a8), 10), dropped);
    for (const auto& [what, p] : std::vector<std::pair<const char*, packet>>{
             {"IPv4 in VLAN 10", with_vlan(udp4(), 10)},
             {"ARP in VLAN 10", with_vlan(arp(), 10)},
             {"IPv6 in 802.1ad VLAN 10", with_vlan(tcp6(), 10, 0x88a8)}}) {
        f.add(what, 3, p, {out(3, tagged(p, 0x0a))});
    }
    f.add("IPv4 in VLAN 11", 3, with_vlan(udp4(), 11), dropped);
    return f;
}

// The backend that pool web's Maglev table gives a client of 10.0.0.5:sport -> 10.0.0.10:80/tcp.
// The table and the flow hash are the shared ones (datapath/lb/maglev.h, swd_lb_hash), tested on
// their own by maglev_test and lb_bpf_test; here they say which backend each path must choose.
int web_backend(uint16_t sport) {
    static const std::vector<dp::lb::maglev_backend> list = [] {
        std::vector<dp::lb::maglev_backend> l(3);
        for (uint32_t i = 0; i < 3; i++) {
            l[i].addr[0] = htonl(0x0a010001u + i); // 10.1.0.1-3
            l[i].port = 8080;
        }
        return l;
    }();
    static const auto table = dp::lb::maglev_table::build(list);
    swd_lb_tuple t{};
    t.src_ip[0] = htonl(0x0a000005u);
    t.dst_ip[0] = htonl(0x0a00000au);
    t.src_port = htons(sport);
    t.dst_port = htons(80);
    t.proto = 6;
    return table ? table->pick(swd_lb_hash(&t)) : -1;
}

fixture lb_case() {
    fixture f("lb",
              "lb(POOL): a new session goes to the backend of the pool's Maglev table for its "
              "5-tuple, later packets of the session to the same one, the backend's replies get "
              "the vip back as their source; IPv4 and IPv6; a reply with no session, a packet "
              "not for the vip, a later fragment and a pool with no backend up are dropped.",
              "lb_pool=web, vip=10.0.0.10:80/tcp, backend=10.1.0.1:8080/02:00:00:00:01:01, "
              "backend=10.1.0.2:8080/02:00:00:00:01:02, backend=10.1.0.3:8080/02:00:00:00:01:03\n"
              "lb_pool=dns6, vip=[2001:db8::53]:53/udp, "
              "backend=[2001:db8:1::1]:5353/02:00:00:00:02:01\n"
              "lb_pool=none, vip=10.0.0.20:80/tcp, backend=10.1.0.9:80/02:00:00:00:09:09/"
              "state=down\n"
              "priority=10,in_port=1,tcp,nw_dst=10.0.0.10,actions=lb(web),output:2\n"
              "priority=10,in_port=2,tcp,nw_src=10.1.0.0/24,tp_src=8080,actions=lb(web),output:1\n"
              "priority=10,in_port=1,udp6,ipv6_dst=2001:db8::53,actions=lb(dns6),output:2\n"
              "priority=10,in_port=2,udp6,ipv6_src=2001:db8:1::1,actions=lb(dns6),output:1\n"
              "priority=10,in_port=1,tcp,nw_dst=10.0.0.20,actions=lb(none),output:2\n"
              "priority=5,actions=drop\n");
    const mac vip_mac = {0x02, 0, 0, 0, 0, 0x02}; // where the clients send (packet's default dst)
    const mac client_mac = {0x02, 0, 0, 0, 0, 0x01};
    auto client = [](uint16_t sport) {
        packet p = tcp4(sport, 80);
        p.nw_src = "10.0.0.5";
        p.nw_dst = "10.0.0.10";
        return p;
    };
    std::vector<int> chosen;
    for (uint16_t sport = 1000; sport < 1012; sport++) {
        const int b = web_backend(sport);
        chosen.push_back(b);
        packet want = client(sport);
        want.nw_dst = "10.1.0." + std::to_string(b + 1);
        want.dport = 8080;
        want.src = vip_mac;
        want.dst = {0x02, 0, 0, 0, 0x01, static_cast<uint8_t>(b + 1)};
        f.add("client 10.0.0.5:" + std::to_string(sport) + " to the vip: new session, backend " +
                  std::to_string(b + 1),
              1, client(sport), {out(2, build(want))});
        f.add("the same client again: its session, backend " + std::to_string(b + 1), 1,
              client(sport), {out(2, build(want))});
    }
    for (uint16_t sport = 1000; sport < 1012; sport++) {
        const int b = chosen[sport - 1000];
        packet reply = tcp4(8080, sport);
        reply.nw_src = "10.1.0." + std::to_string(b + 1);
        reply.nw_dst = "10.0.0.5";
        reply.src = {0x02, 0, 0, 0, 0x01, static_cast<uint8_t>(b + 1)};
        reply.dst = vip_mac;
        packet want = reply;
        want.nw_src = "10.0.0.10";
        want.sport = 80;
        want.src = vip_mac;
        want.dst = client_mac;
        f.add("backend " + std::to_string(b + 1) + "'s reply to 10.0.0.5:" + std::to_string(sport) +
                  ": from the vip",
              2, reply, {out(1, build(want))});
    }
    packet stray = tcp4(8080, 5555);
    stray.nw_src = "10.1.0.1";
    stray.nw_dst = "10.0.0.99";
    f.add("a backend's packet with no session: dropped", 2, stray, dropped);
    packet other_port = client(2000);
    other_port.dport = 443;
    f.add("to the vip's address, another port: no session, not the vip: dropped", 1, other_port,
          dropped);
    packet later = client(2001);
    later.frag = 3;
    later.l4_header = false;
    f.add("a later fragment to the vip: no ports: dropped", 1, later, dropped);
    packet none = client(2002);
    none.nw_dst = "10.0.0.20";
    f.add("pool none, its only backend down: dropped", 1, none, dropped);

    packet q6 = udp6(3333, 53);
    q6.nw_src = "2001:db8::7";
    q6.nw_dst = "2001:db8::53";
    packet q6_out = q6;
    q6_out.nw_dst = "2001:db8:1::1";
    q6_out.dport = 5353;
    q6_out.src = vip_mac;
    q6_out.dst = {0x02, 0, 0, 0, 0x02, 0x01};
    f.add("IPv6 UDP client to the vip: its only backend", 1, q6, {out(2, build(q6_out))});
    packet a6 = udp6(5353, 3333);
    a6.nw_src = "2001:db8:1::1";
    a6.nw_dst = "2001:db8::7";
    a6.src = {0x02, 0, 0, 0, 0x02, 0x01};
    a6.dst = vip_mac;
    packet a6_out = a6;
    a6_out.nw_src = "2001:db8::53";
    a6_out.sport = 53;
    a6_out.src = vip_mac;
    a6_out.dst = client_mac;
    f.add("IPv6 UDP answer: from the vip", 2, a6, {out(1, build(a6_out))});
    return f;
}

// A stateful firewall: port 1 (A, the inside) opens connections that ct(commit) records; from
// port 2 (B) only replies to them pass, plus DNS requests that B may open (they commit too), and
// what is not tracked (-trk: not TCP/UDP, a later fragment) is let through tagged.
fixture conntrack_case() {
    fixture f("conntrack",
              "ct(commit) and ct_state: a connection committed by its first packet; the reverse "
              "tuple is +est+rpl, the committed tuple +est-rpl, anything else TCP/UDP +new; not "
              "TCP/UDP, later fragments and truncated L4 headers are -trk; IPv4 and IPv6.",
              "priority=100,in_port=1,ip,actions=ct(commit),output:2\n"
              "priority=100,in_port=1,ipv6,actions=ct(commit),output:2\n"
              "priority=100,in_port=2,ct_state=+trk+est+rpl,actions=output:1\n"
              "priority=90,in_port=2,ct_state=+trk+est-rpl,actions=mod_dl_src:02:00:00:00:ff:01,"
              "output:1\n"
              "priority=80,in_port=2,ct_state=+trk+new,udp,tp_dst=53,actions=ct(commit),output:1\n"
              "priority=50,in_port=2,ct_state=-trk,actions=mod_dl_src:02:00:00:00:ff:02,output:1\n"
              "priority=10,in_port=2,actions=drop\n");
    auto reversed = [](packet p) {
        std::swap(p.nw_src, p.nw_dst);
        std::swap(p.sport, p.dport);
        std::swap(p.src, p.dst);
        return p;
    };
    const packet a_tcp = tcp4(1000, 80);
    f.add("A -> B TCP 10.0.0.1:1000 -> 10.0.0.2:80: new, committed", 1, a_tcp, {out(2)});
    f.add("B's reply: +est+rpl", 2, reversed(a_tcp), {out(1)});
    f.add("A again: established, passes", 1, a_tcp, {out(2)});
    packet b_other = reversed(a_tcp);
    b_other.sport = 81;
    f.add("B -> A from another port: +new, dropped", 2, b_other, dropped);
    f.add("B -> A SYN to A's port 22: +new, dropped", 2, reversed(tcp4(22, 4444, 0x002)), dropped);
    const packet a_udp = udp4(5000, 53);
    f.add("A -> B UDP 10.0.0.1:5000 -> 10.0.0.2:53: committed", 1, a_udp, {out(2)});
    f.add("B's UDP answer: +est+rpl", 2, reversed(a_udp), {out(1)});
    packet a_udp_other = reversed(a_udp);
    a_udp_other.dport = 5001;
    f.add("B -> A UDP to a port A did not use: +new, dropped", 2, a_udp_other, dropped);
    const packet a_tcp6 = tcp6(1000, 443);
    f.add("A -> B TCP over IPv6: committed", 1, a_tcp6, {out(2)});
    f.add("B's IPv6 reply: +est+rpl", 2, reversed(a_tcp6), {out(1)});
    packet b_tcp6 = reversed(a_tcp6);
    b_tcp6.nw_src = "2001:db8::99";
    f.add("B -> A IPv6 from another address: +new, dropped", 2, b_tcp6, dropped);
    const packet b_dns = reversed(udp4(53, 7000));
    f.add("B -> A UDP to port 53: +new, B may open it: committed", 2, b_dns, {out(1)});
    f.add("A's answer: +est+rpl (no second commit)", 1, reversed(b_dns), {out(2)});
    f.add("B -> A again: +est-rpl, its own committed direction: tagged ff:01", 2, b_dns,
          {out(1, tagged(b_dns, 0x01))});
    const packet b_ping = reversed(icmp4());
    f.add("B -> A ICMP: -trk, tagged ff:02", 2, b_ping, {out(1, tagged(b_ping, 0x02))});
    packet later = reversed(a_tcp);
    later.frag = 3;
    later.l4_header = false;
    f.add("B -> A a later fragment of TCP: no ports, -trk, tagged ff:02", 2, later,
          {out(1, tagged(later, 0x02))});
    packet a_later = a_tcp;
    a_later.sport = 3000;
    a_later.frag = 3;
    a_later.l4_header = false;
    f.add("A -> B a later fragment: ct(commit) has no tuple, passes", 1, a_later, {out(2)});
    packet a_after = a_tcp;
    a_after.sport = 3000;
    f.add("A -> B TCP from that fragment's port: nothing committed it: new, committed now", 1,
          a_after, {out(2)});
    f.add("its reply: +est+rpl", 2, reversed(a_after), {out(1)});
    return f;
}

} // namespace

std::vector<fixture> action_fixtures() {
    return {output_case(),       output_in_port_case(), set_queue_case(), mod_dl_case(),
            mod_nw_case(),       mod_tp_case(),         dec_ttl_case(),   goto_case(),
            multi_output_case(), vlan_rewrite_case(),   lb_case(),        conntrack_case()};
}

} // namespace swd::fixtures
