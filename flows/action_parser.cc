// Actions of the flow language, encoded as struct swd_action (bpf/shared/swd_abi.h).
#include <arpa/inet.h>
#include <fmt/format.h>
#include <span>

#include "parse_line.h"
#include "values.h"

namespace swd::flows::detail {

namespace {

constexpr const char* supported_actions =
    "one of output:PORT, in_port, local, drop, set_queue:N, mod_dl_src:MAC, mod_dl_dst:MAC, "
    "mod_nw_src:IP, mod_nw_dst:IP, mod_tp_src:PORT, mod_tp_dst:PORT, dec_ttl, goto_table:N, "
    "lb(POOL), ct(commit)";

constexpr std::string_view supported_names[] = {
    "output",     "in_port",    "local",      "drop",       "set_queue",
    "mod_dl_src", "mod_dl_dst", "mod_nw_src", "mod_nw_dst", "mod_tp_src",
    "mod_tp_dst", "dec_ttl",    "goto_table", "lb",         "ct",
};

// OVS actions that swd knows by name but does not implement.
constexpr std::string_view unsupported[] = {
    "normal",         "flood",        "all",         "controller",
    "resubmit",       "set_field",    "load",        "move",
    "mod_vlan_vid",   "mod_vlan_pcp", "strip_vlan",  "push_vlan",
    "pop_vlan",       "learn",        "enqueue",     "mod_nw_tos",
    "mod_nw_ecn",     "mod_nw_ttl",   "set_tunnel",  "note",
    "write_metadata", "meter",        "group",       "clone",
    "sample",         "exit",         "push_mpls",   "pop_mpls",
    "output_reg",     "bundle",       "multipath",   "check_pkt_larger",
    "dec_mpls_ttl",   "fin_timeout",  "conjunction",
};

std::string lower(std::string_view s) {
    std::string r(s);
    for (char& c : r) {
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
    }
    return r;
}

struct action_token {
    std::string_view text; // whole action
    std::string_view name;
    std::string_view arg;
    bool has_arg = false;
    size_t pos = 0;     // of text
    size_t arg_pos = 0; // of arg
};

} // namespace

bool is_action_name(std::string_view lower) {
    for (auto list : {std::span<const std::string_view>(supported_names),
                      std::span<const std::string_view>(unsupported)}) {
        for (auto n : list) {
            if (n == lower) {
                return true;
            }
        }
    }
    return false;
}

bool parse_actions(line_reporter& rep, std::string_view text, size_t pos, const parse_context& ctx,
                   const std::vector<port_decl>& ports, const std::vector<lb_pool>& declared,
                   const std::vector<lb_pool>& known, const match_summary& match, uint8_t table,
                   std::vector<swd_action>& out) {
    // Split on commas outside parentheses; whitespace around actions is allowed.
    std::vector<action_token> toks;
    size_t i = 0;
    while (i < text.size()) {
        while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) {
            i++;
        }
        size_t start = i;
        int depth = 0;
        while (i < text.size() && (depth > 0 || text[i] != ',')) {
            depth += text[i] == '(' ? 1 : text[i] == ')' ? -1 : 0;
            i++;
        }
        size_t end = i;
        while (end > start && (text[end - 1] == ' ' || text[end - 1] == '\t')) {
            end--;
        }
        if (end == start) {
            if (i < text.size() || !toks.empty()) {
                rep.error(pos + start, 1, "empty action", i < text.size() ? "," : "", "",
                          "an action between the commas");
                return false;
            }
            break;
        }
        action_token t;
        t.text = text.substr(start, end - start);
        t.pos = pos + start;
        size_t colon = t.text.find(':');
        size_t paren = t.text.find('(');
        if (paren != std::string_view::npos && (colon == std::string_view::npos || paren < colon)) {
            if (t.text.back() != ')') {
                rep.error(t.pos, t.text.size(), "unbalanced parentheses in action", t.text, "",
                          "NAME(ARGUMENT)");
                return false;
            }
            t.name = t.text.substr(0, paren);
            t.arg = t.text.substr(paren + 1, t.text.size() - paren - 2);
            t.has_arg = true;
            t.arg_pos = t.pos + paren + 1;
        } else if (colon != std::string_view::npos) {
            t.name = t.text.substr(0, colon);
            t.arg = t.text.substr(colon + 1);
            t.has_arg = true;
            t.arg_pos = t.pos + colon + 1;
        } else {
            t.name = t.text;
        }
        if (t.name.empty()) {
            rep.error(t.pos, t.text.size(), "missing action name", t.text, "",
                      "an action name before ':' or '(', such as output:PORT");
            return false;
        }
        toks.push_back(t);
        if (i < text.size()) {
            i++; // the comma
            if (i == text.size()) {
                rep.error(pos + i - 1, 1, "trailing comma after the last action", ",", "",
                          "another action after ','");
                return false;
            }
        }
    }

    if (toks.size() > SWD_MAX_ACTIONS) {
        rep.error(toks[SWD_MAX_ACTIONS].pos, toks[SWD_MAX_ACTIONS].text.size(), "too many actions",
                  toks[SWD_MAX_ACTIONS].text, fmt::format("a rule has at most {}", SWD_MAX_ACTIONS),
                  "fewer actions");
        return false;
    }

    const bool ip4 = match.dl_type == 0x0800, ip6 = match.dl_type == 0x86dd;
    const bool l4 =
        (ip4 || ip6) && match.nw_proto_exact && (match.nw_proto == 6 || match.nw_proto == 17);

    std::string why;
    out.clear();
    out.reserve(toks.size());
    for (size_t k = 0; k < toks.size(); k++) {
        const action_token& t = toks[k];
        const std::string name = lower(t.name);
        swd_action a{};
        auto bad_arg = [&](const char* expected) {
            rep.error(t.arg_pos, std::max<size_t>(t.arg.size(), 1),
                      fmt::format("invalid argument of {}", name), t.arg, why, expected);
        };
        // form: how the argument is written after "NAME:" (or inside lb's parentheses).
        auto need_arg = [&](const char* arg_form) {
            if (!t.has_arg || t.arg.empty()) {
                rep.error(t.pos, t.text.size(), fmt::format("action {} needs an argument", name),
                          t.text, "",
                          name == "lb" ? fmt::format("lb({})", arg_form)
                                       : fmt::format("{}:{}", name, arg_form));
                return false;
            }
            return true;
        };
        auto no_arg = [&]() {
            if (t.has_arg) {
                rep.error(t.pos, t.text.size(), fmt::format("action {} takes no argument", name),
                          t.text, "", name);
                return false;
            }
            return true;
        };
        auto prereq = [&](bool met, const char* detail, const char* expected) {
            if (!met) {
                rep.error(t.pos, t.text.size(), "missing prerequisite for action", t.text, detail,
                          expected);
            }
            return met;
        };
        auto port_action = [&](std::string_view port, size_t port_pos) {
            std::string p = lower(port);
            if (p == "in_port") {
                a.type = SWD_ACT_IN_PORT;
                return true;
            }
            if (p == "local") {
                a.type = SWD_ACT_LOCAL;
                return true;
            }
            const port_decl* d = find_port(ports, ctx, port);
            if (!d) {
                rep.error(port_pos, std::max<size_t>(port.size(), 1), "output to unknown port",
                          port, "", known_ports_text(ports, ctx));
                return false;
            }
            a.type = SWD_ACT_OUTPUT;
            a.arg = d->ofport;
            return true;
        };

        if (name == "drop") {
            if (!no_arg()) {
                return false;
            }
            if (toks.size() != 1) {
                rep.error(t.pos, t.text.size(), "drop must be the only action", t.text,
                          "other actions would be ignored", "'actions=drop' alone");
                return false;
            }
            return true; // an empty list is a drop
        } else if (name == "output") {
            if (!need_arg("PORT") || !port_action(t.arg, t.arg_pos)) {
                return false;
            }
        } else if (name == "in_port" || name == "local") {
            if (!no_arg()) {
                return false;
            }
            a.type = name == "in_port" ? SWD_ACT_IN_PORT : SWD_ACT_LOCAL;
        } else if (!t.has_arg && !t.name.empty() && t.name[0] >= '0' && t.name[0] <= '9') {
            if (!port_action(t.name, t.pos)) {
                return false;
            }
        } else if (name == "set_queue") {
            uint64_t q = 0;
            if (!need_arg("N")) {
                return false;
            }
            if (!parse_uint(t.arg, 0xffff, q, why)) {
                bad_arg("a queue number 0-65535");
                return false;
            }
            a.type = SWD_ACT_SET_QUEUE;
            a.arg = static_cast<uint16_t>(q);
        } else if (name == "mod_dl_src" || name == "mod_dl_dst") {
            if (!need_arg("xx:xx:xx:xx:xx:xx")) {
                return false;
            }
            if (!parse_mac(t.arg, a.val.mac, why)) {
                bad_arg("a MAC address xx:xx:xx:xx:xx:xx");
                return false;
            }
            a.type = name == "mod_dl_src" ? SWD_ACT_SET_ETH_SRC : SWD_ACT_SET_ETH_DST;
        } else if (name == "mod_nw_src" || name == "mod_nw_dst") {
            if (!need_arg("a.b.c.d")) {
                return false;
            }
            if (!parse_ipv4(t.arg, a.val.ipv4, why)) {
                bad_arg("an IPv4 address a.b.c.d");
                return false;
            }
            if (!prereq(ip4, "it rewrites the IPv4 header",
                        "'ip' (or tcp, udp, icmp) in the match")) {
                return false;
            }
            a.type = name == "mod_nw_src" ? SWD_ACT_SET_IPV4_SRC : SWD_ACT_SET_IPV4_DST;
        } else if (name == "mod_tp_src" || name == "mod_tp_dst") {
            uint64_t p = 0;
            if (!need_arg("PORT")) {
                return false;
            }
            if (!parse_uint(t.arg, 0xffff, p, why)) {
                bad_arg("a port number 0-65535");
                return false;
            }
            if (!prereq(l4, "it rewrites the TCP or UDP header",
                        "'tcp', 'udp', 'tcp6' or 'udp6' in the match")) {
                return false;
            }
            a.type = name == "mod_tp_src" ? SWD_ACT_SET_TP_SRC : SWD_ACT_SET_TP_DST;
            a.val.port = htons(static_cast<uint16_t>(p));
        } else if (name == "dec_ttl") {
            if (t.has_arg) {
                rep.error(t.pos, t.text.size(), "dec_ttl takes no argument", t.text,
                          "swd has no controller to notify", "dec_ttl");
                return false;
            }
            if (!prereq(ip4 || ip6, "it changes the IP TTL or hop limit",
                        "'ip' or 'ipv6' in the match")) {
                return false;
            }
            a.type = SWD_ACT_DEC_TTL;
        } else if (name == "goto_table") {
            uint64_t n = 0;
            if (!need_arg("N")) {
                return false;
            }
            if (!parse_uint(t.arg, SWD_MAX_TABLE, n, why)) {
                if (t.arg.find_first_not_of("0123456789") == std::string_view::npos) {
                    why = fmt::format("{} is out of range 1-{}", t.arg, SWD_MAX_TABLE);
                }
                bad_arg("a table number 1-254");
                return false;
            }
            if (n <= table) {
                why = fmt::format("this rule is in table {}", table);
                bad_arg("a table after the rule's own (OpenFlow pipelines only go forward)");
                return false;
            }
            if (k + 1 != toks.size()) {
                rep.error(t.pos, t.text.size(), "goto_table must be the last action", t.text,
                          "actions after it would never run", "goto_table at the end of the list");
                return false;
            }
            a.type = SWD_ACT_GOTO_TABLE;
            a.arg = static_cast<uint16_t>(n);
        } else if (name == "lb") {
            if (!need_arg("POOL")) {
                return false;
            }
            const lb_pool* pool = nullptr;
            for (const auto* list : {&declared, &known}) {
                for (const auto& p : *list) {
                    if (!pool && p.name == t.arg) {
                        pool = &p;
                    }
                }
            }
            if (!pool) {
                std::string names;
                for (const auto* list : {&declared, &known}) {
                    for (const auto& p : *list) {
                        names += (names.empty() ? "" : ", ") + p.name;
                    }
                }
                rep.error(t.arg_pos, std::max<size_t>(t.arg.size(), 1), "undeclared pool", t.arg,
                          "",
                          names.empty() ? "a pool declared with lb_pool=NAME, vip=..., "
                                          "backend=... (none is declared)"
                                        : "one of the declared pools: " + names);
                return false;
            }
            const bool fam = pool->ipv6 ? ip6 : ip4;
            const bool proto = match.nw_proto_exact && match.nw_proto == pool->proto;
            const char* want = pool->ipv6 ? (pool->proto == 6 ? "'tcp6'" : "'udp6'")
                                          : (pool->proto == 6 ? "'tcp'" : "'udp'");
            if (!fam || !proto) {
                rep.error(t.pos, t.text.size(), "missing prerequisite for action", t.text,
                          fmt::format("pool {} balances {}{} traffic", pool->name,
                                      pool->proto == 6 ? "TCP" : "UDP",
                                      pool->ipv6 ? "/IPv6" : "/IPv4"),
                          fmt::format("{} in the match", want));
                return false;
            }
            a.type = SWD_ACT_LB;
            a.arg = pool->id;
        } else if (name == "ct") {
            // swd tracks every TCP/UDP packet before table 0 when the table uses tracking (the
            // implicit ct() of OVS's ct(table=N)), so the only action is the commit.
            if (!t.has_arg || lower(t.arg) != "commit") {
                rep.error(t.has_arg ? t.arg_pos : t.pos,
                          std::max<size_t>(t.has_arg ? t.arg.size() : t.text.size(), 1),
                          "unsupported ct() argument", t.has_arg ? t.arg : t.text,
                          "swd tracks every TCP/UDP packet before table 0; zones, NAT, "
                          "recirculation and helpers are not implemented",
                          "ct(commit)");
                return false;
            }
            if (!prereq(ip4 || ip6, "connection tracking applies to IPv4 and IPv6",
                        "'ip' or 'ipv6' (or tcp, udp, tcp6, udp6) in the match")) {
                return false;
            }
            a.type = SWD_ACT_CT_COMMIT;
        } else if (!t.has_arg && find_port(ports, ctx, t.name)) {
            port_action(t.name, t.pos); // a bare port name, as OVS allows
        } else {
            bool known = false;
            for (auto u : unsupported) {
                known |= u == name;
            }
            if (known) {
                rep.error(t.pos, t.text.size(), "unsupported action", t.text,
                          fmt::format("swd does not implement OVS's {}", name), supported_actions);
            } else {
                std::string hint = closest_name(name, supported_names);
                rep.error(t.pos, t.name.size(), "unknown action", t.name, "",
                          hint.empty()
                              ? std::string(supported_actions)
                              : fmt::format("{} (did you mean '{}'?)", supported_actions, hint));
            }
            return false;
        }
        out.push_back(a);
    }
    return true;
}

} // namespace swd::flows::detail
