// Match fields of the flow language: names, values, duplicates, conflicts and prerequisites.
#include <algorithm>
#include <arpa/inet.h>
#include <cstddef>
#include <fmt/format.h>
#include <span>
#include <unordered_map>

#include "parse_line.h"
#include "values.h"

namespace swd::flows::detail {

namespace {

enum field : int {
    f_in_port,
    f_dl_src,
    f_dl_dst,
    f_dl_type,
    f_dl_vlan,
    f_vlan_vid,
    f_vlan_pcp,
    f_vlan_tci,
    f_nw_src,
    f_nw_dst,
    f_arp_spa,
    f_arp_tpa,
    f_ipv6_src,
    f_ipv6_dst,
    f_nw_proto,
    f_arp_op,
    f_nw_tos,
    f_ip_dscp,
    f_nw_ecn,
    f_nw_ttl,
    f_nw_frag,
    f_tp_src,
    f_tp_dst,
    f_tcp_src,
    f_tcp_dst,
    f_udp_src,
    f_udp_dst,
    f_tcp_flags,
    f_icmp_type,
    f_icmp_code,
    f_ct_state,
    f_shorthand,
};

enum class prereq { none, ip_or_arp, arp, ipv6, l3, ip_any, l4, tcp, udp, icmp };

struct field_def {
    std::string_view name;
    field id;
    prereq pre;
};

constexpr field_def fields[] = {
    {"in_port", f_in_port, prereq::none},       {"dl_src", f_dl_src, prereq::none},
    {"eth_src", f_dl_src, prereq::none},        {"dl_dst", f_dl_dst, prereq::none},
    {"eth_dst", f_dl_dst, prereq::none},        {"dl_type", f_dl_type, prereq::none},
    {"eth_type", f_dl_type, prereq::none},      {"dl_vlan", f_dl_vlan, prereq::none},
    {"vlan_vid", f_vlan_vid, prereq::none},     {"dl_vlan_pcp", f_vlan_pcp, prereq::none},
    {"vlan_pcp", f_vlan_pcp, prereq::none},     {"vlan_tci", f_vlan_tci, prereq::none},
    {"nw_src", f_nw_src, prereq::ip_or_arp},    {"ip_src", f_nw_src, prereq::ip_or_arp},
    {"nw_dst", f_nw_dst, prereq::ip_or_arp},    {"ip_dst", f_nw_dst, prereq::ip_or_arp},
    {"arp_spa", f_arp_spa, prereq::arp},        {"arp_tpa", f_arp_tpa, prereq::arp},
    {"ipv6_src", f_ipv6_src, prereq::ipv6},     {"ipv6_dst", f_ipv6_dst, prereq::ipv6},
    {"nw_proto", f_nw_proto, prereq::l3},       {"ip_proto", f_nw_proto, prereq::l3},
    {"arp_op", f_arp_op, prereq::arp},          {"nw_tos", f_nw_tos, prereq::ip_any},
    {"ip_dscp", f_ip_dscp, prereq::ip_any},     {"nw_ecn", f_nw_ecn, prereq::ip_any},
    {"ip_ecn", f_nw_ecn, prereq::ip_any},       {"nw_ttl", f_nw_ttl, prereq::ip_any},
    {"nw_frag", f_nw_frag, prereq::ip_any},     {"ip_frag", f_nw_frag, prereq::ip_any},
    {"tp_src", f_tp_src, prereq::l4},           {"tp_dst", f_tp_dst, prereq::l4},
    {"tcp_src", f_tcp_src, prereq::tcp},        {"tcp_dst", f_tcp_dst, prereq::tcp},
    {"udp_src", f_udp_src, prereq::udp},        {"udp_dst", f_udp_dst, prereq::udp},
    {"tcp_flags", f_tcp_flags, prereq::tcp},    {"icmp_type", f_icmp_type, prereq::icmp},
    {"icmpv6_type", f_icmp_type, prereq::icmp}, {"icmp_code", f_icmp_code, prereq::icmp},
    {"icmpv6_code", f_icmp_code, prereq::icmp}, {"ct_state", f_ct_state, prereq::none},
};

// Field names and shorthands in one hash map: the parser looks a name up once per token.
struct keyword {
    const struct field_def* field = nullptr;
    const struct shorthand_def* shorthand = nullptr;
};
const keyword* find_keyword(std::string_view name);

struct shorthand_def {
    std::string_view name;
    uint16_t dl_type;
    int nw_proto; // -1: none
};

constexpr shorthand_def shorthands[] = {
    {"ip", 0x0800, -1},  {"ipv6", 0x86dd, -1}, {"arp", 0x0806, -1},
    {"tcp", 0x0800, 6},  {"udp", 0x0800, 17},  {"icmp", 0x0800, 1},
    {"tcp6", 0x86dd, 6}, {"udp6", 0x86dd, 17}, {"icmp6", 0x86dd, 58},
};

const keyword* find_keyword(std::string_view name) {
    static const std::unordered_map<std::string_view, keyword> map = [] {
        std::unordered_map<std::string_view, keyword> m;
        for (const auto& f : fields) {
            m[f.name].field = &f;
        }
        for (const auto& sh : shorthands) {
            m[sh.name].shorthand = &sh;
        }
        return m;
    }();
    auto it = map.find(name);
    return it == map.end() ? nullptr : &it->second;
}

constexpr uint8_t full[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                              0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

bool vlan_part(int f) {
    return f == f_dl_vlan || f == f_vlan_vid || f == f_vlan_pcp;
}

const char* expected_for(prereq p) {
    switch (p) {
    case prereq::ip_or_arp:
        return "'ip' or 'arp' (dl_type=0x0800 or 0x0806) in the same rule";
    case prereq::arp:
        return "'arp' (dl_type=0x0806) in the same rule";
    case prereq::ipv6:
        return "'ipv6' (dl_type=0x86dd) in the same rule";
    case prereq::l3:
        return "'ip', 'ipv6' or 'arp' in the same rule";
    case prereq::ip_any:
        return "'ip' or 'ipv6' in the same rule";
    case prereq::l4:
        return "'tcp', 'udp', 'tcp6' or 'udp6' (or ip/ipv6 with nw_proto=6 or 17) in the same rule";
    case prereq::tcp:
        return "'tcp' or 'tcp6' in the same rule";
    case prereq::udp:
        return "'udp' or 'udp6' in the same rule";
    case prereq::icmp:
        return "'icmp' or 'icmp6' in the same rule";
    case prereq::none:
        break;
    }
    return "";
}

const char* applies_to(prereq p) {
    switch (p) {
    case prereq::ip_or_arp:
        return "IPv4 and ARP packets";
    case prereq::arp:
        return "ARP packets";
    case prereq::ipv6:
        return "IPv6 packets";
    case prereq::l3:
        return "IPv4, IPv6 and ARP packets";
    case prereq::ip_any:
        return "IPv4 and IPv6 packets";
    case prereq::l4:
        return "TCP and UDP packets";
    case prereq::tcp:
        return "TCP packets";
    case prereq::udp:
        return "UDP packets";
    case prereq::icmp:
        return "ICMP and ICMPv6 packets";
    case prereq::none:
        break;
    }
    return "";
}

bool prereq_met(prereq p, const match_summary& s) {
    const bool ip4 = s.dl_type == 0x0800, ip6 = s.dl_type == 0x86dd, arp = s.dl_type == 0x0806;
    const bool p_tcp = s.nw_proto_exact && s.nw_proto == 6;
    const bool p_udp = s.nw_proto_exact && s.nw_proto == 17;
    switch (p) {
    case prereq::none:
        return true;
    case prereq::ip_or_arp:
        return ip4 || arp;
    case prereq::arp:
        return arp;
    case prereq::ipv6:
        return ip6;
    case prereq::l3:
        return ip4 || ip6 || arp;
    case prereq::ip_any:
        return ip4 || ip6;
    case prereq::l4:
        return (ip4 || ip6) && (p_tcp || p_udp);
    case prereq::tcp:
        return (ip4 || ip6) && p_tcp;
    case prereq::udp:
        return (ip4 || ip6) && p_udp;
    case prereq::icmp:
        return s.nw_proto_exact && ((ip4 && s.nw_proto == 1) || (ip6 && s.nw_proto == 58));
    }
    return false;
}

} // namespace

const port_decl* find_port(const std::vector<port_decl>& local, const parse_context& ctx,
                           std::string_view s) {
    uint64_t n = 0;
    std::string why;
    bool numeric = parse_uint(s, 0xffff, n, why);
    for (const auto* list : {&local, &ctx.ports}) {
        for (const auto& p : *list) {
            if (numeric ? p.ofport == n : p.name == s) {
                return &p;
            }
        }
    }
    return nullptr;
}

std::string known_ports_text(const std::vector<port_decl>& local, const parse_context& ctx,
                             bool with_local) {
    std::string s;
    for (const auto* list : {&local, &ctx.ports}) {
        for (const auto& p : *list) {
            s += fmt::format("{}{} ({})", s.empty() ? "" : ", ", p.ofport, p.name);
        }
    }
    return s.empty() ? "a declared port, but none is declared (use --port or a port= line)"
                     : "a port number or name: " + s + (with_local ? ", or LOCAL" : "");
}

match_summary match_parser::summary() const {
    match_summary s;
    if (m_.mask.f.eth_type == 0xffff) {
        s.dl_type = ntohs(m_.value.f.eth_type);
    }
    if (m_.mask.f.nw_proto == 0xff) {
        s.nw_proto = m_.value.f.nw_proto;
        s.nw_proto_exact = true;
    }
    return s;
}

bool match_parser::set_field(const token& t, int field, size_t off, const uint8_t* value,
                             const uint8_t* mask, size_t n, bool implicit) {
    const auto* vb = reinterpret_cast<uint8_t*>(&m_.value);
    const auto* used = reinterpret_cast<const uint8_t*>(&m_.mask);
    bool touches_used = false;
    for (size_t i = 0; i < n; i++) {
        touches_used |= (used[off + i] & mask[i]) != 0;
    }
    // Fast path: no earlier field matched any of these bits, and this field was not given yet
    // (a field may have an all-zero mask: nw_src=0.0.0.0/0).
    const bool seen = !implicit && (fields_seen_ & (uint64_t{1} << field));
    for (size_t ri = 0; (touches_used || seen) && ri < n_records_; ri++) {
        const record& r = records_[ri];
        size_t lo = std::max(off, r.pos_off), hi = std::min(off + n, r.pos_off + r.n);
        bool overlap = false, consistent = true;
        for (size_t b = lo; b < hi; b++) {
            uint8_t both = mask[b - off] & r.mask[b - r.pos_off];
            overlap |= both != 0;
            consistent &= (value[b - off] & both) == (vb[b] & both);
        }
        if (!overlap && !(seen && !r.implicit && r.field == field)) {
            continue;
        }
        const bool pair_ok = vlan_part(field) && vlan_part(r.field) &&
                             (field == f_vlan_pcp) != (r.field == f_vlan_pcp);
        if ((implicit || r.implicit || pair_ok) && consistent) {
            continue;
        }
        const std::string col = rep_.where(r.pos, t.pos);
        const bool both_explicit = !implicit && !r.implicit;
        if (both_explicit && r.field == field) {
            std::string_view prev_name = r.text.substr(0, r.text.find('='));
            rep_.error(t.pos, t.whole().size(), "duplicate field", t.whole(),
                       prev_name == t.name
                           ? fmt::format("{} is already set by '{}' at {}", t.name, r.text, col)
                           : fmt::format("'{}' at {} already sets the same field", r.text, col),
                       "each field at most once");
        } else if (both_explicit && consistent) {
            rep_.error(t.pos, t.whole().size(), "overlapping fields", t.whole(),
                       fmt::format("'{}' at {} already matches these bits", r.text, col),
                       "each bit matched by one field");
        } else {
            rep_.error(t.pos, t.whole().size(), "conflicting match", t.whole(),
                       fmt::format("it contradicts '{}' at {}", r.text, col),
                       "fields that can match the same packet");
        }
        return false;
    }
    auto* vm = reinterpret_cast<uint8_t*>(&m_.value);
    auto* mm = reinterpret_cast<uint8_t*>(&m_.mask);
    for (size_t i = 0; i < n; i++) {
        vm[off + i] = static_cast<uint8_t>((vm[off + i] & ~mask[i]) | (value[i] & mask[i]));
        mm[off + i] |= mask[i];
    }
    if (n_records_ == std::size(records_)) {
        rep_.error(t.pos, t.whole().size(), "too many match fields", t.whole(), "",
                   "at most 48 fields in one rule");
        return false;
    }
    record& r = records_[n_records_++];
    r.text = t.whole();
    r.pos = t.pos;
    r.pos_off = off;
    r.n = n;
    std::copy(mask, mask + n, r.mask);
    r.implicit = implicit;
    r.field = field;
    r.prereq = implicit ? static_cast<uint8_t>(prereq::none) : field_prereq_;
    if (!implicit) {
        fields_seen_ |= uint64_t{1} << field;
    }
    return true;
}

void match_parser::shorthand(const token& t, uint16_t dl_type, int nw_proto) {
    uint16_t be_type = htons(dl_type);
    if (!set_field(t, f_shorthand, offsetof(swd_flow_key, eth_type),
                   reinterpret_cast<const uint8_t*>(&be_type), full, 2, true)) {
        return;
    }
    if (nw_proto >= 0) {
        uint8_t p = static_cast<uint8_t>(nw_proto);
        set_field(t, f_shorthand, offsetof(swd_flow_key, nw_proto), &p, full, 1, true);
    }
}

bool match_parser::apply(const token& t) {
    const keyword* kw = find_keyword(t.name);
    if (t.has_value && kw && kw->shorthand) {
        rep_.error(t.pos, t.whole().size(), "shorthand takes no value", t.whole(),
                   fmt::format("'{}' stands for a protocol match by itself", t.name),
                   fmt::format("'{}' alone", t.name));
        return true;
    }
    if (!t.has_value) {
        if (kw && kw->shorthand) {
            shorthand(t, kw->shorthand->dl_type, kw->shorthand->nw_proto);
            return true;
        }
        if (kw && kw->field) {
            rep_.error(t.pos, t.name.size(), "missing value for field", t.name, "",
                       fmt::format("{}=VALUE (no spaces around '=')", t.name));
            return true;
        }
        return false;
    }
    const field_def* def = kw ? kw->field : nullptr;
    if (!def) {
        return false;
    }
    field_prereq_ = static_cast<uint8_t>(def->pre);
    const std::string_view v = t.value;
    const size_t vpos = t.value_pos;
    const size_t vlen = std::max<size_t>(v.size(), 1);
    std::string why;
    auto bad = [&](std::string expected) {
        rep_.error(vpos, vlen, fmt::format("invalid {} value", t.name), v, why,
                   std::move(expected));
    };
    // value[/mask] split for numeric fields
    auto split_mask = [&](std::string_view& value, std::string_view& mask) {
        size_t slash = v.find('/');
        value = v.substr(0, slash);
        mask = slash == std::string_view::npos ? std::string_view{} : v.substr(slash + 1);
        return slash != std::string_view::npos;
    };
    auto u16_masked = [&](uint16_t max, uint16_t& value, uint16_t& mask,
                          const char* expected) -> bool {
        std::string_view vs, ms;
        bool has_mask = split_mask(vs, ms);
        uint64_t a = 0, b = max;
        if (!parse_uint(vs, max, a, why) || (has_mask && !parse_uint(ms, max, b, why))) {
            bad(expected);
            return false;
        }
        if (has_mask && (a & ~b) != 0) {
            rep_.warning(vpos, v.size(), "value has bits outside its mask", v,
                         fmt::format("matching {:#x}/{:#x}", a & b, b));
        }
        value = static_cast<uint16_t>(a & b);
        mask = static_cast<uint16_t>(b);
        return true;
    };

    // "+a-b...": each named flag set (+) or clear (-); names[k] is bit k ("" for none).
    auto signed_flags = [&](std::span<const std::string_view> names, const char* what,
                            const char* expected, uint16_t& value, uint16_t& mask) -> bool {
        size_t i = 0;
        while (i < v.size()) {
            const char sign = v[i];
            size_t j = i + 1;
            while (j < v.size() && v[j] != '+' && v[j] != '-') {
                j++;
            }
            std::string_view flag = v.substr(i + 1, j - i - 1);
            int bit = -1;
            for (size_t k = 0; k < names.size(); k++) {
                if (!flag.empty() && names[k] == flag) {
                    bit = static_cast<int>(k);
                }
            }
            if (sign != '+' && sign != '-') {
                bit = -1;
            }
            if (bit < 0) {
                rep_.error(vpos + i, j - i,
                           fmt::format("{} {}", flag.empty() ? "empty" : "unknown", what),
                           v.substr(i, j - i),
                           flag.empty() ? fmt::format("nothing follows '{}'", sign) : "", expected);
                return false;
            }
            if (mask & (1u << bit)) {
                rep_.error(vpos + i, j - i, fmt::format("{} given twice", what), v.substr(i, j - i),
                           "", "each flag at most once");
                return false;
            }
            mask |= static_cast<uint16_t>(1u << bit);
            if (sign == '+') {
                value |= static_cast<uint16_t>(1u << bit);
            }
            i = j;
        }
        return true;
    };

    switch (def->id) {
    case f_in_port: {
        const bool local = v == "LOCAL" || v == "local";
        const port_decl* p = local ? nullptr : find_port(ports_, ctx_, v);
        if (!p && !local) {
            rep_.error(vpos, vlen, "unknown port", v, "", known_ports_text(ports_, ctx_));
            return true;
        }
        uint16_t port = local ? ofport_local : p->ofport;
        uint16_t m = 0xffff;
        set_field(t, f_in_port, offsetof(swd_flow_key, in_port),
                  reinterpret_cast<const uint8_t*>(&port), reinterpret_cast<const uint8_t*>(&m), 2);
        return true;
    }
    case f_dl_src:
    case f_dl_dst: {
        uint8_t mac[6], mask[6];
        size_t slash = v.find('/');
        if (!parse_mac(v.substr(0, slash), mac, why)) {
            bad("a MAC address xx:xx:xx:xx:xx:xx[/mask]");
            return true;
        }
        std::fill(mask, mask + 6, 0xff);
        if (slash != std::string_view::npos && !parse_mac(v.substr(slash + 1), mask, why)) {
            why = "mask: " + why;
            bad("a MAC address xx:xx:xx:xx:xx:xx[/mask]");
            return true;
        }
        bool host_bits = false;
        for (int i = 0; i < 6; i++) {
            host_bits |= (mac[i] & ~mask[i]) != 0;
            mac[i] &= mask[i];
        }
        if (host_bits) {
            rep_.warning(vpos, v.size(), "address has bits outside its mask", v,
                         fmt::format("matching {}/{}", format_mac(mac), format_mac(mask)));
        }
        size_t off =
            def->id == f_dl_src ? offsetof(swd_flow_key, eth_src) : offsetof(swd_flow_key, eth_dst);
        set_field(t, def->id, off, mac, mask, 6);
        return true;
    }
    case f_dl_type: {
        uint64_t x = 0;
        if (v.find('/') != std::string_view::npos) {
            why = "dl_type cannot be masked";
            bad("an Ethernet type such as 0x0800");
            return true;
        }
        if (!parse_uint(v, 0xffff, x, why)) {
            bad("an Ethernet type 0x0000-0xffff such as 0x0800");
            return true;
        }
        uint16_t be = htons(static_cast<uint16_t>(x));
        set_field(t, f_dl_type, offsetof(swd_flow_key, eth_type),
                  reinterpret_cast<const uint8_t*>(&be), full, 2);
        return true;
    }
    case f_dl_vlan:
    case f_vlan_vid:
    case f_vlan_pcp:
    case f_vlan_tci: {
        uint16_t value = 0, mask = 0;
        if (def->id == f_dl_vlan) {
            uint64_t x = 0;
            if (!parse_uint(v, 0xffff, x, why) || (x > 4095 && x != 0xffff)) {
                if (why.empty()) {
                    why = fmt::format("{} is out of range", v);
                }
                bad("a VLAN ID 0-4095, or 0xffff for untagged frames");
                return true;
            }
            value = x == 0xffff ? 0 : static_cast<uint16_t>(SWD_VLAN_PRESENT | x);
            mask = x == 0xffff ? 0xffff : 0x1fff;
        } else if (def->id == f_vlan_pcp) {
            uint64_t x = 0;
            if (!parse_uint(v, 7, x, why)) {
                bad("a VLAN priority 0-7");
                return true;
            }
            value = static_cast<uint16_t>(SWD_VLAN_PRESENT | x << SWD_VLAN_PCP_SHIFT);
            mask = 0xf000;
        } else if (def->id == f_vlan_vid) {
            if (!u16_masked(0x1fff, value, mask,
                            "0x1000|VID (tagged, OFPVID_PRESENT) or 0 (untagged), "
                            "optionally /mask")) {
                return true;
            }
            if (v.find('/') == std::string_view::npos) {
                if (value != 0 && !(value & SWD_VLAN_PRESENT)) {
                    why = "the OFPVID_PRESENT bit 0x1000 is not set";
                    bad(fmt::format("vlan_vid={:#x} for VLAN {}, or dl_vlan={}",
                                    value | SWD_VLAN_PRESENT, value, value));
                    return true;
                }
                mask = value == 0 ? 0xffff : 0x1fff;
            }
        } else if (!u16_masked(0xffff, value, mask, "a TCI value 0x0000-0xffff[/mask]")) {
            return true;
        }
        uint16_t bv = htons(value), bm = htons(mask);
        set_field(t, def->id, offsetof(swd_flow_key, vlan_tci),
                  reinterpret_cast<const uint8_t*>(&bv), reinterpret_cast<const uint8_t*>(&bm), 2);
        return true;
    }
    case f_nw_src:
    case f_nw_dst:
    case f_arp_spa:
    case f_arp_tpa: {
        uint32_t value = 0, mask = 0;
        bool host_bits = false;
        if (!parse_ipv4_masked(v, value, mask, host_bits, why)) {
            bad("an IPv4 address a.b.c.d[/prefix|/mask]");
            return true;
        }
        if (host_bits) {
            rep_.warning(vpos, v.size(), "address has bits outside its mask", v,
                         "matching " + format_ipv4_masked(value, mask));
        }
        size_t off = (def->id == f_nw_src || def->id == f_arp_spa) ? offsetof(swd_flow_key, nw_src)
                                                                   : offsetof(swd_flow_key, nw_dst);
        set_field(t,
                  def->id == f_arp_spa   ? f_nw_src
                  : def->id == f_arp_tpa ? f_nw_dst
                                         : def->id,
                  off, reinterpret_cast<const uint8_t*>(&value),
                  reinterpret_cast<const uint8_t*>(&mask), 4);
        return true;
    }
    case f_ipv6_src:
    case f_ipv6_dst: {
        uint32_t value[4], mask[4];
        bool host_bits = false;
        if (!parse_ipv6_masked(v, value, mask, host_bits, why)) {
            bad("an IPv6 address[/prefix|/mask]");
            return true;
        }
        if (host_bits) {
            rep_.warning(vpos, v.size(), "address has bits outside its mask", v,
                         "matching " + format_ipv6_masked(value, mask));
        }
        size_t off =
            def->id == f_ipv6_src ? offsetof(swd_flow_key, nw_src) : offsetof(swd_flow_key, nw_dst);
        set_field(t, def->id, off, reinterpret_cast<const uint8_t*>(value),
                  reinterpret_cast<const uint8_t*>(mask), 16);
        return true;
    }
    case f_nw_proto:
    case f_arp_op:
    case f_nw_ttl:
    case f_icmp_type:
    case f_icmp_code: {
        uint64_t x = 0;
        if (!parse_uint(v, 255, x, why)) {
            bad(def->id == f_nw_ttl     ? "a TTL 0-255"
                : def->id == f_arp_op   ? "an ARP opcode 0-255"
                : def->id == f_nw_proto ? "an IP protocol number 0-255"
                                        : "an ICMP type or code 0-255");
            return true;
        }
        uint8_t b = static_cast<uint8_t>(x);
        size_t off = def->id == f_nw_ttl      ? offsetof(swd_flow_key, nw_ttl)
                     : def->id == f_icmp_type ? offsetof(swd_flow_key, tp_src) + 1
                     : def->id == f_icmp_code ? offsetof(swd_flow_key, tp_dst) + 1
                                              : offsetof(swd_flow_key, nw_proto);
        set_field(t, def->id == f_arp_op ? f_nw_proto : def->id, off, &b, full, 1);
        return true;
    }
    case f_nw_tos:
    case f_ip_dscp:
    case f_nw_ecn: {
        uint64_t x = 0;
        uint64_t max = def->id == f_nw_tos ? 255 : def->id == f_ip_dscp ? 63 : 3;
        if (!parse_uint(v, max, x, why)) {
            bad(def->id == f_nw_tos ? "a ToS byte with the ECN bits clear (a multiple of 4, 0-252)"
                : def->id == f_ip_dscp ? "a DSCP value 0-63"
                                       : "an ECN value 0-3");
            return true;
        }
        if (def->id == f_nw_tos && (x & 3) != 0) {
            why = "the two ECN bits are set (match them with nw_ecn)";
            bad("a multiple of 4, 0-252");
            return true;
        }
        uint8_t b = static_cast<uint8_t>(def->id == f_ip_dscp ? x << 2 : x);
        uint8_t m = def->id == f_nw_ecn ? 0x03 : 0xfc;
        set_field(t, def->id == f_ip_dscp ? f_nw_tos : def->id, offsetof(swd_flow_key, nw_tos), &b,
                  &m, 1);
        return true;
    }
    case f_nw_frag: {
        static constexpr struct {
            std::string_view name;
            uint8_t value, mask;
        } frags[] = {
            {"no", 0, SWD_FRAG_ANY},
            {"yes", SWD_FRAG_ANY, SWD_FRAG_ANY},
            {"first", SWD_FRAG_ANY, SWD_FRAG_ANY | SWD_FRAG_LATER},
            {"later", SWD_FRAG_ANY | SWD_FRAG_LATER, SWD_FRAG_ANY | SWD_FRAG_LATER},
            {"not_later", 0, SWD_FRAG_LATER},
        };
        for (const auto& f : frags) {
            if (f.name == v) {
                set_field(t, f_nw_frag, offsetof(swd_flow_key, nw_frag), &f.value, &f.mask, 1);
                return true;
            }
        }
        bad("one of no, yes, first, later, not_later");
        return true;
    }
    case f_tp_src:
    case f_tp_dst:
    case f_tcp_src:
    case f_tcp_dst:
    case f_udp_src:
    case f_udp_dst: {
        uint16_t value = 0, mask = 0;
        if (!u16_masked(0xffff, value, mask, "a port number 0-65535, optionally /0xmask")) {
            return true;
        }
        bool src = def->id == f_tp_src || def->id == f_tcp_src || def->id == f_udp_src;
        uint16_t bv = htons(value), bm = htons(mask);
        set_field(t, src ? f_tp_src : f_tp_dst,
                  src ? offsetof(swd_flow_key, tp_src) : offsetof(swd_flow_key, tp_dst),
                  reinterpret_cast<const uint8_t*>(&bv), reinterpret_cast<const uint8_t*>(&bm), 2);
        return true;
    }
    case f_tcp_flags: {
        static constexpr std::string_view names[] = {"fin", "syn", "rst", "psh", "ack",
                                                     "urg", "ece", "cwr", "ns"};
        uint16_t value = 0, mask = 0;
        if (!v.empty() && (v[0] == '+' || v[0] == '-')) {
            if (!signed_flags(names, "TCP flag",
                              "+FLAG or -FLAG with FLAG one of fin, syn, rst, psh, ack, urg, "
                              "ece, cwr, ns",
                              value, mask)) {
                return true;
            }
        } else if (!v.empty() && ((v[0] >= 'a' && v[0] <= 'z') || v.find('|') != v.npos)) {
            // "syn|ack": exactly these flags set, every other flag clear (OVS's exact form).
            mask = SWD_TCP_FLAGS_MASK;
            size_t i = 0;
            while (i <= v.size()) {
                size_t j = v.find('|', i);
                if (j == std::string_view::npos) {
                    j = v.size();
                }
                std::string_view flag = v.substr(i, j - i);
                int bit = -1;
                for (int k = 0; k < 9; k++) {
                    if (names[k] == flag) {
                        bit = k;
                    }
                }
                if (bit < 0 || (value & (1u << bit))) {
                    rep_.error(vpos + i, std::max<size_t>(flag.size(), 1),
                               flag.empty() ? "empty TCP flag between '|' separators"
                               : bit < 0    ? "unknown TCP flag"
                                            : "TCP flag given twice",
                               flag, "",
                               "FLAG|FLAG... with each FLAG once, one of fin, syn, rst, psh, ack, "
                               "urg, ece, cwr, ns");
                    return true;
                }
                value |= static_cast<uint16_t>(1u << bit);
                i = j + 1;
            }
        } else if (!u16_masked(SWD_TCP_FLAGS_MASK, value, mask,
                               "+flag-flag... (e.g. +syn-ack), flag|flag, or VALUE/MASK up to "
                               "0xfff")) {
            return true;
        }
        uint16_t bv = htons(value), bm = htons(mask);
        set_field(t, f_tcp_flags, offsetof(swd_flow_key, tcp_flags),
                  reinterpret_cast<const uint8_t*>(&bv), reinterpret_cast<const uint8_t*>(&bm), 2);
        return true;
    }
    case f_ct_state: {
        // Open vSwitch's bits; swd tracks new, est, rpl and trk (datapath/conntrack.h).
        static constexpr std::string_view names[] = {"new", "est", "", "rpl", "", "trk"};
        static constexpr std::string_view untracked[] = {"rel", "inv", "snat", "dnat"};
        uint16_t value = 0, mask = 0;
        if (!v.empty() && (v[0] == '+' || v[0] == '-')) {
            for (auto u : untracked) {
                if (const size_t at = v.find(u);
                    at != v.npos && at > 0 && (v[at - 1] == '+' || v[at - 1] == '-')) {
                    rep_.error(vpos + at - 1, u.size() + 1, "untracked ct_state flag",
                               v.substr(at - 1, u.size() + 1),
                               "swd tracks no related, invalid or NAT state",
                               "+FLAG or -FLAG with FLAG one of new, est, rpl, trk");
                    return true;
                }
            }
            if (!signed_flags(names, "ct_state flag",
                              "+FLAG or -FLAG with FLAG one of new, est, rpl, trk", value, mask)) {
                return true;
            }
        } else {
            constexpr uint16_t tracked = SWD_CT_NEW | SWD_CT_EST | SWD_CT_RPL | SWD_CT_TRK;
            if (!u16_masked(0xff, value, mask,
                            "+flag-flag... (e.g. +trk+est) or VALUE/MASK of the bits new 0x01, "
                            "est 0x02, rpl 0x08, trk 0x20")) {
                return true;
            }
            if (const uint16_t other = value & ~tracked; other != 0) {
                rep_.error(vpos, vlen, "untracked ct_state bits", v,
                           fmt::format("{:#04x} is not new, est, rpl or trk", other),
                           "bits of new 0x01, est 0x02, rpl 0x08, trk 0x20");
                return true;
            }
            mask &= tracked; // bits swd never sets are 0 in every packet: nothing to match
        }
        const auto bv = static_cast<uint8_t>(value), bm = static_cast<uint8_t>(mask);
        set_field(t, f_ct_state, offsetof(swd_flow_key, ct_state), &bv, &bm, 1);
        return true;
    }
    case f_shorthand:
        break;
    }
    return false;
}

void match_parser::finish() {
    if (rep_.failed()) {
        return;
    }
    const match_summary s = summary();
    for (size_t ri = 0; ri < n_records_; ri++) {
        const record& r = records_[ri];
        if (r.implicit) {
            continue;
        }
        const auto pre = static_cast<prereq>(r.prereq);
        if (!prereq_met(pre, s)) {
            std::string_view name = r.text.substr(0, r.text.find('='));
            rep_.error(r.pos, r.text.size(), "missing prerequisite for", r.text,
                       fmt::format("{} applies only to {}", name, applies_to(pre)),
                       expected_for(pre));
            return;
        }
    }
}

} // namespace swd::flows::detail
