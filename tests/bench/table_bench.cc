// table_bench: times the control plane's steps on generated rule sets, in process.
//
//   table_bench [--sizes 1000,100000,1000000] [--repeat 3] [--seed S] [--tsv FILE]
//   table_bench --write FILE N [--variant a|b] [--seed S]
//
// Per size N it times parsing the flow text (flows::parse_flows, parse_mode::config), applying it
// to an empty rule table (rule_table::replace, which compiles and publishes), and replacing all N
// rules by the same matches with other actions (what replace-flows does after parsing). For the
// largest size it also times single-rule changes in the full table (incremental compile). Then
// the swd side of swctl add-flows/replace-flows without the socket: the JSON request, and
// ctl::service::handle as swd runs it. Each point runs `repeat` times and prints min/median/max.
// Each size runs in a child process, so that its table's memory and its peak RSS (VmHWM) are its
// own.
//
// The rules are a pure function of (seed, index, variant), so `--write` gives
// tests/bench/control_plane.sh the same rules: variant b has variant a's matches (table,
// priority, match) with a different action list on every rule. Actions refer to ports 1 and 2
// (swd --port p1 --port p2; two OVS internal ports with ofport_request 1 and 2).
//
// --tsv FILE appends one line per measurement, "key<TAB>min<TAB>median<TAB>max" (seconds or
// bytes), for the script's summary table.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fmt/core.h>
#include <fmt/format.h>
#include <fstream>
#include <iterator>
#include <malloc.h>
#include <string>
#include <string_view>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include "datapath/datapath.h"
#include "datapath/util/log.h"
#include "flows/parser.h"
#include "flows/rule_table.h"
#include "tools/control/protocol.h"
#include "tools/control/service.h"

using namespace swd;

namespace {

using bench_clock = std::chrono::steady_clock;

uint64_t splitmix64(uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

// A bijection of [0, 2^24): distinct indexes give distinct addresses, in a scattered order.
uint32_t scatter24(uint32_t x, uint64_t key) {
    constexpr uint32_t m = 0xffffff;
    x = (x ^ static_cast<uint32_t>(key)) & m;
    x = (x * 0x2545f5u) & m; // odd multipliers are invertible mod 2^24
    x ^= x >> 12;
    x = (x * 0x9e3779u) & m;
    x ^= x >> 11;
    return x;
}

// Largest rule count: the scattered 24-bit address must stay unique per rule.
constexpr size_t max_generated = size_t{1} << 24;

// Deterministic rule text: a firewall-like mix of exact 5-tuples and /24 prefixes over a few
// priorities, with drop, output and mod_nw_dst+output actions.
class rule_gen {
public:
    explicit rule_gen(uint64_t seed) : seed_(seed) {}

    void line(size_t i, bool variant_b, std::string& out) const {
        const uint64_t h = splitmix64(seed_ ^ (i * 0xd1b54a32d192ed03ULL));
        const uint64_t h2 = splitmix64(h);
        auto out_it = std::back_inserter(out);
        const unsigned kind = h % 100;
        if (kind < 70) {
            // Exact 5-tuple: nw_src is unique per index, the rest random.
            const bool tcp = kind < 60;
            const uint32_t src = scatter24(static_cast<uint32_t>(i), seed_);
            static constexpr uint16_t services[] = {22, 53, 80, 443, 3306, 5432, 6379, 8080};
            fmt::format_to(out_it,
                           "priority={},{},nw_src=10.{}.{}.{},nw_dst=192.168.{}.{},tp_src={},"
                           "tp_dst={},",
                           tcp ? (h & 0x100 ? 300 : 200) : 250, tcp ? "tcp" : "udp", src >> 16,
                           (src >> 8) & 0xff, src & 0xff, (h >> 16) & 0xff, (h >> 24) & 0xff,
                           1024 + (h >> 32) % 64512, services[(h >> 48) % 8]);
        } else {
            // /24 prefix on nw_src or nw_dst, unique per index.
            const bool on_src = kind < 85;
            const uint32_t net = scatter24(static_cast<uint32_t>(i), seed_ >> 24);
            fmt::format_to(out_it, "priority={},ip,{}={}.{}.{}.0/24,",
                           on_src ? (h & 0x100 ? 150 : 100) : 120, on_src ? "nw_src" : "nw_dst",
                           net >> 16, (net >> 8) & 0xff, net & 0xff);
        }
        // Variant b shifts the action kind by one, so every rule's actions change.
        const unsigned act = static_cast<unsigned>((h2 % 4 + (variant_b ? 1 : 0)) % 4);
        const unsigned port = 1 + static_cast<unsigned>((h2 >> 8) & 1);
        switch (act) {
        case 0:
            out += "actions=drop\n";
            break;
        case 1:
        case 2:
            fmt::format_to(out_it, "actions=output:{}\n", act);
            break;
        default:
            fmt::format_to(out_it, "actions=mod_nw_dst:10.{}.{}.{},output:{}\n",
                           variant_b ? 201 : 200, (h2 >> 16) & 0xff, (h2 >> 24) & 0xff, port);
            break;
        }
    }

    std::string text(size_t n, bool variant_b, size_t first = 0) const {
        std::string s;
        s.reserve(n * 96);
        for (size_t i = first; i < first + n; i++) {
            line(i, variant_b, s);
        }
        return s;
    }

private:
    uint64_t seed_;
};

double seconds_since(bench_clock::time_point t0) {
    return std::chrono::duration<double>(bench_clock::now() - t0).count();
}

// min, median, max of a sample.
struct stats {
    double min = 0, med = 0, max = 0;
};

stats summarize(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? stats{} : stats{v.front(), v[v.size() / 2], v.back()};
}

// A /proc/self/status field in bytes (VmRSS, VmHWM), or 0.
size_t status_bytes(const char* field) {
    std::ifstream f("/proc/self/status");
    std::string line;
    const size_t n = std::strlen(field);
    while (std::getline(f, line)) {
        if (line.compare(0, n, field) == 0 && line.size() > n && line[n] == ':') {
            return std::strtoull(line.c_str() + n + 1, nullptr, 10) * 1024;
        }
    }
    return 0;
}

// Bytes malloc has handed out and not got back (the heap the program really uses).
size_t heap_in_use() {
    struct mallinfo2 mi = ::mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

double mib(size_t bytes) {
    return static_cast<double>(bytes) / 1048576.0;
}

struct options {
    std::vector<size_t> sizes{1000, 100000, 1000000};
    unsigned repeat = 3;
    uint64_t seed = 20240601;
    std::string tsv;
};

class reporter {
public:
    explicit reporter(const std::string& tsv_path) : path_(tsv_path) {}

    // Prints one row of the table and appends it to the TSV file.
    void time(size_t n, const std::string& what, const std::string& key, const stats& s,
              const std::string& extra = "") {
        fmt::print("  {:>9} {:<44} {:>10.3f} {:>10.3f} {:>10.3f}  {}\n", n, what, s.min * 1e3,
                   s.med * 1e3, s.max * 1e3, extra);
        tsv(key, s);
    }
    void tsv(const std::string& key, const stats& s) {
        if (path_.empty()) {
            return;
        }
        if (FILE* f = std::fopen(path_.c_str(), "a")) {
            fmt::print(f, "{}\t{:.9g}\t{:.9g}\t{:.9g}\n", key, s.min, s.med, s.max);
            std::fclose(f);
        }
    }

private:
    std::string path_;
};

flows::parse_context bench_context() {
    // As `swd --port p1 --port p2`: ofports 1 and 2.
    flows::parse_context ctx;
    ctx.ports = {{"p1", 0}, {"p2", 0}};
    return ctx;
}

flows::parse_output parse_or_die(const std::string& text, const char* name, flows::parse_mode m,
                                 const flows::parse_context& ctx) {
    auto out = flows::parse_flows(text, name, m, ctx);
    if (!out.ok()) {
        fmt::print(stderr, "table_bench: generated rules do not parse:\n{}\n",
                   out.errors.front().format());
        std::exit(1);
    }
    return out;
}

void apply_or_die(flows::rule_table& t, const flows::parse_output& p) {
    auto r = t.apply(p.mods, p.pools, flows::clock::now());
    if (!r) {
        fmt::print(stderr, "table_bench: apply failed: {}\n", r.err().message());
        std::exit(1);
    }
}

// "delete_strict MATCH" for a rule line: the line without its actions.
std::string delete_line(std::string_view rule_line) {
    return "delete_strict " + std::string(rule_line.substr(0, rule_line.find(",actions=")));
}

// Single-rule changes in a table of n rules: what one swctl add-flow/del-flows costs after
// parsing (rule_table::apply compiles the changed group and publishes).
void single_changes(const options& o, const rule_gen& gen, size_t n, flows::rule_table& table,
                    reporter& rep) {
    const auto ctx = bench_context();
    std::vector<double> add_big, del_big, add_new;
    const auto pipe = table.current()->pipeline;
    size_t largest = 0;
    for (const auto& c : pipe->tables) {
        for (const auto& st : c.subtables()) {
            largest = std::max(largest, st->size());
        }
    }
    size_t next = n;
    for (unsigned r = 0; r < o.repeat; r++) {
        // A new 5-tuple rule, generated past the table's indexes: it joins the largest group.
        std::string line;
        do {
            line = gen.text(1, false, next++);
        } while (line.find(",tcp,") == std::string::npos);
        auto add = parse_or_die(line, "<add>", flows::parse_mode::flow_mods, ctx);
        auto t0 = bench_clock::now();
        apply_or_die(table, add);
        add_big.push_back(seconds_since(t0));

        // Delete it again (delete_strict by its identity).
        auto del = parse_or_die(delete_line(line), "<del>", flows::parse_mode::flow_mods, ctx);
        t0 = bench_clock::now();
        apply_or_die(table, del);
        del_big.push_back(seconds_since(t0));

        // A rule with a mask no other rule has: a new group of one rule.
        std::string own =
            fmt::format("priority=900,tcp,tp_dst={},tcp_flags=+syn,actions=drop", 1000 + r);
        auto add_own = parse_or_die(own, "<add>", flows::parse_mode::flow_mods, ctx);
        if (r == 0) {
            t0 = bench_clock::now();
            apply_or_die(table, add_own);
            add_new.push_back(seconds_since(t0));
        } else {
            // The first one's mask (a group of two); removed again after timing.
            auto del_own =
                parse_or_die(delete_line(own), "<del>", flows::parse_mode::flow_mods, ctx);
            t0 = bench_clock::now();
            apply_or_die(table, add_own);
            add_new.push_back(seconds_since(t0));
            apply_or_die(table, del_own);
        }
    }
    rep.time(n, "add 1 rule to the largest group", fmt::format("single_add_{}", n),
             summarize(add_big), fmt::format("largest group: {} rules", largest));
    rep.time(n, "delete that rule", fmt::format("single_del_{}", n), summarize(del_big));
    rep.time(n, "add 1 rule with a mask of its own", fmt::format("single_add_new_group_{}", n),
             summarize(add_new));
}

// The swd side of `swctl add-flows` and `swctl replace-flows` without the socket: the request
// swctl sends (JSON with the whole file as one string), parsed as swd's server parses a line and
// answered by ctl::service, as in swd. Shows what the end-to-end figures spend besides parsing
// and compiling.
void request_path(const options& o, size_t n, reporter& rep) {
    const rule_gen gen(o.seed);
    const std::string text_a = gen.text(n, false), text_b = gen.text(n, true);
    std::vector<double> dump_s, jparse_s, add_s, replace_s, answer_s;
    for (unsigned r = 0; r < o.repeat; r++) {
        ctl::service_options opts;
        opts.ports = {{"p1", 1}, {"p2", 2}};
        ctl::service svc(opts, std::make_unique<dp::null_datapath>());
        auto call = [&](const char* cmd, const std::string& text, const char* what,
                        std::vector<double>& handle_s, bool timed_json) {
            ctl::json req{{"cmd", cmd}, {"text", text}, {"source", "bench.txt"}, {"id", 1}};
            auto t0 = bench_clock::now();
            std::string line = req.dump(-1, ' ', false, ctl::json::error_handler_t::replace);
            const double d = seconds_since(t0);
            req = ctl::json();
            t0 = bench_clock::now();
            ctl::json in = ctl::json::parse(line, nullptr, false);
            const double p = seconds_since(t0);
            line = std::string();
            t0 = bench_clock::now();
            ctl::json resp = svc.handle(in);
            handle_s.push_back(seconds_since(t0));
            t0 = bench_clock::now();
            std::string answer = resp.dump(-1, ' ', false, ctl::json::error_handler_t::replace);
            const double a = seconds_since(t0);
            const ctl::json& res = resp.value("result", ctl::json::object());
            if (!resp.value("ok", false) || res.value(what, size_t{0}) != n) {
                fmt::print(stderr, "table_bench: {} answered {}\n", cmd, answer.substr(0, 400));
                std::exit(1);
            }
            if (timed_json) {
                dump_s.push_back(d);
                jparse_s.push_back(p);
                answer_s.push_back(a);
            }
        };
        call("add-flows", text_a, "added", add_s, true);
        call("replace-flows", text_b, "modified", replace_s, false);
    }
    rep.time(n, "swd request: JSON dump of the request (swctl)", fmt::format("req_dump_{}", n),
             summarize(dump_s));
    rep.time(n, "swd request: JSON parse of the request line", fmt::format("req_parse_{}", n),
             summarize(jparse_s));
    rep.time(n, "swd request: service.handle(add-flows)", fmt::format("req_add_{}", n),
             summarize(add_s), "parse (flow_mods) + apply + publish");
    rep.time(n, "swd request: service.handle(replace-flows)", fmt::format("req_replace_{}", n),
             summarize(replace_s), "all rules changed");
    rep.time(n, "swd request: JSON dump of the answer", fmt::format("req_answer_{}", n),
             summarize(answer_s));
}

// Runs every measurement of size n; called in a child process.
void bench_size(const options& o, size_t n, bool with_single) {
    reporter rep(o.tsv);
    const rule_gen gen(o.seed);
    const auto ctx = bench_context();
    const size_t rss0 = status_bytes("VmRSS");
    const size_t heap0 = heap_in_use();

    std::vector<double> gen_s, parse_s, parse_mods_s, compile_s, total_s, parse_b_s, replace_s;
    size_t text_bytes = 0, table_rss = 0, table_heap = 0;
    size_t n_subtables = 0;
    std::unique_ptr<flows::rule_table> keep; // the last table, for single-rule changes
    size_t pipeline_bytes = 0;
    for (unsigned r = 0; r < o.repeat; r++) {
        keep.reset();
        ::malloc_trim(0);
        auto t0 = bench_clock::now();
        std::string text = gen.text(n, false);
        gen_s.push_back(seconds_since(t0));
        text_bytes = text.size();

        t0 = bench_clock::now();
        auto parsed = parse_or_die(text, "<bench-a>", flows::parse_mode::config, ctx);
        const double p = seconds_since(t0);

        // The same text as add-flows parses it: no duplicate-rule check.
        t0 = bench_clock::now();
        parse_or_die(text, "<bench-a>", flows::parse_mode::flow_mods, ctx);
        parse_mods_s.push_back(seconds_since(t0));

        auto table = std::make_unique<flows::rule_table>();
        table->set_ports(parsed.ports);
        t0 = bench_clock::now();
        auto sum = table->replace(parsed.mods, parsed.pools, flows::clock::now());
        const double c = seconds_since(t0);
        if (!sum || sum->added != n) {
            fmt::print(stderr, "table_bench: replace added {} of {} rules\n", sum ? sum->added : 0,
                       n);
            std::exit(1);
        }
        parse_s.push_back(p);
        compile_s.push_back(c);
        total_s.push_back(p + c);
        n_subtables = table->current()->pipeline->n_subtables();
        pipeline_bytes = table->current()->pipeline->memory_bytes();

        // What the table alone keeps resident: free the text and the parse output first.
        text = std::string();
        parsed = flows::parse_output();
        ::malloc_trim(0);
        const size_t rss = status_bytes("VmRSS");
        table_rss = std::max(table_rss, rss - std::min(rss0, rss));
        const size_t heap = heap_in_use();
        table_heap = std::max(table_heap, heap - std::min(heap0, heap));

        // Replace all n rules by variant b (every action changes).
        std::string text_b = gen.text(n, true);
        t0 = bench_clock::now();
        auto parsed_b = parse_or_die(text_b, "<bench-b>", flows::parse_mode::config, ctx);
        parse_b_s.push_back(seconds_since(t0));
        t0 = bench_clock::now();
        auto sum_b = table->replace(parsed_b.mods, parsed_b.pools, flows::clock::now());
        replace_s.push_back(seconds_since(t0));
        if (!sum_b || sum_b->modified != n) {
            fmt::print(stderr, "table_bench: replace modified {} of {} rules\n",
                       sum_b ? sum_b->modified : 0, n);
            std::exit(1);
        }
        keep = std::move(table);
    }
    const stats total = summarize(total_s);
    rep.time(n, "generate text (not part of the total)", fmt::format("gen_{}", n), summarize(gen_s),
             fmt::format("{:.1f} MiB of text", mib(text_bytes)));
    rep.time(n, "parse", fmt::format("parse_{}", n), summarize(parse_s),
             fmt::format("{:.0f} rules/s", n / summarize(parse_s).med));
    rep.time(n, "parse as add-flows does (flow_mods mode)", fmt::format("parse_mods_{}", n),
             summarize(parse_mods_s), "not part of the total: no duplicate check");
    rep.time(n, "compile+publish (rule_table::replace)", fmt::format("compile_{}", n),
             summarize(compile_s), fmt::format("{} subtables", n_subtables));
    rep.time(n, "total: parse + compile + publish", fmt::format("total_{}", n), total,
             fmt::format("{:.0f} rules/s", n / total.med));
    rep.time(n, "replace all (b over a): parse", fmt::format("replace_parse_{}", n),
             summarize(parse_b_s));
    rep.time(n, "replace all (b over a): table+compile", fmt::format("replace_compile_{}", n),
             summarize(replace_s));
    if (with_single) {
        single_changes(o, gen, n, *keep, rep);
    }
    keep.reset();
    request_path(o, n, rep);
    const size_t hwm = status_bytes("VmHWM");
    fmt::print("  {:>9} memory: table alone {:.1f} MiB resident, {:.1f} MiB of heap ({:.0f} bytes "
               "per rule, of which compiled pipeline {:.0f})\n",
               n, mib(table_rss), mib(table_heap), double(table_heap) / double(n),
               double(pipeline_bytes) / double(n));
    fmt::print("  {:>9} memory: peak of this run {:.1f} MiB (text, parse output, two table "
               "versions)\n",
               n, mib(hwm));
    rep.tsv(fmt::format("table_rss_{}", n),
            {double(table_rss), double(table_rss), double(table_rss)});
    rep.tsv(fmt::format("table_heap_{}", n),
            {double(table_heap), double(table_heap), double(table_heap)});
    rep.tsv(fmt::format("peak_rss_{}", n), {double(hwm), double(hwm), double(hwm)});
}

int run_bench(const options& o) {
    fmt::print("table_bench: seed {}, {} runs per point; times in ms (min / median / max)\n",
               o.seed, o.repeat);
    fmt::print("  {:>9} {:<44} {:>10} {:>10} {:>10}\n", "rules", "step", "min", "median", "max");
    const size_t largest = *std::max_element(o.sizes.begin(), o.sizes.end());
    for (size_t n : o.sizes) {
        std::fflush(stdout);
        pid_t pid = ::fork();
        if (pid < 0) {
            std::perror("table_bench: fork");
            return 1;
        }
        if (pid == 0) {
            bench_size(o, n, n == largest);
            std::fflush(stdout);
            ::_exit(0);
        }
        int st = 0;
        if (::waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            fmt::print(stderr, "table_bench: the run for {} rules failed\n", n);
            return 1;
        }
    }
    return 0;
}

int write_rules(const std::string& path, size_t n, bool variant_b, uint64_t seed) {
    const rule_gen gen(seed);
    FILE* f = path == "-" ? stdout : std::fopen(path.c_str(), "w");
    if (!f) {
        fmt::print(stderr, "table_bench: open {}: {}\n", path, std::strerror(errno));
        return 1;
    }
    std::string buf;
    constexpr size_t batch = 65536;
    for (size_t i = 0; i < n; i += batch) {
        buf = gen.text(std::min(batch, n - i), variant_b, i);
        if (std::fwrite(buf.data(), 1, buf.size(), f) != buf.size()) {
            fmt::print(stderr, "table_bench: write {}: {}\n", path, std::strerror(errno));
            return 1;
        }
    }
    if (f != stdout && std::fclose(f) != 0) {
        fmt::print(stderr, "table_bench: close {}: {}\n", path, std::strerror(errno));
        return 1;
    }
    return 0;
}

bool parse_size(std::string_view s, size_t& out) {
    if (s.empty() || s.size() > 9) {
        return false;
    }
    size_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') {
            return false;
        }
        v = v * 10 + static_cast<size_t>(c - '0');
    }
    out = v;
    return v >= 1 && v <= max_generated;
}

constexpr const char* usage =
    "usage: table_bench [--sizes N,N,...] [--repeat R] [--seed S] [--tsv FILE]\n"
    "       table_bench --write FILE N [--variant a|b] [--seed S]\n"
    "\n"
    "Times parse, compile+publish and replace of N generated rules (default sizes\n"
    "1000,100000,1000000, 3 runs each), or writes the same rules to FILE ('-' for stdout).\n"
    "Variant b has variant a's matches with every action changed. N is at most 16777216.\n";

} // namespace

int main(int argc, char** argv) {
    options o;
    std::string write_path;
    size_t write_n = 0;
    bool variant_b = false;
    std::vector<std::string_view> args(argv + 1, argv + argc);
    auto bad = [](const std::string& msg) {
        fmt::print(stderr, "table_bench: {}\n{}", msg, usage);
        return 2;
    };
    for (size_t i = 0; i < args.size(); i++) {
        std::string_view a = args[i];
        auto value = [&]() -> std::string_view {
            return i + 1 < args.size() ? args[++i] : std::string_view();
        };
        if (a == "-h" || a == "--help") {
            fmt::print("{}", usage);
            return 0;
        } else if (a == "--write") {
            write_path = std::string(value());
            if (write_path.empty() || !parse_size(value(), write_n)) {
                return bad("--write needs FILE and a rule count N");
            }
        } else if (a == "--variant") {
            std::string_view v = value();
            if (v != "a" && v != "b" && v != "A" && v != "B") {
                return bad("--variant is a or b");
            }
            variant_b = v == "b" || v == "B";
        } else if (a == "--seed") {
            std::string s(value());
            char* end = nullptr;
            o.seed = std::strtoull(s.c_str(), &end, 10);
            if (s.empty() || *end != '\0') {
                return bad("--seed needs a number");
            }
        } else if (a == "--repeat") {
            size_t r = 0;
            if (!parse_size(value(), r) || r > 100) {
                return bad("--repeat needs a number 1-100");
            }
            o.repeat = static_cast<unsigned>(r);
        } else if (a == "--sizes") {
            o.sizes.clear();
            std::string_view list = value();
            while (!list.empty()) {
                size_t comma = list.find(',');
                size_t n = 0;
                if (!parse_size(list.substr(0, comma), n)) {
                    return bad("--sizes needs rule counts 1-16777216 separated by commas");
                }
                o.sizes.push_back(n);
                list = comma == std::string_view::npos ? "" : list.substr(comma + 1);
            }
            if (o.sizes.empty()) {
                return bad("--sizes needs at least one rule count");
            }
        } else if (a == "--tsv") {
            o.tsv = std::string(value());
            if (o.tsv.empty()) {
                return bad("--tsv needs a file");
            }
        } else {
            return bad(fmt::format("unknown argument '{}'", a));
        }
    }
    if (!write_path.empty()) {
        return write_rules(write_path, write_n, variant_b, o.seed);
    }
    log::set_level(log::level::warn); // ctl::service logs every change at info
    return run_bench(o);
}
