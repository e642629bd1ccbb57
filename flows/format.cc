#include "format.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <utility>

#include "values.h"

namespace swd::flows {

namespace {

void add(std::string& s, std::string_view item) {
    if (!s.empty()) {
        s += ',';
    }
    s += item;
}

std::string port_name(uint16_t ofport, const format_names& names) {
    if (ofport == ofport_local) {
        return "LOCAL";
    }
    if (names.ports) {
        for (const auto& p : *names.ports) {
            if (p.ofport == ofport) {
                return p.name;
            }
        }
    }
    return std::to_string(ofport);
}

std::string u16_masked(uint16_t v, uint16_t m) {
    if (m == 0xffff) {
        return std::to_string(v);
    }
    return fmt::format("{:#x}/{:#x}", v, m);
}

void format_vlan(std::string& s, uint16_t v, uint16_t m) {
    if (m == 0) {
        return;
    }
    const bool tagged = (m & SWD_VLAN_PRESENT) && (v & SWD_VLAN_PRESENT);
    const uint16_t vid_m = m & SWD_VLAN_VID_MASK, pcp_m = m & 0xe000;
    if (tagged && (vid_m == 0 || vid_m == SWD_VLAN_VID_MASK) && (pcp_m == 0 || pcp_m == 0xe000)) {
        if (vid_m) {
            add(s, fmt::format("dl_vlan={}", v & SWD_VLAN_VID_MASK));
        }
        if (pcp_m) {
            add(s, fmt::format("dl_vlan_pcp={}", v >> SWD_VLAN_PCP_SHIFT));
        }
        if (vid_m || pcp_m) {
            return;
        }
    }
    if (m == 0xffff) {
        add(s, fmt::format("vlan_tci={:#06x}", v));
    } else {
        add(s, fmt::format("vlan_tci={:#06x}/{:#06x}", v, m));
    }
}

void format_mac_field(std::string& s, const char* name, const uint8_t* v, const uint8_t* m) {
    static const uint8_t zero[6] = {}, ones[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    if (std::memcmp(m, zero, 6) == 0) {
        return;
    }
    if (std::memcmp(m, ones, 6) == 0) {
        add(s, fmt::format("{}={}", name, format_mac(v)));
    } else {
        add(s, fmt::format("{}={}/{}", name, format_mac(v), format_mac(m)));
    }
}

const char* shorthand(uint16_t dl_type, bool proto_exact, uint8_t proto) {
    if (dl_type == 0x0800) {
        if (proto_exact) {
            return proto == 6 ? "tcp" : proto == 17 ? "udp" : proto == 1 ? "icmp" : nullptr;
        }
        return "ip";
    }
    if (dl_type == 0x86dd) {
        if (proto_exact) {
            return proto == 6 ? "tcp6" : proto == 17 ? "udp6" : proto == 58 ? "icmp6" : nullptr;
        }
        return "ipv6";
    }
    if (dl_type == 0x0806) {
        return "arp";
    }
    return nullptr;
}

} // namespace

const char* placement_name(placement p) {
    switch (p) {
    case placement::automatic:
        return "auto";
    case placement::xdp:
        return "xdp";
    case placement::user:
        return "user";
    }
    return "?";
}

std::string format_match(const dp::flow_match& m, const format_names& names) {
    const swd_flow_key& v = m.value.f;
    const swd_flow_key& k = m.mask.f;
    std::string s;

    const bool type_exact = k.eth_type == 0xffff;
    const uint16_t dl_type = type_exact ? ntohs(v.eth_type) : 0;
    const bool proto_exact = k.nw_proto == 0xff;
    const char* sh = type_exact ? shorthand(dl_type, proto_exact, v.nw_proto) : nullptr;
    // With an exact protocol that has no shorthand, print ip/ipv6 and nw_proto.
    if (!sh && type_exact && proto_exact && (dl_type == 0x0800 || dl_type == 0x86dd)) {
        sh = dl_type == 0x0800 ? "ip" : "ipv6";
    }
    const bool proto_in_shorthand = sh && proto_exact && std::string_view(sh) != "ip" &&
                                    std::string_view(sh) != "ipv6" && std::string_view(sh) != "arp";
    if (sh) {
        add(s, sh);
    }
    if (k.in_port) {
        add(s, "in_port=" + port_name(v.in_port, names));
    }
    format_vlan(s, ntohs(v.vlan_tci), ntohs(k.vlan_tci));
    format_mac_field(s, "dl_src", v.eth_src, k.eth_src);
    format_mac_field(s, "dl_dst", v.eth_dst, k.eth_dst);
    if (k.eth_type && !sh) {
        add(s, fmt::format("dl_type={:#06x}", ntohs(v.eth_type)));
    }
    const bool arp = type_exact && dl_type == 0x0806;
    const bool ipv6 = type_exact && dl_type == 0x86dd;
    if (ipv6) {
        static const uint32_t zero[4] = {};
        if (std::memcmp(k.nw_src, zero, 16) != 0) {
            add(s, "ipv6_src=" + format_ipv6_masked(v.nw_src, k.nw_src));
        }
        if (std::memcmp(k.nw_dst, zero, 16) != 0) {
            add(s, "ipv6_dst=" + format_ipv6_masked(v.nw_dst, k.nw_dst));
        }
    } else {
        if (k.nw_src[0]) {
            add(s, fmt::format("{}={}", arp ? "arp_spa" : "nw_src",
                               format_ipv4_masked(v.nw_src[0], k.nw_src[0])));
        }
        if (k.nw_dst[0]) {
            add(s, fmt::format("{}={}", arp ? "arp_tpa" : "nw_dst",
                               format_ipv4_masked(v.nw_dst[0], k.nw_dst[0])));
        }
    }
    if (proto_exact && !proto_in_shorthand) {
        add(s, fmt::format("{}={}", arp ? "arp_op" : "nw_proto", v.nw_proto));
    }
    if (k.nw_tos & 0xfc) {
        add(s, fmt::format("nw_tos={}", v.nw_tos & 0xfc));
    }
    if (k.nw_tos & 0x03) {
        add(s, fmt::format("nw_ecn={}", v.nw_tos & 0x03));
    }
    if (k.nw_ttl) {
        add(s, fmt::format("nw_ttl={}", v.nw_ttl));
    }
    if (k.nw_frag) {
        const uint8_t fv = v.nw_frag, fm = k.nw_frag;
        const char* f = fm == SWD_FRAG_ANY                      ? (fv ? "yes" : "no")
                        : fm == SWD_FRAG_LATER                  ? "not_later"
                        : fv == (SWD_FRAG_ANY | SWD_FRAG_LATER) ? "later"
                                                                : "first";
        add(s, fmt::format("nw_frag={}", f));
    }
    const bool icmp = proto_exact && (v.nw_proto == 1 || v.nw_proto == 58) && !arp;
    if (icmp) {
        if (k.tp_src) {
            add(s, fmt::format("icmp_type={}", ntohs(v.tp_src)));
        }
        if (k.tp_dst) {
            add(s, fmt::format("icmp_code={}", ntohs(v.tp_dst)));
        }
    } else {
        if (k.tp_src) {
            add(s, "tp_src=" + u16_masked(ntohs(v.tp_src), ntohs(k.tp_src)));
        }
        if (k.tp_dst) {
            add(s, "tp_dst=" + u16_masked(ntohs(v.tp_dst), ntohs(k.tp_dst)));
        }
    }
    if (k.tcp_flags) {
        static constexpr const char* flag_names[] = {"fin", "syn", "rst", "psh", "ack",
                                                     "urg", "ece", "cwr", "ns"};
        const uint16_t fv = ntohs(v.tcp_flags), fm = ntohs(k.tcp_flags);
        if (fm == SWD_TCP_FLAGS_MASK && fv != 0 && (fv & ~0x1ffu) == 0) {
            std::string f = "tcp_flags=";
            for (int b = 0; b < 9; b++) {
                if (fv & (1u << b)) {
                    f += f.back() == '=' ? "" : "|";
                    f += flag_names[b];
                }
            }
            add(s, f);
        } else if (fm & ~0x1ffu) {
            add(s, fmt::format("tcp_flags={:#05x}/{:#05x}", fv, fm));
        } else {
            std::string f = "tcp_flags=";
            for (int b = 0; b < 9; b++) {
                if (fm & (1u << b)) {
                    f += (fv & (1u << b)) ? '+' : '-';
                    f += flag_names[b];
                }
            }
            add(s, f);
        }
    }
    if (k.ct_state) { // "+trk+est", in bit order (the parser rejects bits it does not track)
        static constexpr std::pair<uint8_t, const char*> ct_flags[] = {
            {SWD_CT_NEW, "new"}, {SWD_CT_EST, "est"}, {SWD_CT_RPL, "rpl"}, {SWD_CT_TRK, "trk"}};
        std::string f = "ct_state=";
        for (auto [bit, name] : ct_flags) {
            if (k.ct_state & bit) {
                f += (v.ct_state & bit) ? '+' : '-';
                f += name;
            }
        }
        add(s, f);
    }
    return s;
}

std::string format_actions(const std::vector<swd_action>& actions, const format_names& names) {
    if (actions.empty()) {
        return "drop";
    }
    std::string s;
    for (const auto& a : actions) {
        switch (a.type) {
        case SWD_ACT_OUTPUT:
            add(s, "output:" + port_name(a.arg, names));
            break;
        case SWD_ACT_IN_PORT:
            add(s, "in_port");
            break;
        case SWD_ACT_LOCAL:
            add(s, "local");
            break;
        case SWD_ACT_SET_QUEUE:
            add(s, fmt::format("set_queue:{}", a.arg));
            break;
        case SWD_ACT_SET_ETH_SRC:
            add(s, "mod_dl_src:" + format_mac(a.val.mac));
            break;
        case SWD_ACT_SET_ETH_DST:
            add(s, "mod_dl_dst:" + format_mac(a.val.mac));
            break;
        case SWD_ACT_SET_IPV4_SRC:
            add(s, "mod_nw_src:" + format_ipv4(a.val.ipv4));
            break;
        case SWD_ACT_SET_IPV4_DST:
            add(s, "mod_nw_dst:" + format_ipv4(a.val.ipv4));
            break;
        case SWD_ACT_SET_TP_SRC:
            add(s, fmt::format("mod_tp_src:{}", ntohs(a.val.port)));
            break;
        case SWD_ACT_SET_TP_DST:
            add(s, fmt::format("mod_tp_dst:{}", ntohs(a.val.port)));
            break;
        case SWD_ACT_DEC_TTL:
            add(s, "dec_ttl");
            break;
        case SWD_ACT_GOTO_TABLE:
            add(s, fmt::format("goto_table:{}", a.arg));
            break;
        case SWD_ACT_CT_COMMIT:
            add(s, "ct(commit)");
            break;
        case SWD_ACT_LB: {
            std::string name = std::to_string(a.arg);
            if (names.pools) {
                for (const auto& p : *names.pools) {
                    if (p.id == a.arg) {
                        name = p.name;
                    }
                }
            }
            add(s, "lb(" + name + ")");
            break;
        }
        default:
            add(s, fmt::format("unknown_action_{}", a.type));
        }
    }
    return s;
}

std::string format_rule(const rule& r, const format_names& names, const rule_stats_text* stats) {
    std::string s;
    if (r.cookie != 0 || stats) {
        s += fmt::format("cookie={:#x}, ", r.cookie);
    }
    if (stats) {
        s += fmt::format("duration={:.3f}s, ", stats->duration_s);
    }
    if (r.table != 0 || stats) {
        s += fmt::format("table={}, ", r.table);
    }
    if (stats) {
        s += fmt::format("n_packets={}, n_bytes={}, ", stats->packets, stats->bytes);
    }
    if (r.idle_timeout) {
        s += fmt::format("idle_timeout={}, ", r.idle_timeout);
    }
    if (r.hard_timeout) {
        s += fmt::format("hard_timeout={}, ", r.hard_timeout);
    }
    if (r.place != placement::automatic) {
        s += fmt::format("placement={}, ", placement_name(r.place));
    }
    if (r.queue) {
        s += fmt::format("queue={}, ", *r.queue);
    }
    if (stats) {
        s += fmt::format("runs={}, ", stats->runs);
        if (!stats->steering.empty()) {
            s += fmt::format("steering={}, ", stats->steering);
        }
    }
    std::string m = format_match(r.match, names);
    if (r.priority != SWD_DEFAULT_PRIORITY) {
        s += fmt::format("priority={}", r.priority);
        if (!m.empty()) {
            s += ',';
        }
    }
    s += m;
    if (!s.empty() && s.back() != ' ') {
        s += ' ';
    }
    s += "actions=" + format_actions(r.actions, names);
    return s;
}

std::string format_endpoint(bool ipv6, const uint32_t* addr, uint16_t port) {
    return ipv6 ? fmt::format("[{}]:{}", format_ipv6(addr), port)
                : fmt::format("{}:{}", format_ipv4(addr[0]), port);
}

std::string format_pool(const lb_pool& p) {
    const auto endpoint = format_endpoint;
    std::string s = fmt::format("lb_pool={}, vip={}/{}", p.name,
                                endpoint(p.ipv6, p.vip, p.vip_port), p.proto == 6 ? "tcp" : "udp");
    for (const auto& b : p.backends) {
        s += fmt::format(", backend={}/{}", endpoint(b.ipv6, b.addr, b.port), format_mac(b.mac));
        if (b.weight != 1) {
            s += fmt::format("/weight={}", b.weight);
        }
        if (b.state != backend_state::up) {
            s += b.state == backend_state::drain ? "/state=drain" : "/state=down";
        }
    }
    return s;
}

std::string format_port(const port_decl& p) {
    std::string s = fmt::format("port={}, ofport={}", p.name, p.ofport);
    const port_options& o = p.options;
    const port_options d;
    if (o.xdp != d.xdp) {
        static constexpr const char* names[] = {"best-effort", "native-with-zerocopy", "native",
                                                "generic"};
        s += fmt::format(", xdp-mode={}", names[static_cast<int>(o.xdp)]);
    }
    if (o.use_need_wakeup != d.use_need_wakeup) {
        s += fmt::format(", use-need-wakeup={}", o.use_need_wakeup);
    }
    if (o.wait != d.wait) {
        s += o.wait == port_options::wait_mode::poll ? ", wait=poll" : ", wait=busy";
    }
    if (o.busy_poll_usecs != d.busy_poll_usecs) {
        s += fmt::format(", busy-poll-usecs={}", o.busy_poll_usecs);
    }
    if (o.busy_poll_budget != d.busy_poll_budget) {
        s += fmt::format(", busy-poll-budget={}", o.busy_poll_budget);
    }
    if (o.napi_defer_hard_irqs != d.napi_defer_hard_irqs) {
        s += fmt::format(", napi-defer-hard-irqs={}", o.napi_defer_hard_irqs);
    }
    if (o.gro_flush_timeout != d.gro_flush_timeout) {
        s += fmt::format(", gro-flush-timeout={}", o.gro_flush_timeout);
    }
    auto range = [&](const char* name, uint32_t first, uint32_t n) {
        if (n == 1) {
            s += fmt::format(", {}={}", name, first);
        } else if (n > 1) {
            s += fmt::format(", {}={}-{}", name, first, first + n - 1);
        }
    };
    range("queues", o.first_queue, o.n_queues);
    range("user-queues", o.first_user_queue, o.n_user_queues);
    range("kernel-queues", o.first_kernel_queue, o.n_kernel_queues);
    return s;
}

} // namespace swd::flows
