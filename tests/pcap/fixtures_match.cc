// Fixtures for the match fields: every field of docs/flow-syntax.md section 5, with prefixes and
// masks, the shorthands, priorities and ties, and fragments. Each rule does something the others
// do not (a port, local, in_port, drop, or a "tag": mod_dl_src:02:00:00:00:ff:NN and an output),
// so the result names the rule that won.
#include <tuple>

#include "make_fixtures.h"

namespace swd::fixtures {

namespace {

fixture in_port_case() {
    fixture f("in_port",
              "in_port: the same frames on each of the three ports; no catch-all (a "
              "miss drops).",
              "priority=10,in_port=1,actions=output:2\n"
              "priority=10,in_port=p2,actions=output:3\n"
              "priority=10,in_port=3,actions=local\n"
              "priority=20,in_port=1,arp,actions=drop\n");
    f.add("UDP from port 1", 1, udp4(), {out(2)});
    f.add("UDP from port 2", 2, udp4(), {out(3)});
    f.add("UDP from port 3", 3, udp4(), {to_local()});
    f.add("ARP from port 1: the ARP rule of port 1", 1, arp(), dropped);
    f.add("ARP from port 2", 2, arp(), {out(3)});
    f.add("IPv6 TCP from port 3", 3, tcp6(), {to_local()});
    f.add("non-IP frame from port 2", 2, raw(0x88b5), {out(3)});
    f.add("VLAN frame from port 1", 1, with_vlan(udp4(), 7), {out(2)});
    return f;
}

fixture dl_addr_case() {
    fixture f("dl_addr",
              "dl_src and dl_dst: exact, with a prefix mask, with the multicast bit as "
              "mask, and a non-prefix mask.",
              "priority=40,dl_src=02:00:00:00:00:09,actions=drop\n"
              "priority=30,dl_dst=02:00:00:00:00:02,actions=output:2\n"
              "priority=25,dl_dst=01:00:00:00:00:00/01:00:00:00:00:00,actions=local\n"
              "priority=20,eth_src=aa:bb:cc:00:00:00/ff:ff:ff:00:00:00,actions=output:3\n"
              "priority=15,eth_dst=02:00:00:00:00:10/ff:ff:ff:ff:ff:f0,actions=in_port\n"
              "priority=12,dl_src=00:00:00:00:00:01/00:00:00:00:00:ff,"
              "actions=mod_dl_src:02:00:00:00:ff:12,output:3\n");
    packet p = udp4();
    f.add("to 02:00:00:00:00:02 from 02:00:00:00:00:01", 1, p, {out(2)});
    p.src = parse_mac("02:00:00:00:00:09");
    f.add("from 02:00:00:00:00:09 (priority 40 beats the destination rule)", 1, p, dropped);
    p = udp4();
    p.dst = parse_mac("ff:ff:ff:ff:ff:ff");
    f.add("broadcast", 1, p, {to_local()});
    p.dst = parse_mac("33:33:00:00:00:01");
    f.add("IPv6 multicast MAC", 1, p, {to_local()});
    p.dst = parse_mac("03:00:00:00:00:02");
    f.add("02:00:00:00:00:02 but with the group bit: not the exact rule, the multicast one", 1, p,
          {to_local()});
    p = udp4();
    p.dst = parse_mac("02:00:00:00:00:03");
    p.src = parse_mac("aa:bb:cc:12:34:56");
    f.add("from aa:bb:cc:12:34:56 (prefix aa:bb:cc)", 1, p, {out(3)});
    p.src = parse_mac("aa:bb:cd:12:34:56");
    f.add("from aa:bb:cd:12:34:56: no rule", 1, p, dropped);
    p = udp4();
    p.dst = parse_mac("02:00:00:00:00:1f");
    f.add("to 02:00:00:00:00:1f (mask ..:f0)", 1, p, {out(1)});
    f.add("to 02:00:00:00:00:1f from port 2", 2, p, {out(2)});
    p.dst = parse_mac("02:00:00:00:00:20");
    p.src = parse_mac("02:00:00:00:00:05");
    f.add("to 02:00:00:00:00:20: outside the mask", 1, p, dropped);
    p.dst = parse_mac("02:00:00:00:00:33");
    p.src = parse_mac("02:00:00:00:77:01");
    f.add("from ..:77:01: last byte 01 under a non-prefix mask", 1, p, {out(3, tagged(p, 0x12))});
    p.src = parse_mac("02:00:00:00:77:02");
    f.add("from ..:77:02: last byte 02", 1, p, dropped);
    f.add("ARP to 02:00:00:00:00:02 (MAC rules match any type)", 1,
          [] {
              packet a = arp(2);
              return a;
          }(),
          {out(2)});
    return f;
}

fixture dl_type_case() {
    fixture f("dl_type",
              "dl_type and its shorthands ip, ipv6, arp: the type after a VLAN tag; "
              "802.3 lengths and unknown types miss.",
              "priority=10,dl_type=0x88cc,actions=output:2\n"
              "priority=10,arp,actions=output:3\n"
              "priority=10,ipv6,actions=local\n"
              "priority=10,eth_type=0x0800,actions=in_port\n"
              "priority=5,dl_type=0x8100,actions=mod_dl_src:02:00:00:00:ff:05,output:2\n");
    f.add("LLDP (0x88cc)", 1, raw(0x88cc), {out(2)});
    f.add("ARP", 1, arp(), {out(3)});
    f.add("IPv6 UDP", 1, udp6(), {to_local()});
    f.add("IPv4 UDP", 1, udp4(), {out(1)});
    f.add("IPv4 UDP from port 2", 2, udp4(), {out(2)});
    f.add("802.1Q VLAN 5 + IPv4: dl_type is the inner type", 1, with_vlan(udp4(), 5), {out(1)});
    f.add("802.1Q + ARP", 1, with_vlan(arp(), 5), {out(3)});
    f.add("802.1ad + IPv6", 1, with_vlan(udp6(), 5, 0x88a8), {to_local()});
    const packet qinq = with_vlan(with_vlan(udp4(), 100, 0x88a8), 5);
    f.add("802.1ad + 802.1Q + IPv4: one tag is parsed, dl_type is 0x8100", 1, qinq,
          {out(2, tagged(qinq, 0x05))});
    f.add("type 0x88b5: no rule", 1, raw(0x88b5), dropped);
    f.add("802.3 frame (length 46, LLC): no rule", 1, raw(46), dropped);
    return f;
}

fixture vlan_case() {
    fixture f("vlan",
              "dl_vlan, dl_vlan_pcp, vlan_vid, vlan_tci with and without masks; 802.1Q "
              "and 802.1ad tags, the DEI bit (not matched), priority tags, two tags.",
              "priority=50,dl_vlan=30,actions=drop\n"
              "priority=40,dl_vlan=20,dl_vlan_pcp=5,actions=output:3\n"
              "priority=30,dl_vlan=10,actions=output:2\n"
              "priority=30,vlan_vid=0x1028,actions=mod_dl_src:02:00:00:00:ff:28,output:2\n"
              "priority=35,vlan_tci=0x5064,actions=mod_dl_src:02:00:00:00:ff:64,output:3\n"
              "priority=20,dl_vlan=0xffff,actions=local\n"
              "priority=15,vlan_pcp=7,actions=mod_dl_src:02:00:00:00:ff:07,output:3\n"
              "priority=10,vlan_tci=0x1000/0x1000,actions=in_port\n");
    f.add("VLAN 10 PCP 0", 1, with_vlan(udp4(), 10), {out(2)});
    f.add("VLAN 10 PCP 3", 1, with_vlan(udp4(), 3 << 13 | 10), {out(2)});
    f.add("VLAN 10 with DEI set", 1, with_vlan(udp4(), 0x1000 | 10), {out(2)});
    f.add("VLAN 10 over IPv6", 1, with_vlan(tcp6(), 10), {out(2)});
    f.add("VLAN 10 in an 802.1ad tag", 1, with_vlan(udp4(), 10, 0x88a8), {out(2)});
    f.add("VLAN 20 PCP 5", 1, with_vlan(udp4(), 5 << 13 | 20), {out(3)});
    f.add("VLAN 20 PCP 4: any tagged frame", 1, with_vlan(udp4(), 4 << 13 | 20), {out(1)});
    f.add("VLAN 30", 1, with_vlan(udp4(), 30), dropped);
    const packet v40 = with_vlan(udp4(), 40);
    f.add("VLAN 40 (vlan_vid=0x1028)", 1, v40, {out(2, tagged(v40, 0x28))});
    const packet v100 = with_vlan(udp4(), 2 << 13 | 100);
    f.add("VLAN 100 PCP 2 (vlan_tci=0x5064)", 1, v100, {out(3, tagged(v100, 0x64))});
    f.add("VLAN 100 PCP 3", 1, with_vlan(udp4(), 3 << 13 | 100), {out(1)});
    const packet p7 = with_vlan(udp4(), 7 << 13 | 99);
    f.add("VLAN 99 PCP 7 (vlan_pcp=7)", 1, p7, {out(3, tagged(p7, 0x07))});
    f.add("priority tag (VID 0): tagged", 1, with_vlan(udp4(), 0), {out(1)});
    f.add("VLAN 4095 from port 2", 2, with_vlan(udp4(), 4095), {out(2)});
    f.add("untagged", 1, udp4(), {to_local()});
    f.add("untagged ARP from port 2", 2, arp(), {to_local()});
    f.add("802.1ad VLAN 30 + 802.1Q VLAN 10: the outer tag counts", 1,
          with_vlan(with_vlan(udp4(), 30, 0x88a8), 10), dropped);
    return f;
}

fixture shorthand_case() {
    fixture f("shorthands", "ip, ipv6, tcp, udp, icmp, tcp6, udp6, icmp6, arp.",
              "priority=20,tcp,actions=mod_dl_src:02:00:00:00:ff:01,output:2\n"
              "priority=20,udp,actions=mod_dl_src:02:00:00:00:ff:02,output:2\n"
              "priority=20,icmp,actions=mod_dl_src:02:00:00:00:ff:03,output:2\n"
              "priority=10,ip,actions=mod_dl_src:02:00:00:00:ff:04,output:2\n"
              "priority=20,tcp6,actions=mod_dl_src:02:00:00:00:ff:05,output:2\n"
              "priority=20,udp6,actions=mod_dl_src:02:00:00:00:ff:06,output:2\n"
              "priority=20,icmp6,actions=mod_dl_src:02:00:00:00:ff:07,output:2\n"
              "priority=10,ipv6,actions=mod_dl_src:02:00:00:00:ff:08,output:2\n"
              "priority=10,arp,actions=mod_dl_src:02:00:00:00:ff:09,output:2\n");
    const std::vector<std::pair<const char*, std::pair<packet, uint8_t>>> cases = {
        {"TCP", {tcp4(), 1}},
        {"UDP", {udp4(), 2}},
        {"ICMP echo", {icmp4(), 3}},
        {"GRE (47): ip", {ip_raw(47), 4}},
        {"protocol 58 over IPv4: ip, not icmp", {ip_raw(58), 4}},
        {"TCP6", {tcp6(), 5}},
        {"UDP6", {udp6(), 6}},
        {"ICMPv6 echo", {icmp6(), 7}},
        {"IPv6 no next header (59)", {as_ipv6(ip_raw(59)), 8}},
        {"ICMP (1) over IPv6: ipv6, not icmp6", {as_ipv6(ip_raw(1)), 8}},
        {"ARP request", {arp(1), 9}},
        {"ARP reply", {arp(2), 9}},
        {"TCP in VLAN 3", {with_vlan(tcp4(), 3), 1}},
        {"UDP6 in VLAN 3", {with_vlan(udp6(), 3), 6}},
    };
    for (const auto& [what, pt] : cases) {
        f.add(what, 1, pt.first, {out(2, tagged(pt.first, pt.second))});
    }
    f.add("type 0x88b5: none", 1, raw(0x88b5), dropped);
    return f;
}

fixture nw_addr_case() {
    fixture f("nw_addr",
              "nw_src / nw_dst (ip_src / ip_dst): exact, prefixes, dotted masks, a "
              "non-contiguous mask, /0; an ARP frame is not ip.",
              "priority=30,ip,nw_src=10.1.2.3,actions=local\n"
              "priority=20,ip,nw_src=10.1.0.0/16,actions=output:2\n"
              "priority=20,ip,nw_dst=192.168.1.0/255.255.255.0,actions=output:3\n"
              "priority=25,ip,ip_dst=172.0.0.0/255.0.255.0,actions=in_port\n"
              "priority=15,ip,nw_src=0.0.0.0/0,nw_dst=10.0.0.0/8,"
              "actions=mod_dl_src:02:00:00:00:ff:0a,output:2\n");
    auto a = [](const char* src, const char* dst, packet p = udp4()) {
        p.nw_src = src;
        p.nw_dst = dst;
        return p;
    };
    f.add("10.1.2.3 > 10.0.0.2: exact source", 1, a("10.1.2.3", "10.0.0.2"), {to_local()});
    f.add("TCP 10.1.2.3 > 10.0.0.2", 1, a("10.1.2.3", "10.0.0.2", tcp4()), {to_local()});
    f.add("VLAN 10.1.2.3 > 10.0.0.2", 1, with_vlan(a("10.1.2.3", "10.0.0.2"), 9), {to_local()});
    f.add("10.1.200.7 > 10.0.0.2: /16", 1, a("10.1.200.7", "10.0.0.2"), {out(2)});
    f.add("10.1.255.255 > 8.8.8.8: /16, last address", 1, a("10.1.255.255", "8.8.8.8"), {out(2)});
    f.add("10.2.0.0 > 8.8.8.8: outside", 1, a("10.2.0.0", "8.8.8.8"), dropped);
    f.add("10.0.255.255 > 192.168.1.77: dotted /24", 1, a("10.0.255.255", "192.168.1.77"),
          {out(3)});
    f.add("10.9.9.9 > 192.168.2.1: outside", 1, a("10.9.9.9", "192.168.2.1"), dropped);
    f.add("1.2.3.4 > 172.99.0.5: mask 255.0.255.0", 1, a("1.2.3.4", "172.99.0.5"), {out(1)});
    f.add("1.2.3.4 > 172.99.1.5: mask 255.0.255.0, third octet differs", 1,
          a("1.2.3.4", "172.99.1.5"), dropped);
    f.add("10.1.0.9 > 172.16.0.9: priority 25 over 20", 2, a("10.1.0.9", "172.16.0.9"), {out(2)});
    const packet p10 = a("1.2.3.4", "10.200.0.1");
    f.add("1.2.3.4 > 10.200.0.1: nw_dst=10.0.0.0/8", 1, p10, {out(2, tagged(p10, 0x0a))});
    f.add("ARP from 10.1.2.3: not ip", 1, arp(1, "10.1.2.3", "10.0.0.2"), dropped);
    return f;
}

fixture ipv6_addr_case() {
    fixture f("ipv6_addr", "ipv6_src / ipv6_dst: exact, /48, /32, /10, a non-prefix mask, ::/0.",
              "priority=30,ipv6,ipv6_src=2001:db8:1::5,actions=drop\n"
              "priority=20,ipv6,ipv6_src=2001:db8:1::/48,actions=output:2\n"
              "priority=10,ipv6,ipv6_dst=2001:db8::/32,actions=output:3\n"
              "priority=20,ipv6,ipv6_dst=fe80::/10,actions=local\n"
              "priority=15,ipv6,ipv6_dst=2001::1/ffff::ffff,actions=in_port\n"
              "priority=5,ipv6,ipv6_src=::/0,actions=mod_dl_src:02:00:00:00:ff:06,output:2\n");
    auto a = [](const char* src, const char* dst, packet p = udp6()) {
        p.nw_src = src;
        p.nw_dst = dst;
        return p;
    };
    f.add("2001:db8:1::5 > 2001:db8::2: exact", 1, a("2001:db8:1::5", "2001:db8::2"), dropped);
    f.add("2001:db8:1:ffff::1 > 2001:db8::2: /48 over /32", 1,
          a("2001:db8:1:ffff::1", "2001:db8::2"), {out(2)});
    f.add("TCP6 with hop-by-hop 2001:db8:1::7 > 2001:db8::2", 1,
          [&] {
              packet p = a("2001:db8:1::7", "2001:db8::2", tcp6());
              p.exts = {ext_opts(0)};
              return p;
          }(),
          {out(2)});
    f.add("2001:db8:2::1 > 2001:db8::99: /32", 1, a("2001:db8:2::1", "2001:db8::99"), {out(3)});
    f.add("2001:db8:2::1 > fe80::1: /10", 1, a("2001:db8:2::1", "fe80::1"), {to_local()});
    f.add("2001:db8:2::1 > febf:ffff::1: /10, last block", 1, a("2001:db8:2::1", "febf:ffff::1"),
          {to_local()});
    const packet fec0 = a("2001:db8:2::1", "fec0::1");
    f.add("2001:db8:2::1 > fec0::1: outside /10", 1, fec0, {out(2, tagged(fec0, 0x06))});
    f.add("> 2001:abcd::1: mask ffff::ffff", 1, a("2001:db8:2::1", "2001:abcd::1"), {out(1)});
    f.add("> 2001:abcd::1 from port 3", 3, a("2001:db8:2::1", "2001:abcd::1"), {out(3)});
    const packet other = a("2001:db8:2::1", "2001:abcd::2");
    f.add("> 2001:abcd::2: mask ffff::ffff, last word differs", 1, other,
          {out(2, tagged(other, 0x06))});
    f.add("IPv4: none", 1, udp4(), dropped);
    return f;
}

fixture nw_proto_case() {
    fixture f("nw_proto",
              "nw_proto (ip_proto) over IPv4 and IPv6: the upper-layer protocol after "
              "extension headers and in fragments.",
              "priority=20,ip,nw_proto=47,actions=output:2\n"
              "priority=20,ipv6,nw_proto=59,actions=output:3\n"
              "priority=20,ip,ip_proto=6,actions=local\n"
              "priority=20,ipv6,nw_proto=17,actions=in_port\n"
              "priority=10,ip,actions=mod_dl_src:02:00:00:00:ff:0a,output:2\n"
              "priority=10,ipv6,actions=mod_dl_src:02:00:00:00:ff:0b,output:2\n");
    f.add("GRE", 1, ip_raw(47), {out(2)});
    f.add("TCP", 1, tcp4(), {to_local()});
    packet later = tcp4();
    later.frag = 100;
    later.l4_header = false;
    f.add("later fragment of a TCP datagram (offset 800)", 1, later, {to_local()});
    const packet u = udp4();
    f.add("UDP", 1, u, {out(2, tagged(u, 0x0a))});
    f.add("IPv6 no next header", 1, as_ipv6(ip_raw(59)), {out(3)});
    packet p = as_ipv6(ip_raw(59));
    p.exts = {ext_opts(0), ext_opts(60)};
    f.add("IPv6 hop-by-hop + destination options + no next header", 1, p, {out(3)});
    f.add("UDP6", 1, udp6(), {out(1)});
    p = udp6();
    p.exts = {ext_opts(60, 1), ext_opts(43)};
    f.add("UDP6 after destination options (16 bytes) + routing", 1, p, {out(1)});
    p.exts = {ext_ah()};
    f.add("UDP6 after AH", 2, p, {out(2)});
    p = udp6();
    p.exts = {ext_frag(0, true)};
    p.hidden = 40;
    f.add("UDP6 first fragment", 1, p, {out(1)});
    p = as_ipv6(raw(0x86dd, 32));
    p.proto = 17;
    p.exts = {ext_frag(5, false)};
    f.add("UDP6 later fragment: nw_proto from the fragment header", 1, p, {out(1)});
    const packet t6 = tcp6();
    f.add("TCP6", 1, t6, {out(2, tagged(t6, 0x0b))});
    return f;
}

fixture nw_tos_case() {
    fixture f("nw_tos",
              "nw_tos / ip_dscp (DSCP bits only) and nw_ecn over IPv4 and IPv6 "
              "(traffic class across the version and flow label nibbles).",
              "priority=20,ip,nw_tos=184,actions=output:2\n"
              "priority=20,ip,ip_dscp=10,actions=output:3\n"
              "priority=20,ipv6,nw_tos=184,actions=local\n"
              "priority=10,ip,nw_ecn=3,actions=in_port\n"
              "priority=10,ipv6,ip_ecn=1,actions=mod_dl_src:02:00:00:00:ff:61,output:2\n"
              "priority=0,actions=drop\n");
    auto t = [](uint8_t tos, packet p = udp4()) {
        p.tos = tos;
        return p;
    };
    f.add("ToS 0xb8 (EF)", 1, t(0xb8), {out(2)});
    f.add("ToS 0xbb (EF, ECN 3): the DSCP rule wins", 1, t(0xbb), {out(2)});
    f.add("ToS 0x28 (DSCP 10)", 1, t(0x28), {out(3)});
    f.add("ToS 0x2a (DSCP 10, ECN 2)", 1, t(0x2a), {out(3)});
    f.add("ToS 0x03 (ECN CE)", 1, t(0x03), {out(1)});
    f.add("ToS 0x01 (ECN 1): the catch-all drop", 1, t(0x01), dropped);
    f.add("ToS 0: drop", 1, t(0), dropped);
    f.add("IPv6 class 0xb8", 1, t(0xb8, udp6()), {to_local()});
    f.add("IPv6 class 0xb9", 1, t(0xb9, udp6()), {to_local()});
    packet fl = t(0xb8, tcp6());
    fl.flow_label = 0xfffff;
    f.add("IPv6 class 0xb8, flow label 0xfffff", 1, fl, {to_local()});
    const packet e1 = t(0x29, udp6());
    f.add("IPv6 class 0x29 (DSCP 10, ECN 1): only the IPv6 ECN rule", 1, e1,
          {out(2, tagged(e1, 0x61))});
    f.add("IPv6 class 0x28: drop", 1, t(0x28, udp6()), dropped);
    return f;
}

fixture nw_ttl_case() {
    fixture f("nw_ttl", "nw_ttl: IPv4 TTL and IPv6 hop limit, including 0, 1 and 255.",
              "priority=20,ip,nw_ttl=64,actions=output:2\n"
              "priority=20,ip,nw_ttl=0,actions=output:3\n"
              "priority=20,ipv6,nw_ttl=255,actions=local\n"
              "priority=20,ipv6,nw_ttl=1,actions=drop\n"
              "priority=10,ip,actions=in_port\n"
              "priority=10,ipv6,actions=mod_dl_src:02:00:00:00:ff:66,output:3\n");
    auto t = [](uint8_t ttl, packet p = udp4()) {
        p.ttl = ttl;
        return p;
    };
    f.add("TTL 64", 1, t(64), {out(2)});
    f.add("TTL 63", 1, t(63), {out(1)});
    f.add("TTL 0", 1, t(0), {out(3)});
    f.add("TTL 1", 2, t(1), {out(2)});
    f.add("TTL 255", 1, t(255), {out(1)});
    f.add("hop limit 255", 1, t(255, udp6()), {to_local()});
    f.add("hop limit 1", 1, t(1, udp6()), dropped);
    const packet h64 = t(64, udp6());
    f.add("hop limit 64", 1, h64, {out(3, tagged(h64, 0x66))});
    const packet h0 = t(0, icmp6());
    f.add("ICMPv6, hop limit 0", 1, h0, {out(3, tagged(h0, 0x66))});
    return f;
}

fixture tp_case() {
    fixture f("tp_ports",
              "tp_src / tp_dst and the tcp_/udp_ aliases, exact and masked, over IPv4 "
              "and IPv6; edges of masked ranges.",
              "priority=30,tcp,tp_dst=80,actions=output:2\n"
              "priority=20,tcp,tp_src=1024/0xfc00,actions=output:3\n"
              "priority=30,udp,udp_dst=53,actions=local\n"
              "priority=40,udp,udp_src=68,udp_dst=67,actions=in_port\n"
              "priority=30,tcp6,tcp_dst=443,actions=mod_dl_src:02:00:00:00:ff:43,output:2\n"
              "priority=20,udp6,tp_src=0x8000/0x8000,"
              "actions=mod_dl_src:02:00:00:00:ff:80,output:3\n"
              "priority=10,ip,nw_proto=17,tp_dst=0x1000/0xf000,"
              "actions=mod_dl_src:02:00:00:00:ff:10,output:2\n");
    f.add("TCP 1000 > 80", 1, tcp4(1000, 80), {out(2)});
    f.add("TCP 1500 > 80: dst 80 (30) over src range (20)", 1, tcp4(1500, 80), {out(2)});
    f.add("TCP 1023 > 81", 1, tcp4(1023, 81), dropped);
    f.add("TCP 1024 > 81: first of 1024/0xfc00", 1, tcp4(1024, 81), {out(3)});
    f.add("TCP 2047 > 81: last of 1024/0xfc00", 1, tcp4(2047, 81), {out(3)});
    f.add("TCP 2048 > 81", 1, tcp4(2048, 81), dropped);
    f.add("UDP 5353 > 53", 1, udp4(5353, 53), {to_local()});
    f.add("UDP 68 > 67", 1, udp4(68, 67), {out(1)});
    f.add("UDP 68 > 67 in VLAN 4 from port 2", 2, with_vlan(udp4(68, 67), 4), {out(2)});
    f.add("UDP 68 > 53", 1, udp4(68, 53), {to_local()});
    f.add("UDP 67 > 68", 1, udp4(67, 68), dropped);
    f.add("TCP 5000 > 53: not UDP", 1, tcp4(5000, 53), dropped);
    const packet t443 = tcp6(5000, 443);
    f.add("TCP6 > 443", 1, t443, {out(2, tagged(t443, 0x43))});
    f.add("TCP > 443 over IPv4: none", 1, tcp4(5000, 443), dropped);
    const packet u6 = udp6(40000, 9);
    f.add("UDP6 40000 > 9: src 0x8000/0x8000", 1, u6, {out(3, tagged(u6, 0x80))});
    f.add("UDP6 32767 > 9", 1, udp6(32767, 9), dropped);
    const packet u1 = udp4(1, 0x1234);
    f.add("UDP 1 > 0x1234: ip,nw_proto=17 with a masked dst", 1, u1, {out(2, tagged(u1, 0x10))});
    f.add("UDP 1 > 0x2000", 1, udp4(1, 0x2000), dropped);
    f.add("ICMP: no ports", 1, icmp4(), dropped);
    return f;
}

fixture tcp_flags_case() {
    fixture f("tcp_flags",
              "tcp_flags: +flag-flag, exact flag sets, value/mask, NS and the "
              "reserved bits, over IPv4 and IPv6.",
              "priority=50,tcp,tcp_flags=+ns,actions=drop\n"
              "priority=30,tcp,tcp_flags=+syn-ack,actions=output:2\n"
              "priority=30,tcp,tcp_flags=syn|ack,actions=output:3\n"
              "priority=20,tcp,tcp_flags=+rst,actions=local\n"
              "priority=10,tcp,tcp_flags=0x001/0x001,actions=in_port\n"
              "priority=30,tcp,tcp_flags=fin|psh|urg,actions=mod_dl_src:02:00:00:00:ff:29,"
              "output:3\n"
              "priority=30,tcp6,tcp_flags=+syn-ack,actions=mod_dl_src:02:00:00:00:ff:56,output:2\n"
              "priority=0,tcp,actions=mod_dl_src:02:00:00:00:ff:00,output:3\n");
    const std::vector<std::tuple<const char*, uint16_t, sends>> flags = {
        {"SYN", 0x002, {out(2)}},
        {"SYN ECE CWR", 0x0c2, {out(2)}},
        {"SYN RST: +syn-ack (30) over +rst (20)", 0x006, {out(2)}},
        {"SYN + reserved bit 0x800", 0x802, {out(2)}},
        {"SYN ACK", 0x012, {out(3)}},
        {"RST", 0x004, {to_local()}},
        {"RST ACK", 0x014, {to_local()}},
        {"FIN ACK", 0x011, {out(1)}},
        {"NS ACK", 0x110, dropped},
        {"NS SYN", 0x102, dropped},
    };
    for (const auto& [what, fl, want] : flags) {
        f.add(what, 1, tcp4(1000, 80, fl), want);
    }
    const packet xmas = tcp4(1000, 80, 0x029);
    f.add("FIN PSH URG exactly", 1, xmas, {out(3, tagged(xmas, 0x29))});
    for (uint16_t fl : {0x052, 0x010, 0x000, 0x018}) {
        const packet p = tcp4(1000, 80, fl);
        char what[64];
        std::snprintf(what, sizeof what, "flags 0x%03x: the catch-all", fl);
        f.add(what, 1, p, {out(3, tagged(p, 0x00))});
    }
    const packet s6 = tcp6(1000, 80, 0x002);
    f.add("TCP6 SYN", 1, s6, {out(2, tagged(s6, 0x56))});
    f.add("TCP6 SYN ACK: no IPv6 rule", 1, tcp6(1000, 80, 0x012), dropped);
    f.add("SYN in VLAN 8 from port 2", 2, with_vlan(tcp4(1000, 80, 0x002), 8), {out(2)});
    packet opts = tcp4(1000, 80, 0x002);
    opts.doff = 10;
    f.add("SYN with 20 bytes of options", 1, opts, {out(2)});
    return f;
}

fixture icmp_case() {
    fixture f("icmp",
              "icmp_type / icmp_code and the icmpv6_ spellings; ICMPv6 after an extension "
              "header; ICMP of the other IP version is not parsed.",
              "priority=20,icmp,icmp_type=8,actions=output:2\n"
              "priority=20,icmp,icmp_type=0,actions=output:3\n"
              "priority=30,icmp,icmp_type=3,icmp_code=4,actions=local\n"
              "priority=20,icmp6,icmpv6_type=128,actions=mod_dl_src:02:00:00:00:ff:80,output:2\n"
              "priority=20,icmp6,icmp_type=135,actions=local\n"
              "priority=25,icmp6,icmp_type=1,icmpv6_code=4,actions=in_port\n"
              "priority=10,icmp,actions=mod_dl_src:02:00:00:00:ff:01,output:3\n"
              "priority=10,icmp6,actions=mod_dl_src:02:00:00:00:ff:3a,output:3\n");
    f.add("echo request", 1, icmp4(8), {out(2)});
    f.add("echo request code 1: the code is not matched", 1, icmp4(8, 1), {out(2)});
    f.add("echo request in VLAN 2", 1, with_vlan(icmp4(8), 2), {out(2)});
    f.add("echo reply", 1, icmp4(0), {out(3)});
    f.add("unreachable, fragmentation needed (3/4)", 1, icmp4(3, 4), {to_local()});
    for (auto [t, c] : {std::pair{3, 3}, {11, 0}}) {
        const packet p = icmp4(static_cast<uint8_t>(t), static_cast<uint8_t>(c));
        f.add("ICMP " + std::to_string(t) + "/" + std::to_string(c), 1, p,
              {out(3, tagged(p, 0x01))});
    }
    const packet e6 = icmp6(128);
    f.add("ICMPv6 echo request", 1, e6, {out(2, tagged(e6, 0x80))});
    f.add("ICMPv6 neighbour solicitation", 1, icmp6(135), {to_local()});
    const packet na = icmp6(136);
    f.add("ICMPv6 neighbour advertisement", 1, na, {out(3, tagged(na, 0x3a))});
    f.add("ICMPv6 unreachable 1/4", 1, icmp6(1, 4), {out(1)});
    f.add("ICMPv6 unreachable 1/4 from port 2", 2, icmp6(1, 4), {out(2)});
    const packet u13 = icmp6(1, 3);
    f.add("ICMPv6 unreachable 1/3", 1, u13, {out(3, tagged(u13, 0x3a))});
    packet mld = icmp6(143);
    mld.exts = {ext_opts(0)};
    mld.ttl = 1;
    f.add("MLDv2 report after hop-by-hop", 1, mld, {out(3, tagged(mld, 0x3a))});
    packet v6in4 = icmp4(128);
    v6in4.proto = 58;
    f.add("ICMPv6 over IPv4: neither", 1, v6in4, dropped);
    f.add("ICMP over IPv6: neither", 1, as_ipv6(ip_raw(1, 16)), dropped);
    return f;
}

fixture arp_case() {
    fixture f("arp",
              "ARP: arp_op (nw_proto), arp_spa / arp_tpa (nw_src / nw_dst) with prefixes; "
              "opcodes above 255, other hardware types and RARP.",
              "priority=40,arp,nw_src=192.168.7.7,nw_dst=192.168.7.8,arp_op=2,actions=drop\n"
              "priority=30,arp,arp_tpa=10.0.0.254,actions=in_port\n"
              "priority=20,arp,arp_spa=10.0.0.0/24,actions=local\n"
              "priority=10,arp,arp_op=1,actions=output:2\n"
              "priority=10,arp,nw_proto=2,actions=output:3\n"
              "priority=5,arp,actions=mod_dl_src:02:00:00:00:ff:08,output:2\n");
    f.add("request 10.9.0.1 > 10.9.0.2", 1, arp(1, "10.9.0.1", "10.9.0.2"), {out(2)});
    f.add("reply 10.9.0.2 > 10.9.0.1", 1, arp(2, "10.9.0.2", "10.9.0.1"), {out(3)});
    f.add("request from 10.0.0.5", 1, arp(1, "10.0.0.5", "10.9.0.2"), {to_local()});
    f.add("gratuitous 10.0.0.1", 1, arp(1, "10.0.0.1", "10.0.0.1"), {to_local()});
    f.add("request for 10.0.0.254", 1, arp(1, "10.0.0.5", "10.0.0.254"), {out(1)});
    f.add("request for 10.0.0.254 from port 3", 3, arp(1, "10.0.0.5", "10.0.0.254"), {out(3)});
    f.add("reply 192.168.7.7 > 192.168.7.8", 1, arp(2, "192.168.7.7", "192.168.7.8"), dropped);
    f.add("request 192.168.7.7 > 192.168.7.8", 1, arp(1, "192.168.7.7", "192.168.7.8"), {out(2)});
    f.add("request in VLAN 12", 1, with_vlan(arp(1, "10.9.0.1", "10.9.0.2"), 12), {out(2)});
    const packet op3 = arp(3, "10.9.0.1", "10.9.0.2");
    f.add("opcode 3", 1, op3, {out(2, tagged(op3, 0x08))});
    const packet op257 = arp(0x0101, "10.9.0.1", "10.9.0.2");
    f.add("opcode 0x0101 (does not fit arp_op: 0)", 1, op257, {out(2, tagged(op257, 0x08))});
    bytes hw6 = build(arp(1, "10.0.0.5", "10.0.0.254"));
    put16(hw6, 14, 6); // hardware type IEEE 802: not parsed, only dl_type matches
    bytes hw6_want = hw6;
    const mac t8 = tag_mac(0x08);
    std::copy(t8.begin(), t8.end(), hw6_want.begin() + 6);
    f.add("hardware type 6: addresses not parsed", 1, hw6, {out(2, hw6_want)});
    packet rarp = arp(3, "0.0.0.0", "0.0.0.0");
    bytes r = build(rarp);
    put16(r, 12, 0x8035);
    f.add("RARP (0x8035): not arp", 1, r, dropped);
    return f;
}

fixture priority_case() {
    fixture f("priorities",
              "Priorities 0 to 65535; overlapping rules of equal priority in "
              "different subtables: the lowest rule id (earlier in the file) wins.",
              "priority=0,actions=mod_dl_src:02:00:00:00:ff:00,output:3\n"
              "priority=65535,ip,nw_src=10.255.255.255,actions=drop\n"
              "priority=100,tcp,actions=mod_dl_src:02:00:00:00:ff:01,output:2\n"
              "priority=200,tcp,tp_dst=80,actions=mod_dl_src:02:00:00:00:ff:02,output:2\n"
              "priority=150,ip,nw_dst=10.0.0.2,actions=mod_dl_src:02:00:00:00:ff:03,output:2\n"
              "priority=150,udp,tp_dst=53,actions=mod_dl_src:02:00:00:00:ff:04,output:2\n"
              "priority=150,udp,tp_src=53,actions=mod_dl_src:02:00:00:00:ff:05,output:2\n"
              "priority=300,ip,nw_dst=10.0.0.99,actions=mod_dl_src:02:00:00:00:ff:06,output:2\n"
              "priority=300,ip,nw_src=10.0.0.99,actions=mod_dl_src:02:00:00:00:ff:07,output:2\n");
    auto p = [](packet x, const char* src, const char* dst) {
        x.nw_src = src;
        x.nw_dst = dst;
        return x;
    };
    const std::vector<std::tuple<const char*, packet, uint8_t>> cases = {
        {"TCP > 10.0.0.2:80: 200 over 150 and 100", p(tcp4(1000, 80), "10.0.0.1", "10.0.0.2"), 2},
        {"TCP > 10.0.0.2:81: 150 over 100", p(tcp4(1000, 81), "10.0.0.1", "10.0.0.2"), 3},
        {"TCP > 10.0.0.3:81: 100", p(tcp4(1000, 81), "10.0.0.1", "10.0.0.3"), 1},
        {"UDP > 10.0.0.2:53: tie at 150, the nw_dst rule is older",
         p(udp4(1000, 53), "10.0.0.1", "10.0.0.2"), 3},
        {"UDP > 10.0.0.3:53", p(udp4(1000, 53), "10.0.0.1", "10.0.0.3"), 4},
        {"UDP 53 > 10.0.0.3:53: tie at 150, tp_dst is older than tp_src",
         p(udp4(53, 53), "10.0.0.1", "10.0.0.3"), 4},
        {"UDP 53 > 10.0.0.3:99", p(udp4(53, 99), "10.0.0.1", "10.0.0.3"), 5},
        {"10.0.0.99 > 10.0.0.99: tie at 300, nw_dst is older",
         p(udp4(53, 53), "10.0.0.99", "10.0.0.99"), 6},
        {"10.0.0.99 > 10.0.0.5", p(tcp4(1000, 80), "10.0.0.99", "10.0.0.5"), 7},
        {"ARP: priority 0", arp(), 0},
        {"IPv6: priority 0", udp6(), 0},
    };
    for (const auto& [what, x, tag] : cases) {
        f.add(what, 1, x, {out(2 + (tag == 0), tagged(x, tag))});
    }
    f.add("10.255.255.255 > 10.0.0.2:80: priority 65535", 1,
          p(tcp4(1000, 80), "10.255.255.255", "10.0.0.2"), dropped);
    f.add("from port 2: the same rules", 2, p(tcp4(1000, 80), "10.0.0.1", "10.0.0.2"),
          {out(2, tagged(p(tcp4(1000, 80), "10.0.0.1", "10.0.0.2"), 2))});
    return f;
}

packet frag4(packet p, uint16_t frag, bool later) {
    p.frag = frag;
    if (later) {
        p.l4_header = false;
        p.payload.assign(24, 0);
        // Bytes that would read as UDP port 53 > 53 if the fragment were parsed as a header.
        put16(p.payload, 0, 53);
        put16(p.payload, 2, 53);
    } else if (frag & 0x2000) {
        p.hidden = 48;
    }
    return p;
}

fixture ipv4_frag_case() {
    fixture f("ipv4_frag",
              "IPv4 fragments and nw_frag (no, yes, first, later, not_later): a "
              "later fragment has no ports.",
              "priority=60,ip,nw_frag=not_later,nw_proto=47,actions=drop\n"
              "priority=50,udp,tp_dst=53,actions=in_port\n"
              "priority=40,ip,nw_frag=later,actions=output:3\n"
              "priority=30,ip,nw_frag=first,nw_proto=6,actions=output:2\n"
              "priority=20,ip,ip_frag=no,actions=local\n"
              "priority=10,ip,nw_frag=yes,actions=mod_dl_src:02:00:00:00:ff:0f,output:2\n");
    f.add("UDP > 53, not a fragment", 1, udp4(1000, 53), {out(1)});
    f.add("UDP > 53, first fragment (MF)", 1, frag4(udp4(1000, 53), 0x2000, false), {out(1)});
    f.add("UDP, middle fragment (MF, offset 185)", 1, frag4(udp4(), 0x2000 | 185, true), {out(3)});
    f.add("UDP, last fragment (offset 185): looks like port 53, has no ports", 1,
          frag4(udp4(), 185, true), {out(3)});
    f.add("UDP, last fragment from port 2", 2, frag4(udp4(), 185, true), {out(3)});
    const packet u99 = frag4(udp4(1000, 99), 0x2000, false);
    f.add("UDP > 99, first fragment", 1, u99, {out(2, tagged(u99, 0x0f))});
    f.add("TCP first fragment", 1, frag4(tcp4(), 0x2000, false), {out(2)});
    f.add("TCP with DF: not a fragment", 1, frag4(tcp4(), 0x4000, false), {to_local()});
    f.add("TCP not fragmented", 1, tcp4(), {to_local()});
    const packet i1 = frag4(icmp4(), 0x2000, false);
    f.add("ICMP first fragment", 1, i1, {out(2, tagged(i1, 0x0f))});
    f.add("GRE not fragmented", 1, ip_raw(47), dropped);
    f.add("GRE first fragment", 1, frag4(ip_raw(47), 0x2000, false), dropped);
    f.add("GRE later fragment", 1, frag4(ip_raw(47), 3, true), {out(3)});
    return f;
}

fixture ipv6_ext_case() {
    fixture f("ipv6_ext",
              "IPv6 extension headers (hop-by-hop, routing, destination options, AH, "
              "fragment; 8 is the most swd parses) and IPv6 fragments.",
              "priority=50,udp6,tp_dst=53,actions=in_port\n"
              "priority=40,ipv6,nw_frag=later,actions=output:3\n"
              "priority=30,ipv6,nw_frag=first,actions=output:2\n"
              "priority=20,tcp6,tp_dst=80,actions=local\n"
              "priority=10,ipv6,nw_frag=no,actions=mod_dl_src:02:00:00:00:ff:10,output:2\n"
              "priority=5,ipv6,actions=mod_dl_src:02:00:00:00:ff:05,output:3\n");
    auto u = [](std::vector<ip6_ext> exts, uint16_t dport = 53) {
        packet p = udp6(1000, dport);
        p.exts = std::move(exts);
        return p;
    };
    f.add("UDP6 > 53", 1, u({}), {out(1)});
    f.add("hop-by-hop + UDP6 > 53", 1, u({ext_opts(0)}), {out(1)});
    f.add("hop-by-hop (16 bytes) + UDP6 > 53", 1, u({ext_opts(0, 1)}), {out(1)});
    f.add("hop-by-hop + destination options + routing + UDP6 > 53", 1,
          u({ext_opts(0), ext_opts(60), ext_opts(43)}), {out(1)});
    f.add("AH + UDP6 > 53", 1, u({ext_ah()}), {out(1)});
    f.add("AH (12 bytes: units 1) + UDP6 > 53", 1, u({ext_ah(1)}), {out(1)});
    packet first = u({ext_frag(0, true)});
    first.hidden = 64;
    f.add("first fragment, UDP6 > 53", 1, first, {out(1)});
    packet later = u({ext_frag(9, true)});
    later.l4_header = false;
    later.payload = {0x03, 0xe8, 0x00, 0x35, 0, 16, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8};
    f.add("middle fragment: bytes like UDP > 53, no ports", 1, later, {out(3)});
    later.exts = {ext_opts(0), ext_frag(9, false)};
    f.add("hop-by-hop + last fragment", 2, later, {out(3)});
    packet atomic = u({ext_frag(0, false)}, 99);
    f.add("atomic fragment (offset 0, no MF): first", 1, atomic, {out(2)});
    packet t = tcp6(1000, 80);
    t.exts = {ext_opts(0)};
    f.add("hop-by-hop + TCP6 > 80", 1, t, {to_local()});
    t.exts = {ext_frag(0, true)};
    t.hidden = 40;
    f.add("TCP6 > 80 first fragment: first (30) over tcp6 (20)", 1, t, {out(2)});
    const packet t81 = tcp6(1000, 81);
    f.add("TCP6 > 81", 1, t81, {out(2, tagged(t81, 0x10))});
    std::vector<ip6_ext> eight;
    for (int i = 0; i < 8; i++) {
        eight.push_back(ext_opts(i % 2 ? 60 : 0));
    }
    f.add("8 extension headers + UDP6 > 53", 1, u(eight), {out(1)});
    std::vector<ip6_ext> nine = eight;
    nine.push_back(ext_opts(60));
    const packet p9 = u(nine);
    f.add("9 extension headers: more than swd parses (malformed, no nw_proto)", 1, p9,
          {out(2, tagged(p9, 0x10))});
    const packet nn = as_ipv6(ip_raw(59));
    f.add("no next header", 1, nn, {out(2, tagged(nn, 0x10))});
    return f;
}

} // namespace

std::vector<fixture> match_fixtures() {
    return {in_port_case(),   dl_addr_case(),   dl_type_case(),  vlan_case(),   shorthand_case(),
            nw_addr_case(),   ipv6_addr_case(), nw_proto_case(), nw_tos_case(), nw_ttl_case(),
            tp_case(),        tcp_flags_case(), icmp_case(),     arp_case(),    priority_case(),
            ipv4_frag_case(), ipv6_ext_case()};
}

} // namespace swd::fixtures
