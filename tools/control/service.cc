#include "service.h"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <fmt/format.h>
#include <fstream>
#include <malloc.h>
#include <sstream>
#include <unistd.h>

#include "calibration_report.h"
#include "datapath/lb/session_store.h"
#include "datapath/util/log.h"
#include "flows/format.h"
#include "flows/values.h"

namespace swd::ctl {

namespace {

json id_of(const json& req) {
    auto it = req.find("id");
    return it != req.end() ? *it : json();
}

std::string cmd_of(const json& req) {
    auto it = req.find("cmd");
    return it != req.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// Optional typed request fields; a present field of the wrong type is an error.
template <class T>
bool field(const json& req, const char* name, T& out, std::string& err) {
    auto it = req.find(name);
    if (it == req.end() || it->is_null()) {
        return true;
    }
    try {
        out = it->get<T>();
        return true;
    } catch (const json::exception&) {
        err = fmt::format("field '{}' has the wrong type", name);
        return false;
    }
}

json summary_json(const flows::change_summary& s, uint64_t version) {
    return json{{"added", s.added},
                {"modified", s.modified},
                {"deleted", s.deleted},
                {"unchanged", s.unchanged},
                {"version", version}};
}

// The answer's code for a rule table error.
const char* error_code_name(const std::error_code& c) {
    if (c == make_error_code(errc::not_found)) {
        return "not_found";
    }
    if (c == make_error_code(errc::exists)) {
        return "exists";
    }
    if (c == make_error_code(errc::limit)) {
        return "limit";
    }
    return "invalid_input";
}

const char* state_name(flows::backend_state s) {
    return s == flows::backend_state::up      ? "up"
           : s == flows::backend_state::drain ? "drain"
                                              : "down";
}

json pool_json(const flows::lb_pool& p) {
    json backends = json::array();
    for (const auto& b : p.backends) {
        backends.push_back({{"address", flows::backend_address(b)},
                            {"mac", flows::format_mac(b.mac)},
                            {"weight", b.weight},
                            {"state", state_name(b.state)}});
    }
    return {{"name", p.name},
            {"id", p.id},
            {"backends", std::move(backends)},
            {"text", flows::format_pool(p)}};
}

size_t resident_bytes() {
    std::ifstream f("/proc/self/statm");
    size_t pages = 0, rss = 0;
    f >> pages >> rss;
    return rss * static_cast<size_t>(::sysconf(_SC_PAGESIZE));
}

} // namespace

json diagnostics_json(const std::vector<flows::diagnostic>& diags) {
    json a = json::array();
    for (const auto& d : diags) {
        a.push_back(
            {{"severity", d.sev == flows::diagnostic::severity::error ? "error" : "warning"},
             {"source", d.source},
             {"line", d.line},
             {"column", d.column},
             {"length", d.length},
             {"what", d.what},
             {"found", d.found},
             {"detail", d.detail},
             {"expected", d.expected},
             {"text", d.format()}});
    }
    return a;
}

result<std::string> read_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) {
        return fail(errno_error(errno ? errno : ENOENT, "open " + path));
    }
    std::ostringstream ss;
    ss << f.rdbuf();
    if (f.bad()) {
        return fail(errno_error(EIO, "read " + path));
    }
    return ss.str();
}

service::service(service_options opts, std::unique_ptr<dp::datapath> datapath)
    : opts_(std::move(opts)), datapath_(std::move(datapath)), table_(opts_.max_rules),
      adaptive_(opts_.adaptive), started_(flows::clock::now()) {
    table_.set_ports(opts_.ports);
    table_.set_profile(opts_.profile);
    published();
}

flows::parse_context service::context(const char* command, bool strict) const {
    flows::parse_context ctx;
    auto snap = table_.current();
    ctx.ports = snap->ports;
    ctx.pools = snap->pools;
    ctx.strict = strict;
    ctx.ports_fixed = true;
    ctx.command = command;
    return ctx;
}

void service::published() {
    auto snap = table_.current();
    datapath_->publish(snap->pipeline, snap->born);
    table_.reclaim(datapath_->retired_version());
}

result<flows::change_summary> service::load(flows::parse_output config) {
    auto r = table_.replace(std::move(config.mods), std::move(config.pools), flows::clock::now());
    if (r) {
        published();
    }
    return r;
}

json service::rejected(const json& id, const flows::parse_output& out, const std::string& source,
                       bool change) {
    std::string msg =
        fmt::format("{}: {}{}", source, out.error_count(), change ? "; nothing was changed" : "");
    json diags = diagnostics_json(out.errors);
    for (auto& w : diagnostics_json(out.warnings)) {
        diags.push_back(std::move(w));
    }
    return error_response(id, "invalid_input", msg, std::move(diags));
}

json service::handle(const json& request, std::string_view attachment) {
    attachment_ = attachment;
    json id = request.is_object() && request.contains("id") ? request["id"] : json();
    if (!request.is_object()) {
        return error_response(id, "protocol", "a request is a JSON object");
    }
    try {
        const std::string cmd = cmd_of(request);
        if (cmd == "ping") {
            return ok_response(id, {{"pid", ::getpid()}, {"version", "0.1.0"}});
        }
        if (cmd == "add-flows" || cmd == "add-flow") {
            return cmd_add_flows(request);
        }
        if (cmd == "replace-flows") {
            return cmd_replace_flows(request);
        }
        if (cmd == "del-flows") {
            return cmd_del_flows(request);
        }
        if (cmd == "mod-flows") {
            return cmd_mod_flows(request);
        }
        if (cmd == "dump-flows") {
            return cmd_dump_flows(request);
        }
        if (cmd == "show") {
            return cmd_show(request);
        }
        if (cmd == "dump-ports") {
            return cmd_dump_ports(request);
        }
        if (cmd == "add-backend" || cmd == "del-backend" || cmd == "set-backend") {
            return cmd_backend(request);
        }
        if (cmd == "dump-pools") {
            return cmd_dump_pools(request);
        }
        if (cmd == "dump-conntrack") {
            return cmd_dump_conntrack(request);
        }
        if (cmd == "flush-conntrack") {
            return cmd_flush_conntrack(request);
        }
        if (cmd == "set") {
            return cmd_set(request);
        }
        if (cmd == "calibrate") {
            return cmd_calibrate(request);
        }
        return error_response(id, "unknown_command",
                              cmd.empty() ? "the request has no \"cmd\""
                                          : fmt::format("unknown command '{}'", cmd));
    } catch (const std::exception& e) {
        // Parsing and table operations do not throw on bad input; this is allocation failure
        // and the like. The table is unchanged when a step throws before publish.
        log::error("request failed: {}", e.what());
        return error_response(id, "internal", e.what());
    }
}

bool service::flow_text(const json& req, std::string_view& text, std::string& source,
                        std::string& err) {
    if (!field(req, "source", source, err)) {
        return false;
    }
    if (req.contains("attachment")) {
        text = attachment_;
        return true;
    }
    if (!field(req, "text", text_storage_, err)) {
        return false;
    }
    text = text_storage_;
    return true;
}

// Large changes leave freed memory (old rule versions, parse buffers) in malloc's free lists;
// hand it back so that the resident size reflects the table, not its history.
void service::after_change(size_t rules_touched) {
    text_storage_ = std::string();
    if (rules_touched >= 10000) {
        ::malloc_trim(0);
    }
}

json service::cmd_add_flows(const json& req) {
    std::string source = "<add-flows>", err;
    std::string_view text;
    if (!flow_text(req, text, source, err)) {
        return error_response(id_of(req), "protocol", err);
    }
    return change(req, text, source, flows::parse_mode::flow_mods, false);
}

json service::cmd_replace_flows(const json& req) {
    std::string source = "<replace-flows>", err;
    std::string_view text;
    if (!flow_text(req, text, source, err)) {
        return error_response(id_of(req), "protocol", err);
    }
    return change(req, text, source, flows::parse_mode::config, false);
}

json service::cmd_del_flows(const json& req) {
    std::string match, err;
    bool strict = false;
    if (!field(req, "match", match, err) || !field(req, "strict", strict, err)) {
        return error_response(id_of(req), "protocol", err);
    }
    return change(req, match, "<del-flows>", flows::parse_mode::match, strict);
}

json service::cmd_mod_flows(const json& req) {
    std::string rule, err;
    bool strict = false;
    if (!field(req, "rule", rule, err) || !field(req, "strict", strict, err)) {
        return error_response(id_of(req), "protocol", err);
    }
    return change(req, rule, "<mod-flows>", flows::parse_mode::modify, strict);
}

// Every change: validate the whole text, apply it to the table (config mode replaces the table),
// publish, answer with what changed. Nothing changes unless every step before publish succeeds.
json service::change(const json& req, std::string_view text, const std::string& source,
                     flows::parse_mode mode, bool strict) {
    auto out = flows::parse_flows(text, source, mode, context(cmd_of(req).c_str(), strict));
    if (!out.ok()) {
        return rejected(id_of(req), out, source);
    }
    const auto now = flows::clock::now();
    const size_t touched = std::max(out.mods.size(), table_.size());
    auto r = mode == flows::parse_mode::config
                 ? table_.replace(std::move(out.mods), std::move(out.pools), now)
                 : table_.apply(std::move(out.mods), out.pools, now);
    if (!r) {
        return error_response(id_of(req), "limit", source + ": " + r.err().message());
    }
    published();
    after_change(mode == flows::parse_mode::config || mode == flows::parse_mode::flow_mods
                     ? touched
                     : r->deleted + r->modified);
    log::info("{} from {}: added {}, modified {}, deleted {}, unchanged {} (version {})",
              cmd_of(req), source, r->added, r->modified, r->deleted, r->unchanged,
              table_.current()->version);
    json res = summary_json(*r, table_.current()->version);
    res["warnings"] = diagnostics_json(out.warnings);
    return ok_response(id_of(req), std::move(res));
}

json service::cmd_dump_flows(const json& req) {
    std::string match, format = "text", err;
    bool strict = false, stats = true;
    if (!field(req, "match", match, err) || !field(req, "strict", strict, err) ||
        !field(req, "format", format, err) || !field(req, "stats", stats, err)) {
        return error_response(id_of(req), "protocol", err);
    }
    auto snap = table_.current();
    std::vector<flows::flow_mod> filter;
    json warnings = json::array();
    if (!match.empty()) {
        auto out = flows::parse_flows(match, "<dump-flows>", flows::parse_mode::match,
                                      context("dump-flows", strict));
        if (!out.ok()) {
            return rejected(id_of(req), out, "<dump-flows>", false);
        }
        filter = std::move(out.mods);
        warnings = diagnostics_json(out.warnings);
    }
    std::vector<const flows::rule*> rules;
    for (const flows::rule* r : snap->sorted()) {
        if (filter.empty() || flows::selects(filter[0], *r)) {
            rules.push_back(r);
        }
    }
    std::vector<uint32_t> ids;
    ids.reserve(rules.size());
    for (const auto* r : rules) {
        ids.push_back(r->id);
    }
    std::vector<dp::rule_counters> counters(ids.size());
    datapath_->read_counters(ids, counters);

    const auto now = flows::clock::now();
    flows::format_names names{&snap->ports, &snap->pools};
    // Where a rule ran: "both" once it has counts from both paths (e.g. a queue in user mode).
    auto runs = [&](size_t i) {
        const auto& c = counters[i];
        if (c.xdp_packets != 0 && c.packets > c.xdp_packets) {
            return dp::location_name(dp::rule_location::both);
        }
        return dp::location_name(datapath_->where(rules[i]->id));
    };
    // How a rule's queue= / set_queue steering is in force; {"", ""} without one.
    auto steering = [&](const flows::rule& r) {
        if (!r.steering_queue()) {
            return dp::steering_state{};
        }
        auto s = datapath_->steering_of(r.id);
        return s.summary.empty() ? dp::steering_state{"none", "no ports"} : s;
    };
    json res{{"version", snap->version}};
    if (format == "json") {
        json flows_json = json::array();
        for (size_t i = 0; i < rules.size(); i++) {
            const flows::rule& r = *rules[i];
            flows_json.push_back(
                {{"id", r.id},
                 {"table", r.table},
                 {"priority", r.priority},
                 {"cookie", fmt::format("{:#x}", r.cookie)},
                 {"match", flows::format_match(r.match, names)},
                 {"actions", flows::format_actions(r.actions, names)},
                 {"placement", flows::placement_name(r.place)},
                 {"runs", runs(i)},
                 {"why", placement_why(r)},
                 {"steering", steering(r).summary},
                 {"steering_detail", steering(r).detail},
                 {"idle_timeout", r.idle_timeout},
                 {"hard_timeout", r.hard_timeout},
                 {"duration", std::chrono::duration<double>(now - r.created).count()},
                 {"n_packets", counters[i].packets},
                 {"n_bytes", counters[i].bytes},
                 {"text", flows::format_rule(r, names)}});
        }
        res["flows"] = std::move(flows_json);
        json pools = json::array();
        for (const auto& p : snap->pools) {
            pools.push_back(flows::format_pool(p));
        }
        res["pools"] = std::move(pools);
    } else if (format == "text") {
        std::string text;
        if (!stats) {
            // The same syntax as a flow file: pools first, so that the text parses back.
            for (const auto& p : snap->pools) {
                text += flows::format_pool(p) + '\n';
            }
        }
        for (size_t i = 0; i < rules.size(); i++) {
            const flows::rule& r = *rules[i];
            if (stats) {
                flows::rule_stats_text st{std::chrono::duration<double>(now - r.created).count(),
                                          counters[i].packets, counters[i].bytes, runs(i),
                                          steering(r).summary};
                text += ' ' + flows::format_rule(r, names, &st) + '\n';
            } else {
                text += flows::format_rule(r, names) + '\n';
            }
        }
        res["text"] = std::move(text);
    } else {
        return error_response(id_of(req), "protocol", "format is 'text' or 'json'");
    }
    res["n_flows"] = rules.size();
    res["warnings"] = std::move(warnings);
    return ok_response(id_of(req), std::move(res));
}

json service::cmd_dump_ports(const json& req) {
    std::string filter, err;
    if (!field(req, "port", filter, err)) {
        return error_response(id_of(req), "protocol", err);
    }
    json ports = json::array();
    bool found = filter.empty();
    for (const auto& p : datapath_->ports()) {
        if (!filter.empty() && p.name != filter && std::to_string(p.ofport) != filter) {
            continue;
        }
        found = true;
        json queues = json::array();
        for (const auto& q : p.queues) {
            json c = json::object();
            for (size_t i = 0; i < q.counters.size(); i++) {
                c[std::string(dp::port_counter_name(static_cast<dp::port_counter>(i)))] =
                    q.counters[i];
            }
            queues.push_back({{"queue", q.queue},
                              {"thread", q.thread},
                              {"rx", q.rx},
                              {"counters", std::move(c)},
                              {"kernel",
                               {{"rx_dropped", q.kernel_rx_dropped},
                                {"rx_invalid_descs", q.kernel_rx_invalid},
                                {"tx_invalid_descs", q.kernel_tx_invalid},
                                {"rx_ring_full", q.kernel_rx_ring_full},
                                {"rx_fill_ring_empty_descs", q.kernel_fill_ring_empty},
                                {"tx_ring_empty_descs", q.kernel_tx_ring_empty}}}});
        }
        json xdp = json::object();
        for (unsigned i = 0; i < SWD_XC_COUNT; i++) {
            xdp[dp::xdp_counter_name(i)] = p.xdp[i];
        }
        json port = {{"name", p.name},        {"ofport", p.ofport},
                     {"mode", p.mode},        {"steering", p.steering},
                     {"xdp", std::move(xdp)}, {"queues", std::move(queues)}};
        if (p.has_egress) {
            json egress = json::object();
            for (unsigned i = 0; i < SWD_TC_COUNT; i++) {
                egress[dp::tc_counter_name(i)] = p.egress[i];
            }
            port["egress"] = std::move(egress);
        }
        ports.push_back(std::move(port));
    }
    if (!found) {
        return error_response(id_of(req), "not_found", "no port '" + filter + "'");
    }
    return ok_response(id_of(req), {{"ports", std::move(ports)}});
}

// The backend text is parsed as a pool's backend= is, so errors read alike; then the pool is
// changed as a whole through the rule table, which checks it as the parser checks a declaration.
json service::cmd_backend(const json& req) {
    const std::string cmd = cmd_of(req);
    const std::string source = "<" + cmd + ">";
    std::string pool_name, text, err;
    if (!field(req, "pool", pool_name, err) || !field(req, "backend", text, err)) {
        return error_response(id_of(req), "protocol", err);
    }
    if (pool_name.empty()) {
        return error_response(id_of(req), "protocol", cmd + " needs a \"pool\"");
    }
    const auto form = cmd == "add-backend"   ? flows::backend_arg::full
                      : cmd == "del-backend" ? flows::backend_arg::address
                                             : flows::backend_arg::update;
    auto parsed = flows::parse_backend(text, source, form);
    if (!parsed.ok()) {
        flows::parse_output out;
        out.errors = std::move(parsed.errors);
        return rejected(id_of(req), out, source);
    }
    auto cur = table_.pool(pool_name);
    if (!cur) {
        return error_response(id_of(req), "not_found", source + ": " + cur.err().context);
    }
    flows::lb_pool next = **cur;
    const flows::backend& given = parsed.b;
    const std::string addr = flows::backend_address(given);
    auto it = std::find_if(next.backends.begin(), next.backends.end(), [&](const auto& b) {
        return b.ipv6 == given.ipv6 && b.port == given.port &&
               std::equal(b.addr, b.addr + 4, given.addr);
    });
    const bool present = it != next.backends.end();
    flows::backend result_backend = given;
    if (form == flows::backend_arg::full) {
        if (present) {
            return error_response(
                id_of(req), "exists",
                fmt::format("{}: backend already in pool '{}': {}; expected an address and port "
                            "not in the pool (set-backend changes a backend)",
                            source, next.name, addr));
        }
        next.backends.push_back(given);
    } else if (!present) {
        const size_t n = next.backends.size();
        return error_response(id_of(req), "not_found",
                              fmt::format("{}: backend not in pool '{}': {}; {}", source, next.name,
                                          addr,
                                          n == 0 ? "the pool has no backends"
                                                 : fmt::format("expected one of its {} backend{}",
                                                               n, n == 1 ? "" : "s")));
    } else if (form == flows::backend_arg::address) {
        result_backend = *it;
        next.backends.erase(it);
    } else {
        if (parsed.weight_given) {
            it->weight = given.weight;
        }
        if (parsed.state_given) {
            it->state = given.state;
        }
        result_backend = *it;
    }
    auto r = table_.set_pool(next);
    if (!r) {
        return error_response(id_of(req), error_code_name(r.err().code),
                              source + ": " + r.err().context);
    }
    if (*r) {
        published();
    }
    auto snap = table_.current();
    const flows::lb_pool& now = **table_.pool(pool_name);
    log::info("{} {} {}: {} backends (version {}{})", cmd, pool_name, addr, now.backends.size(),
              snap->version, *r ? "" : ", unchanged");
    json res{{"pool", pool_json(now)},
             {"backend",
              {{"address", addr},
               {"mac", flows::format_mac(result_backend.mac)},
               {"weight", result_backend.weight},
               {"state", state_name(result_backend.state)}}}};
    res["changed"] = *r;
    res["version"] = snap->version;
    return ok_response(id_of(req), std::move(res));
}

// set: the placement profile at run time (flows/placement.h); every rule whose place changes
// moves with the next publication (a new version, as for a flow change).
json service::cmd_set(const json& req) {
    const json id = id_of(req);
    if (!req.contains("placement") || !req["placement"].is_string()) {
        return error_response(id, "invalid_input",
                              "<set>: nothing to set; expected "
                              "placement=hybrid|all-xdp|all-user|adaptive|calibrated");
    }
    const std::string name = req["placement"].get<std::string>();
    const auto p = flows::parse_profile(name);
    if (!p) {
        return error_response(id, "invalid_input",
                              fmt::format("<set>: unknown placement '{}'; expected hybrid, "
                                          "all-xdp, all-user, adaptive or calibrated",
                                          name));
    }
    const bool changed = *p != table_.current_profile();
    if (changed) {
        table_.set_profile(*p);
        adaptive_.restart();
        published();
        log::info("placement {} (version {})", name, table_.current()->version);
    }
    return ok_response(
        id,
        {{"placement", name}, {"changed", changed}, {"table_version", table_.current()->version}});
}

json service::cmd_dump_pools(const json& req) {
    std::string name, err;
    if (!field(req, "pool", name, err)) {
        return error_response(id_of(req), "protocol", err);
    }
    auto snap = table_.current();
    json pools = json::array();
    if (!name.empty()) {
        auto p = table_.pool(name);
        if (!p) {
            return error_response(id_of(req), "not_found", "<dump-pools>: " + p.err().context);
        }
        pools.push_back(pool_json(**p));
    } else {
        for (const auto& p : snap->pools) {
            pools.push_back(pool_json(p));
        }
    }
    return ok_response(id_of(req), {{"version", snap->version}, {"pools", std::move(pools)}});
}

json service::cmd_dump_conntrack(const json& req) {
    uint64_t limit = 1000;
    std::string err;
    if (!field(req, "limit", limit, err)) {
        return error_response(id_of(req), "protocol", err);
    }
    const auto list = datapath_->list_connections(limit);
    json conns = json::array();
    for (const auto& c : list.entries) {
        const swd_lb_tuple& t = c.tuple;
        conns.push_back({{"proto", t.proto == 6 ? "tcp" : "udp"},
                         {"src", flows::format_endpoint(t.ipv6, t.src_ip, ntohs(t.src_port))},
                         {"dst", flows::format_endpoint(t.ipv6, t.dst_ip, ntohs(t.dst_port))},
                         {"idle", static_cast<double>(c.idle_ns) / 1e9}});
    }
    return ok_response(
        id_of(req),
        {{"tracker", list.tracker}, {"total", list.total}, {"connections", std::move(conns)}});
}

json service::cmd_flush_conntrack(const json& req) {
    const size_t n = datapath_->flush_connections();
    log::info("flush-conntrack: {} live connections forgotten", n);
    return ok_response(id_of(req), {{"flushed", n}});
}

std::string service::placement_why(const flows::rule& r) const {
    const flows::calibration* cal = table_.current_calibration();
    const auto d =
        flows::decide_placement(r, table_.current_profile(), table_.offloaded(r.id), cal);
    std::string why = d.reason;
    if (d.calibrated && cal) {
        const auto k = static_cast<size_t>(dp::kind_of(r.actions));
        if (cal->xdp[k]) {
            why += fmt::format(" ({}: {:.0f} ns a packet in XDP, {:.0f} ns in user space)",
                               dp::rule_kind_name(static_cast<dp::rule_kind>(k)), cal->xdp_ns[k],
                               cal->user_ns[k]);
        } else if (!cal->why_not[k].empty()) {
            why += " (" + cal->why_not[k] + ")";
        }
    }
    if (d.xdp && datapath_->where(r.id) != dp::rule_location::xdp) {
        return fmt::format("{}, but {}", why, datapath_->xdp_status());
    }
    return why;
}

result<const flows::calibration*> service::calibrate(double sample_s) {
    auto snap = table_.current();
    const std::vector<const flows::rule*> rules = snap->sorted();
    // Every rule XDP can run marked so: the probes time each kind in XDP.
    auto probe = flows::compiler::compile_all(rules, snap->version, flows::profile::all_xdp,
                                              snap->pipeline->pools);
    auto m = datapath_->measure_costs(*probe, sample_s);
    if (!m) {
        return fail(std::move(m).err());
    }
    auto cal = std::make_shared<const flows::calibration>(flows::decide_calibration(*m));
    std::string placed;
    for (size_t k = 0; k < dp::n_rule_kinds; k++) {
        placed +=
            fmt::format("{}{} {}", placed.empty() ? "" : ", ",
                        dp::rule_kind_name(static_cast<dp::rule_kind>(k)),
                        cal->xdp[k] ? (*cal->xdp[k] ? "in XDP" : "in user space") : "not measured");
    }
    auto ns = [](double v) { return v < 0 ? std::string("n/a") : fmt::format("{:.0f}", v); };
    log::info("calibrated: {} ({} ns a packet; all in user space {}, all in XDP {})", placed,
              ns(cal->chosen_ns), ns(cal->all_user_ns), ns(cal->all_xdp_ns));
    table_.set_calibration(cal);
    if (flows::follows_calibration(table_.current_profile())) {
        published();
    }
    return table_.current_calibration();
}

// calibrate: measures the two paths' costs on this machine and keeps them for the calibrated
// profile (flows/calibration.h). seconds: the live sample (0.1-10, default the option's).
json service::cmd_calibrate(const json& req) {
    const json id = id_of(req);
    double seconds = opts_.calibrate_sample_s;
    if (req.contains("seconds")) {
        if (!req["seconds"].is_number() || req["seconds"].get<double>() < 0.1 ||
            req["seconds"].get<double>() > 10) {
            return error_response(id, "invalid_input",
                                  "<calibrate>: seconds is the live sample's length, 0.1-10");
        }
        seconds = req["seconds"].get<double>();
    }
    auto c = calibrate(seconds);
    if (!c) {
        return error_response(id, "unsupported", "<calibrate>: " + c.err().message());
    }
    return ok_response(id, {{"calibration", calibration_json(**c)},
                            {"placement", flows::profile_name(table_.current_profile())},
                            {"table_version", table_.current()->version}});
}

json service::cmd_show(const json& req) {
    auto snap = table_.current();
    json ports = json::array();
    const auto dp_ports = datapath_->ports();
    for (const auto& p : snap->ports) {
        std::string mode, steering;
        size_t queues = 0;
        for (const auto& d : dp_ports) {
            if (d.ofport == p.ofport) {
                mode = d.mode;
                steering = d.steering;
                queues = d.queues.size();
            }
        }
        ports.push_back({{"name", p.name},
                         {"ofport", p.ofport},
                         {"mode", mode},
                         {"steering", steering},
                         {"sockets", queues}});
    }
    for (const auto& d : dp_ports) {
        if (d.ofport == flows::ofport_local) {
            ports.push_back({{"name", d.name},
                             {"ofport", "LOCAL"},
                             {"mode", d.mode},
                             {"sockets", d.queues.size()}});
        }
    }
    json threads = json::array();
    for (const auto& t : datapath_->threads()) {
        threads.push_back({{"index", t.index}, {"cpu", t.cpu}, {"queues", t.queues}});
    }
    json tables = json::array();
    for (size_t t = 0; t < snap->pipeline->tables.size(); t++) {
        const auto& c = snap->pipeline->tables[t];
        if (c.subtables().empty()) {
            continue;
        }
        tables.push_back(
            {{"table", t}, {"rules", c.n_rules()}, {"subtables", c.subtables().size()}});
    }
    json pools = json::array();
    for (const auto& p : snap->pools) {
        pools.push_back({{"name", p.name},
                         {"id", p.id},
                         {"backends", p.backends.size()},
                         {"text", flows::format_pool(p)}});
    }
    auto table_json = [](const dp::datapath::table_stats& stats) {
        json j = json::object();
        for (const auto& [name, v] : stats) {
            j[name] = v;
        }
        return j;
    };
    json res{
        {"version", "0.1.0"},
        {"pid", ::getpid()},
        {"uptime", std::chrono::duration<double>(flows::clock::now() - started_).count()},
        {"table_version", snap->version},
        {"datapath", datapath_->kind()},
        {"profile", flows::profile_name(table_.current_profile())},
        {"xdp", datapath_->xdp_status()},
        {"config", opts_.config_path},
        {"ports", std::move(ports)},
        {"threads", std::move(threads)},
        {"rules", snap->n_rules},
        {"max_rules", table_.max_rules()},
        {"tables", std::move(tables)},
        {"pools", std::move(pools)},
        {"lb_sessions", table_json(datapath_->lb_sessions())},
        {"lb_session_table", dp::lb::session_store_name},
        {"connections", table_json(datapath_->connections())},
        {"adaptive",
         table_.current_profile() == flows::profile::adaptive ? adaptive_.status(table_) : json()},
        {"calibration",
         table_.current_calibration() ? calibration_json(*table_.current_calibration()) : json()},
        {"memory",
         {{"resident_bytes", resident_bytes()},
          {"pipeline_bytes", snap->pipeline->memory_bytes()}}}};
    return ok_response(id_of(req), std::move(res));
}

void service::tick(flows::clock::time_point now) {
    std::vector<uint32_t> one(1);
    std::vector<dp::rule_counters> c(1);
    auto last_hit = [&](uint32_t id) {
        one[0] = id;
        datapath_->read_counters(one, c);
        return c[0].last_hit;
    };
    datapath_->tick();
    if (opts_.calibrate_after_s > 0 && !calibrated_at_start_ &&
        now - started_ >= std::chrono::duration<double>(opts_.calibrate_after_s)) {
        calibrated_at_start_ = true;
        if (auto c = calibrate(opts_.calibrate_sample_s); !c) {
            log::warn("calibrate: {}", c.err().message());
        }
    }
    if (table_.current_profile() == flows::profile::adaptive &&
        adaptive_.tick(table_, *datapath_)) {
        published();
    }
    auto sum = table_.expire(now, last_hit);
    if (sum.deleted) {
        published();
        log::info("expired {} rule{} (version {})", sum.deleted, sum.deleted == 1 ? "" : "s",
                  table_.current()->version);
    }
}

result<flows::change_summary> service::reload() {
    if (opts_.config_path.empty()) {
        return fail(errc::invalid_input, "no --config file to reload");
    }
    auto text = read_file(opts_.config_path);
    if (!text) {
        return fail(std::move(text).err());
    }
    auto out = flows::parse_flows(*text, opts_.config_path, flows::parse_mode::config,
                                  context("a configuration"));
    if (!out.ok()) {
        return fail(errc::invalid_input,
                    "\n" + flows::format_all(out.errors) + "nothing was changed");
    }
    const size_t n = std::max(out.mods.size(), table_.size());
    auto r = table_.replace(std::move(out.mods), std::move(out.pools), flows::clock::now());
    if (r) {
        published();
        after_change(n);
    }
    return r;
}

} // namespace swd::ctl
