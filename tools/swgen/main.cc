// swgen: the traffic generator for the lab, the tests and the benchmarks.
//
//   swgen --dev IFNAME [--proto udp|tcp] [--flows N] [--count N | --duration S] [--rate PPS] ...
//
// Sends Ethernet/IPv4/UDP (or TCP SYN) frames out of IFNAME, flow (i mod N) as frame i, and
// prints what it sent. The default mode runs swd_xdp_tx (bpf/swgen_tx.bpf.c) with
// BPF_PROG_TEST_RUN in live-frames mode, whose XDP_TX transmits out of IFNAME (on a veth the
// peer must carry an XDP program); where that is not available it says why and falls back to an
// AF_XDP socket in copy mode. It runs in chunks so that --duration, --rate and Ctrl-C work.
// Exit codes: 0 success (also when stopped by SIGINT/SIGTERM), 1 runtime failure, 2 bad
// command line.
#include <arpa/inet.h>
#include <atomic>
#include <boost/program_options.hpp>
#include <bpf/libbpf.h>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstdarg>
#include <cstdio>
#include <ctime>
#include <fmt/core.h>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sched.h>
#include <unistd.h>

extern "C" {
#include <xdp/libxdp.h>
}

#include "datapath/util/log.h"
#include "tools/swgen/frame.h"
#include "tools/swgen/netdev_info.h"
#include "tools/swgen/sender.h"

namespace po = boost::program_options;
using namespace swd;
using namespace swd::swgen;

namespace {

constexpr const char* usage_head =
    "usage: swgen --dev IFNAME [--count N | --duration SECONDS] [options]\n\n"
    "Sends UDP or TCP SYN frames of N distinct flows out of IFNAME and prints what it sent.\n"
    "Mode live runs an XDP program with BPF_PROG_TEST_RUN (BPF_F_TEST_XDP_LIVE_FRAMES) whose\n"
    "XDP_TX transmits the frames; on a veth the peer must carry an XDP program. Mode afxdp uses\n"
    "an AF_XDP socket (copy mode). Without --count or --duration it runs until SIGINT/SIGTERM.\n\n"
    "Options";

constexpr size_t max_size = 3000;        // below the live-frames page limit (~3.3 KB)
constexpr uint64_t max_flows = 1u << 24; // one /8 of addresses
constexpr uint32_t max_live_batch = 256; // TEST_XDP_MAX_BATCH
// Each BPF_PROG_TEST_RUN call sets up and tears down a page pool, which costs ~25 ms here
// (measured on kernel 6.18), so live mode sends in calls of ~200 ms; AF_XDP has no such cost.
constexpr double live_call_s = 0.2;
// --smooth calls run longer: while the kernel sets a call up, nothing is sent.
constexpr double live_smooth_call_s = 1.0;
constexpr uint64_t live_first_chunk = 1u << 20;
constexpr uint64_t live_max_chunk = 1u << 28;
constexpr uint64_t afxdp_chunk = 4096;
// With --rate, swgen sends rate * period frames at full speed, then sleeps to the period's end.
// A sender that fell more than a period behind (descheduled, a slow call) goes on at the rate
// from where it is: catching up would send the backlog at full speed, above the rate.
constexpr double live_rate_period_s = 0.1;
constexpr double afxdp_rate_period_s = 0.01;

enum class run_mode { auto_select, live, afxdp };

struct cli {
    std::string dev;
    std::string proto = "udp";
    std::string src_mac;
    std::string dst_mac = "02:00:00:00:00:02";
    std::string src_ip = "198.18.0.1";
    std::string dst_ip = "198.19.0.1";
    std::string sport = "1024";
    std::string dport = "9";
    std::string size = "60";
    std::string flows = "1";
    std::string vary = "src-ip,src-port";
    std::string count;
    std::string duration;
    std::string rate;
    bool smooth = false;
    std::string batch = "64";
    std::string cpu;
    std::string mode = "auto";
    std::string log_level = "info";
    bool json = false;
};

// What the command line asks for, validated.
struct request {
    std::string dev;
    frame_spec frame;
    flow_spec flows;
    std::string vary_text;
    std::optional<mac_addr> src_mac;
    std::optional<uint64_t> count;
    std::optional<double> duration;
    std::optional<uint64_t> rate;
    bool smooth = false; // --rate paced per frame by the generator program (live mode)
    uint32_t batch = 64;
    std::optional<int> cpu;
    run_mode mode = run_mode::auto_select;
    bool json = false;
};

std::atomic<bool> g_stop{false};

void on_signal(int) {
    g_stop.store(true, std::memory_order_relaxed);
}

void on_deadline(int) {} // interrupting the running call is all SIGALRM has to do

// Installs SIGINT/SIGTERM handlers without SA_RESTART, so a signal also ends a running
// BPF_PROG_TEST_RUN (EINTR) or sleep; SIGALRM (deadline_timer) interrupts them the same way.
void install_signals() {
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    sa.sa_handler = on_deadline;
    sigaction(SIGALRM, &sa, nullptr);
}

// Raises SIGALRM at a CLOCK_MONOTONIC time, so that --duration ends a live call that the rate
// estimate made too long (a call cut short by SIGSTOP, a machine that became busier).
class deadline_timer {
public:
    explicit deadline_timer(double t) {
        sigevent ev{};
        ev.sigev_notify = SIGEV_SIGNAL;
        ev.sigev_signo = SIGALRM;
        if (timer_create(CLOCK_MONOTONIC, &ev, &id_) != 0) {
            armed_ = false; // the loop still stops at the deadline, one call late at worst
            return;
        }
        itimerspec when{};
        when.it_value.tv_sec = static_cast<time_t>(t);
        when.it_value.tv_nsec =
            static_cast<long>((t - static_cast<double>(when.it_value.tv_sec)) * 1e9);
        timer_settime(id_, TIMER_ABSTIME, &when, nullptr);
    }
    ~deadline_timer() {
        if (armed_) {
            timer_delete(id_);
        }
    }
    deadline_timer(const deadline_timer&) = delete;
    deadline_timer& operator=(const deadline_timer&) = delete;

private:
    timer_t id_{};
    bool armed_ = true;
};

int bad(const std::string& msg) {
    fmt::print(stderr, "swgen: {}\nTry 'swgen --help'.\n", msg);
    return 2;
}

std::optional<uint64_t> parse_u64(const std::string& s, uint64_t lo, uint64_t hi) {
    uint64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || p != s.data() + s.size() || v < lo || v > hi) {
        return std::nullopt;
    }
    return v;
}

std::optional<mac_addr> parse_mac(const std::string& s) {
    mac_addr m{};
    unsigned b[6];
    char tail;
    if (std::sscanf(s.c_str(), "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4],
                    &b[5], &tail) != 6 ||
        s.size() != 17) {
        return std::nullopt;
    }
    for (size_t i = 0; i < 6; i++) {
        m[i] = static_cast<uint8_t>(b[i]);
    }
    return m;
}

std::optional<uint32_t> parse_ipv4(const std::string& s) {
    in_addr a{};
    if (inet_pton(AF_INET, s.c_str(), &a) != 1) {
        return std::nullopt;
    }
    return ntohl(a.s_addr);
}

std::string format_mac(const mac_addr& m) {
    return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", m[0], m[1], m[2], m[3], m[4],
                       m[5]);
}

// Parses and validates argv into `req`; returns the exit code to use now, or -1 to continue.
int parse_cli(int argc, char** argv, request& req) {
    cli c;
    po::options_description desc(usage_head);
    // clang-format off
    desc.add_options()
        ("help,h", "print this help and exit")
        ("dev,d", po::value(&c.dev)->value_name("IFNAME"), "device to send on (required)")
        ("proto", po::value(&c.proto)->value_name("P"), "udp or tcp (a TCP SYN); default udp")
        ("src-mac", po::value(&c.src_mac)->value_name("M"), "default: the device's address")
        ("dst-mac", po::value(&c.dst_mac)->value_name("M"), "default 02:00:00:00:00:02")
        ("src-ip", po::value(&c.src_ip)->value_name("A"), "first source address; default 198.18.0.1")
        ("dst-ip", po::value(&c.dst_ip)->value_name("A"),
         "first destination address; default 198.19.0.1")
        ("sport", po::value(&c.sport)->value_name("N"), "first source port; default 1024")
        ("dport", po::value(&c.dport)->value_name("N"), "first destination port; default 9")
        ("size", po::value(&c.size)->value_name("BYTES"),
         "frame size without the FCS, 60-3000 and at most MTU+14; default 60")
        ("flows", po::value(&c.flows)->value_name("N"),
         "distinct 5-tuples, 1-16777216: flow f sets each --vary field to its first value + f; "
         "default 1")
        ("vary", po::value(&c.vary)->value_name("LIST"),
         "fields that carry the flow number: src-ip,dst-ip,src-port,dst-port; "
         "default src-ip,src-port")
        ("count,n", po::value(&c.count)->value_name("N"), "send N frames, then stop")
        ("duration,t", po::value(&c.duration)->value_name("SECONDS"), "send for SECONDS, then stop")
        ("rate,r", po::value(&c.rate)->value_name("PPS"),
         "at most PPS frames a second, on average over 100 ms (live) or 10 ms (afxdp); "
         "within that window frames leave at full speed")
        ("smooth", po::bool_switch(&c.smooth),
         "live mode with --rate: space every frame 1/PPS apart (the XDP program reads the clock "
         "and drops the repetitions in between), for rate searches; the sending thread spins")
        ("batch", po::value(&c.batch)->value_name("N"),
         "frames per kernel batch (live: 1-256; on a veth above 128 may overflow the peer's "
         "256-frame ring) or per sendto kick (afxdp: 1-2048); default 64")
        ("cpu", po::value(&c.cpu)->value_name("N"), "pin swgen (and so the live-mode sends) to CPU N")
        ("mode", po::value(&c.mode)->value_name("M"),
         "auto (live, else afxdp), live or afxdp; default auto")
        ("json", po::bool_switch(&c.json), "print the summary as one JSON object")
        ("log-level", po::value(&c.log_level)->value_name("L"),
         "debug, info, warn or error (default info)");
    // clang-format on
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(argc, argv).options(desc).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        return bad(e.what());
    }
    if (vm.count("help")) {
        std::cout << desc << "\n";
        return 0;
    }
    auto level = log::parse_level(c.log_level);
    if (!level) {
        return bad(fmt::format("invalid --log-level '{}': expected debug, info, warn or error",
                               c.log_level));
    }
    log::set_level(*level);
    if (c.dev.empty()) {
        return bad("--dev IFNAME is required");
    }
    req.dev = c.dev;
    req.json = c.json;

    if (c.proto == "udp") {
        req.frame.proto = l4_proto::udp;
    } else if (c.proto == "tcp") {
        req.frame.proto = l4_proto::tcp;
    } else {
        return bad(fmt::format("invalid --proto '{}': expected udp or tcp", c.proto));
    }
    if (!c.src_mac.empty()) {
        req.src_mac = parse_mac(c.src_mac);
        if (!req.src_mac) {
            return bad(
                fmt::format("invalid --src-mac '{}': expected xx:xx:xx:xx:xx:xx", c.src_mac));
        }
    }
    auto dst_mac = parse_mac(c.dst_mac);
    if (!dst_mac) {
        return bad(fmt::format("invalid --dst-mac '{}': expected xx:xx:xx:xx:xx:xx", c.dst_mac));
    }
    req.frame.dst_mac = *dst_mac;
    auto src_ip = parse_ipv4(c.src_ip);
    auto dst_ip = parse_ipv4(c.dst_ip);
    if (!src_ip) {
        return bad(fmt::format("invalid --src-ip '{}': expected an IPv4 address", c.src_ip));
    }
    if (!dst_ip) {
        return bad(fmt::format("invalid --dst-ip '{}': expected an IPv4 address", c.dst_ip));
    }
    req.frame.src_ip = *src_ip;
    req.frame.dst_ip = *dst_ip;
    auto sport = parse_u64(c.sport, 0, 65535);
    auto dport = parse_u64(c.dport, 0, 65535);
    if (!sport) {
        return bad(fmt::format("invalid --sport '{}': expected 0-65535", c.sport));
    }
    if (!dport) {
        return bad(fmt::format("invalid --dport '{}': expected 0-65535", c.dport));
    }
    req.frame.src_port = static_cast<uint16_t>(*sport);
    req.frame.dst_port = static_cast<uint16_t>(*dport);
    auto size = parse_u64(c.size, 60, max_size);
    if (!size) {
        return bad(fmt::format("invalid --size '{}': expected 60-{} bytes", c.size, max_size));
    }
    req.frame.size = *size;

    auto flows = parse_u64(c.flows, 1, max_flows);
    if (!flows) {
        return bad(fmt::format("invalid --flows '{}': expected 1-{}", c.flows, max_flows));
    }
    req.flows.n_flows = static_cast<uint32_t>(*flows);
    req.vary_text = c.vary;
    for (size_t pos = 0; pos <= c.vary.size();) {
        size_t end = c.vary.find(',', pos);
        if (end == std::string::npos) {
            end = c.vary.size();
        }
        const std::string f = c.vary.substr(pos, end - pos);
        if (f == "src-ip") {
            req.flows.vary_src_ip = true;
        } else if (f == "dst-ip") {
            req.flows.vary_dst_ip = true;
        } else if (f == "src-port") {
            req.flows.vary_src_port = true;
        } else if (f == "dst-port") {
            req.flows.vary_dst_port = true;
        } else {
            return bad(fmt::format("invalid --vary field '{}': expected a comma-separated list of "
                                   "src-ip, dst-ip, src-port, dst-port",
                                   f));
        }
        pos = end + 1;
    }
    const uint64_t last = *flows - 1;
    if (req.flows.vary_src_ip && *src_ip + last > 0xffffffffull) {
        return bad(
            fmt::format("--src-ip {} + {} flows runs past 255.255.255.255", c.src_ip, *flows));
    }
    if (req.flows.vary_dst_ip && *dst_ip + last > 0xffffffffull) {
        return bad(
            fmt::format("--dst-ip {} + {} flows runs past 255.255.255.255", c.dst_ip, *flows));
    }
    if (!req.flows.vary_src_ip && !req.flows.vary_dst_ip && *flows > 65536) {
        return bad(fmt::format("--flows {} needs an address in --vary: ports give at most 65536 "
                               "distinct flows",
                               *flows));
    }

    if (!c.count.empty() && !c.duration.empty()) {
        return bad("--count and --duration exclude each other");
    }
    if (!c.count.empty()) {
        req.count = parse_u64(c.count, 1, UINT64_MAX);
        if (!req.count) {
            return bad(fmt::format("invalid --count '{}': expected a positive integer", c.count));
        }
    }
    if (!c.duration.empty()) {
        double d = 0;
        auto [p, ec] = std::from_chars(c.duration.data(), c.duration.data() + c.duration.size(), d);
        if (ec != std::errc() || p != c.duration.data() + c.duration.size() || !(d > 0) ||
            d > 1e7) {
            return bad(fmt::format("invalid --duration '{}': expected seconds > 0", c.duration));
        }
        req.duration = d;
    }
    if (!c.rate.empty()) {
        req.rate = parse_u64(c.rate, 1, 1'000'000'000);
        if (!req.rate) {
            return bad(
                fmt::format("invalid --rate '{}': expected 1-1000000000 frames a second", c.rate));
        }
    }
    req.smooth = c.smooth;
    if (req.smooth && (!req.rate || c.mode != "live")) {
        return bad("--smooth needs --rate and --mode live");
    }
    if (c.mode == "auto") {
        req.mode = run_mode::auto_select;
    } else if (c.mode == "live") {
        req.mode = run_mode::live;
    } else if (c.mode == "afxdp") {
        req.mode = run_mode::afxdp;
    } else {
        return bad(fmt::format("invalid --mode '{}': expected auto, live or afxdp", c.mode));
    }
    auto batch = parse_u64(c.batch, 1, 2048);
    if (!batch || (req.mode != run_mode::afxdp && *batch > max_live_batch)) {
        return bad(fmt::format("invalid --batch '{}': expected 1-{}", c.batch,
                               req.mode == run_mode::afxdp ? 2048 : max_live_batch));
    }
    req.batch = static_cast<uint32_t>(*batch);
    if (!c.cpu.empty()) {
        const long n_cpus = sysconf(_SC_NPROCESSORS_CONF);
        auto cpu = parse_u64(c.cpu, 0, n_cpus > 0 ? static_cast<uint64_t>(n_cpus - 1) : 0);
        if (!cpu || *cpu >= CPU_SETSIZE) {
            return bad(fmt::format("invalid --cpu '{}': expected 0-{}", c.cpu, n_cpus - 1));
        }
        req.cpu = static_cast<int>(*cpu);
    }
    return -1;
}

// libbpf and libxdp messages go to the log; their warnings matter (verifier output).
int libbpf_print(enum libbpf_print_level level, const char* f, va_list ap) {
    char buf[1024];
    vsnprintf(buf, sizeof(buf), f, ap);
    std::string_view s(buf);
    while (!s.empty() && s.back() == '\n') {
        s.remove_suffix(1);
    }
    if (level == LIBBPF_WARN) {
        log::warn("libbpf: {}", s);
    } else {
        log::debug("libbpf: {}", s);
    }
    return 0;
}

int libxdp_print(enum libxdp_print_level level, const char* f, va_list ap) {
    char buf[1024];
    vsnprintf(buf, sizeof(buf), f, ap);
    std::string_view s(buf);
    while (!s.empty() && s.back() == '\n') {
        s.remove_suffix(1);
    }
    if (level == LIBXDP_WARN) {
        log::warn("libxdp: {}", s);
    } else {
        log::debug("libxdp: {}", s);
    }
    return 0;
}

double now_s() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Sleeps until monotonic time t, or until a signal arrives.
void sleep_until(double t) {
    if (t <= now_s()) {
        return;
    }
    timespec ts{};
    ts.tv_sec = static_cast<time_t>(t);
    ts.tv_nsec = static_cast<long>((t - static_cast<double>(ts.tv_sec)) * 1e9);
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
}

struct run_result {
    uint64_t frames = 0;
    double seconds = 0;
    std::string stopped_by;
    std::optional<error> failure;
};

// Sends in chunks until the count, the duration, a signal or an error ends the run; the clock
// started at t0 (frames sent by a probe since then are in s.total()).
run_result run(sender& s, const request& req, double t0) {
    run_result out;
    const bool live = std::string_view(s.mode()) == "live";
    const double t_end = req.duration ? t0 + *req.duration : 0;
    std::optional<deadline_timer> deadline;
    if (req.duration) {
        deadline.emplace(t_end);
    }
    const double rate_period = live ? live_rate_period_s : afxdp_rate_period_s;
    uint64_t chunk = live ? live_first_chunk : afxdp_chunk;
    // --smooth: the program paces (a call's repetitions are not all sent), else this loop does.
    const bool paced_here = req.rate && !req.smooth;
    double fps = 0;           // repetitions a second over the last call, per-call cost included
    double paced_from_t = t0; // --rate: frames sent since paced_from_t follow the rate
    uint64_t paced_from_frames = 0;
    while (true) {
        const uint64_t sent = s.total();
        if (g_stop.load(std::memory_order_relaxed)) {
            out.stopped_by = "signal";
            break;
        }
        if (req.count && sent >= *req.count) {
            out.stopped_by = "count";
            break;
        }
        const double t = now_s();
        if (req.duration && t >= t_end) {
            out.stopped_by = "duration";
            break;
        }
        uint64_t n = chunk;
        if (req.count) {
            n = std::min(n, *req.count - sent);
        }
        if (paced_here) {
            n = std::min(
                n, std::max<uint64_t>(
                       1, static_cast<uint64_t>(static_cast<double>(*req.rate) * rate_period)));
        }
        if (req.duration && fps > 0) {
            n = std::min(n,
                         std::max<uint64_t>(req.batch, static_cast<uint64_t>((t_end - t) * fps)));
        }
        auto r = s.send(n, g_stop);
        if (!r) {
            out.failure = r.err();
            out.stopped_by = "error";
            break;
        }
        const double dt = now_s() - t;
        if (dt > 0 && *r > 0) {
            fps = static_cast<double>(req.smooth ? n : *r) / dt;
            if (live) {
                const double call_s = req.smooth ? live_smooth_call_s : live_call_s;
                chunk = std::clamp<uint64_t>(static_cast<uint64_t>(fps * call_s), req.batch,
                                             live_max_chunk);
            }
        }
        if (paced_here) {
            double next = paced_from_t + static_cast<double>(s.total() - paced_from_frames) /
                                             static_cast<double>(*req.rate);
            if (const double now = now_s(); now - next > rate_period) {
                paced_from_t = next = now;
                paced_from_frames = s.total();
            }
            if (req.duration) {
                next = std::min(next, t_end);
            }
            sleep_until(next);
        }
    }
    out.frames = s.total();
    out.seconds = now_s() - t0;
    return out;
}

const char* proto_name(l4_proto p) {
    return p == l4_proto::udp ? "udp" : "tcp";
}

} // namespace

int main(int argc, char** argv) {
    request req;
    if (int rc = parse_cli(argc, argv, req); rc >= 0) {
        return rc;
    }
    libbpf_set_print(libbpf_print);
    libxdp_set_print(libxdp_print);

    auto dev = query_netdev(req.dev);
    if (!dev) {
        return bad(dev.err().context);
    }
    if (req.frame.size > dev->mtu + eth_hlen) {
        return bad(fmt::format("--size {} does not fit the MTU of {} ({}): at most {} bytes",
                               req.frame.size, req.dev, dev->mtu, dev->mtu + eth_hlen));
    }
    req.frame.src_mac = req.src_mac ? *req.src_mac : dev->mac;
    if (req.cpu) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(*req.cpu, &set);
        if (sched_setaffinity(0, sizeof(set), &set) != 0) {
            return bad(fmt::format("--cpu {}: {}", *req.cpu, std::strerror(errno)));
        }
    }
    install_signals();

    sender_config cfg;
    cfg.dev = req.dev;
    cfg.ifindex = dev->ifindex;
    cfg.frame = req.frame;
    cfg.flows = req.flows;
    cfg.batch = req.batch;
    cfg.gap_ns = req.smooth ? std::max<uint64_t>(1, 1'000'000'000 / *req.rate) : 0;
    const std::vector<uint8_t> frame = build_template(req.frame);

    // Choose the sender. Live mode is probed with one batch: a kernel without live frames fails
    // it, and a veth whose peer carries no XDP program drops the frames without counting them
    // anywhere, which shows as a tx_packets count that does not move with them.
    std::unique_ptr<sender> s;
    std::string fallback_reason;
    double t0 = now_s();
    auto stats0 = read_netdev_stats(req.dev);
    if (req.mode != run_mode::afxdp) {
        auto live = open_live_sender(cfg, frame);
        if (!live) {
            fallback_reason = live.err().message();
        } else {
            s = std::move(*live);
            const uint64_t probe = std::min<uint64_t>(req.batch, req.count.value_or(req.batch));
            auto r = s->send(probe, g_stop);
            if (!r && s->total() == 0) {
                fallback_reason = r.err().message();
                s.reset();
            } else if (!r) {
                log::error("{}", r.err().message());
                return 1;
            } else if (dev->driver == "veth" && *r > 0 && stats0) {
                // Most of the probe must be counted: the kernel may send a frame of its own
                // (neighbour discovery and the like) on the device meanwhile.
                const uint64_t want = std::max<uint64_t>(1, *r / 2);
                bool moved = false;
                for (int i = 0; i < 10 && !moved; i++) {
                    auto st = read_netdev_stats(req.dev);
                    moved = st && st->tx_packets - stats0->tx_packets >= want;
                    if (!moved) {
                        sleep_until(now_s() + 0.005);
                    }
                }
                if (!moved) {
                    const std::string why = fmt::format(
                        "the peer of veth {} dropped all {} probe frames; a veth drops XDP_TX "
                        "frames unless its peer carries an XDP program",
                        req.dev, *r);
                    if (req.mode == run_mode::live) {
                        log::warn("{}", why);
                    } else {
                        fallback_reason = why;
                        s.reset();
                    }
                }
            }
        }
        if (!s && req.mode == run_mode::live) {
            log::error("live frames not available: {}", fallback_reason);
            return 1;
        }
        if (!s) {
            log::warn("live frames not available ({}); falling back to AF_XDP TX", fallback_reason);
        }
    }
    if (!s) {
        auto afxdp = open_afxdp_sender(cfg, frame);
        if (!afxdp) {
            log::error("{}", afxdp.err().message());
            return 1;
        }
        s = std::move(*afxdp);
        t0 = now_s();
        stats0 = read_netdev_stats(req.dev);
    }

    const run_result res = run(*s, req, t0);
    if (res.failure) {
        log::error("{}", res.failure->message());
    }
    // Device counters over the run (-1: the device has none). On a veth, tx_packets counts
    // what the peer received.
    auto stats1 = read_netdev_stats(req.dev);
    const bool have_stats = stats0 && stats1;
    const int64_t tx_packets =
        have_stats ? static_cast<uint32_t>(stats1->tx_packets - stats0->tx_packets) : -1;
    const int64_t tx_dropped =
        have_stats ? static_cast<uint32_t>(stats1->tx_dropped - stats0->tx_dropped) : -1;
    if (tx_dropped > 0) {
        log::warn("{} counted {} dropped transmissions during the run", req.dev, tx_dropped);
    }
    const double mpps = res.seconds > 0 ? static_cast<double>(res.frames) / res.seconds / 1e6 : 0;
    const double gbps = mpps * static_cast<double>(req.frame.size) * 8 / 1e3;
    auto or_null = [](int64_t v) { return v >= 0 ? nlohmann::json(v) : nlohmann::json(nullptr); };
    auto or_unknown = [](int64_t v) { return v >= 0 ? std::to_string(v) : std::string("unknown"); };
    if (req.json) {
        nlohmann::json j = {
            {"dev", req.dev},
            {"mode", s->mode()},
            {"proto", proto_name(req.frame.proto)},
            {"size", req.frame.size},
            {"flows", req.flows.n_flows},
            {"vary", req.vary_text},
            {"frames", res.frames},
            {"seconds", res.seconds},
            {"mpps", mpps},
            {"gbps", gbps},
            {"batch", req.batch},
            {"stopped_by", res.stopped_by},
            {"src_mac", format_mac(req.frame.src_mac)},
            {"dst_mac", format_mac(req.frame.dst_mac)},
        };
        j["rate"] = req.rate ? nlohmann::json(*req.rate) : nlohmann::json(nullptr);
        j["smooth"] = req.smooth;
        j["cpu"] = req.cpu ? nlohmann::json(*req.cpu) : nlohmann::json(nullptr);
        j["dev_tx_packets"] = or_null(tx_packets);
        j["dev_tx_dropped"] = or_null(tx_dropped);
        j["fallback_reason"] =
            fallback_reason.empty() ? nlohmann::json(nullptr) : nlohmann::json(fallback_reason);
        fmt::print("{}\n", j.dump());
    } else {
        fmt::print("swgen: sent {} frames in {:.3f} s on {}: {:.3f} Mpps, {:.3f} Gbit/s\n",
                   res.frames, res.seconds, req.dev, mpps, gbps);
        fmt::print("swgen: mode {}, {} {}-byte frames, {} flow{} ({}), batch {}, cpu {}, rate {}, "
                   "stopped by {}\n",
                   s->mode(), proto_name(req.frame.proto), req.frame.size, req.flows.n_flows,
                   req.flows.n_flows == 1 ? "" : "s", req.vary_text, req.batch,
                   req.cpu ? std::to_string(*req.cpu) : "any",
                   req.rate ? std::to_string(*req.rate) + " pps" : "unlimited", res.stopped_by);
        fmt::print("swgen: {} counters over the run: tx_packets {}, tx_dropped {}\n", req.dev,
                   or_unknown(tx_packets), or_unknown(tx_dropped));
    }
    return res.failure ? 1 : 0;
}
