#include "xdp_program.h"

#include <cerrno>
#include <linux/if_link.h>
#include <vector>

#include "datapath/util/log.h"
#include "program_ops.h"
#include "shared_maps.h"

extern "C" {
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dispatcher.skel.h"
}

namespace swd::afxdp {

result<std::unique_ptr<xdp_program>> xdp_program::load(const xdp_tables& tables, uint16_t ofport,
                                                       bool trace) {
    return load(tables, ofport, trace, nullptr);
}

result<std::unique_ptr<xdp_program>> xdp_program::load(const xdp_tables& tables, uint16_t ofport,
                                                       bool trace, const xdp_program* own) {
    std::unique_ptr<xdp_program> p(new xdp_program());
    p->ofport_ = ofport;
    p->skel_ = swd_dispatcher__open();
    if (!p->skel_) {
        return fail(errno_error(errno, "open the XDP dispatcher"));
    }
    p->skel_->rodata->swd_in_port = ofport;
    p->skel_->rodata->swd_trace = trace ? 1 : 0;
    auto& m = p->skel_->maps;
    auto shared = own ? share_maps(m, tables,
                                   {{m.xsks_map, bpf_map__fd(own->skel_->maps.xsks_map)},
                                    {m.queue_map, bpf_map__fd(own->skel_->maps.queue_map)},
                                    {m.xdp_counters, bpf_map__fd(own->skel_->maps.xdp_counters)}})
                      : share_maps(m, tables);
    if (!shared) {
        return fail(shared.err());
    }
    if (int err = swd_dispatcher__load(p->skel_); err != 0) {
        return fail(errno_error(-err, "load the XDP dispatcher (the verifier's log is above)"));
    }
    return p;
}

result<std::unique_ptr<xdp_program>> xdp_program::attach(int ifindex, const std::string& ifname,
                                                         attach_mode mode, const xdp_tables& tables,
                                                         uint16_t ofport) {
    auto loaded = load(tables, ofport);
    if (!loaded) {
        return fail(loaded.err());
    }
    std::unique_ptr<xdp_program> p = std::move(*loaded);
    const int prog_fd = p->prog_fd();
    auto try_attach = [&](uint32_t flags) {
        LIBBPF_OPTS(bpf_link_create_opts, opts, .flags = flags);
        return bpf_link_create(prog_fd, ifindex, BPF_XDP, &opts);
    };
    int fd = -1;
    if (mode != attach_mode::generic) {
        fd = try_attach(XDP_FLAGS_DRV_MODE);
        p->native_ = fd >= 0;
        if (fd < 0 && mode == attach_mode::native) {
            return fail(errno_error(-fd, "attach XDP in native mode to " + ifname));
        }
        if (fd == -EBUSY || fd == -EEXIST) {
            return fail(errno_error(-fd, ifname +
                                             " already has an XDP program (remove it with "
                                             "'ip link set dev " +
                                             ifname + " xdp off')"));
        }
    }
    if (fd < 0) {
        fd = try_attach(XDP_FLAGS_SKB_MODE);
        if (fd < 0) {
            return fail(errno_error(-fd, "attach XDP to " + ifname));
        }
    }
    p->link_.reset(fd);
    log::info("{}: XDP dispatcher attached in {} mode", ifname, p->native_ ? "native" : "generic");
    return p;
}

result<void> xdp_program::rebind(const xdp_tables& tables) {
    auto next = load(tables, ofport_, skel_->rodata->swd_trace != 0, this);
    if (!next) {
        return fail(next.err());
    }
    auto replaced =
        replace_linked_program(link_, prog_fd(), (*next)->prog_fd(), "the XDP dispatcher");
    if (!replaced) {
        return replaced;
    }
    std::swap(skel_, (*next)->skel_); // the old skeleton goes with *next
    return {};
}

xdp_program::~xdp_program() {
    link_.reset(); // detaches
    if (skel_) {
        swd_dispatcher__destroy(skel_);
    }
}

int xdp_program::prog_fd() const {
    return bpf_program__fd(skel_->progs.swd_dispatch);
}

result<void> xdp_program::set_socket(uint32_t queue, int xsk_fd) {
    if (bpf_map__update_elem(skel_->maps.xsks_map, &queue, sizeof queue, &xsk_fd, sizeof xsk_fd,
                             BPF_ANY) != 0) {
        return fail(errno_error(errno, "XSKMAP entry for queue " + std::to_string(queue)));
    }
    return {};
}

result<void> xdp_program::set_queue_mode(uint32_t queue, uint32_t mode) {
    if (bpf_map__update_elem(skel_->maps.queue_map, &queue, sizeof queue, &mode, sizeof mode,
                             BPF_ANY) != 0) {
        return fail(errno_error(errno, "queue map entry for queue " + std::to_string(queue)));
    }
    return {};
}

std::array<uint64_t, SWD_XC_COUNT> xdp_program::counters() const {
    static_assert(SWD_XC_COUNT <= 32, "SWD_XC_OUTCOMES is a 32-bit mask");
    auto c = sum_percpu_counters<SWD_XC_COUNT>(skel_->maps.xdp_counters);
    c[SWD_XC_RX] = 0;
    for (size_t i = 0; i < c.size(); i++) {
        if (SWD_XC_OUTCOMES & (1u << i)) {
            c[SWD_XC_RX] += c[i];
        }
    }
    return c;
}

result<uint32_t> xdp_program::test_run(std::span<const uint8_t> frame,
                                       std::vector<uint8_t>& out) const {
    return test_run_once(prog_fd(), frame, out, "the XDP dispatcher");
}

swd_xdp_trace xdp_program::last() const {
    return skel_->bss->swd_last;
}

} // namespace swd::afxdp
