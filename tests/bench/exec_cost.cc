// exec_cost: the user-space executor's own cost per packet, in process: no AF_XDP, no kernel, no
// second thread; the figure to watch when changing datapath/ (the classifier, the exact-match
// cache, the executor).
//
//   exec_cost [--rules N] [--flows F] [--seconds S]
//
// Compiles N exact 5-tuple rules udp,in_port=1,nw_src=10.77.0.2+k,nw_dst=10.77.0.1,tp_src=1024+k,
// tp_dst=9,actions=output:2 (rules_exact of tests/bench/dispatcher.sh, forwarding) and a default
// drop, then runs the executor on batches of 32 frames of F flows in turn (tests/bench/
// bench_frames.h; flow k hits rule k while k < N), each batch copied into a buffer first, as the
// kernel copies frames into the UMEM. Prints ns per packet, each of 5 rounds of S/5 seconds and
// their median, and the share of packets that hit a rule. Outputs are discarded.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bench_frames.h"
#include "datapath/executor.h"
#include "flows/text_pipeline.h"

namespace {

using namespace swd;

struct discard_sink {
    uint64_t outputs = 0;
    void output(uint16_t, uint16_t, dp::packet&, bool) noexcept { outputs++; }
    void local(dp::packet&, bool) noexcept {}
    void release(dp::packet&) noexcept {}
};

std::string rules_text(uint32_t n) {
    std::string t = "port=p1,ofport=1\nport=p2,ofport=2\npriority=0,actions=drop\n";
    for (uint32_t k = 0; k < n; k++) {
        const uint32_t a = (10u << 24 | 77u << 16) + 2 + k;
        t += "priority=20,udp,in_port=1,nw_src=" + std::to_string(a >> 24) + "." +
             std::to_string(a >> 16 & 255) + "." + std::to_string(a >> 8 & 255) + "." +
             std::to_string(a & 255) +
             ",nw_dst=10.77.0.1,tp_src=" + std::to_string((1024 + k) % 65536) +
             ",tp_dst=9,actions=output:2\n";
    }
    return t;
}

} // namespace

int main(int argc, char** argv) {
    uint32_t n_rules = 1, n_flows = 1;
    double seconds = 5;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i];
        if (a == "--rules") {
            n_rules = static_cast<uint32_t>(std::strtoul(argv[i + 1], nullptr, 10));
        } else if (a == "--flows") {
            n_flows = std::max(1ul, std::strtoul(argv[i + 1], nullptr, 10));
        } else if (a == "--seconds") {
            seconds = std::strtod(argv[i + 1], nullptr);
        } else {
            std::fprintf(stderr, "exec_cost: unknown option %s\n", a.c_str());
            return 2;
        }
    }
    const auto compiled = flows::compile_text(rules_text(n_rules), "<exec_cost>");
    if (!compiled) {
        std::fprintf(stderr, "exec_cost: %s\n", compiled.err().message().c_str());
        return 1;
    }
    const auto& pipeline = compiled->pipeline;

    constexpr size_t batch = 32, frame_size = 60, room = 2048;
    std::vector<uint8_t> flows_buf(static_cast<size_t>(n_flows) * frame_size);
    for (uint32_t k = 0; k < n_flows; k++) {
        std::memcpy(flows_buf.data() + static_cast<size_t>(k) * frame_size,
                    bench::udp_frame(k).data(), frame_size);
    }
    std::vector<uint8_t> umem(batch * room);
    dp::thread_state ts;
    ts.rules.reserve(static_cast<uint32_t>(compiled->rules.size() + 1));
    discard_sink sink;
    dp::executor<discard_sink> exec(ts, sink);
    dp::queue_counters rxq;
    uint32_t next = 0;
    auto run_batch = [&] {
        dp::packet pkts[batch];
        for (size_t j = 0; j < batch; j++) {
            uint8_t* d = umem.data() + j * room;
            std::memcpy(d, flows_buf.data() + static_cast<size_t>(next) * frame_size, frame_size);
            next = next + 1 == n_flows ? 0 : next + 1;
            pkts[j] = {d, frame_size, 1, 0, 0};
        }
        exec.run(*pipeline, std::span<dp::packet>(pkts, batch), rxq, 1);
    };
    for (uint32_t i = 0; i < std::max<uint32_t>(n_flows / batch, 1) * 2; i++) {
        run_batch(); // warm up: every flow seen twice
    }
    sink.outputs = 0;
    std::vector<double> ns;
    uint64_t packets = 0;
    for (int round = 0; round < 5; round++) {
        const auto start = std::chrono::steady_clock::now();
        const auto until = start + std::chrono::duration<double>(seconds / 5);
        uint64_t n = 0;
        auto now = start;
        while (now < until) {
            for (int b = 0; b < 256; b++) {
                run_batch();
            }
            n += 256 * batch;
            now = std::chrono::steady_clock::now();
        }
        ns.push_back(std::chrono::duration<double, std::nano>(now - start).count() /
                     static_cast<double>(n));
        packets += n;
    }
    std::printf("exec_cost: %u rules, %u flows: ns per packet", n_rules, n_flows);
    for (double v : ns) {
        std::printf(" %.1f", v);
    }
    std::sort(ns.begin(), ns.end());
    std::printf(", median %.1f; %.1f %% forwarded\n", ns[2],
                100.0 * static_cast<double>(sink.outputs) / static_cast<double>(packets));
    return 0;
}
