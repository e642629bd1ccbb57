// What xdp_program and tc_program do alike with their loaded BPF program and maps: sum a per-CPU
// counter map, run the program once on a frame (BPF_PROG_TEST_RUN), and swap a new instance into
// the link of the attached one (bpf_link_update). The callers own the program, link and maps.
//
// Thread-safety: as the caller's object (control thread only).
#pragma once

#include <array>
#include <cerrno>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "datapath/util/result.h"
#include "datapath/util/unique_fd.h"

extern "C" {
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
}

namespace swd::afxdp {

// The N counters (keys 0..N-1) of a per-CPU array map, each summed over the possible CPUs
// (bpf(BPF_MAP_LOOKUP_ELEM) per key). A key whose lookup fails counts 0.
template <size_t N>
std::array<uint64_t, N> sum_percpu_counters(const bpf_map* map) {
    std::array<uint64_t, N> sum{};
    const int cpus = libbpf_num_possible_cpus();
    std::vector<uint64_t> v(cpus > 0 ? static_cast<size_t>(cpus) : 1);
    for (uint32_t c = 0; c < N; c++) {
        if (bpf_map__lookup_elem(map, &c, sizeof c, v.data(), v.size() * sizeof v[0], 0) == 0) {
            for (uint64_t x : v) {
                sum[c] += x;
            }
        }
    }
    return sum;
}

// Runs the program prog_fd once on frame (bpf(BPF_PROG_TEST_RUN)); out receives the frame as the
// program left it. Returns the program's return value; on failure the error's context is
// "BPF_PROG_TEST_RUN of " + what.
inline result<uint32_t> test_run_once(int prog_fd, std::span<const uint8_t> frame,
                                      std::vector<uint8_t>& out, const std::string& what) {
    out.resize(frame.size() + 512); // room for a program that grows the frame
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(), .data_out = out.data(),
                .data_size_in = static_cast<uint32_t>(frame.size()),
                .data_size_out = static_cast<uint32_t>(out.size()), .repeat = 1);
    if (bpf_prog_test_run_opts(prog_fd, &opts) != 0) {
        return fail(errno_error(errno, "BPF_PROG_TEST_RUN of " + what));
    }
    out.resize(opts.data_size_out);
    return opts.retval;
}

// Makes link run new_prog_fd in place of old_prog_fd in one step (bpf(BPF_LINK_UPDATE) with
// BPF_F_REPLACE); does nothing when there is no link (a program loaded but not attached). On
// failure the old program stays and the error's context is "replace " + what.
inline result<void> replace_linked_program(const unique_fd& link, int old_prog_fd, int new_prog_fd,
                                           const std::string& what) {
    if (!link) {
        return {};
    }
    LIBBPF_OPTS(bpf_link_update_opts, opts, .flags = BPF_F_REPLACE,
                .old_prog_fd = static_cast<__u32>(old_prog_fd));
    if (bpf_link_update(link.get(), new_prog_fd, &opts) != 0) {
        return fail(errno_error(errno, "replace " + what + " (bpf_link_update)"));
    }
    return {};
}

} // namespace swd::afxdp
