// swreplay: injects the frames of pcap files into a network device, for users and lab tests.
//
//   swreplay --dev IFNAME [--rate PPS] [--loop N] [--json] FILE...
//
// Each frame's captured bytes leave IFNAME as they are (a packet socket through libpcap's
// pcap_inject), so a veth's peer (a port of swd) receives exactly what the file holds: truncated
// headers, lying lengths and all. Files that are not Ethernet captures are skipped with a message;
// frames the kernel refuses to send (shorter than an Ethernet header, longer than the MTU) are
// counted by reason. Exit codes: 0 every file read, 1 a file or the device could not be used,
// 2 bad command line.
#include <boost/program_options.hpp>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fmt/core.h>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <pcap/pcap.h>
#include <string>
#include <vector>

namespace po = boost::program_options;

namespace {

struct options {
    std::string dev;
    std::vector<std::string> files;
    uint64_t rate = 0; // frames a second; 0: as fast as possible
    unsigned loops = 1;
    bool json = false;
};

struct summary {
    unsigned files_read = 0;
    unsigned files_failed = 0;
    uint64_t frames = 0;
    uint64_t sent = 0;
    uint64_t bytes = 0;
    std::map<std::string, uint64_t> refused; // by the kernel's reason
};

// Paces frames at a fixed rate against the monotonic clock.
class pacer {
public:
    explicit pacer(uint64_t rate) : interval_ns_(rate ? 1'000'000'000 / rate : 0) {
        clock_gettime(CLOCK_MONOTONIC, &next_);
    }
    void wait() {
        if (interval_ns_ == 0) {
            return;
        }
        next_.tv_nsec += static_cast<long>(interval_ns_);
        while (next_.tv_nsec >= 1'000'000'000) {
            next_.tv_nsec -= 1'000'000'000;
            next_.tv_sec++;
        }
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next_, nullptr);
    }

private:
    uint64_t interval_ns_;
    timespec next_{};
};

int parse_options(int argc, char** argv, options& o) {
    po::options_description visible("Options");
    visible.add_options()("help,h", "print this help and exit")(
        "dev,d", po::value(&o.dev)->required(), "device to send on (required)")(
        "rate,r", po::value(&o.rate), "at most PPS frames a second (default: as fast as possible)")(
        "loop", po::value(&o.loops)->default_value(1), "replay the files N times")(
        "json", po::bool_switch(&o.json), "print the summary as one JSON object");
    po::options_description all;
    all.add(visible).add_options()("file", po::value(&o.files));
    po::positional_options_description pos;
    pos.add("file", -1);
    try {
        po::variables_map vm;
        po::store(po::command_line_parser(argc, argv).options(all).positional(pos).run(), vm);
        if (vm.count("help")) {
            std::cout << "usage: swreplay --dev IFNAME [options] FILE...\n\n"
                         "Sends the frames of pcap files (Ethernet) out of IFNAME as captured.\n\n"
                      << visible;
            return 0;
        }
        po::notify(vm);
        if (o.files.empty()) {
            throw po::error("no pcap file given");
        }
        if (o.loops == 0) {
            throw po::error("--loop must be at least 1");
        }
    } catch (const po::error& e) {
        fmt::print(stderr, "swreplay: {}\n(swreplay --help lists the options)\n", e.what());
        return 2;
    }
    return -1;
}

// Replays one file into out; false when the file cannot be read as an Ethernet capture.
bool replay_file(const std::string& path, pcap_t* out, pacer& pace, summary& s) {
    char err[PCAP_ERRBUF_SIZE];
    pcap_t* in = pcap_open_offline(path.c_str(), err);
    if (!in) {
        fmt::print(stderr, "swreplay: {}: {}\n", path, err);
        return false;
    }
    if (pcap_datalink(in) != DLT_EN10MB) {
        fmt::print(stderr, "swreplay: {}: link type {} is not Ethernet, skipped\n", path,
                   pcap_datalink(in));
        pcap_close(in);
        return false;
    }
    pcap_pkthdr* h;
    const u_char* data;
    int rc;
    while ((rc = pcap_next_ex(in, &h, &data)) == 1) {
        s.frames++;
        pace.wait();
        if (h->caplen == 0) {
            s.refused["empty frame"]++;
        } else if (pcap_inject(out, data, h->caplen) == static_cast<int>(h->caplen)) {
            s.sent++;
            s.bytes += h->caplen;
        } else {
            s.refused[pcap_geterr(out)]++;
        }
    }
    if (rc == PCAP_ERROR) {
        fmt::print(stderr, "swreplay: {}: {} (after {} frames)\n", path, pcap_geterr(in), s.frames);
    }
    pcap_close(in);
    return rc != PCAP_ERROR;
}

} // namespace

int main(int argc, char** argv) {
    options o;
    if (int rc = parse_options(argc, argv, o); rc >= 0) {
        return rc;
    }
    char err[PCAP_ERRBUF_SIZE];
    pcap_t* out = pcap_create(o.dev.c_str(), err);
    if (!out || pcap_activate(out) < 0) {
        fmt::print(stderr, "swreplay: {}: {}\n", o.dev, out ? pcap_geterr(out) : err);
        return 1;
    }
    summary s;
    pacer pace(o.rate);
    for (unsigned loop = 0; loop < o.loops; loop++) {
        for (const std::string& f : o.files) {
            (replay_file(f, out, pace, s) ? s.files_read : s.files_failed)++;
        }
    }
    pcap_close(out);
    if (o.json) {
        nlohmann::json j = {{"files_read", s.files_read}, {"files_failed", s.files_failed},
                            {"frames", s.frames},         {"sent", s.sent},
                            {"bytes", s.bytes},           {"refused", s.refused}};
        std::cout << j.dump() << "\n";
    } else {
        fmt::print(
            "swreplay: {} files read, {} failed; {} frames, {} sent ({} bytes), {} refused\n",
            s.files_read, s.files_failed, s.frames, s.sent, s.bytes, s.frames - s.sent);
        for (const auto& [why, n] : s.refused) {
            fmt::print("  refused {}: {}\n", n, why);
        }
    }
    return s.files_failed ? 1 : 0;
}
