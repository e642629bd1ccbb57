// xdp_cost: the XDP dispatcher's own cost per packet, measured with BPF_PROG_TEST_RUN (repeat),
// without a device, a generator or a second CPU in the way: the figure to watch when changing
// bpf/dispatcher.bpf.c or bpf/parse.h.
//
//   xdp_cost FLOWFILE [--frames N] [--repeat R] [--profile P] [--attach IFNAME --seconds S]
//
// Loads the flow file's rules into the dispatcher's maps (as swd would, profile P), then runs
// the dispatcher on N different 60-byte UDP frames (10.77.0.2+k:1024+k -> 10.77.0.1:9, in_port
// 1, so the exact rules of tests/bench/dispatcher.sh match them), R times each, and prints the
// kernel's average time per run in ns, next to the same for swd_xdp_count_drop (the smallest
// program that counts), then the dispatcher's counters over those runs. BPF_PROG_TEST_RUN repeats
// a program on the frame its previous run rewrote: for a rule that rewrites, the counters show
// whether every run took the same path (docs/benchmarks.md, the balancer's hit path). With
// --attach, the dispatcher (ofport 1) is also attached to IFNAME for S seconds with no AF_XDP
// socket, and its counters are printed: the dispatcher in place, without swd around it. Root only.
#include <array>
#include <cstdio>
#include <cstdlib>
#include <net/if.h>
#include <string>
#include <unistd.h>
#include <vector>

#include "bench_frames.h"
#include "flows/text_pipeline.h"
#include "netdev-afxdp/xdp_program.h"
#include "netdev-afxdp/xdp_tables.h"
#include "tools/control/service.h"

extern "C" {
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "swgen_tx.skel.h"
}

namespace {

using namespace swd;
using bench::udp_frame;

// Average ns per run of prog over the frames, and the last XDP action.
double cost(int prog_fd, const std::vector<std::vector<uint8_t>>& frames, uint32_t repeat,
            uint32_t* action) {
    uint64_t total = 0;
    for (const auto& f : frames) {
        std::vector<uint8_t> out(f.size() + 256);
        LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f.data(), .data_out = out.data(),
                    .data_size_in = static_cast<uint32_t>(f.size()),
                    .data_size_out = static_cast<uint32_t>(out.size()),
                    .repeat = static_cast<int>(repeat));
        if (bpf_prog_test_run_opts(prog_fd, &o) != 0) {
            std::perror("BPF_PROG_TEST_RUN");
            std::exit(1);
        }
        total += o.duration;
        *action = o.retval;
    }
    return static_cast<double>(total) / static_cast<double>(frames.size());
}

void print_counters(const std::array<uint64_t, SWD_XC_COUNT>& c) {
    for (unsigned i = 0; i < SWD_XC_COUNT; i++) {
        if (c[i] != 0) {
            std::printf("%s=%llu ", dp::xdp_counter_name(i), static_cast<unsigned long long>(c[i]));
        }
    }
    std::printf("\n");
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: xdp_cost FLOWFILE [--frames N] [--repeat R] [--profile P]\n");
        return 2;
    }
    uint32_t n_frames = 64, repeat = 100000;
    flows::profile profile = flows::profile::hybrid;
    std::string attach_to;
    unsigned seconds = 0;
    for (int i = 2; i + 1 < argc; i += 2) {
        const std::string a = argv[i];
        if (a == "--frames") {
            n_frames = static_cast<uint32_t>(std::strtoul(argv[i + 1], nullptr, 10));
        } else if (a == "--repeat") {
            repeat = static_cast<uint32_t>(std::strtoul(argv[i + 1], nullptr, 10));
        } else if (a == "--attach") {
            attach_to = argv[i + 1];
        } else if (a == "--seconds") {
            seconds = static_cast<unsigned>(std::strtoul(argv[i + 1], nullptr, 10));
        } else if (a == "--profile") {
            auto p = flows::parse_profile(argv[i + 1]);
            if (!p) {
                std::fprintf(stderr, "xdp_cost: bad profile\n");
                return 2;
            }
            profile = *p;
        } else {
            std::fprintf(stderr, "xdp_cost: unknown option %s\n", a.c_str());
            return 2;
        }
    }
    auto text = ctl::read_file(argv[1]);
    if (!text) {
        std::fprintf(stderr, "xdp_cost: %s\n", text.err().message().c_str());
        return 1;
    }
    flows::text_pipeline_options opts;
    opts.placement = profile;
    const auto compiled = flows::compile_text(*text, argv[1], opts);
    if (!compiled) {
        std::fprintf(stderr, "xdp_cost: %s\n", compiled.err().message().c_str());
        return 1;
    }
    const auto& pipeline = compiled->pipeline;
    const auto room = static_cast<uint32_t>(compiled->rules.size() + 16);
    auto tables = afxdp::xdp_tables::create(room, room);
    if (!tables) {
        std::fprintf(stderr, "xdp_cost: %s\n", tables.err().message().c_str());
        return 1;
    }
    if (auto r = (*tables)->sync(*pipeline); !r) {
        std::fprintf(stderr, "xdp_cost: %s\n", r.err().message().c_str());
        return 1;
    }
    auto prog = afxdp::xdp_program::load(**tables, 1);
    if (!prog) {
        std::fprintf(stderr, "xdp_cost: %s\n", prog.err().message().c_str());
        return 1;
    }
    swd_swgen_tx* min = swd_swgen_tx__open_and_load();
    if (!min) {
        std::perror("xdp_cost: load swgen_tx.bpf.o");
        return 1;
    }
    std::vector<std::vector<uint8_t>> frames;
    for (uint32_t k = 0; k < n_frames; k++) {
        frames.push_back(udp_frame(k));
    }
    uint32_t a_min = 0, a_disp = 0;
    const double c_min =
        cost(bpf_program__fd(min->progs.swd_xdp_count_drop), frames, repeat, &a_min);
    const double c_disp = cost((*prog)->prog_fd(), frames, repeat, &a_disp);
    std::printf("%zu rules (%s, XDP: %s), %u frames x %u runs: swd_xdp_count_drop %.1f ns "
                "(action %u), dispatcher %.1f ns (action %u), difference %.1f ns\n",
                compiled->rules.size(), flows::profile_name(profile),
                (*tables)->searching() ? "searching" : (*tables)->why_not().c_str(), n_frames,
                repeat, c_min, a_min, c_disp, a_disp, c_disp - c_min);
    print_counters((*prog)->counters()); // what the runs did: a drop's reason shows here
    swd_swgen_tx__destroy(min);
    if (!attach_to.empty()) {
        auto p = afxdp::xdp_program::attach(static_cast<int>(if_nametoindex(attach_to.c_str())),
                                            attach_to, afxdp::attach_mode::native, **tables, 1);
        if (!p) {
            std::fprintf(stderr, "xdp_cost: %s\n", p.err().message().c_str());
            return 1;
        }
        ::sleep(seconds);
        print_counters((*p)->counters());
    }
    return 0;
}
