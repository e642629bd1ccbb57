// Line-level grammar: command keywords, rule properties, port= and lb_pool= declarations.
#include "parser.h"

#include <algorithm>
#include <arpa/inet.h>
#include <bit>
#include <fmt/format.h>
#include <span>
#include <utility>

#include "parse_line.h"
#include "values.h"

namespace swd::flows {

using detail::line_reporter;
using detail::token;

namespace {

bool is_sep(char c) {
    return c == ',' || c == ' ' || c == '\t';
}

// Splits "a=b, c d=e" into tokens; stops at "actions=", whose text is returned separately.
struct line_tokens {
    std::vector<token> toks;
    bool has_actions = false;
    std::string_view actions;
    size_t actions_pos = 0;
    size_t actions_key_pos = 0;
};

void tokenize(std::string_view line, size_t from, line_tokens& out) {
    out.toks.clear();
    out.has_actions = false;
    size_t i = from;
    while (true) {
        while (i < line.size() && is_sep(line[i])) {
            i++;
        }
        if (i >= line.size()) {
            return;
        }
        size_t start = i;
        while (i < line.size() && !is_sep(line[i]) && line[i] != '=') {
            i++;
        }
        token t;
        t.name = line.substr(start, i - start);
        t.pos = start;
        if (i < line.size() && line[i] == '=') {
            if (t.name == "actions") {
                out.has_actions = true;
                out.actions_key_pos = start;
                out.actions_pos = i + 1;
                out.actions = line.substr(i + 1);
                return;
            }
            i++;
            size_t vstart = i;
            while (i < line.size() && !is_sep(line[i])) {
                i++;
            }
            t.has_value = true;
            t.value = line.substr(vstart, i - vstart);
            t.value_pos = vstart;
        }
        out.toks.push_back(t);
    }
}

bool is_property(std::string_view n) {
    static constexpr std::string_view props[] = {"priority",     "table",        "cookie",
                                                 "idle_timeout", "hard_timeout", "placement",
                                                 "queue",        "out_port",     "actions"};
    return std::find(std::begin(props), std::end(props), n) != std::end(props);
}

constexpr std::string_view all_keywords[] = {
    "in_port",      "dl_src",    "eth_src",     "dl_dst",      "eth_dst",     "dl_type",
    "eth_type",     "dl_vlan",   "vlan_vid",    "dl_vlan_pcp", "vlan_pcp",    "vlan_tci",
    "nw_src",       "ip_src",    "nw_dst",      "ip_dst",      "arp_spa",     "arp_tpa",
    "ipv6_src",     "ipv6_dst",  "nw_proto",    "ip_proto",    "arp_op",      "nw_tos",
    "ip_dscp",      "nw_ecn",    "ip_ecn",      "nw_ttl",      "nw_frag",     "ip_frag",
    "tp_src",       "tp_dst",    "tcp_src",     "tcp_dst",     "udp_src",     "udp_dst",
    "tcp_flags",    "icmp_type", "icmpv6_type", "icmp_code",   "icmpv6_code", "ip",
    "ipv6",         "arp",       "tcp",         "udp",         "icmp",        "tcp6",
    "udp6",         "icmp6",     "priority",    "table",       "cookie",      "idle_timeout",
    "hard_timeout", "placement", "queue",       "out_port",    "actions",
};

bool parse_port_option(line_reporter& rep, const token& t, port_options& o);

class text_parser {
public:
    text_parser(std::string_view text, std::string_view name, parse_mode mode,
                const parse_context& ctx)
        : text_(text), name_(name), mode_(mode), ctx_(ctx) {}

    parse_output run();

private:
    enum class line_kind { rule, port, pool };
    static line_kind classify(std::string_view line);

    void parse_port(const source_text& src, const source_text::logical_line& l);
    void parse_pool(const source_text& src, const source_text::logical_line& l);
    void parse_rule(const source_text& src, const source_text::logical_line& l);
    void number_ports();
    void check_duplicate_rules();
    bool too_many_errors() const { return out_.errors.size() >= max_errors; }

    std::string_view text_;
    std::string name_;
    parse_mode mode_;
    const parse_context& ctx_;
    parse_output out_;
    std::vector<size_t> port_line_;         // physical line of each declared port, for messages
    std::vector<port_decl> resolved_ports_; // declared + numbered command-line ports
    line_tokens tokens_;
};

text_parser::line_kind text_parser::classify(std::string_view line) {
    size_t i = 0;
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) {
        i++;
    }
    std::string_view rest = line.substr(i);
    if (rest.starts_with("port=")) {
        return line_kind::port;
    }
    if (rest.starts_with("lb_pool=") || rest.starts_with("pool=")) {
        return line_kind::pool;
    }
    return line_kind::rule;
}

parse_output text_parser::run() {
    // Pass 1: declarations, so that rules may refer to ports and pools declared anywhere. Most
    // large texts have none: skip the pass when neither keyword occurs at all.
    if (text_.find("port=") != std::string_view::npos ||
        text_.find("pool=") != std::string_view::npos) {
        source_text src(text_, name_);
        source_text::logical_line l;
        while (src.next(l) && !too_many_errors()) {
            line_kind k = classify(l.text);
            if (k == line_kind::port) {
                parse_port(src, l);
            } else if (k == line_kind::pool) {
                parse_pool(src, l);
            }
        }
    }
    number_ports();
    // Pass 2: rules.
    source_text src(text_, name_);
    source_text::logical_line l;
    size_t n_rules = 0;
    while (src.next(l) && !too_many_errors()) {
        if (classify(l.text) != line_kind::rule) {
            continue;
        }
        if ((mode_ == parse_mode::match || mode_ == parse_mode::modify) && n_rules == 1) {
            std::vector<diagnostic> unused;
            line_reporter rep(src, l, out_.errors, unused);
            rep.error(0, l.text.size(), "more than one rule", l.text, "",
                      "a single match on one line");
            break;
        }
        parse_rule(src, l);
        n_rules++;
    }
    out_.more_errors = too_many_errors() && src.next(l);
    if (mode_ == parse_mode::match && n_rules == 0 && out_.errors.empty()) {
        flow_mod all;
        all.command = ctx_.strict ? flow_command::del_strict : flow_command::del;
        out_.mods.push_back(all);
    }
    if (mode_ == parse_mode::modify && n_rules == 0 && out_.errors.empty()) {
        diagnostic d;
        d.source = name_;
        d.line = 1;
        d.column = 1;
        d.what = "empty rule";
        d.expected = "a match with actions=..., e.g. 'tcp,tp_dst=80,actions=drop'";
        out_.errors.push_back(d);
    }
    if (mode_ == parse_mode::config && out_.errors.empty()) {
        check_duplicate_rules();
    }
    if (!out_.errors.empty()) {
        out_.mods.clear();
    }
    out_.ports = std::move(resolved_ports_);
    return std::move(out_);
}

void text_parser::parse_port(const source_text& src, const source_text::logical_line& l) {
    line_reporter rep(src, l, out_.errors, out_.warnings);
    line_tokens lt;
    tokenize(l.text, 0, lt);
    if (mode_ != parse_mode::config) {
        rep.error(lt.toks[0].pos, lt.toks[0].whole().size(), "port declaration not allowed here",
                  lt.toks[0].whole(), "ports are set when swd starts",
                  "a port= line in the --config file or a --port option");
        return;
    }
    port_decl p;
    bool ofport_given = false;
    for (size_t i = 0; i < lt.toks.size(); i++) {
        const token& t = lt.toks[i];
        if (i == 0) {
            if (std::string why = check_port_name(t.value); !why.empty()) {
                rep.error(t.value_pos, std::max<size_t>(t.value.size(), 1), "invalid port name",
                          t.value, why, port_name_expected);
                return;
            }
            p.name = std::string(t.value);
        } else if (t.name == "ofport" && t.has_value) {
            uint64_t n = 0;
            std::string why;
            if (ofport_given || !parse_uint(t.value, SWD_MAX_OFPORT, n, why) || n == 0) {
                if (ofport_given) {
                    why = "ofport is given twice";
                } else if (t.value.find_first_not_of("0123456789") == std::string_view::npos) {
                    why = fmt::format("{} is out of range 1-{}", t.value, SWD_MAX_OFPORT);
                }
                rep.error(t.value_pos, std::max<size_t>(t.value.size(), 1), "invalid ofport",
                          t.value, why, fmt::format("a port number 1-{}", SWD_MAX_OFPORT));
                return;
            }
            ofport_given = true;
            p.ofport = static_cast<uint16_t>(n);
        } else if (!parse_port_option(rep, t, p.options)) {
            return;
        }
    }
    for (const auto& q : resolved_ports_) {
        if (q.name == p.name || (p.ofport != 0 && q.ofport == p.ofport)) {
            rep.error(lt.toks[0].pos, l.text.size(), "duplicate port", l.text,
                      q.name == p.name
                          ? fmt::format("{} is already declared", p.name)
                          : fmt::format("ofport {} already belongs to {}", p.ofport, q.name),
                      "each port name and number once");
            return;
        }
    }
    if (ctx_.ports_fixed) {
        bool same = false;
        for (const auto& q : ctx_.ports) {
            same |= q.name == p.name && (p.ofport == 0 || q.ofport == p.ofport) &&
                    q.options == p.options;
        }
        if (!same) {
            rep.error(lt.toks[0].pos, l.text.size(), "port not in the running switch", l.text,
                      "ports are set when swd starts", detail::known_ports_text({}, ctx_, false));
            return;
        }
        return; // already known with its number
    }
    for (const auto& q : ctx_.ports) {
        if (q.ofport != 0 && (q.name == p.name) != (q.ofport == p.ofport) &&
            (q.name == p.name || p.ofport != 0)) {
            rep.error(lt.toks[0].pos, l.text.size(), "port conflicts with a known port", l.text,
                      fmt::format("port {} is {}", q.name, q.ofport),
                      "the same name and number as the running switch");
            return;
        }
    }
    resolved_ports_.push_back(p);
}

// A complete rule set may not give the same rule (table, priority, match) twice: one of the two
// would silently vanish.
void text_parser::check_duplicate_rules() {
    // Sort (identity hash, index) pairs and compare neighbours with equal hashes: sequential
    // memory access, unlike probing a hash table as large as the rule set.
    const auto& mods = out_.mods;
    std::vector<std::pair<uint64_t, uint32_t>> order(mods.size());
    for (uint32_t i = 0; i < mods.size(); i++) {
        const rule& r = mods[i].spec;
        order[i] = {dp::hash_words(r.match.value.w, dp::key_words,
                                   dp::hash_words(r.match.mask.w, dp::key_words,
                                                  uint64_t{r.priority} << 8 | r.table)),
                    i};
    }
    std::sort(order.begin(), order.end());
    std::vector<std::pair<uint32_t, uint32_t>> dups; // (later, earlier) line indexes
    for (size_t a = 0; a < order.size();) {
        size_t b = a + 1;
        while (b < order.size() && order[b].first == order[a].first) {
            b++;
        }
        for (size_t i = a + 1; i < b; i++) { // rare: equal hashes
            for (size_t j = a; j < i; j++) {
                if (mods[order[i].second].spec.same_identity(mods[order[j].second].spec)) {
                    dups.emplace_back(order[i].second, order[j].second);
                    break;
                }
            }
        }
        a = b;
    }
    std::sort(dups.begin(), dups.end());
    for (auto [later, earlier] : dups) {
        diagnostic d;
        d.source = name_;
        d.line = mods[later].line;
        d.column = 1;
        d.line_text = source_text(text_, name_).line_text(d.line);
        d.length = static_cast<int>(d.line_text.size());
        d.what = "duplicate rule";
        d.detail =
            fmt::format("line {} has the same table, priority and match", mods[earlier].line);
        d.expected = "each rule once (a later one would replace the earlier)";
        out_.errors.push_back(std::move(d));
        if (too_many_errors()) {
            return;
        }
    }
}

void text_parser::number_ports() {
    // Ports named on the command line (ofport 0 in the context) take numbers after the file's
    // declarations, in command-line order.
    for (const auto& q : ctx_.ports) {
        if (q.ofport == 0 && std::none_of(resolved_ports_.begin(), resolved_ports_.end(),
                                          [&](const port_decl& p) { return p.name == q.name; })) {
            resolved_ports_.push_back(q);
        }
    }
    auto used = [&](uint16_t n) {
        for (const std::vector<port_decl>* list : {&std::as_const(resolved_ports_), &ctx_.ports}) {
            for (const auto& p : *list) {
                if (p.ofport == n) {
                    return true;
                }
            }
        }
        return false;
    };
    uint16_t next = 1;
    for (auto& p : resolved_ports_) {
        if (p.ofport == 0) {
            while (used(next)) {
                next++;
            }
            p.ofport = next;
        }
    }
}

// One option of a port= line (or of swd --port) other than ofport.
bool parse_port_option(line_reporter& rep, const token& t, port_options& o) {
    constexpr const char* known =
        "ofport=N, xdp-mode=best-effort|native-with-zerocopy|native|generic, "
        "use-need-wakeup=true|false, wait=spin|poll|busy, busy-poll-usecs=N, "
        "busy-poll-budget=N, napi-defer-hard-irqs=N, gro-flush-timeout=NS, n_rxq=N or "
        "queues=A[-B], "
        "user-queues=A[-B], kernel-queues=A[-B]";
    const size_t vlen = std::max<size_t>(t.value.size(), 1);
    std::string why;
    auto bad = [&](const char* expected) {
        rep.error(t.value_pos, vlen, fmt::format("invalid {} value", t.name), t.value, why,
                  expected);
        return false;
    };
    auto number = [&](uint32_t& out, uint64_t max, const char* expected) {
        uint64_t n = 0;
        if (!parse_uint(t.value, max, n, why)) {
            return bad(expected);
        }
        out = static_cast<uint32_t>(n);
        return true;
    };
    if (!t.has_value) {
        rep.error(t.pos, t.name.size(), "unknown port option", t.name, "", known);
        return false;
    }
    if (t.name == "xdp-mode") {
        static constexpr std::pair<std::string_view, port_options::xdp_mode> modes[] = {
            {"best-effort", port_options::xdp_mode::best_effort},
            {"native-with-zerocopy", port_options::xdp_mode::native_with_zerocopy},
            {"native", port_options::xdp_mode::native},
            {"generic", port_options::xdp_mode::generic}};
        for (auto [name, m] : modes) {
            if (t.value == name) {
                o.xdp = m;
                return true;
            }
        }
        return bad("best-effort, native-with-zerocopy, native or generic");
    }
    if (t.name == "use-need-wakeup") {
        if (t.value != "true" && t.value != "false") {
            return bad("true or false");
        }
        o.use_need_wakeup = t.value == "true";
        return true;
    }
    if (t.name == "wait") {
        if (t.value == "spin" || t.value == "poll" || t.value == "busy") {
            o.wait = t.value == "spin"   ? port_options::wait_mode::spin
                     : t.value == "poll" ? port_options::wait_mode::poll
                                         : port_options::wait_mode::busy;
            return true;
        }
        return bad("spin (busy loop on the rings), poll (sleep in poll()) or busy (preferred "
                   "busy polling)");
    }
    if (t.name == "busy-poll-usecs") {
        return number(o.busy_poll_usecs, 1000000, "microseconds 0-1000000");
    }
    if (t.name == "busy-poll-budget") {
        return number(o.busy_poll_budget, 65535, "packets 0-65535");
    }
    if (t.name == "napi-defer-hard-irqs") {
        return number(o.napi_defer_hard_irqs, INT32_MAX, "a count 0-2147483647");
    }
    if (t.name == "gro-flush-timeout") {
        return number(o.gro_flush_timeout, UINT32_MAX, "nanoseconds");
    }
    if (t.name == "n_rxq") {
        o.first_queue = 0;
        if (!number(o.n_queues, 256, "a queue count 1-256")) {
            return false;
        }
        if (o.n_queues == 0) {
            why = "0 queues";
            return bad("a queue count 1-256");
        }
        return true;
    }
    auto range = [&](uint32_t& first, uint32_t& count) {
        size_t dash = t.value.find('-');
        uint64_t a = 0, b = 0;
        if (!parse_uint(t.value.substr(0, dash), 255, a, why) ||
            (dash != std::string_view::npos &&
             !parse_uint(t.value.substr(dash + 1), 255, b, why)) ||
            (dash != std::string_view::npos && b < a)) {
            if (why.empty()) {
                why = "the range is backwards";
            }
            return bad("a queue number or range such as 0-3 (queues 0-255)");
        }
        first = static_cast<uint32_t>(a);
        count = static_cast<uint32_t>((dash == std::string_view::npos ? a : b) - a + 1);
        return true;
    };
    if (t.name == "queues") {
        return range(o.first_queue, o.n_queues);
    }
    if (t.name == "user-queues" || t.name == "kernel-queues") {
        const bool user = t.name == "user-queues";
        if (!range(user ? o.first_user_queue : o.first_kernel_queue,
                   user ? o.n_user_queues : o.n_kernel_queues)) {
            return false;
        }
        if (o.n_user_queues != 0 && o.n_kernel_queues != 0 &&
            o.first_user_queue < o.first_kernel_queue + o.n_kernel_queues &&
            o.first_kernel_queue < o.first_user_queue + o.n_user_queues) {
            why = "user-queues and kernel-queues overlap";
            return bad("queues that are not also in the other list");
        }
        return true;
    }
    rep.error(t.pos, t.whole().size(), "unknown port option", t.whole(), "", known);
    return false;
}

bool parse_endpoint(std::string_view s, bool& ipv6, uint32_t addr[4], uint16_t& port,
                    std::string& why) {
    std::string_view host, port_s;
    if (!s.empty() && s[0] == '[') {
        size_t close = s.find(']');
        if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':') {
            why = "an IPv6 endpoint is written [ADDR]:PORT";
            return false;
        }
        host = s.substr(1, close - 1);
        port_s = s.substr(close + 2);
        ipv6 = true;
    } else {
        size_t colon = s.rfind(':');
        if (colon == std::string_view::npos) {
            why = "the port is missing";
            return false;
        }
        host = s.substr(0, colon);
        port_s = s.substr(colon + 1);
        ipv6 = false;
    }
    std::fill(addr, addr + 4, 0);
    if (ipv6 ? !parse_ipv6(host, addr, why) : !parse_ipv4(host, addr[0], why)) {
        return false;
    }
    uint64_t p = 0;
    if (!parse_uint(port_s, 65535, p, why) || p == 0) {
        why = port_s.find_first_not_of("0123456789") == std::string_view::npos && !port_s.empty()
                  ? fmt::format("port {} is out of range 1-65535", port_s)
                  : "port: " + why;
        return false;
    }
    port = static_cast<uint16_t>(p);
    return true;
}

constexpr const char* backend_form =
    "backend=ADDR:PORT/MAC[/weight=N][/state=up|drain|down] (IPv6: [ADDR]:PORT/...)";
constexpr const char* backend_option_form =
    "weight=1-65535 or state=up|drain|down, each at most once";

// One weight= or state= of a backend; false when s is neither or repeats one already given.
bool parse_backend_option(std::string_view s, backend& b, bool& weight_given, bool& state_given) {
    uint64_t w = 0;
    std::string why;
    if (s.starts_with("weight=") && !weight_given && parse_uint(s.substr(7), 65535, w, why) &&
        w > 0) {
        b.weight = static_cast<uint16_t>(w);
        weight_given = true;
        return true;
    }
    if (s.starts_with("state=") && !state_given &&
        (s == "state=up" || s == "state=drain" || s == "state=down")) {
        b.state = s == "state=up"      ? backend_state::up
                  : s == "state=drain" ? backend_state::drain
                                       : backend_state::down;
        state_given = true;
        return true;
    }
    return false;
}

// The value of backend= (ADDR:PORT/MAC[/weight=N][/state=S]) at value_pos of rep's line; an error
// is reported there. Shared by lb_pool declarations and swctl add-backend.
bool parse_backend_value(line_reporter& rep, std::string_view v, size_t value_pos, backend& b) {
    const size_t vlen = std::max<size_t>(v.size(), 1);
    std::string why;
    if (std::count(v.begin(), v.end(), '[') != std::count(v.begin(), v.end(), ']')) {
        rep.error(value_pos, vlen, "invalid backend", v, "unbalanced '[' and ']'", backend_form);
        return false;
    }
    std::vector<std::string_view> parts;
    size_t start = 0;
    // Split on '/' outside [ ].
    for (size_t k = 0, depth = 0; k <= v.size(); k++) {
        if (k < v.size() && v[k] == '[') {
            depth++;
        } else if (k < v.size() && v[k] == ']') {
            depth--;
        } else if (k == v.size() || (v[k] == '/' && depth == 0)) {
            parts.push_back(v.substr(start, k - start));
            start = k + 1;
        }
    }
    if (parts.size() < 2) {
        rep.error(value_pos, vlen, "invalid backend", v, "the next-hop MAC is missing",
                  backend_form);
        return false;
    }
    if (!parse_endpoint(parts[0], b.ipv6, b.addr, b.port, why)) {
        rep.error(value_pos, parts[0].size(), "invalid backend address", parts[0], why,
                  backend_form);
        return false;
    }
    size_t mac_pos = value_pos + (parts[1].data() - v.data());
    if (!parse_mac(parts[1], b.mac, why)) {
        rep.error(mac_pos, std::max<size_t>(parts[1].size(), 1), "invalid backend MAC", parts[1],
                  why, backend_form);
        return false;
    }
    bool weight_given = false, state_given = false;
    for (size_t k = 2; k < parts.size(); k++) {
        if (!parse_backend_option(parts[k], b, weight_given, state_given)) {
            size_t ppos = value_pos + (parts[k].data() - v.data());
            rep.error(ppos, std::max<size_t>(parts[k].size(), 1), "invalid backend option",
                      parts[k], "", backend_option_form);
            return false;
        }
    }
    return true;
}

void text_parser::parse_pool(const source_text& src, const source_text::logical_line& l) {
    line_reporter rep(src, l, out_.errors, out_.warnings);
    line_tokens lt;
    tokenize(l.text, 0, lt);
    if (mode_ == parse_mode::match || mode_ == parse_mode::modify) {
        rep.error(lt.toks[0].pos, lt.toks[0].whole().size(), "pool declaration not allowed here",
                  lt.toks[0].whole(), "", "a match");
        return;
    }
    lb_pool pool;
    bool vip_given = false;
    std::string why;
    for (size_t i = 0; i < lt.toks.size(); i++) {
        const token& t = lt.toks[i];
        const size_t vlen = std::max<size_t>(t.value.size(), 1);
        if (i == 0) {
            bool ok = !t.value.empty() && t.value.size() <= 64;
            for (char c : t.value) {
                ok &=
                    std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
            }
            if (!ok) {
                rep.error(t.value_pos, vlen, "invalid pool name", t.value, "",
                          "1-64 letters, digits, '_', '-' or '.'");
                return;
            }
            pool.name = std::string(t.value);
        } else if (t.name == "vip" && t.has_value) {
            size_t slash = t.value.rfind('/');
            std::string_view ep = t.value.substr(0, slash);
            std::string_view proto =
                slash == std::string_view::npos ? std::string_view{} : t.value.substr(slash + 1);
            if (vip_given) {
                rep.error(t.pos, t.whole().size(), "duplicate vip", t.whole(), "",
                          "one vip= per pool");
                return;
            }
            if (!parse_endpoint(ep, pool.ipv6, pool.vip, pool.vip_port, why)) {
                rep.error(t.value_pos, vlen, "invalid vip", t.value, why,
                          "ADDR:PORT/tcp or ADDR:PORT/udp (IPv6: [ADDR]:PORT/tcp)");
                return;
            }
            if (proto != "tcp" && proto != "udp") {
                rep.error(t.value_pos, vlen, "invalid vip", t.value,
                          "the protocol is missing or unknown", "ADDR:PORT/tcp or ADDR:PORT/udp");
                return;
            }
            pool.proto = proto == "tcp" ? 6 : 17;
            vip_given = true;
        } else if (t.name == "backend" && t.has_value) {
            backend b;
            if (!parse_backend_value(rep, t.value, t.value_pos, b)) {
                return;
            }
            pool.backends.push_back(b);
        } else {
            rep.error(t.pos, t.whole().size(), "unknown pool option", t.whole(), "",
                      "vip=ADDR:PORT/PROTO or " + std::string(backend_form));
            return;
        }
    }
    if (!vip_given) {
        rep.error(0, l.text.size(), "pool without a vip", pool.name, "",
                  "vip=ADDR:PORT/tcp or ADDR:PORT/udp");
        return;
    }
    if (pool.backends.size() > SWD_LB_MAX_BACKENDS) {
        rep.error(0, l.text.size(), "too many backends", pool.name,
                  fmt::format("{} backends", pool.backends.size()),
                  fmt::format("at most {} per pool (the Maglev table's size / 100)",
                              SWD_LB_MAX_BACKENDS));
        return;
    }
    for (size_t k = 0; k < pool.backends.size(); k++) {
        if (pool.backends[k].ipv6 != pool.ipv6) {
            rep.error(0, l.text.size(), "backend family differs from the vip", pool.name,
                      fmt::format("backend {} is IPv{}, the vip is IPv{}", k + 1,
                                  pool.backends[k].ipv6 ? 6 : 4, pool.ipv6 ? 6 : 4),
                      "backends of the vip's address family");
            return;
        }
        for (size_t j = 0; j < k; j++) {
            if (std::equal(pool.backends[j].addr, pool.backends[j].addr + 4,
                           pool.backends[k].addr) &&
                pool.backends[j].port == pool.backends[k].port) {
                rep.error(
                    0, l.text.size(), "duplicate backend", pool.name,
                    fmt::format("backends {} and {} have the same address and port", j + 1, k + 1),
                    "each backend once");
                return;
            }
        }
    }
    for (const auto& q : out_.pools) {
        if (q.name == pool.name) {
            rep.error(lt.toks[0].value_pos, pool.name.size(), "duplicate pool", pool.name, "",
                      "each pool declared once");
            return;
        }
        if (q.ipv6 == pool.ipv6 && q.proto == pool.proto && q.vip_port == pool.vip_port &&
            std::equal(q.vip, q.vip + 4, pool.vip)) {
            rep.error(lt.toks[0].value_pos, pool.name.size(), "vip already in use", pool.name,
                      fmt::format("pool {} has the same vip", q.name),
                      "one pool per address, port and protocol");
            return;
        }
    }
    // Keep the id of a pool the switch already has; new pools take the lowest free id.
    const lb_pool* known = nullptr;
    for (const auto& q : ctx_.pools) {
        if (q.name == pool.name) {
            known = &q;
        } else if (mode_ == parse_mode::flow_mods && q.ipv6 == pool.ipv6 && q.proto == pool.proto &&
                   q.vip_port == pool.vip_port && std::equal(q.vip, q.vip + 4, pool.vip)) {
            rep.error(lt.toks[0].value_pos, pool.name.size(), "vip already in use", pool.name,
                      fmt::format("the running pool {} has the same vip", q.name),
                      "one pool per address, port and protocol");
            return;
        }
    }
    if (known && mode_ == parse_mode::flow_mods) {
        lb_pool cmp = pool;
        cmp.id = known->id;
        if (!(cmp == *known)) {
            rep.error(lt.toks[0].value_pos, pool.name.size(), "pool already exists", pool.name,
                      "the running switch has a different definition",
                      "the same definition, or replace-flows to change it");
            return;
        }
    }
    if (known) {
        pool.id = known->id;
    } else {
        uint16_t id = 0;
        auto taken = [&](uint16_t x) {
            for (const std::vector<lb_pool>* list : {&std::as_const(out_.pools), &ctx_.pools}) {
                for (const auto& q : *list) {
                    if (q.id == x) {
                        return true;
                    }
                }
            }
            return false;
        };
        while (taken(id)) {
            id++;
        }
        pool.id = id;
    }
    out_.pools.push_back(std::move(pool));
}

void text_parser::parse_rule(const source_text& src, const source_text::logical_line& l) {
    line_reporter rep(src, l, out_.errors, out_.warnings);
    flow_mod fm;
    fm.line = l.first_line;
    std::string_view text = l.text;

    // Optional command keyword.
    size_t from = 0;
    {
        size_t i = 0;
        while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) {
            i++;
        }
        size_t start = i;
        while (i < text.size() && !is_sep(text[i]) && text[i] != '=') {
            i++;
        }
        std::string_view word = text.substr(start, i - start);
        bool keyword_end = i == text.size() || text[i] == ' ' || text[i] == '\t';
        static constexpr struct {
            std::string_view name;
            flow_command cmd;
        } cmds[] = {{"add", flow_command::add},
                    {"modify", flow_command::modify},
                    {"modify_strict", flow_command::modify_strict},
                    {"delete", flow_command::del},
                    {"delete_strict", flow_command::del_strict}};
        for (const auto& c : cmds) {
            if (keyword_end && word == c.name) {
                if (mode_ != parse_mode::flow_mods &&
                    !(mode_ == parse_mode::config && c.cmd == flow_command::add)) {
                    rep.error(
                        start, word.size(), "command keyword not allowed here", word,
                        mode_ == parse_mode::config ? "a configuration file only adds rules" : "",
                        mode_ == parse_mode::config ? "a rule, or 'add' before it" : "a match");
                    return;
                }
                fm.command = c.cmd;
                from = i;
            }
        }
    }
    if (mode_ == parse_mode::match) {
        fm.command = ctx_.strict ? flow_command::del_strict : flow_command::del;
    } else if (mode_ == parse_mode::modify) {
        fm.command = ctx_.strict ? flow_command::modify_strict : flow_command::modify;
    }
    const bool is_add = fm.command == flow_command::add;
    const bool is_del = fm.command == flow_command::del || fm.command == flow_command::del_strict;
    const bool strict =
        fm.command == flow_command::del_strict || fm.command == flow_command::modify_strict;
    std::string cmd_name = !ctx_.command.empty()         ? ctx_.command
                           : mode_ == parse_mode::config ? "a configuration"
                           : is_add                      ? "add-flow"
                           : is_del                      ? "del-flows"
                                                         : "mod-flows";
    if (strict && mode_ != parse_mode::flow_mods) {
        cmd_name += " --strict";
    }
    const size_t first_warning = out_.warnings.size();

    line_tokens& lt = tokens_; // reused: no allocation per line
    tokenize(text, from, lt);
    detail::match_parser mp(rep, ctx_, resolved_ports_);

    bool priority_given = false, table_given = false, cookie_value_given = false,
         cookie_mask_given = false, idle_given = false, hard_given = false, placement_given = false,
         out_port_given = false;
    size_t queue_pos = 0, queue_len = 0; // where queue= was, for the checks after the loop
    std::string why;
    for (const token& t : lt.toks) {
        if (rep.failed()) {
            return; // one error a line: later ones are usually its consequences
        }
        const size_t vlen = std::max<size_t>(t.value.size(), 1);
        auto dup = [&](bool& given) {
            if (given) {
                rep.error(t.pos, t.whole().size(), "duplicate field", t.whole(),
                          fmt::format("{} is already set", t.name), "each field at most once");
                return true;
            }
            given = true;
            return false;
        };
        auto number = [&](uint64_t max, uint64_t& out, const char* expected) {
            if (!parse_uint(t.value, max, out, why)) {
                rep.error(t.value_pos, vlen, fmt::format("invalid {} value", t.name), t.value, why,
                          expected);
                return false;
            }
            return true;
        };
        if (t.has_value && t.name == "priority") {
            uint64_t p = 0;
            if (dup(priority_given) || !number(65535, p, "a priority 0-65535")) {
                continue;
            }
            if (!is_add && !strict) {
                rep.error(t.pos, t.whole().size(), "priority has no effect here", t.whole(),
                          fmt::format("non-strict {} ignores priorities", cmd_name),
                          "--strict (or delete_strict/modify_strict) to select by priority");
                continue;
            }
            fm.spec.priority = static_cast<uint16_t>(p);
        } else if (t.has_value && t.name == "table") {
            uint64_t n = 0;
            if (dup(table_given) || !number(SWD_MAX_TABLE, n, "a table number 0-254")) {
                continue;
            }
            fm.spec.table = static_cast<uint8_t>(n);
            fm.table_given = true;
        } else if (t.has_value && t.name == "cookie") {
            size_t slash = t.value.find('/');
            uint64_t c = 0, m = 0;
            if (!parse_uint(t.value.substr(0, slash), UINT64_MAX, c, why) ||
                (slash != std::string_view::npos && t.value.substr(slash + 1) != "-1" &&
                 !parse_uint(t.value.substr(slash + 1), UINT64_MAX, m, why))) {
                rep.error(t.value_pos, vlen, "invalid cookie value", t.value, why,
                          "a 64-bit number, with /MASK only to select rules");
                continue;
            }
            if (slash != std::string_view::npos) {
                if (t.value.substr(slash + 1) == "-1") {
                    m = UINT64_MAX;
                }
                if (is_add) {
                    rep.error(t.value_pos, vlen, "cookie mask not allowed when adding", t.value,
                              "a mask selects existing rules",
                              "cookie=VALUE without /MASK (masks go with del-flows, mod-flows, "
                              "dump-flows)");
                    continue;
                }
                if (dup(cookie_mask_given)) {
                    continue;
                }
                fm.cookie_filter = c & m;
                fm.cookie_mask = m;
            } else {
                if (dup(cookie_value_given)) {
                    continue;
                }
                if (is_add && c == UINT64_MAX) {
                    rep.error(t.value_pos, vlen, "reserved cookie value", t.value,
                              "OpenFlow reserves all-ones cookies",
                              "a cookie below 0xffffffffffffffff");
                    continue;
                }
                if (is_del) { // del-flows/dump-flows: an unmasked cookie selects exactly
                    if (cookie_mask_given) {
                        rep.error(t.pos, t.whole().size(), "duplicate field", t.whole(),
                                  "cookie is already set", "one cookie filter");
                        continue;
                    }
                    cookie_mask_given = true;
                    fm.cookie_filter = c;
                    fm.cookie_mask = UINT64_MAX;
                } else {
                    fm.spec.cookie = c;
                    fm.cookie_given = true;
                }
            }
        } else if (t.has_value && (t.name == "idle_timeout" || t.name == "hard_timeout")) {
            uint64_t s = 0;
            bool& given = t.name == "idle_timeout" ? idle_given : hard_given;
            if (dup(given) || !number(65535, s, "seconds 0-65535")) {
                continue;
            }
            if (!is_add) {
                rep.error(t.pos, t.whole().size(), fmt::format("{} has no effect here", t.name),
                          t.whole(), "timeouts are set when a rule is added",
                          "add-flow (or replace-flows) to change a timeout");
                continue;
            }
            (t.name == "idle_timeout" ? fm.spec.idle_timeout : fm.spec.hard_timeout) =
                static_cast<uint16_t>(s);
        } else if (t.has_value && t.name == "placement") {
            if (dup(placement_given)) {
                continue;
            }
            fm.placement_given = true;
            if (t.value == "auto") {
                fm.spec.place = placement::automatic;
            } else if (t.value == "xdp") {
                fm.spec.place = placement::xdp;
            } else if (t.value == "user") {
                fm.spec.place = placement::user;
            } else {
                rep.error(t.value_pos, vlen, "invalid placement value", t.value, "",
                          "auto, xdp or user");
                continue;
            }
            if (is_del) {
                rep.error(t.pos, t.whole().size(), "placement has no effect here", t.whole(), "",
                          "a match");
            }
        } else if (t.has_value && t.name == "queue") {
            uint64_t q = 0;
            if (dup(fm.queue_given) || !number(SWD_XDP_MAX_QUEUES - 1, q,
                                               "a receive queue 0-63 (the dispatcher's queues)")) {
                continue;
            }
            if (is_del) {
                rep.error(t.pos, t.whole().size(), "queue has no effect here", t.whole(),
                          fmt::format("{} does not select rules by their steering", cmd_name),
                          "a match");
                continue;
            }
            fm.spec.queue = static_cast<uint16_t>(q);
            queue_pos = t.pos;
            queue_len = t.whole().size();
        } else if (t.has_value && t.name == "out_port") {
            if (dup(out_port_given)) {
                continue;
            }
            if (!is_del) {
                rep.error(t.pos, t.whole().size(), "out_port not allowed here", t.whole(),
                          fmt::format("{} does not select rules by output port", cmd_name),
                          "out_port= only with del-flows or dump-flows");
                continue;
            }
            const port_decl* p = detail::find_port(resolved_ports_, ctx_, t.value);
            if (!p) {
                rep.error(t.value_pos, vlen, "unknown port", t.value, "",
                          detail::known_ports_text(resolved_ports_, ctx_));
                continue;
            }
            fm.out_port = p->ofport;
        } else if (!t.has_value && is_property(t.name)) {
            rep.error(t.pos, t.name.size(), "missing value for field", t.name, "",
                      fmt::format("{}=VALUE (no spaces around '=')", t.name));
        } else if (t.has_value &&
                   (t.name == "duration" || t.name == "n_packets" || t.name == "n_bytes" ||
                    t.name == "idle_age" || t.name == "hard_age" || t.name == "runs" ||
                    t.name == "steering")) {
            // Statistics printed by dump-flows: ignored so that its output can be fed back.
        } else if (!mp.apply(t)) {
            std::string hint = t.name.find_first_not_of("0123456789") == std::string_view::npos
                                   ? std::string()
                                   : closest_name(t.name, all_keywords);
            std::string expected = "a match field, a property such as priority=, or actions=";
            if (!hint.empty()) {
                expected += fmt::format(" (did you mean '{}'?)", hint);
            }
            const bool keyword = t.name == "add" || t.name == "modify" || t.name == "delete" ||
                                 t.name == "modify_strict" || t.name == "delete_strict";
            if (t.name.empty()) {
                rep.error(t.pos, 1, "unexpected '='", "", "a field name is missing before it",
                          "NAME=VALUE with no spaces around '='");
            } else if (keyword && !t.has_value &&
                       (mode_ == parse_mode::flow_mods ||
                        (mode_ == parse_mode::config && t.name == "add"))) {
                rep.error(t.pos, t.name.size(), "misplaced command keyword", t.name,
                          "a command keyword starts the line and is followed by a space",
                          fmt::format("'{} RULE'", t.name));
            } else if (keyword && !t.has_value) {
                rep.error(t.pos, t.name.size(), "command keyword not allowed here", t.name,
                          mode_ == parse_mode::config ? "a configuration file only adds rules" : "",
                          mode_ == parse_mode::config ? "a rule" : "a match");
            } else {
                rep.error(t.pos, t.name.size(), t.has_value ? "unknown field" : "unknown keyword",
                          t.name, "", expected);
            }
        }
    }
    mp.finish();
    fm.spec.match = mp.match();
    if (fm.spec.queue && !rep.failed()) {
        if (fm.spec.table != 0) {
            rep.error(
                queue_pos, queue_len, "queue has no effect here", text.substr(queue_pos, queue_len),
                fmt::format("packets arrive in table 0, this rule is in table {}", fm.spec.table),
                "queue= on a rule of table 0");
        } else if (fm.spec.place == placement::xdp) {
            rep.error(queue_pos, queue_len, "queue conflicts with placement=xdp",
                      text.substr(queue_pos, queue_len),
                      "a steered flow goes to the queue's AF_XDP socket: it runs in user space",
                      "placement=user or auto with queue=");
        }
    }

    if (is_del) {
        if (lt.has_actions) {
            rep.error(lt.actions_key_pos, text.size() - lt.actions_key_pos,
                      fmt::format("actions not allowed in {}", cmd_name),
                      text.substr(lt.actions_key_pos), "it selects rules by their match",
                      "a match only");
        }
    } else if (!lt.has_actions) {
        if (!rep.failed()) {
            rep.error(text.size(), 1, "missing actions", "", "every rule needs an action list",
                      "actions=... at the end (actions=drop to drop)");
        }
    } else if (!rep.failed()) {
        std::string_view acts = lt.actions;
        while (!acts.empty() && (acts.back() == ' ' || acts.back() == '\t')) {
            acts.remove_suffix(1);
        }
        static const std::vector<lb_pool> none;
        detail::parse_actions(rep, acts, lt.actions_pos, ctx_, resolved_ports_, out_.pools,
                              mode_ == parse_mode::config ? none : ctx_.pools, mp.summary(),
                              fm.spec.table, fm.spec.actions);
    }
    if (!rep.failed()) {
        out_.mods.push_back(std::move(fm));
    } else {
        out_.warnings.resize(first_warning); // the error says what matters about this line
    }
}

} // namespace

std::string parse_output::error_count() const {
    return fmt::format("{} error{}{}", errors.size(), errors.size() == 1 ? "" : "s",
                       more_errors ? " (stopped there)" : "");
}

std::string check_port_name(std::string_view n) {
    if (n.empty() || n.size() > 15) {
        return "an interface name has 1-15 characters";
    }
    if (n.find_first_of("/ \t,=:()#\\") != std::string_view::npos) {
        return "it contains a character that flow text uses as syntax";
    }
    uint64_t v = 0;
    std::string why;
    if (parse_uint(n, UINT64_MAX, v, why)) {
        return "it reads as a port number";
    }
    std::string lower(n);
    for (char& c : lower) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    if (detail::is_action_name(lower) || lower == "none" || lower == "any") {
        return "it is an action keyword";
    }
    return {};
}

parse_output parse_flows(std::string_view text, std::string_view source_name, parse_mode mode,
                         const parse_context& ctx) {
    return text_parser(text, source_name, mode, ctx).run();
}

backend_parse parse_backend(std::string_view text, std::string_view source_name, backend_arg form) {
    backend_parse out;
    constexpr const char* address_form = "ADDR:PORT (IPv6: [ADDR]:PORT)";
    source_text src(text, std::string(source_name));
    source_text::logical_line l;
    const bool any = src.next(l);
    std::vector<diagnostic> warnings;
    line_reporter rep(src, l, out.errors, warnings);
    struct word {
        std::string_view text;
        size_t pos;
    };
    std::vector<word> words;
    for (size_t i = 0; any && i < l.text.size();) {
        if (is_sep(l.text[i])) {
            i++;
            continue;
        }
        size_t start = i;
        while (i < l.text.size() && !is_sep(l.text[i])) {
            i++;
        }
        words.push_back({l.text.substr(start, i - start), start});
    }
    if (words.empty()) {
        diagnostic d;
        d.source = std::string(source_name);
        d.line = 1;
        d.column = 1;
        d.what = "empty backend";
        d.expected = form == backend_arg::full     ? backend_form
                     : form == backend_arg::update ? "ADDR:PORT weight=N and/or state=S"
                                                   : address_form;
        out.errors.push_back(std::move(d));
        return out;
    }
    // A backend is named by its address and port; the MAC and options belong to add-backend.
    auto address = [&](const word& w) {
        std::string why;
        if (w.text.find('/') != std::string_view::npos) {
            rep.error(w.pos, w.text.size(), "invalid backend address", w.text,
                      "a backend is named by its address and port only", address_form);
            return false;
        }
        if (!parse_endpoint(w.text, out.b.ipv6, out.b.addr, out.b.port, why)) {
            rep.error(w.pos, w.text.size(), "invalid backend address", w.text, why, address_form);
            return false;
        }
        return true;
    };
    switch (form) {
    case backend_arg::full: {
        word w = words[0];
        if (w.text.starts_with("backend=")) { // as copied from a pool's text
            w.text.remove_prefix(8);
            w.pos += 8;
        }
        if (!parse_backend_value(rep, w.text, w.pos, out.b)) {
            return out;
        }
        if (words.size() > 1) {
            rep.error(words[1].pos, words[1].text.size(), "unexpected text after the backend",
                      words[1].text, "options are joined with '/'", backend_form);
            return out;
        }
        break;
    }
    case backend_arg::address:
        if (!address(words[0])) {
            return out;
        }
        if (words.size() > 1) {
            rep.error(words[1].pos, words[1].text.size(), "unexpected text after the backend",
                      words[1].text, "", address_form);
            return out;
        }
        break;
    case backend_arg::update:
        if (!address(words[0])) {
            return out;
        }
        if (words.size() == 1) {
            rep.error(words[0].pos, words[0].text.size(), "nothing to set for backend",
                      words[0].text, "", "weight=1-65535 and/or state=up|drain|down after it");
            return out;
        }
        for (size_t k = 1; k < words.size(); k++) {
            if (!parse_backend_option(words[k].text, out.b, out.weight_given, out.state_given)) {
                rep.error(words[k].pos, std::max<size_t>(words[k].text.size(), 1),
                          "invalid backend option", words[k].text, "", backend_option_form);
                return out;
            }
        }
        break;
    }
    if (src.next(l)) {
        std::vector<diagnostic> unused;
        line_reporter more(src, l, out.errors, unused);
        more.error(0, l.text.size(), "more than one backend", l.text, "",
                   "one backend on one line");
    }
    return out;
}

} // namespace swd::flows
