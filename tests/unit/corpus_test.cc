// Corpus and round-trip tests for the flow language (flows/parser.h, flows/format.h).
//
// tests/unit/corpus/ovs_style.txt holds rules in ovs-ofctl syntax, each with the text swd
// normalises it to and, where Open vSwitch parses the same line, what ovs-ofctl 3.1 prints;
// tests/unit/corpus/errors.txt holds invalid rules with the first line of their diagnostic. The
// headers of those files describe their format. The round-trip tests check that format_rule()
// prints text that parses back to the same rule: for every corpus line, and for random rules from
// a seeded generator.
//
// Environment:
//   SWD_SOURCE_ROOT  repository root (meson test sets it); default: the current directory
//   SWD_CORPUS_SEED  seed of the random rules (default fixed; every failure prints it)
//   SWD_OVS_OFCTL    path of ovs-ofctl: check the recorded ovs: lines against it (else skipped)
#include <algorithm>
#include <arpa/inet.h>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fmt/format.h>
#include <fstream>
#include <gtest/gtest.h>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "flows/format.h"
#include "flows/parser.h"

namespace swd::flows {
namespace {

// ---- Parsing with the corpus context ------------------------------------------------------------

constexpr std::string_view source_name = "<corpus>";

const parse_context& corpus_context() {
    static const parse_context ctx = [] {
        parse_context c;
        c.ports = {{"eth0", 1}, {"eth1", 2}, {"eth2", 3}};
        return c;
    }();
    return ctx;
}

struct parsed_text {
    parse_output out;
    std::vector<std::string> formatted; // format_rule() of each rule, with port and pool names
};

parsed_text parse_and_format(std::string_view text) {
    parsed_text p;
    p.out = parse_flows(text, source_name, parse_mode::config, corpus_context());
    std::vector<port_decl> ports = corpus_context().ports;
    ports.insert(ports.end(), p.out.ports.begin(), p.out.ports.end());
    const format_names names{&ports, &p.out.pools};
    for (const auto& m : p.out.mods) {
        p.formatted.push_back(format_rule(m.spec, names));
    }
    return p;
}

std::string join(const std::vector<std::string>& lines, std::string_view indent = "    ") {
    std::string s;
    for (const auto& l : lines) {
        s += fmt::format("{}{}\n", indent, l);
    }
    return s.empty() ? fmt::format("{}(nothing)\n", indent) : s;
}

std::string headlines(const std::vector<diagnostic>& diags) {
    std::vector<std::string> h;
    for (const auto& d : diags) {
        h.push_back(d.headline());
    }
    return join(h);
}

// Shows tabs and carriage returns in failure messages.
std::string visible(std::string_view s) {
    std::string r;
    for (char c : s) {
        r += c == '\t' ? std::string("<TAB>") : c == '\r' ? std::string("<CR>") : std::string(1, c);
    }
    return r;
}

std::string key_hex(const dp::flow_key& k) {
    std::string s;
    for (uint64_t w : k.w) {
        s += fmt::format("{:016x} ", w);
    }
    return s;
}

std::string actions_hex(const std::vector<swd_action>& acts) {
    std::string s;
    for (const auto& a : acts) {
        const auto* b = reinterpret_cast<const uint8_t*>(&a);
        for (size_t i = 0; i < sizeof a; i++) {
            s += fmt::format("{:02x}", b[i]);
        }
        s += ' ';
    }
    return s.empty() ? "(none)" : s;
}

// Empty when the rules agree on everything a rule's text describes: match, priority, table,
// cookie, timeouts, placement and the action bytes; otherwise what differs.
std::string rule_diff(const rule& a, const rule& b) {
    std::string d;
    if (!(a.match.value == b.match.value)) {
        d += fmt::format("  match value: {}\n           vs: {}\n", key_hex(a.match.value),
                         key_hex(b.match.value));
    }
    if (!(a.match.mask == b.match.mask)) {
        d += fmt::format("  match mask:  {}\n           vs: {}\n", key_hex(a.match.mask),
                         key_hex(b.match.mask));
    }
    if (a.priority != b.priority) {
        d += fmt::format("  priority {} vs {}\n", a.priority, b.priority);
    }
    if (a.table != b.table) {
        d += fmt::format("  table {} vs {}\n", a.table, b.table);
    }
    if (a.cookie != b.cookie) {
        d += fmt::format("  cookie {:#x} vs {:#x}\n", a.cookie, b.cookie);
    }
    if (a.idle_timeout != b.idle_timeout) {
        d += fmt::format("  idle_timeout {} vs {}\n", a.idle_timeout, b.idle_timeout);
    }
    if (a.hard_timeout != b.hard_timeout) {
        d += fmt::format("  hard_timeout {} vs {}\n", a.hard_timeout, b.hard_timeout);
    }
    if (a.place != b.place) {
        d +=
            fmt::format("  placement {} vs {}\n", placement_name(a.place), placement_name(b.place));
    }
    if (a.queue != b.queue) {
        d += fmt::format("  queue {} vs {}\n", a.queue ? std::to_string(*a.queue) : "none",
                         b.queue ? std::to_string(*b.queue) : "none");
    }
    if (a.actions.size() != b.actions.size() ||
        (!a.actions.empty() && std::memcmp(a.actions.data(), b.actions.data(),
                                           a.actions.size() * sizeof(swd_action)) != 0)) {
        d += fmt::format("  actions {}\n       vs {}\n", actions_hex(a.actions),
                         actions_hex(b.actions));
    }
    return d;
}

// ---- Corpus files -------------------------------------------------------------------------------

struct corpus_case {
    int line = 0;                // in the corpus file, of the in: line
    std::vector<std::string> in; // physical lines, placeholders replaced
    std::vector<std::string> out, warnings, errors, ovs;
    std::string text; // what the parser reads: the input, then the file's declarations

    std::string input() const {
        std::vector<std::string> v;
        for (const auto& l : in) {
            v.push_back(visible(l));
        }
        return join(v);
    }
};

struct corpus {
    std::string path;
    std::vector<std::string> decls;
    std::vector<corpus_case> cases;
    std::vector<std::string> problems; // malformed lines of the corpus file
};

std::string corpus_dir() {
    const char* root = std::getenv("SWD_SOURCE_ROOT");
    return std::string(root && *root ? root : ".") + "/tests/unit/corpus/";
}

std::string expand(std::string_view s) {
    std::string r;
    for (size_t i = 0; i < s.size();) {
        if (s.substr(i).starts_with("<TAB>")) {
            r += '\t';
            i += 5;
        } else if (s.substr(i).starts_with("<CR>")) {
            r += '\r';
            i += 4;
        } else {
            r += s[i++];
        }
    }
    return r;
}

// "key: rest" or "key:" alone (empty rest).
bool item(std::string_view line, std::string_view key, std::string& rest) {
    if (!line.starts_with(key) || line.size() < key.size() + 1 || line[key.size()] != ':') {
        return false;
    }
    std::string_view r = line.substr(key.size() + 1);
    if (!r.empty() && r[0] != ' ') {
        return false;
    }
    rest = std::string(r.empty() ? r : r.substr(1));
    return true;
}

corpus load_corpus(std::string_view name) {
    corpus c;
    c.path = corpus_dir() + std::string(name);
    std::ifstream f(c.path);
    if (!f) {
        c.problems.push_back("cannot open " + c.path +
                             " (is SWD_SOURCE_ROOT the repository root?)");
        return c;
    }
    std::string line, rest;
    int n = 0;
    corpus_case* cur = nullptr; // the case that expectation lines attach to
    bool input_open = false;    // in+: may still extend cur's input
    while (std::getline(f, line)) {
        n++;
        auto problem = [&](std::string_view why) {
            c.problems.push_back(fmt::format("{}:{}: {}: {}", c.path, n, why, line));
        };
        if (line.empty() || line[0] == '#') {
            cur = nullptr;
            input_open = false;
        } else if (item(line, "decl", rest)) {
            c.decls.push_back(rest);
            cur = nullptr;
            input_open = false;
        } else if (item(line, "in", rest)) {
            c.cases.push_back({});
            cur = &c.cases.back();
            cur->line = n;
            cur->in.push_back(expand(rest));
            input_open = true;
        } else if (item(line, "in+", rest)) {
            if (!input_open) {
                problem("in+: without an in: line just before");
                continue;
            }
            cur->in.push_back(expand(rest));
        } else if (item(line, "out", rest) || item(line, "warning", rest) ||
                   item(line, "error", rest) || item(line, "ovs", rest)) {
            if (!cur) {
                problem("expectation outside a case");
                continue;
            }
            input_open = false;
            std::vector<std::string>& list = line.starts_with("out")       ? cur->out
                                             : line.starts_with("warning") ? cur->warnings
                                             : line.starts_with("error")   ? cur->errors
                                                                           : cur->ovs;
            list.push_back(rest);
        } else {
            problem(
                "unknown line kind (expected #, decl:, in:, in+:, warning:, out:, error:, ovs:)");
        }
    }
    for (auto& k : c.cases) {
        for (const auto& l : k.in) {
            k.text += l + "\n";
        }
        for (const auto& d : c.decls) {
            k.text += d + "\n";
        }
    }
    return c;
}

const corpus& ovs_corpus() {
    static const corpus c = load_corpus("ovs_style.txt");
    return c;
}

const corpus& error_corpus() {
    static const corpus c = load_corpus("errors.txt");
    return c;
}

// A rule followed by the declarations a parse produced, printed by format_pool/format_port (so
// that the pools keep their ids).
std::string with_decls(std::string_view rule_text, const parse_output& declared) {
    std::string s = std::string(rule_text) + "\n";
    for (const auto& p : declared.ports) {
        s += format_port(p) + "\n";
    }
    for (const auto& p : declared.pools) {
        s += format_pool(p) + "\n";
    }
    return s;
}

// ---- OVS's spelling of a normalised rule --------------------------------------------------------

std::vector<std::string> split(std::string_view s, char sep) {
    std::vector<std::string> parts;
    size_t start = 0;
    for (size_t i = 0; i <= s.size(); i++) {
        if (i == s.size() || s[i] == sep) {
            parts.emplace_back(s.substr(start, i - start));
            start = i + 1;
        }
    }
    return parts;
}

std::string port_number(std::string_view name) {
    for (const auto& p : corpus_context().ports) {
        if (p.name == name) {
            return std::to_string(p.ofport);
        }
    }
    return std::string(name);
}

// What `ovs-ofctl parse-flow` prints after "ADD " for a rule that swd prints as `swd`, undoing
// the deliberate differences listed in ovs_style.txt. Empty when OVS has no such rule.
std::string to_ovs_form(std::string_view swd) {
    enum { cookie, table, idle, hard, place, queue };
    static constexpr std::string_view props[] = {"cookie",       "table",     "idle_timeout",
                                                 "hard_timeout", "placement", "queue"};
    std::string values[std::size(props)];
    std::string_view rest = swd;
    for (bool more = true; more;) {
        more = false;
        for (size_t i = 0; i < std::size(props); i++) {
            const std::string key = std::string(props[i]) + "=";
            const size_t end = rest.find(", ");
            if (rest.starts_with(key) && end != std::string_view::npos) {
                values[i] = std::string(rest.substr(key.size(), end - key.size()));
                rest.remove_prefix(end + 2);
                more = true;
            }
        }
    }
    if (!values[place].empty() || !values[queue].empty()) {
        return "";
    }
    const size_t a = rest.rfind("actions=");
    if (a == std::string_view::npos) {
        return "";
    }
    std::string_view match = rest.substr(0, a);
    while (!match.empty() && match.back() == ' ') {
        match.remove_suffix(1);
    }
    std::string m;
    if (!match.empty()) {
        for (auto& f : split(match, ',')) {
            if (f.starts_with("in_port=")) {
                f = "in_port=" + port_number(f.substr(8));
            }
            m += (m.empty() ? "" : ",") + f;
        }
    }
    std::string acts;
    for (auto& act : split(rest.substr(a + 8), ',')) {
        if (act.starts_with("output:")) {
            act = "output:" + port_number(act.substr(7));
        } else if (act == "in_port" || act == "local") {
            std::transform(act.begin(), act.end(), act.begin(), ::toupper);
        } else if (act.starts_with("goto_table:")) {
            act = "resubmit(," + act.substr(11) + ")";
        } else if (act.starts_with("lb(")) {
            return "";
        }
        acts += (acts.empty() ? "" : ",") + act;
    }
    std::vector<std::string> parts;
    if (!values[table].empty()) {
        parts.push_back("table:" + values[table]);
    }
    if (!m.empty()) {
        parts.push_back(m);
    }
    if (!values[cookie].empty()) {
        parts.push_back("cookie:" + values[cookie]);
    }
    if (!values[idle].empty()) {
        parts.push_back("idle:" + values[idle]);
    }
    if (!values[hard].empty()) {
        parts.push_back("hard:" + values[hard]);
    }
    parts.push_back("actions=" + acts);
    std::string s;
    for (const auto& p : parts) {
        s += (s.empty() ? "" : " ") + p;
    }
    return s;
}

TEST(to_ovs_form, undoes_the_documented_differences) {
    EXPECT_EQ(to_ovs_form("cookie=0x5, table=3, idle_timeout=10, hard_timeout=20, "
                          "priority=7,tcp,in_port=eth1 actions=in_port,local,output:eth2,"
                          "goto_table:5"),
              "table:3 priority=7,tcp,in_port=2 cookie:0x5 idle:10 hard:20 "
              "actions=IN_PORT,LOCAL,output:3,resubmit(,5)");
    EXPECT_EQ(to_ovs_form("actions=drop"), "actions=drop");
    EXPECT_EQ(to_ovs_form("table=1, actions=drop"), "table:1 actions=drop");
    EXPECT_EQ(to_ovs_form("placement=xdp, actions=drop"), "");
    EXPECT_EQ(to_ovs_form("tcp actions=lb(web)"), "");
}

// ---- The corpus ---------------------------------------------------------------------------------

TEST(corpus, files_are_well_formed_and_large_enough) {
    const corpus& ok = ovs_corpus();
    const corpus& bad = error_corpus();
    EXPECT_TRUE(ok.problems.empty()) << join(ok.problems);
    EXPECT_TRUE(bad.problems.empty()) << join(bad.problems);
    EXPECT_GE(ok.cases.size(), 120u) << ok.path;
    EXPECT_GE(bad.cases.size(), 40u) << bad.path;
    for (const auto& k : ok.cases) {
        if (k.out.empty() || !k.errors.empty() || (!k.ovs.empty() && k.in.size() != 1) ||
            k.ovs.size() > 1) {
            ADD_FAILURE_AT(ok.path.c_str(), k.line)
                << "a case needs out: lines, no error: line and at most one ovs: line (for a "
                   "single-line input); input:\n"
                << k.input();
        }
    }
    for (const auto& k : bad.cases) {
        if (k.errors.size() != 1 || !k.out.empty() || !k.ovs.empty() || !k.warnings.empty()) {
            ADD_FAILURE_AT(bad.path.c_str(), k.line)
                << "an error case needs exactly one error: line and nothing else; input:\n"
                << k.input();
        }
    }
}

TEST(corpus, ovs_style_rules_normalise_as_expected) {
    const corpus& c = ovs_corpus();
    for (const auto& k : c.cases) {
        const parsed_text p = parse_and_format(k.text);
        if (!p.out.ok()) {
            ADD_FAILURE_AT(c.path.c_str(), k.line) << "input:\n"
                                                   << k.input() << "expected:\n"
                                                   << join(k.out) << "actual: errors\n"
                                                   << format_all(p.out.errors);
            continue;
        }
        if (p.formatted != k.out) {
            ADD_FAILURE_AT(c.path.c_str(), k.line) << "input:\n"
                                                   << k.input() << "expected:\n"
                                                   << join(k.out) << "actual:\n"
                                                   << join(p.formatted);
        }
        std::vector<std::string> warnings;
        for (const auto& w : p.out.warnings) {
            warnings.push_back(w.headline());
        }
        if (warnings != k.warnings) {
            ADD_FAILURE_AT(c.path.c_str(), k.line) << "input:\n"
                                                   << k.input() << "expected warnings:\n"
                                                   << join(k.warnings) << "actual warnings:\n"
                                                   << join(warnings);
        }
    }
}

// (a) The normalised text is a fixed point: it parses to the rule the input gave and prints as
// itself.
TEST(corpus, normalised_rules_parse_back_to_themselves) {
    const corpus& c = ovs_corpus();
    for (const auto& k : c.cases) {
        const parsed_text first = parse_and_format(k.text);
        for (size_t i = 0; i < k.out.size(); i++) {
            const parsed_text again = parse_and_format(with_decls(k.out[i], first.out));
            if (!again.out.ok() || again.formatted.size() != 1) {
                ADD_FAILURE_AT(c.path.c_str(), k.line)
                    << "out: line does not parse as one rule\ninput:\n    " << k.out[i]
                    << "\nexpected:\n    " << k.out[i] << "\nactual:\n"
                    << join(again.formatted) << headlines(again.out.errors);
                continue;
            }
            EXPECT_TRUE(again.out.warnings.empty())
                << c.path << ":" << k.line << ": " << k.out[i] << "\n"
                << headlines(again.out.warnings);
            if (again.formatted[0] != k.out[i]) {
                ADD_FAILURE_AT(c.path.c_str(), k.line)
                    << "out: line is not a fixed point\ninput:\n    " << k.out[i]
                    << "\nexpected:\n    " << k.out[i] << "\nactual:\n    " << again.formatted[0];
            }
            if (i < first.out.mods.size()) {
                const std::string d = rule_diff(first.out.mods[i].spec, again.out.mods[0].spec);
                if (!d.empty()) {
                    ADD_FAILURE_AT(c.path.c_str(), k.line)
                        << "the out: line gives another rule than the input\ninput:\n"
                        << k.input() << "out:\n    " << k.out[i] << "\ndifferences:\n"
                        << d;
                }
            }
        }
    }
}

TEST(corpus, ovs_lines_equal_swd_output_up_to_the_documented_differences) {
    const corpus& c = ovs_corpus();
    size_t checked = 0;
    for (const auto& k : c.cases) {
        if (k.ovs.empty() || k.out.size() != 1) {
            continue;
        }
        checked++;
        const std::string mapped = to_ovs_form(k.out[0]);
        if (mapped != k.ovs[0]) {
            ADD_FAILURE_AT(c.path.c_str(), k.line)
                << "input:\n"
                << k.input() << "swd prints:\n    " << k.out[0] << "\nexpected (OVS):\n    "
                << k.ovs[0] << "\nactual (swd in OVS spelling):\n    " << mapped;
        }
    }
    EXPECT_GE(checked, 100u) << "fewer cases than expected carry an ovs: line";
}

// Re-checks the recorded ovs: lines against an installed ovs-ofctl (Debian's is 3.1).
TEST(corpus, ovs_lines_match_ovs_ofctl) {
    const char* ovs_ofctl = std::getenv("SWD_OVS_OFCTL");
    if (!ovs_ofctl || !*ovs_ofctl) {
        GTEST_SKIP() << "set SWD_OVS_OFCTL=/usr/bin/ovs-ofctl to check the ovs: lines of the "
                        "corpus against Open vSwitch";
    }
    const corpus& c = ovs_corpus();
    for (const auto& k : c.cases) {
        if (k.ovs.empty()) {
            continue;
        }
        std::string quoted;
        for (char ch : k.in[0]) {
            quoted += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
        }
        const std::string cmd = fmt::format("'{}' parse-flow '{}' 2>&1", ovs_ofctl, quoted);
        FILE* f = popen(cmd.c_str(), "r");
        ASSERT_NE(f, nullptr) << cmd;
        std::string output;
        char buf[4096];
        while (size_t n = std::fread(buf, 1, sizeof buf, f)) {
            output.append(buf, n);
        }
        pclose(f);
        std::string actual = "(no ADD line)";
        for (const auto& l : split(output, '\n')) {
            const size_t add = l.find(" ADD ");
            if (add != std::string::npos) {
                actual = l.substr(add + 5);
            }
        }
        if (actual != k.ovs[0]) {
            ADD_FAILURE_AT(c.path.c_str(), k.line)
                << "input:\n"
                << k.input() << "expected:\n    " << k.ovs[0] << "\nactual (" << ovs_ofctl
                << "):\n    " << actual << "\n"
                << output;
        }
    }
}

TEST(corpus, invalid_rules_give_the_expected_diagnostic) {
    const corpus& c = error_corpus();
    for (const auto& k : c.cases) {
        if (k.errors.size() != 1) {
            continue; // reported by files_are_well_formed_and_large_enough
        }
        const parsed_text p = parse_and_format(k.text);
        if (p.out.ok()) {
            ADD_FAILURE_AT(c.path.c_str(), k.line)
                << "input:\n"
                << k.input() << "expected:\n    " << k.errors[0] << "\nactual: accepted as\n"
                << join(p.formatted);
            continue;
        }
        const diagnostic& d = p.out.errors[0];
        if (d.headline() != k.errors[0]) {
            ADD_FAILURE_AT(c.path.c_str(), k.line) << "input:\n"
                                                   << k.input() << "expected:\n    " << k.errors[0]
                                                   << "\nactual:\n    " << d.headline();
        }
        EXPECT_TRUE(p.out.mods.empty()) << c.path << ":" << k.line << ": an error rejects the text";
        // The caret display, when there is one, shows the physical line of the input the error
        // is on, and the column lies on it.
        if (d.line >= 1 && d.line <= static_cast<int>(k.in.size())) {
            std::string physical = k.in[d.line - 1];
            if (!physical.empty() && physical.back() == '\r') {
                physical.pop_back();
            }
            if (!d.line_text.empty()) {
                EXPECT_EQ(d.line_text, physical) << c.path << ":" << k.line;
            }
            EXPECT_GE(d.column, 1) << c.path << ":" << k.line;
            EXPECT_LE(d.column, static_cast<int>(physical.size()) + 1) << c.path << ":" << k.line;
        } else {
            ADD_FAILURE_AT(c.path.c_str(), k.line)
                << "input:\n"
                << k.input() << "the diagnostic names line " << d.line << ", outside the input";
        }
    }
}

// ---- Random rules -------------------------------------------------------------------------------

constexpr std::string_view random_pools =
    "lb_pool=web, vip=10.0.0.100:80/tcp, backend=10.1.0.1:80/02:00:00:00:00:01\n"
    "lb_pool=dns, vip=10.0.0.53:53/udp, backend=10.1.0.53:53/02:00:00:00:00:53\n"
    "lb_pool=web6, vip=[2001:db8::100]:443/tcp, backend=[2001:db8::1]:443/02:00:00:00:00:03\n"
    "lb_pool=dns6, vip=[2001:db8::53]:53/udp, backend=[2001:db8::2]:53/02:00:00:00:00:04\n";

// Writes random valid rules as flow text: a random subset of match fields whose prerequisites
// hold, in random order and spelling (aliases, hex or decimal, masks, separators, continuation
// lines, comments), random properties and a random valid action list.
class rule_generator {
public:
    explicit rule_generator(uint64_t seed) : rng_(seed) {}

    std::string next() {
        toks_.clear();
        match();
        properties();
        shuffle(toks_);
        std::string s = chance(5) ? std::string(pick({" ", "\t", "  "})) : "";
        if (chance(5)) {
            s += pick({"add ", "add\t"});
        }
        for (const auto& t : toks_) {
            s += t + separator();
        }
        s += "actions=" + actions();
        if (chance(10)) {
            s += pick({" # comment", "\t#comment", "#"});
        }
        return s + "\n";
    }

private:
    enum class l3 { none, ip4, ip6, arp, other };

    // mt19937_64 is the same everywhere, unlike the standard distributions and std::shuffle, so a
    // seed names the same rules with any standard library.
    uint64_t below(uint64_t n) { return rng_() % n; }
    template <class T>
    void shuffle(std::vector<T>& v) {
        for (size_t i = v.size(); i > 1; i--) {
            std::swap(v[i - 1], v[below(i)]);
        }
    }
    bool chance(unsigned percent) { return below(100) < percent; }
    std::string_view pick(std::initializer_list<std::string_view> xs) {
        return *(xs.begin() + below(xs.size()));
    }
    std::string num(uint64_t v) { return chance(25) ? fmt::format("{:#x}", v) : std::to_string(v); }
    std::string separator() {
        std::string s(pick({",", ",", ",", ",", ", ", " ", "\t", ",\t", " , "}));
        if (chance(4)) {
            s += "\\\n" + std::string(pick({"", "    ", "\t"}));
        }
        return s;
    }
    void add(std::string t) { toks_.push_back(std::move(t)); }

    std::string mac() {
        const bool upper = chance(20);
        const char sep = chance(10) ? '-' : ':';
        std::string s;
        for (int i = 0; i < 6; i++) {
            const uint64_t x = below(256);
            s += upper ? fmt::format("{:02X}", x) : fmt::format("{:02x}", x);
            if (i < 5) {
                s += sep;
            }
        }
        return s;
    }
    std::string masked_mac() {
        std::string s = mac();
        if (chance(30)) {
            s += "/" + (chance(50) ? std::string(pick({"01:00:00:00:00:00", "ff:ff:ff:00:00:00",
                                                       "ff:ff:ff:ff:ff:00"}))
                                   : mac());
        }
        return s;
    }
    static std::string ipv4(uint32_t host) {
        return fmt::format("{}.{}.{}.{}", host >> 24, (host >> 16) & 255, (host >> 8) & 255,
                           host & 255);
    }
    uint32_t random_u32() { return static_cast<uint32_t>(below(uint64_t{1} << 32)); }
    std::string masked_ipv4() {
        std::string s = ipv4(random_u32());
        switch (below(4)) {
        case 0:
            return s;
        case 1:
            return s + "/" + std::to_string(below(33));
        case 2: {
            const uint64_t len = below(33);
            return s + "/" + ipv4(len == 0 ? 0 : ~uint32_t{0} << (32 - len));
        }
        default:
            return s + "/" + ipv4(random_u32());
        }
    }
    std::string ipv6_text(bool sparse) {
        uint8_t b[16];
        for (auto& x : b) {
            x = static_cast<uint8_t>(below(256));
        }
        if (sparse) { // runs of zero groups, so that '::' appears
            const size_t from = below(8), n = below(8 - from + 1);
            std::fill(b + 2 * from, b + 2 * (from + n), 0);
        }
        switch (below(3)) {
        case 0: {
            char buf[INET6_ADDRSTRLEN];
            inet_ntop(AF_INET6, b, buf, sizeof buf);
            return buf;
        }
        case 1: {
            std::string s;
            for (int i = 0; i < 8; i++) {
                s += fmt::format("{}{:x}", i ? ":" : "", b[2 * i] << 8 | b[2 * i + 1]);
            }
            return s;
        }
        default: {
            std::string s;
            for (int i = 0; i < 8; i++) {
                s += fmt::format("{}{:04X}", i ? ":" : "", b[2 * i] << 8 | b[2 * i + 1]);
            }
            return s;
        }
        }
    }
    std::string masked_ipv6() {
        std::string s = ipv6_text(chance(60));
        switch (below(3)) {
        case 0:
            return s;
        case 1:
            return s + "/" + std::to_string(below(129));
        default:
            return s + "/" + ipv6_text(chance(50));
        }
    }
    std::string masked_u16(uint64_t max) {
        const uint64_t v = below(max + 1);
        if (chance(60)) {
            return num(v);
        }
        const uint64_t m = chance(50) ? (max & ~((uint64_t{1} << below(16)) - 1)) : below(max + 1);
        return fmt::format("{:#x}/{:#x}", v & (chance(80) ? m : max), m);
    }

    void match() {
        fam_ = l3::none;
        proto_ = -1;
        // Ethernet type and IP protocol, with or without shorthands.
        const uint64_t r = below(100);
        fam_ = r < 10   ? l3::none
               : r < 15 ? l3::other
               : r < 50 ? l3::ip4
               : r < 80 ? l3::ip6
                        : l3::arp;
        if ((fam_ == l3::ip4 || fam_ == l3::ip6) && chance(75)) {
            const uint64_t p = below(100);
            proto_ = p < 35   ? 6
                     : p < 65 ? 17
                     : p < 85 ? (fam_ == l3::ip4 ? 1 : 58)
                              : static_cast<int>(below(256));
        }
        if (fam_ == l3::arp && chance(30)) {
            proto_ = static_cast<int>(below(256));
        }
        const bool v6 = fam_ == l3::ip6;
        const char* sh = nullptr; // shorthand for the type and protocol, if there is one
        if (fam_ != l3::ip4 && fam_ != l3::ip6) {
            // ARP opcodes share nw_proto but have no shorthands
        } else if (proto_ == 6) {
            sh = v6 ? "tcp6" : "tcp";
        } else if (proto_ == 17) {
            sh = v6 ? "udp6" : "udp";
        } else if (proto_ == (v6 ? 58 : 1)) {
            sh = v6 ? "icmp6" : "icmp";
        }
        switch (fam_) {
        case l3::none:
            break;
        case l3::other:
            add("dl_type=" + std::string(pick({"0x88cc", "0x8847", "0x8100", "0x88e5", "0x9000"})));
            break;
        case l3::ip4:
        case l3::ip6:
        case l3::arp: {
            const std::string base =
                fam_ == l3::ip4   ? std::string(pick({"ip", "dl_type=0x0800", "eth_type=2048"}))
                : fam_ == l3::ip6 ? std::string(pick({"ipv6", "dl_type=0x86dd", "eth_type=0x86DD"}))
                                  : std::string(pick({"arp", "dl_type=0x0806", "eth_type=0x806"}));
            if (sh && chance(70)) {
                add(sh);
                if (chance(15)) {
                    add(base); // consistent with the shorthand
                }
            } else {
                add(base);
                if (proto_ >= 0) {
                    add(std::string(fam_ == l3::arp ? pick({"arp_op", "nw_proto"})
                                                    : pick({"nw_proto", "ip_proto"})) +
                        "=" + num(static_cast<uint64_t>(proto_)));
                }
            }
        }
        }
        if (chance(40)) {
            const uint64_t p = 1 + below(3);
            add("in_port=" + (chance(50) ? fmt::format("eth{}", p - 1) : num(p)));
        }
        if (chance(20)) {
            add(std::string(pick({"dl_src=", "eth_src="})) + masked_mac());
        }
        if (chance(20)) {
            add(std::string(pick({"dl_dst=", "eth_dst="})) + masked_mac());
        }
        if (chance(30)) {
            vlan();
        }
        if (fam_ == l3::ip4 || fam_ == l3::arp) {
            const bool arp = fam_ == l3::arp;
            if (chance(35)) {
                add(std::string(arp ? pick({"arp_spa=", "nw_src="})
                                    : pick({"nw_src=", "ip_src="})) +
                    masked_ipv4());
            }
            if (chance(35)) {
                add(std::string(arp ? pick({"arp_tpa=", "nw_dst="})
                                    : pick({"nw_dst=", "ip_dst="})) +
                    masked_ipv4());
            }
        }
        if (fam_ == l3::ip6) {
            if (chance(35)) {
                add("ipv6_src=" + masked_ipv6());
            }
            if (chance(35)) {
                add("ipv6_dst=" + masked_ipv6());
            }
        }
        if (fam_ == l3::ip4 || fam_ == l3::ip6) {
            if (chance(20)) {
                add(chance(50) ? "nw_tos=" + num(below(64) * 4) : "ip_dscp=" + num(below(64)));
            }
            if (chance(15)) {
                add(std::string(pick({"nw_ecn=", "ip_ecn="})) + num(below(4)));
            }
            if (chance(15)) {
                add("nw_ttl=" + num(below(256)));
            }
            if (chance(15)) {
                add(std::string(pick({"nw_frag=", "ip_frag="})) +
                    std::string(pick({"no", "yes", "first", "later", "not_later"})));
            }
        }
        const bool l4 = (fam_ == l3::ip4 || fam_ == l3::ip6) && (proto_ == 6 || proto_ == 17);
        if (l4) {
            const std::string alias = proto_ == 6 ? "tcp" : "udp";
            if (chance(30)) {
                add((chance(50) ? std::string("tp_src=") : alias + "_src=") + masked_u16(0xffff));
            }
            if (chance(40)) {
                add((chance(50) ? std::string("tp_dst=") : alias + "_dst=") + masked_u16(0xffff));
            }
        }
        if (l4 && proto_ == 6 && chance(25)) {
            tcp_flags();
        }
        if ((fam_ == l3::ip4 && proto_ == 1) || (fam_ == l3::ip6 && proto_ == 58)) {
            const std::string v = fam_ == l3::ip6 && chance(50) ? "icmpv6" : "icmp";
            if (chance(40)) {
                add(v + "_type=" + num(below(256)));
            }
            if (chance(30)) {
                add(v + "_code=" + num(below(256)));
            }
        }
    }

    void vlan() {
        const std::string pcp = std::string(pick({"dl_vlan_pcp=", "vlan_pcp="})) + num(below(8));
        switch (below(7)) {
        case 0:
            add("dl_vlan=" + num(below(4096)));
            if (chance(40)) {
                add(pcp);
            }
            break;
        case 1:
            add("vlan_vid=" + fmt::format("{:#x}", 0x1000 | below(4096)));
            if (chance(40)) {
                add(pcp);
            }
            break;
        case 2:
            add(pcp);
            break;
        case 3:
            add(std::string(pick({"dl_vlan=0xffff", "vlan_vid=0", "vlan_tci=0"})));
            break;
        case 4:
            add("vlan_tci=" + masked_u16(0xffff));
            break;
        case 5:
            add("vlan_vid=" + fmt::format("{:#x}/{:#x}", below(0x2000), 1 + below(0x1fff)));
            break;
        default:
            add(fmt::format("vlan_vid={:#x}/0x1fff", 0x1000 | below(4096)));
            break;
        }
    }

    void tcp_flags() {
        static constexpr std::string_view names[] = {"fin", "syn", "rst", "psh", "ack",
                                                     "urg", "ece", "cwr", "ns"};
        if (chance(30)) {
            add("tcp_flags=" + masked_u16(0xfff));
            return;
        }
        std::vector<size_t> order(9);
        for (size_t i = 0; i < 9; i++) {
            order[i] = i;
        }
        shuffle(order);
        std::string s = "tcp_flags=";
        for (size_t i = 0, n = 1 + below(9); i < n; i++) {
            s += (chance(50) ? "+" : "-") + std::string(names[order[i]]);
        }
        add(s);
    }

    void properties() {
        table_ = 0;
        if (chance(50)) {
            add("priority=" + num(below(65536)));
        }
        if (chance(30)) {
            table_ = static_cast<unsigned>(below(255));
            add("table=" + num(table_));
        }
        if (chance(20)) {
            const uint64_t c = chance(50) ? below(1000) : rng_();
            add("cookie=" + (chance(70) ? fmt::format("{:#x}", c) : std::to_string(c)));
        }
        if (chance(15)) {
            add("idle_timeout=" + num(below(65536)));
        }
        if (chance(15)) {
            add("hard_timeout=" + num(below(65536)));
        }
        const bool steer = table_ == 0 && chance(10);
        if (steer) {
            add("queue=" + num(below(SWD_XDP_MAX_QUEUES)));
        }
        if (chance(15)) {
            add("placement=" + std::string(pick({"auto", steer ? "auto" : "xdp", "user"})));
        }
        if (chance(3)) { // dump-flows statistics, accepted and ignored
            add("n_packets=" + std::to_string(below(1000)));
        }
    }

    std::string port_ref() {
        const uint64_t p = 1 + below(3);
        return chance(50) ? fmt::format("eth{}", p - 1) : num(p);
    }

    std::string actions() {
        const uint64_t r = below(100);
        if (r < 8) {
            return std::string(pick({"drop", "DROP", "Drop"}));
        }
        if (r < 12) {
            return "";
        }
        const bool ip4 = fam_ == l3::ip4, ip6 = fam_ == l3::ip6;
        const bool l4 = (ip4 || ip6) && (proto_ == 6 || proto_ == 17);
        const char* pool = nullptr;
        if (l4) {
            pool = proto_ == 6 ? (ip6 ? "web6" : "web") : (ip6 ? "dns6" : "dns");
        }
        std::vector<std::string> acts;
        for (uint64_t i = 0, n = 1 + below(6); i < n; i++) {
            switch (below(12)) {
            case 0:
                acts.push_back("output:" + port_ref());
                break;
            case 1:
                acts.push_back(port_ref());
                break;
            case 2:
                acts.push_back(std::string(pick({"in_port", "IN_PORT", "output:in_port"})));
                break;
            case 3:
                acts.push_back(std::string(pick({"local", "LOCAL", "output:LOCAL"})));
                break;
            case 4:
                acts.push_back("set_queue:" + num(below(65536)));
                break;
            case 5:
                acts.push_back(std::string(pick({"mod_dl_src:", "mod_dl_dst:"})) + mac());
                break;
            case 6:
                if (ip4) {
                    acts.push_back(std::string(pick({"mod_nw_src:", "mod_nw_dst:"})) +
                                   ipv4(random_u32()));
                }
                break;
            case 7:
                if (l4) {
                    acts.push_back(std::string(pick({"mod_tp_src:", "mod_tp_dst:"})) +
                                   num(below(65536)));
                }
                break;
            case 8:
                if (ip4 || ip6) {
                    acts.push_back("dec_ttl");
                }
                break;
            case 9:
                if (pool) {
                    acts.push_back(fmt::format("lb({})", pool));
                }
                break;
            default:
                acts.push_back("output:" + port_ref());
                break;
            }
        }
        if (table_ < SWD_MAX_TABLE && chance(20)) {
            acts.push_back("goto_table:" + num(table_ + 1 + below(SWD_MAX_TABLE - table_)));
        }
        std::string s;
        for (size_t i = 0; i < acts.size(); i++) {
            s += (i ? std::string(pick({",", ",", ", ", ",\t"})) : "") + acts[i];
        }
        return s;
    }

    std::mt19937_64 rng_;
    std::vector<std::string> toks_;
    l3 fam_ = l3::none;
    int proto_ = -1;
    unsigned table_ = 0;
};

uint64_t corpus_seed() {
    const char* s = std::getenv("SWD_CORPUS_SEED");
    return s && *s ? std::strtoull(s, nullptr, 0) : 0x5eed2024;
}

// (b) Random rules: parse, format, parse the formatted text; both parses give the same rule and
// the formatted text is a fixed point.
TEST(round_trip, random_rules_survive_format_and_parse) {
    const uint64_t seed = corpus_seed();
    constexpr int n_rules = 5000;
    rule_generator gen(seed);
    int failures = 0;
    for (int i = 0; i < n_rules && failures < 10; i++) {
        const std::string text = gen.next();
        const std::string where =
            fmt::format("seed {:#x} (SWD_CORPUS_SEED), rule {} of {}", seed, i, n_rules);
        const parsed_text first = parse_and_format(text + std::string(random_pools));
        if (!first.out.ok() || first.formatted.size() != 1) {
            ADD_FAILURE() << where << ": a generated rule does not parse\ninput:\n    "
                          << visible(text) << "expected: one rule\nactual:\n"
                          << format_all(first.out.errors);
            failures++;
            continue;
        }
        const std::string& formatted = first.formatted[0];
        const parsed_text second = parse_and_format(formatted + "\n" + std::string(random_pools));
        if (!second.out.ok() || second.formatted.size() != 1) {
            ADD_FAILURE() << where << ": the formatted rule does not parse\ninput:\n    "
                          << visible(text) << "formatted:\n    " << formatted << "\nactual:\n"
                          << format_all(second.out.errors);
            failures++;
            continue;
        }
        const std::string d = rule_diff(first.out.mods[0].spec, second.out.mods[0].spec);
        if (!d.empty() || second.formatted[0] != formatted || !second.out.warnings.empty()) {
            ADD_FAILURE() << where << ": the round trip changed the rule\ninput:\n    "
                          << visible(text) << "expected:\n    " << formatted
                          << "\nactual (formatted again):\n    " << second.formatted[0]
                          << "\ndifferences:\n"
                          << d << headlines(second.out.warnings);
            failures++;
        }
    }
    EXPECT_EQ(failures, 0) << "seed " << seed << " (rerun with SWD_CORPUS_SEED=" << seed << ")";
}

TEST(round_trip, generator_covers_every_field_and_action) {
    // The property test is only as good as its generator: check that 5000 rules use every match
    // field, property and action of the language.
    rule_generator gen(corpus_seed());
    std::string all;
    for (int i = 0; i < 5000; i++) {
        all += gen.next();
    }
    static constexpr std::string_view words[] = {
        "in_port=eth",
        "in_port=",
        "dl_src=",
        "eth_src=",
        "dl_dst=",
        "eth_dst=",
        "dl_type=",
        "eth_type=",
        "dl_vlan=",
        "vlan_vid=",
        "dl_vlan_pcp=",
        "vlan_pcp=",
        "vlan_tci=",
        "nw_src=",
        "ip_src=",
        "nw_dst=",
        "ip_dst=",
        "arp_spa=",
        "arp_tpa=",
        "arp_op=",
        "ipv6_src=",
        "ipv6_dst=",
        "nw_proto=",
        "ip_proto=",
        "nw_tos=",
        "ip_dscp=",
        "nw_ecn=",
        "ip_ecn=",
        "nw_ttl=",
        "nw_frag=",
        "ip_frag=",
        "tp_src=",
        "tp_dst=",
        "tcp_src=",
        "tcp_dst=",
        "udp_src=",
        "udp_dst=",
        "tcp_flags=+",
        "tcp_flags=-",
        "tcp_flags=0x",
        "icmp_type=",
        "icmp_code=",
        "icmpv6_type=",
        "icmpv6_code=",
        "tcp6",
        "udp6",
        "icmp6",
        "priority=",
        "table=",
        "cookie=",
        "idle_timeout=",
        "hard_timeout=",
        "placement=xdp",
        "placement=user",
        "placement=auto",
        "output:",
        "in_port,",
        "IN_PORT",
        "local",
        "LOCAL",
        "set_queue:",
        "mod_dl_src:",
        "mod_dl_dst:",
        "mod_nw_src:",
        "mod_nw_dst:",
        "mod_tp_src:",
        "mod_tp_dst:",
        "dec_ttl",
        "goto_table:",
        "lb(web)",
        "lb(dns)",
        "lb(web6)",
        "lb(dns6)",
        "actions=drop",
        "\\\n",
        "#",
        "\t",
        "::",
    };
    for (auto w : words) {
        EXPECT_NE(all.find(w), std::string::npos)
            << "the generator never writes '" << visible(w) << "'";
    }
}

// (c) Comments, blank lines, indentation, CRLF and continuation lines do not change the rules.
TEST(round_trip, multi_line_text_gives_the_same_rules_as_one_line_per_rule) {
    const std::string multi = "# swd flows for the web tier\n"                     // 1
                              "\n"                                                 // 2
                              "lb_pool=web, vip=10.0.0.100:80/tcp,\\\n"            // 3
                              "    backend=10.1.0.1:80/02:00:00:00:00:01  # one\n" // 4
                              "\n"                                                 // 5
                              "priority=100,tcp,\\\n"                              // 6
                              "    nw_dst=10.0.0.100,\\\n"                         // 7
                              "    tp_dst=80,\\\n"                                 // 8
                              "    actions=lb(web)    # balanced\n"                // 9
                              "   # an indented comment\n"                         // 10
                              "\t\n"                                               // 11
                              "table=1, priority=5,\\\n"                           // 12
                              "\tip, actions=output:eth1,\\\n"                     // 13
                              "\t\toutput:3\n"                                     // 14
                              "  arp , actions=\r\n"                               // 15
                              "ipv6 ,\\\r\n"                                       // 16
                              "  nw_ttl=1 actions=\\\n"                            // 17
                              "local \\";                                          // 18
    const std::string single =
        "lb_pool=web, vip=10.0.0.100:80/tcp, backend=10.1.0.1:80/02:00:00:00:00:01\n"
        "priority=100,tcp,nw_dst=10.0.0.100,tp_dst=80,actions=lb(web)\n"
        "table=1,priority=5,ip,actions=output:eth1,output:3\n"
        "arp,actions=drop\n"
        "ipv6,nw_ttl=1,actions=local\n";
    const parse_output a = parse_flows(multi, source_name, parse_mode::config, corpus_context());
    const parse_output b = parse_flows(single, source_name, parse_mode::config, corpus_context());
    ASSERT_TRUE(a.ok()) << "input:\n" << visible(multi) << "\nactual:\n" << format_all(a.errors);
    ASSERT_TRUE(b.ok()) << "input:\n" << single << "\nactual:\n" << format_all(b.errors);
    ASSERT_EQ(a.mods.size(), b.mods.size()) << "input:\n" << visible(multi);
    ASSERT_EQ(a.mods.size(), 4u);
    EXPECT_EQ(a.pools, b.pools);
    const int first_lines[] = {6, 12, 15, 16};
    const format_names names{&corpus_context().ports, &b.pools};
    for (size_t i = 0; i < a.mods.size(); i++) {
        EXPECT_EQ(rule_diff(a.mods[i].spec, b.mods[i].spec), "")
            << "rule " << i << "\nexpected:\n    " << format_rule(b.mods[i].spec, names)
            << "\nactual:\n    " << format_rule(a.mods[i].spec, names);
        EXPECT_EQ(a.mods[i].command, flow_command::add);
        EXPECT_EQ(a.mods[i].line, first_lines[i]) << "rule " << i << " starts on that line";
    }
}

} // namespace
} // namespace swd::flows
