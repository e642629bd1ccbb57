// The session clock of swd's tables: CLOCK_MONOTONIC in nanoseconds, the clock of the BPF side's
// bpf_ktime_get_*ns (bpf/clock.h), so that entries written by either side compare.
//
//   monotonic_ns()         precise (a TSC read in the vDSO); for timing and the control plane.
//   coarse_monotonic_ns()  the same clock at the kernel tick's resolution (a few ms), a plain
//                          memory read in the vDSO: enough for last-hit times and idle timeouts
//                          on the per-batch path.
#pragma once

#include <cstdint>
#include <ctime>

namespace swd {

namespace detail {
inline uint64_t read_ns(clockid_t clock) noexcept {
    timespec ts{};
    ::clock_gettime(clock, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}
} // namespace detail

inline uint64_t monotonic_ns() noexcept {
    return detail::read_ns(CLOCK_MONOTONIC);
}

inline uint64_t coarse_monotonic_ns() noexcept {
    return detail::read_ns(CLOCK_MONOTONIC_COARSE);
}

} // namespace swd
