#include "tc_program.h"

#include <cerrno>
#include <fmt/format.h>
#include <vector>

#include "datapath/util/log.h"
#include "program_ops.h"
#include "shared_maps.h"

extern "C" {
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "egress.skel.h"
}

namespace swd::afxdp {

namespace {

// BPF_TCX_EGRESS (Linux 6.6) is newer than the uapi headers of the build machine: its value in
// enum bpf_attach_type, which the kernel's ABI fixes.
constexpr auto tcx_egress = static_cast<bpf_attach_type>(47);

} // namespace

result<std::unique_ptr<tc_program>> tc_program::load(const xdp_tables& tables, uint16_t ofport,
                                                     bool trace) {
    return load(tables, ofport, trace, nullptr);
}

result<std::unique_ptr<tc_program>> tc_program::load(const xdp_tables& tables, uint16_t ofport,
                                                     bool trace, const tc_program* own) {
    std::unique_ptr<tc_program> p(new tc_program());
    p->ofport_ = ofport;
    p->skel_ = swd_egress__open();
    if (!p->skel_) {
        return fail(errno_error(errno, "open the TC egress program"));
    }
    p->skel_->rodata->swd_out_port = ofport;
    p->skel_->rodata->swd_trace = trace ? 1 : 0;
    auto& m = p->skel_->maps;
    auto shared =
        own ? share_maps(m, tables, {{m.tc_counters, bpf_map__fd(own->skel_->maps.tc_counters)}})
            : share_maps(m, tables);
    if (!shared) {
        return fail(shared.err());
    }
    if (int err = swd_egress__load(p->skel_); err != 0) {
        return fail(errno_error(-err, "load the TC egress program (the verifier's log is above)"));
    }
    bpf_prog_info info{};
    uint32_t len = sizeof info;
    if (bpf_obj_get_info_by_fd(p->prog_fd(), &info, &len) == 0) {
        p->prog_id_ = info.id;
    }
    return p;
}

result<std::unique_ptr<tc_program>> tc_program::attach(int ifindex, const std::string& ifname,
                                                       const xdp_tables& tables, uint16_t ofport) {
    auto loaded = load(tables, ofport);
    if (!loaded) {
        return fail(loaded.err());
    }
    std::unique_ptr<tc_program> p = std::move(*loaded);
    const int fd = bpf_link_create(p->prog_fd(), ifindex, tcx_egress, nullptr);
    if (fd < 0) {
        if (fd == -EINVAL) {
            return fail(errno_error(-fd, "attach the TC egress program to " + ifname +
                                             " (TCX link): this kernel has no TCX (Linux >= 6.6 "
                                             "needed)"));
        }
        return fail(errno_error(-fd, "attach the TC egress program to " + ifname + " (TCX link)"));
    }
    p->link_.reset(fd);
    bpf_link_info info{};
    uint32_t len = sizeof info;
    if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0) {
        p->link_id_ = info.id;
    }
    log::info("{}: TC egress program attached (TCX link {}, program {})", ifname, p->link_id_,
              p->prog_id_);
    return p;
}

result<void> tc_program::rebind(const xdp_tables& tables) {
    auto next = load(tables, ofport_, skel_->rodata->swd_trace != 0, this);
    if (!next) {
        return fail(next.err());
    }
    auto replaced =
        replace_linked_program(link_, prog_fd(), (*next)->prog_fd(), "the TC egress program");
    if (!replaced) {
        return replaced;
    }
    std::swap(skel_, (*next)->skel_); // the old skeleton goes with *next
    std::swap(prog_id_, (*next)->prog_id_);
    return {};
}

tc_program::~tc_program() {
    link_.reset(); // detaches
    if (skel_) {
        swd_egress__destroy(skel_);
    }
}

int tc_program::prog_fd() const {
    return bpf_program__fd(skel_->progs.swd_tc_egress);
}

std::array<uint64_t, SWD_TC_COUNT> tc_program::counters() const {
    return sum_percpu_counters<SWD_TC_COUNT>(skel_->maps.tc_counters);
}

result<uint32_t> tc_program::test_run(std::span<const uint8_t> frame,
                                      std::vector<uint8_t>& out) const {
    return test_run_once(prog_fd(), frame, out, "the TC egress program");
}

swd_xdp_trace tc_program::last() const {
    return skel_->bss->swd_last;
}

} // namespace swd::afxdp
