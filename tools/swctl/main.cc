// swctl: reads and changes a running swd through its control socket, like ovs-ofctl.
//
// Exit codes: 0 success, 1 the request failed or swd could not be reached (nothing changed),
// 2 bad command line; diff-flows: 0 no difference, 1 error, 2 differences found.
#include <boost/program_options.hpp>
#include <cstdio>
#include <fmt/core.h>
#include <iostream>
#include <iterator>
#include <map>
#include <sys/stat.h>
#include <unistd.h>

#include "flows/format.h"
#include "flows/parser.h"
#include "flows/rule_table.h"
#include "tools/control/protocol.h"
#include "tools/control/service.h"

namespace po = boost::program_options;
using namespace swd;
using ctl::json;

namespace {

constexpr const char* usage =
    R"(usage: swctl [options] COMMAND [ARG...]

Commands:
  add-flow RULE              add (or, with a leading keyword, modify/delete) one rule
  add-flows FILE             apply every line of FILE ('-' for stdin); lines may start
                             with add, modify, delete, modify_strict or delete_strict
  del-flows [MATCH]          delete rules covered by MATCH (all rules without MATCH)
  mod-flows RULE             set the actions of rules covered by RULE's match
  replace-flows FILE         make the table exactly FILE, atomically
  dump-flows [MATCH]         print rules (those covered by MATCH) with their statistics
  diff-flows SRC1 SRC2       print rules that differ; a SRC is a file, or 'swd' (or any
                             name containing ':', such as unix:/run/swd/swd.sock) for
                             the running switch
  add-backend POOL BACKEND   add a backend to POOL; BACKEND is written as in a pool's
                             backend=: ADDR:PORT/MAC[/weight=N][/state=up|drain|down]
  del-backend POOL ADDR:PORT remove a backend from POOL
  set-backend POOL ADDR:PORT [weight=N] [state=up|drain|down]
                             change a backend's weight or state (drain: no new sessions)
  dump-pools [POOL]          print the pools (or POOL) in flow-file syntax
  dump-conntrack [N]         print the tracked connections (at most N, default 1000) of the
                             tracker in use (XDP or user space), with their idle times
  flush-conntrack            forget every tracked connection (both trackers)
  set placement=PROFILE      where placement=auto rules run from now on: hybrid, all-xdp,
                             all-user, adaptive or calibrated (as swd --profile)
  calibrate [SECONDS]        measure what a packet costs in XDP and in user space on this
                             machine (a live sample of SECONDS, default 1, of the traffic
                             running) and print where the calibrated profile puts each kind
                             of rule
  show                       ports, threads, tables, pools and memory of the switch
  dump-ports [PORT]          per port and queue: packets, drops by cause, ring events
  ping                       check that swd answers

A backend change keeps established sessions on their backends; new sessions follow the
new pool.

Options)";

struct cli {
    std::string control = ctl::default_socket_path;
    std::string format = "text";
    bool strict = false;
    bool no_stats = false;
    bool verbose = false;
    std::vector<std::string> args;
};

void print_diagnostics(const json& err) {
    if (err.contains("diagnostics")) {
        for (const auto& d : err["diagnostics"]) {
            fmt::print(stderr, "{}\n", d.value("text", ""));
        }
    }
}

result<ctl::client> connect(const std::string& path) {
    auto c = ctl::client::connect(path);
    if (!c) {
        return fail(with_context(std::move(c).err(),
                                 "cannot reach swd (is it running? use --control PATH)"));
    }
    return c;
}

// Sends a request (and raw flow text after it, if any) and prints failures; returns the result
// on success.
std::optional<json> call(const cli& c, json req, std::string_view attachment = {}) {
    auto cl = connect(c.control);
    if (!cl) {
        fmt::print(stderr, "swctl: {}\n", cl.err().message());
        return std::nullopt;
    }
    auto r = cl->call(req, attachment);
    if (!r) {
        fmt::print(stderr, "swctl: {}\n", r.err().message());
        return std::nullopt;
    }
    const json& resp = *r;
    if (!resp.value("ok", false)) {
        const json& err = resp.contains("error") ? resp["error"] : json::object();
        print_diagnostics(err);
        fmt::print(stderr, "swctl: {}\n", err.value("message", "request failed"));
        return std::nullopt;
    }
    return resp.value("result", json::object());
}

result<std::string> read_input(const std::string& path) {
    if (path == "-") {
        std::string s((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
        return s;
    }
    return ctl::read_file(path);
}

void print_warnings(const json& result) {
    if (result.contains("warnings")) {
        for (const auto& w : result["warnings"]) {
            fmt::print(stderr, "{}\n", w.value("text", ""));
        }
    }
}

int report_change(const cli& c, const std::optional<json>& r) {
    if (!r) {
        return 1;
    }
    print_warnings(*r);
    if (c.format == "json") {
        fmt::print("{}\n", r->dump(2));
    } else if (c.verbose) {
        fmt::print("added {}, modified {}, deleted {}, unchanged {} (table version {})\n",
                   r->value("added", 0), r->value("modified", 0), r->value("deleted", 0),
                   r->value("unchanged", 0), r->value("version", 0));
    }
    return 0;
}

std::string joined(const std::vector<std::string>& args, size_t from) {
    std::string s;
    for (size_t i = from; i < args.size(); i++) {
        s += (i > from ? " " : "") + args[i];
    }
    return s;
}

// " name=value" for each counter of obj, all of them or those that are not zero.
std::string counter_line(const json& obj, bool nonzero_only = true) {
    std::string line;
    for (const auto& [k, v] : obj.items()) {
        if (!nonzero_only || v.get<uint64_t>() != 0) {
            line += fmt::format(" {}={}", k, v.get<uint64_t>());
        }
    }
    return line;
}

// Sends req, with the command's optional argument as field `key` when given; prints the answer
// as JSON with --format json, else hands it to text(). The exit code.
template <class Text>
int query(const cli& c, json req, const char* key, Text&& text) {
    if (key != nullptr && c.args.size() > 1) {
        req[key] = c.args[1];
    }
    auto r = call(c, req);
    if (!r) {
        return 1;
    }
    if (c.format == "json") {
        fmt::print("{}\n", r->dump(2));
        return 0;
    }
    text(*r);
    return 0;
}

// The calibration table (service's calibration_json): measured parts and modelled costs.
void print_calibration(const json& cal) {
    auto ns = [](const json& v) {
        return v.is_number() ? fmt::format("{:.1f}", v.get<double>()) : std::string("-");
    };
    fmt::print("calibration ({}; table 0: {} rules in {} masks; live sample {:.1f} s: {} "
               "packets received, {} sent in user space):\n",
               cal.value("when", ""), cal.value("table0_rules", 0), cal.value("table0_masks", 0),
               cal.value("sample_s", 0.0), cal.value("live_rx", 0), cal.value("live_tx", 0));
    fmt::print("  XDP_TX transmit {} ns, AF_XDP copy-mode receive in the kernel {} ns{}\n",
               ns(cal["xdp_tx_ns"]), ns(cal["xsk_rx_ns"]),
               cal.value("xsk_rx_why_not", "").empty()
                   ? ""
                   : " (" + cal.value("xsk_rx_why_not", "") + ")");
    fmt::print("  dispatcher to user space {} ns, user-space receive {} ns, transmit {} ns a "
               "packet{}\n",
               ns(cal["xdp_to_user_ns"]), ns(cal["user_rx_ns"]), ns(cal["user_tx_ns"]),
               cal.value("user_why_not", "").empty() ? ""
                                                     : " (" + cal.value("user_why_not", "") + ")");
    fmt::print("  {:<13} {:>6} {:>9} {:>9} {:>9} {:>9} {:>7}  {}\n", "kind", "rules", "xdp prog",
               "user exec", "in XDP", "in user", "share", "placed");
    for (const auto& k : cal["kinds"]) {
        const json& w = k["weight"];
        fmt::print("  {:<13} {:>6} {:>9} {:>9} {:>9} {:>9} {:>7}  {}\n", k.value("kind", ""),
                   k.value("rules", 0), ns(k["xdp_program_ns"]), ns(k["user_exec_ns"]),
                   ns(k["xdp_ns"]), ns(k["user_ns"]),
                   w.is_number() ? fmt::format("{:.0f}%", w.get<double>() * 100) : "-",
                   k["placed"].is_string() ? k["placed"].get<std::string>()
                                           : "as hybrid: " + k.value("why_not", ""));
    }
    fmt::print("  expected {} ns a packet (all in user space {}, all in XDP {})\n",
               ns(cal["chosen_ns"]), ns(cal["all_user_ns"]), ns(cal["all_xdp_ns"]));
    const json& share = cal["drop_offload_share"];
    if (share.is_number()) {
        fmt::print("  drops in XDP pay from {:.0f}% of the traffic (the adaptive profile's offload "
                   "share)\n",
                   share.get<double>() * 100);
    } else if (share.is_string()) {
        fmt::print("  drops in XDP never pay (they cost more than in user space)\n");
    }
}

int cmd_show(const cli& c) {
    return query(c, {{"cmd", "show"}}, nullptr, [](const json& s) {
        fmt::print("swd {} (pid {}), up {:.0f}s, table version {}, datapath {}\n",
                   s.value("version", ""), s.value("pid", 0), s.value("uptime", 0.0),
                   s.value("table_version", 0), s.value("datapath", ""));
        if (!s.value("config", "").empty()) {
            fmt::print("config: {}\n", s.value("config", ""));
        }
        fmt::print("placement profile: {}; XDP dispatcher: {}\n", s.value("profile", ""),
                   s.value("xdp", ""));
        if (s.contains("adaptive") && s["adaptive"].is_object()) {
            const json& a = s["adaptive"];
            const json& share = a["drop_share"];
            const std::string moves =
                a["offload_share"].is_number()
                    ? fmt::format("drop rules move to XDP at {:.0f}% and back below {:.0f}% ({} s "
                                  "in a row; shares from the {})",
                                  a.value("offload_share", 0.0) * 100,
                                  a.value("return_share", 0.0) * 100, a.value("sustain_ticks", 0),
                                  a.value("shares_from", ""))
                    : std::string("drop rules stay in user space (XDP drops cost more, by the "
                                  "calibration)");
            fmt::print("adaptive: drops {} of the traffic in the last second; {}; {} of {} "
                       "offloaded, {} moves{}\n",
                       share.is_number() ? fmt::format("{:.0f}%", share.get<double>() * 100)
                                         : std::string("n/a (little traffic)"),
                       moves, a.value("offloaded", 0), a.value("budget", 0), a.value("moves", 0),
                       a.value("last_move", "").empty() ? ""
                                                        : "; last: " + a.value("last_move", ""));
        }
        fmt::print("ports:{}\n", s["ports"].empty() ? " none" : "");
        for (const auto& p : s["ports"]) {
            const json& of = p["ofport"];
            std::string mode = p.value("mode", "");
            fmt::print("  {} {}{}\n",
                       of.is_string() ? of.get<std::string>() : std::to_string(of.get<int>()),
                       p.value("name", ""), mode.empty() ? "" : " (" + mode + ")");
            if (const std::string st = p.value("steering", ""); !st.empty()) {
                fmt::print("    steering: {}\n", st);
            }
        }
        if (s.contains("threads") && !s["threads"].empty()) {
            fmt::print("datapath threads:\n");
            for (const auto& t : s["threads"]) {
                std::string queues;
                for (const auto& q : t["queues"]) {
                    queues += (queues.empty() ? "" : ", ") + q.get<std::string>();
                }
                int cpu = t.value("cpu", -1);
                fmt::print("  pmd{} ({}): {}\n", t.value("index", 0),
                           cpu < 0 ? std::string("not pinned") : "cpu " + std::to_string(cpu),
                           queues);
            }
        }
        fmt::print("rules: {} (limit {})\n", s.value("rules", 0), s.value("max_rules", 0));
        for (const auto& t : s["tables"]) {
            fmt::print("  table {}: {} rules in {} subtables\n", t.value("table", 0),
                       t.value("rules", 0), t.value("subtables", 0));
        }
        fmt::print("pools:{}\n", s["pools"].empty() ? " none" : "");
        for (const auto& p : s["pools"]) {
            fmt::print("  {}\n", p.value("text", ""));
        }
        const std::string lb_title = "lb sessions (" + s.value("lb_session_table", "?") + " table)";
        for (auto [key, title] : {std::pair{"lb_sessions", lb_title.c_str()},
                                  std::pair{"connections", "connections"}}) {
            if (s.contains(key) && !s[key].empty()) {
                fmt::print("{}:{}\n", title, counter_line(s[key], false));
            }
        }
        if (s.contains("calibration") && s["calibration"].is_object()) {
            print_calibration(s["calibration"]);
        }
        fmt::print("memory: resident {:.1f} MiB, compiled pipeline {:.1f} MiB\n",
                   s["memory"].value("resident_bytes", 0) / 1048576.0,
                   s["memory"].value("pipeline_bytes", 0) / 1048576.0);
    });
}

// Per port and queue: traffic, drops by cause, ring events; zero counters are left out.
int cmd_dump_ports(const cli& c) {
    return query(c, {{"cmd", "dump-ports"}}, "port", [](const json& r) {
        for (const auto& p : r["ports"]) {
            fmt::print("port {} {}: {}\n", p.value("ofport", 0), p.value("name", ""),
                       p.value("mode", ""));
            if (const std::string st = p.value("steering", ""); !st.empty()) {
                fmt::print("  steering: {}\n", st);
            }
            if (p.contains("xdp")) {
                const std::string line = counter_line(p["xdp"]);
                fmt::print("  xdp dispatcher:{}\n", line.empty() ? " no packets" : line);
            }
            if (p.contains("egress")) {
                const std::string line = counter_line(p["egress"]);
                fmt::print("  tc egress:{}\n", line.empty() ? " no packets" : line);
            }
            for (const auto& q : p["queues"]) {
                std::string line;
                for (const auto& [k, v] : q["counters"].items()) {
                    if (v.get<uint64_t>() != 0 || k == "rx_packets" || k == "tx_packets") {
                        line += fmt::format(" {}={}", k, v.get<uint64_t>());
                    }
                }
                for (const auto& [k, v] : q["kernel"].items()) {
                    if (v.get<uint64_t>() != 0) {
                        line += fmt::format(" kernel.{}={}", k, v.get<uint64_t>());
                    }
                }
                fmt::print("  queue {}{} (pmd{}):{}\n", q.value("queue", 0),
                           q.value("rx", true) ? "" : " tx-only", q.value("thread", 0), line);
            }
        }
    });
}

// add-backend, del-backend, set-backend: the backend text is everything after POOL, parsed by
// swd (errors name "<add-backend>" and so on, with the column).
int cmd_backend(const cli& c) {
    const std::string& cmd = c.args[0];
    auto r = call(c, {{"cmd", cmd}, {"pool", c.args[1]}, {"backend", joined(c.args, 2)}});
    if (!r) {
        return 1;
    }
    if (c.format == "json") {
        fmt::print("{}\n", r->dump(2));
        return 0;
    }
    const json& pool = (*r)["pool"];
    const json& b = (*r)["backend"];
    const std::string name = pool.value("name", ""), addr = b.value("address", "");
    const size_t n = pool["backends"].size();
    const uint64_t version = r->value("version", 0);
    if (cmd == "add-backend") {
        fmt::print("pool {}: added backend {} ({} backend{}, table version {})\n", name, addr, n,
                   n == 1 ? "" : "s", version);
    } else if (cmd == "del-backend") {
        fmt::print("pool {}: deleted backend {}, its sessions continue ({} backend{}, table "
                   "version {})\n",
                   name, addr, n, n == 1 ? "" : "s", version);
    } else {
        fmt::print("pool {}: backend {} {} weight={}, state={} (table version {})\n", name, addr,
                   r->value("changed", false) ? "now" : "already", b.value("weight", 0),
                   b.value("state", ""), version);
    }
    fmt::print("{}\n", pool.value("text", ""));
    return 0;
}

int cmd_dump_conntrack(const cli& c) {
    json req{{"cmd", "dump-conntrack"}};
    if (c.args.size() > 1) {
        char* end = nullptr;
        const unsigned long long n = std::strtoull(c.args[1].c_str(), &end, 10);
        if (c.args[1].empty() || *end != '\0' || c.args[1][0] == '-') {
            fmt::print(stderr, "swctl: dump-conntrack: '{}' is not a count\n", c.args[1]);
            return 2;
        }
        req["limit"] = n;
    }
    return query(c, req, nullptr, [](const json& r) {
        const size_t total = r.value("total", size_t{0});
        fmt::print("{} connection{} tracked in {}{}\n", total, total == 1 ? "" : "s",
                   r.value("tracker", "") == "xdp"    ? "XDP"
                   : r.value("tracker", "") == "user" ? "user space"
                                                      : r.value("tracker", ""),
                   r["connections"].size() < total
                       ? fmt::format(" ({} shown)", r["connections"].size())
                       : "");
        for (const auto& k : r["connections"]) {
            fmt::print("  {} {} -> {} idle {:.1f}s\n", k.value("proto", ""), k.value("src", ""),
                       k.value("dst", ""), k.value("idle", 0.0));
        }
    });
}

int cmd_dump_pools(const cli& c) {
    return query(c, {{"cmd", "dump-pools"}}, "pool", [](const json& r) {
        for (const auto& p : r["pools"]) {
            fmt::print("{}\n", p.value("text", ""));
        }
    });
}

// diff-flows: one source's rules and pools, parsed with the switch's ports when it runs.
struct flow_source {
    flows::parse_output parsed;
    std::vector<flows::port_decl> ports;
};

bool is_switch_source(const std::string& s) {
    if (s.starts_with("/") || s.starts_with(".")) {
        return false;
    }
    if (s.find(':') != std::string::npos) {
        return true;
    }
    struct stat st {};
    return ::stat(s.c_str(), &st) != 0;
}

std::optional<flow_source> load_source(const cli& c, const std::string& name) {
    const bool sw = is_switch_source(name);
    std::string path = c.control;
    if (sw && name.starts_with("unix:")) {
        path = name.substr(5);
    }
    flows::parse_context ctx;
    std::string text;
    cli cc = c;
    cc.control = path;
    if (sw || ctl::client::connect(path)) {
        auto show = call(cc, {{"cmd", "show"}});
        if (!show) {
            return std::nullopt;
        }
        for (const auto& p : (*show)["ports"]) {
            if (p["ofport"].is_number()) { // (LOCAL is not a declared port)
                ctx.ports.push_back({p.value("name", ""), p["ofport"].get<uint16_t>(), {}});
            }
        }
        ctx.ports_fixed = true;
    }
    if (sw) {
        auto dump = call(cc, {{"cmd", "dump-flows"}, {"format", "text"}, {"stats", false}});
        if (!dump) {
            return std::nullopt;
        }
        text = dump->value("text", "");
    } else {
        auto t = ctl::read_file(name);
        if (!t) {
            fmt::print(stderr, "swctl: {}\n", t.err().message());
            return std::nullopt;
        }
        text = std::move(*t);
    }
    flow_source src;
    src.parsed =
        flows::parse_flows(text, sw ? "<" + path + ">" : name, flows::parse_mode::config, ctx);
    if (!src.parsed.ok()) {
        fmt::print(stderr, "{}swctl: {}: invalid flows\n", flows::format_all(src.parsed.errors),
                   name);
        return std::nullopt;
    }
    src.ports = ctx.ports;
    for (const auto& p : src.parsed.ports) {
        src.ports.push_back(p);
    }
    return src;
}

int cmd_diff(const cli& c) {
    if (c.args.size() != 3) {
        fmt::print(stderr, "swctl: diff-flows needs two sources\n");
        return 1;
    }
    auto a = load_source(c, c.args[1]);
    auto b = a ? load_source(c, c.args[2]) : std::nullopt;
    if (!a || !b) {
        return 1;
    }
    // Key rules by identity in text form (ports printed by number so that both sides agree).
    flows::format_names by_number{nullptr, nullptr};
    auto index = [&](const flow_source& s) {
        std::map<std::string, const flows::rule*> m;
        for (const auto& fm : s.parsed.mods) {
            flows::rule id = fm.spec;
            id.actions.clear();
            id.cookie = 0;
            id.idle_timeout = id.hard_timeout = 0;
            id.place = flows::placement::automatic;
            m[flows::format_rule(id, by_number)] = &fm.spec;
        }
        return m;
    };
    auto ia = index(*a), ib = index(*b);
    flows::format_names na{&a->ports, &a->parsed.pools}, nb{&b->ports, &b->parsed.pools};
    std::vector<std::string> lines;
    for (const auto& [k, r] : ia) {
        auto it = ib.find(k);
        if (it == ib.end()) {
            lines.push_back("-" + flows::format_rule(*r, na));
        } else if (!r->same_content(*it->second) ||
                   flows::format_actions(r->actions, na) !=
                       flows::format_actions(it->second->actions, nb)) {
            lines.push_back("-" + flows::format_rule(*r, na));
            lines.push_back("+" + flows::format_rule(*it->second, nb));
        }
    }
    for (const auto& [k, r] : ib) {
        if (!ia.count(k)) {
            lines.push_back("+" + flows::format_rule(*r, nb));
        }
    }
    auto pools = [](const flow_source& s) {
        std::map<std::string, std::string> m;
        for (const auto& p : s.parsed.pools) {
            m[p.name] = flows::format_pool(p);
        }
        return m;
    };
    auto pa = pools(*a), pb = pools(*b);
    for (const auto& [n, t] : pa) {
        if (!pb.count(n) || pb[n] != t) {
            lines.push_back("-" + t);
            if (pb.count(n)) {
                lines.push_back("+" + pb[n]);
            }
        }
    }
    for (const auto& [n, t] : pb) {
        if (!pa.count(n)) {
            lines.push_back("+" + t);
        }
    }
    if (c.format == "json") {
        fmt::print("{}\n", json{{"differences", lines}}.dump(2));
    } else {
        for (const auto& l : lines) {
            fmt::print("{}\n", l);
        }
    }
    return lines.empty() ? 0 : 2;
}

int run(const cli& c) {
    const std::string& cmd = c.args[0];
    const size_t n = c.args.size();
    auto need = [&](size_t lo, size_t hi, const char* form) {
        if (n - 1 < lo || n - 1 > hi) {
            fmt::print(stderr, "swctl: usage: swctl {}\n", form);
            return false;
        }
        return true;
    };
    if (cmd == "ping") {
        auto r = call(c, {{"cmd", "ping"}});
        if (r) {
            fmt::print("swd {} (pid {}) answers\n", r->value("version", ""), r->value("pid", 0));
        }
        return r ? 0 : 1;
    }
    if (cmd == "add-flow") {
        if (n < 2) {
            fmt::print(stderr, "swctl: usage: swctl add-flow RULE\n");
            return 2;
        }
        std::string text = joined(c.args, 1);
        if (text.find_first_not_of(" \t") == std::string::npos) {
            fmt::print(stderr, "swctl: add-flow needs a rule\n");
            return 2;
        }
        std::string source = "<add-flow>";
        if (text == "-") {
            auto t = read_input("-");
            text = t ? *t : "";
            source = "<stdin>";
        }
        return report_change(c, call(c, {{"cmd", "add-flow"}, {"source", source}}, text));
    }
    if (cmd == "add-flows" || cmd == "replace-flows") {
        if (!need(1, 1, (cmd + " FILE").c_str())) {
            return 2;
        }
        auto text = read_input(c.args[1]);
        if (!text) {
            fmt::print(stderr, "swctl: {}\n", text.err().message());
            return 1;
        }
        std::string source = c.args[1] == "-" ? "<stdin>" : c.args[1];
        return report_change(c, call(c, {{"cmd", cmd}, {"source", source}}, *text));
    }
    if (cmd == "del-flows") {
        return report_change(
            c, call(c, {{"cmd", "del-flows"}, {"match", joined(c.args, 1)}, {"strict", c.strict}}));
    }
    if (cmd == "mod-flows") {
        if (n < 2) {
            fmt::print(stderr, "swctl: usage: swctl mod-flows RULE\n");
            return 2;
        }
        return report_change(
            c, call(c, {{"cmd", "mod-flows"}, {"rule", joined(c.args, 1)}, {"strict", c.strict}}));
    }
    if (cmd == "dump-flows") {
        auto r = call(c, {{"cmd", "dump-flows"},
                          {"match", joined(c.args, 1)},
                          {"strict", c.strict},
                          {"stats", !c.no_stats},
                          {"format", c.format}});
        if (!r) {
            return 1;
        }
        print_warnings(*r);
        if (c.format == "json") {
            fmt::print("{}\n", r->dump(2));
        } else {
            fmt::print("{}", r->value("text", ""));
        }
        return 0;
    }
    if (cmd == "add-backend" || cmd == "del-backend" || cmd == "set-backend") {
        static const std::map<std::string, const char*> forms = {
            {"add-backend", "add-backend POOL ADDR:PORT/MAC[/weight=N][/state=up|drain|down]"},
            {"del-backend", "del-backend POOL ADDR:PORT"},
            {"set-backend", "set-backend POOL ADDR:PORT [weight=N] [state=up|drain|down]"}};
        return need(2, SIZE_MAX, forms.at(cmd)) ? cmd_backend(c) : 2;
    }
    if (cmd == "dump-pools") {
        return need(0, 1, "dump-pools [POOL]") ? cmd_dump_pools(c) : 2;
    }
    if (cmd == "dump-conntrack") {
        return need(0, 1, "dump-conntrack [N]") ? cmd_dump_conntrack(c) : 2;
    }
    if (cmd == "flush-conntrack") {
        if (!need(0, 0, "flush-conntrack")) {
            return 2;
        }
        return query(c, {{"cmd", "flush-conntrack"}}, nullptr, [](const json& r) {
            fmt::print("{} live connections forgotten\n", r.value("flushed", 0));
        });
    }
    if (cmd == "set") {
        constexpr std::string_view key = "placement=";
        if (!need(1, 1, "set placement=hybrid|all-xdp|all-user|adaptive|calibrated")) {
            return 2;
        }
        if (!c.args[1].starts_with(key)) {
            fmt::print(stderr, "swctl: set: '{}' is not a setting; expected placement=PROFILE\n",
                       c.args[1]);
            return 2;
        }
        auto r = call(c, {{"cmd", "set"}, {"placement", c.args[1].substr(key.size())}});
        if (!r) {
            return 1;
        }
        if (c.format == "json") {
            fmt::print("{}\n", r->dump(2));
        } else {
            fmt::print("placement {}{} (table version {})\n",
                       r->value("changed", false) ? "" : "already ", r->value("placement", ""),
                       r->value("table_version", 0));
        }
        return 0;
    }
    if (cmd == "show") {
        return need(0, 0, "show") ? cmd_show(c) : 2;
    }
    if (cmd == "calibrate") {
        if (!need(0, 1, "calibrate [SECONDS]")) {
            return 2;
        }
        json req{{"cmd", "calibrate"}};
        if (n == 2) {
            char* end = nullptr;
            const double s = std::strtod(c.args[1].c_str(), &end);
            if (end == c.args[1].c_str() || *end != '\0') {
                fmt::print(stderr, "swctl: calibrate: '{}' is not a number of seconds\n",
                           c.args[1]);
                return 2;
            }
            req["seconds"] = s;
        }
        auto r = call(c, req);
        if (!r) {
            return 1;
        }
        if (c.format == "json") {
            fmt::print("{}\n", r->dump(2));
        } else {
            print_calibration((*r)["calibration"]);
            fmt::print("placement {} (table version {})\n", r->value("placement", ""),
                       r->value("table_version", 0));
        }
        return 0;
    }
    if (cmd == "dump-ports") {
        return need(0, 1, "dump-ports [PORT]") ? cmd_dump_ports(c) : 2;
    }
    if (cmd == "diff-flows") {
        return need(2, 2, "diff-flows SOURCE1 SOURCE2") ? cmd_diff(c) : 2;
    }
    fmt::print(stderr, "swctl: unknown command '{}'\nTry 'swctl --help'.\n", cmd);
    return 2;
}

} // namespace

int main(int argc, char** argv) {
    cli c;
    po::options_description desc(usage);
    // clang-format off
    desc.add_options()
        ("help,h", "print this help and exit")
        ("control", po::value(&c.control)->value_name("PATH"),
         "swd's control socket (default /run/swd/swd.sock)")
        ("format", po::value(&c.format)->value_name("F"), "text (default) or json")
        ("strict", po::bool_switch(&c.strict),
         "del-flows, mod-flows, dump-flows: select by exact match and priority")
        ("no-stats", po::bool_switch(&c.no_stats),
         "dump-flows: print rules only, in flow-file syntax")
        ("verbose,v", po::bool_switch(&c.verbose), "report what a change did");
    // clang-format on
    po::options_description hidden;
    hidden.add_options()("args", po::value(&c.args));
    po::options_description all;
    all.add(desc).add(hidden);
    po::positional_options_description pos;
    pos.add("args", -1);
    po::variables_map vm;
    try {
        // Rules start with letters and may contain '-' (tcp_flags=-syn): stop option parsing at
        // the command word.
        po::store(po::command_line_parser(argc, argv)
                      .options(all)
                      .positional(pos)
                      .style(po::command_line_style::default_style &
                             ~po::command_line_style::allow_guessing)
                      .run(),
                  vm);
        po::notify(vm);
    } catch (const po::error& e) {
        fmt::print(stderr, "swctl: {}\nTry 'swctl --help'.\n", e.what());
        return 2;
    }
    if (vm.count("help")) {
        std::cout << desc << "\n";
        return 0;
    }
    if (c.format != "text" && c.format != "json") {
        fmt::print(stderr, "swctl: --format is text or json, not '{}'\n", c.format);
        return 2;
    }
    if (c.args.empty()) {
        fmt::print(stderr, "swctl: missing command\nTry 'swctl --help'.\n");
        return 2;
    }
    return run(c);
}
