// swd: the switch daemon.
//
//   swd --config flows.txt [--port IFNAME]... [--control PATH] [--check] [--log-level L]
//
// Validates the whole configuration before touching anything, then serves the control socket
// until SIGTERM/SIGINT (SIGHUP re-reads the configuration). Exit codes: 0 success, 1 invalid
// configuration or runtime failure, 2 bad command line.
#include <boost/program_options.hpp>
#include <cstdio>
#include <cstdlib>
#include <fmt/core.h>
#include <iostream>

#include "datapath/util/log.h"
#include "flows/format.h"
#include "flows/parser.h"
#include "tools/control/server.h"
#include "tools/control/service.h"
#include "tools/swd/datapath_setup.h"

namespace po = boost::program_options;
using namespace swd;

namespace {

constexpr const char* usage_head = "usage: swd [--config FILE] [--port IFNAME]... [options]\n\n"
                                   "The swd switch daemon. Options";

struct cli {
    std::string config;
    std::vector<std::string> ports;
    std::string pmd_cpus;
    unsigned pmd_threads = 1;
    std::string local_port = "swd0";
    uint32_t ring_size = 2048;
    std::string datapath = "afxdp";
    std::string control = ctl::default_socket_path;
    std::string log_level = "info";
    size_t max_rules = 16u << 20;
    std::string profile = "hybrid";
    uint32_t xdp_max_rules = 1u << 20;
    uint32_t lb_sessions = 1u << 16;
    uint32_t lb_idle_timeout = 300; // s
    uint32_t ct_entries = 1u << 16;
    uint32_t ct_idle_timeout = 120; // s
    flows::adaptive_options adaptive;
    double calibrate_after = 0;  // s
    double calibrate_sample = 1; // s
    bool check = false;
};

// Parses argv; returns the exit code to use now, or -1 to continue.
int parse_cli(int argc, char** argv, cli& c) {
    po::options_description desc(usage_head);
    // clang-format off
    desc.add_options()
        ("help,h", "print this help and exit")
        ("config,c", po::value(&c.config)->value_name("FILE"),
         "flow file: rules, lb_pool and port declarations (docs/flow-syntax.md)")
        ("port,p", po::value(&c.ports)->value_name("IFNAME[,OPT=V...]")->composing(),
         "add an AF_XDP port, with the options of a port= line (xdp-mode=, use-need-wakeup=, "
         "wait=spin|poll|busy, queues=, ...); numbered after the flow file's ports (repeatable)")
        ("pmd-threads", po::value(&c.pmd_threads)->value_name("N"),
         "datapath threads, not pinned (default 1); thread t sends on queue t of every port")
        ("pmd-cpus", po::value(&c.pmd_cpus)->value_name("LIST"),
         "one datapath thread per CPU in LIST (e.g. 1 or 0,1), pinned; the control thread "
         "runs on the other CPUs")
        ("local-port", po::value(&c.local_port)->value_name("NAME"),
         "veth pair NAME/NAME-dp that carries 'local' traffic to this host's stack and "
         "in_port=LOCAL traffic from it (default swd0; 'none': no local port)")
        ("ring-size", po::value(&c.ring_size)->value_name("N"),
         "AF_XDP ring size, a power of two (default 2048)")
        ("datapath", po::value(&c.datapath)->value_name("KIND"),
         "afxdp (default), or none: hold and serve the table without opening any port "
         "(tests, validation of a configuration against a running control plane)")
        ("control", po::value(&c.control)->value_name("PATH"),
         "control socket (default /run/swd/swd.sock)")
        ("check", po::bool_switch(&c.check),
         "validate the configuration, print what it defines, exit 0 if valid and 1 if not")
        ("log-level", po::value(&c.log_level)->value_name("L"),
         "debug, info, warn or error (default info)")
        ("max-rules", po::value(&c.max_rules)->value_name("N"),
         "largest number of rules the table accepts (default 16777216)")
        ("profile", po::value(&c.profile)->value_name("P"),
         "where placement=auto rules run: hybrid (default: local in XDP, the rest in user "
         "space), all-xdp (everything XDP can run), all-user (all but local in user space) "
         "adaptive (hybrid, and the hottest drop rules in XDP while drops dominate; after a "
         "calibration, the rest and the shares as measured) or "
         "calibrated (each kind of rule where swctl calibrate measured it cheaper; hybrid "
         "until then)")
        ("calibrate-after", po::value(&c.calibrate_after)->value_name("S"),
         "calibrate once, S seconds after start (as swctl calibrate; 0: never, the default)")
        ("calibrate-sample", po::value(&c.calibrate_sample)->value_name("S"),
         "a calibration's live sample of the traffic, 0.1-10 seconds (default 1)")
        ("adaptive-offload-share", po::value(&c.adaptive.offload_share)->value_name("F"),
         "adaptive: move drop rules to XDP when rules drop at least this share of the "
         "traffic (default 0.75; a calibration replaces both shares by measured ones)...")
        ("adaptive-return-share", po::value(&c.adaptive.return_share)->value_name("F"),
         "...and back to user space when they drop less than this share (default 0.60)...")
        ("adaptive-sustain", po::value(&c.adaptive.sustain)->value_name("S"),
         "...for this many seconds in a row (default 3)")
        ("adaptive-budget", po::value(&c.adaptive.budget)->value_name("N"),
         "adaptive: drop rules in XDP at most (default 1024)")
        ("xdp-max-rules", po::value(&c.xdp_max_rules)->value_name("N"),
         "table 0 rules the XDP dispatcher's maps may grow to (default 1048576; they start "
         "at 65536); with more, XDP sends every packet to user space")
        ("lb-sessions", po::value(&c.lb_sessions)->value_name("N"),
         "load-balancer session entries (default 65536; a session takes two, one per "
         "direction); when full, the least recently used of a sample makes room")
        ("lb-idle-timeout", po::value(&c.lb_idle_timeout)->value_name("S"),
         "seconds after which an idle load-balancer session ends (default 300)")
        ("ct-entries", po::value(&c.ct_entries)->value_name("N"),
         "connections that ct(commit) can track (default 65536); when full, the least "
         "recently used of a sample makes room")
        ("ct-idle-timeout", po::value(&c.ct_idle_timeout)->value_name("S"),
         "seconds after which an idle tracked connection ends (default 120)");
    // clang-format on
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(argc, argv).options(desc).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        fmt::print(stderr, "swd: {}\nTry 'swd --help'.\n", e.what());
        return 2;
    }
    if (vm.count("help")) {
        std::cout << desc << "\n";
        return 0;
    }
    if (!log::parse_level(c.log_level)) {
        fmt::print(stderr, "swd: invalid --log-level '{}': expected debug, info, warn or error\n",
                   c.log_level);
        return 2;
    }
    for (const auto& p : c.ports) {
        std::string name = p.substr(0, p.find(','));
        if (std::string why = flows::check_port_name(name); !why.empty()) {
            fmt::print(stderr, "swd: invalid --port '{}': {}; expected {}\n", name, why,
                       flows::port_name_expected);
            return 2;
        }
    }
    if (c.datapath != "afxdp" && c.datapath != "none") {
        fmt::print(stderr, "swd: --datapath is afxdp or none, not '{}'\n", c.datapath);
        return 2;
    }
    if (c.pmd_threads == 0 || c.pmd_threads > 64) {
        fmt::print(stderr, "swd: --pmd-threads must be 1-64\n");
        return 2;
    }
    if (c.ring_size < 64 || c.ring_size > 16384 || (c.ring_size & (c.ring_size - 1)) != 0) {
        fmt::print(stderr, "swd: --ring-size must be a power of two from 64 to 16384\n");
        return 2;
    }
    if (!c.local_port.empty() && c.local_port != "none") {
        if (std::string why = flows::check_port_name(c.local_port + "-dp"); !why.empty()) {
            fmt::print(stderr, "swd: invalid --local-port '{}': {}\n", c.local_port, why);
            return 2;
        }
    }
    if (c.check && c.config.empty()) {
        fmt::print(stderr, "swd: --check needs --config FILE\n");
        return 2;
    }
    if (!flows::parse_profile(c.profile)) {
        fmt::print(stderr,
                   "swd: --profile is hybrid, all-xdp, all-user, adaptive or calibrated, not "
                   "'{}'\n",
                   c.profile);
        return 2;
    }
    if (!(c.calibrate_after >= 0) || !(c.calibrate_sample >= 0.1 && c.calibrate_sample <= 10)) {
        fmt::print(stderr, "swd: --calibrate-after is 0 or more seconds, --calibrate-sample "
                           "0.1-10 seconds\n");
        return 2;
    }
    const auto& a = c.adaptive;
    if (!(a.offload_share > 0 && a.offload_share <= 1 && a.return_share >= 0 &&
          a.return_share < a.offload_share) ||
        a.sustain == 0 || a.budget == 0) {
        fmt::print(stderr, "swd: the adaptive options need 0 <= --adaptive-return-share < "
                           "--adaptive-offload-share <= 1, --adaptive-sustain >= 1 and "
                           "--adaptive-budget >= 1\n");
        return 2;
    }
    if (c.xdp_max_rules == 0) {
        fmt::print(stderr, "swd: --xdp-max-rules must be at least 1\n");
        return 2;
    }
    if (c.lb_sessions == 0 || c.lb_sessions > (1u << 30) || c.lb_idle_timeout == 0 ||
        c.ct_entries == 0 || c.ct_entries > (1u << 30) || c.ct_idle_timeout == 0) {
        fmt::print(stderr, "swd: --lb-sessions and --ct-entries are 1-1073741824, "
                           "--lb-idle-timeout and --ct-idle-timeout at least 1 second\n");
        return 2;
    }
    if (c.max_rules == 0) {
        fmt::print(stderr, "swd: --max-rules must be at least 1\n");
        return 2;
    }
    return -1;
}

} // namespace

int main(int argc, char** argv) {
    cli c;
    if (int rc = parse_cli(argc, argv, c); rc >= 0) {
        return rc;
    }
    log::set_level(*log::parse_level(c.log_level));

    // Validate everything before touching any interface or socket.
    flows::parse_context ctx;
    for (const auto& p : c.ports) {
        // A --port is a port= line: the flow parser checks its options.
        auto one = flows::parse_flows("port=" + p, "<--port>", flows::parse_mode::config, {});
        if (!one.ok()) {
            fmt::print(stderr, "{}swd: invalid --port '{}'\n", flows::format_all(one.errors), p);
            return 2;
        }
        flows::port_decl d = one.ports.at(0);
        if (p.find("ofport=") == std::string::npos) {
            d.ofport = 0; // numbered after the flow file's ports
        }
        ctx.ports.push_back(d);
    }
    std::vector<int> cpus;
    if (!c.pmd_cpus.empty()) {
        size_t pos = 0;
        while (pos <= c.pmd_cpus.size()) {
            size_t comma = c.pmd_cpus.find(',', pos);
            std::string item = c.pmd_cpus.substr(pos, comma - pos);
            char* end = nullptr;
            long cpu = std::strtol(item.c_str(), &end, 10);
            if (item.empty() || *end != '\0' || cpu < 0 || cpu > 4095) {
                fmt::print(stderr,
                           "swd: invalid --pmd-cpus '{}': expected CPU numbers such as "
                           "1 or 0,1\n",
                           c.pmd_cpus);
                return 2;
            }
            cpus.push_back(static_cast<int>(cpu));
            if (comma == std::string::npos) {
                break;
            }
            pos = comma + 1;
        }
    } else {
        cpus.assign(c.pmd_threads, -1);
    }
    flows::parse_output config;
    if (!c.config.empty()) {
        auto text = ctl::read_file(c.config);
        if (!text) {
            fmt::print(stderr, "swd: {}\n", text.err().message());
            return 1;
        }
        config = flows::parse_flows(*text, c.config, flows::parse_mode::config, ctx);
        fmt::print(stderr, "{}", flows::format_all(config.warnings));
        if (!config.ok()) {
            fmt::print(stderr, "{}swd: {}: {}; configuration rejected\n",
                       flows::format_all(config.errors), c.config, config.error_count());
            return 1;
        }
    } else {
        config = flows::parse_flows("", "<none>", flows::parse_mode::config, ctx);
    }
    if (c.check) {
        fmt::print("{}: OK: {} rule{}, {} pool{}, {} port{}\n", c.config, config.mods.size(),
                   config.mods.size() == 1 ? "" : "s", config.pools.size(),
                   config.pools.size() == 1 ? "" : "s", config.ports.size(),
                   config.ports.size() == 1 ? "" : "s");
        for (const auto& p : config.ports) {
            fmt::print("  {}\n", flows::format_port(p));
        }
        return 0;
    }

    keep_control_off_pmd_cpus(cpus);
    ctl::block_control_signals();
    auto srv = ctl::server::open(c.control);
    if (!srv) {
        fmt::print(stderr, "swd: {}\n", srv.err().message());
        return 1;
    }
    datapath_setup setup;
    if (c.datapath == "afxdp") {
        setup.ports = config.ports;
    }
    setup.pmd_cpus = cpus;
    setup.local_port = c.local_port;
    setup.ring_size = c.ring_size;
    setup.xdp_max_rules = c.xdp_max_rules;
    setup.lb_sessions = c.lb_sessions;
    setup.lb_idle_timeout_ns = uint64_t{c.lb_idle_timeout} * 1'000'000'000u;
    setup.ct_entries = c.ct_entries;
    setup.ct_idle_timeout_ns = uint64_t{c.ct_idle_timeout} * 1'000'000'000u;
    auto dp = open_datapath(setup);
    if (!dp) {
        fmt::print(stderr, "swd: {}\n", dp.err().message());
        return 1;
    }
    dp::datapath& datapath = **dp;
    ctl::service_options opts;
    opts.config_path = c.config;
    opts.ports = config.ports;
    opts.max_rules = c.max_rules;
    opts.profile = *flows::parse_profile(c.profile);
    opts.adaptive = c.adaptive;
    opts.calibrate_after_s = c.calibrate_after;
    opts.calibrate_sample_s = c.calibrate_sample;
    ctl::service svc(opts, std::move(*dp));
    const size_t n_ports = config.ports.size();
    auto loaded = svc.load(std::move(config));
    if (!loaded) {
        fmt::print(stderr, "swd: {}\n", loaded.err().message());
        return 1;
    }
    start_datapath(datapath);
    log::info("swd started: {} rules, {} ports, control socket {}", loaded->added, n_ports,
              c.control);
    auto r = srv->run(svc);
    if (!r) {
        log::error("{}", r.err().message());
        return 1;
    }
    log::info("swd stopped");
    return 0;
}
