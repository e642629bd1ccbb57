// Fixtures for malformed frames: every truncation of four frames (at and inside each header,
// with the IP length left as it was and with it made to agree), the frames of 0 to 13 bytes,
// and bad lengths and header fields. Packets from port 1 meet rules that show how far the parse
// got (datapath/extract.h: a header that is cut short or inconsistent ends the parse; the key
// keeps the fields of the headers before it); packets from port 2 meet rules that rewrite, which
// must skip the headers the packet does not have and leave the frame alone.
#include <tuple>

#include "make_fixtures.h"

namespace swd::fixtures {

namespace {

// Port 1 rules tag the frame with the rule (02:00:00:00:ff:NN) and send it to port 2; port 2
// rules rewrite and send to port 3; a frame shorter than an Ethernet header only matches the
// catch-all (output:3).
const char* const malformed_flows =
    "priority=100,in_port=2,tcp,actions=mod_nw_src:192.0.2.1,mod_tp_dst:8080,output:3\n"
    "priority=90,in_port=2,ip,actions=mod_nw_dst:192.0.2.2,output:3\n"
    "priority=90,in_port=2,udp6,actions=mod_tp_src:99,output:3\n"
    "priority=80,in_port=2,actions=mod_dl_dst:02:00:00:00:00:99,output:3\n"
    "priority=60,tcp,tp_dst=80,actions=mod_dl_src:02:00:00:00:ff:60,output:2\n"
    "priority=60,udp,tp_dst=53,actions=mod_dl_src:02:00:00:00:ff:62,output:2\n"
    "priority=60,udp6,tp_dst=53,actions=mod_dl_src:02:00:00:00:ff:63,output:2\n"
    "priority=60,icmp,icmp_type=8,actions=mod_dl_src:02:00:00:00:ff:61,output:2\n"
    "priority=50,tcp,actions=mod_dl_src:02:00:00:00:ff:50,output:2\n"
    "priority=50,udp,actions=mod_dl_src:02:00:00:00:ff:52,output:2\n"
    "priority=50,udp6,actions=mod_dl_src:02:00:00:00:ff:53,output:2\n"
    "priority=50,icmp,actions=mod_dl_src:02:00:00:00:ff:51,output:2\n"
    "priority=45,arp,arp_op=1,actions=mod_dl_src:02:00:00:00:ff:45,output:2\n"
    "priority=40,ip,actions=mod_dl_src:02:00:00:00:ff:40,output:2\n"
    "priority=40,ipv6,actions=mod_dl_src:02:00:00:00:ff:46,output:2\n"
    "priority=35,arp,actions=mod_dl_src:02:00:00:00:ff:35,output:2\n"
    "priority=30,dl_vlan=10,actions=mod_dl_src:02:00:00:00:ff:30,output:2\n"
    "priority=20,dl_dst=02:00:00:00:00:02,actions=mod_dl_src:02:00:00:00:ff:20,output:2\n"
    "priority=10,actions=output:3\n";

const char* const malformed_about =
    "Port 1: rules tag the frame with the rule that matched (mod_dl_src:02:00:00:00:ff:NN, "
    "output:2): 60 tcp/udp/udp6/icmp with a port or type (the L4 header was parsed), 50 the "
    "protocol only (the L4 header is cut or bad), 45/35 ARP with/without opcode, 40/46 ip/ipv6 "
    "(the IP header is cut or bad), 30 dl_vlan=10, 20 dl_dst (the VLAN tag is cut); shorter than "
    "14 bytes: the catch-all (output:3).\n"
    "Port 2: rules that rewrite (output:3); a rewrite of a header the packet does not have is "
    "skipped.";

// A frame's bytes with a new source or destination MAC (the frame may be cut short).
bytes with_mac(bytes f, const mac& m, size_t at) {
    std::copy(m.begin(), m.end(), f.begin() + static_cast<std::ptrdiff_t>(at));
    return f;
}

bytes tag(const bytes& f, uint8_t n) {
    return with_mac(f, tag_mac(n), 6);
}

bytes new_dst(const bytes& f) {
    return with_mac(f, parse_mac("02:00:00:00:00:99"), 0);
}

// A cut frame whose IPv4 header is complete: a new address, the header checksum from scratch.
bytes set_ipv4_addr(bytes f, size_t l3, size_t field, const char* addr) {
    const bytes a = ip4(addr);
    std::copy(a.begin(), a.end(), f.begin() + static_cast<std::ptrdiff_t>(l3 + field));
    fix_ipv4_checksum(f, l3);
    return f;
}

struct layer {
    size_t end;
    const char* name;
};

// "at the end of the IPv4 header" / "inside the TCP header" for a frame cut to n bytes.
std::string cut_where(size_t n, const std::vector<layer>& layers) {
    size_t start = 0;
    for (const layer& l : layers) {
        if (n == start) {
            return std::string("before the ") + l.name;
        }
        if (n < l.end) {
            return std::string("inside the ") + l.name;
        }
        start = l.end;
    }
    return "complete";
}

std::string cut_what(const char* frame, size_t n, const std::vector<layer>& layers) {
    return std::string(frame) + " cut to " + std::to_string(n) + " bytes, " + cut_where(n, layers);
}

fixture truncated_case() {
    fixture f("malformed_truncated",
              std::string("Every truncation of VLAN/IPv4/TCP, IPv6/hop-by-hop/UDP, IPv4/ICMP and "
                          "ARP frames: cut with the IP length unchanged (it then claims more than "
                          "the frame has), and cut inside the L4 header with the IP length made "
                          "to agree; frames of 0 to 13 bytes.\n") +
                  malformed_about,
              malformed_flows);

    // Frames of 0 to 13 bytes: no Ethernet header, only the catch-all matches; mod_dl_dst
    // needs 14 bytes and is skipped.
    packet base = with_vlan(tcp4(1000, 80), 10);
    base.payload.assign(6, 0x66);
    base.min_frame = 0;
    const bytes a = build(base);
    for (size_t n = 0; n < 14; n++) {
        const bytes r(a.begin(), a.begin() + static_cast<std::ptrdiff_t>(n));
        f.add(std::to_string(n) + "-byte frame", 1, r, {out(3)});
        f.add(std::to_string(n) + "-byte frame", 2, r, {out(3)});
    }

    // VLAN 10 + IPv4 + TCP 1000 > 80 + 6 bytes: 18 + 20 + 20 + 6 = 64 bytes.
    const std::vector<layer> la = {{14, "Ethernet header"},
                                   {18, "VLAN tag"},
                                   {38, "IPv4 header"},
                                   {58, "TCP header"},
                                   {64, "TCP payload"}};
    packet a_rw = base;
    a_rw.nw_src = "192.0.2.1";
    a_rw.dport = 8080;
    for (size_t n = 14; n <= a.size(); n++) {
        const bytes r(a.begin(), a.begin() + static_cast<std::ptrdiff_t>(n));
        const std::string what = cut_what("VLAN/IPv4/TCP", n, la);
        if (n < 18) {
            f.add(what, 1, r, {out(2, tag(r, 0x20))});
            f.add(what, 2, r, {out(3, new_dst(r))});
        } else if (n < a.size()) {
            f.add(what, 1, r, {out(2, tag(r, 0x40))});
            f.add(what, 2, r, {out(3)}); // ip without IPv4 fields: mod_nw_dst skipped
        } else {
            f.add(what, 1, r, {out(2, tag(r, 0x60))});
            f.add(what, 2, r, {out(3, build(a_rw))});
        }
    }
    // The IPv4 total length made to agree: the TCP header cut (TCP without ports), then the
    // payload cut (a shorter, valid segment).
    for (size_t k = 0; k <= 26; k++) {
        const std::string what = "VLAN/IPv4/TCP, IPv4 total length " + std::to_string(20 + k) +
                                 (k < 20 ? ": the TCP header cut to " + std::to_string(k) + " bytes"
                                         : ": " + std::to_string(k - 20) + " bytes of payload");
        if (k < 20) {
            bytes r(a.begin(), a.begin() + static_cast<std::ptrdiff_t>(38 + k));
            put16(r, 18 + 2, static_cast<uint16_t>(20 + k));
            fix_ipv4_checksum(r, 18);
            f.add(what, 1, r, {out(2, tag(r, 0x50))});
            // mod_nw_src applies (the IPv4 header is whole; no TCP checksum to update),
            // mod_tp_dst is skipped.
            f.add(what, 2, r, {out(3, set_ipv4_addr(r, 18, 12, "192.0.2.1"))});
        } else {
            packet p = base;
            p.payload.resize(k - 20);
            packet q = a_rw;
            q.payload.resize(k - 20);
            f.add(what, 1, p, {out(2, tagged(p, 0x60))});
            f.add(what, 2, p, {out(3, build(q))});
        }
    }

    // IPv6 + hop-by-hop (8) + UDP 1000 > 53 + 8 bytes: 14 + 40 + 8 + 8 + 8 = 78 bytes.
    packet b = udp6(1000, 53);
    b.exts = {ext_opts(0)};
    b.min_frame = 0;
    const bytes bf = build(b);
    packet b_rw = b;
    b_rw.sport = 99;
    const std::vector<layer> lb = {{14, "Ethernet header"},
                                   {54, "IPv6 header"},
                                   {62, "hop-by-hop header"},
                                   {70, "UDP header"},
                                   {78, "UDP payload"}};
    for (size_t n = 14; n <= bf.size(); n++) {
        const bytes r(bf.begin(), bf.begin() + static_cast<std::ptrdiff_t>(n));
        const std::string what = cut_what("IPv6/hop-by-hop/UDP", n, lb);
        if (n < bf.size()) {
            f.add(what, 1, r, {out(2, tag(r, 0x46))});
            f.add(what, 2, r, {out(3, new_dst(r))});
        } else {
            f.add(what, 1, r, {out(2, tag(r, 0x63))});
            f.add(what, 2, r, {out(3, build(b_rw))});
        }
    }
    for (size_t j = 0; j <= 24; j++) {
        std::string what = "IPv6/hop-by-hop/UDP, payload length " + std::to_string(j);
        if (j < 16) {
            bytes r(bf.begin(), bf.begin() + static_cast<std::ptrdiff_t>(54 + j));
            put16(r, 18, static_cast<uint16_t>(j));
            if (j < 8) {
                what += ": the hop-by-hop header cut (no protocol)";
                f.add(what, 1, r, {out(2, tag(r, 0x46))});
                f.add(what, 2, r, {out(3, new_dst(r))});
            } else {
                what += ": the UDP header cut (UDP without ports)";
                f.add(what, 1, r, {out(2, tag(r, 0x53))});
                f.add(what, 2, r, {out(3)}); // mod_tp_src skipped
            }
        } else {
            packet p = b;
            p.payload.resize(j - 16);
            packet q = b_rw;
            q.payload.resize(j - 16);
            f.add(what, 1, p, {out(2, tagged(p, 0x63))});
            f.add(what, 2, p, {out(3, build(q))});
        }
    }

    // IPv4 + ICMP echo + 8 bytes: 14 + 20 + 8 + 8 = 50 bytes.
    packet c = icmp4(8);
    c.min_frame = 0;
    const bytes cf = build(c);
    packet c_rw = c;
    c_rw.nw_dst = "192.0.2.2";
    const std::vector<layer> lc = {
        {14, "Ethernet header"}, {34, "IPv4 header"}, {42, "ICMP header"}, {50, "ICMP payload"}};
    for (size_t n = 14; n <= cf.size(); n++) {
        const bytes r(cf.begin(), cf.begin() + static_cast<std::ptrdiff_t>(n));
        const std::string what = cut_what("IPv4/ICMP", n, lc);
        if (n < cf.size()) {
            f.add(what, 1, r, {out(2, tag(r, 0x40))});
            f.add(what, 2, r, {out(3)});
        } else {
            f.add(what, 1, r, {out(2, tag(r, 0x61))});
            f.add(what, 2, r, {out(3, build(c_rw))});
        }
    }
    for (size_t k = 0; k < 8; k++) {
        bytes r(cf.begin(), cf.begin() + static_cast<std::ptrdiff_t>(34 + k));
        put16(r, 14 + 2, static_cast<uint16_t>(20 + k));
        fix_ipv4_checksum(r, 14);
        const std::string what = "IPv4/ICMP, IPv4 total length " + std::to_string(20 + k) +
                                 ": the ICMP header cut to " + std::to_string(k) + " bytes";
        if (k < 4) {
            f.add(what, 1, r, {out(2, tag(r, 0x51))});
        } else {
            f.known(what, 1, r, {out(2, tag(r, 0x51))}, {out(2, tag(r, 0x61))},
                    "an ICMP header is 8 bytes: Open vSwitch parses type and code only when "
                    "all 8 are there (miniflow_extract, ICMP_HEADER_LEN; the kernel's "
                    "icmphdr_ok), so icmp_type=8 does not match; swd reads type and code "
                    "from the first 4 bytes");
        }
        f.add(what, 2, r, {out(3, set_ipv4_addr(r, 14, 16, "192.0.2.2"))});
    }

    // ARP request: 14 + 28 = 42 bytes.
    packet d = arp(1, "10.0.0.1", "10.0.0.2");
    d.min_frame = 0;
    const bytes df = build(d);
    const std::vector<layer> ld = {{14, "Ethernet header"}, {42, "ARP message"}};
    for (size_t n = 14; n <= df.size(); n++) {
        const bytes r(df.begin(), df.begin() + static_cast<std::ptrdiff_t>(n));
        const std::string what = cut_what("ARP", n, ld);
        f.add(what, 1, r, {out(2, tag(r, n < df.size() ? 0x35 : 0x45))});
        f.add(what, 2, r, {out(3, new_dst(r))});
    }
    return f;
}

// Recomputes the TCP or UDP checksum of an IPv4 frame from scratch (pseudo-header from the IPv4
// header, segment to the IPv4 total length).
void fix_l4_checksum4(bytes& f, size_t l3) {
    const size_t ihl = (f[l3] & 0x0f) * 4u, tot = get16(f, l3 + 2);
    const size_t l4 = l3 + ihl, csum = l4 + (f[l3 + 9] == 6 ? 16 : 6);
    put16(f, csum, 0);
    uint32_t acc = sum16(f.data() + l3 + 12, 8) + f[l3 + 9] + static_cast<uint32_t>(tot - ihl);
    put16(f, csum, checksum(sum16(f.data() + l4, tot - ihl, acc)));
}

fixture lengths_case() {
    fixture f("malformed_lengths",
              std::string("Bad lengths and header fields: IPv4 total length too big / too small / "
                          "shorter than the frame, IHL < 5 and too big, wrong IP versions, IPv6 "
                          "payload length too big and 0, an extension header longer than the "
                          "payload, TCP data offset < 5 and past the end, UDP length fields (not "
                          "checked), bad ARP, two VLAN tags.\n") +
                  malformed_about,
              malformed_flows);
    packet t = tcp4(1000, 80);
    t.min_frame = 0;
    const bytes tf = build(t); // 14 + 20 + 20 + 8 = 62 bytes, total length 48

    auto ipv4_bad = [&f](const std::string& what, bytes r) {
        fix_ipv4_checksum(r, 14);
        f.add(what + ": ip only", 1, r, {out(2, tag(r, 0x40))});
        f.add(what + ": mod_nw_dst skipped", 2, r, {out(3)});
    };
    auto with16 = [](bytes r, size_t at, uint16_t v) {
        put16(r, at, v);
        return r;
    };
    ipv4_bad("IPv4 total length 49, one more than the frame holds", with16(tf, 16, 49));
    ipv4_bad("IPv4 total length 65535", with16(tf, 16, 65535));
    ipv4_bad("IPv4 total length 19, less than the header", with16(tf, 16, 19));
    ipv4_bad("IPv4 total length 0", with16(tf, 16, 0));
    for (uint8_t ihl = 0; ihl < 5; ihl++) {
        bytes r = tf;
        r[14] = static_cast<uint8_t>(0x40 | ihl);
        ipv4_bad("IPv4 IHL " + std::to_string(ihl), r);
    }
    {
        bytes r = tf;
        r[14] = 0x4f;
        ipv4_bad("IPv4 IHL 15 (60 bytes) with total length 48", r);
        r = tf;
        r[14] = 0x65;
        ipv4_bad("version 6 under type 0x0800", r);
    }
    {
        // Total length 20: no TCP header at all (the rest of the frame is padding).
        bytes r = with16(tf, 16, 20);
        fix_ipv4_checksum(r, 14);
        f.add("IPv4 total length 20, protocol TCP: TCP without ports", 1, r,
              {out(2, tag(r, 0x50))});
        f.add("IPv4 total length 20, protocol TCP: mod_nw_src only", 2, r,
              {out(3, set_ipv4_addr(r, 14, 12, "192.0.2.1"))});
    }
    {
        packet p = tcp4(1000, 80);
        p.min_frame = 100; // 38 bytes of Ethernet padding after the IPv4 packet
        packet q = p;
        q.nw_src = "192.0.2.1";
        q.dport = 8080;
        f.add("TCP with 38 bytes of Ethernet padding: valid", 1, p, {out(2, tagged(p, 0x60))});
        f.add("TCP with 38 bytes of Ethernet padding: both rewrites, padding kept", 2, p,
              {out(3, build(q))});
    }
    {
        packet p = tcp4(1000, 80);
        p.ip_options = 4;
        p.min_frame = 0;
        bytes r = build(p);
        put16(r, 16, 24);
        r.resize(14 + 24);
        fix_ipv4_checksum(r, 14);
        f.add("IPv4 with options and total length 24: TCP without ports", 1, r,
              {out(2, tag(r, 0x50))});
    }

    // TCP data offset < 5 or past the end: TCP without ports. A mod_nw_src still applies; the
    // TCP checksum is the known difference.
    for (uint8_t doff : {0, 1, 2, 3, 4, 15}) {
        bytes r = tf;
        r[14 + 20 + 12] = static_cast<uint8_t>(doff << 4);
        fix_l4_checksum4(r, 14);
        const std::string what = "TCP data offset " + std::to_string(doff) +
                                 (doff < 5 ? " (less than 5)" : " (past the segment's end)");
        f.add(what + ": TCP without ports", 1, r, {out(2, tag(r, 0x50))});
        if (doff == 0 || doff == 4 || doff == 15) {
            bytes ovs = set_ipv4_addr(r, 14, 12, "192.0.2.1");
            bytes today = ovs;
            fix_l4_checksum4(ovs, 14);
            f.known(what + ": mod_nw_src, mod_tp_dst skipped", 2, r, {out(3, ovs)}, {out(3, today)},
                    "the 20-byte TCP header is there but its data offset is bad, so swd has no "
                    "L4 header and leaves the TCP checksum alone when it rewrites the address "
                    "(the checksum no longer matches the pseudo-header); Open vSwitch updates "
                    "it whenever 20 bytes of TCP are there (packet_set_ipv4_addr in lib/packets.c, "
                    "update_ip_l4_checksum in the kernel datapath; the expected frame is the "
                    "kernel datapath's, which like swd does not parse the ports and so skips "
                    "mod_tp_dst). Minor: the segment is invalid anyway");
        }
    }

    // UDP length fields are not checked (as in Open vSwitch): the header is parsed.
    packet u = udp4(1000, 53);
    u.min_frame = 0;
    for (uint16_t len : {0, 7, 65535}) {
        bytes r = build(u);
        put16(r, 14 + 20 + 4, len);
        fix_l4_checksum4(r, 14);
        f.add("UDP length field " + std::to_string(len) + ": parsed anyway", 1, r,
              {out(2, tag(r, 0x62))});
    }

    // IPv6.
    packet v = udp6(1000, 53);
    v.min_frame = 0;
    const bytes vf = build(v); // 14 + 40 + 8 + 8 = 70 bytes, payload length 16
    auto ipv6_bad = [&f](const std::string& what, const bytes& r) {
        f.add(what + ": ipv6 only", 1, r, {out(2, tag(r, 0x46))});
        f.add(what + ": mod_dl_dst only", 2, r, {out(3, new_dst(r))});
    };
    ipv6_bad("IPv6 payload length 17, one more than the frame holds", with16(vf, 18, 17));
    ipv6_bad("IPv6 payload length 65535", with16(vf, 18, 65535));
    {
        bytes r = vf;
        r[14] = 0x40;
        ipv6_bad("version 4 under type 0x86dd", r);
        packet h = v;
        h.exts = {ext_opts(0, 255)}; // claims 2048 bytes
        h.exts[0].body.resize(8);
        ipv6_bad("hop-by-hop header claiming 2048 bytes", build(h));
        packet a = v;
        a.exts = {ext_ah(200)}; // claims 808 bytes
        a.exts[0].body.resize(12);
        ipv6_bad("AH claiming 808 bytes", build(a));
    }
    {
        const bytes r = with16(vf, 18, 0);
        f.add("IPv6 payload length 0, next header UDP: UDP without ports", 1, r,
              {out(2, tag(r, 0x53))});
        f.add("IPv6 payload length 0, next header UDP: mod_tp_src skipped", 2, r, {out(3)});
    }

    // ARP that swd does not parse (not Ethernet/IPv4), and two VLAN tags.
    packet ap = arp(1, "10.0.0.1", "10.0.0.2");
    const bytes af = build(ap);
    for (const auto& [what, at, val] : std::vector<std::tuple<const char*, size_t, uint16_t>>{
             {"ARP hardware type 6", 14, 6},
             {"ARP protocol type 0x86dd", 16, 0x86dd},
             {"ARP lengths 6/16", 18, 0x0610}}) {
        const bytes r = with16(af, at, val);
        f.add(std::string(what) + ": arp without fields", 1, r, {out(2, tag(r, 0x35))});
        f.add(std::string(what) + ": mod_dl_dst", 2, r, {out(3, new_dst(r))});
    }
    const packet qinq = with_vlan(with_vlan(tcp4(), 10, 0x88a8), 20);
    f.add("802.1ad VLAN 10 + 802.1Q VLAN 20 + IPv4: the outer tag, type 0x8100", 1, qinq,
          {out(2, tagged(qinq, 0x30))});
    f.add("802.1ad VLAN 10 + 802.1Q VLAN 20 + IPv4 from port 2", 2, qinq,
          {out(3, new_dst(build(qinq)))});
    return f;
}

} // namespace

std::vector<fixture> malformed_fixtures() {
    return {truncated_case(), lengths_case()};
}

} // namespace swd::fixtures
