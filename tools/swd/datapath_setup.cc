#include "datapath_setup.h"

#include <sched.h>

#include "datapath/util/log.h"
#include "netdev-afxdp/afxdp_datapath.h"

namespace swd {

namespace {

afxdp::port_config to_afxdp(const flows::port_decl& d) {
    using xdp = flows::port_options::xdp_mode;
    using wait = flows::port_options::wait_mode;
    const flows::port_options& o = d.options;
    afxdp::port_config c;
    c.name = d.name;
    c.ofport = d.ofport;
    switch (o.xdp) {
    case xdp::best_effort:
        c.attach = afxdp::attach_mode::automatic;
        c.zc = afxdp::zc_mode::best_effort;
        break;
    case xdp::native_with_zerocopy:
        c.attach = afxdp::attach_mode::native;
        c.zc = afxdp::zc_mode::zero_copy;
        break;
    case xdp::native:
        c.attach = afxdp::attach_mode::native;
        c.zc = afxdp::zc_mode::copy;
        break;
    case xdp::generic:
        c.attach = afxdp::attach_mode::generic;
        c.zc = afxdp::zc_mode::copy;
        break;
    }
    c.need_wakeup = o.use_need_wakeup;
    c.wait = o.wait == wait::spin   ? afxdp::wait_mode::spin
             : o.wait == wait::poll ? afxdp::wait_mode::poll
                                    : afxdp::wait_mode::busy;
    c.busy_poll_usecs = o.busy_poll_usecs;
    c.busy_poll_budget = o.busy_poll_budget;
    c.napi_defer_hard_irqs = o.napi_defer_hard_irqs;
    c.gro_flush_timeout = o.gro_flush_timeout;
    for (uint32_t q = 0; q < o.n_queues; q++) {
        c.queues.push_back(o.first_queue + q);
    }
    for (uint32_t q = 0; q < o.n_user_queues; q++) {
        c.queue_modes.emplace_back(o.first_user_queue + q, SWD_QUEUE_USER);
    }
    for (uint32_t q = 0; q < o.n_kernel_queues; q++) {
        c.queue_modes.emplace_back(o.first_kernel_queue + q, SWD_QUEUE_KERNEL);
    }
    return c;
}

} // namespace

result<std::unique_ptr<dp::datapath>> open_datapath(const datapath_setup& s) {
    if (s.ports.empty()) {
        return std::unique_ptr<dp::datapath>(std::make_unique<dp::null_datapath>());
    }
    afxdp::datapath_config cfg;
    for (const auto& p : s.ports) {
        cfg.ports.push_back(to_afxdp(p));
    }
    if (!s.pmd_cpus.empty()) {
        cfg.pmd_cpus = s.pmd_cpus;
    }
    cfg.local_port = s.local_port == "none" ? "" : s.local_port;
    cfg.ring_size = s.ring_size;
    cfg.xdp_max_rules = s.xdp_max_rules;
    cfg.lb_sessions = s.lb_sessions;
    cfg.lb_idle_timeout_ns = s.lb_idle_timeout_ns;
    cfg.ct_entries = s.ct_entries;
    cfg.ct_idle_timeout_ns = s.ct_idle_timeout_ns;
    auto d = afxdp::afxdp_datapath::open(cfg);
    if (!d) {
        return fail(std::move(d).err());
    }
    return std::unique_ptr<dp::datapath>(std::move(*d));
}

void start_datapath(dp::datapath& d) {
    if (auto* a = dynamic_cast<afxdp::afxdp_datapath*>(&d)) {
        a->start();
    }
}

void keep_control_off_pmd_cpus(const std::vector<int>& pmd_cpus) {
    cpu_set_t control;
    if (pmd_cpus.empty() || sched_getaffinity(0, sizeof control, &control) != 0) {
        return;
    }
    for (int cpu : pmd_cpus) {
        if (cpu >= 0 && cpu < CPU_SETSIZE) {
            CPU_CLR(cpu, &control);
        }
    }
    std::string list;
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (CPU_ISSET(cpu, &control)) {
            list += (list.empty() ? "" : ",") + std::to_string(cpu);
        }
    }
    if (list.empty()) {
        log::warn("every CPU swd may run on polls (--pmd-cpus): control work, such as "
                  "calibration probes, shares them");
    } else if (sched_setaffinity(0, sizeof control, &control) != 0) {
        log::warn("could not move the control thread off the polling CPUs");
    } else {
        log::info("control thread on CPUs {}, off the polling CPUs", list);
    }
}

} // namespace swd
