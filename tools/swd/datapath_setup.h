// Turns swd's validated configuration (ports and their options from the flow file and --port)
// into a running datapath: the AF_XDP datapath when there are ports, else the null datapath.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "datapath/datapath.h"
#include "datapath/util/result.h"
#include "flows/rule.h"

namespace swd {

struct datapath_setup {
    std::vector<flows::port_decl> ports;
    std::vector<int> pmd_cpus; // empty: one thread, not pinned
    std::string local_port;    // "" or "none": no local port
    uint32_t ring_size = 2048;
    uint32_t xdp_max_rules = 1u << 20;
    uint32_t lb_sessions = 1u << 16;
    uint64_t lb_idle_timeout_ns = 300'000'000'000;
    uint32_t ct_entries = 1u << 16;
    uint64_t ct_idle_timeout_ns = 120'000'000'000;
};

// Opens every port (no thread runs yet); start() must follow once the first table is published.
result<std::unique_ptr<dp::datapath>> open_datapath(const datapath_setup& s);
void start_datapath(dp::datapath& d);

// With polling threads pinned (--pmd-cpus), moves the calling thread, and every thread it starts
// later, off their CPUs: the control work (swctl, calibration probes that drive a veth at full
// speed) must not take turns from a polling thread. Call before any thread starts.
void keep_control_off_pmd_cpus(const std::vector<int>& pmd_cpus);

} // namespace swd
